"""Several app processes, one shared store: single use, rate limits and sign-in counts hold.

Test matrix I4 ("a replay sent to another app instance") and A5 (canary grep of the shared
store): separate ``quorum serve`` processes on their own ports share one data folder (so one
SECRET_KEY and one database). Every test runs twice: with Redis as the shared store, and
without Redis, when the database (the one SQLite file, or the PostgreSQL database) is what the
processes share. Proof of work is on, at the lowest difficulty settings allow
(``QUORUM_POW_MAX_NUMBER`` minimum 1,000); the burst limit is 3, the sign-in limit 3.

Servers A and B have one worker each; server C has two workers and limits out of the way, for
parallel bursts. The Redis runs are skipped when Redis does not answer on 127.0.0.1:6379; they
use Redis database 14 only (13, 12, … for further pytest-xdist workers), emptied before each
test and after the module.
"""

from __future__ import annotations

import http.client
import ipaddress
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode

import pytest

pytestmark = pytest.mark.slow

# One Redis database per pytest-xdist worker (14, 13, …): each empties only its own.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
REDIS_URL = f"redis://127.0.0.1:6379/{14 - int(_WORKER or 0) % 8}"
BURST = 3
BURST_SECONDS = 60
SIGN_IN_LIMIT = 3
PARALLEL = 20
MAX_KEYS = 10_000
HTTP_TIMEOUT = 30.0
SHARED_TABLES = ("signing_ratelog", "signing_singleuseclaim", "core_signincounter")

SERVER_ENV = {
    "QUORUM_POW": "on",
    "QUORUM_POW_MAX_NUMBER": "1000",  # the minimum settings.py accepts
    "QUORUM_RATE_BURST": str(BURST),
    "QUORUM_RATE_BURST_SECONDS": str(BURST_SECONDS),
    "QUORUM_RATE_SUSTAINED": "1000",
    "QUORUM_LOGIN_MAX_FAILURES": str(SIGN_IN_LIMIT),
}
# Server C: the rate limit must not turn a burst from 127.0.0.1 away before single use is tried.
BURST_SERVER_ENV = {**SERVER_ENV, "QUORUM_RATE_BURST": "100000", "QUORUM_RATE_SUSTAINED": "100000"}


@dataclass
class SharedStore:
    """What the servers share besides the database: Redis, or nothing (the database itself)."""

    kind: str  # "redis" or "database"
    env: dict[str, str]
    site: Any
    redis: Any = None

    def empty(self) -> None:
        """No rate-limit, single-use or sign-in entries left, in whichever store holds them."""
        if self.redis is not None:
            self.redis.flushdb()
        for table in SHARED_TABLES:
            self.site.execute(f"DELETE FROM {table}")


@pytest.fixture(scope="module", params=["database", "redis"])
def shared_store(request, quorum_site) -> Iterator[SharedStore]:
    if request.param == "database":
        yield SharedStore(kind="database", env={}, site=quorum_site)
        return
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2.0, socket_connect_timeout=2.0)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        pytest.skip(f"Redis does not answer at 127.0.0.1:6379 ({type(exc).__name__})")
    client.flushdb()
    try:
        yield SharedStore(
            kind="redis", env={"REDIS_URL": REDIS_URL}, site=quorum_site, redis=client
        )
    finally:
        client.flushdb()
        client.close()


@pytest.fixture(scope="module")
def servers(shared_store, quorum_site):
    """Servers A and B (one worker each) and C (two workers): same data folder and store."""
    try:
        a = quorum_site.start_server(workers=1, **SERVER_ENV, **shared_store.env)
        b = quorum_site.start_server(workers=1, **SERVER_ENV, **shared_store.env)
        c = quorum_site.start_server(workers=2, **BURST_SERVER_ENV, **shared_store.env)
        yield a, b, c
    finally:
        quorum_site.kill_all()


@pytest.fixture
def shared(shared_store) -> SharedStore:
    """Every test starts with no rate-limit, single-use or sign-in entries."""
    shared_store.empty()
    return shared_store


@pytest.fixture
def clients(servers):
    a, b, _c = servers
    client_a, client_b = a.client(), b.client()
    try:
        yield client_a, client_b
    finally:
        client_a.close()
        client_b.close()


def test_a_solution_used_at_one_server_is_single_use_at_the_other(
    shared, clients, quorum_site, polish_signatories
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
    shared, clients, quorum_site, polish_signatories
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


def _in_parallel(server, bodies: list[dict[str, Any]]) -> list[tuple[int, dict[str, str], Any]]:
    """Every body POSTed at once, each on its own connection (so across both workers)."""
    barrier = threading.Barrier(len(bodies))
    answers: list[Any] = [None] * len(bodies)

    def send(i: int) -> None:
        client = server.client()
        try:
            barrier.wait(timeout=HTTP_TIMEOUT)
            answers[i] = client.post_statement(bodies[i])
        finally:
            client.close()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=2 * HTTP_TIMEOUT)
    assert all(answer is not None for answer in answers), answers
    return answers


