"""Every change to an initiative: compare-and-swap transitions, one audit entry each.

Deadlines and limits come from the rules data (quorum.rules), never from constants here.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from quorum.core.audit import audit_log
from quorum.core.errors import Conflict, DomainError
from quorum.core.text import CONTROL_CHARACTERS_MESSAGE, has_control_characters
from quorum.initiatives.models import (
    Extension,
    Initiative,
    OrganiserMember,
    ProgressReport,
    Sponsor,
)
from quorum.initiatives.selectors import organiser_group_problems, text_length_without_spaces
from quorum.rules import add_working_days, scheme

Status = Initiative.Status

# Annex II limits, as the regulation states them.
TITLE_MAX = 100
OBJECTIVES_MAX = 1100
ANNEX_MAX = 5000

BEFORE_SUBMISSION = (
    Status.DRAFT,
    Status.REGISTRATION_REQUESTED,
    Status.REGISTERED,
    Status.COLLECTING,
    Status.COLLECTION_CLOSED,
    Status.VERIFICATION,
    Status.VERIFIED,
)


class InvalidRequest(DomainError):
    """The request breaks a rule; `errors` maps fields to translated reasons."""

    code = "invalid"

    def __init__(self, errors: dict[str, list[Any]]) -> None:
        super().__init__(_("Please correct the fields marked."))
        self.errors = errors


def _transition(
    initiative: Initiative,
    *,
    from_statuses: tuple[str, ...],
    to_status: str,
    action: str,
    actor: Any,
    actor_label: str,
    data: dict[str, Any] | None = None,
    **fields: Any,
) -> Initiative:
    """Compare-and-swap: change only if the status is still one we expect; exactly one row."""
    changed = Initiative.objects.filter(pk=initiative.pk, status__in=from_statuses).update(
        status=to_status, updated_at=timezone.now(), **fields
    )
    if changed != 1:
        raise Conflict(_("This initiative is no longer in a state that allows this."))
    audit_log(
        action=action,
        subject=initiative,
        actor=actor,
        actor_label=actor_label,
        data={"from": initiative.status, "to": to_status, **(data or {})},
    )
    initiative.refresh_from_db()
    return initiative


def _check_texts(title: str, objectives: str, annex: str = "") -> dict[str, list[Any]]:
    errors: dict[str, list[Any]] = {}
    if not title.strip():
        errors["title"] = [_("Enter a title.")]
    elif len(title) > TITLE_MAX:
        errors["title"] = [_("The title may have at most 100 characters.")]
    if not objectives.strip():
        errors["objectives"] = [_("Enter the objectives.")]
    elif text_length_without_spaces(objectives) > OBJECTIVES_MAX:
        errors["objectives"] = [
            _("The objectives may have at most 1,100 characters, not counting spaces.")
        ]
    if text_length_without_spaces(annex) > ANNEX_MAX:
        errors["annex"] = [_("The annex may have at most 5,000 characters, not counting spaces.")]
    return errors


def _check_characters(
    errors: dict[str, list[Any]], field: str, *values: object, multiline: bool = False
) -> dict[str, list[Any]]:
    """Refuse control characters in ``values`` (one message, under ``field``).

    Here as well as in every form and command: a door that forgets is still closed.
    """
    if any(
        isinstance(value, str) and has_control_characters(value, multiline=multiline)
        for value in values
    ):
        errors.setdefault(field, []).append(CONTROL_CHARACTERS_MESSAGE)
    return errors


@transaction.atomic
def initiative_create(
    *,
    slug: str,
    title: dict[str, str],
    objectives: dict[str, str],
    language: str,
    status: str = Status.DRAFT,
    registration_number: str = "",
    registration_date: date | None = None,
    collection_start: date | None = None,
    collection_end: date | None = None,
    website: str = "",
    annex: dict[str, str] | None = None,
    treaty_basis: str = "",
    actor: Any = None,
    actor_label: str = "",
) -> Initiative:
    errors = _check_texts(
        title.get(language, ""), objectives.get(language, ""), (annex or {}).get(language, "")
    )
    _check_characters(errors, "language", language, *title, *objectives, *(annex or {}))
    _check_characters(errors, "title", *title.values())
    _check_characters(errors, "objectives", *objectives.values(), multiline=True)
    _check_characters(errors, "annex", *(annex or {}).values(), multiline=True)
    _check_characters(errors, "treaty_basis", treaty_basis)
    _check_characters(errors, "registration_number", registration_number)
    _check_characters(errors, "website", website)
    if Initiative.objects.filter(slug=slug).exists():
        errors.setdefault("slug", []).append(_("This short name is taken."))
    if errors:
        raise InvalidRequest(errors)
    initiative = Initiative(
        slug=slug,
        title=title,
        objectives=objectives,
        annex=annex or {},
        treaty_basis=treaty_basis,
        language=language,
        status=status,
        registration_number=registration_number,
        registration_date=registration_date,
        collection_start=collection_start,
        collection_end=collection_end,
        website=website,
    )
    try:
        initiative.full_clean()
    except ValidationError as exc:
        # What the model refuses (a slug outside its alphabet, a too-long value) is bad input
        # like the rest: one error per field, never a traceback.
        raise InvalidRequest(
            {field: [str(m) for m in messages] for field, messages in exc.message_dict.items()}
        ) from exc
    initiative.save()
    audit_log(
        action="quorum.initiative.created",
        subject=initiative,
        actor=actor,
        actor_label=actor_label,
        data={"status": status},
    )
    return initiative


# --- the group of organisers -----------------------------------------------------------------


@dataclass(frozen=True)
class Invitation:
    member: OrganiserMember
    token: str


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@transaction.atomic
def organiser_invite(
    *,
    initiative: Initiative,
    full_name: str,
    email: str,
    nationality: str,
    residence: str,
    role: str = OrganiserMember.Role.MEMBER,
    is_mep: bool = False,
    declares_voting_age: bool = True,
    actor: Any = None,
    actor_label: str = "",
) -> Invitation:
    if initiative.status != Status.DRAFT:
        raise Conflict(
            _("The group of organisers can change only while the initiative is a draft.")
        )
    codes = scheme(initiative.scheme).member_state_codes()
    errors: dict[str, list[Any]] = {}
    if not full_name.strip():
        errors["full_name"] = [_("Enter the member's full name.")]
    _check_characters(errors, "full_name", full_name)
    _check_characters(errors, "email", email)
    if nationality not in codes:
        errors["nationality"] = [_("Organisers must be citizens of a Member State.")]
    if residence not in codes:
        errors["residence"] = [_("Choose a Member State of residence.")]
    if not declares_voting_age:
        errors["declares_voting_age"] = [
            _("Organisers must be old enough to vote in European Parliament elections.")
        ]
    if (
        role in (OrganiserMember.Role.REPRESENTATIVE, OrganiserMember.Role.SUBSTITUTE)
        and initiative.organisers.filter(role=role).exists()
    ):
        errors["role"] = [_("The group already has one.")]
    if errors:
        raise InvalidRequest(errors)
    # Hex, not URL-safe base64: a token that begins with "-" reads as an option on a command
    # line (`quorum initiative confirm TOKEN`), and base64 gives one about every 64th time.
    token = secrets.token_hex(24)
    member = OrganiserMember.objects.create(
        initiative=initiative,
        full_name=full_name.strip(),
        email=email,
        nationality=nationality,
        residence=residence,
        role=role,
        is_mep=is_mep,
        declares_voting_age=declares_voting_age,
        invitation_hash=_token_hash(token),
    )
    audit_log(
        action="quorum.initiative.organiser_invited",
        subject=initiative,
        actor=actor,
        actor_label=actor_label,
        data={"member": member.pk, "role": role, "residence": residence},
    )
    return Invitation(member=member, token=token)


@transaction.atomic
def organiser_confirm(*, token: str, user: Any) -> OrganiserMember:
    member = (
        OrganiserMember.objects.select_for_update()
        .filter(invitation_hash=_token_hash(token), confirmed_at__isnull=True)
        .first()
        if token
        else None
    )
    if member is None:
        raise DomainError(
            _("This invitation link is not valid or was already used."), code="bad_invitation"
        )
    if OrganiserMember.objects.filter(initiative=member.initiative, user=user).exists():
        raise Conflict(_("You are already a member of this group of organisers."))
    member.user = user
    member.confirmed_at = timezone.now()
    member.invitation_hash = ""
    member.save(update_fields=["user", "confirmed_at", "invitation_hash"])
    audit_log(
        action="quorum.initiative.organiser_confirmed",
        subject=member.initiative,
        actor=user,
        data={"member": member.pk},
    )
    return member


# --- registration ----------------------------------------------------------------------------


def initiative_request_registration(
    *, initiative: Initiative, actor: Any = None, actor_label: str = "", today: date | None = None
) -> Initiative:
    day = today or timezone.localdate()
    errors = _check_texts(
        initiative.title.get(initiative.language, ""),
        initiative.objectives.get(initiative.language, ""),
        initiative.annex.get(initiative.language, ""),
    )
    problems = organiser_group_problems(initiative)
    if problems:
        errors["organisers"] = problems
    if errors:
        raise InvalidRequest(errors)
    return _transition(
        initiative,
        from_statuses=(Status.DRAFT,),
        to_status=Status.REGISTRATION_REQUESTED,
        action="quorum.initiative.registration_requested",
        actor=actor,
        actor_label=actor_label,
        registration_requested_on=day,
    )


def initiative_decide_registration(
    *,
    initiative: Initiative,
    decision: str,
    registration_number: str = "",
    reasons: str = "",
    actor: Any = None,
    actor_label: str = "",
    today: date | None = None,
) -> Initiative:
    """The registrar's decision: "registered", "partially_registered" or "refused"."""
    day = today or timezone.localdate()
    if decision not in ("registered", "partially_registered", "refused"):
        raise InvalidRequest({"decision": [_("Choose a decision.")]})
    errors = _check_characters({}, "registration_number", registration_number)
    _check_characters(errors, "reasons", reasons, multiline=True)
    if errors:
        raise InvalidRequest(errors)
    if decision == "refused":
        if not reasons.strip():
            raise InvalidRequest({"reasons": [_("A refusal must state its reasons.")]})
        return _transition(
            initiative,
            from_statuses=(Status.REGISTRATION_REQUESTED,),
            to_status=Status.REFUSED,
            action="quorum.initiative.registration_refused",
            actor=actor,
            actor_label=actor_label,
            decision_reasons=reasons.strip(),
        )
    number = registration_number.strip() or f"ECI({day.year})9{initiative.pk:05d}"
    if Initiative.objects.filter(registration_number=number).exclude(pk=initiative.pk).exists():
        raise InvalidRequest({"registration_number": [_("This registration number is taken.")]})
    partial = decision == "partially_registered"
    if partial and not reasons.strip():
        raise InvalidRequest({"reasons": [_("A partial registration must state its reasons.")]})
    return _transition(
        initiative,
        from_statuses=(Status.REGISTRATION_REQUESTED,),
        to_status=Status.REGISTERED,
        action="quorum.initiative.partially_registered"
        if partial
        else "quorum.initiative.registered",
        actor=actor,
        actor_label=actor_label,
        data={"registration_number": number},
        registration_number=number,
        registration_date=day,
        partially_registered=partial,
        decision_reasons=reasons.strip(),
    )


