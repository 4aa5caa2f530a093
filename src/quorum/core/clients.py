"""Who a request comes from, without keeping who it was; and the shared Redis client.

Rate limits and sign-in throttles count clients, never store them: a client is its IPv4
address or its IPv6 /64, and what is stored is an HMAC of that under a key that changes
every UTC day.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import hmac
import ipaddress
from typing import Any

import redis
import redis.asyncio
from django.conf import settings

from quorum.core.proxies import FORWARDED, forwarded_client


def client_address(request: Any) -> str:
    """The connection's peer (``REMOTE_ADDR``), or, when that is a trusted proxy, the client it
    names in ``QUORUM_FORWARDED_HEADER`` (``quorum.core.proxies``). Never stored or logged."""
    meta = getattr(request, "META", None) or {}
    peer = str(meta.get("REMOTE_ADDR") or "")
    networks = settings.QUORUM_TRUSTED_PROXIES
    if not networks:
        return peer
    header = settings.QUORUM_FORWARDED_HEADER
    if header == FORWARDED:
        return forwarded_client(peer, meta.get("HTTP_FORWARDED"), networks=networks, rfc7239=True)
    return forwarded_client(peer, meta.get("HTTP_X_FORWARDED_FOR"), networks=networks)


def address_group(address: str) -> str:
    """What one client is counted as: the IPv4 address, or the IPv6 /64."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        # Not an IP (a unix socket, a misconfigured proxy): count the raw text, hashed later.
        return "other:" + address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        # Built from the integer, so a zone id ("%eth0") cannot split one client in two.
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))
    return str(ip)


def daily_keyed_hash(purpose: bytes, message: bytes, *, now: float) -> str:
    """HMAC-SHA256 (hex) of ``message`` under a key for ``purpose`` and the UTC day of ``now``."""
    day = datetime.datetime.fromtimestamp(now, tz=datetime.UTC).date().isoformat()
    key = _daily_key(purpose, str(settings.SECRET_KEY), day)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


@functools.lru_cache(maxsize=32)
def _daily_key(purpose: bytes, secret_key: str, day: str) -> bytes:
    # Two hashes that every request of the day would otherwise compute again.
    root = hashlib.sha256(purpose + secret_key.encode()).digest()
    return hmac.new(root, day.encode(), hashlib.sha256).digest()


REDIS_OPTIONS: dict[str, Any] = {
    "socket_timeout": 2.0,
    "socket_connect_timeout": 2.0,
    "health_check_interval": 30,
}


def redis_client(url: str) -> redis.Redis:
    """A client with short timeouts: a stalled Redis must turn into a 503, not a hung worker."""
    return redis.Redis.from_url(url, **REDIS_OPTIONS)


def async_redis_client(url: str) -> redis.asyncio.Redis:
    """The same for an event loop (one client per loop: its connections belong to it)."""
    return redis.asyncio.Redis.from_url(url, **REDIS_OPTIONS)
