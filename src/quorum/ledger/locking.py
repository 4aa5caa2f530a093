"""Exactly one sequencer per database: a PostgreSQL advisory lock, or a lock file on SQLite.

The lock is held for the life of the sequencer process; when that process dies, the
operating system (file lock) or PostgreSQL (session ends) releases it and a waiting
sequencer takes over. Correctness does not rest on it alone: leaf indices are unique per
initiative and each batch runs under a row lock, so two sequencers could never assign one
index twice — the lock only stops them from wasting work.
"""

from __future__ import annotations

import fcntl
import os
from typing import IO

from django.conf import settings
from django.db import connection

from quorum.core.datadir import open_private_file

# "quorum" + "seq" as a stable 63-bit key for pg_advisory_lock.
ADVISORY_KEY = int.from_bytes(b"quorumsq", "big") & 0x7FFF_FFFF_FFFF_FFFF


class SequencerLock:
    def __init__(self) -> None:
        self._file: IO[str] | None = None
        self.held = False

    def try_acquire(self) -> bool:
        if self.held:
            return True
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_KEY])
                self.held = bool(cursor.fetchone()[0])
        else:
            descriptor = open_private_file(settings.DATA_DIR / "sequencer.lock", os.O_RDWR)
            handle = open(descriptor, "r+", encoding="utf-8")  # noqa: SIM115 - held open as the lock
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                return False
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            self._file = handle
            self.held = True
        return self.held

    def release(self) -> None:
        if not self.held:
            return
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_KEY])
        elif self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        self.held = False

    def after_database_error(self) -> None:
        """The database connection failed (a failover, a restart): on PostgreSQL the lock went
        with its session, or goes now, and must be taken again on the next connection."""
        if connection.vendor != "postgresql" or not self.held:
            return  # the lock file does not depend on the database connection
        try:
            self.release()
        except Exception:
            self.held = False  # the session, and its lock, are gone with the server