@transaction.atomic
def initiative_add_translation(
    *,
    initiative: Initiative,
    language: str,
    title: str,
    objectives: str,
    actor: Any = None,
    actor_label: str = "",
) -> Initiative:
    errors = _check_texts(title, objectives)
    _check_characters(errors, "language", language)
    _check_characters(errors, "title", title)
    _check_characters(errors, "objectives", objectives, multiline=True)
    if errors:
        raise InvalidRequest(errors)
    initiative = Initiative.objects.select_for_update().get(pk=initiative.pk)
    initiative.title = {**initiative.title, language: title}
    initiative.objectives = {**initiative.objectives, language: objectives}
    initiative.save(update_fields=["title", "objectives", "updated_at"])
    audit_log(
        action="quorum.initiative.translation_added",
        subject=initiative,
        actor=actor,
        actor_label=actor_label,
        data={"language": language},
    )
    return initiative


# --- collection ------------------------------------------------------------------------------


def initiative_set_collection_start(
    *,
    initiative: Initiative,
    start: date,
    actor: Any = None,
    actor_label: str = "",
    today: date | None = None,
) -> Initiative:
    """Art. 8(1): at most 6 months after registration, announced at least 10 working days ahead."""
    day = today or timezone.localdate()
    rules = scheme(initiative.scheme)
    if initiative.registration_date is None:
        raise Conflict(_("The initiative is not registered."))
    latest = rules.latest_collection_start(initiative.registration_date)
    earliest = add_working_days(day, 10)
    if start > latest:
        raise InvalidRequest(
            {"start": [_("The collection must start within six months of registration.")]}
        )
    if start < earliest:
        raise InvalidRequest(
            {"start": [_("The start must be announced at least ten working days ahead.")]}
        )
    return _transition(
        initiative,
        from_statuses=(Status.REGISTERED,),
        to_status=Status.REGISTERED,
        action="quorum.initiative.collection_start_set",
        actor=actor,
        actor_label=actor_label,
        data={"start": start.isoformat()},
        collection_start=start,
        collection_end=rules.collection_end(start),
        start_announced_on=day,
    )


