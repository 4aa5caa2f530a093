"""The intake writer: group commit of sealed statements.

One writer thread per process (a ``GroupCall``) owns a database connection. Requests hand it
rows and wait; it gathers rows for up to QUORUM_INTAKE_MAX_WAIT_MS or QUORUM_INTAKE_MAX_BATCH
rows, inserts them in one transaction and commits durably (SQLite WAL synchronous=FULL,
PostgreSQL synchronous_commit=on). Only after the commit are the waiting requests released:
what a signatory is told is recorded, is on disk, never only in memory. One fsync then covers
many rows, which is what makes durability cheap: the cost of a commit is the fsync, not the
row (the figures are in docs/performance.md).

What must be decided in the same transaction as a row travels with it: an ``Admission`` (the
rate limit, when its counts are in this database) decides its tickets for the whole batch on
the writer's connection first, and a refused row is not inserted. One transaction, one lock and
one fsync then cover both the counts and the rows, instead of a second round trip per statement.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from django.conf import settings
from django.db import connection

from quorum.core.group_call import GroupCall
from quorum.core.volatile import write_transaction
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
    partner: str = ""


class IntakeUnavailable(Exception):
    """The batch holding this row could not be committed; nothing of it was stored."""


class Admission(Protocol):
    """Decides, inside the writer's transaction and on its connection, whether each of a
    batch's tickets may go in: ``None`` for yes, else the exception its caller gets."""

    def admit_many(self, tickets: Sequence[Any]) -> Sequence[BaseException | None]: ...


@dataclass(frozen=True)
class _Write:
    row: IntakeRow | None  # None: only the ticket is decided (and recorded if admitted)
    admission: Admission | None
    ticket: Any


# The columns of a statement row, named as the fields of IntakeRow.
_COLUMNS = (
    "initiative_id",
    "member_state",
    "ciphertext",
    "ciphertext_sha256",
    "leaf_hash",
    "received_at",
    "sealing_key_id",
    "partner",
)
# Rows per INSERT: 8 values a row stays far under SQLite's 32,766 parameters and PostgreSQL's
# 65,535 for a whole batch (QUORUM_INTAKE_MAX_BATCH is at most 10,000, hence the chunks).
_ROWS_PER_INSERT = 500


class IntakeWriter:
    def __init__(self, *, max_batch: int, max_wait: float) -> None:
        self._sql: dict[int, str] = {}
        self._group: GroupCall[_Write, None] = GroupCall(
            self._commit,
            name="quorum-intake-writer",
            max_batch=max_batch,
            max_wait=max_wait,
        )

    @property
    def alive(self) -> bool:
        return self._group.alive

    async def write(
        self, row: IntakeRow | None, *, admission: Admission | None = None, ticket: Any = None
    ) -> None:
        """Queue a row and return once it is durably committed; IntakeUnavailable if not.

        With an ``admission``, its ``ticket`` is decided in the same transaction first: a
        refusal is raised here (and the row is not stored); a ``row`` of None asks only that.
        """
        await self._group(_Write(row, admission, ticket))

    def stop(self, timeout: float = 5.0) -> None:
        self._group.stop(timeout)

    def _commit(self, batch: Sequence[_Write]) -> list[BaseException | None]:
        # Everything that needs no lock is done before the write lock is taken: on SQLite that
        # lock is the whole file's, every process waits for it, and in a busy process each
        # step inside it may wait for the GIL as well.
        values = [self._values(write.row) if write.row is not None else None for write in batch]
        try:
            with write_transaction(), connection.cursor() as cursor:
                refusals = _admit(batch)
                admitted = [
                    row
                    for row, refusal in zip(values, refusals, strict=True)
                    if row is not None and refusal is None
                ]
                for start in range(0, len(admitted), _ROWS_PER_INSERT):
                    chunk = admitted[start : start + _ROWS_PER_INSERT]
                    cursor.execute(
                        self._insert_sql(len(chunk)), [value for row in chunk for value in row]
                    )
        except Exception:
            # Logged without row content: the rows hold only ciphertext, but a log is no place
            # for any of it.
            logger.exception("intake batch of %d statements failed; none stored", len(batch))
            try:
                connection.close()  # the next batch reconnects
            except Exception:
                logger.warning("could not close the intake connection after a failure")
            return [IntakeUnavailable() for _write in batch]
        return refusals

    def _insert_sql(self, rows: int) -> str:
        """One INSERT of ``rows`` rows: one statement for the database to run, not one a row."""
        sql = self._sql.get(rows)
        if sql is None:
            quote = connection.ops.quote_name
            table = quote(Statement._meta.db_table)
            columns = ", ".join(quote(name) for name in _COLUMNS)
            marks = "(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"
            sql = f"INSERT INTO {table} ({columns}) VALUES {', '.join([marks] * rows)}"
            self._sql[rows] = sql
        return sql

    @staticmethod
    def _values(row: IntakeRow) -> tuple[Any, ...]:
        # The one value the driver cannot take as it is: the ORM's form of a datetime.
        return tuple(
            connection.ops.adapt_datetimefield_value(row.received_at)
            if name == "received_at"
            else getattr(row, name)
            for name in _COLUMNS
        )


def _admit(batch: Sequence[_Write]) -> list[BaseException | None]:
    """Each write's refusal (None: admitted), its admission deciding all its tickets at once."""
    refusals: list[BaseException | None] = [None] * len(batch)
    waiting: dict[int, tuple[Admission, list[int]]] = {}
    for index, write in enumerate(batch):
        if write.admission is not None:
            waiting.setdefault(id(write.admission), (write.admission, []))[1].append(index)
    for admission, indices in waiting.values():
        answers = admission.admit_many([batch[index].ticket for index in indices])
        if len(answers) != len(indices):
            raise RuntimeError(f"{len(answers)} admissions for {len(indices)} tickets")
        for index, answer in zip(indices, answers, strict=True):
            refusals[index] = answer
    return refusals


_writer: IntakeWriter | None = None
_writer_lock = threading.Lock()


def get_intake_writer() -> IntakeWriter:
    """This process's writer, started on first use."""
    global _writer
    with _writer_lock:
        if _writer is None or not _writer.alive:
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
