"""The intake writer: group commit of sealed statements.

One writer thread per process owns a database connection. Requests hand it rows and wait;
it gathers rows for up to QUORUM_INTAKE_MAX_WAIT_MS or QUORUM_INTAKE_MAX_BATCH rows, inserts
them in one transaction and commits durably (SQLite WAL synchronous=FULL, PostgreSQL
synchronous_commit=on). Only after the commit are the waiting requests released: what a
signatory is told is recorded, is on disk, never only in memory. One fsync then covers many rows,
which is what makes durability cheap: the cost of a commit is the fsync, not the row
(the figures are in docs/performance.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from quorum.ledger.models import Statement

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IntakeRow:
    initiative_id: int
    member_state: str
    ciphertext: bytes
    ciphertext_sha256: bytes
    leaf_hash: bytes
    received_at: datetime
    sealing_key_id: int | None = None


class IntakeUnavailable(Exception):
    """The batch holding this row could not be committed; nothing of it was stored."""


# Who waits for a row: the future of the request, with the event loop it belongs to.
_Waiter = tuple[asyncio.AbstractEventLoop, "asyncio.Future[None]"]
_Item = tuple[IntakeRow, _Waiter]

# The columns of a statement row, named as the fields of IntakeRow.
_COLUMNS = (
    "initiative_id",
    "member_state",
    "ciphertext",
    "ciphertext_sha256",
    "leaf_hash",
    "received_at",
    "sealing_key_id",
)


class IntakeWriter:
    def __init__(self, *, max_batch: int, max_wait: float) -> None:
        self.max_batch = max_batch
        self.max_wait = max_wait
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._sql: str | None = None
        self._thread = threading.Thread(target=self._run, name="quorum-intake-writer", daemon=True)
        self._thread.start()

    async def write(self, row: IntakeRow) -> None:
        """Queue a row and return once it is durably committed; IntakeUnavailable if not.

        The writer wakes the event loop once per batch, not once per row.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._queue.put((row, (loop, future)))
        await future

    def stop(self, timeout: float = 5.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)

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
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            batch, stopping = self._gather(first)
            self._commit(batch)
        connection.close()

    def _commit(self, batch: list[_Item]) -> None:
        try:
            # The writer keeps its connection between batches (reopening costs more than a
            # batch); a failed batch closes it below, and the next batch reconnects.
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.executemany(self._insert_sql(), [self._values(row) for row, _ in batch])
        except Exception:
            # Logged without row content: the rows hold only ciphertext, but a log is no place
            # for any of it.
            logger.exception("intake batch of %d statements failed; none stored", len(batch))
            try:
                connection.close()
            except Exception:
                logger.warning("could not close the intake connection after a failure")
            _resolve([waiter for _, waiter in batch], IntakeUnavailable)
            return
        _resolve([waiter for _, waiter in batch], None)

    def _insert_sql(self) -> str:
        if self._sql is None:
            quote = connection.ops.quote_name
            table = quote(Statement._meta.db_table)
            columns = ", ".join(quote(name) for name in _COLUMNS)
            marks = ", ".join(["%s"] * len(_COLUMNS))
            self._sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"
        return self._sql

    @staticmethod
    def _values(row: IntakeRow) -> tuple[Any, ...]:
        # The one value the driver cannot take as it is: the ORM's form of a datetime.
        return tuple(
            connection.ops.adapt_datetimefield_value(row.received_at)
            if name == "received_at"
            else getattr(row, name)
            for name in _COLUMNS
        )


def _resolve(waiters: list[_Waiter], error: type[Exception] | None) -> None:
    """Release every waiter of a batch: one wake-up per event loop, however many rows."""
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for loop, future in waiters:
        by_loop.setdefault(loop, []).append(future)
    for loop, futures in by_loop.items():
        with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits any more
            loop.call_soon_threadsafe(_settle, futures, error)


def _settle(futures: list[asyncio.Future[None]], error: type[Exception] | None) -> None:
    for future in futures:
        if future.done():  # the request was cancelled meanwhile
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error())


_writer: IntakeWriter | None = None
_writer_lock = threading.Lock()


def get_intake_writer() -> IntakeWriter:
    """This process's writer, started on first use."""
    global _writer
    with _writer_lock:
        if _writer is None or not _writer._thread.is_alive():
            _writer = IntakeWriter(
                max_batch=settings.QUORUM_INTAKE_MAX_BATCH,
                max_wait=settings.QUORUM_INTAKE_MAX_WAIT_MS / 1000.0,
            )
        return _writer


def stop_intake_writer() -> None:
    global _writer
    with _writer_lock:
        if _writer is not None:
            _writer.stop()
            _writer = None
