from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Protocol

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from quorum.core.i18n import member_state_name
from quorum.core.models import AuditEntry
from quorum.initiatives.errors import InitiativeNotFound
from quorum.initiatives.models import Initiative, OrganiserMember, Partner, ProgressReport
from quorum.rules import add_months, scheme

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

PUBLIC_STATUSES = (
    Initiative.Status.REGISTERED,
    Initiative.Status.COLLECTING,
    Initiative.Status.COLLECTION_CLOSED,
    Initiative.Status.VERIFICATION,
    Initiative.Status.VERIFIED,
    Initiative.Status.SUBMITTED,
    Initiative.Status.ANSWERED,
    Initiative.Status.UNSUCCESSFUL,
    Initiative.Status.WITHDRAWN,
)


@dataclass(frozen=True)
class MemberStateRow:
    code: str
    name: str
    seats: int
    threshold: int
    part: str
    min_age: int


def initiative_list_public() -> QuerySet[Initiative]:
    # A draft withdrawn before it ever asked for registration stays private.
    return Initiative.objects.filter(status__in=PUBLIC_STATUSES).exclude(
        status=Initiative.Status.WITHDRAWN,
        registration_requested_on__isnull=True,
        registration_date__isnull=True,
    )


def registration_requests() -> QuerySet[Initiative]:
    """The registrar's queue: oldest request first."""
    return Initiative.objects.filter(status=Initiative.Status.REGISTRATION_REQUESTED).order_by(
        "registration_requested_on", "pk"
    )


def initiative_audit_log(initiative: Initiative) -> list[AuditEntry]:
    """The full audit log of one initiative, with who acted: for the registrar only."""
    return list(
        AuditEntry.objects.filter(
            subject_type="initiatives.initiative", subject_id=str(initiative.pk)
        )
        .select_related("actor")
        .order_by("created_at", "id")
    )


def initiative_get_public(*, slug: str) -> Initiative:
    """The initiative, if the public may see it; InitiativeNotFound otherwise."""
    initiative = initiative_list_public().filter(slug=slug).first()
    if initiative is None:
        raise InitiativeNotFound()
    return initiative


class CollectionPeriod(Protocol):
    """What tells whether statements are collected: an Initiative, or a copy of its fields."""

    @property
    def status(self) -> str: ...
    @property
    def collection_start(self) -> date | None: ...
    @property
    def collection_end(self) -> date | None: ...


def initiative_is_collecting(initiative: CollectionPeriod, *, today: date | None = None) -> bool:
    day = today or timezone.localdate()
    return (
        initiative.status == Initiative.Status.COLLECTING
        and initiative.collection_start is not None
        and initiative.collection_end is not None
        and initiative.collection_start <= day <= initiative.collection_end
    )


def initiative_member_state_rows(
    initiative: Initiative, *, on: date | None = None
) -> list[MemberStateRow]:
    """Thresholds of the Annex I table fixed by the registration date; ages on `on`."""
    if initiative.registration_date is None:
        return []
    rules = scheme(initiative.scheme)
    day = on or timezone.localdate()
    return [
        MemberStateRow(
            code=ms.code,
            name=member_state_name(ms.code),
            seats=ms.seats,
            threshold=ms.threshold,
            part=ms.part,
            min_age=rules.min_age(ms.code, on=day),
        )
        for ms in rules.member_states(registered=initiative.registration_date)
    ]


def organiser_group_problems(initiative: Initiative) -> list[StrOrPromise]:
    """What keeps the group of organisers from meeting Art. 5(1); empty when it does."""
    rule = scheme(initiative.scheme).organiser_group
    members = list(initiative.organisers.all())
    counted = [
        m for m in members if m.confirmed_at is not None and not m.is_mep and m.declares_voting_age
    ]
    problems: list[StrOrPromise] = []
    if len(counted) < rule.min_members:
        problems.append(
            _(
                "At least %(n)d confirmed members are needed (Members of the European Parliament do not count)."
            )
            % {"n": rule.min_members}
        )
    if len({m.residence for m in counted}) < rule.min_member_states_of_residence:
        problems.append(
            _("The members must reside in at least %(n)d different Member States.")
            % {"n": rule.min_member_states_of_residence}
        )
    roles = {m.role for m in members if m.confirmed_at is not None}
    if (
        OrganiserMember.Role.REPRESENTATIVE not in roles
        or OrganiserMember.Role.SUBSTITUTE not in roles
    ):
        problems.append(
            _("The group must name a confirmed representative and a confirmed substitute.")
        )
    return problems


