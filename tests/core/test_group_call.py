"""Group calls: many callers' items handled in batches on one thread, each answered its own."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Sequence

import pytest

from quorum.core.group_call import GroupCall


class Doubler:
    """Doubles each number; refuses negative ones; fails the whole batch on 1313."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.threads: set[str] = set()
        self.release = threading.Event()
        self.release.set()

    def __call__(self, items: Sequence[int]) -> list[int | BaseException]:
        self.release.wait(5)
        self.batches.append(list(items))
        self.threads.add(threading.current_thread().name)
        if 1313 in items:
            raise RuntimeError("unlucky batch")
        return [ValueError(n) if n < 0 else 2 * n for n in items]


def run(coroutine):
    # asyncio.run in a thread of its own: pytest's thread may hold a loop already.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@pytest.fixture
def doubler():
    handler = Doubler()
    group = GroupCall(handler, name="test-doubler", max_batch=50)
    yield handler, group
    handler.release.set()
    group.stop()


def test_each_caller_gets_the_answer_to_its_own_item(doubler) -> None:
    _handler, group = doubler

    async def many() -> list[int]:
        return await asyncio.gather(*(group(n) for n in range(200)))

    assert run(many()) == [2 * n for n in range(200)]


def test_callers_that_arrive_while_a_batch_runs_go_together_into_the_next(doubler) -> None:
    handler, group = doubler
    handler.release.clear()  # the first batch waits, the others queue up behind it

    async def many() -> list[int]:
        calls = [asyncio.ensure_future(group(n)) for n in range(120)]
        await asyncio.sleep(0.2)
        handler.release.set()
        return await asyncio.gather(*calls)

    assert run(many()) == [2 * n for n in range(120)]
    assert len(handler.batches) <= 4  # the first, then batches of at most 50
    assert max(len(batch) for batch in handler.batches) == 50
    assert handler.threads == {"test-doubler"}


def test_an_item_refused_raises_only_for_its_own_caller(doubler) -> None:
    _handler, group = doubler

    async def mixed() -> list[object]:
        return await asyncio.gather(group(1), group(-1), group(2), return_exceptions=True)

    one, refused, two = run(mixed())
    assert (one, two) == (2, 4)
    assert isinstance(refused, ValueError)


def test_a_failed_batch_fails_each_of_its_callers_and_the_next_batch_works(doubler) -> None:
    handler, group = doubler
    handler.release.clear()

    async def failing() -> list[object]:
        calls = [asyncio.ensure_future(group(n)) for n in (12, 1313, 14)]
        await asyncio.sleep(0.1)
        handler.release.set()
        return await asyncio.gather(*calls, return_exceptions=True)

    answers = run(failing())
    assert all(isinstance(a, RuntimeError) for a in answers), answers
    assert len({id(a) for a in answers}) == 3  # each its own copy
    assert group.call(5) == 10


def test_blocking_callers_on_threads_are_answered_too(doubler) -> None:
    _handler, group = doubler

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(group.call, range(40)))

    assert answers == [2 * n for n in range(40)]
    with pytest.raises(ValueError):
        group.call(-3)


@pytest.mark.django_db
def test_a_caller_inside_a_transaction_is_still_answered_on_the_group_thread(doubler) -> None:
    handler, group = doubler

    assert group.call(4) == 8
    assert handler.threads == {"test-doubler"}


def test_a_lone_call_is_answered_when_its_window_ends_though_the_wait_wakes_too_late() -> None:
    """The window a batch waits for more calls ends by itself, with nobody else calling, even
    when its wait is woken with nothing to take and gets going again only after the deadline
    (a busy machine, or a put taken before it woke). CPython 3.11's SimpleQueue then waited for
    the next put: a lone statement hung until the next signatory came."""
    handler = Doubler()
    window = 0.2
    group = GroupCall(handler, name="test-window", max_batch=50, max_wait=window)
    try:
        inbox = group._queue
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            answer = pool.submit(group.call, 21)
            time.sleep(window / 2)  # the group's thread has taken the call and waits for more
            with inbox.mutex:  # woken with nothing to take, and held up past the deadline
                inbox.not_empty.notify()
                time.sleep(window)
            assert answer.result(timeout=2) == 42
        assert handler.batches == [[21]]
    finally:
        group.stop()


def test_a_stopped_group_is_no_longer_alive(doubler) -> None:
    _handler, group = doubler
    assert group.alive
    group.stop()
    assert not group.alive


def test_a_call_after_stop_raises_instead_of_waiting_for_ever(doubler) -> None:
    _handler, group = doubler
    group.stop()

    with pytest.raises(RuntimeError, match="stopped"):
        group.call(1)
    with pytest.raises(RuntimeError, match="stopped"):
        run(group(1))


def test_an_on_demand_group_call_starts_once_and_again_after_stop() -> None:
    from quorum.core.group_call import OnDemandGroupCall

    on_demand = OnDemandGroupCall(Doubler(), name="test-on-demand", max_batch=5)
    first = on_demand.get()
    try:
        assert on_demand.get() is first
        assert first.call(2) == 4
        on_demand.stop()
        assert not first.alive
        again = on_demand.get()
        assert again is not first and again.call(3) == 6
    finally:
        on_demand.stop()
