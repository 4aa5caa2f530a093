"""Per-client rate limits: burst and sustained sliding windows, keyed without raw addresses."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime
import os
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.db import connection
from django.test import RequestFactory

from quorum.core.clients import address_group, client_address
from quorum.signing import ratelimit
from quorum.signing.models import RateLog
from quorum.signing.ratelimit import (
    DatabaseRateStore,
    Hit,
    RateDecision,
    RateStoreUnavailableError,
    RedisRateStore,
    Window,
    check_rate,
    get_rate_store,
    rate_key,
    reset_rate_store,
    store_hit,
)

REDIS_TEST_URL = os.environ.get("QUORUM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SCOPE = "statement:clean-air"
ADDRESS = "198.51.100.23"
T0 = datetime.datetime(2026, 3, 10, 9, 0, tzinfo=datetime.UTC).timestamp()


def _redis_client() -> redis.Redis:
    return redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=0.5, socket_timeout=5)


@pytest.fixture
def redis_prefix() -> Iterator[tuple[redis.Redis, str]]:
    """A Redis client on a test database, and a key prefix of its own; keys removed after."""
    client = _redis_client()
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip(f"no Redis server answers at {REDIS_TEST_URL}")
    prefix = f"quorum-test:{uuid.uuid4().hex}:"
    yield client, prefix
    for key in client.scan_iter(match=prefix + "*"):
        client.delete(key)
    client.close()


@pytest.fixture
def limits(settings: Any) -> Any:
    settings.QUORUM_RATE_BURST = 3
    settings.QUORUM_RATE_BURST_SECONDS = 60
    settings.QUORUM_RATE_SUSTAINED = 5
    settings.QUORUM_RATE_SUSTAINED_SECONDS = 3600
    return settings


@pytest.fixture(params=["database", "redis"])
def store(request: pytest.FixtureRequest, limits: Any, transactional_db: None) -> Iterator[Any]:
    """The store check_rate uses, of each backend.

    The database is used without a test transaction: other threads, on other connections,
    must see what one commits.
    """
    if request.param == "database":
        chosen: Any = DatabaseRateStore()
    else:
        client, prefix = request.getfixturevalue("redis_prefix")
        chosen = RedisRateStore(client, prefix=prefix)
    reset_rate_store(chosen)
    yield chosen
    reset_rate_store()


def hits(address: str, times: list[float], scope: str = SCOPE) -> list[RateDecision]:
    return [check_rate(address, scope=scope, now=t) for t in times]


def test_a_burst_beyond_the_limit_is_refused_with_a_retry_after(store: Any) -> None:
    decisions = hits(ADDRESS, [T0, T0 + 1, T0 + 2, T0 + 3])

    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert decisions[-1].retry_after == 57  # the first hit leaves the window at T0 + 60
    assert decisions[0] == RateDecision(allowed=True, retry_after=0)


def test_retry_after_is_at_least_one_second(store: Any) -> None:
    decisions = hits(ADDRESS, [T0, T0, T0, T0 + 59.9])

    assert decisions[-1] == RateDecision(allowed=False, retry_after=1)


def test_after_the_burst_window_the_client_is_allowed_again(store: Any) -> None:
    hits(ADDRESS, [T0, T0 + 1, T0 + 2])
    assert not check_rate(ADDRESS, scope=SCOPE, now=T0 + 59).allowed

    assert check_rate(ADDRESS, scope=SCOPE, now=T0 + 60).allowed


def test_refused_attempts_do_not_count(store: Any) -> None:
    hits(ADDRESS, [T0, T0 + 1, T0 + 2])
    hits(ADDRESS, [T0 + 10 + i for i in range(20)])

    assert check_rate(ADDRESS, scope=SCOPE, now=T0 + 61).allowed


def test_the_sustained_window_refuses_spread_out_bursts(store: Any) -> None:
    decisions = hits(ADDRESS, [T0 + 100 * i for i in range(6)])

    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert decisions[-1].retry_after == 3600 - 500
    assert check_rate(ADDRESS, scope=SCOPE, now=T0 + 3600).allowed


def test_two_addresses_are_counted_apart(store: Any) -> None:
    hits(ADDRESS, [T0, T0, T0])

    assert not check_rate(ADDRESS, scope=SCOPE, now=T0).allowed
    assert check_rate("198.51.100.24", scope=SCOPE, now=T0).allowed


def test_two_scopes_are_counted_apart(store: Any) -> None:
    hits(ADDRESS, [T0, T0, T0])

    assert check_rate(ADDRESS, scope="statement:other", now=T0).allowed


def test_ipv6_addresses_in_one_64_share_a_bucket(store: Any) -> None:
    hits("2001:db8:1:2::1", [T0])
    hits("2001:db8:1:2:ffff:ffff:ffff:ffff", [T0])
    hits("2001:db8:1:2:abcd::9%eth0", [T0])

    assert not check_rate("2001:db8:1:2::77", scope=SCOPE, now=T0).allowed
    assert check_rate("2001:db8:1:3::1", scope=SCOPE, now=T0).allowed


def test_ipv4_mapped_ipv6_counts_as_its_ipv4_address(store: Any) -> None:
    hits("::ffff:198.51.100.23", [T0, T0, T0])

    assert not check_rate(ADDRESS, scope=SCOPE, now=T0).allowed


def test_a_missing_or_odd_address_is_still_limited_without_raising(store: Any) -> None:
    decisions = hits("", [T0] * 4) + hits("unix:/run/quorum.sock", [T0] * 4)

    assert [d.allowed for d in decisions] == [True, True, True, False] * 2


def test_the_default_clock_is_the_wall_clock(store: Any, time_machine: Any) -> None:
    time_machine.move_to(datetime.datetime.fromtimestamp(T0, tz=datetime.UTC), tick=False)
    for _ in range(3):
        assert check_rate(ADDRESS, scope=SCOPE).allowed
    assert not check_rate(ADDRESS, scope=SCOPE).allowed

    time_machine.shift(60)
    assert check_rate(ADDRESS, scope=SCOPE).allowed


def test_concurrent_hits_allow_exactly_the_limit(store: Any) -> None:
    threads = 20
    barrier = threading.Barrier(threads)
    allowed: list[bool] = []
    lock = threading.Lock()

    def hit() -> None:
        try:
            barrier.wait()
            decision = check_rate(ADDRESS, scope=SCOPE, now=T0)
            with lock:
                allowed.append(decision.allowed)
        finally:
            connection.close()  # this thread's own database connection

    workers = [threading.Thread(target=hit) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert allowed.count(True) == 3


def test_the_key_is_a_keyed_hash_that_turns_at_utc_midnight(limits: Any) -> None:
    before = datetime.datetime(2026, 3, 10, 23, 59, 59, tzinfo=datetime.UTC).timestamp()

    key = rate_key(ADDRESS, scope=SCOPE, now=before)

    assert ADDRESS not in key and "198" not in key
    assert key == rate_key(ADDRESS, scope=SCOPE, now=before - 3600)
    assert key != rate_key(ADDRESS, scope=SCOPE, now=before + 1)
    limits.SECRET_KEY = "another secret"
    assert key != rate_key(ADDRESS, scope=SCOPE, now=before)


@pytest.mark.parametrize(
    ("address", "group"),
    [
        ("198.51.100.23", "198.51.100.23"),
        (" 198.51.100.23 ", "198.51.100.23"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2::1%eth0", "2001:db8:1:2::/64"),
        ("::ffff:198.51.100.23", "198.51.100.23"),
        ("", "other:"),
    ],
)
def test_addresses_are_grouped_as_one_client(address: str, group: str) -> None:
    assert address_group(address) == group


def test_the_client_address_is_remote_addr_and_forwarded_headers_are_ignored() -> None:
    request = RequestFactory().post(
        "/", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="192.0.2.1", HTTP_X_REAL_IP="192.0.2.2"
    )

    assert client_address(request) == "203.0.113.9"
    assert client_address(object()) == ""


@pytest.mark.django_db
def test_the_database_store_forgets_clients_whose_windows_have_passed() -> None:
    store = DatabaseRateStore()
    windows = [Window("b", 3, 60), Window("s", 5, 3600)]
    for i in range(50):
        store_hit(store, f"client-{i}", windows, T0)
    assert RateLog.objects.count() == 50

    store_hit(store, "late", windows, T0 + 3601)

    assert list(RateLog.objects.values_list("key", flat=True)) == ["late"]


@pytest.mark.django_db
def test_a_very_high_limit_keeps_each_log_small_and_still_holds() -> None:
    store = DatabaseRateStore()
    windows = [Window("b", 1000, 60)]
    for i in range(1000):
        assert store_hit(store, "k", windows, T0 + i * 0.05).allowed

    assert not store_hit(store, "k", windows, T0 + 50).allowed  # 1,000 hits in the last minute
    (hits,) = RateLog.objects.values_list("hits", flat=True)
    assert len(hits["b"]) <= 128
    assert sum(n for _t, n in hits["b"]) == 1000
    # Merged hit times are rounded up by at most 1/64 of the window, never down.
    assert not store_hit(store, "k", windows, T0 + 59).allowed
    assert store_hit(store, "k", windows, T0 + 49.95 + 60 + 1).allowed


@pytest.mark.django_db(transaction=True)  # the batching thread commits on its own
def test_expired_logs_are_purged_on_request(limits: Any) -> None:
    reset_rate_store(DatabaseRateStore())
    try:
        check_rate(ADDRESS, scope=SCOPE, now=T0)
        check_rate("198.51.100.24", scope=SCOPE, now=T0 + 1800)

        assert ratelimit.purge_expired(now=T0 + 3601) == 1
        assert RateLog.objects.count() == 1
    finally:
        reset_rate_store()


@pytest.mark.django_db
def test_two_database_stores_share_the_counts(limits: Any) -> None:
    # As two app processes would: each its own store object, one database.
    first, second = DatabaseRateStore(), DatabaseRateStore()
    key = rate_key(ADDRESS, scope=SCOPE, now=T0)
    windows = [Window("b", 3, 60), Window("s", 5, 3600)]

    assert store_hit(first, key, windows, T0).allowed
    assert store_hit(second, key, windows, T0 + 1).allowed
    assert store_hit(first, key, windows, T0 + 2).allowed
    assert store_hit(second, key, windows, T0 + 3) == RateDecision(allowed=False, retry_after=57)


@pytest.mark.django_db(transaction=True)  # the batching thread commits on its own
def test_the_database_keeps_no_raw_address_and_each_log_stays_within_its_limit(
    limits: Any,
) -> None:
    reset_rate_store(DatabaseRateStore())
    try:
        for i in range(10):
            check_rate(ADDRESS, scope=SCOPE, now=T0 + 100 * i)
        check_rate("2001:db8:1:2::1", scope=SCOPE, now=T0)
    finally:
        reset_rate_store()

    rows = list(RateLog.objects.values_list("key", "hits", "expires_at"))
    assert len(rows) == 2
    dump = repr(rows)
    for raw in (ADDRESS, "198.51.100", "2001:db8", "2001:0db8", SCOPE):
        assert raw not in dump
    for _key, hits, _expires_at in rows:
        assert len(hits["b"]) <= 3 and len(hits["s"]) <= 5


def test_a_database_that_cannot_be_written_fails_closed(
    limits: Any, table_locked_elsewhere: Any
) -> None:
    reset_rate_store(DatabaseRateStore())
    try:
        with table_locked_elsewhere("signing_ratelog"), pytest.raises(RateStoreUnavailableError):
            check_rate(ADDRESS, scope=SCOPE, now=T0)
        assert check_rate(ADDRESS, scope=SCOPE, now=T0).allowed  # and it recovers
    finally:
        reset_rate_store()


def test_two_redis_clients_with_separate_pools_share_the_counts(
    limits: Any, redis_prefix: tuple[redis.Redis, str]
) -> None:
    _client, prefix = redis_prefix
    # As two app processes would: each its own client and connection pool.
    first, second = (
        RedisRateStore(_redis_client(), prefix=prefix),
        RedisRateStore(_redis_client(), prefix=prefix),
    )
    key = rate_key(ADDRESS, scope=SCOPE, now=T0)
    windows = [Window("b", 3, 60), Window("s", 5, 3600)]

    assert store_hit(first, key, windows, T0).allowed
    assert store_hit(second, key, windows, T0 + 1).allowed
    assert store_hit(first, key, windows, T0 + 2).allowed
    assert store_hit(second, key, windows, T0 + 3) == RateDecision(allowed=False, retry_after=57)


def test_redis_keeps_no_raw_address_and_expires_with_the_window(
    limits: Any, redis_prefix: tuple[redis.Redis, str]
) -> None:
    client, prefix = redis_prefix
    reset_rate_store(RedisRateStore(client, prefix=prefix))
    try:
        now = datetime.datetime.now(datetime.UTC).timestamp()
        check_rate(ADDRESS, scope=SCOPE, now=now)
        check_rate("2001:db8:1:2::1", scope=SCOPE, now=now)
    finally:
        reset_rate_store()

    keys = list(client.scan_iter(match=prefix + "*"))
    assert len(keys) == 4  # burst and sustained windows of two clients
    dump = b""
    for key in keys:
        ttl = client.ttl(key)
        assert 0 < ttl <= (60 if key.endswith(b":b") else 3600)
        dump += key + b"".join(m for m, _score in client.zrange(key, 0, -1, withscores=True))
    for raw in (ADDRESS, "198.51.100", "2001:db8", "2001:0db8", SCOPE):
        assert raw.encode() not in dump


def test_an_unreachable_redis_fails_closed(limits: Any) -> None:
    store = RedisRateStore(redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2))
    reset_rate_store(store)
    try:
        with pytest.raises(RateStoreUnavailableError):
            check_rate(ADDRESS, scope=SCOPE, now=T0)
    finally:
        reset_rate_store()


def test_the_store_is_chosen_once_per_process(settings: Any) -> None:
    settings.REDIS_URL = None
    reset_rate_store()
    try:
        store = get_rate_store()
        assert isinstance(store, DatabaseRateStore)
        settings.REDIS_URL = REDIS_TEST_URL
        assert get_rate_store() is store
        reset_rate_store()
        assert isinstance(get_rate_store(), RedisRateStore)
    finally:
        reset_rate_store()


def test_a_batch_is_decided_in_its_order_exactly_as_one_hit_after_another(store: Any) -> None:
    windows = (Window("b", 3, 60), Window("s", 5, 3600))
    first, second = (
        rate_key(ADDRESS, scope=SCOPE, now=T0),
        rate_key("192.0.2.1", scope=SCOPE, now=T0),
    )
    batch = [Hit(k, windows, T0 + n) for n, k in enumerate([first, first, second, first, first])]

    answers = store.hit_many(batch)  # the first client at T0, +1 and +3: free at T0 + 60

    assert answers == [
        RateDecision(allowed=True),
        RateDecision(allowed=True),
        RateDecision(allowed=True),
        RateDecision(allowed=True),
        RateDecision(allowed=False, retry_after=56),
    ]
    assert store_hit(store, second, windows, T0 + 5).allowed  # the other client has its own


class CountingStore:
    """A store that counts the batches it is handed."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.batches: list[int] = []

    def hit_many(self, hits: Any) -> Any:
        self.batches.append(len(hits))
        return self.inner.hit_many(hits)

    def purge(self, now: float) -> int:
        return self.inner.purge(now)


