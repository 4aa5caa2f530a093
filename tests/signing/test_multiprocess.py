"""Two app servers, one Redis: single use of proof of work and rate limits hold across them.

Test matrix I4 ("a replay sent to another app instance") and A5 (canary grep of Redis): two
separate ``quorum serve`` processes on two ports share one data folder (so one SECRET_KEY and
one database) and one Redis database. Proof of work is on, at the lowest difficulty settings
allow (``QUORUM_POW_MAX_NUMBER`` minimum 1,000); the burst limit is 3.

Skipped when Redis does not answer on 127.0.0.1:6379. Uses Redis database 14 only, emptied
before each test and after the module.
"""

from __future__ import annotations

import ipaddress

import pytest

pytestmark = pytest.mark.slow

REDIS_URL = "redis://127.0.0.1:6379/14"
BURST = 3
BURST_SECONDS = 60
MAX_KEYS = 10_000

SERVER_ENV = {
    "REDIS_URL": REDIS_URL,
    "QUORUM_POW": "on",
    "QUORUM_POW_MAX_NUMBER": "1000",  # the minimum settings.py accepts
    "QUORUM_RATE_BURST": str(BURST),
    "QUORUM_RATE_BURST_SECONDS": str(BURST_SECONDS),
    "QUORUM_RATE_SUSTAINED": "1000",
}


@pytest.fixture(scope="module")
def redis_db():
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2.0, socket_connect_timeout=2.0)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        pytest.skip(f"Redis does not answer at 127.0.0.1:6379 ({type(exc).__name__})")
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()


@pytest.fixture(scope="module")
def two_servers(redis_db, quorum_site):
    """Servers A and B: separate processes, same data folder, database and Redis."""
    try:
        a = quorum_site.start_server(workers=1, **SERVER_ENV)
        b = quorum_site.start_server(workers=1, **SERVER_ENV)
        yield a, b
    finally:
        quorum_site.kill_all()


@pytest.fixture
def redis_empty(redis_db):
    """Every test starts with no rate-limit and no single-use entries."""
    redis_db.flushdb()
    return redis_db


@pytest.fixture
def clients(two_servers):
    a, b = two_servers
    client_a, client_b = a.client(), b.client()
    try:
        yield client_a, client_b
    finally:
        client_a.close()
        client_b.close()


def test_a_solution_used_at_one_server_is_single_use_at_the_other(
    redis_empty, clients, quorum_site, polish_signatories
) -> None:
    at_a, at_b = clients
    make = polish_signatories("replay")
    statement, other = make(), make()
    altcha = at_a.solved_pow()
    before = quorum_site.leaf_hashes()

    status, _h, first = at_a.post_statement({**statement, "altcha": altcha})
    assert status == 201, first

    status, _h, spliced = at_b.post_statement({**other, "altcha": altcha})
    assert status == 422, spliced
    assert list(spliced["errors"]) == ["altcha"]

    status, _h, again = at_b.post_statement({**statement, "altcha": altcha})
    assert status == 201, again
    assert again["receipt"] == first["receipt"]

    after = quorum_site.leaf_hashes()
    assert len(after) == len(before) + 1
    assert after.count(bytes.fromhex(first["receipt"])) == 1


def test_the_rate_limit_is_shared_by_both_servers(
    redis_empty, clients, quorum_site, polish_signatories
) -> None:
    at_a, at_b = clients
    make = polish_signatories("ratelimit")
    before = len(quorum_site.leaf_hashes())
    answers = []
    for client in (at_a, at_a, at_b, at_b):  # BURST + 1 statements, split over A and B
        answers.append(client.post_statement({**make(), "altcha": client.solved_pow()}))

    assert [status for status, _h, _b in answers] == [201] * BURST + [429], answers
    _status, headers, body = answers[-1]
    assert 1 <= int(headers["retry-after"]) <= BURST_SECONDS
    assert body["errors"], body
    assert len(quorum_site.leaf_hashes()) == before + BURST


def _redis_contents(client) -> list[tuple[bytes, list[bytes]]]:
    """(key, every value or member under it) for each key of the database; bounded."""
    contents = []
    for count, key in enumerate(client.scan_iter(count=500)):
        assert count < MAX_KEYS, "more keys than this test can have made"
        kind = client.type(key)
        if kind == b"string":
            values = [client.get(key) or b""]
        elif kind == b"zset":
            values = [m for m, _score in client.zrange(key, 0, -1, withscores=True)]
        elif kind == b"hash":
            values = [part for pair in client.hgetall(key).items() for part in pair]
        elif kind == b"list":
            values = client.lrange(key, 0, -1)
        elif kind == b"set":
            values = list(client.smembers(key))
        elif kind == b"stream":
            values = [repr(entry).encode() for entry in client.xrange(key)]
        else:
            values = [kind]
        contents.append((key, values))
    return contents


def _forbidden_hits(contents, needles: list[bytes]) -> list[tuple[bytes, bytes]]:
    hits = []
    for key, values in contents:
        for blob in (key, *values):
            for needle in needles:
                if needle.lower() in blob.lower():
                    hits.append((key, needle))
    return hits


def test_redis_holds_no_client_address_names_or_id_numbers(
    redis_empty, clients, quorum_site, polish_signatories
) -> None:
    at_a, at_b = clients
    make = polish_signatories("canary")
    sent = []
    for client in (at_a, at_b):
        statement = {**make(), "altcha": client.solved_pow()}
        status, _h, body = client.post_statement(statement)
        assert status == 201, body
        sent.append(statement)
    # A double submission, at the other server, leaves its trace too (a completed claim).
    status, _h, _body = at_b.post_statement(sent[0])
    assert status == 201

    id_number = sent[0]["id_number"].encode()
    needles = [b"127.0.0.1", ipaddress.ip_address("127.0.0.1").packed, b"7f000001"]
    for statement in sent:
        needles += [statement["id_number"].encode()]
        needles += [part.encode() for part in statement["first_names"].split()]
        needles += [statement["family_names"].encode()]

    contents = _redis_contents(redis_empty)
    keys = [key for key, _values in contents]
    # Not blind: the shared state of both servers is there to be searched.
    assert any(key.startswith(b"quorum:rate:") for key in keys), keys
    assert any(key.startswith(b"quorum:pow:") for key in keys), keys
    assert _forbidden_hits(contents, needles) == []
    # Every entry goes away by itself (TTL), so Redis stays bounded.
    assert all(redis_empty.ttl(key) > 0 for key in keys)

    # Negative control: a planted canary is found by the same search.
    redis_empty.set("quorum:control", b"seen from 127.0.0.1 for " + id_number, ex=60)
    try:
        hits = _forbidden_hits(_redis_contents(redis_empty), needles)
    finally:
        redis_empty.delete("quorum:control")
    assert (b"quorum:control", b"127.0.0.1") in hits
    assert (b"quorum:control", id_number) in hits