def initiative_deadlines(initiative: Initiative) -> dict[str, date]:
    """Every deadline computable from the initiative's dates, by name (from the rules data)."""
    return scheme(initiative.scheme).deadline_table(
        registered=initiative.registration_date,
        collection_start=initiative.collection_start,
        collection_end=initiative.collection_end,
        submitted=initiative.submitted_on,
        requested=initiative.registration_requested_on,
        partial=initiative.partially_registered,
        received=initiative.verification_requested_on,
        published=initiative.published_on,
        withdrawn=initiative.withdrawn_on,
        legal_hold_until=initiative.legal_hold_decided_on,
    )


def initiative_search(*, query: str = "", status: str = "") -> QuerySet[Initiative]:
    """The public register, searchable by title, objectives or registration number."""
    initiatives = initiative_list_public()
    if status:
        initiatives = initiatives.filter(status=status)
    for word in query.split()[:8]:
        # JSON text fields: search their text as stored; good enough for a register of hundreds.
        initiatives = initiatives.filter(
            Q(title__icontains=word)
            | Q(objectives__icontains=word)
            | Q(registration_number__icontains=word)
        )
    return initiatives


def initiatives_of_organiser(user: User) -> QuerySet[Initiative]:
    return Initiative.objects.filter(
        organisers__user=user, organisers__confirmed_at__isnull=False
    ).distinct()


def is_organiser_of(user: User, initiative: Initiative) -> bool:
    return initiative.organisers.filter(user=user, confirmed_at__isnull=False).exists()


def initiative_timeline(initiative: Initiative) -> list[AuditEntry]:
    """The public trace: actions on the initiative, without who did them."""
    return list(
        AuditEntry.objects.filter(
            subject_type="initiatives.initiative", subject_id=str(initiative.pk)
        )
        .only("action", "created_at")
        .order_by("created_at", "id")
    )


def progress_report_due(initiative: Initiative, *, today: date | None = None) -> date | None:
    """When the next two-monthly update (funding, counts) is due; None when none is.

    Art. 9(7) and the funding rules: at least every two months from registration until
    submission.
    """
    if initiative.registration_date is None or initiative.status not in (
        Initiative.Status.REGISTERED,
        Initiative.Status.COLLECTING,
        Initiative.Status.COLLECTION_CLOSED,
        Initiative.Status.VERIFICATION,
        Initiative.Status.VERIFIED,
    ):
        return None
    last = (
        initiative.progress_reports.order_by("-reported_on")
        .values_list("reported_on", flat=True)
        .first()
    )
    return add_months(last or initiative.registration_date, 2)


def progress_reports_overdue(*, today: date | None = None) -> list[tuple[Initiative, date]]:
    day = today or timezone.localdate()
    overdue = []
    for initiative in Initiative.objects.exclude(registration_date__isnull=True):
        due = progress_report_due(initiative, today=day)
        if due is not None and due <= day:
            overdue.append((initiative, due))
    return overdue


def initiative_embed_origins(initiative: Initiative) -> list[str]:
    """The sites that may frame the initiative's signing form, in the order they are shown."""
    return list(initiative.embed_origins.values_list("origin", flat=True))


def initiative_partners(initiative: Initiative | int) -> dict[str, str]:
    """The initiative's partners, code → name, by code."""
    pk = initiative if isinstance(initiative, int) else initiative.pk
    return dict(Partner.objects.filter(initiative_id=pk).values_list("code", "name"))


def initiative_public_organisers(initiative: Initiative) -> list[OrganiserMember]:
    """The confirmed members of the group of organisers, as the register publishes them: the
    representative, the substitute, then the members by name. Invitations not yet confirmed
    are not public."""
    order: dict[str, int] = {
        OrganiserMember.Role.REPRESENTATIVE: 0,
        OrganiserMember.Role.SUBSTITUTE: 1,
        OrganiserMember.Role.MEMBER: 2,
    }
    members = initiative.organisers.filter(confirmed_at__isnull=False)
    return sorted(members, key=lambda member: (order.get(member.role, 3), member.full_name))


@dataclass(frozen=True)
class PaperDeclared:
    """Statements collected on paper, as the organisers last declared them (a progress report
    gives the totals so far). Never verified by the platform and never part of the log."""

    reported_on: date | None
    by_member_state: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_member_state.values())


def paper_declared(initiative: Initiative | int) -> PaperDeclared:
    """The latest progress report's paper counts; nothing declared before the first one."""
    initiative_id = initiative if isinstance(initiative, int) else initiative.pk
    latest = (
        ProgressReport.objects.filter(initiative_id=initiative_id)
        .order_by("-reported_on", "-id")
        .values_list("reported_on", "paper_counts")
        .first()
    )
    if latest is None:
        return PaperDeclared(reported_on=None, by_member_state={})
    reported_on, counts = latest
    return PaperDeclared(
        reported_on=reported_on,
        by_member_state={
            code: count
            for code, count in sorted((counts or {}).items())
            if type(count) is int and count > 0
        },
    )
