"""Counting sign-in attempts per username and per client address, shared by every process.

An attempt is counted *before* its password or code is checked: :func:`reserve` increments
both counters atomically and refuses when either goes past its limit, so a burst of parallel
guesses cannot all be checked before the first failure is counted. A wrong credential leaves
its reservation in place (it is the failure); a right one, or a request that checked nothing,
gives it back with :func:`release`; a complete sign-in clears the username's count
(:func:`reset_username`).

Neither the username nor the address is kept as such: each is counted under
``HMAC(daily key, scope || value)``, the daily key being derived from SECRET_KEY and the UTC
date. A counter starts at the first attempt and is forgotten
``QUORUM_LOGIN_FAILURE_WINDOW_SECONDS`` later (a fixed window). The same keyed hash (shortened)
is what the logs show for an address, so an operator can see that failures come from one place
without learning where that place is.

The counters live in Redis (``INCR`` with an expiry, in one script) when ``REDIS_URL`` is set,
else in the database (one short transaction per counter): both are shared by every app process.

The address is ``client_address``'s: the connection's, or the client a trusted proxy names
(``QUORUM_TRUSTED_PROXIES``, see ``docs/operator.md``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Final, Protocol

import redis
from django.conf import settings
from django.db import DatabaseError
from django.db.models import F

from quorum.core.clients import address_group, client_address, daily_keyed_hash
from quorum.core.metrics import sign_in_rate_limited
from quorum.core.models import SignInCounter
from quorum.core.volatile import ExpiringRows, StoreChoice, utc, volatile_atomic

_REDIS_PREFIX: Final = "quorum:login:"


class ThrottleUnavailable(RuntimeError):
    """The store that holds the counters cannot be reached: refuse sign-in (fail closed)."""


@dataclass(frozen=True, slots=True)
class Attempt:
    """A reserved attempt (``allowed``), or a refusal with ``retry_after`` whole seconds (≥ 1).

    ``keys`` are the counters this attempt holds, for :func:`release`.
    """

    allowed: bool
    retry_after: int = 0
    keys: tuple[str, ...] = ()


class ThrottleStore(Protocol):
    def reserve(self, key: str, *, limit: int, window: int, now: float) -> float | None:
        """Count one attempt: None if within ``limit``, else the seconds until the window ends.

        A refused attempt is not counted.
        """
        ...

    def release(self, key: str) -> None: ...
    def forget(self, key: str) -> None: ...
    def purge(self, now: float) -> int: ...


class DatabaseThrottleStore:
    """One row per counter (:class:`~quorum.core.models.SignInCounter`), updated in place."""

    uses_database = True

    def __init__(self) -> None:
        self._expiring = ExpiringRows(SignInCounter)

    def reserve(self, key: str, *, limit: int, window: int, now: float) -> float | None:
        self._expiring.now_and_then(now)
        moment = utc(now)
        with volatile_atomic():
            rows = SignInCounter.objects.filter(key=key)
            rows.filter(expires_at__lte=moment).delete()
            SignInCounter.objects.bulk_create(
                [SignInCounter(key=key, count=0, expires_at=utc(now + window))],
                ignore_conflicts=True,
            )
            # The UPDATE holds the row until commit (on SQLite the whole write lock): the count
            # read back is this attempt's place in line, whatever runs in parallel.
            rows.update(count=F("count") + 1)
            count, expires_at = rows.values_list("count", "expires_at").get()
            if count <= limit:
                return None
            rows.update(count=F("count") - 1)
        return (expires_at - moment).total_seconds()

    def release(self, key: str) -> None:
        with volatile_atomic():
            SignInCounter.objects.filter(key=key, count__gt=0).update(count=F("count") - 1)

    def forget(self, key: str) -> None:
        with volatile_atomic():
            SignInCounter.objects.filter(key=key).delete()

    def purge(self, now: float) -> int:
        return self._expiring.purge(now)


# reserve: INCR, give the key its window on the first attempt, and take the attempt back when
# it is over the limit, all in one atomic step. KEYS: the counter. ARGV: limit, window.
_RESERVE_LUA: Final = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
if count > tonumber(ARGV[1]) then
  redis.call('DECR', KEYS[1])
  return ttl
end
return -1
"""
# release: never below zero, and never bring back a key that expired meanwhile.
_RELEASE_LUA: Final = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then
  return redis.call('DECR', KEYS[1])
