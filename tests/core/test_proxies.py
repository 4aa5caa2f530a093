"""The client and HTTPS come from forwarding headers only when a trusted proxy sends them."""

from __future__ import annotations

import ipaddress

import pytest
from django.http import HttpResponse
from django.test import Client, RequestFactory
from hypothesis import given
from hypothesis import strategies as st

from quorum.core.clients import client_address
from quorum.core.env import EnvError, env_networks
from quorum.core.proxies import (
    MAX_HOPS,
    TrustedProxyMiddleware,
    forwarded_client,
    hops,
    parse_address,
    peer_is_trusted,
    says_https,
)

PROXIES = env_networks("P", environ={"P": "10.0.0.0/8, fd00::/8, 192.0.2.10"})
PROXY = "10.0.0.1"
CLIENT = "198.51.100.7"
OUTSIDER = "203.0.113.9"


def client_of(header: str | None, *, peer: str = PROXY, rfc7239: bool = False) -> str:
    return forwarded_client(peer, header, networks=PROXIES, rfc7239=rfc7239)


# --- the walk -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [CLIENT, f"{CLIENT}, {PROXY}", "1.2.3.4", "unknown", "", "10.0.0.5", "x" * 10_000, None],
)
def test_a_peer_that_is_not_a_trusted_proxy_is_the_client_whatever_it_says(header) -> None:
    assert client_of(header, peer=OUTSIDER) == OUTSIDER
    assert client_of(header, peer=OUTSIDER, rfc7239=True) == OUTSIDER
    assert client_of(header, peer="") == ""  # no peer address at all (no TCP client)


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    assert forwarded_client(PROXY, CLIENT, networks=()) == PROXY


def test_a_trusted_proxy_names_the_client_it_was_connected_from() -> None:
    assert client_of(CLIENT) == CLIENT
    assert client_of(None) == PROXY
    assert client_of("") == PROXY


def test_what_the_client_wrote_left_of_its_own_address_means_nothing() -> None:
    # The client sent "X-Forwarded-For: 192.0.2.1"; the proxy appended its address.
    assert client_of(f"192.0.2.1, {CLIENT}") == CLIENT
    assert client_of(f"10.0.0.9, {CLIENT}") == CLIENT


def test_the_walk_goes_right_to_left_past_trusted_proxies() -> None:
    # client → 10.0.0.3 (edge proxy) → 10.0.0.2 → peer 10.0.0.1
    assert client_of(f"192.0.2.1, {CLIENT}, 10.0.0.3, 10.0.0.2") == CLIENT
    assert client_of(f"{CLIENT}, 192.0.2.10") == CLIENT  # a single trusted address


def test_when_every_hop_is_a_trusted_proxy_the_left_most_is_the_client() -> None:
    assert client_of("10.0.0.7, 10.0.0.3, 10.0.0.2") == "10.0.0.7"


@pytest.mark.parametrize(
    "bad", ["unknown", "_hidden", "not an address", "192.0.2.300", "fe80::1%eth0", "", " "]
)
def test_a_hop_that_is_not_an_address_stops_the_walk_at_the_last_trusted_proxy(bad) -> None:
    assert client_of(bad) == PROXY
    assert client_of(f"{CLIENT}, {bad}") == PROXY
    assert client_of(f"{CLIENT}, {bad}, 10.0.0.3") == "10.0.0.3"
    assert client_of(f"{bad}, {CLIENT}") == CLIENT  # left of the client: never read


