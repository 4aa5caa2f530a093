"""Per-client rate limits: a burst window and a sustained window, both sliding logs.

Proof of work makes each submission cost something; these limits cap how many one network
can send. The client address is never stored as such: entries are keyed by
``HMAC(daily key, scope || address group)`` where the daily key is derived from SECRET_KEY
and the UTC date, so yesterday's keys cannot be linked to today's, and every entry expires
with its window. IPv4 addresses count one by one; IPv6 addresses by /64, the block one
subscriber usually holds. (Counters restart at UTC midnight, when the key turns: at most one
extra window of allowance per day, the price of unlinkable keys.)

Behind a reverse proxy, the connection's address is the proxy's, and every client would
share one bucket: the client is then taken from the proxy's forwarding header, but only when
the connection comes from a proxy named in ``QUORUM_TRUSTED_PROXIES`` (``quorum.core.proxies``);
what any other client writes in such a header is ignored.

The logs are shared by every app process: in Redis (sorted sets, one Lua script per hit) when
``REDIS_URL`` is set, else in the database (one row per client and scope, updated under a row
lock). The hits of many requests at once go to the store together (a ``GroupCall``): one
short transaction, or one pipelined round trip to Redis, decides a whole batch, each hit in
turn, exactly as one by one. Made one by one, under a crowd, every statement queued for
SQLite's one write lock. A statement's own hit, when the logs are in the database, is decided
by the intake writer in the transaction that stores the statement (``hit_for_the_intake``).
"""

from __future__ import annotations

import bisect
import json
import math
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import redis
from django.conf import settings
from django.db import DatabaseError, connection

from quorum.core.clients import address_group, daily_keyed_hash
from quorum.core.group_call import OnDemandGroupCall
from quorum.core.volatile import ExpiringRows, StoreChoice, stop_workers, utc, volatile_atomic
from quorum.signing.models import RateLog


class RateStoreUnavailableError(RuntimeError):
    """The shared store cannot be reached: fail closed (answer 503)."""


