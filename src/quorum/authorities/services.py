"""Authorities and their keys: the only ways a key reaches the platform.

Two people, two channels. The registrar records the fingerprint that the Member State gave
with its designation of the competent authority (`authority_expect_key`); the authority's key
certificate, made by its offline toolkit, is then accepted only if it matches
(`authority_key_register`). A later key is accepted only as a rotation signed with the
current key. Every accepted key is appended to the public key log in the same transaction as
the key itself and its audit entry.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from quorum.accounts.roles import is_registrar
from quorum.authorities.models import (
    Authority,
    AuthorityKey,
    AuthorityStaff,
    KeyLogCheckpoint,
    KeyLogLeaf,
)
from quorum.core.audit import Actor, audit_log
from quorum.core.errors import Conflict, DomainError, NotFound
from quorum.core.log_key import log_key, log_origin
from quorum.core.text import has_control_characters
from quorum.proofs import key_certificate as kc
from quorum.proofs import merkle
from quorum.proofs.signed_note import format_checkpoint, sign_note
from quorum.rules import RulesError, scheme


def _check_authority(scheme_code: str, member_state: str) -> None:
    try:
        if member_state not in scheme(scheme_code).member_state_codes():
            raise DomainError(_("Unknown Member State."), code="unknown_member_state")
    except RulesError as exc:
        raise DomainError(_("Unknown scheme."), code="unknown_scheme") from exc


def _who(user_id: object, label: str) -> str:
    """Who acted, for the two-person rule: the account, else the command's label."""
    if user_id is not None:
        return f"user:{user_id}"
    return f"label:{label}" if label else ""


def _actor_key(actor: Actor, actor_label: str) -> str:
    return _who(actor.pk if actor is not None and actor.is_authenticated else None, actor_label)


@transaction.atomic
def authority_expect_key(
    *,
    scheme_code: str,
    member_state: str,
    fingerprint: str,
    name: str,
    designation: str = "",
    actor: Actor = None,
    actor_label: str = "",
) -> Authority:
    """The registrar records the fingerprint of an authority's first key from its designation.

    Only for an authority without a key: a registered key changes only by a signed rotation.
    """
    _check_authority(scheme_code, member_state)
    if getattr(actor, "is_authenticated", False) and not is_registrar(actor):
        raise DomainError(
            _("Only the registrar records the fingerprint from a designation."),
            code="registrar_only",
        )
    normalised = kc.normalise_fingerprint(fingerprint)
    if normalised is None:
        raise DomainError(
            _("A fingerprint is 64 hexadecimal digits (spaces and colons are ignored)."),
            code="bad_fingerprint",
        )
    authority, created = Authority.objects.select_for_update().get_or_create(
        scheme=scheme_code, member_state=member_state, defaults={"name": name}
    )
    if authority.current_key_id is not None:
        raise Conflict(
            _(
                "This authority already has a key. Only the authority can change it, with a "
                "rotation signed by its current key."
            ),
            code="key_already_registered",
        )
    authority.name = name
    authority.expected_fingerprint = normalised
    authority.designation = designation
    authority.expected_recorded_by = (
        actor if isinstance(actor, User) and actor.is_authenticated else None
    )
    authority.expected_recorded_label = actor_label
    authority.save()
    audit_log(
        action="quorum.authority.fingerprint_recorded",
        subject=authority,
        actor=actor,
        actor_label=actor_label,
        data={
            "member_state": member_state,
            "fingerprint": normalised,
            "designation": designation,
            "created": created,
        },
    )
    return authority


def _parse(document: object) -> kc.KeyCertificate:
    try:
        return kc.parse_key_certificate(document)
    except kc.KeyCertificateError as exc:
        raise DomainError(
            _("This is not a valid key certificate: %(reason)s") % {"reason": str(exc)},
            code="bad_key_certificate",
        ) from exc


def _check_first_key(authority: Authority, cert: kc.KeyCertificate, who: str) -> None:
    if cert.is_rotation:
        raise DomainError(
            _("This certificate rotates a key, but the authority has no key yet."),
            code="no_current_key",
        )
    if not authority.expected_fingerprint:
        raise DomainError(
            _(
                "The registrar has not recorded the fingerprint from this authority's "
                "designation: a first key cannot be accepted before that."
            ),
            code="no_expected_fingerprint",
        )
    if cert.fingerprint != authority.expected_fingerprint:
        raise DomainError(
            _(
                "The certificate's fingerprint is not the one the registrar recorded from the "
                "designation. Nothing was changed."
            ),
            code="fingerprint_mismatch",
        )
    recorder = _who(authority.expected_recorded_by_id, authority.expected_recorded_label)
    if who and who == recorder:
        raise DomainError(
            _("The person who recorded the fingerprint cannot also register the key."),
            code="same_person",
        )


def _check_rotation(authority: Authority, cert: kc.KeyCertificate) -> None:
    current = authority.current_key
    assert current is not None
    if not cert.is_rotation or cert.previous_signing_key != current.signing_public_key:
        raise DomainError(
            _(
                "This authority already has a key: a new one is accepted only as a rotation "
                "signed with its current key. Nothing was changed."
            ),
            code="not_signed_by_current_key",
        )


