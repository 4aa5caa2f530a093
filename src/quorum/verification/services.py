"""Verification by the national authorities: the round at close, batches, certificates, purge."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Generator
from datetime import UTC, date, datetime
from typing import Any, TextIO, cast

from django.db import connection, transaction
from django.utils.translation import gettext_lazy as _

from quorum.authorities.models import Authority, AuthorityKey
from quorum.core.audit import Actor, audit_log
from quorum.core.errors import Conflict, DomainError
from quorum.core.log_key import log_key, log_origin
from quorum.core.text import printable_line
from quorum.initiatives.models import Initiative
from quorum.initiatives.notifications import notify_certificate_accepted
from quorum.initiatives.services import (
    initiative_conclude_verification,
    initiative_request_verification,
)
from quorum.ledger.models import Checkpoint, Statement
from quorum.ledger.sequencer import sequence_initiative
from quorum.proofs.batch import (
    BatchEntry,
    BatchFormatError,
    BatchHeader,
    BatchInitiative,
    write_batch,
)
from quorum.proofs.count_certificate import (
    CertificateFormatError,
    CountCertificate,
    parse_certificate,
    verify_certificate,
)
from quorum.proofs.crypto import CryptoError, decode_key
from quorum.proofs.leaves import format_received_at
from quorum.proofs.signed_note import NoteError, parse_checkpoint
from quorum.verification.models import Certificate, Purge, VerificationRound
from quorum.verification.notifications import notify_verification_requested
from quorum.verification.selectors import certified_counts, purges_due, verification_round

logger = logging.getLogger(__name__)

#: A statement as the batch export reads it: leaf index, Member State, partner code ("" for
#: none), time received, ciphertext digest, ciphertext (gone after retention), number of its
#: sealing key.
_ExportRow = tuple[
    int, str, str, datetime, bytes | memoryview, bytes | memoryview | None, int | None
]


class CertificateRefused(DomainError):
    code = "certificate_refused"


@transaction.atomic
def verification_request(
    *, initiative: Initiative, actor: Actor = None, actor_label: str = ""
) -> VerificationRound:
    """Close the books: sequence what is left, fix the checkpoint every batch will refer to."""
    if initiative.status != Initiative.Status.COLLECTION_CLOSED:
        raise Conflict(_("Verification can be requested once collection has closed."))
    while sequence_initiative(initiative.pk, initiative.slug) is not None:
        pass
    checkpoint = Checkpoint.objects.filter(initiative=initiative).order_by("-size").first()
    if checkpoint is None:
        raise Conflict(_("The log of this initiative has no checkpoint."))
    statements = dict(
        Counter(
            Statement.objects.filter(
                initiative=initiative, leaf_index__lt=checkpoint.size
            ).values_list("member_state", flat=True)
        )
    )
    round_ = VerificationRound.objects.create(
        initiative=initiative,
        checkpoint_size=checkpoint.size,
        checkpoint_root=checkpoint.root,
        checkpoint_note=checkpoint.note,
        statements=statements,
    )
    initiative_request_verification(initiative=initiative, actor=actor, actor_label=actor_label)
    notify_verification_requested(initiative, statements)
    return round_


def batch_export(
    *,
    initiative: Initiative,
    member_state: str,
    out: TextIO,
    actor: Actor = None,
    actor_label: str = "",
) -> int:
    """Write the batch of one Member State: every leaf's public data, its own ciphertexts."""
    round_ = verification_round(initiative)
    if round_ is None or initiative.registration_date is None:
        raise Conflict(_("Verification has not been requested for this initiative."))
    # The batch refuses control characters in its header (the toolkit prints it on the
    # authority's terminal): a title stored before the input rule is written printable.
    title = printable_line(initiative.text("title", initiative.language)) or initiative.slug
    header = BatchHeader(
        scheme=initiative.scheme,
        initiative=BatchInitiative(
            slug=initiative.slug,
            registration_number=printable_line(initiative.registration_number),
            registration_date=initiative.registration_date.isoformat(),
            title=title,
        ),
        member_state=member_state,
        log_key=log_key().verifier,
        checkpoint=round_.checkpoint_note,
        tree_size=round_.checkpoint_size,
        created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        # The keys its statements are sealed to, by their number in the authority's history.
        sealing_keys=dict(
            AuthorityKey.objects.filter(
                pk__in=Statement.objects.filter(
                    initiative=initiative,
                    member_state=member_state,
                    leaf_index__lt=round_.checkpoint_size,
                ).values("sealing_key_id")
            ).values_list("sequence", "sealing_public_key")
        ),
    )
    # A cast, as django-stubs type the rows too widely: QuerySet.iterator() returns a generator
    # (whose close() releases the cursor), and leaf_index__lt leaves out a NULL leaf index.
    rows = cast(
        Generator[_ExportRow, None, None],
        Statement.objects.filter(initiative=initiative, leaf_index__lt=round_.checkpoint_size)
        .order_by("leaf_index")
        .values_list(
            "leaf_index",
            "member_state",
            "partner",
            "received_at",
            "ciphertext_sha256",
            "ciphertext",
            "sealing_key__sequence",
        )
        .iterator(chunk_size=2000),
    )
    entries = (
        BatchEntry(
            index=index,
            member_state=code,
            received_at=format_received_at(received),
            ciphertext_sha256=bytes(digest),
            ciphertext=bytes(ciphertext)
            if code == member_state and ciphertext is not None
            else None,
            key=key if code == member_state and ciphertext is not None else None,
            partner=partner,
        )
        for index, code, partner, received, digest, ciphertext, key in rows
    )
    try:
        written = write_batch(out, header, entries)
    except BatchFormatError as exc:
        # The platform's own data breaks the format: say so instead of failing with a 500.
        logger.error("batch of %s for %s not written: %s", member_state, initiative.slug, exc)
        raise Conflict(_("The batch could not be written; the operator has been told.")) from exc
    finally:
        rows.close()  # release the database cursor now, not whenever the generator is collected
    audit_log(
        action="quorum.verification.batch_exported",
        subject=initiative,
        actor=actor,
        actor_label=actor_label,
        data={"member_state": member_state, "entries": written},
    )
    return written