class RateRefused(Exception):
    """A hit decided with the statement it counts (``admit_many``) was over the limit."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class RateDecision:
    """``retry_after`` is 0 when allowed, else whole seconds (≥ 1) for a Retry-After header."""

    allowed: bool
    retry_after: int = 0


@dataclass(frozen=True, slots=True)
class Window:
    name: str
    limit: int
    seconds: int


@dataclass(frozen=True, slots=True)
class Hit:
    """One attempt of the client counted under ``key``, at ``now``."""

    key: str
    windows: tuple[Window, ...]
    now: float


#: What a store answers for each hit of a batch (the error when it cannot be reached).
Answer = RateDecision | RateStoreUnavailableError


class RateStore(Protocol):
    def hit_many(self, hits: Sequence[Hit]) -> list[Answer]:
        """Decide ``hits`` in their order, as if one by one; record each allowed one."""
        ...

    def purge(self, now: float) -> int: ...


def store_hit(store: RateStore, key: str, windows: Sequence[Window], now: float) -> RateDecision:
    """One hit decided by ``store`` alone (as one app process would)."""
    (answer,) = store.hit_many([Hit(key, tuple(windows), now)])
    if isinstance(answer, RateStoreUnavailableError):
        raise answer
    return answer


def _hit(client_address: str, scope: str, now: float | None) -> Hit:
    when = time.time() if now is None else now
    windows = (
        Window("b", int(settings.QUORUM_RATE_BURST), int(settings.QUORUM_RATE_BURST_SECONDS)),
        Window(
            "s", int(settings.QUORUM_RATE_SUSTAINED), int(settings.QUORUM_RATE_SUSTAINED_SECONDS)
        ),
    )
    return Hit(rate_key(client_address, scope=scope, now=when), windows, when)


def check_rate(client_address: str, *, scope: str, now: float | None = None) -> RateDecision:
    """Count one attempt by ``client_address`` at ``scope`` (e.g. ``statement:<slug>``).

    An allowed attempt is recorded; a refused one is not, so ``retry_after`` is exact.
    Raises :class:`RateStoreUnavailableError` when the store cannot be reached. Blocking; an
    event loop awaits :func:`check_rate_async` instead.
    """
    return _hits.get().call(_hit(client_address, scope, now))


async def check_rate_async(
    client_address: str, *, scope: str, now: float | None = None
) -> RateDecision:
    """:func:`check_rate` for an event loop: awaited in the next batch, never blocking it."""
    return await _hits.get()(_hit(client_address, scope, now))


def hit_for_the_intake(
    client_address: str, *, scope: str, now: float | None = None
) -> tuple[DatabaseRateStore, Hit] | None:
    """When the counts are in the database: the store and the hit for the intake writer to
    decide in the statement's own transaction (``admit_many``); else None, and the caller asks
    :func:`check_rate_async` first."""
    store = get_rate_store()
    if type(store) is not DatabaseRateStore:  # Redis, or a test's own store
        return None
    return store, _hit(client_address, scope, now)


def rate_key(client_address: str, *, scope: str, now: float) -> str:
    """The keyed hash a client is counted under on the UTC day of ``now``."""
    message = scope.encode() + b"\x00" + address_group(client_address).encode()
    return daily_keyed_hash(b"quorum-ratelimit-v1", message, now=now)


def _retry_after(seconds: float) -> int:
    return max(1, math.ceil(seconds))


# A window's log in the database: [time, hits] pairs, oldest first. With a limit above this
# many, pairs are merged into buckets of 1/64 of the window so that a row stays small.
_MAX_PAIRS: Final = 128
_BUCKETS_PER_WINDOW: Final = 64


@dataclass(slots=True)
class _Log:
    """One window's allowed hits for one key, oldest first, as two parallel lists (read from
    the row once per batch, however many of the batch's hits are this key's)."""

    times: list[float]
    counts: list[int]

    @classmethod
    def parse(cls, pairs: Any) -> _Log:
        ordered = sorted((float(t), int(n)) for t, n in pairs) if isinstance(pairs, list) else []
        return cls([t for t, _n in ordered], [n for _t, n in ordered])

    def stored(self) -> list[list[float]]:
        return [[t, n] for t, n in zip(self.times, self.counts, strict=True)]

    def edge(self, start: int, position: int) -> float:
        """The time of the hit at ``position`` (0 = the oldest) from index ``start`` on."""
        seen = 0
        for index in range(start, len(self.times)):
            seen += self.counts[index]
            if seen > position:
                return self.times[index]
        raise IndexError(position)

    def record(self, start: int, now: float, window: Window) -> None:
        """Keep only the hits from ``start`` on, and one more at ``now``, within _MAX_PAIRS."""
        del self.times[:start], self.counts[:start]
        at = bisect.bisect_right(self.times, now)
        self.times.insert(at, now)
        self.counts.insert(at, 1)
        if len(self.times) <= _MAX_PAIRS:
            return
        # Only when the limit is above _MAX_PAIRS. Rounded up: a merged hit leaves its window a
        # little late, never early, so the limit still holds.
        step = window.seconds / _BUCKETS_PER_WINDOW
        buckets: dict[float, int] = {}
        for t, n in zip(self.times, self.counts, strict=True):
            edge = math.ceil(t / step) * step
            buckets[edge] = buckets.get(edge, 0) + n
        self.times = sorted(buckets)
        self.counts = [buckets[t] for t in self.times]


def _json(raw: Any) -> dict[str, Any]:
    value = json.loads(raw) if isinstance(raw, str | bytes) else raw
    return value if isinstance(value, dict) else {}


def _decide_and_record(
    logs: dict[str, _Log], windows: Sequence[Window], now: float
) -> RateDecision:
    """The decision for one more hit on a key's ``logs`` (window name → log), recorded in them
    when allowed; a refused hit leaves them as they were."""
    starts: list[int] = []
    wait = 0.0
    refused = False
    for window in windows:
        log = logs.setdefault(window.name, _Log([], []))
        # Hits at or before the window's start have left it.
        start = bisect.bisect_right(log.times, now - window.seconds)
        count = sum(log.counts[start:])
        if count >= window.limit:
            refused = True
            # Free again when the oldest hit that keeps the count at the limit leaves.
            wait = max(wait, log.edge(start, count - window.limit) + window.seconds - now)
        starts.append(start)
    if refused:
        return RateDecision(allowed=False, retry_after=_retry_after(wait))
    for window, start in zip(windows, starts, strict=True):
        logs[window.name].record(start, now, window)
    return RateDecision(allowed=True)


class DatabaseRateStore:
    """Shared by every process through the database: one row per key, locked while it is read.

    Each window keeps the times of its allowed hits: a refused hit is never recorded, so the
    log never holds more than the window's limit. Up to 128 hits per window the times are
    exact, as in Redis; above that (a limit set very high) they are kept to 1/64 of the window.
    A batch is three statements in one transaction (two on SQLite), however many hits and
    keys it holds.
    """

    def __init__(self) -> None:
        self._expiring = ExpiringRows(RateLog)

    def hit_many(self, hits: Sequence[Hit]) -> list[Answer]:
        if not hits:
            return []
        try:
            self._expiring.now_and_then(max(hit.now for hit in hits))
            with volatile_atomic(), connection.cursor() as cursor:
                decisions = self._decide(cursor, hits)
        except DatabaseError:
            # On SQLite this includes "database is locked" once the busy timeout has passed.
            return [
                RateStoreUnavailableError("the rate-limit store cannot be written") for _ in hits
            ]
        return list(decisions)

    def admit_many(self, hits: Sequence[Hit]) -> list[RateRefused | None]:
        """``hit_many`` inside the caller's transaction, on its connection (the intake writer's,
        so that a statement's hit and its row are one commit); a refusal as RateRefused."""
        if not hits:
            return []
        self._expiring.now_and_then(max(hit.now for hit in hits))
        with connection.cursor() as cursor:
            decisions = self._decide(cursor, hits)
        return [None if d.allowed else RateRefused(d.retry_after) for d in decisions]

    @staticmethod
    def _decide(cursor: Any, hits: Sequence[Hit]) -> list[RateDecision]:
        # Plain SQL: this runs for every statement, and the ORM would triple its cost.
        table = connection.ops.quote_name(RateLog._meta.db_table)
        expiry: dict[str, Any] = {}
        for hit in hits:
            longest = max(w.seconds for w in hit.windows)
            expiry[hit.key] = connection.ops.adapt_datetimefield_value(utc(hit.now + longest))
        keys = sorted(expiry)  # one lock order for every process: no deadlock between batches
        row_locks = connection.features.has_select_for_update
        if row_locks:
            # PostgreSQL locks rows, not the database: every key of the batch gets its row
            # first, so that the SELECT below locks them all, and two batches of two processes
            # cannot both count a new client from nothing. SQLite's write lock, held by this
            # transaction already, makes that step needless there.
            empty = connection.ops.adapt_json_value({}, None)
            _write_rows(cursor, table, [(key, empty, expiry[key]) for key in keys], "DO NOTHING")
        # The row locks (on SQLite the write lock) make count-then-record one step.
        cursor.execute(
            f"SELECT key, hits FROM {table} WHERE key IN ({', '.join(['%s'] * len(keys))})"
            f" ORDER BY key{' FOR UPDATE' if row_locks else ''}",
            keys,
        )
        stored = {
            key: {name: _Log.parse(pairs) for name, pairs in _json(raw).items()}
            for key, raw in cursor.fetchall()
        }
        changed: set[str] = set()
        decisions = []
        for hit in hits:
            decision = _decide_and_record(stored.setdefault(hit.key, {}), hit.windows, hit.now)
            if decision.allowed:
                changed.add(hit.key)
            decisions.append(decision)
        if changed:
            # One statement for every changed key, not one a key: each statement inside the
            # write lock is a round trip. On PostgreSQL the rows exist and are locked, and this
            # only updates them; on SQLite it inserts the new clients' rows.
            _write_rows(
                cursor,
                table,
                [
                    (
                        key,
                        connection.ops.adapt_json_value(
                            {name: log.stored() for name, log in stored[key].items()}, None
                        ),
                        expiry[key],
                    )
                    for key in sorted(changed)
                ],
                "DO UPDATE SET hits = excluded.hits, expires_at = excluded.expires_at",
            )
        return decisions

    def purge(self, now: float) -> int:
        return self._expiring.purge(now)


