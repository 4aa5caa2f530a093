"""Single use of a proof-of-work solution, and the same answer for a double submission.

The platform must never tell anyone "you already signed": that answer would let anyone
test whether a named person signed. What this
module tells apart is narrower: one solved challenge (one loaded form) may lead to one
statement only.

- fresh solution → :meth:`Claim.new`: the caller stores the statement, then calls
  :func:`complete` with its receipt (or :func:`abandon` if storing failed, so the same
  solution may be retried);
- same solution, same content, completed → :meth:`Claim.duplicate` with the first receipt
  (a double click, a resent request): nothing new is stored;
- same solution, other content, or same content still pending after a bounded wait →
  :meth:`Claim.replay`: refuse.

What is kept is shared by every app process (Redis with a TTL when ``REDIS_URL`` is set, else
a database table whose rows expire) and holds no identity: the key is ``HMAC(k, solution_id)``,
the value ``HMAC(k, solution_id || content_digest)`` and, once completed, the receipt (a
public leaf hash). Because every solution id is a fresh random challenge, these tags are not a
dictionary that could be tested against identities, and they vanish with the challenge.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal, Protocol, TypeVar

import redis
from django.conf import settings
from django.db import DatabaseError, connection

from quorum.core.group_call import OnDemandGroupCall
from quorum.core.volatile import ExpiringRows, StoreChoice, stop_workers, utc, volatile_atomic
from quorum.signing.models import SingleUseClaim

ClaimKind = Literal["new", "duplicate", "replay"]
T = TypeVar("T")

# How long a second request with the same solution and content waits for the first one to
# finish storing before it is refused. The intake writer commits within milliseconds.
DEFAULT_PENDING_WAIT_SECONDS: Final = 5.0
# Entries outlive the challenge by this much, so that an app server whose clock runs behind
# (up to this many seconds) cannot accept a solution whose claim has already been forgotten.
CLOCK_SKEW_MARGIN_SECONDS: Final = 600

_PENDING: Final = "P"
_DONE: Final = "R"


class ReplayStoreUnavailableError(RuntimeError):
    """The shared store cannot be reached: fail closed (answer 503), never skip the check."""


@dataclass(frozen=True, slots=True)
class Claim:
    """What to do with a submission; build with :meth:`new`, :meth:`duplicate`, :meth:`replay`."""

    kind: ClaimKind
    receipt: str | None = None

    @classmethod
    def new(cls) -> Claim:
        return cls("new")

    @classmethod
    def duplicate(cls, receipt: str) -> Claim:
        return cls("duplicate", receipt)

    @classmethod
    def replay(cls) -> Claim:
        return cls("replay")

    @property
    def is_new(self) -> bool:
        return self.kind == "new"

    @property
    def is_duplicate(self) -> bool:
        return self.kind == "duplicate"

    @property
    def is_replay(self) -> bool:
        return self.kind == "replay"


#: (solution id, content digest) of one claim attempt.
ClaimAttempt = tuple[str, bytes]
#: (solution id, content digest, receipt) of one completion.
Completion = tuple[str, bytes, str]


class ReplayStore(Protocol):
    # True: the store uses Django's database connection, so it must run on the request's
    # own thread (sync_to_async with thread_sensitive=True), where Django closes it.
    uses_database: bool
    # How long a duplicate waits for a pending first request before it is a replay.
    pending_wait: float

    def try_claim_many(
        self, attempts: Sequence[ClaimAttempt]
    ) -> list[Claim | ReplayStoreUnavailableError | None]:
        """One attempt each, in order, without waiting: None while the first request of that
        solution is still pending. One transaction, or one pipelined round trip."""
        ...

    def complete_many(
        self, completions: Sequence[Completion]
    ) -> list[ReplayStoreUnavailableError | None]: ...

    def try_claim(self, solution_id: str, content_digest: bytes) -> Claim | None: ...
    def claim(self, solution_id: str, content_digest: bytes) -> Claim: ...
    def complete(self, solution_id: str, content_digest: bytes, receipt: str) -> None: ...
    def abandon(self, solution_id: str) -> None: ...
    def purge(self, now: float) -> int: ...


def _only(answers: Sequence[T | ReplayStoreUnavailableError]) -> T:
    """The one answer of a batch of one, raised if it is the store's error."""
    (answer,) = answers
    if isinstance(answer, ReplayStoreUnavailableError):
        raise answer
    return answer