def _refuse(message: Any) -> CertificateRefused:
    return CertificateRefused(message)


_NOT_SIGNED = _(
    "The certificate is not signed by the registered key of this Member State's authority."
)
_NO_INITIATIVE = _("The certificate names no known initiative.")
_NO_KEY = _("No signing key is registered for the authority of this Member State.")
_OTHER_CHECKPOINT = _("The certificate is for another checkpoint than the one at close.")
_COUNT = _("The certified count is larger than the batch, or the batch size does not match.")
#: A malformed field is refused as a wrong one would be, where the platform has a reason for
#: that field; any other malformed certificate is simply not a Quorum certificate.
_FORMAT_REFUSALS = {
    "signature": _NOT_SIGNED,
    "initiative": _NO_INITIATIVE,
    "checkpoint": _OTHER_CHECKPOINT,
    "statements_in_batch": _COUNT,
    "valid_statements": _COUNT,
    "date": _("The certificate has no valid date."),
}


@transaction.atomic
def certificate_import(
    *, document: object, actor: Actor = None, actor_label: str = ""
) -> Certificate:
    """Accept a certificate only if the registered key of its Member State signed it, for this
    initiative and the checkpoint at close, with a count no larger than the batch."""
    try:
        certificate = parse_certificate(document)
    except CertificateFormatError as exc:
        refusal = _FORMAT_REFUSALS.get(exc.field, _("This is not a Quorum certificate."))
        raise _refuse(refusal) from exc
    initiative = _initiative_of(certificate)
    _check_signature(certificate, initiative)
    round_ = verification_round(initiative)
    if round_ is None or initiative.status != Initiative.Status.VERIFICATION:
        raise _refuse(_("This initiative is not under verification."))
    _check_against_round(certificate, initiative, round_)
    member_state = certificate.member_state
    if Certificate.objects.filter(initiative=initiative, member_state=member_state).exists():
        raise _refuse(_("A certificate for this Member State was already accepted."))
    stored = Certificate.objects.create(
        initiative=initiative,
        member_state=member_state,
        valid_statements=certificate.valid_statements,
        statements_in_batch=certificate.statements_in_batch,
        method=certificate.method,
        certified_on=certificate.date,
        document=certificate.document,
    )
    audit_log(
        action="quorum.verification.certificate_accepted",
        subject=initiative,
        actor=actor,
        actor_label=actor_label,
        data={"member_state": member_state, "valid_statements": certificate.valid_statements},
    )
    _conclude_when_decided(initiative, actor=actor, actor_label=actor_label)
    notify_certificate_accepted(
        initiative, member_state=member_state, valid_statements=certificate.valid_statements
    )
    return stored


