from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.utils import timezone

from quorum.initiatives.models import Initiative
from quorum.rules import scheme
from quorum.verification.models import Certificate, Purge, VerificationRound


@dataclass(frozen=True)
class CertifiedState:
    code: str
    certified: int | None
    threshold: int
    reached: bool


@dataclass(frozen=True)
class CertifiedCounts:
    by_member_state: list[CertifiedState]
    total: int
    states_reached: int
    successful: bool
    complete: bool


def verification_round(initiative: Initiative) -> VerificationRound | None:
    return VerificationRound.objects.filter(initiative=initiative).first()


def certified_counts(initiative: Initiative) -> CertifiedCounts:
    """The success test on certified counts, with the Annex I table of the registration date."""
    rules = scheme(initiative.scheme)
    certified = dict(
        Certificate.objects.filter(initiative=initiative).values_list(
            "member_state", "valid_statements"
        )
    )
    registered = initiative.registration_date or timezone.localdate()
    verdict = rules.success({code: count for code, count in certified.items()}, registered)
    thresholds = rules.threshold_table(registered=registered).thresholds
    rows = [
        CertifiedState(
            code=code,
            certified=certified.get(code),
            threshold=thresholds[code],
            reached=certified.get(code, 0) >= thresholds[code],
        )
        for code in rules.member_state_codes()
    ]
    round_ = verification_round(initiative)
    expected = {code for code, count in (round_.statements if round_ else {}).items() if count}
    return CertifiedCounts(
        by_member_state=rows,
        total=verdict.total,
        states_reached=len(verdict.states_reached),
        successful=verdict.successful,
        complete=bool(expected) and expected <= set(certified),
    )


def retention_end(initiative: Initiative) -> date | None:
    """Art. 19(5) and (7): when this initiative's statements must be destroyed; None if held."""
    if initiative.collection_start is None or initiative.legal_hold:
        return None
    return scheme(initiative.scheme).retention_end(
        initiative.collection_start,
        submitted=initiative.submitted_on,
        withdrawn=initiative.withdrawn_on,
        legal_hold_until=initiative.legal_hold_decided_on,
    )


def purges_due(*, today: date | None = None) -> list[tuple[Initiative, date]]:
    day = today or timezone.localdate()
    done = set(Purge.objects.values_list("initiative_id", flat=True))
    due = []
    for initiative in Initiative.objects.exclude(collection_start__isnull=True).exclude(
        pk__in=done
    ):
        end = retention_end(initiative)
        if end is not None and end <= day:
            due.append((initiative, end))
    return due


def submission_data(initiative: Initiative) -> dict[str, object]:
    """What the submission to the Commission carries (Annex VII), from the platform's records."""
    counts = certified_counts(initiative)
    contacts = [
        {"name": member.full_name, "email": member.email, "role": member.role}
        for member in initiative.organisers.filter(
            role__in=("representative", "substitute"), confirmed_at__isnull=False
        )
    ]
    sponsors = [
        {
            "name": sponsor.name,
            "amount_eur": str(sponsor.amount_eur),
            "date": sponsor.received_on.isoformat(),
        }
        for sponsor in initiative.sponsors.all()
    ]
    certificates = [
        {"member_state": code, "valid_statements": valid, "date": day.isoformat()}
        for code, valid, day in Certificate.objects.filter(initiative=initiative)
        .order_by("member_state")
        .values_list("member_state", "valid_statements", "certified_on")
    ]
    return {
        "title": initiative.text("title", initiative.language),
        "registration_number": initiative.registration_number,
        "registration_date": initiative.registration_date.isoformat()
        if initiative.registration_date
        else None,
        "valid_statements": counts.total,
        "certified_by_member_state": {
            row.code: row.certified for row in counts.by_member_state if row.certified is not None
        },
        "member_states_reached": counts.states_reached,
        "contact_persons": contacts,
        "support_and_funding": sponsors,
        "funding_total_eur": str(sum((s.amount_eur for s in initiative.sponsors.all()), start=0)),
        "certificates": certificates,
    }
