"""The group of organisers (Art. 5): invitations, and their confirmation by the invited."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from quorum.core.audit import Actor, audit_log
from quorum.core.errors import Conflict, DomainError
from quorum.core.mail import mail_queue
from quorum.initiatives.models import Initiative, OrganiserMember
from quorum.initiatives.services.checks import InvalidRequest, check_characters
from quorum.initiatives.services.transitions import Status, initiative_lock
from quorum.rules import scheme


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
    actor: Actor = None,
    actor_label: str = "",
) -> Invitation:
    # Locked, so that the group cannot change under a registration request made meanwhile.
    if initiative_lock(initiative).status != Status.DRAFT:
        raise Conflict(
            _("The group of organisers can change only while the initiative is a draft.")
        )
    codes = scheme(initiative.scheme).member_state_codes()
    errors: dict[str, list[Any]] = {}
    if not full_name.strip():
        errors["full_name"] = [_("Enter the member's full name.")]
    check_characters(errors, "full_name", full_name)
    check_characters(errors, "email", email)
    try:
        validate_email(email)
    except ValidationError as exc:
        errors.setdefault("email", []).extend(exc.messages)
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
    _mail_invitation(initiative=initiative, member=member, token=token)
    return Invitation(member=member, token=token)


def _mail_invitation(*, initiative: Initiative, member: OrganiserMember, token: str) -> None:
    title = initiative.text("title", initiative.language)
    link = settings.QUORUM_BASE_URL + reverse("backoffice:join", args=[token])
    mail_queue(
        to=member.email,
        subject=gettext("Invitation to the group of organisers of “%(title)s”") % {"title": title},
        body=gettext(
            "Hello %(name)s,\n\n"
            "you are invited to join the group of organisers of the citizens' initiative "
            "“%(title)s”. To accept, sign in to Quorum (or create your account) with this "
            "link, which works once:\n\n%(link)s\n\n"
            "If you did not expect this invitation, ignore this message."
        )
        % {"name": member.full_name, "title": title, "link": link},
    )


@transaction.atomic
def organiser_confirm(*, token: str, user: User) -> OrganiserMember:
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
