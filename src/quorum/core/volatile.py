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
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterator

from django.db import connection, transaction


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
        with _sqlite_synchronous_normal(), transaction.atomic():
            yield
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
        yield


@contextlib.contextmanager
def _sqlite_synchronous_normal() -> Iterator[None]:
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous")
        previous = int(cursor.fetchone()[0])
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


def utc(timestamp: float) -> datetime.datetime:
    """A POSIX timestamp as an aware UTC datetime, for ``expires_at`` columns."""
    return datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC)