@transaction.atomic
def initiative_record_extension(
    *,
    initiative: Initiative,
    new_end: date,
    legal_basis: str,
    actor: Any = None,
    actor_label: str = "",
    today: date | None = None,
) -> Initiative:
    day = today or timezone.localdate()
    if not legal_basis.strip():
        raise InvalidRequest({"legal_basis": [_("State the legal basis of the extension.")]})
    if errors := _check_characters({}, "legal_basis", legal_basis):
        raise InvalidRequest(errors)
    current = initiative.collection_end
    if current is None or new_end <= current:
        raise InvalidRequest(
            {"new_end": [_("An extension must move the end of collection later.")]}
        )
    initiative = _transition(
        initiative,
        from_statuses=(Status.REGISTERED, Status.COLLECTING, Status.COLLECTION_CLOSED),
        to_status=Status.COLLECTING
        if initiative.status == Status.COLLECTION_CLOSED
        else initiative.status,
        action="quorum.initiative.collection_extended",
        actor=actor,
        actor_label=actor_label,
        data={
            "previous_end": current.isoformat(),
            "new_end": new_end.isoformat(),
            "legal_basis": legal_basis,
        },
        collection_end=new_end,
    )
    Extension.objects.create(
        initiative=initiative,
        previous_end=current,
        new_end=new_end,
        legal_basis=legal_basis.strip(),
        recorded_on=day,
    )
    return initiative