def test_one_solution_sent_with_twenty_statements_at_once_stores_one(
    shared, servers, quorum_site, polish_signatories
) -> None:
    _a, _b, c = servers
    make = polish_signatories("burst")
    solver = c.client()
    try:
        altcha = solver.solved_pow()
    finally:
        solver.close()
    before = len(quorum_site.leaf_hashes())

    answers = _in_parallel(c, [{**make(), "altcha": altcha} for _ in range(PARALLEL)])

    statuses = sorted(status for status, _h, _b in answers)
    assert statuses == [201] + [422] * (PARALLEL - 1), answers
    assert all(list(body["errors"]) == ["altcha"] for status, _h, body in answers if status == 422)
    assert len(quorum_site.leaf_hashes()) == before + 1


def test_one_form_sent_twenty_times_at_once_is_stored_once_with_one_receipt(
    shared, servers, quorum_site, polish_signatories
) -> None:
    _a, _b, c = servers
    solver = c.client()
    try:
        statement = {**polish_signatories("double")(), "altcha": solver.solved_pow()}
    finally:
        solver.close()
    before = len(quorum_site.leaf_hashes())

    answers = _in_parallel(c, [statement] * PARALLEL)

    assert [status for status, _h, _b in answers] == [201] * PARALLEL, answers
    receipts = {body["receipt"] for _status, _h, body in answers}
    assert len(receipts) == 1
    assert len(quorum_site.leaf_hashes()) == before + 1


@pytest.fixture(scope="module")
def staff_account(shared_store, quorum_site) -> tuple[str, str]:
    """A staff user of this installation: (username, password)."""
    username = f"throttled-{shared_store.kind}"
    password = "a password for the multi-process test"
    password_file = quorum_site.data_dir / f"{username}.password"
    password_file.write_text(password + "\n", encoding="utf-8")
    quorum_site.run_command(
        *("users", "create", username, "--email", f"{username}@example.eu"),
        *("--role", "operator", "--password-file", str(password_file)),
    )
    return username, password


def _password_step(port: int, username: str, password: str) -> int:
    """The password step as a fresh browser takes it (CSRF cookie and token): the status."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT)
    try:
        connection.request("GET", "/account/login/", headers={"Accept-Language": "en"})
        response = connection.getresponse()
        page = response.read().decode()
        assert response.status == 200, page[:500]
        cookies = SimpleCookie()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookies.load(header)
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert match and "csrftoken" in cookies, "no CSRF token on the sign-in page"
        body = urlencode(
            {"csrfmiddlewaretoken": match.group(1), "username": username, "password": password}
        )
        connection.request(
            "POST",
            "/account/login/",
            body=body,
            headers={
                "Accept-Language": "en",
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": f"csrftoken={cookies['csrftoken'].value}",
            },
        )
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def test_wrong_passwords_at_either_server_count_towards_one_limit(
    shared, servers, staff_account
) -> None:
    a, b, _c = servers
    username, password = staff_account

    wrong = [_password_step(server.port, username, "wrong") for server in (a, b, a)]

    assert wrong == [422] * SIGN_IN_LIMIT
    assert _password_step(b.port, username, "wrong") == 429
    assert _password_step(a.port, username, password) == 429  # even the right one, for now


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


def _database_contents(site) -> list[tuple[bytes, list[bytes]]]:
    """(table and first column, every column as text) for each row of the shared tables."""
    contents = []
    for table in SHARED_TABLES:
        for row in site.query(f"SELECT * FROM {table}"):
            cells = [str(cell).encode() for cell in row]
            contents.append((f"{table}:".encode() + cells[0], cells))
    return contents


def _forbidden_hits(contents, needles: list[bytes]) -> list[tuple[bytes, bytes]]:
    hits = []
    for key, values in contents:
        for blob in (key, *values):
            for needle in needles:
                if needle.lower() in blob.lower():
                    hits.append((key, needle))
    return hits


def test_the_shared_store_holds_no_client_address_names_or_id_numbers(
    shared, clients, servers, staff_account, polish_signatories
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
    username, _password = staff_account
    assert _password_step(servers[0].port, username, "wrong") == 422

    id_number = sent[0]["id_number"].encode()
    needles = [b"127.0.0.1", ipaddress.ip_address("127.0.0.1").packed, b"7f000001"]
    needles += [username.encode()]
    for statement in sent:
        needles += [statement["id_number"].encode()]
        needles += [part.encode() for part in statement["first_names"].split()]
        needles += [statement["family_names"].encode()]

    if shared.kind == "redis":
        contents = _redis_contents(shared.redis)
        keys = [key for key, _values in contents]
        # Not blind: the shared state of both servers is there to be searched.
        assert any(key.startswith(b"quorum:rate:") for key in keys), keys
        assert any(key.startswith(b"quorum:pow:") for key in keys), keys
        assert any(key.startswith(b"quorum:login:") for key in keys), keys
        # Every entry goes away by itself (TTL), so Redis stays bounded.
        assert all(shared.redis.ttl(key) > 0 for key in keys)
    else:
        contents = _database_contents(shared.site)
        keys = [key for key, _values in contents]
        for table in SHARED_TABLES:
            assert any(key.startswith(table.encode()) for key in keys), keys
    assert _forbidden_hits(contents, needles) == []

    # Negative control: a planted canary is found by the same search.
    planted = [(b"quorum:control", [b"seen from 127.0.0.1 for " + id_number])]
    hits = _forbidden_hits(contents + planted, needles)
    assert (b"quorum:control", b"127.0.0.1") in hits
    assert (b"quorum:control", id_number) in hits
