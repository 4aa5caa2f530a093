"""Single use of a proof-of-work solution: new, duplicate (same answer), replay (refused)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import hmac
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from asgiref.sync import async_to_sync, sync_to_async
from django.db import connection

from quorum.signing import replay
from quorum.signing.models import SingleUseClaim
from quorum.signing.replay import (
    Claim,
    DatabaseReplayStore,
    RedisReplayStore,
    ReplayStoreUnavailableError,
    get_replay_store,
    reset_replay_store,
)

REDIS_TEST_URL = os.environ.get("QUORUM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SECRET = "test secret for the replay store"
SOLUTION = "5f" * 32
CONTENT = b'{"family_names":"Canary-7c1e","nationality":"AT"}'


def digest(content: bytes) -> bytes:
    # As the intake service computes it: a keyed hash of the canonical content.
    return hmac.new(b"content key", content, hashlib.sha256).digest()


DIGEST = digest(CONTENT)
OTHER_DIGEST = digest(b'{"family_names":"Someone-Else","nationality":"AT"}')

StoreFactory = Callable[..., Any]


def closing(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function``, closing the database connection of the thread it ran on afterwards."""

    def run(*args: Any) -> Any:
        try:
            return function(*args)
        finally:
            connection.close()

    return run


def in_own_loop(coroutine: Any) -> Any:
    """``coroutine`` run to its end in a thread and event loop of its own (the browser tests
    keep a loop running in the main thread)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


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


@pytest.fixture(params=["database", "redis"])
def make_store(request: pytest.FixtureRequest, transactional_db: None) -> StoreFactory:
    """Builds a store of each backend; every store of one test shares the same rows or keys.

    The database is used without a test transaction: other threads, on other connections,
    must see what one commits.
    """
    if request.param == "database":
        return lambda **options: DatabaseReplayStore(secret=SECRET, **options)
    client, prefix = request.getfixturevalue("redis_prefix")
    return lambda **options: RedisReplayStore(client, prefix=prefix, secret=SECRET, **options)


def test_a_fresh_solution_is_new_and_its_duplicate_gets_the_first_receipt(
    make_store: StoreFactory,
) -> None:
    store = make_store()

    assert store.claim(SOLUTION, DIGEST) == Claim.new()
    store.complete(SOLUTION, DIGEST, "receipt-1")

    assert store.claim(SOLUTION, DIGEST) == Claim.duplicate("receipt-1")
    assert store.claim(SOLUTION, DIGEST).receipt == "receipt-1"


def test_the_same_solution_with_other_content_is_a_replay(make_store: StoreFactory) -> None:
    store = make_store(pending_wait=0.05)
    store.claim(SOLUTION, DIGEST)

    assert store.claim(SOLUTION, OTHER_DIGEST) == Claim.replay()  # while pending
    store.complete(SOLUTION, DIGEST, "receipt-1")
    assert store.claim(SOLUTION, OTHER_DIGEST) == Claim.replay()  # and once completed


def test_completing_with_other_content_does_not_overwrite_the_first_claim(
    make_store: StoreFactory,
) -> None:
    store = make_store(pending_wait=0.05)
    store.claim(SOLUTION, DIGEST)

    store.complete(SOLUTION, OTHER_DIGEST, "forged")
    store.complete(SOLUTION, DIGEST, "receipt-1")

    assert store.claim(SOLUTION, DIGEST) == Claim.duplicate("receipt-1")


def test_a_fresh_solution_always_leads_to_a_new_claim(make_store: StoreFactory) -> None:
    store = make_store()
    store.claim(SOLUTION, DIGEST)
    store.complete(SOLUTION, DIGEST, "receipt-1")

    # Same content, another solved challenge: the person may sign again; the authority
    # removes duplicates at verification, never the platform.
    assert store.claim("6a" * 32, DIGEST) == Claim.new()


def test_a_duplicate_still_pending_after_the_wait_is_a_replay(make_store: StoreFactory) -> None:
    store = make_store(pending_wait=0.1)
    store.claim(SOLUTION, DIGEST)

    started = time.monotonic()
    assert store.claim(SOLUTION, DIGEST) == Claim.replay()
    assert 0.1 <= time.monotonic() - started < 2


def test_a_duplicate_waits_for_the_first_request_to_complete(make_store: StoreFactory) -> None:
    store = make_store(pending_wait=5.0)
    store.claim(SOLUTION, DIGEST)
    finisher = threading.Timer(0.2, closing(store.complete), (SOLUTION, DIGEST, "receipt-1"))
    finisher.start()

    started = time.monotonic()
    assert store.claim(SOLUTION, DIGEST) == Claim.duplicate("receipt-1")
    assert time.monotonic() - started < 3
    finisher.join()


def test_waiting_duplicates_hold_no_thread_so_the_first_can_complete(
    make_store: StoreFactory,
) -> None:
    store = make_store(pending_wait=5.0)
    assert store.claim(SOLUTION, DIGEST).is_new
    crowd = 40  # far more than the event loop's worker threads

    async def double_clicks() -> list[Claim]:
        waiters = [
            asyncio.ensure_future(replay.claim_without_blocking(SOLUTION, DIGEST, store=store))
            for _ in range(crowd)
        ]
        await asyncio.sleep(0.05)
        # The first request completes on a worker thread of its own, as the service does.
        await sync_to_async(store.complete, thread_sensitive=store.uses_database)(
            SOLUTION, DIGEST, "receipt-1"
        )
        return await asyncio.gather(*waiters)

    started = time.monotonic()
    results = async_to_sync(double_clicks)()

    assert results == [Claim.duplicate("receipt-1")] * crowd
    assert time.monotonic() - started < 3


def test_abandon_lets_the_same_solution_be_tried_again(make_store: StoreFactory) -> None:
    store = make_store()
    store.claim(SOLUTION, DIGEST)

    store.abandon(SOLUTION)

    assert store.claim(SOLUTION, DIGEST) == Claim.new()


def test_abandon_wakes_a_waiting_duplicate_which_then_claims_it(make_store: StoreFactory) -> None:
    store = make_store(pending_wait=5.0)
    store.claim(SOLUTION, DIGEST)
    releaser = threading.Timer(0.2, closing(store.abandon), (SOLUTION,))
    releaser.start()

    assert store.claim(SOLUTION, DIGEST) == Claim.new()
    releaser.join()


def test_abandon_does_not_release_a_completed_solution(make_store: StoreFactory) -> None:
    store = make_store()
    store.claim(SOLUTION, DIGEST)
    store.complete(SOLUTION, DIGEST, "receipt-1")

    store.abandon(SOLUTION)

    assert store.claim(SOLUTION, DIGEST) == Claim.duplicate("receipt-1")


def test_concurrent_claims_with_different_contents_yield_exactly_one_new(
    make_store: StoreFactory,
) -> None:
    store = make_store(pending_wait=0.2)
    threads = 16
    barrier = threading.Barrier(threads)
    results: list[Claim] = []
    lock = threading.Lock()

    @closing
    def submit(i: int) -> None:
        barrier.wait()
        result = store.claim(SOLUTION, digest(b"content %d" % i))
        with lock:
            results.append(result)

    workers = [threading.Thread(target=submit, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert sum(r.is_new for r in results) == 1
    assert sum(r.is_replay for r in results) == threads - 1


def test_concurrent_double_submissions_all_get_the_first_receipt(
    make_store: StoreFactory,
) -> None:
    store = make_store(pending_wait=5.0)
    threads = 12
    barrier = threading.Barrier(threads)
    results: list[Claim] = []
    lock = threading.Lock()

    @closing
    def submit() -> None:
        barrier.wait()
        result = store.claim(SOLUTION, DIGEST)
        if result.is_new:
            time.sleep(0.1)  # storing the statement
            store.complete(SOLUTION, DIGEST, "the-first-receipt")
        with lock:
            results.append(result)

    workers = [threading.Thread(target=submit) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert sum(r.is_new for r in results) == 1
    assert [r for r in results if not r.is_new] == [Claim.duplicate("the-first-receipt")] * (
        threads - 1
    )


@pytest.mark.django_db
def test_database_claims_expire_with_the_challenge() -> None:
    now = [1_800_000_000.0]
    store = DatabaseReplayStore(secret=SECRET, ttl_seconds=600, clock=lambda: now[0])
    store.claim(SOLUTION, DIGEST)
    store.complete(SOLUTION, DIGEST, "receipt-1")

    now[0] += 599
    assert store.claim(SOLUTION, DIGEST) == Claim.duplicate("receipt-1")
    now[0] += 2
    assert store.purge(now[0]) == 1
    assert SingleUseClaim.objects.count() == 0
    assert store.claim(SOLUTION, DIGEST) == Claim.new()


@pytest.mark.django_db
def test_an_expired_claim_is_taken_over_even_before_it_is_purged() -> None:
    now = [1_800_000_000.0]
    store = DatabaseReplayStore(secret=SECRET, ttl_seconds=600, clock=lambda: now[0])
    store.claim(SOLUTION, DIGEST)

    now[0] += 601
    assert store.claim(SOLUTION, OTHER_DIGEST) == Claim.new()


@pytest.mark.django_db
def test_the_database_keeps_no_solution_id_or_content_in_clear() -> None:
    store = DatabaseReplayStore(secret=SECRET)
    store.claim(SOLUTION, DIGEST)
    store.complete(SOLUTION, DIGEST, "receipt-1")
    store.claim("77" * 32, OTHER_DIGEST)

    kept = repr(list(SingleUseClaim.objects.values_list("slot", "content_tag", "receipt")))
    assert SingleUseClaim.objects.count() == 2
    for secret_part in (SOLUTION, "77" * 32, DIGEST.hex(), OTHER_DIGEST.hex(), "Canary"):
        assert secret_part not in kept


def test_a_database_that_cannot_be_written_fails_closed(table_locked_elsewhere: Any) -> None:
    store = DatabaseReplayStore(secret=SECRET)

    with table_locked_elsewhere("signing_singleuseclaim"):
        with pytest.raises(ReplayStoreUnavailableError):
            store.claim(SOLUTION, DIGEST)
        with pytest.raises(ReplayStoreUnavailableError):
            store.complete(SOLUTION, DIGEST, "receipt-1")

    assert store.claim(SOLUTION, DIGEST) == Claim.new()  # and it recovers


def test_two_redis_clients_with_separate_pools_see_the_same_claims(
    redis_prefix: tuple[redis.Redis, str],
) -> None:
    _client, prefix = redis_prefix
    # As two app processes would: each its own client and connection pool.
    first = RedisReplayStore(_redis_client(), prefix=prefix, secret=SECRET, pending_wait=0.05)
    second = RedisReplayStore(_redis_client(), prefix=prefix, secret=SECRET, pending_wait=0.05)

    assert first.claim(SOLUTION, DIGEST) == Claim.new()
    assert second.claim(SOLUTION, OTHER_DIGEST) == Claim.replay()
    first.complete(SOLUTION, DIGEST, "receipt-1")
    assert second.claim(SOLUTION, DIGEST) == Claim.duplicate("receipt-1")


def test_redis_keys_expire_with_the_challenge(redis_prefix: tuple[redis.Redis, str]) -> None:
    client, prefix = redis_prefix
    store = RedisReplayStore(client, prefix=prefix, secret=SECRET, ttl_seconds=900)
    store.claim(SOLUTION, DIGEST)
    keys = list(client.scan_iter(match=prefix + "*"))
    assert len(keys) == 1
    assert 0 < client.ttl(keys[0]) <= 900

    store.complete(SOLUTION, DIGEST, "receipt-1")

    assert 0 < client.ttl(keys[0]) <= 900


def test_redis_keeps_no_solution_id_or_content_in_clear(
    redis_prefix: tuple[redis.Redis, str],
) -> None:
    client, prefix = redis_prefix
    store = RedisReplayStore(client, prefix=prefix, secret=SECRET)
    store.claim(SOLUTION, DIGEST)
    store.complete(SOLUTION, DIGEST, "receipt-1")
    store.claim("77" * 32, OTHER_DIGEST)

    dump = b""
    for key in client.scan_iter(match=prefix + "*"):
        dump += key + b"\n" + client.get(key) + b"\n"

    assert dump.count(b"\n") == 4
    for secret_part in (SOLUTION.encode(), b"77" * 32, DIGEST, DIGEST.hex().encode(), b"Canary"):
        assert secret_part not in dump


def test_an_unreachable_redis_fails_closed() -> None:
    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    store = RedisReplayStore(client, secret=SECRET)

    with pytest.raises(ReplayStoreUnavailableError):
        store.claim(SOLUTION, DIGEST)


def test_the_store_is_chosen_once_per_process(settings: Any) -> None:
    settings.REDIS_URL = None
    reset_replay_store()
    try:
        store = get_replay_store()
        assert isinstance(store, DatabaseReplayStore)
        assert get_replay_store() is store

        settings.REDIS_URL = REDIS_TEST_URL
        assert get_replay_store() is store  # chosen once
        reset_replay_store()
        assert isinstance(get_replay_store(), RedisReplayStore)
    finally:
        reset_replay_store()


@pytest.mark.django_db
def test_the_module_functions_use_the_chosen_store() -> None:
    reset_replay_store(DatabaseReplayStore(secret=SECRET))
    try:
        assert replay.claim(SOLUTION, DIGEST).is_new
        replay.complete(SOLUTION, DIGEST, "receipt-1")
        assert replay.claim(SOLUTION, DIGEST).is_duplicate
        assert replay.claim("88" * 32, DIGEST).is_new
        replay.abandon("88" * 32)
        assert replay.claim("88" * 32, DIGEST).is_new
    finally:
        reset_replay_store()


def test_a_batch_of_claims_is_decided_in_its_order_as_one_by_one(make_store: StoreFactory) -> None:
    store = make_store()
    store.claim("aa" * 32, DIGEST)
    store.complete("aa" * 32, DIGEST, "receipt-a")

    answers = store.try_claim_many(
        [
            (SOLUTION, DIGEST),  # fresh
            (SOLUTION, DIGEST),  # the same form again in the same batch: still pending
            (SOLUTION, OTHER_DIGEST),  # the same solution for other content
            ("aa" * 32, DIGEST),  # a completed one sent again
        ]
    )

    assert answers == [Claim.new(), None, Claim.replay(), Claim.duplicate("receipt-a")]


def test_a_batch_of_completions_records_each_receipt(make_store: StoreFactory) -> None:
    store = make_store()
    solutions = [f"{n:02x}" * 32 for n in range(5)]
    for solution in solutions:
        assert store.claim(solution, DIGEST).is_new

    assert store.complete_many([(s, DIGEST, f"receipt-{s[:2]}") for s in solutions]) == [None] * 5

    for solution in solutions:
        assert store.claim(solution, DIGEST) == Claim.duplicate(f"receipt-{solution[:2]}")


def test_a_crowd_of_fresh_claims_goes_to_the_store_in_a_few_batches(
    make_store: StoreFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_store()
    batches: list[int] = []
    original = store.try_claim_many

    def counting(attempts: Any) -> Any:
        batches.append(len(attempts))
        return original(attempts)

    monkeypatch.setattr(store, "try_claim_many", counting)
    solutions = [f"{n:04x}" * 16 for n in range(100)]

    async def crowd() -> list[Claim]:
        return await asyncio.gather(
            *(replay.claim_without_blocking(s, DIGEST, store=store) for s in solutions)
        )

    assert in_own_loop(crowd()) == [Claim.new()] * 100
    assert sum(batches) == 100 and len(batches) < 50, batches


def test_a_store_that_cannot_be_reached_fails_each_claim_of_the_batch() -> None:
    store = RedisReplayStore(
        redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2), secret=SECRET
    )

    answers = store.try_claim_many([(SOLUTION, DIGEST), ("aa" * 32, DIGEST)])

    assert all(isinstance(a, ReplayStoreUnavailableError) for a in answers)
    assert answers[0] is not answers[1]
    with pytest.raises(ReplayStoreUnavailableError):
        in_own_loop(replay.complete_without_blocking(SOLUTION, DIGEST, "r", store=store))