@pytest.mark.parametrize(
    ("hop", "address"),
    [
        ("198.51.100.7:4711", "198.51.100.7"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("[2001:db8::1]:4711", "2001:db8::1"),
        ("2001:DB8::1", "2001:db8::1"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
        ("  198.51.100.7  ", "198.51.100.7"),
    ],
)
def test_ports_brackets_and_mapped_addresses_are_read_as_the_address(hop, address) -> None:
    assert client_of(hop) == address
    assert client_of(f"{hop}, fd00::1") == address


def test_an_ipv6_proxy_and_an_ipv4_mapped_peer_are_trusted() -> None:
    assert client_of(CLIENT, peer="fd00::2") == CLIENT
    assert client_of(CLIENT, peer="::ffff:10.0.0.1") == CLIENT
    assert peer_is_trusted("::ffff:10.0.0.1", PROXIES)
    assert not peer_is_trusted("::ffff:203.0.113.9", PROXIES)
    assert not peer_is_trusted("unix:/run/quorum.sock", PROXIES)


def test_several_header_lines_joined_by_commas_are_one_list() -> None:
    # Django joins repeated headers with "," under ASGI, as HTTP combines them.
    assert client_of(f"192.0.2.1,{CLIENT},10.0.0.3") == CLIENT


def test_only_the_right_most_hops_are_read() -> None:
    trusted = ", ".join(["10.0.0.3"] * (MAX_HOPS + 5))
    assert client_of(f"{CLIENT}, {trusted}") == "10.0.0.3"
    assert len(hops(f"{CLIENT}, {trusted}", rfc7239=False)) == MAX_HOPS + 1


# --- RFC 7239 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "client"),
    [
        (f"for={CLIENT}", CLIENT),
        (f'for="{CLIENT}"', CLIENT),
        (f'For="{CLIENT}:4711"', CLIENT),
        ('for="[2001:db8:cafe::17]:4711"', "2001:db8:cafe::17"),
        (f"for={CLIENT};proto=https;by=10.0.0.1", CLIENT),
        (f"proto=https; for={CLIENT}", CLIENT),
        (f"for=192.0.2.1, for={CLIENT}, for=10.0.0.3", CLIENT),
        (f"for={CLIENT}, for=unknown", PROXY),
        (f"for={CLIENT}, for=_hidden", PROXY),
        (f"for={CLIENT}, for=10.0.0.3;for=192.0.2.1", PROXY),  # two "for" in one element
        (f"for={CLIENT}, proto=https", PROXY),  # no "for"
        (f"for={CLIENT}, for", PROXY),
        (f"for={CLIENT}, for=10.0.0.3;", PROXY),
        (f'for={CLIENT}, for="10.0.0.3', PROXY),
        (f'for={CLIENT}, for="\\10.0.0.3"', PROXY),
        (f'for="_a,b", for={CLIENT}', CLIENT),
        ("for=10.0.0.7, for=10.0.0.3", "10.0.0.7"),
    ],
)
def test_the_forwarded_header_is_walked_by_its_for_parameters(header, client) -> None:
    assert client_of(header, rfc7239=True) == client


def test_the_two_headers_are_not_mixed() -> None:
    # Read as X-Forwarded-For, a Forwarded value is no address, and the other way round.
    assert client_of(f"for={CLIENT}") == PROXY
    assert client_of(CLIENT, rfc7239=True) == PROXY


# --- whatever the header says ----------------------------------------------------------------

addresses = st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)).map(str)
hop_texts = st.one_of(
    addresses,
    addresses.map(lambda a: f"[{a}]:80"),
    st.sampled_from(["unknown", "_x", '"', ";", "=", "for=", "[", "]", ":", "%"]),
    st.text(max_size=20),
)
headers = st.one_of(
    st.text(max_size=200),
    st.lists(hop_texts, max_size=8).map(", ".join),
    st.lists(hop_texts.map(lambda h: f"for={h}"), max_size=8).map(", ".join),
)
peers = st.one_of(st.sampled_from([PROXY, "fd00::2", "192.0.2.10", OUTSIDER, "", "x"]), addresses)


@given(peer=peers, header=headers, rfc7239=st.booleans())
def test_any_header_gives_the_peer_or_an_address_never_other_text(peer, header, rfc7239) -> None:
    found = forwarded_client(peer, header, networks=PROXIES, rfc7239=rfc7239)
    if found != peer:
        assert str(ipaddress.ip_address(found)) == found
        assert peer_is_trusted(peer, PROXIES)
    if not peer_is_trusted(peer, PROXIES):
        assert found == peer


@given(written=st.text(max_size=200), client=addresses, rfc7239=st.booleans())
def test_a_client_cannot_choose_its_address_by_what_it_writes_in_the_header(
    written, client, rfc7239
) -> None:
    """Behind a trusted proxy that appends the address it was connected from."""
    real = parse_address(client)
    assert real is not None
    appended = f'for="[{client}]"' if rfc7239 and ":" in client else f"for={client}"
    header = f"{written}, {appended if rfc7239 else client}"
    expected = str(real) if not peer_is_trusted(str(real), PROXIES) else None
    found = forwarded_client(PROXY, header, networks=PROXIES, rfc7239=rfc7239)
    if expected is not None:
        assert found == expected
    else:  # the client is a trusted address itself: what it wrote may be read, but only as an IP
        assert found == PROXY or str(ipaddress.ip_address(found)) == found