def _crowd(addresses: list[str]) -> list[RateDecision]:
    async def all_at_once() -> list[RateDecision]:
        return await asyncio.gather(
            *(ratelimit.check_rate_async(a, scope=SCOPE, now=T0) for a in addresses)
        )

    # asyncio.run in a thread of its own: the test's thread may already run a loop.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, all_at_once()).result()


def test_a_crowd_arriving_at_once_is_decided_in_a_few_batches(store: Any) -> None:
    counting = CountingStore(store)
    reset_rate_store(counting)
    addresses = [f"198.51.100.{n}" for n in range(100)]

    decisions = _crowd(addresses)

    assert all(d.allowed for d in decisions)
    assert sum(counting.batches) == 100
    assert len(counting.batches) < 50, counting.batches


def test_a_crowd_from_one_address_gets_exactly_the_limit(store: Any) -> None:
    decisions = _crowd([ADDRESS] * 100)

    assert [d.allowed for d in decisions].count(True) == 3
    assert all(d.retry_after >= 1 for d in decisions if not d.allowed)


@pytest.mark.django_db
def test_a_batch_of_many_clients_is_decided_in_two_statements_on_sqlite(limits: Any) -> None:
    """Inside the write lock every statement the database runs counts: a crowd's batch (a key
    for each hit) is the same two as one client's (read, then write every changed key; the
    write lock makes PostgreSQL's first step, a row for each new key to lock, needless), and
    each client's hit is recorded."""
    if connection.vendor != "sqlite":
        pytest.skip("counts what SQLite runs (its trace callback sees each executemany row)")
    store = DatabaseRateStore()
    windows = (Window("b", 3, 60), Window("s", 5, 3600))
    hits = [Hit(f"client-{n:02d}", windows, T0 + n / 100) for n in range(40)]
    store.hit_many(hits[:5])  # some clients already known, the others new
    ran: list[str] = []
    connection.ensure_connection()
    connection.connection.set_trace_callback(ran.append)
    try:
        answers = store.hit_many(hits)
    finally:
        connection.connection.set_trace_callback(None)

    assert [sql.split()[0] for sql in ran if sql.split()[0] in ("INSERT", "SELECT", "UPDATE")] == [
        "SELECT",
        "INSERT",
    ]
    assert [getattr(answer, "allowed", None) for answer in answers] == [True] * 40
    counted = {
        key: sum(n for _t, n in logs["b"])
        for key, logs in RateLog.objects.values_list("key", "hits")
    }
    assert counted == {f"client-{n:02d}": 2 if n < 5 else 1 for n in range(40)}