def _initiative_of(certificate: CountCertificate) -> Initiative:
    initiative = Initiative.objects.filter(slug=certificate.initiative_slug).first()
    if initiative is None:
        raise _refuse(_NO_INITIATIVE)
    if certificate.scheme != initiative.scheme:
        raise _refuse(_("The certificate is for another scheme."))
    return initiative


def _check_signature(certificate: CountCertificate, initiative: Initiative) -> None:
    """Signed by the current key of the authority of the Member State it names."""
    authority = (
        Authority.objects.filter(scheme=initiative.scheme, member_state=certificate.member_state)
        .select_related("current_key")
        .first()
    )
    if authority is None or authority.current_key is None:
        raise _refuse(_NO_KEY)
    try:
        # The current key only: a key the authority has rotated away from may be compromised.
        key = decode_key(authority.current_key.signing_public_key)
    except CryptoError as exc:
        raise _refuse(_NO_KEY) from exc
    if not verify_certificate(certificate, key):
        raise _refuse(_NOT_SIGNED)


def _check_against_round(
    certificate: CountCertificate, initiative: Initiative, round_: VerificationRound
) -> None:
    """For the checkpoint at close, and for as many statements as the batch held."""
    try:
        expected = parse_checkpoint(round_.checkpoint_note.split("\n\n", 1)[0] + "\n")
    except (NoteError, ValueError) as exc:
        raise _refuse(_OTHER_CHECKPOINT) from exc
    root = certificate.checkpoint_root
    if (
        certificate.checkpoint_origin != log_origin(initiative.slug)
        or certificate.checkpoint_size != round_.checkpoint_size
        or root != bytes(round_.checkpoint_root)
        or root != expected.root
    ):
        raise _refuse(_OTHER_CHECKPOINT)
    # parse_certificate holds the valid count within statements_in_batch: this bounds it.
    if certificate.statements_in_batch != round_.statements.get(certificate.member_state, 0):
        raise _refuse(_COUNT)


def _conclude_when_decided(initiative: Initiative, *, actor: Actor, actor_label: str) -> None:
    """Verification ends once the certified counts succeed, or every state with statements
    in the batch has certified."""
    counts = certified_counts(initiative)
    if counts.successful or counts.complete:
        initiative_conclude_verification(
            initiative=initiative,
            successful=counts.successful,
            actor=actor,
            actor_label=actor_label,
        )


def purge_expired(
    *, today: date | None = None, dry_run: bool = False
) -> list[tuple[str, date, int]]:
    """Destroy the ciphertexts whose retention has ended, also from the database file itself.

    Leaves (digests, times, Member States) and checkpoints stay: they hold no personal data,
    and the log stays verifiable.
    """
    done: list[tuple[str, date, int]] = []
    for initiative, end in purges_due(today=today):
        statements = Statement.objects.filter(initiative=initiative, ciphertext__isnull=False)
        count = statements.count()
        if not dry_run:
            with transaction.atomic():
                statements.update(ciphertext=None)
                Purge.objects.create(initiative=initiative, retention_end=end, statements=count)
                audit_log(
                    action="quorum.verification.statements_purged",
                    subject=initiative,
                    actor_label="system",
                    data={"retention_end": end.isoformat(), "statements": count},
                )
        done.append((initiative.slug, end, count))
    if done and not dry_run:
        compact_database()
    return done


def compact_database() -> None:
    """Rewrite the database so freed pages hold no old ciphertext.

    SQLite runs with secure_delete (freed pages are zeroed); VACUUM then rebuilds the file and
    a WAL checkpoint truncates the log. PostgreSQL's VACUUM marks the dead rows' space free
    (VACUUM FULL, which rewrites the table, is the operator's choice for a locked window).
    """
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cursor.execute("VACUUM")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        elif connection.vendor == "postgresql":
            cursor.execute("VACUUM ledger_statement")
    logger.info("database compacted after a purge")
