"""Control characters in the back office: refused by every form, harmless in an old row."""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quorum.backoffice.forms import DraftForm, TranslationForm
from quorum.core.text import CONTROL_CHARACTERS_MESSAGE
from quorum.initiatives.models import Initiative
from quorum.proofs.batch import read_batch

from .conftest import OURS, make_initiative

REFUSED = str(CONTROL_CHARACTERS_MESSAGE)
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

_part = st.text(max_size=20)
# Inside letters, so that the forms' stripping of white space cannot remove it.
with_control = st.tuples(_part, st.characters(categories=["Cc"]), _part).map(
    lambda parts: f"T{''.join(parts)}t"
)
paragraphs_with_control = st.tuples(
    _part, st.characters(categories=["Cc"], exclude_characters="\t\n\r"), _part
).map(lambda parts: f"T{''.join(parts)}t")

DRAFT = {
    "slug": "open-data",
    "language": "en",
    "title": "Open data for all",
    "objectives": "Public data should be open.",
    "annex": "",
    "treaty_basis": "Article 16 TFEU",
    "full_name": "Alice Example",
    "nationality": "DE",
    "residence": "DE",
    "declares_voting_age": "on",
}


@given(title=with_control, objectives=paragraphs_with_control)
def test_the_draft_form_refuses_control_characters(title: str, objectives: str) -> None:
    form = DraftForm(data={**DRAFT, "title": title, "objectives": objectives})
    assert not form.is_valid()
    assert form.errors["title"] == [REFUSED]
    assert form.errors["objectives"] == [REFUSED]


@given(title=with_control, objectives=paragraphs_with_control)
def test_the_translation_form_refuses_control_characters(title: str, objectives: str) -> None:
    form = TranslationForm(data={"language": "de", "title": title, "objectives": objectives})
    assert not form.is_valid()
    assert form.errors["title"] == [REFUSED]
    assert form.errors["objectives"] == [REFUSED]


def test_the_forms_keep_line_breaks_from_a_browser() -> None:
    form = DraftForm(data={**DRAFT, "objectives": "First line.\r\nSecond line."})
    assert form.is_valid(), form.errors


@pytest.mark.django_db
def test_a_draft_with_an_escape_in_its_title_is_refused_on_the_page_and_nothing_is_stored(
    organiser_alice, signed_in
) -> None:
    response = signed_in(organiser_alice).post(
        "/manage/initiatives/new/", {**DRAFT, "title": "Open\x1b[2J data"}
    )
    assert response.status_code == 422
    assert REFUSED in response.content.decode()
    assert not Initiative.objects.exists()


@pytest.fixture
def requested() -> Initiative:
    return make_initiative(
        "quiet-water", status=Initiative.Status.REGISTRATION_REQUESTED, title="Quiet water"
    )


@pytest.fixture
def registrar_browser(registrar, signed_in):
    # Signed in once for all the examples: every sign-in spends a TOTP code.
    return signed_in(registrar)


@pytest.mark.django_db
@SETTINGS
@given(title=with_control)
def test_the_registrar_cannot_publish_a_translation_with_a_control_character(
    requested, registrar_browser, title: str
) -> None:
    response = registrar_browser.post(
        "/manage/registrar/quiet-water/translation/",
        {"language": "de", "title": title, "objectives": "Ruhiges Wasser."},
    )
    assert response.status_code == 422
    assert REFUSED in response.content.decode()
    requested.refresh_from_db()
    assert requested.title == {"en": "Quiet water"}


@pytest.mark.django_db
def test_a_batch_whose_stored_title_holds_control_characters_downloads_and_reads(
    staff_places, ours, authority_staff_de, signed_in
) -> None:
    # staff_places first: the authorities' keys exist before the statements sealed to them.
    # An old row, written before the rule: straight into the database.
    Initiative.objects.filter(pk=ours.pk).update(
        title={"en": "Clean\x1b]0;owned\x07 air\u202e"},
        registration_number="ECI(2025)\x1b000007",
    )
    response = signed_in(authority_staff_de).get(f"/manage/authority/DE/{OURS}/batch/")
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8")
    header, entries = read_batch(io.StringIO(body))  # the offline toolkit's reader
    assert header.initiative.title == "Clean\ufffd]0;owned\ufffd air\ufffd"
    assert header.initiative.registration_number == "ECI(2025)\ufffd000007"
    assert len(list(entries)) == header.tree_size
