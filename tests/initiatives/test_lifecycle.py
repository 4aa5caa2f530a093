"""An initiative's life, from draft to answer: each transition, each deadline at its edges."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine

from quorum.core.errors import Conflict
from quorum.core.models import AuditEntry
from quorum.initiatives import services
from quorum.initiatives.models import Initiative, OrganiserMember
from quorum.initiatives.selectors import initiative_deadlines, organiser_group_problems
from quorum.rules import add_months, add_working_days

pytestmark = pytest.mark.django_db
Status = Initiative.Status
RESIDENCES = ["DE", "FR", "IT", "ES", "PL", "NL", "BE", "AT"]


@pytest.fixture
def draft() -> Initiative:
    return services.initiative_create(
        slug="right-to-repair",
        title={"en": "A right to repair"},
        objectives={"en": "Everyone may repair what they own."},
        language="en",
    )


def build_group(initiative: Initiative, residences: list[str], *, meps: int = 0) -> None:
    from django.contrib.auth.models import User

    for number, residence in enumerate(residences):
        role = (
            OrganiserMember.Role.REPRESENTATIVE
            if number == 0
            else OrganiserMember.Role.SUBSTITUTE
            if number == 1
            else OrganiserMember.Role.MEMBER
        )
        invitation = services.organiser_invite(
            initiative=initiative,
            full_name=f"Organiser {number}",
            email=f"o{number}@example.eu",
            nationality=residence,
            residence=residence,
            role=role,
            is_mep=number < meps,
        )
        user = User.objects.create_user(f"organiser-{initiative.pk}-{number}")
        services.organiser_confirm(token=invitation.token, user=user)


def actions(initiative: Initiative) -> list[str]:
    return list(
        AuditEntry.objects.filter(
            subject_id=str(initiative.pk), subject_type="initiatives.initiative"
        ).values_list("action", flat=True)
    )


# --- the group of organisers ---------------------------------------------------------------


def test_seven_members_in_seven_states_with_both_roles_make_a_group(draft) -> None:
    build_group(draft, RESIDENCES[:7])
    assert organiser_group_problems(draft) == []


def test_six_states_of_residence_are_not_enough(draft) -> None:
    build_group(draft, [*RESIDENCES[:6], "DE"])
    assert len(organiser_group_problems(draft)) == 1


def test_a_member_of_the_european_parliament_does_not_count(draft) -> None:
    build_group(draft, RESIDENCES[:7], meps=1)
    problems = organiser_group_problems(draft)
    assert problems and "Members of the European Parliament" in str(problems[0])


def test_an_invitation_is_used_once(draft) -> None:
    from django.contrib.auth.models import User

    invitation = services.organiser_invite(
        initiative=draft, full_name="Ana", email="a@example.eu", nationality="PT", residence="PT"
    )
    services.organiser_confirm(token=invitation.token, user=User.objects.create_user("ana"))
    with pytest.raises(Exception, match="not valid or was already used"):
        services.organiser_confirm(token=invitation.token, user=User.objects.create_user("eve"))


def test_a_non_citizen_cannot_be_an_organiser(draft) -> None:
    with pytest.raises(services.InvalidRequest) as refused:
        services.organiser_invite(
            initiative=draft, full_name="X", email="x@example.eu", nationality="US", residence="DE"
        )
    assert "nationality" in refused.value.errors


# --- registration --------------------------------------------------------------------------


def test_registration_needs_a_valid_group_and_changes_nothing_otherwise(draft) -> None:
    with pytest.raises(services.InvalidRequest) as refused:
        services.initiative_request_registration(initiative=draft)
    assert "organisers" in refused.value.errors
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT
    assert "quorum.initiative.registration_requested" not in actions(draft)


def test_a_title_over_100_characters_is_refused(draft) -> None:
    with pytest.raises(services.InvalidRequest) as refused:
        services.initiative_create(
            slug="long", title={"en": "x" * 101}, objectives={"en": "y"}, language="en"
        )
    assert "title" in refused.value.errors
    assert services.initiative_create(
        slug="ok", title={"en": "x" * 100}, objectives={"en": "y"}, language="en"
    )


def test_objectives_are_counted_without_spaces(draft) -> None:
    text = " ".join(["x" * 100] * 11)  # 1,100 characters and 10 spaces
    assert services.initiative_create(
        slug="fits", title={"en": "t"}, objectives={"en": text}, language="en"
    )
    with pytest.raises(services.InvalidRequest):
        services.initiative_create(
            slug="over", title={"en": "t"}, objectives={"en": text + "x"}, language="en"
        )


def requested(initiative: Initiative, day: date) -> Initiative:
    build_group(initiative, RESIDENCES[:7])
    return services.initiative_request_registration(initiative=initiative, today=day)


def test_the_registrar_registers_with_a_number_and_the_date_of_decision(draft) -> None:
    initiative = requested(draft, date(2026, 1, 5))
    assert initiative_deadlines(initiative)["registration_answer_due"] == date(2026, 3, 5)
    initiative = services.initiative_decide_registration(
        initiative=initiative,
        decision="registered",
        registration_number="ECI(2026)000042",
        today=date(2026, 2, 1),
    )
    assert (initiative.status, initiative.registration_date) == (
        Status.REGISTERED,
        date(2026, 2, 1),
    )
    assert initiative_deadlines(initiative)["latest_collection_start"] == date(2026, 8, 1)
    assert actions(initiative)[-1] == "quorum.initiative.registered"


def test_a_refusal_needs_reasons(draft) -> None:
    initiative = requested(draft, date(2026, 1, 5))
    with pytest.raises(services.InvalidRequest):
        services.initiative_decide_registration(initiative=initiative, decision="refused")
    initiative = services.initiative_decide_registration(
        initiative=initiative, decision="refused", reasons="Art. 6(3)(c)"
    )
    assert initiative.status == Status.REFUSED


def test_deciding_twice_is_refused_by_compare_and_swap(draft) -> None:
    initiative = requested(draft, date(2026, 1, 5))
    stale = Initiative.objects.get(pk=initiative.pk)
    services.initiative_decide_registration(initiative=initiative, decision="registered")
    with pytest.raises(Conflict):
        services.initiative_decide_registration(
            initiative=stale, decision="refused", reasons="late"
        )
    assert Initiative.objects.get(pk=initiative.pk).status == Status.REGISTERED


# --- collection ----------------------------------------------------------------------------


@pytest.fixture
def registered(draft) -> Initiative:
    initiative = requested(draft, date(2026, 1, 5))
    return services.initiative_decide_registration(
        initiative=initiative, decision="registered", today=date(2026, 1, 31)
    )


def test_the_start_may_be_six_months_after_registration_and_not_a_day_later(registered) -> None:
    today = date(2026, 7, 1)
    latest = add_months(date(2026, 1, 31), 6)
    assert latest == date(2026, 7, 31)
    with pytest.raises(services.InvalidRequest):
        services.initiative_set_collection_start(
            initiative=registered, start=latest + timedelta(days=1), today=today
        )
    initiative = services.initiative_set_collection_start(
        initiative=registered, start=latest, today=today
    )
    assert initiative.collection_end == add_months(latest, 12)


def test_the_start_is_announced_ten_working_days_ahead(registered) -> None:
    today = date(2026, 3, 2)  # a Monday
    with pytest.raises(services.InvalidRequest):
        services.initiative_set_collection_start(
            initiative=registered,
            start=add_working_days(today, 10) - timedelta(days=1),
            today=today,
        )
    initiative = services.initiative_set_collection_start(
        initiative=registered, start=add_working_days(today, 10), today=today
    )
    assert initiative.start_announced_on == today


def test_collection_opens_and_closes_by_date_without_anyone_clicking(registered) -> None:
    initiative = services.initiative_set_collection_start(
        initiative=registered, start=date(2026, 3, 16), today=date(2026, 3, 2)
    )
    end = initiative.collection_end
    assert services.initiatives_advance_by_date(today=date(2026, 3, 15)) == []
    assert services.initiatives_advance_by_date(today=date(2026, 3, 16)) == [
        ("right-to-repair", Status.REGISTERED, Status.COLLECTING)
    ]
    assert services.initiatives_advance_by_date(today=end) == []  # the last day still collects
    assert services.initiatives_advance_by_date(today=end + timedelta(days=1)) == [
        ("right-to-repair", Status.COLLECTING, Status.COLLECTION_CLOSED)
    ]
    assert services.initiatives_advance_by_date(today=end + timedelta(days=2)) == []
    assert actions(initiative)[-2:] == [
        "quorum.initiative.collection_opened",
        "quorum.initiative.collection_closed",
    ]


def test_an_extension_moves_the_end_and_reopens_a_closed_collection(registered) -> None:
    initiative = services.initiative_set_collection_start(
        initiative=registered, start=date(2026, 3, 16), today=date(2026, 3, 2)
    )
    services.initiatives_advance_by_date(today=date(2027, 3, 17))
    initiative.refresh_from_db()
    assert initiative.status == Status.COLLECTION_CLOSED
    with pytest.raises(services.InvalidRequest):
        services.initiative_record_extension(
            initiative=initiative, new_end=date(2027, 6, 16), legal_basis=""
        )
    initiative = services.initiative_record_extension(
        initiative=initiative,
        new_end=date(2027, 6, 16),
        legal_basis="Regulation (EU) 2020/1042, Art. 2(1)",
    )
    assert (initiative.status, initiative.collection_end) == (Status.COLLECTING, date(2027, 6, 16))
    assert initiative.extensions.get().previous_end == date(2027, 3, 16)


def test_an_early_end_is_announced_ten_working_days_ahead(registered) -> None:
    initiative = services.initiative_set_collection_start(
        initiative=registered, start=date(2026, 3, 16), today=date(2026, 3, 2)
    )
    services.initiatives_advance_by_date(today=date(2026, 3, 16))
    initiative.refresh_from_db()
    today = date(2026, 6, 1)
    with pytest.raises(services.InvalidRequest):
        services.initiative_stop_collection(
            initiative=initiative, end=today + timedelta(days=3), today=today
        )
    initiative = services.initiative_stop_collection(initiative=initiative, today=today)
    assert initiative.collection_end == add_working_days(today, 10)
    assert initiative.status == Status.COLLECTING


def test_withdrawal_is_possible_until_submission_only(registered) -> None:
    initiative = services.initiative_withdraw(initiative=registered, today=date(2026, 2, 2))
    assert (initiative.status, initiative.withdrawn_on) == (Status.WITHDRAWN, date(2026, 2, 2))
    submitted = services.initiative_create(
        slug="done",
        title={"en": "t"},
        objectives={"en": "o"},
        language="en",
        status=Status.SUBMITTED,
    )
    with pytest.raises(Conflict):
        services.initiative_withdraw(initiative=submitted)


def test_after_submission_the_registrar_records_meeting_hearing_and_the_answer(registered) -> None:
    Initiative.objects.filter(pk=registered.pk).update(status=Status.VERIFIED)
    registered.refresh_from_db()
    initiative = services.initiative_submit_to_commission(
        initiative=registered, today=date(2027, 9, 1)
    )
    deadlines = initiative_deadlines(initiative)
    assert deadlines["meeting_due"] == date(2027, 10, 1)
    assert deadlines["hearing_due"] == date(2027, 12, 1)
    assert deadlines["communication_due"] == date(2028, 3, 1)
    initiative = services.initiative_record_follow_up(
        initiative=initiative, step="meeting", on=date(2027, 9, 20)
    )
    initiative = services.initiative_record_follow_up(
        initiative=initiative,
        step="hearing",
        on=date(2027, 11, 5),
        url="https://www.europarl.europa.eu/x",
    )
    with pytest.raises(services.InvalidRequest):
        services.initiative_record_follow_up(
            initiative=initiative, step="communication", on=date(2028, 2, 1)
        )
    initiative = services.initiative_record_follow_up(
        initiative=initiative,
        step="communication",
        on=date(2028, 2, 1),
        url="https://ec.europa.eu/c",
    )
    assert initiative.status == Status.ANSWERED


def test_sponsors_over_500_euro_are_recorded_with_an_audit_entry(registered) -> None:
    services.sponsor_add(
        initiative=registered,
        name="Open Repair e.V.",
        amount_eur=Decimal("1250.00"),
        received_on=date(2026, 1, 10),
    )
    assert registered.sponsors.get().amount_eur == Decimal("1250.00")
    assert actions(registered)[-1] == "quorum.initiative.sponsor_declared"
    with pytest.raises(services.InvalidRequest):
        services.sponsor_add(
            initiative=registered, name="", amount_eur=Decimal("0"), received_on=date(2026, 1, 10)
        )


@time_machine.travel(date(2026, 5, 4))
def test_the_retention_deadline_is_the_earlier_of_the_two_rules(registered) -> None:
    initiative = services.initiative_set_collection_start(
        initiative=registered, start=date(2026, 5, 18), today=date(2026, 5, 4)
    )
    deadlines = initiative_deadlines(initiative)
    assert deadlines["retention_end"] == add_months(date(2026, 5, 18), 21)


def test_the_periodic_command_advances_by_date_and_reminds_of_reports(registered) -> None:
    from io import StringIO

    from django.core.management import call_command

    services.initiative_set_collection_start(
        initiative=registered, start=date(2026, 3, 16), today=date(2026, 3, 2)
    )
    out = StringIO()
    with time_machine.travel(date(2026, 4, 1)):
        call_command("periodic", stdout=out)
    text = out.getvalue()
    assert "right-to-repair: registered → collecting" in text
    assert "progress report was due on 2026-03-31" in text
    services.progress_report_file(
        initiative=registered, online_count=10, paper_counts={"DE": 3}, today=date(2026, 4, 1)
    )
    out = StringIO()
    with time_machine.travel(date(2026, 4, 2)):
        call_command("periodic", stdout=out)
    assert "progress report" not in out.getvalue()


def test_a_legal_hold_is_set_and_lifted_from_the_command_line(registered) -> None:
    from io import StringIO

    from django.core.management import call_command

    call_command("initiative", "legal-hold", "right-to-repair", "--on", stdout=StringIO())
    registered.refresh_from_db()
    assert registered.legal_hold and registered.legal_hold_decided_on is None
    call_command(
        "initiative",
        "legal-hold",
        "right-to-repair",
        "--final-decision",
        "2027-05-03",
        stdout=StringIO(),
    )
    registered.refresh_from_db()
    assert not registered.legal_hold and registered.legal_hold_decided_on == date(2027, 5, 3)
    assert actions(registered)[-2:] == [
        "quorum.initiative.legal_hold_set",
        "quorum.initiative.legal_hold_lifted",
    ]
