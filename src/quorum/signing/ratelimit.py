"""Per-client rate limits: a burst window and a sustained window, both sliding logs.

Proof of work makes each submission cost something; these limits cap how many one network
can send. The client address is never stored as such: entries are keyed by
``HMAC(daily key, scope || address group)`` where the daily key is derived from SECRET_KEY
and the UTC date, so yesterday's keys cannot be linked to today's, and every entry expires
with its window. IPv4 addresses count one by one; IPv6 addresses by /64, the block one
subscriber usually holds. (Counters restart at UTC midnight, when the key turns: at most one
extra window of allowance per day, the price of unlinkable keys.)

Behind a reverse proxy, REMOTE_ADDR is the proxy's address and every client would share one
bucket. The operator must make the proxy hand the real client address to the app server
(granian/uvicorn ``--forwarded-allow-ips``, nginx ``real_ip``), which then sets REMOTE_ADDR.
``X-Forwarded-For`` is not read here: any client can write it.
"""

from __future__ import annotations

import collections
import math
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import redis
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from quorum.core.clients import address_group, daily_keyed_hash, redis_client

RATE_LIMITED_MESSAGE: Final = _(
    "Too many submissions from your network. Please wait a little and try again."
)


class RateStoreUnavailableError(RuntimeError):
    """The shared store cannot be reached: fail closed (answer 503)."""


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


class RateStore(Protocol):
    def hit(self, key: str, windows: Sequence[Window], now: float) -> RateDecision: ...


def check_rate(client_address: str, *, scope: str, now: float | None = None) -> RateDecision:
    """Count one attempt by ``client_address`` at ``scope`` (e.g. ``statement:<slug>``).

    An allowed attempt is recorded; a refused one is not, so ``retry_after`` is exact.
    Raises :class:`RateStoreUnavailableError` when Redis is configured but cannot be reached.
    """
    when = time.time() if now is None else now
    windows = (
        Window("b", int(settings.QUORUM_RATE_BURST), int(settings.QUORUM_RATE_BURST_SECONDS)),
        Window(
            "s", int(settings.QUORUM_RATE_SUSTAINED), int(settings.QUORUM_RATE_SUSTAINED_SECONDS)
        ),
    )
    key = rate_key(client_address, scope=scope, now=when)
    return get_rate_store().hit(key, windows, when)


def rate_key(client_address: str, *, scope: str, now: float) -> str:
    """The keyed hash a client is counted under on the UTC day of ``now``."""
    message = scope.encode() + b"\x00" + address_group(client_address).encode()
    return daily_keyed_hash(b"quorum-ratelimit-v1", message, now=now)


def _retry_after(seconds: float) -> int:
    return max(1, math.ceil(seconds))


class MemoryRateStore:
    """One process's store: a deque of hit times per key and window, under a lock."""

    def __init__(self) -> None:
        self._hits: dict[str, collections.deque[float]] = {}
        self._lock = threading.Lock()
        self._next_prune = 0.0
        self._longest = 0

    def hit(self, key: str, windows: Sequence[Window], now: float) -> RateDecision:
        with self._lock:
            self._longest = max(self._longest, *(w.seconds for w in windows))
            self._prune(now)
            logs = []
            wait = 0.0
            for window in windows:
                log = self._hits.setdefault(f"{key}:{window.name}", collections.deque())
                while log and log[0] <= now - window.seconds:
                    log.popleft()
                if len(log) >= window.limit:
                    # Free again when the oldest hit that keeps the count at the limit leaves.
                    wait = max(wait, log[len(log) - window.limit] + window.seconds - now)
                logs.append(log)
            if any(len(log) >= w.limit for log, w in zip(logs, windows, strict=True)):
                return RateDecision(allowed=False, retry_after=_retry_after(wait))
            for log in logs:
                log.append(now)
            return RateDecision(allowed=True)

    def __len__(self) -> int:
        with self._lock:
            return sum(1 for log in self._hits.values() if log)

    def _prune(self, now: float) -> None:
        # Sweep out keys with no hit in the longest window, at most once a minute.
        if now < self._next_prune:
            return
        self._next_prune = now + 60.0
        for name in [
            n for n, log in self._hits.items() if not log or log[-1] <= now - self._longest
        ]:
            del self._hits[name]


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
    """Shared by every process: sorted sets updated by one Lua script, expiring with the window."""

    def __init__(self, client: redis.Redis, *, prefix: str = "quorum:rate:") -> None:
        self._prefix = prefix
        self._script = client.register_script(_HIT_LUA)

    def hit(self, key: str, windows: Sequence[Window], now: float) -> RateDecision:
        # One hash tag for all windows of a key, so the script also runs on Redis Cluster.
        keys = [f"{self._prefix}{{{key}}}:{w.name}" for w in windows]
        # A random member: two hits in the same microsecond must both count.
        args: list[Any] = [repr(now), f"{now!r}:{secrets.token_hex(6)}"]
        for w in windows:
            args += [w.limit, w.seconds]
        try:
            allowed, wait = self._script(keys=keys, args=args)
        except redis.RedisError as exc:
            raise RateStoreUnavailableError("the rate-limit store cannot be reached") from exc
        if int(allowed):
            return RateDecision(allowed=True)
        return RateDecision(allowed=False, retry_after=_retry_after(float(wait)))


_store: RateStore | None = None
_store_lock = threading.Lock()


def get_rate_store() -> RateStore:
    """The store of this process, chosen once: Redis when ``REDIS_URL`` is set, else memory."""
    global _store
    if _store is None:
        with _store_lock:
            if _store is None:
                url = getattr(settings, "REDIS_URL", None)
                _store = RedisRateStore(redis_client(url)) if url else MemoryRateStore()
    return _store


def reset_rate_store(store: RateStore | None = None) -> None:
    """For tests: forget the chosen store, or put ``store`` in its place."""
    global _store
    with _store_lock:
        _store = store
