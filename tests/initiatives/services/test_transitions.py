"""Every change to an initiative and its audit entry are one transaction, under a row lock.

The audit write is made to fail for real: a trigger makes the database refuse every new audit
entry, so the change must be undone with it (the test commits as production does: a change
made in a transaction of its own would stay). And the entry names the status the row had when
it was locked, not the one in the caller's (stale) copy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import DatabaseError, connection

from quorum.core.errors import Conflict
from quorum.core.models import AuditEntry
from quorum.initiatives import services
from quorum.initiatives.models import (
    Extension,
    Initiative,
    OrganiserMember,
    ProgressReport,
    Sponsor,
)

pytestmark = pytest.mark.django_db
Status = Initiative.Status
RESIDENCES = ["DE", "FR", "IT", "ES", "PL", "NL", "BE"]


def make(status: str, **fields: Any) -> Initiative:
    """An initiative whose row has ``status`` and ``fields`` (set directly, as a fixture)."""
    initiative = services.initiative_create(
        slug="right-to-repair",
        title={"en": "A right to repair"},
        objectives={"en": "Everyone may repair what they own."},
        language="en",
        status=status,
    )
    if fields:
        Initiative.objects.filter(pk=initiative.pk).update(**fields)
        initiative.refresh_from_db()
    return initiative


def build_group(initiative: Initiative) -> None:
    for number, residence in enumerate(RESIDENCES):
        invitation = services.organiser_invite(
            initiative=initiative,
            full_name=f"Organiser {number}",
            email=f"o{number}@example.eu",
            nationality=residence,
            residence=residence,
            role=OrganiserMember.Role.REPRESENTATIVE
            if number == 0
            else OrganiserMember.Role.SUBSTITUTE
            if number == 1
            else OrganiserMember.Role.MEMBER,
        )
        services.organiser_confirm(
            token=invitation.token, user=User.objects.create_user(f"organiser-{number}")
        )


@dataclass(frozen=True)
class Case:
    """A public service that changes state, and an initiative it may change."""

    status: str  # the status the row has in the database
    call: Callable[[Initiative, Any], object]
    fields: dict[str, Any] = field(default_factory=dict)
    prepare: Callable[[Initiative], Any] = lambda initiative: None


COLLECTING = {"collection_start": date(2026, 3, 16), "collection_end": date(2027, 3, 15)}

# The services that move an initiative from one status (or back to the same one).
TRANSITIONS = {
    "request registration": Case(
        Status.DRAFT,
        lambda i, _: services.initiative_request_registration(initiative=i),
        prepare=build_group,
    ),
    "register": Case(
        Status.REGISTRATION_REQUESTED,
        lambda i, _: services.initiative_decide_registration(
            initiative=i, decision="registered", today=date(2026, 1, 31)
        ),
    ),
    "register partially": Case(
        Status.REGISTRATION_REQUESTED,
        lambda i, _: services.initiative_decide_registration(
            initiative=i, decision="partially_registered", reasons="Art. 6(4)"
        ),
    ),
    "refuse registration": Case(
        Status.REGISTRATION_REQUESTED,
        lambda i, _: services.initiative_decide_registration(
            initiative=i, decision="refused", reasons="Art. 6(3)(c)"
        ),
    ),
    "set the collection start": Case(
        Status.REGISTERED,
        lambda i, _: services.initiative_set_collection_start(
            initiative=i, start=date(2026, 3, 16), today=date(2026, 3, 2)
        ),
        fields={"registration_date": date(2026, 1, 31)},
    ),
    "record an extension": Case(
        Status.COLLECTION_CLOSED,
        lambda i, _: services.initiative_record_extension(
            initiative=i, new_end=date(2027, 6, 16), legal_basis="Regulation (EU) 2020/1042"
        ),
        fields=COLLECTING,
    ),
    "stop collection early": Case(
        Status.COLLECTING,
        lambda i, _: services.initiative_stop_collection(initiative=i, today=date(2026, 6, 1)),
        fields=COLLECTING,
    ),
    "withdraw": Case(
        Status.COLLECTING,
        lambda i, _: services.initiative_withdraw(initiative=i),
        fields=COLLECTING,
    ),
    "request verification": Case(
        Status.COLLECTION_CLOSED,
        lambda i, _: services.initiative_request_verification(initiative=i),
        fields=COLLECTING,
    ),
    "conclude verification": Case(
        Status.VERIFICATION,
        lambda i, _: services.initiative_conclude_verification(initiative=i, successful=True),
    ),
    "conclude verification unsuccessfully": Case(
        Status.VERIFICATION,
        lambda i, _: services.initiative_conclude_verification(initiative=i, successful=False),
    ),
    "submit to the Commission": Case(
        Status.VERIFIED,
        lambda i, _: services.initiative_submit_to_commission(initiative=i),
    ),
    "record the meeting": Case(
        Status.SUBMITTED,
        lambda i, _: services.initiative_record_follow_up(
            initiative=i, step="meeting", on=date(2027, 9, 20)
        ),
        fields={"submitted_on": date(2027, 9, 1)},
    ),
    "record the communication": Case(
        Status.SUBMITTED,
        lambda i, _: services.initiative_record_follow_up(
            initiative=i, step="communication", on=date(2028, 2, 1), url="https://ec.europa.eu/c"
        ),
        fields={"submitted_on": date(2027, 9, 1)},
    ),
}

# The other services that change state: rows of their own, texts, the legal hold, dates.
OTHER_CHANGES = {
    "open collection on its date": Case(
        Status.REGISTERED,
        lambda i, _: services.initiatives_advance_by_date(today=date(2026, 3, 16)),
        fields=COLLECTING,
    ),
    "close collection after its date": Case(
        Status.COLLECTING,
        lambda i, _: services.initiatives_advance_by_date(today=date(2027, 3, 16)),
        fields=COLLECTING,
    ),
    "create a draft": Case(
        Status.DRAFT,
        lambda i, _: services.initiative_create(
            slug="another", title={"en": "Another"}, objectives={"en": "More."}, language="en"
        ),
    ),
    "invite an organiser": Case(
        Status.DRAFT,
        lambda i, _: services.organiser_invite(
            initiative=i, full_name="Ana", email="a@example.eu", nationality="PT", residence="PT"
        ),
    ),
    "confirm an invitation": Case(
        Status.DRAFT,
        lambda i, token: services.organiser_confirm(
            token=token, user=User.objects.create_user("ana")
        ),
        prepare=lambda i: (
            services.organiser_invite(
                initiative=i,
                full_name="Ana",
                email="a@example.eu",
                nationality="PT",
                residence="PT",
            ).token
        ),
    ),
    "add a translation": Case(
        Status.REGISTERED,
        lambda i, _: services.initiative_add_translation(
            initiative=i, language="de", title="Recht auf Reparatur", objectives="Reparieren."
        ),
    ),
    "declare a sponsor": Case(
        Status.COLLECTING,
        lambda i, _: services.sponsor_add(
            initiative=i,
            name="Open Repair e.V.",
            amount_eur=Decimal("1250.00"),
            received_on=date(2026, 1, 10),
        ),
        fields=COLLECTING,
    ),
    "file a progress report": Case(
        Status.COLLECTING,
        lambda i, _: services.progress_report_file(
            initiative=i, online_count=10, paper_counts={"DE": 3}
        ),
        fields=COLLECTING,
    ),
    "set a legal hold": Case(
        Status.SUBMITTED,
        lambda i, _: services.initiative_set_legal_hold(initiative=i, held=True),
    ),
}


def everything() -> dict[str, list[dict[str, Any]]]:
    """Every row a service could write, as plain values."""
    return {
        model.__name__: list(model.objects.order_by("pk").values())
        for model in (Initiative, OrganiserMember, Sponsor, ProgressReport, Extension, AuditEntry)
    }


@pytest.fixture
def audit_refused(transactional_db: None) -> Iterator[Callable[[], None]]:
    """``audit_refused()``: from now on the database refuses every new audit entry."""
    table = AuditEntry._meta.db_table
    postgresql = connection.vendor == "postgresql"

    def refuse() -> None:
        with connection.cursor() as cursor:
            if postgresql:
                cursor.execute(
                    "CREATE FUNCTION quorum_test_refuse_audit() RETURNS trigger"
                    " LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit write refused'; END $$"
                )
                cursor.execute(
                    f"CREATE TRIGGER quorum_test_refuse_audit BEFORE INSERT ON {table}"
                    " FOR EACH ROW EXECUTE FUNCTION quorum_test_refuse_audit()"
                )
            else:
                cursor.execute(
                    f"CREATE TRIGGER quorum_test_refuse_audit BEFORE INSERT ON {table}"
                    " BEGIN SELECT RAISE(ABORT, 'audit write refused'); END"
                )

    yield refuse
    with connection.cursor() as cursor:
        cursor.execute(
            f"DROP TRIGGER IF EXISTS quorum_test_refuse_audit{f' ON {table}' if postgresql else ''}"
        )
        if postgresql:
            cursor.execute("DROP FUNCTION IF EXISTS quorum_test_refuse_audit()")


@pytest.mark.parametrize(
    "case", [*TRANSITIONS.values(), *OTHER_CHANGES.values()], ids=[*TRANSITIONS, *OTHER_CHANGES]
)
@pytest.mark.django_db(transaction=True)  # each change commits as it would in production
def test_a_change_whose_audit_entry_cannot_be_written_is_not_made(
    case: Case, audit_refused: Callable[[], None]
) -> None:
    initiative = make(case.status, **case.fields)
    context = case.prepare(initiative)
    before = everything()
    audit_refused()
    with pytest.raises(DatabaseError, match="audit write refused"):
        case.call(initiative, context)
    assert everything() == before


@pytest.mark.parametrize("case", TRANSITIONS.values(), ids=TRANSITIONS)
def test_the_audit_entry_names_the_status_the_row_really_had(case: Case) -> None:
    initiative = make(case.status, **case.fields)
    context = case.prepare(initiative)
    # The caller's copy is stale: it believes the initiative is in another status.
    initiative.status = Status.DRAFT if case.status != Status.DRAFT else Status.REGISTERED
    case.call(initiative, context)
    entry = AuditEntry.objects.order_by("pk").last()
    assert entry is not None
    row = Initiative.objects.get(pk=initiative.pk)
    assert (entry.data["from"], entry.data["to"]) == (case.status, row.status)
    assert initiative.status == row.status  # and the caller's copy is fresh again


def test_stopping_early_keeps_the_status_the_row_has_not_the_callers_copy() -> None:
    initiative = make(Status.COLLECTING, **COLLECTING)
    initiative.status = Status.REGISTERED  # read before collection opened
    services.initiative_stop_collection(initiative=initiative, today=date(2026, 6, 1))
    assert Initiative.objects.get(pk=initiative.pk).status == Status.COLLECTING


def test_an_extension_judges_the_end_the_row_has_not_the_callers_copy() -> None:
    initiative = make(Status.COLLECTING, **COLLECTING)
    initiative.collection_end = date(2026, 12, 31)  # read before an earlier extension
    with pytest.raises(services.InvalidRequest):
        services.initiative_record_extension(
            initiative=initiative, new_end=date(2027, 1, 31), legal_basis="Art. 2(1)"
        )
    services.initiative_record_extension(
        initiative=initiative, new_end=date(2027, 4, 30), legal_basis="Art. 2(1)"
    )
    extension = Extension.objects.get()
    assert extension.previous_end == date(2027, 3, 15)
    assert AuditEntry.objects.order_by("pk").last().data["previous_end"] == "2027-03-15"


def test_the_group_cannot_change_after_the_request_even_through_a_stale_copy() -> None:
    initiative = make(Status.REGISTRATION_REQUESTED)
    initiative.status = Status.DRAFT  # read before the registration was requested
    with pytest.raises(Conflict):
        services.organiser_invite(
            initiative=initiative,
            full_name="Ana",
            email="a@example.eu",
            nationality="PT",
            residence="PT",
        )
    assert not OrganiserMember.objects.exists()
