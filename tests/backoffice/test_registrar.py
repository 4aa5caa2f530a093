"""The registrar through the web: the queue, an initiative's file, and each decision."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from quorum.core.models import AuditEntry
from quorum.initiatives.models import Extension, Initiative

from .conftest import make_initiative, registered_fields

pytestmark = pytest.mark.django_db

Status = Initiative.Status


@pytest.fixture
def requested(organiser_alice, today) -> Initiative:
    return make_initiative(
        "open-data",
        organiser=organiser_alice,
        title="Open data",
        status=Status.REGISTRATION_REQUESTED,
        registration_requested_on=today - timedelta(days=3),
    )


@pytest.fixture
def as_registrar(registrar, signed_in) -> Client:
    return signed_in(registrar)


def audit_count(initiative: Initiative) -> int:
    return AuditEntry.objects.filter(subject_id=str(initiative.pk)).count()


def test_the_queue_lists_requests_oldest_first_with_the_two_month_deadline_and_says_overdue(
    as_registrar, organiser_bob, requested, today
) -> None:
    make_initiative(
        "old-request",
        organiser=organiser_bob,
        title="Old request",
        status=Status.REGISTRATION_REQUESTED,
        registration_requested_on=today - timedelta(days=75),
    )
    make_initiative(
        "registered-one",
        title="Registered one",
        status=Status.COLLECTING,
        **registered_fields(today),
    )
    make_initiative("secret-draft", title="Secret draft")
    page = as_registrar.get("/manage/registrar/").content.decode()
    assert page.index("Old request") < page.index("Open data")
    assert page.count("(overdue)") == 1  # said in words, not only in colour
    overdue_row = page[page.index("Old request") : page.index("Open data")]
    assert "(overdue)" in overdue_row
    assert "Registered one" in page
    assert "Secret draft" not in page


def test_the_file_shows_texts_group_deadlines_translations_and_the_audit_log_with_actors(
    as_registrar, requested
) -> None:
    page = as_registrar.get("/manage/registrar/open-data/").content.decode()
    assert "We ask for open data." in page and "Details in the annex." in page
    assert "Organiser-Alice Example" in page and "Germany" in page  # name and residence
    assert "Decision on registration due" in page
    assert "Languages present:" in page and "English" in page
    assert "quorum.initiative.organiser_confirmed" in page
    assert "organiser-alice" in page  # who confirmed: the registrar sees actors
    assert (
        'name="decision"' in page
        and '<legend class="govuk-fieldset__legend govuk-fieldset__legend--s">Decision</legend>'
        in page
    )


def test_the_registrar_registers_an_initiative_with_its_number_and_is_the_recorded_actor(
    as_registrar, registrar, requested, today
) -> None:
    response = as_registrar.post(
        "/manage/registrar/open-data/decide/",
        {"decision": "registered", "registration_number": "ECI(2026)000001", "reasons": ""},
    )
    assert response.status_code == 302
    assert response["Location"] == "/manage/registrar/open-data/"
    requested.refresh_from_db()
    assert requested.status == Status.REGISTERED
    assert requested.registration_number == "ECI(2026)000001"
    assert requested.registration_date == today
    entry = AuditEntry.objects.get(action="quorum.initiative.registered")
    assert entry.actor == registrar
    assert entry.subject_id == str(requested.pk)
    page = as_registrar.get(response["Location"]).content.decode()
    assert "The decision is recorded." in page
    assert "ECI(2026)000001" in page


def test_a_refusal_without_reasons_is_refused_with_a_linked_error_and_changes_nothing(
    as_registrar, requested
) -> None:
    before = audit_count(requested)
    response = as_registrar.post(
        "/manage/registrar/open-data/decide/", {"decision": "refused", "reasons": "  "}
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert 'class="govuk-error-summary"' in page
    assert '<a href="#id_reasons">A refusal must state its reasons.</a>' in page
    requested.refresh_from_db()
    assert requested.status == Status.REGISTRATION_REQUESTED
    assert requested.decision_reasons == ""
    assert audit_count(requested) == before


def test_a_refusal_with_reasons_is_recorded(as_registrar, requested) -> None:
    response = as_registrar.post(
        "/manage/registrar/open-data/decide/",
        {"decision": "refused", "reasons": "Manifestly outside the Commission's powers."},
    )
    assert response.status_code == 302
    requested.refresh_from_db()
    assert requested.status == Status.REFUSED
    assert requested.decision_reasons == "Manifestly outside the Commission's powers."


def test_a_second_decision_is_a_conflict_shown_on_the_page(as_registrar, requested) -> None:
    as_registrar.post("/manage/registrar/open-data/decide/", {"decision": "registered"})
    response = as_registrar.post(
        "/manage/registrar/open-data/decide/", {"decision": "refused", "reasons": "Too late."}
    )
    assert response.status_code == 422
    assert "no longer in a state that allows this" in response.content.decode()
    requested.refresh_from_db()
    assert requested.status == Status.REGISTERED


def test_a_translation_added_by_the_registrar_shows_on_the_public_page(
    as_registrar, registrar, today
) -> None:
    make_initiative("clean-air", status=Status.COLLECTING, **registered_fields(today))
    response = as_registrar.post(
        "/manage/registrar/clean-air/translation/",
        {
            "language": "de",
            "title": "Saubere Luft für alle",
            "objectives": "Wir fordern saubere Luft.",
        },
    )
    assert response.status_code == 302
    public = Client().get("/i/clean-air/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Saubere Luft für alle" in public
    assert "Wir fordern saubere Luft." in public
    assert AuditEntry.objects.get(action="quorum.initiative.translation_added").actor == registrar
    page = as_registrar.get("/manage/registrar/clean-air/").content.decode()
    assert "Deutsch" in page or "German" in page


def test_an_invalid_translation_changes_nothing(as_registrar, today) -> None:
    initiative = make_initiative("clean-air", status=Status.COLLECTING, **registered_fields(today))
    response = as_registrar.post(
        "/manage/registrar/clean-air/translation/",
        {"language": "de", "title": "x" * 101, "objectives": "Wir fordern saubere Luft."},
    )
    assert response.status_code == 422
    assert "at most 100 characters" in response.content.decode()
    initiative.refresh_from_db()
    assert set(initiative.title) == {"en"}


def test_the_registrar_records_an_extension_with_its_legal_basis(
    as_registrar, registrar, today
) -> None:
    initiative = make_initiative("clean-air", status=Status.COLLECTING, **registered_fields(today))
    old_end = initiative.collection_end
    new_end = old_end + timedelta(days=90)
    response = as_registrar.post(
        "/manage/registrar/clean-air/extension/",
        {"new_end": new_end.isoformat(), "legal_basis": "Regulation (EU) 2020/1042, Art. 3"},
    )
    assert response.status_code == 302
    initiative.refresh_from_db()
    assert initiative.collection_end == new_end
    extension = Extension.objects.get(initiative=initiative)
    assert (extension.previous_end, extension.new_end) == (old_end, new_end)
    entry = AuditEntry.objects.get(action="quorum.initiative.collection_extended")
    assert entry.actor == registrar
    page = as_registrar.get("/manage/registrar/clean-air/").content.decode()
    assert "Regulation (EU) 2020/1042, Art. 3" in page


def test_an_extension_that_does_not_move_the_end_later_is_refused(as_registrar, today) -> None:
    initiative = make_initiative("clean-air", status=Status.COLLECTING, **registered_fields(today))
    response = as_registrar.post(
        "/manage/registrar/clean-air/extension/",
        {"new_end": initiative.collection_start.isoformat(), "legal_basis": "None"},
    )
    assert response.status_code == 422
    assert '<a href="#id_new_end">' in response.content.decode()
    assert not Extension.objects.exists()


def test_the_follow_up_goes_from_meeting_and_hearing_to_the_answer(as_registrar, today) -> None:
    initiative = make_initiative(
        "clean-air",
        status=Status.SUBMITTED,
        submitted_on=today - timedelta(days=30),
        published_on=today - timedelta(days=30),
        **registered_fields(today),
    )
    url = "/manage/registrar/clean-air/follow-up/"
    meeting = today - timedelta(days=20)
    assert as_registrar.post(url, {"step": "meeting", "on": meeting.isoformat()}).status_code == 302
    assert as_registrar.post(url, {"step": "hearing", "on": today.isoformat()}).status_code == 302
    # The answer must link the Commission's communication.
    refused = as_registrar.post(url, {"step": "communication", "on": today.isoformat()})
    assert refused.status_code == 422
    assert "Link the Commission" in refused.content.decode()
    initiative.refresh_from_db()
    assert initiative.status == Status.SUBMITTED
    answered = as_registrar.post(
        url,
        {"step": "communication", "on": today.isoformat(), "url": "https://example.eu/answer"},
    )
    assert answered.status_code == 302
    initiative.refresh_from_db()
    assert initiative.status == Status.ANSWERED
    assert initiative.meeting_on == meeting
    assert initiative.communication_url == "https://example.eu/answer"
