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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, Protocol

import redis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, connection

from quorum.core.volatile import (
    ExpiringRows,
    StoreChoice,
    run_in_worker,
    stop_workers,
    utc,
    volatile_atomic,
)
from quorum.signing.models import SingleUseClaim

ClaimKind = Literal["new", "duplicate", "replay"]

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


class ReplayStore(Protocol):
    # True: the store uses Django's database connection, so it must run on the request's
    # own thread (sync_to_async with thread_sensitive=True), where Django closes it.
    uses_database: bool
    # How long a duplicate waits for a pending first request before it is a replay.
    pending_wait: float

    def try_claim(self, solution_id: str, content_digest: bytes) -> Claim | None:
        """One attempt, without waiting: None while the first request is still pending."""
        ...

    def claim(self, solution_id: str, content_digest: bytes) -> Claim: ...
    def complete(self, solution_id: str, content_digest: bytes, receipt: str) -> None: ...
    def abandon(self, solution_id: str) -> None: ...
    def purge(self, now: float) -> int: ...


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


async def claim_without_blocking(
    solution_id: str, content_digest: bytes, *, store: ReplayStore | None = None
) -> Claim:
    """:func:`claim` for the event loop: attempts run on a thread, waits hold none.

    A crowd of double submissions waiting on worker threads would starve the very thread
    that completes the first one, and every other request's store calls with it.
    """
    chosen = store if store is not None else get_replay_store()
    if chosen.uses_database:

        async def attempt(solution_id: str, content_digest: bytes) -> Claim | None:
            return await run_in_worker(chosen.try_claim, solution_id, content_digest)

    else:
        attempt = sync_to_async(chosen.try_claim, thread_sensitive=False)
    deadline = time.monotonic() + chosen.pending_wait
    for pause in _pauses():
        decided = await attempt(solution_id, content_digest)
        if decided is not None:
            return decided
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return Claim.replay()
        await asyncio.sleep(min(pause, remaining))
    raise AssertionError("unreachable")  # pragma: no cover


def _claims_table() -> str:
    return connection.ops.quote_name(SingleUseClaim._meta.db_table)


def _db_time(timestamp: float) -> str | datetime | None:
    """A POSIX time as this database takes a DateTimeField value in plain SQL.

    Text on SQLite, the datetime itself on PostgreSQL.
    """
    return connection.ops.adapt_datetimefield_value(utc(timestamp))


class DatabaseReplayStore:
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

    def claim(self, solution_id: str, content_digest: bytes) -> Claim:
        return _claim_waiting(self, solution_id, content_digest)

    def try_claim(self, solution_id: str, content_digest: bytes) -> Claim | None:
        slot = self._tags.slot(solution_id)
        content_tag = self._tags.content(solution_id, content_digest)
        now = self._clock()
        with _unavailable_on_database_error():
            self._expiring.now_and_then(now)
            # Plain SQL: this runs for every statement, and the ORM would triple its cost.
            with volatile_atomic(), connection.cursor() as cursor:
                table = _claims_table()
                cursor.execute(
                    f"DELETE FROM {table} WHERE slot = %s AND expires_at <= %s",
                    [slot, _db_time(now)],
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

    def complete(self, solution_id: str, content_digest: bytes, receipt: str) -> None:
        slot = self._tags.slot(solution_id)
        content_tag = self._tags.content(solution_id, content_digest)
        expires_at = _db_time(self._clock() + self._ttl)
        with (
            _unavailable_on_database_error(),
            volatile_atomic(),
            connection.cursor() as cursor,
        ):
            table = _claims_table()
            # Only over our own pending claim, or over nothing if the claim already expired.
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

    def abandon(self, solution_id: str) -> None:
        slot = self._tags.slot(solution_id)
        with _unavailable_on_database_error(), volatile_atomic():
            # Only a pending claim: a completed one stays, or the solution could be reused.
            SingleUseClaim.objects.filter(slot=slot, receipt="").delete()

    def purge(self, now: float) -> int:
        return self._expiring.purge(now)


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


class RedisReplayStore:
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
        self._complete = client.register_script(_COMPLETE_LUA)
        self._abandon = client.register_script(_ABANDON_LUA)

    def claim(self, solution_id: str, content_digest: bytes) -> Claim:
        return _claim_waiting(self, solution_id, content_digest)

    def try_claim(self, solution_id: str, content_digest: bytes) -> Claim | None:
        key = self._prefix + self._tags.slot(solution_id)
        content_tag = self._tags.content(solution_id, content_digest)
        with _unavailable_on_redis_error():
            if self._client.set(key, f"{_PENDING}:{content_tag}", nx=True, ex=self._ttl):
                return Claim.new()
            value = self._client.get(key)
        if value is None:
            # Expired or abandoned in between: the caller tries again after a pause (and
            # after its deadline check, so that even a flapping key cannot keep it looping).
            return None
        return _decide(_text(value), content_tag)

    def complete(self, solution_id: str, content_digest: bytes, receipt: str) -> None:
        key = self._prefix + self._tags.slot(solution_id)
        content_tag = self._tags.content(solution_id, content_digest)
        with _unavailable_on_redis_error():
            self._complete(
                keys=[key],
                args=[f"{_PENDING}:{content_tag}", f"{_DONE}:{content_tag}:{receipt}", self._ttl],
            )

    def abandon(self, solution_id: str) -> None:
        key = self._prefix + self._tags.slot(solution_id)
        with _unavailable_on_redis_error():
            self._abandon(keys=[key], args=[f"{_PENDING}:"])

    def purge(self, now: float) -> int:
        return 0  # Redis expires the keys itself


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


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

    Also stops the shared-state workers, which closes their database connections.
    """
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