end
return 0
"""


class RedisThrottleStore:
    """Shared by every process: one counter key per username or client, expiring with its window.

    The window is measured by Redis's clock, not the app server's.
    """

    uses_database = False

    def __init__(self, client: redis.Redis, *, prefix: str = _REDIS_PREFIX) -> None:
        self._client = client
        self._prefix = prefix
        self._reserve = client.register_script(_RESERVE_LUA)
        self._release = client.register_script(_RELEASE_LUA)

    def reserve(self, key: str, *, limit: int, window: int, now: float) -> float | None:
        ttl = int(self._reserve(keys=[self._prefix + key], args=[limit, window]))
        return None if ttl < 0 else float(ttl)

    def release(self, key: str) -> None:
        self._release(keys=[self._prefix + key])

    def forget(self, key: str) -> None:
        self._client.delete(self._prefix + key)

    def purge(self, now: float) -> int:
        return 0  # Redis expires the keys itself


_store: StoreChoice[ThrottleStore] = StoreChoice(RedisThrottleStore, DatabaseThrottleStore)


def get_throttle_store() -> ThrottleStore:
    """The store of this process, chosen once: Redis when ``REDIS_URL`` is set, else the database."""
    return _store.get()


def reset_throttle_store(store: ThrottleStore | None = None) -> None:
    """For tests: forget the chosen store, or put ``store`` in its place."""
    _store.reset(store)


def keyed_hash(scope: str, value: str, *, now: float | None = None) -> str:
    """HMAC-SHA256 of ``scope || value`` under today's key (hex)."""
    when = time.time() if now is None else now
    return daily_keyed_hash(
        b"quorum-accounts-throttle-v1", f"{scope}\x00{value}".encode(), now=when
    )


def address_label(request: Any) -> str:
    """The client address as logs may show it: a shortened keyed hash, never the address."""
    return keyed_hash("address", address_group(client_address(request)))[:16]


def _keys(username: str, request: Any, now: float) -> list[tuple[str, int]]:
    # Case-folded: a database with case-insensitive collation must not open extra buckets.
    user_key = keyed_hash("username", username.strip().casefold(), now=now)
    address_key = keyed_hash("address", address_group(client_address(request)), now=now)
    return [
        (f"u:{user_key}", int(settings.QUORUM_LOGIN_MAX_FAILURES)),
        (f"a:{address_key}", int(settings.QUORUM_LOGIN_MAX_FAILURES_PER_ADDRESS)),
    ]


def _window() -> int:
    return int(settings.QUORUM_LOGIN_FAILURE_WINDOW_SECONDS)


def _store_errors() -> tuple[type[Exception], ...]:
    return (DatabaseError, redis.RedisError)


def reserve(username: str, request: Any) -> Attempt:
    """Count one attempt of this username from this client, before its credential is checked.

    Refused (``allowed`` False) when either count is already at its limit; then nothing is
    counted. Raises :class:`ThrottleUnavailable` when the store cannot be reached.
    """
    now = time.time()
    store = get_throttle_store()
    held: list[str] = []
    try:
        for key, limit in _keys(username, request, now):
            wait = store.reserve(key, limit=limit, window=_window(), now=now)
            if wait is not None:
                for taken in held:
                    store.release(taken)
                sign_in_rate_limited()
                # Rounded first: a window computed from float seconds must not gain a second.
                return Attempt(allowed=False, retry_after=max(1, math.ceil(round(wait, 3))))
            held.append(key)
    except _store_errors() as exc:
        raise ThrottleUnavailable("the sign-in throttle store cannot be reached") from exc
    return Attempt(allowed=True, keys=tuple(held))


def release(attempt: Attempt) -> None:
    """Give a reserved attempt back: its credential was right, or none was checked."""
    store = get_throttle_store()
    try:
        for key in attempt.keys:
            store.release(key)
    except _store_errors() as exc:
        raise ThrottleUnavailable("the sign-in throttle store cannot be reached") from exc


def reset_username(username: str, request: Any) -> None:
    """After a complete sign-in, the username starts afresh; the address does not."""
    key = _keys(username, request, time.time())[0][0]
    try:
        get_throttle_store().forget(key)
    except _store_errors() as exc:
        raise ThrottleUnavailable("the sign-in throttle store cannot be reached") from exc


def purge_expired(now: float | None = None) -> int:
    """Forget counters whose window has passed (``quorum periodic``); how many were removed."""
    return get_throttle_store().purge(time.time() if now is None else now)
