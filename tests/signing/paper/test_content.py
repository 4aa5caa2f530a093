"""What a paper form says: Annex III's points 1 to 8, its columns and its privacy statement,
all from the rules data and the initiative, and when forms may be printed at all."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone, translation

from quorum.core.errors import NotFound
from quorum.core.local_forms import local_date
from quorum.initiatives.models import Initiative, OrganiserMember
from quorum.rules import scheme
from quorum.rules.errors import UnknownMemberStateError
from quorum.signing.fields import fields_for
from quorum.signing.paper import (
    PaperFormsUnavailable,
    UnknownLanguage,
    online_form_address,
    paper_form,
    paper_form_initiative,
    paper_forms_available,
    register_address,
)
from quorum.signing.paper.content import DATE, SIGNATURE

pytestmark = pytest.mark.django_db

RULES = scheme("eci")


def form_of(initiative: Initiative, code: str = "DE", language: str = "en", via: str = ""):
    return paper_form(
        initiative, code, language=language, via=via, base_url="https://quorum.example.eu"
    )


def item(form, number: int) -> str:
    return form.items[number - 1].value


@pytest.mark.parametrize("code", RULES.member_state_codes())
def test_the_columns_are_the_online_forms_fields_then_the_date_and_the_signature(
    collecting_initiative, code: str
) -> None:
    form = form_of(collecting_initiative, code)
    names = [column.name for column in form.columns]
    assert names == [*fields_for(RULES, code), DATE, SIGNATURE]
    assert form.part == RULES.part(code)


def test_the_labels_are_the_online_forms_in_the_forms_language(collecting_initiative) -> None:
    form = form_of(collecting_initiative, "PL", "de")
    assert [column.label for column in form.columns][:2] == [
        "Vollständige Vornamen",
        "Familiennamen",
    ]
    assert form.privacy_heading == "Datenschutzerklärung"
    assert translation.get_language() == "en"  # the form's language did not leak out


def test_the_eight_points_are_pre_completed_from_the_initiative(collecting_initiative) -> None:
    collecting_initiative.website = "https://clean-air.example.org/"
    form = form_of(collecting_initiative)
    assert len(form.items) == 8
    assert item(form, 1) == "Germany"
    assert item(form, 2) == "ECI(2025)000007"
    start, end = collecting_initiative.collection_start, collecting_initiative.collection_end
    assert item(form, 3) == f"{local_date(start)} – {local_date(end)}"
    assert item(form, 5) == "Clean air for everyone"
    assert item(form, 6) == "We ask for cleaner air."
    assert item(form, 8) == "https://clean-air.example.org/"


def test_a_form_in_a_language_of_the_initiative_carries_its_texts_in_that_language(
    collecting_initiative,
) -> None:
    form = form_of(collecting_initiative, "AT", "de")
    assert (item(form, 5), item(form, 6)) == (
        "Saubere Luft für alle",
        "Wir fordern sauberere Luft.",
    )
    assert form.text_language == "de"


def test_a_form_in_another_language_carries_the_organisers_own_texts(collecting_initiative) -> None:
    form = form_of(collecting_initiative, "EL", "el")
    assert item(form, 5) == "Clean air for everyone"
    assert form.text_language == "en"


def test_without_a_website_the_initiatives_page_here_is_given(collecting_initiative) -> None:
    assert item(form_of(collecting_initiative), 8) == "https://quorum.example.eu/i/clean-air/"


def test_part_b_lists_the_numbers_and_documents_the_member_state_accepts(
    collecting_initiative,
) -> None:
    form = form_of(collecting_initiative, "PT")
    for document in RULES.id_documents("PT"):
        assert document.label in item(form, 1)
    assert item(form_of(collecting_initiative, "FR"), 1) == "France"


def test_the_register_address_is_the_commissions_page_of_that_number_in_that_language(
    collecting_initiative,
) -> None:
    address = register_address(collecting_initiative, language="fi", base_url="https://q.eu")
    assert address == "https://citizens-initiative.europa.eu/initiatives/details/2025/000007_fi"
    assert item(form_of(collecting_initiative, language="mt"), 4).endswith("/2025/000007_mt")


@pytest.mark.parametrize("number", ["NAT-2026-1", "ECI(2025)7", "ECI(2025)0000071", ""])
def test_a_number_of_another_form_points_to_the_initiatives_page_here(
    collecting_initiative, number: str
) -> None:
    collecting_initiative.registration_number = number
    address = register_address(collecting_initiative, language="en", base_url="https://q.eu/")
    assert address == "https://q.eu/i/clean-air/"


def test_a_scheme_without_a_register_in_its_data_points_to_the_initiatives_page_here(
    collecting_initiative, monkeypatch
) -> None:
    import dataclasses

    from quorum.rules.scheme import Scheme
    from quorum.signing.paper import content

    without = Scheme(dataclasses.replace(RULES.data, register=None))
    monkeypatch.setattr(content, "scheme", lambda code: without)
    page = "https://quorum.example.eu/i/clean-air/"
    base = "https://quorum.example.eu"
    assert register_address(collecting_initiative, language="fi", base_url=base) == page
    form = form_of(collecting_initiative, language="fi")
    assert item(form, 4) == page
    assert form.privacy[0].endswith(page)


def test_the_contact_persons_are_the_confirmed_representative_and_substitute(
    collecting_initiative,
) -> None:
    now = timezone.now()

    def member(name: str, role: str, confirmed: bool = True) -> None:
        OrganiserMember.objects.create(
            initiative=collecting_initiative,
            full_name=name,
            email=f"{name.split()[0].lower()}@example.eu",
            nationality="DE",
            residence="DE",
            role=role,
            confirmed_at=now if confirmed else None,
        )

    member("Ada Lovelace", "representative")
    member("Bea Substitute", "substitute")
    member("Carl Member", "member")
    member("Dora Invited", "substitute", confirmed=False)
    assert item(form_of(collecting_initiative), 7) == (
        "Ada Lovelace (ada@example.eu); Bea Substitute (bea@example.eu)"
    )


def test_the_privacy_statement_is_the_paper_one_with_the_initiatives_retention_date(
    collecting_initiative,
) -> None:
    form = form_of(collecting_initiative, language="en")
    latest = RULES.retention_end(collecting_initiative.collection_start)
    assert "stored by the group of organisers" in form.privacy[0]
    assert form.privacy[0].endswith(
        "https://citizens-initiative.europa.eu/how-it-works/data-protection_en"
    )
    assert form.privacy[1] == (
        f"For this initiative that is at the latest on {local_date(latest)}, unless legal "
        "proceedings require otherwise."
    )


def test_only_germany_has_the_residence_footnote_and_in_the_forms_language(
    collecting_initiative,
) -> None:
    german = form_of(collecting_initiative, "DE", "de")
    assert len(german.footnotes) == 1 and "Deutschland" in german.footnotes[0]
    assert all(not form_of(collecting_initiative, code).footnotes for code in ("NL", "PL", "FR"))


def test_the_qr_address_keeps_a_known_partners_code_only(collecting_initiative) -> None:
    from quorum.initiatives.services import partner_add

    partner_add(initiative=collecting_initiative, code="edri", name="European Digital Rights")
    base = "https://quorum.example.eu/i/clean-air/sign/de/"

    def address(via: object) -> str:
        return online_form_address(
            collecting_initiative, "DE", via=via, base_url="https://quorum.example.eu/"
        )

    assert address("edri") == base + "?via=edri"
    assert address(" EDRI ") == base + "?via=edri"
    for unknown in ("", "other", "edri\n", "ed ri", "<script>", None, 7, "x" * 200):
        assert address(unknown) == base, unknown
    assert form_of(collecting_initiative, via="edri").online_url == base + "?via=edri"


def test_an_unknown_member_state_or_language_is_refused(collecting_initiative) -> None:
    with pytest.raises(UnknownMemberStateError):
        form_of(collecting_initiative, "UK")
    with pytest.raises(UnknownMemberStateError):
        form_of(collecting_initiative, "de")
    for language in ("xx", "EN", "en-gb", ""):
        with pytest.raises(UnknownLanguage):
            form_of(collecting_initiative, language=language)


def test_forms_are_printed_from_registration_with_a_period_to_the_end_of_collection(
    collecting_initiative, today: date
) -> None:
    initiative = collecting_initiative
    assert paper_forms_available(initiative, today=today)
    assert paper_forms_available(initiative, today=initiative.collection_end)
    assert not paper_forms_available(initiative, today=initiative.collection_end + timedelta(1))
    initiative.status = Initiative.Status.REGISTERED  # start chosen, not yet reached
    assert paper_forms_available(initiative, today=today)
    initiative.collection_start = initiative.collection_end = None
    assert not paper_forms_available(initiative, today=today)


@pytest.mark.parametrize(
    "status",
    [
        Initiative.Status.DRAFT,
        Initiative.Status.REGISTRATION_REQUESTED,
        Initiative.Status.COLLECTION_CLOSED,
        Initiative.Status.VERIFICATION,
        Initiative.Status.SUBMITTED,
        Initiative.Status.WITHDRAWN,
    ],
)
def test_no_forms_before_registration_or_after_collection(collecting_initiative, status) -> None:
    collecting_initiative.status = status
    collecting_initiative.save()
    assert not paper_forms_available(collecting_initiative, today=timezone.localdate())
    # Not public yet (InitiativeNotFound), or not collecting (PaperFormsUnavailable): a 404.
    with pytest.raises(NotFound):
        paper_form_initiative(slug="clean-air")


def test_a_collecting_initiative_past_its_end_has_no_forms(collecting_initiative, today) -> None:
    collecting_initiative.collection_end = today - timedelta(days=1)
    collecting_initiative.save()
    with pytest.raises(PaperFormsUnavailable) as refused:
        paper_form_initiative(slug="clean-air")
    assert refused.value.status == 404
    assert paper_form_initiative(slug="clean-air", today=today - timedelta(days=1))