class _Tags:
    """Keyed hashes, so that neither a solution id nor a content digest is kept in clear."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"quorum-replay-v1" + secret.encode()).digest()

    def slot(self, solution_id: str) -> str:
        return self._mac(b"slot\x00" + solution_id.encode())

    def content(self, solution_id: str, content_digest: bytes) -> str:
        # Length-prefixed, so no (id, digest) pair can be re-cut into another.
        encoded = solution_id.encode()
        return self._mac(
            b"content\x00" + len(encoded).to_bytes(4, "big") + encoded + content_digest
        )

    def _mac(self, data: bytes) -> str:
        return hmac.new(self._key, data, hashlib.sha256).hexdigest()


def _decide(value: str, content_tag: str) -> Claim | None:
    """The claim for an existing value, or None while the first request is still pending."""
    state, _sep, rest = value.partition(":")
    stored_tag, _sep, receipt = rest.partition(":")
    if not hmac.compare_digest(stored_tag, content_tag):
        return Claim.replay()
    if state == _DONE:
        return Claim.duplicate(receipt)
    return None


def _default_ttl() -> int:
    return int(settings.QUORUM_POW_EXPIRES_SECONDS) + CLOCK_SKEW_MARGIN_SECONDS


def _pauses() -> Iterator[float]:
    """Polling intervals while another request (maybe in another process) holds the claim."""
    pause = 0.01
    while True:
        yield pause
        pause = min(pause * 2, 0.2)


def _claim_waiting(store: ReplayStore, solution_id: str, content_digest: bytes) -> Claim:
    """``try_claim`` until decided, sleeping between attempts, within the store's wait."""
    deadline = time.monotonic() + store.pending_wait
    for pause in _pauses():
        decided = store.try_claim(solution_id, content_digest)
        if decided is not None:
            return decided
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return Claim.replay()
        time.sleep(min(pause, remaining))
    raise AssertionError("unreachable")  # pragma: no cover


def _try_claims(items: Sequence[tuple[ReplayStore, ClaimAttempt]]) -> list[Any]:
    return _by_store(items, lambda store, batch: store.try_claim_many(batch))


def _completions_of(items: Sequence[tuple[ReplayStore, Completion]]) -> list[Any]:
    return _by_store(items, lambda store, batch: store.complete_many(batch))


def _by_store(
    items: Sequence[tuple[ReplayStore, Any]],
    handle: Callable[[ReplayStore, list[Any]], Sequence[object]],
) -> list[Any]:
    """Each store's share of a group call's batch, handled in one go (in practice one store)."""
    answers: list[Any] = [None] * len(items)
    by_store: dict[int, tuple[ReplayStore, list[int]]] = {}
    for index, (store, _args) in enumerate(items):
        by_store.setdefault(id(store), (store, []))[1].append(index)
    for store, indexes in by_store.values():
        for index, answer in zip(
            indexes, handle(store, [items[i][1] for i in indexes]), strict=True
        ):
            answers[index] = answer
    return answers


#: At most this many claims (or completions) in one transaction or pipeline.
MAX_BATCH: Final = 256
# This process's claims and completions, each gathered into batches.
_claims: OnDemandGroupCall[tuple[ReplayStore, ClaimAttempt], Claim | None] = OnDemandGroupCall(
    _try_claims, name="quorum-single-use-claims", max_batch=MAX_BATCH
)
_completions: OnDemandGroupCall[tuple[ReplayStore, Completion], None] = OnDemandGroupCall(
    _completions_of, name="quorum-single-use-completions", max_batch=MAX_BATCH
)