def initiative_stop_collection(
    *,
    initiative: Initiative,
    end: date | None = None,
    actor: Any = None,
    actor_label: str = "",
    today: date | None = None,
) -> Initiative:
    """Art. 8(1): an earlier end, announced at least ten working days before it."""
    day = today or timezone.localdate()
    new_end = end or add_working_days(day, 10)
    if new_end < add_working_days(day, 10):
        raise InvalidRequest(
            {"end": [_("An earlier end must be announced at least ten working days ahead.")]}
        )
    if initiative.collection_end is not None and new_end >= initiative.collection_end:
        raise InvalidRequest(
            {"end": [_("The new end must come before the current end of collection.")]}
        )
    return _transition(
        initiative,
        from_statuses=(Status.REGISTERED, Status.COLLECTING),
        to_status=initiative.status,
        action="quorum.initiative.collection_stopped_early",
        actor=actor,
        actor_label=actor_label,
        data={"end": new_end.isoformat()},
        collection_end=new_end,
        stopped_early_on=day,
    )


def initiative_withdraw(
    *, initiative: Initiative, actor: Any = None, actor_label: str = "", today: date | None = None
) -> Initiative:
    """Art. 7: at any time before the submission to the Commission."""
    return _transition(
        initiative,
        from_statuses=BEFORE_SUBMISSION,
        to_status=Status.WITHDRAWN,
        action="quorum.initiative.withdrawn",
        actor=actor,
        actor_label=actor_label,
        withdrawn_on=today or timezone.localdate(),
    )


