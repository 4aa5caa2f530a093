"""Counting failed sign-ins per username and per client address, in the cache.

Neither the username nor the address is kept as such: each is counted under
``HMAC(daily key, scope || value)``, the daily key being derived from SECRET_KEY and the UTC
date, and every counter expires with its window. The same keyed hash (shortened) is what the
logs show for an address, so an operator can see that failures come from one place without
learning where that place is.

A counter starts at the first failure and is forgotten ``QUORUM_LOGIN_FAILURE_WINDOW_SECONDS``
later (a fixed window opened by the first failure): ``cache.add`` + ``cache.incr`` are atomic on
Redis and in local memory, so concurrent guesses cannot slip past the limit.

Behind a reverse proxy the operator must make the proxy hand the real client address to the
app server (see ``docs/operator.md``); ``X-Forwarded-For`` is not read here.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache

from quorum.core.clients import address_group, client_address, daily_keyed_hash

_KEY_PREFIX = "quorum:login-fail:"


class ThrottleUnavailable(RuntimeError):
    """The cache that holds the counters cannot be reached: refuse sign-in (fail closed)."""


@dataclass(frozen=True, slots=True)
class ThrottleState:
    """``retry_after`` is 0 when sign-in may be tried, else whole seconds (≥ 1)."""

    allowed: bool
    retry_after: int = 0


def keyed_hash(scope: str, value: str, *, now: float | None = None) -> str:
    """HMAC-SHA256 of ``scope || value`` under today's key (hex)."""
    when = time.time() if now is None else now
    return daily_keyed_hash(
        b"quorum-accounts-throttle-v1", f"{scope}\x00{value}".encode(), now=when
    )


def address_label(request: Any) -> str:
    """The client address as logs may show it: a shortened keyed hash, never the address."""
    return keyed_hash("address", address_group(client_address(request)))[:16]


def _keys(username: str, request: Any) -> list[tuple[str, int]]:
    # Case-folded: a database with case-insensitive collation must not open extra buckets.
    user_key = keyed_hash("username", username.strip().casefold())
    address_key = keyed_hash("address", address_group(client_address(request)))
    return [
        (f"{_KEY_PREFIX}u:{user_key}", int(settings.QUORUM_LOGIN_MAX_FAILURES)),
        (f"{_KEY_PREFIX}a:{address_key}", int(settings.QUORUM_LOGIN_MAX_FAILURES_PER_ADDRESS)),
    ]


def _window() -> int:
    return int(settings.QUORUM_LOGIN_FAILURE_WINDOW_SECONDS)


def check(username: str, request: Any) -> ThrottleState:
    """May this username, from this client, try to sign in now?"""
    now = time.time()
    wait = 0.0
    try:
        for key, limit in _keys(username, request):
            count = cache.get(key) or 0
            if count >= limit:
                started = cache.get(key + ":t") or now
                wait = max(wait, started + _window() - now)
    except Exception as exc:  # any cache backend error: refuse rather than allow
        raise ThrottleUnavailable("the sign-in throttle store cannot be reached") from exc
    if wait > 0:
        return ThrottleState(allowed=False, retry_after=max(1, math.ceil(wait)))
    return ThrottleState(allowed=True)


def record_failure(username: str, request: Any) -> None:
    """Count one failed password or code for this username and this client."""
    now = time.time()
    window = _window()
    try:
        for key, _limit in _keys(username, request):
            if cache.add(key, 1, timeout=window):
                cache.set(key + ":t", now, timeout=window)
            else:
                try:
                    cache.incr(key)
                except ValueError:  # expired between add and incr: start again
                    cache.add(key, 1, timeout=window)
                    cache.set(key + ":t", now, timeout=window)
    except Exception as exc:
        raise ThrottleUnavailable("the sign-in throttle store cannot be reached") from exc


def reset_username(username: str, request: Any) -> None:
    """After a complete sign-in, the username starts afresh; the address does not."""
    key = _keys(username, request)[0][0]
    try:
        cache.delete_many([key, key + ":t"])
    except Exception as exc:
        raise ThrottleUnavailable("the sign-in throttle store cannot be reached") from exc
