"""Who sent a request, and whether it came by HTTPS, when reverse proxies stand in front.

Only a connection from a trusted proxy (``QUORUM_TRUSTED_PROXIES``) may say anything about the
client: any client can write ``X-Forwarded-For``, ``Forwarded`` or the proxy's TLS header
itself. When the peer of the connection is not a trusted proxy, it is the client, and those
headers are ignored (and removed from the request before anything reads them).

When the peer is trusted, the client is found in the one header the operator named
(``QUORUM_FORWARDED_HEADER``: ``X-Forwarded-For`` by default, or RFC 7239 ``Forwarded``; the
other is never read, since a proxy that writes one passes the other through from the client
unchanged). Each proxy appends the address it was connected from, so the list is walked from
the right, past the addresses of trusted proxies: the first address that is not one is the
client. Everything to its left was written by the client and means nothing. If every hop is
a trusted proxy, the left-most is the client (a request from inside). A hop that is not an
address (``unknown``, an obfuscated name, garbage) stops the walk: the client is then the last
trusted proxy passed (or the peer), never anything a client could have written.

The functions here are pure: no settings, no request. ``quorum.core.clients.client_address``
and :class:`TrustedProxyMiddleware` apply them with the settings; the fast path calls the same
middleware code, so that both doors answer alike.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, MutableMapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from quorum.core.middleware import HybridMiddleware

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

#: How many hops from the right are looked at; the rest of a longer header is one bad hop.
MAX_HOPS = 32
#: The headers a client is read from: ``QUORUM_FORWARDED_HEADER`` names one.
X_FORWARDED_FOR = "X-Forwarded-For"
FORWARDED = "Forwarded"
FORWARDED_HEADERS = (X_FORWARDED_FOR, FORWARDED)

# An address with a port as proxies write it: "192.0.2.1:4711", "[2001:db8::1]:4711".
_V4_WITH_PORT = re.compile(r"(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}")
_BRACKETED = re.compile(r"\[([0-9A-Fa-f:.]+)\](?::\d{1,5})?")


def parse_address(text: str) -> Address | None:
    """A hop as an address, or None if it is not one (a name, ``unknown``, ``_hidden``)."""
    text = text.strip()
    if "%" in text or len(text) > 64:
        return None  # a zone id names an interface of the proxy, not a client
    try:
        address: Address = ipaddress.ip_address(text)
    except ValueError:
        match = _BRACKETED.fullmatch(text) or _V4_WITH_PORT.fullmatch(text)
        if match is None:
            return None
        try:
            address = ipaddress.ip_address(match.group(1))
        except ValueError:
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_trusted(address: Address, networks: Iterable[Network]) -> bool:
    return any(address in network for network in networks)


def peer_is_trusted(peer: str, networks: tuple[Network, ...]) -> bool:
    """Whether the connection's peer (``REMOTE_ADDR``) is a trusted proxy."""
    if not networks:
        return False
    address = parse_address(peer)
    return address is not None and is_trusted(address, networks)


def _forwarded_for(element: str) -> str:
    """The ``for=`` node of one RFC 7239 element; "" (not an address) if there is none or two."""
    found: list[str] = []
    for pair in element.split(";"):
        name, equals, value = pair.strip().partition("=")
        if not equals:
            return ""  # not a forwarded-pair: the element is malformed
        if name.strip().lower() == "for":
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            if "\\" in value or '"' in value:
                return ""
            found.append(value)
    return found[0] if len(found) == 1 else ""


def hops(header: str, *, rfc7239: bool) -> list[str]:
    """The hops of a forwarding header, right-most last, at most ``MAX_HOPS`` + 1 of them.

    Several header lines arrive joined by commas (as HTTP combines them). Splitting on every
    comma, even one inside a quoted string, is safe: no address contains a comma, and only the
    hops right of the first untrusted one are ever used, which trusted proxies wrote.
    """
    parts = header.rsplit(",", MAX_HOPS)
    return [_forwarded_for(part) for part in parts] if rfc7239 else parts


def forwarded_client(
    peer: str, header: str | None, *, networks: tuple[Network, ...], rfc7239: bool = False
) -> str:
    """The client's address: the peer, or the right-most untrusted hop if the peer is trusted.

    Returns ``peer`` unchanged or an address written as Python writes it (``str`` of the
    parsed address), never other text from the header.
    """
    if not networks or not header:
        return peer
    last = parse_address(peer)
    if last is None or not is_trusted(last, networks):
        return peer
    found = last
    for hop in reversed(hops(header, rfc7239=rfc7239)):
        address = parse_address(hop)
        if address is None:
            break  # what the last trusted proxy wrote is not an address: stop at that proxy
        found = address
        if not is_trusted(address, networks):
            break
    return peer if found is last else str(found)


def says_https(value: str) -> bool:
    """Whether the TLS header's value says HTTPS: the first of several, as Django reads it."""
    return value.split(",", 1)[0].strip() == "https"


_FORWARDED_META_KEYS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED")


def forget_untrusted_headers(meta: MutableMapping[str, Any]) -> None:
    """Remove the proxy headers from a request whose peer is not a trusted proxy.

    The client headers and the TLS header (``SECURE_PROXY_SSL_HEADER``): then
    ``request.is_secure()`` (secure redirects, HSTS, absolute URLs, CSRF's referer check) comes
    from the connection itself, as Django reads it when the header is absent. A request
    without any of them (every request when no proxy stands in front) costs three lookups.
    """
    tls = settings.SECURE_PROXY_SSL_HEADER
    keys = [key for key in _FORWARDED_META_KEYS if key in meta]
    if tls and tls[0] in meta:
        keys.append(tls[0])
    if keys and not peer_is_trusted(
        str(meta.get("REMOTE_ADDR") or ""), settings.QUORUM_TRUSTED_PROXIES
    ):
        for key in keys:
            del meta[key]


class TrustedProxyMiddleware(HybridMiddleware):
    """First in the chain: what an untrusted peer says about itself is gone before anyone reads it."""

    def before(self, request: HttpRequest) -> None:
        forget_untrusted_headers(request.META)
        return None