def test_https_is_the_first_value_of_the_tls_header_as_django_reads_it() -> None:
    assert says_https("https")
    assert says_https(" https , http")
    assert not says_https("http, https")
    assert not says_https("HTTPS")
    assert not says_https("")


# --- settings -------------------------------------------------------------------------------


def test_trusted_proxies_are_addresses_and_networks_of_either_family() -> None:
    networks = env_networks("P", environ={"P": " 10.0.0.0/8,192.0.2.1 , fd00::/8, ::1,10.0.0.0/8"})
    assert [str(n) for n in networks] == ["10.0.0.0/8", "192.0.2.1/32", "fd00::/8", "::1/128"]
    assert env_networks("P", environ={}) == ()
    assert env_networks("P", environ={"P": "  "}) == ()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("10.0.0.1/8", "host bits set"),
        ("nginx", "IP addresses or networks"),
        ("10.0.0.0/33", "IP addresses or networks"),
        ("10.0.0.0/8;192.0.2.1", "IP addresses or networks"),
        ("10.0.0.0/8,,192.0.2.1", "empty entry"),
        ("0.0.0.0/0", "every address"),
        ("::/0", "every address"),
        ("fe80::1%eth0", "zone id"),
        ("::ffff:10.0.0.0/104", "as IPv4"),
    ],
)
def test_a_malformed_trusted_proxy_is_refused_with_the_variable_name(value, message) -> None:
    with pytest.raises(EnvError, match="QUORUM_TRUSTED_PROXIES") as raised:
        env_networks("QUORUM_TRUSTED_PROXIES", environ={"QUORUM_TRUSTED_PROXIES": value})
    assert message in str(raised.value)


# --- the Django door ------------------------------------------------------------------------


@pytest.fixture
def behind_proxy(settings):
    settings.QUORUM_TRUSTED_PROXIES = PROXIES
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    return settings


def test_client_address_reads_the_header_the_operator_named(behind_proxy) -> None:
    request = RequestFactory().get(
        "/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=CLIENT, HTTP_FORWARDED="for=192.0.2.1"
    )
    assert client_address(request) == CLIENT
    behind_proxy.QUORUM_FORWARDED_HEADER = "Forwarded"
    assert client_address(request) == "192.0.2.1"


def test_client_address_ignores_the_headers_of_a_client_that_is_no_proxy(behind_proxy) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR=OUTSIDER, HTTP_X_FORWARDED_FOR=CLIENT)
    assert client_address(request) == OUTSIDER


def through_middleware(**meta: str):
    request = RequestFactory().get("/x", **meta)
    assert TrustedProxyMiddleware(lambda r: HttpResponse())(request).status_code == 200
    return request


def test_https_from_a_trusted_proxy_makes_the_request_secure(behind_proxy) -> None:
    request = through_middleware(
        REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_PROTO="https", HTTP_X_FORWARDED_FOR=CLIENT
    )
    assert request.is_secure()
    assert request.build_absolute_uri("/y").startswith("https://")
    assert request.META["HTTP_X_FORWARDED_FOR"] == CLIENT


def test_https_claimed_by_a_client_that_is_no_proxy_is_removed(behind_proxy) -> None:
    request = through_middleware(
        REMOTE_ADDR=OUTSIDER,
        HTTP_X_FORWARDED_PROTO="https",
        HTTP_X_FORWARDED_FOR=CLIENT,
        HTTP_FORWARDED=f"for={CLIENT}",
    )
    assert not request.is_secure()
    assert request.build_absolute_uri("/y").startswith("http://")
    for key in ("HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED"):
        assert key not in request.META


@pytest.mark.parametrize(("peer", "hsts"), [(PROXY, True), (OUTSIDER, False)])
def test_hsts_is_sent_only_when_a_trusted_proxy_says_https(behind_proxy, peer, hsts) -> None:
    behind_proxy.SECURE_HSTS_SECONDS = 3600
    response = Client(raise_request_exception=False).get(
        "/no-such-page/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_PROTO="https"
    )
    assert response.status_code == 404
    assert (response.get("Strict-Transport-Security") == "max-age=3600") is hsts
