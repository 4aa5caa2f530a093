"""Short database transactions for shared state that may be lost: counters and claims.

Without Redis, the database is what every app process shares, so sign-in counters, rate-limit
logs and proof-of-work claims live there. None of it is personal data (keys are keyed hashes),
all of it expires within hours, and losing the last writes in a crash only forgets a few
attempts. Such a commit therefore need not wait for the disk: on PostgreSQL the transaction
sets ``synchronous_commit = off``; on SQLite the connection drops to ``synchronous=NORMAL`` for
that one transaction (in WAL mode a later full commit, such as the intake writer's, syncs
these pages too, and the database cannot be corrupted). Statements keep their durable commits:
they are written by the intake writer on its own connection.

Keep these transactions to a few statements: on SQLite they hold the one write lock that the
intake writer needs for its batches.

Async code calls such stores through :func:`run_in_worker`: a few long-lived threads that keep
their connections between calls. (Opening a connection costs more than the transaction: on
SQLite about 2 ms for the first statements, against 0.3 ms for a whole counter update.)
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import fcntl
import os
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Final, Generic, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection, models, transaction

from quorum.core.clients import redis_client
from quorum.core.datadir import open_private_file

T = TypeVar("T")

#: How long a shared-state transaction waits for a lock before it fails closed (the request
#: is then answered 503): a store stuck behind a lock must not hold every statement with it.
LOCK_WAIT_SECONDS: float = 5.0

# Threads per process for shared-state calls from async code. On SQLite they take turns at
# the write lock anyway; on PostgreSQL each holds one connection.
WORKER_THREADS: Final = 4


# SQLite has one write lock per file, and a connection that finds it taken sleeps and tries
# again (its busy handler: 1, 2, 5, 10 … ms), so writers that take turns would often all sleep
# while the lock is free, and a batch of statements would wait tens of milliseconds for nothing.
# The writers of every process on this machine (the intake writers, the shared stores, the
# sequencer) therefore queue for it first: within a process on a lock, between processes on a
# lock file beside the database (flock, which the kernel hands on the moment it is released).
# A writer that does not queue (an ordinary request's write) still meets the busy handler.
class SQLiteWriteQueue:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._depth = 0  # changed only by the thread holding _lock
        self._files: dict[str, int] = {}
        self._pid = os.getpid()

    @contextlib.contextmanager
    def turn(self, database: str) -> Iterator[None]:
        """Hold the queue for ``database`` (a file path); re-entrant within a thread."""
        with self._lock:
            descriptor = self._descriptor(database) if self._depth == 0 else None
            if descriptor is not None:
                fcntl.flock(descriptor, fcntl.LOCK_EX)  # releases the GIL while it waits
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if descriptor is not None:
                    fcntl.flock(descriptor, fcntl.LOCK_UN)

    def _descriptor(self, database: str) -> int | None:
        if not database or database == ":memory:" or database.startswith("file:"):
            return None  # a database in memory belongs to this process alone
        if self._pid != os.getpid():
            # A forked worker must not share its parent's open lock file: a flock belongs to
            # the open file, and parent and child would hold it together.
            self._files, self._pid = {}, os.getpid()
        descriptor = self._files.get(database)
        if descriptor is None:
            descriptor = open_private_file(Path(f"{database}.write-queue"), os.O_RDWR)
            self._files[database] = descriptor
        return descriptor


_sqlite_writers = SQLiteWriteQueue()


@contextlib.contextmanager
def sqlite_write_turn() -> Iterator[None]:
    """This connection's turn at SQLite's write lock (nothing on PostgreSQL)."""
    if connection.vendor != "sqlite":
        yield
        return
    with _sqlite_writers.turn(str(connection.settings_dict["NAME"])):
        yield


@contextlib.contextmanager
def write_transaction() -> Iterator[None]:
    """``transaction.atomic()`` for a short write outside any other transaction: on SQLite,
    in turn with the other writers of every process (see SQLiteWriteQueue)."""
    with sqlite_write_turn(), transaction.atomic():
        yield


@contextlib.contextmanager
def volatile_atomic() -> Iterator[None]:
    """``transaction.atomic()`` whose commit may return before it is on disk (see above).

    Inside a caller's transaction it is a savepoint, and the caller's commit decides.
    """
    if connection.in_atomic_block:
        with transaction.atomic():
            yield
        return
    if connection.vendor == "sqlite":
        with (
            sqlite_write_turn(),
            _sqlite_synchronous_normal(),
            _sqlite_busy_timeout(LOCK_WAIT_SECONDS),
            transaction.atomic(),
        ):
            yield
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
                cursor.execute(f"SET LOCAL lock_timeout = {int(LOCK_WAIT_SECONDS * 1000):d}")
        yield


@contextlib.contextmanager
def _sqlite_busy_timeout(seconds: float) -> Iterator[None]:
    # The connection's own timeout (its OPTIONS) is for durable writes; this one is for the
    # transaction inside only.
    usual = int(float(connection.settings_dict.get("OPTIONS", {}).get("timeout", 5)) * 1000)
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA busy_timeout = {int(seconds * 1000):d}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA busy_timeout = {usual:d}")


@contextlib.contextmanager
def _sqlite_synchronous_normal() -> Iterator[None]:
    connection.ensure_connection()
    previous = _sqlite_synchronous_level()
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous = NORMAL")
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA synchronous = {previous:d}")
        except Exception:
            # Never leave a connection that later writes durable data without full syncs: a
            # fresh connection runs the configured PRAGMAs again.
            connection.close()
            raise


def _sqlite_synchronous_level() -> int:
    # Read once per connection: it is what the connection was opened with.
    level = getattr(connection, "_quorum_synchronous", None)
    if level is None:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous")
            level = int(cursor.fetchone()[0])
        connection._quorum_synchronous = level  # type: ignore[attr-defined]
    return level


_Job = tuple[Future, Callable[..., Any], tuple[Any, ...]]


class _Workers:
    """Long-lived threads, each with its own database connection, fed from one queue."""

    def __init__(self, size: int) -> None:
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._run, name=f"quorum-shared-state-{n}", daemon=True)
            for n in range(size)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, function: Callable[..., T], *args: Any) -> Future:
        future: Future = Future()
        self._queue.put((future, function, args))
        return future

    def stop(self, timeout: float = 5.0) -> None:
        for _thread in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout)

    def _run(self) -> None:
        try:
            while (job := self._queue.get()) is not None:
                future, function, args = job
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    future.set_result(function(*args))
                except BaseException as exc:
                    # A failed call may leave the connection broken or mid-transaction: the
                    # next call on this thread starts from a fresh one.
                    connection.close()
                    future.set_exception(exc)
        finally:
            connection.close()


_workers: _Workers | None = None
_workers_lock = threading.Lock()


def _in_callers_transaction() -> bool:
    return connection.in_atomic_block


async def run_in_worker(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` on a shared-state worker thread, awaited without blocking the loop.

    When the awaiting code runs inside a transaction (its thread-sensitive connection is in an
    atomic block, as in a test), the call joins that transaction on that thread instead, as any
    ORM call there would: a worker's own connection could neither see it nor, on SQLite, get
    past its write lock.
    """
    # Django's connections belong to threads: whether the caller's connection is in a
    # transaction can only be read on the thread-sensitive thread that holds it.
    if await sync_to_async(_in_callers_transaction)():
        return await sync_to_async(function)(*args)
    global _workers
    with _workers_lock:
        if _workers is None:
            _workers = _Workers(WORKER_THREADS)
        workers = _workers
    return await asyncio.wrap_future(workers.submit(function, *args))


