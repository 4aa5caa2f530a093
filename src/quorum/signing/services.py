"""Taking in a statement of support: validate → proof of work → seal → durable ledger row.

The same service serves the web form and the JSON API; both call `statement_submit`.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from quorum.core.errors import Conflict, Invalid, Message, TooManyRequests, Unavailable
from quorum.core.metrics import counted_intake
from quorum.core.volatile import run_in_worker
from quorum.initiatives.errors import InitiativeNotFound
from quorum.ledger.intake import Admission, IntakeRow, IntakeUnavailable, get_intake_writer
from quorum.proofs.crypto import seal
from quorum.proofs.leaves import format_received_at, statement_leaf_hash
from quorum.rules import scheme
from quorum.signing import pow as proof_of_work
from quorum.signing import ratelimit, replay
from quorum.signing.content import StatementContent, canonical_json, statement_plaintext
from quorum.signing.selectors import (
    IntakeTarget,
    intake_target,
    intake_target_async,
    partner_of,
)
from quorum.signing.validation import validate_fields

STORE_ERRORS = (replay.ReplayStoreUnavailableError, ratelimit.RateStoreUnavailableError)

logger = logging.getLogger(__name__)

POW_FIELD = "altcha"
NATIONALITY_FIELD = "nationality"
#: The coalition partner's code the statement came through: not a field of the statement.
VIA_FIELD = "via"


class NotCollecting(Conflict):
    code = "not_collecting"

    def __init__(self) -> None:
        super().__init__(_("This initiative is not collecting statements of support."))


class StatementInvalid(Invalid):
    """The statement cannot be accepted as given. `errors`: field → untranslated reasons."""

    def __init__(self, errors: Mapping[str, Sequence[Message]]) -> None:
        super().__init__(
            _("The statement could not be accepted. Please correct the fields marked."), errors
        )


class RateLimited(TooManyRequests):
    def __init__(self, retry_after: int) -> None:
        # Formatted now, in the language of the request that is refused.
        message = ngettext(
            "Too many statements were sent from your connection. Please try again in "
            "%(seconds)s second.",
            "Too many statements were sent from your connection. Please try again in "
            "%(seconds)s seconds.",
            retry_after,
        ) % {"seconds": retry_after}
        super().__init__(message, retry_after=retry_after)


class IntakeBusy(Unavailable):
    def __init__(self) -> None:
        super().__init__(_("Your statement could not be stored just now. Please try again."))


NATIONALITY_UNKNOWN = _("Choose the Member State of your nationality.")
NATIONALITY_NOT_READY = _(
    "Statements from citizens of this Member State cannot be accepted yet: its authority has not "
    "registered a key."
)


@dataclass(frozen=True)
class Receipt:
    value: str


def _content_digest(target: IntakeTarget, nationality: str, values: dict[str, str]) -> bytes:
    body = canonical_json({"i": target.slug, "n": nationality, "f": values})
    return hmac.new(_content_key(settings.SECRET_KEY), body, hashlib.sha256).digest()


@functools.lru_cache(maxsize=4)
def _content_key(secret_key: str) -> bytes:
    return hashlib.sha256(b"quorum-replay-content-v1" + secret_key.encode()).digest()


def _validate(
    target: IntakeTarget, data: dict[str, object], *, today: date
) -> tuple[str, dict[str, str]]:
    rules = scheme(target.scheme)
    nationality = data.get(NATIONALITY_FIELD)
    if not isinstance(nationality, str) or nationality not in rules.member_state_codes():
        raise StatementInvalid({NATIONALITY_FIELD: [str(NATIONALITY_UNKNOWN)]})
    if nationality not in target.sealing_keys:
        raise StatementInvalid({NATIONALITY_FIELD: [str(NATIONALITY_NOT_READY)]})
    fields = {k: v for k, v in data.items() if k not in (NATIONALITY_FIELD, POW_FIELD, VIA_FIELD)}
    checked = validate_fields(rules, nationality, fields, today=today)
    if checked.errors:
        raise StatementInvalid(checked.errors)
    return nationality, checked.values


def statement_errors(
    *, slug: str, data: dict[str, object], today: date
) -> dict[str, list[Message]]:
    """The reasons `data` would be refused, without storing anything or using a solution."""
    target = intake_target(slug=slug)
    if target is None:
        return {}
    try:
        _validate(target, data, today=today)
    except StatementInvalid as exc:
        return exc.errors
    return {}


def _check_pow(target: IntakeTarget, data: dict[str, object]) -> str | None:
    """The single-use id of a valid solution; None when proof of work is switched off."""
    if not proof_of_work.pow_enabled():
        return None
    payload = data.get(POW_FIELD)
    result = proof_of_work.check_solution(
        payload if isinstance(payload, str) else "", scope=f"statement:{target.slug}"
    )
    if result.reason_code is not None:  # set exactly when the solution is refused
        raise StatementInvalid({POW_FIELD: [str(proof_of_work.POW_MESSAGES[result.reason_code])]})
    return result.solution_id


async def _off_loop(store, function, *args, **kwargs):
    """Call a store's blocking ``function`` without blocking the event loop.

    A database store runs on a shared-state worker, which keeps its connection between calls;
    a Redis store on any worker thread.
    """
    if getattr(store, "uses_database", False):
        return await run_in_worker(functools.partial(function, *args, **kwargs))
    return await sync_to_async(function, thread_sensitive=False)(*args, **kwargs)


@counted_intake
async def statement_submit(
    *,
    slug: str,
    data: dict[str, object],
    language: str,
    client_address: str,
    now: datetime | None = None,
) -> Receipt:
    """Accept one statement and return its receipt once it is durably stored.

    Raises InitiativeNotFound, NotCollecting, RateLimited, StatementInvalid or IntakeBusy.
    A resubmission of the same form (same proof-of-work solution, same content) returns the
    first receipt and stores nothing new; the answer never depends on who signed before.
    """
    moment = (now or datetime.now(UTC)).replace(microsecond=0)
    today = moment.date()
    target = await intake_target_async(slug=slug)
    if target is None:
        raise InitiativeNotFound()
    if not target.is_collecting(today):
        raise NotCollecting()
    try:
        return await _submit(
            target, data, language=language, client_address=client_address, moment=moment
        )
    except STORE_ERRORS as exc:
        # Fail closed: without the rate limit and single-use checks, nothing is accepted.
        raise IntakeBusy() from exc


async def _submit(
    target: IntakeTarget,
    data: dict[str, object],
    *,
    language: str,
    client_address: str,
    moment: datetime,
) -> Receipt:
    today = moment.date()
    # Every attempt counts, refused or not, and an attempt over the limit is refused as such
    # before anything else is said of it. With the counts in the database, the hit is decided
    # in the transaction that stores the row (one commit for both); with Redis, first.
    scope = f"statement:{target.slug}"
    counted = ratelimit.hit_for_the_intake(client_address, scope=scope)
    if counted is None:
        decision = await ratelimit.check_rate_async(client_address, scope=scope)
        if not decision.allowed:
            raise RateLimited(decision.retry_after)

    try:
        nationality, values = _validate(target, data, today=today)
        solution_id = _check_pow(target, data)
    except StatementInvalid:
        await _store(None, counted)
        raise
    store = replay.get_replay_store()
    digest = b""  # what a double submission is recognised by: only with a solution to claim
    if solution_id is not None:
        digest = _content_digest(target, nationality, values)
        claim = await replay.claim_without_blocking(solution_id, digest, store=store)
        if claim.is_duplicate and claim.receipt is not None:  # a duplicate always has one
            await _store(None, counted)
            return Receipt(claim.receipt)
        if not claim.is_new:
            await _store(None, counted)
            raise StatementInvalid({POW_FIELD: [str(proof_of_work.POW_MESSAGES["replayed"])]})

    received_at = format_received_at(moment)
    content = StatementContent(
        scheme=target.scheme,
        initiative_slug=target.slug,
        registration_number=target.registration_number,
        nationality=nationality,
        signed_on=today.isoformat(),
        received_at=received_at,
        language=language,
        fields=values,
    )
    sealing_key = target.sealing_keys[nationality]
    ciphertext = seal(sealing_key.public_key, statement_plaintext(content))
    ciphertext_sha256 = hashlib.sha256(ciphertext).digest()
    partner = partner_of(target, data.get(VIA_FIELD))
    leaf = statement_leaf_hash(
        initiative=target.slug,
        member_state=nationality,
        received_at=received_at,
        ciphertext_sha256=ciphertext_sha256,
        partner=partner,
    )
    row = IntakeRow(
        initiative_id=target.initiative_id,
        member_state=nationality,
        ciphertext=ciphertext,
        ciphertext_sha256=ciphertext_sha256,
        leaf_hash=leaf,
        received_at=moment,
        sealing_key_id=sealing_key.key_id,
        partner=partner,
    )
    try:
        await _store(row, counted)
    except (IntakeBusy, RateLimited):
        if solution_id is not None:
            await _off_loop(store, store.abandon, solution_id)
        raise
    receipt = leaf.hex()
    if solution_id is not None:
        try:
            await replay.complete_without_blocking(solution_id, digest, receipt, store=store)
        except STORE_ERRORS:
            # The statement is durably stored: the signatory gets the receipt. Only a later
            # double submission of this very form will now be refused instead of answered.
            logger.warning("could not record a completed proof-of-work solution")
    return Receipt(receipt)


async def _store(row: IntakeRow | None, counted: tuple[Admission, ratelimit.Hit] | None) -> None:
    """Store ``row`` durably, its rate-limit hit (if ``counted``) decided in the same
    transaction; a row of None records only the hit. Raises RateLimited or IntakeBusy."""
    if row is None and counted is None:
        return
    admission, hit = counted if counted is not None else (None, None)
    try:
        await get_intake_writer().write(row, admission=admission, ticket=hit)
    except ratelimit.RateRefused as refused:
        raise RateLimited(refused.retry_after) from refused
    except IntakeUnavailable as exc:
        raise IntakeBusy() from exc
