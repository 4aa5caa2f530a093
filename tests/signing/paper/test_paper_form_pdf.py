"""Every Member State's paper form, in a Latin, the Greek and the Cyrillic script.

Each case draws one PDF and reads it back: it opens, it has the columns that Member State's
nationals fill in (the online form's fields, with the same translated labels) and no others,
the registration number, the collection period and a QR code that leads to the online form
of that Member State through the partner's link.
"""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext

from quorum.core.i18n import member_state_name
from quorum.core.local_forms import local_date
from quorum.rules import scheme
from quorum.signing.fields import ALL_FIELDS, fields_for
from quorum.signing.labels import FIELD_LABELS
from quorum.signing.paper import paper_form_pdf

pytestmark = pytest.mark.django_db

RULES = scheme("eci")
CODES = RULES.member_state_codes()
#: The 22 languages written in the Latin script, one per Member State in turn, so that the
#: 27 cases cover them all (Irish and Maltese among them).
LATIN = [code for code, _name in settings.LANGUAGES if code not in ("el", "bg")]
CASES = [
    (code, language)
    for index, code in enumerate(CODES)
    for language in (LATIN[index % len(LATIN)], "el", "bg")
]
SCRIPTS = {"el": re.compile("[\u0370-\u03ff]"), "bg": re.compile("[\u0400-\u04ff]")}


def test_the_cases_cover_every_member_state_and_every_language() -> None:
    assert len(CODES) == 27
    assert {code for code, _ in CASES} == set(CODES)
    assert {language for _, language in CASES} == set(dict(settings.LANGUAGES))


@pytest.mark.parametrize(("code", "language"), CASES)
def test_each_form_names_its_fields_and_carries_the_number_the_period_and_the_code(
    code: str, language: str, with_partner, read_pdf, base_url
) -> None:
    initiative = with_partner
    pdf = paper_form_pdf(initiative, code, language=language, via="edri", base_url=base_url)
    form = read_pdf(pdf)

    assert pdf.startswith(b"%PDF-") and form.pages == 2
    with translation.override(language):
        required = fields_for(RULES, code)
        for name in required:
            assert form.says(str(FIELD_LABELS[name])), name
        for name in ALL_FIELDS - set(required):
            assert not form.has_words(str(FIELD_LABELS[name])), name
        assert form.says(gettext("Date")) and form.says(gettext("Signature"))
        title = gettext("Statement of support form — Part %(part)s") % {"part": RULES.part(code)}
        assert form.says(title)
        assert form.says(member_state_name(code))
    assert form.says(initiative.registration_number)
    assert form.says(local_date(initiative.collection_start, language=language))
    assert form.says(local_date(initiative.collection_end, language=language))
    assert form.codes == [f"{base_url}/i/clean-air/sign/{code.lower()}/?via=edri"]
    if language in SCRIPTS:
        # Greek and Cyrillic come out of the PDF as text, not as boxes or glyph numbers.
        assert SCRIPTS[language].search(form.text)