def stop_workers() -> None:
    """Stop the worker threads and close their connections (tests; they start again on use)."""
    global _workers
    with _workers_lock:
        workers, _workers = _workers, None
    if workers is not None:
        workers.stop()


def utc(timestamp: float) -> datetime.datetime:
    """A POSIX timestamp as an aware UTC datetime, for ``expires_at`` columns."""
    return datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC)


StoreT = TypeVar("StoreT")


class StoreChoice(Generic[StoreT]):
    """One process-wide store, chosen at first use: Redis when ``REDIS_URL`` is set, else the
    database. The sign-in throttle, the rate limits and the single-use store each hold one."""

    def __init__(
        self,
        redis_store: Callable[[Any], StoreT],
        database_store: Callable[[], StoreT],
    ) -> None:
        self._redis_store = redis_store
        self._database_store = database_store
        self._store: StoreT | None = None
        self._lock = threading.Lock()

    def get(self) -> StoreT:
        if self._store is None:
            with self._lock:
                if self._store is None:
                    url = getattr(settings, "REDIS_URL", None)
                    self._store = (
                        self._redis_store(redis_client(url)) if url else self._database_store()
                    )
        return self._store

    def reset(self, store: StoreT | None = None) -> None:
        """For tests: forget the chosen store, or put ``store`` in its place."""
        with self._lock:
            self._store = store


class ExpiringRows:
    """A store's table of rows that carry an ``expires_at``: swept now and then as the store is
    used, and by ``quorum periodic``, so that no row outlives what it protects for long."""

    EVERY_SECONDS: Final = 60.0

    def __init__(self, model: type[models.Model]) -> None:
        self._model = model
        self._next = 0.0

    def purge(self, now: float) -> int:
        with volatile_atomic():
            deleted, _by_model = self._model._default_manager.filter(
                expires_at__lte=utc(now)
            ).delete()
        return deleted

    def now_and_then(self, now: float) -> None:
        if now < self._next:
            return
        self._next = now + self.EVERY_SECONDS
        self.purge(now)