@transaction.atomic
def authority_key_register(
    *, certificate: object, actor: Actor = None, actor_label: str = ""
) -> AuthorityKey:
    """Accept an authority's key certificate: its first key, or a rotation. The one door.

    Refused unless the certificate's signatures hold and either (first key) its fingerprint
    is the one the registrar recorded, by someone else than the registrar, or (rotation) it
    is signed with the authority's current signing key. A registrar never registers keys.
    """
    cert = _parse(certificate)
    _check_authority(cert.scheme, cert.member_state)
    if has_control_characters(cert.authority):
        # The name is shown on one line in the back office, batches and command output.
        raise DomainError(
            _("The authority's name in the certificate holds characters that are not allowed."),
            code="bad_key_certificate",
        )
    if getattr(actor, "is_authenticated", False) and is_registrar(actor):
        raise DomainError(
            _("A registrar records fingerprints; the key itself comes from someone else."),
            code="registrar_cannot_register_keys",
        )
    authority = (
        # Lock only the authority's row: PostgreSQL refuses FOR UPDATE on the nullable side of
        # the outer join that select_related makes for a current key that may be missing.
        Authority.objects.select_for_update(of=("self",))
        .select_related("current_key")
        .filter(scheme=cert.scheme, member_state=cert.member_state)
        .first()
    )
    if authority is None:
        raise NotFound(
            _(
                "No authority is designated for this Member State: the registrar records its "
                "designation first."
            ),
            code="unknown_authority",
        )
    if authority.current_key is None:
        _check_first_key(authority, cert, _actor_key(actor, actor_label))
    else:
        _check_rotation(authority, cert)
    if AuthorityKey.objects.filter(
        Q(sealing_public_key=cert.sealing_public_key)
        | Q(signing_public_key=cert.signing_public_key)
    ).exists():
        raise Conflict(
            _("These keys were registered before: a key never comes back."), code="key_reused"
        )
    now = timezone.now().replace(microsecond=0)
    sequence = (authority.current_key.sequence + 1) if authority.current_key else 1
    try:
        key = AuthorityKey.objects.create(
            authority=authority,
            sequence=sequence,
            sealing_public_key=cert.sealing_public_key,
            signing_public_key=cert.signing_public_key,
            previous_signing_key=cert.previous_signing_key or "",
            fingerprint=cert.fingerprint,
            certificate=cert.to_json(),
            registered_at=now,
        )
    except IntegrityError as exc:
        raise Conflict(
            _("These keys were registered before: a key never comes back."), code="key_reused"
        ) from exc
    previous = authority.current_key
    authority.current_key = key
    authority.name = cert.authority
    authority.expected_fingerprint = ""
    authority.save()
    leaf = _key_log_append(key, kc.key_log_entry_bytes(cert, registered_at=_moment(now)))
    audit_log(
        action="quorum.authority.key_rotated" if previous else "quorum.authority.key_registered",
        subject=authority,
        actor=actor,
        actor_label=actor_label,
        data={
            "member_state": cert.member_state,
            "sequence": sequence,
            "fingerprint": cert.fingerprint,
            "previous_fingerprint": previous.fingerprint if previous else None,
            "key_log_index": leaf.index,
        },
    )
    return key


def _moment(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _key_log_append(key: AuthorityKey, data: bytes) -> KeyLogLeaf:
    """Append one leaf and sign the new checkpoint; the caller's transaction holds both."""
    last = KeyLogLeaf.objects.select_for_update().order_by("-index").first()
    index = last.index + 1 if last is not None else 0
    leaf = KeyLogLeaf.objects.create(
        index=index, key=key, data=data.decode("utf-8"), leaf_hash=merkle.leaf_hash(data)
    )
    key_log_ensure_checkpoint()
    return leaf


def key_log_ensure_checkpoint() -> KeyLogCheckpoint:
    """Sign a checkpoint of the whole key log unless the latest one already covers it.

    The key log holds a few entries per authority: its tree is rebuilt from the leaf hashes.
    """
    with transaction.atomic():
        hashes = [
            bytes(h)
            for h in KeyLogLeaf.objects.order_by("index").values_list("leaf_hash", flat=True)
        ]
        latest = KeyLogCheckpoint.objects.order_by("-size").first()
        if latest is not None and latest.size == len(hashes):
            return latest
        root = merkle.root_from_leaves(hashes)
        key = log_key()
        note = sign_note(
            format_checkpoint(log_origin(kc.KEY_LOG_PATH), len(hashes), root), key.name, key.seed
        )
        checkpoint, _created = KeyLogCheckpoint.objects.get_or_create(
            size=len(hashes), defaults={"root": root, "note": note}
        )
        return checkpoint


@transaction.atomic
def authority_staff_add(
    *, scheme_code: str, member_state: str, user: Any, actor: Actor = None, actor_label: str = ""
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