# The transitions that dates make: from, to, action, and which initiatives are due on `day`.
DATE_TRANSITIONS: tuple[tuple[str, str, str, Callable[[date], Q]], ...] = (
    (
        Status.REGISTERED,
        Status.COLLECTING,
        "quorum.initiative.collection_opened",
        lambda day: Q(collection_start__lte=day),
    ),
    (
        Status.COLLECTING,
        Status.COLLECTION_CLOSED,
        "quorum.initiative.collection_closed",
        lambda day: Q(collection_end__lt=day),  # the end date is the last day of collection
    ),
)


def initiatives_advance_by_date(*, today: date | None = None) -> list[tuple[str, str, str]]:
    """Open and close collections on their dates, with nobody clicking. Safe to run again."""
    day = today or timezone.localdate()
    moved: list[tuple[str, str, str]] = []
    for before, after, action, due in DATE_TRANSITIONS:
        for initiative in Initiative.objects.filter(due(day), status=before):
            try:
                _transition(
                    initiative,
                    from_statuses=(before,),
                    to_status=after,
                    action=action,
                    actor=None,
                    actor_label="system",
                )
            except Conflict:
                continue  # another run moved it first
            moved.append((initiative.slug, before, after))
    return moved


# --- transparency ----------------------------------------------------------------------------


@transaction.atomic
def sponsor_add(
    *,
    initiative: Initiative,
    name: str,
    amount_eur: Decimal,
    received_on: date,
    actor: Any = None,
    actor_label: str = "",
) -> Sponsor:
    errors: dict[str, list[Any]] = {}
    if not name.strip():
        errors["name"] = [_("Enter the sponsor's name.")]
    _check_characters(errors, "name", name)
    if amount_eur <= 0:
        errors["amount_eur"] = [_("Enter an amount in euro.")]
    if received_on > timezone.localdate():
        errors["received_on"] = [_("The date cannot be in the future.")]
    if errors:
        raise InvalidRequest(errors)
    sponsor = Sponsor.objects.create(
        initiative=initiative, name=name.strip(), amount_eur=amount_eur, received_on=received_on
    )
    audit_log(
        action="quorum.initiative.sponsor_declared",
        subject=initiative,
        actor=actor,
        actor_label=actor_label,
        data={"sponsor": sponsor.pk, "amount_eur": str(amount_eur)},
    )
    return sponsor


@transaction.atomic
def progress_report_file(
    *,
    initiative: Initiative,
    online_count: int,
    paper_counts: dict[str, int],
    actor: Any = None,
    actor_label: str = "",
    today: date | None = None,
) -> ProgressReport:
    """Art. 9(7): the online count is the log's (passed in by the caller), paper is declared."""
    codes = set(scheme(initiative.scheme).member_state_codes())
    bad = [
        code
        for code, count in paper_counts.items()
        if code not in codes or not isinstance(count, int) or count < 0
    ]
    if bad:
        raise InvalidRequest(
            {"paper_counts": [_("Paper counts must be whole numbers per Member State.")]}
        )
    report = ProgressReport.objects.create(
        initiative=initiative,
        reported_on=today or timezone.localdate(),
        online_count=online_count,
        paper_counts={code: count for code, count in sorted(paper_counts.items()) if count},
    )
    audit_log(
        action="quorum.initiative.progress_reported",
        subject=initiative,
        actor=actor,
        actor_label=actor_label,
        data={"online": online_count, "paper": sum(paper_counts.values())},
    )
    return report