def _write_rows(cursor: Any, table: str, rows: list[tuple[Any, Any, Any]], conflict: str) -> None:
    """``(key, hits, expires_at)`` rows into the rate log in one statement, ``ON CONFLICT (key)``
    doing ``conflict``."""
    cursor.execute(
        f"INSERT INTO {table} (key, hits, expires_at) "
        f"VALUES {', '.join(['(%s, %s, %s)'] * len(rows))} ON CONFLICT (key) {conflict}",
        [value for row in rows for value in row],
    )


# One atomic step per request, for all windows: prune, count, then record only if allowed.
# KEYS: one sorted set per window. ARGV: now, member, then (limit, seconds) per window.
_HIT_LUA: Final = """
local now = tonumber(ARGV[1])
local wait = 0
local refused = false
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[1 + 2 * i])
  local seconds = tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - seconds)
  local count = redis.call('ZCARD', key)
  if count >= limit then
    refused = true
    local edge = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
    local free_at = tonumber(edge[2]) + seconds
    if free_at - now > wait then wait = free_at - now end
  end
end
if refused then return {0, tostring(wait)} end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('EXPIRE', key, tonumber(ARGV[2 + 2 * i]))
end
return {1, '0'}
"""


class RedisRateStore:
    """Shared by every process: sorted sets updated by one Lua script per hit, expiring with
    the window; a batch's scripts go in one pipelined round trip."""

    def __init__(self, client: redis.Redis, *, prefix: str = "quorum:rate:") -> None:
        self._client = client
        self._prefix = prefix
        self._script = client.register_script(_HIT_LUA)

    def hit_many(self, hits: Sequence[Hit]) -> list[Answer]:
        # Not a MULTI transaction: each script is atomic by itself, and they run in order.
        pipe = self._client.pipeline(transaction=False)
        for hit in hits:
            # One hash tag for all windows of a key, so the script also runs on Redis Cluster.
            keys = [f"{self._prefix}{{{hit.key}}}:{w.name}" for w in hit.windows]
            # A random member: two hits in the same microsecond must both count.
            args: list[Any] = [repr(hit.now), f"{hit.now!r}:{secrets.token_hex(6)}"]
            for w in hit.windows:
                args += [w.limit, w.seconds]
            self._script(keys=keys, args=args, client=pipe)
        try:
            replies = pipe.execute()
        except redis.RedisError:
            return [
                RateStoreUnavailableError("the rate-limit store cannot be reached") for _ in hits
            ]
        return [self._decision(reply) for reply in replies]

    @staticmethod
    def _decision(reply: Any) -> RateDecision:
        allowed, wait = reply
        if int(allowed):
            return RateDecision(allowed=True)
        return RateDecision(allowed=False, retry_after=_retry_after(float(wait)))

    def purge(self, now: float) -> int:
        return 0  # Redis expires the keys itself


_store: StoreChoice[RateStore] = StoreChoice(RedisRateStore, DatabaseRateStore)

#: At most this many hits in one transaction or pipeline.
MAX_BATCH: Final = 256


def _hit_many(hits: Sequence[Hit]) -> list[Answer]:
    return get_rate_store().hit_many(hits)


# The hits of this process, gathered into batches.
_hits: OnDemandGroupCall[Hit, RateDecision] = OnDemandGroupCall(
    _hit_many, name="quorum-rate-limit", max_batch=MAX_BATCH
)


def get_rate_store() -> RateStore:
    """The store of this process, chosen once: Redis when ``REDIS_URL`` is set, else the database."""
    return _store.get()


def reset_rate_store(store: RateStore | None = None) -> None:
    """For tests: forget the chosen store, or put ``store`` in its place.

    Also stops the batching thread and the shared-state workers, which closes their database
    connections.
    """
    _hits.stop()
    _store.reset(store)
    stop_workers()


def purge_expired(now: float | None = None) -> int:
    """Forget logs whose windows have all passed (``quorum periodic``); how many were removed."""
    return get_rate_store().purge(time.time() if now is None else now)