async def claim_without_blocking(
    solution_id: str, content_digest: bytes, *, store: ReplayStore | None = None
) -> Claim:
    """:func:`claim` for the event loop: attempts go in the next batch, waits hold no thread.

    A crowd of double submissions waiting on worker threads would starve the very thread
    that completes the first one, and every other request's store calls with it.
    """
    chosen = store if store is not None else get_replay_store()
    claims = _claims.get()
    deadline = time.monotonic() + chosen.pending_wait
    for pause in _pauses():
        decided = await claims((chosen, (solution_id, content_digest)))
        if decided is not None:
            return decided
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return Claim.replay()
        await asyncio.sleep(min(pause, remaining))
    raise AssertionError("unreachable")  # pragma: no cover


async def complete_without_blocking(
    solution_id: str, content_digest: bytes, receipt: str, *, store: ReplayStore | None = None
) -> None:
    """:func:`complete` for the event loop, in the next batch of completions."""
    chosen = store if store is not None else get_replay_store()
    await _completions.get()((chosen, (solution_id, content_digest, receipt)))


def _claims_table() -> str:
    return connection.ops.quote_name(SingleUseClaim._meta.db_table)


def _db_time(timestamp: float) -> str | datetime | None:
    """A POSIX time as this database takes a DateTimeField value in plain SQL.

    Text on SQLite, the datetime itself on PostgreSQL.
    """
    return connection.ops.adapt_datetimefield_value(utc(timestamp))


class _OneByOne:
    """A store's single calls, each a batch of one of its ``*_many`` calls."""

    def claim(self: ReplayStore, solution_id: str, content_digest: bytes) -> Claim:
        return _claim_waiting(self, solution_id, content_digest)

    def try_claim(self: ReplayStore, solution_id: str, content_digest: bytes) -> Claim | None:
        return _only(self.try_claim_many([(solution_id, content_digest)]))

    def complete(self: ReplayStore, solution_id: str, content_digest: bytes, receipt: str) -> None:
        _only(self.complete_many([(solution_id, content_digest, receipt)]))


