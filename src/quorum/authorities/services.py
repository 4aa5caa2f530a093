from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from quorum.authorities.models import Authority, AuthorityStaff
from quorum.core.audit import audit_log
from quorum.core.crypto import CryptoError, decode_key
from quorum.core.errors import DomainError
from quorum.rules import RulesError, scheme


def _check_key(value: str) -> str:
    try:
        decode_key(value)
    except CryptoError as exc:
        raise DomainError(
            _("A public key must be 32 bytes in standard base64."), code="bad_key"
        ) from exc
    return value


@transaction.atomic
def authority_set_keys(
    *,
    scheme_code: str,
    member_state: str,
    sealing_public_key: str,
    signing_public_key: str,
    name: str | None = None,
    actor: Any = None,
    actor_label: str = "",
) -> Authority:
    try:
        if member_state not in scheme(scheme_code).member_state_codes():
            raise DomainError(_("Unknown Member State."), code="unknown_member_state")
    except RulesError as exc:
        raise DomainError(_("Unknown scheme."), code="unknown_scheme") from exc
    _check_key(sealing_public_key)
    _check_key(signing_public_key)
    authority, created = Authority.objects.select_for_update().get_or_create(
        scheme=scheme_code,
        member_state=member_state,
        defaults={"name": name or f"Competent authority {member_state}"},
    )
    if name:
        authority.name = name
    authority.sealing_public_key = sealing_public_key
    authority.signing_public_key = signing_public_key
    authority.keys_updated_at = timezone.now()
    authority.save()
    audit_log(
        action="quorum.authority.keys_set",
        subject=authority,
        actor=actor,
        actor_label=actor_label,
        data={
            "member_state": member_state,
            "sealing_public_key": sealing_public_key,
            "signing_public_key": signing_public_key,
            "created": created,
        },
    )
    return authority


@transaction.atomic
def authority_staff_add(
    *, scheme_code: str, member_state: str, user: Any, actor: Any = None, actor_label: str = ""
) -> AuthorityStaff:
    authority = Authority.objects.filter(scheme=scheme_code, member_state=member_state).first()
    if authority is None:
        raise DomainError(
            _("No authority is registered for this Member State."), code="unknown_authority"
        )
    staff, _created = AuthorityStaff.objects.get_or_create(authority=authority, user=user)
    audit_log(
        action="quorum.authority.staff_added",
        subject=authority,
        actor=actor,
        actor_label=actor_label,
        data={"user": user.pk},
    )
    return staff
