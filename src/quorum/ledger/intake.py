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

import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime

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


_Item = tuple[IntakeRow, Future]


class IntakeWriter:
    def __init__(self, *, max_batch: int, max_wait: float) -> None:
        self.max_batch = max_batch
        self.max_wait = max_wait
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="quorum-intake-writer", daemon=True)
        self._thread.start()

    def submit(self, row: IntakeRow) -> Future:
        """Queue a row; the future resolves (to None) once the row is durably committed."""
        future: Future = Future()
        self._queue.put((row, future))
        return future

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
        rows = [
            Statement(
                initiative_id=row.initiative_id,
                member_state=row.member_state,
                ciphertext=row.ciphertext,
                ciphertext_sha256=row.ciphertext_sha256,
                leaf_hash=row.leaf_hash,
                received_at=row.received_at,
                sealing_key_id=row.sealing_key_id,
            )
            for row, _ in batch
        ]
        try:
            # The writer keeps its connection between batches (reopening costs more than a
            # batch); a failed batch closes it below, and the next batch reconnects.
            with transaction.atomic():
                Statement.objects.bulk_create(rows)
        except Exception:
            # Logged without row content: the rows hold only ciphertext, but a log is no place
            # for any of it.
            logger.exception("intake batch of %d statements failed; none stored", len(batch))
            try:
                connection.close()
            except Exception:
                logger.warning("could not close the intake connection after a failure")
            for _, future in batch:
                future.set_exception(IntakeUnavailable())
            return
        for _, future in batch:
            future.set_result(None)


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