class DatabaseReplayStore(_OneByOne):
    """Shared by every process through the database: the primary key claims the slot.

    A second request for a pending slot polls (backing off) within the bounded wait, as with
    Redis: another process holds the first one.
    """

    uses_database = True

    def __init__(
        self,
        *,
        secret: str | None = None,
        ttl_seconds: int | None = None,
        pending_wait: float = DEFAULT_PENDING_WAIT_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._tags = _Tags(secret if secret is not None else str(settings.SECRET_KEY))
        self._ttl = ttl_seconds if ttl_seconds is not None else _default_ttl()
        self.pending_wait = pending_wait
        self._clock = clock
        self._expiring = ExpiringRows(SingleUseClaim)

    def try_claim_many(
        self, attempts: Sequence[ClaimAttempt]
    ) -> list[Claim | ReplayStoreUnavailableError | None]:
        now = self._clock()
        try:
            self._expiring.now_and_then(now)
            # Plain SQL: this runs for every statement, and the ORM would triple its cost.
            with volatile_atomic(), connection.cursor() as cursor:
                return [self._try_claim(cursor, *attempt, now=now) for attempt in attempts]
        except DatabaseError:
            # On SQLite this includes "database is locked" once the busy timeout has passed.
            return [
                ReplayStoreUnavailableError("the replay store cannot be written") for _ in attempts
            ]

    def _try_claim(
        self, cursor: Any, solution_id: str, content_digest: bytes, *, now: float
    ) -> Claim | None:
        slot = self._tags.slot(solution_id)
        content_tag = self._tags.content(solution_id, content_digest)
        table = _claims_table()
        cursor.execute(
            f"DELETE FROM {table} WHERE slot = %s AND expires_at <= %s", [slot, _db_time(now)]
        )
        cursor.execute(
            f"INSERT INTO {table} (slot, content_tag, receipt, expires_at) "
            "VALUES (%s, %s, '', %s) ON CONFLICT (slot) DO NOTHING",
            [slot, content_tag, _db_time(now + self._ttl)],
        )
        if cursor.rowcount == 1:
            return Claim.new()
        cursor.execute(f"SELECT content_tag, receipt FROM {table} WHERE slot = %s", [slot])
        row = cursor.fetchone()
        if row is None:
            return None  # abandoned in between: the caller tries again after a pause
        stored_tag, receipt = row
        state = _DONE if receipt else _PENDING
        return _decide(f"{state}:{stored_tag}:{receipt}", content_tag)

    def complete_many(
        self, completions: Sequence[Completion]
    ) -> list[ReplayStoreUnavailableError | None]:
        expires_at = _db_time(self._clock() + self._ttl)
        table = _claims_table()
        try:
            with volatile_atomic(), connection.cursor() as cursor:
                for solution_id, content_digest, receipt in completions:
                    slot = self._tags.slot(solution_id)
                    content_tag = self._tags.content(solution_id, content_digest)
                    # Only over our own pending claim, or over nothing if it already expired.
                    cursor.execute(
                        f"UPDATE {table} SET receipt = %s, expires_at = %s "
                        "WHERE slot = %s AND content_tag = %s AND receipt = ''",
                        [receipt, expires_at, slot, content_tag],
                    )
                    if cursor.rowcount == 0:
                        cursor.execute(
                            f"INSERT INTO {table} (slot, content_tag, receipt, expires_at) "
                            "VALUES (%s, %s, %s, %s) ON CONFLICT (slot) DO NOTHING",
                            [slot, content_tag, receipt, expires_at],
                        )
        except DatabaseError:
            return [
                ReplayStoreUnavailableError("the replay store cannot be written")
                for _ in completions
            ]
        return [None] * len(completions)

    def abandon(self, solution_id: str) -> None:
        slot = self._tags.slot(solution_id)
        with _unavailable_on_database_error(), volatile_atomic():
            # Only a pending claim: a completed one stays, or the solution could be reused.
            SingleUseClaim.objects.filter(slot=slot, receipt="").delete()

    def purge(self, now: float) -> int:
        return self._expiring.purge(now)


# claim: the slot if it is free, else what it holds (nil if it expired in between).
_CLAIM_LUA: Final = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
  return 1
end
return redis.call('GET', KEYS[1])
"""
# complete: only over our own pending marker, or over nothing if the claim already expired.
_COMPLETE_LUA: Final = """
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0
"""
# abandon: delete only a pending marker, never a completed claim.
_ABANDON_LUA: Final = """
local current = redis.call('GET', KEYS[1])
if current and string.sub(current, 1, 2) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisReplayStore(_OneByOne):
    """Shared by every process: ``SET NX EX`` claims the slot atomically."""

    uses_database = False

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = "quorum:pow:",
        secret: str | None = None,
        ttl_seconds: int | None = None,
        pending_wait: float = DEFAULT_PENDING_WAIT_SECONDS,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._tags = _Tags(secret if secret is not None else str(settings.SECRET_KEY))
        self._ttl = ttl_seconds if ttl_seconds is not None else _default_ttl()
        self.pending_wait = pending_wait
        self._claim = client.register_script(_CLAIM_LUA)
        self._complete = client.register_script(_COMPLETE_LUA)
        self._abandon = client.register_script(_ABANDON_LUA)

    def try_claim_many(
        self, attempts: Sequence[ClaimAttempt]
    ) -> list[Claim | ReplayStoreUnavailableError | None]:
        tags = [self._tags.content(solution_id, digest) for solution_id, digest in attempts]
        pipe = self._client.pipeline(transaction=False)  # each script is atomic by itself
        for (solution_id, _digest), tag in zip(attempts, tags, strict=True):
            self._claim(
                keys=[self._prefix + self._tags.slot(solution_id)],
                args=[f"{_PENDING}:{tag}", self._ttl],
                client=pipe,
            )
        try:
            replies = pipe.execute()
        except redis.RedisError:
            return [
                ReplayStoreUnavailableError("the replay store cannot be reached") for _ in attempts
            ]
        return [_claimed(reply, tag) for reply, tag in zip(replies, tags, strict=True)]

    def complete_many(
        self, completions: Sequence[Completion]
    ) -> list[ReplayStoreUnavailableError | None]:
        pipe = self._client.pipeline(transaction=False)
        for solution_id, content_digest, receipt in completions:
            tag = self._tags.content(solution_id, content_digest)
            self._complete(
                keys=[self._prefix + self._tags.slot(solution_id)],
                args=[f"{_PENDING}:{tag}", f"{_DONE}:{tag}:{receipt}", self._ttl],
                client=pipe,
            )
        try:
            pipe.execute()
        except redis.RedisError:
            return [
                ReplayStoreUnavailableError("the replay store cannot be reached")
                for _ in completions
            ]
        return [None] * len(completions)

    def abandon(self, solution_id: str) -> None:
        key = self._prefix + self._tags.slot(solution_id)
        with _unavailable_on_redis_error():
            self._abandon(keys=[key], args=[f"{_PENDING}:"])

    def purge(self, now: float) -> int:
        return 0  # Redis expires the keys itself


def _claimed(reply: Any, content_tag: str) -> Claim | None:
    if reply == 1:
        return Claim.new()
    if reply is None:
        # Expired or abandoned in between: the caller tries again after a pause (and after
        # its deadline check, so that even a flapping key cannot keep it looping).
        return None
    return _decide(reply.decode() if isinstance(reply, bytes) else reply, content_tag)


@contextlib.contextmanager
def _unavailable_on_redis_error() -> Iterator[None]:
    try:
        yield
    except redis.RedisError as exc:
        raise ReplayStoreUnavailableError("the replay store cannot be reached") from exc


@contextlib.contextmanager
def _unavailable_on_database_error() -> Iterator[None]:
    # On SQLite this includes "database is locked" once the busy timeout has passed.
    try:
        yield
    except DatabaseError as exc:
        raise ReplayStoreUnavailableError("the replay store cannot be written") from exc


_store: StoreChoice[ReplayStore] = StoreChoice(RedisReplayStore, DatabaseReplayStore)


def get_replay_store() -> ReplayStore:
    """The store of this process, chosen once: Redis when ``REDIS_URL`` is set, else the database."""
    return _store.get()


def reset_replay_store(store: ReplayStore | None = None) -> None:
    """For tests: forget the chosen store, or put ``store`` in its place.

    Also stops the group calls and the shared-state workers, which closes their database
    connections.
    """
    _claims.stop()
    _completions.stop()
    _store.reset(store)
    stop_workers()


def claim(solution_id: str, content_digest: bytes) -> Claim:
    """Claim a solution for a content digest (HMAC-SHA256 of the canonical content).

    May block up to ~5 s while a first request with the same solution is still storing.
    Raises :class:`ReplayStoreUnavailableError` when the store cannot be reached.
    """
    return get_replay_store().claim(solution_id, content_digest)


def complete(solution_id: str, content_digest: bytes, receipt: str) -> None:
    """Record the receipt of a stored statement, for duplicates of the same submission."""
    get_replay_store().complete(solution_id, content_digest, receipt)


def abandon(solution_id: str) -> None:
    """Release a pending claim after storing failed, so the user may retry the same form."""
    get_replay_store().abandon(solution_id)


def purge_expired(now: float | None = None) -> int:
    """Forget claims whose challenge has expired (``quorum periodic``); how many were removed."""
    return get_replay_store().purge(time.time() if now is None else now)