# --- after collection ------------------------------------------------------------------------


def initiative_submit_to_commission(
    *, initiative: Initiative, actor: Any = None, actor_label: str = "", today: date | None = None
) -> Initiative:
    """Art. 13: once certified counts exist (the initiative is "verified")."""
    day = today or timezone.localdate()
    return _transition(
        initiative,
        from_statuses=(Status.VERIFIED,),
        to_status=Status.SUBMITTED,
        action="quorum.initiative.submitted",
        actor=actor,
        actor_label=actor_label,
        submitted_on=day,
        published_on=day,
    )


def initiative_record_follow_up(
    *,
    initiative: Initiative,
    step: str,
    on: date,
    url: str = "",
    actor: Any = None,
    actor_label: str = "",
) -> Initiative:
    """The registrar records the meeting, the hearing or the communication (the answer)."""
    if step not in ("meeting", "hearing", "communication"):
        raise InvalidRequest({"step": [_("Choose meeting, hearing or communication.")]})
    if errors := _check_characters({}, "url", url):
        raise InvalidRequest(errors)
    if initiative.submitted_on is not None and on < initiative.submitted_on:
        raise InvalidRequest({"on": [_("This cannot come before the submission.")]})
    if step == "communication" and not url:
        raise InvalidRequest({"url": [_("Link the Commission's communication.")]})
    return _transition(
        initiative,
        from_statuses=(Status.SUBMITTED,),
        to_status=Status.ANSWERED if step == "communication" else Status.SUBMITTED,
        action=f"quorum.initiative.{step}_recorded",
        actor=actor,
        actor_label=actor_label,
        data={"on": on.isoformat(), "url": url},
        **{f"{step}_on": on, f"{step}_url": url},
    )


def initiative_request_verification(
    *, initiative: Initiative, actor: Any = None, actor_label: str = "", today: date | None = None
) -> Initiative:
    """Art. 12(2): after collection, the organisers ask the authorities to verify."""
    return _transition(
        initiative,
        from_statuses=(Status.COLLECTION_CLOSED,),
        to_status=Status.VERIFICATION,
        action="quorum.initiative.verification_requested",
        actor=actor,
        actor_label=actor_label,
        verification_requested_on=today or timezone.localdate(),
    )


def initiative_conclude_verification(
    *,
    initiative: Initiative,
    successful: bool,
    actor: Any = None,
    actor_label: str = "",
    today: date | None = None,
) -> Initiative:
    """Certified counts decide: verified (the submission opens) or unsuccessful."""
    return _transition(
        initiative,
        from_statuses=(Status.VERIFICATION,),
        to_status=Status.VERIFIED if successful else Status.UNSUCCESSFUL,
        action="quorum.initiative.verified" if successful else "quorum.initiative.unsuccessful",
        actor=actor,
        actor_label=actor_label,
        verified_on=today or timezone.localdate(),
    )


def initiative_set_legal_hold(
    *,
    initiative: Initiative,
    held: bool,
    decided_on: date | None = None,
    actor: Any = None,
    actor_label: str = "",
) -> Initiative:
    """Art. 19(7): proceedings hold the statements until one month after their final decision."""
    changed = Initiative.objects.filter(pk=initiative.pk).update(
        legal_hold=held, legal_hold_decided_on=decided_on
    )
    if changed != 1:
        raise Conflict(_("This initiative is no longer in a state that allows this."))
    audit_log(
        action="quorum.initiative.legal_hold_set"
        if held
        else "quorum.initiative.legal_hold_lifted",
        subject=initiative,
        actor=actor,
        actor_label=actor_label,
        data={"decided_on": decided_on.isoformat() if decided_on else None},
    )
    initiative.refresh_from_db()
    return initiative
