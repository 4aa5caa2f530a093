"""Group calls: many requests' calls of one kind answered by one call on one thread.

A statement needs a few short writes to shared state (its rate-limit hit, then its row). Made
one by one, each takes the database's write lock (on SQLite there is one for the whole file) or
a round trip to Redis, and under a crowd the requests queue behind each other for it. Gathered,
the calls that arrive while one batch is being written go together in the next: one
transaction, one fsync or one pipelined round trip for all of them, and each caller still gets
its own answer, only once the batch is done. This is what the intake writer does for statement
rows (group commit); the rate limit does the same for its hits.

One thread per group call owns its database connection (kept between batches: reopening costs
more than a batch) and wakes each waiting event loop once per batch, not once per call.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

from django.db import connection

from quorum.core.metrics import observe_batch

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

# Who waits for an item: an event loop's future, or a thread's (blocking callers).
_AsyncWaiter = tuple[asyncio.AbstractEventLoop, "asyncio.Future[R]"]
_Waiter = _AsyncWaiter | Future
_Item = tuple[T, _Waiter]


class GroupCall(Generic[T, R]):
    """``await group(item)`` or ``group.call(item)``: ``handle_many`` on a batch that holds it.

    A batch is what has queued up while the previous one ran, waiting at most ``max_wait``
    seconds for more (0: never wait, take what is there), up to ``max_batch`` items. When
    ``handle_many`` raises, every item of the batch gets that exception and the thread's
    connection is closed (the next batch reconnects).

    Items are always handled on the group's own thread and connection, whatever transaction
    the caller may be in: what is written there is committed when the caller is answered (a
    statement is acknowledged only once it is committed for good). Tests that look at such
    writes therefore run without a test transaction.
    """

    def __init__(
        self,
        handle_many: Callable[[Sequence[T]], Sequence[R | BaseException]],
        *,
        name: str,
        max_batch: int,
        max_wait: float = 0.0,
    ) -> None:
        self.handle_many = handle_many
        self.name = name
        self.max_batch = max_batch
        self.max_wait = max_wait
        # A Queue, not a SimpleQueue: CPython 3.11's SimpleQueue.get(timeout=...) can wait until
        # the next put instead of giving up, when its deadline passes as it wakes with nothing
        # to take (the time left turns negative, which its lock takes as "wait for ever"). The
        # last wait of a batch's short window is where that happens: a lone statement then
        # waited for the next signatory. Queue's wait checks its deadline each time it wakes.
        self._queue: queue.Queue[_Item | None] = queue.Queue()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    async def __call__(self, item: T) -> R:
        self._refuse_if_stopped()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._queue.put((item, (loop, future)))
        return await future

    def call(self, item: T) -> R:
        """The blocking form, for code on a thread (a sync view, a command, a test)."""
        self._refuse_if_stopped()
        future: Future = Future()
        self._queue.put((item, future))
        return future.result()

    def stop(self, timeout: float = 5.0) -> None:
        """Handle what is queued, then end the thread and close its connection. A call after
        this raises instead of waiting for a thread that is gone."""
        self._stopped = True
        self._queue.put(None)
        self._thread.join(timeout)

    def _refuse_if_stopped(self) -> None:
        if self._stopped:
            raise RuntimeError(f"{self.name} has stopped")

    def _gather(self, first: _Item) -> tuple[list[_Item], bool]:
        batch = [first]
        deadline = time.monotonic() + self.max_wait
        while len(batch) < self.max_batch:
            remaining = deadline - time.monotonic()
            try:
                item = (
                    self._queue.get(timeout=remaining)
                    if remaining > 0
                    else self._queue.get_nowait()
                )
            except queue.Empty:
                break
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False

    def _run(self) -> None:
        stopping = False
        try:
            while not stopping:
                first = self._queue.get()
                if first is None:
                    break
                batch, stopping = self._gather(first)
                observe_batch(self.name, len(batch))
                _resolve(batch, self._answers(batch))
        finally:
            connection.close()
            self._stopped = True
            self._refuse_left_over()

    def _refuse_left_over(self) -> None:
        # Calls queued while the thread was ending: answered, never left waiting.
        left: list[_Item] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                left.append(item)
        if left:
            _resolve(left, [RuntimeError(f"{self.name} has stopped") for _ in left])

    def _answers(self, batch: list[_Item]) -> Sequence[R | BaseException]:
        try:
            answers = self.handle_many([item for item, _waiter in batch])
        except BaseException as exc:
            # A failed batch may leave the connection broken or mid-transaction.
            try:
                connection.close()
            except Exception:
                logger.warning("%s: could not close its connection after a failure", self.name)
            # Each waiter raises its own copy: one object raised in many tasks would gather
            # all their tracebacks.
            return [exc, *(copy.copy(exc) for _ in batch[1:])]
        if len(answers) != len(batch):
            error = RuntimeError(f"{self.name}: {len(answers)} answers for {len(batch)} calls")
            return [error] * len(batch)
        return answers


class OnDemandGroupCall(Generic[T, R]):
    """A process's group call, started at its first use (again if its thread has ended) and
    stopped by :meth:`stop` (tests, when they put another store in place)."""

    def __init__(
        self,
        handle_many: Callable[[Sequence[T]], Sequence[R | BaseException]],
        *,
        name: str,
        max_batch: int,
        max_wait: float = 0.0,
    ) -> None:
        self._handle_many = handle_many
        self._name = name
        self._max_batch = max_batch
        self._max_wait = max_wait
        self._lock = threading.Lock()
        self._group: GroupCall[T, R] | None = None

    def get(self) -> GroupCall[T, R]:
        with self._lock:
            if self._group is None or not self._group.alive:
                self._group = GroupCall(
                    self._handle_many,
                    name=self._name,
                    max_batch=self._max_batch,
                    max_wait=self._max_wait,
                )
            return self._group

    def stop(self) -> None:
        with self._lock:
            group, self._group = self._group, None
        if group is not None:
            group.stop()


def _resolve(batch: list[_Item], answers: Sequence[object]) -> None:
    """Answer every waiter of a batch: one wake-up per event loop, however many calls."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future, object]]] = {}
    for (_item, waiter), answer in zip(batch, answers, strict=True):
        if isinstance(waiter, Future):
            if isinstance(answer, BaseException):
                waiter.set_exception(answer)
            else:
                waiter.set_result(answer)
            continue
        loop, future = waiter
        by_loop.setdefault(loop, []).append((future, answer))
    for loop, settled in by_loop.items():
        with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits any more
            loop.call_soon_threadsafe(_settle, settled)


def _settle(settled: list[tuple[asyncio.Future, object]]) -> None:
    for future, answer in settled:
        if future.done():  # the request was cancelled meanwhile
            continue
        if isinstance(answer, BaseException):
            future.set_exception(answer)
        else:
            future.set_result(answer)
