from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, connection

from quorum.ledger.locking import SequencerLock
from quorum.ledger.sequencer import sequence_all

logger = logging.getLogger(__name__)


def _watch_parent(parent_pid: int, stop: threading.Event) -> None:
    # Re-parenting (to init or a subreaper) means the server that started us is gone.
    while not stop.wait(0.5):
        if os.getppid() != parent_pid:
            stop.set()


class Command(BaseCommand):
    help = (
        "Run the sequencer: every interval, append new statements to their initiatives' logs, "
        "update the counts and sign checkpoints. One at a time per database; a second one waits "
        "and takes over when the first stops."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one round, then exit")
        parser.add_argument(
            "--parent-pid",
            type=int,
            default=None,
            help="stop when this process is gone (used by `quorum serve`)",
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=None,
            help="seconds between rounds (default QUORUM_SEQUENCER_INTERVAL)",
        )

    def handle(
        self, *args: Any, once: bool, interval: float | None, parent_pid: int | None, **options: Any
    ) -> None:
        pause = interval if interval is not None else settings.QUORUM_SEQUENCER_INTERVAL
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        if parent_pid is not None:
            threading.Thread(target=_watch_parent, args=(parent_pid, stop), daemon=True).start()
        lock = SequencerLock()
        while True:
            try:
                if self._acquire(lock, stop, pause):
                    self._run(lock, stop, pause, once=once)
                return
            except DatabaseError:
                # The database went away (a restart, a failover to the standby): no batch is
                # half done (each is one transaction), so start again on a new connection,
                # and take the lock again, which on PostgreSQL went with the old session.
                logger.warning("sequencer: the database connection failed; reconnecting")
                lock.after_database_error()
                _close_connection()
                if once:
                    raise
                if stop.wait(pause):
                    return

    def _acquire(self, lock: SequencerLock, stop: threading.Event, pause: float) -> bool:
        """Wait for the lock; False when told to stop first."""
        waiting_said = False
        while not lock.try_acquire():
            if not waiting_said:
                self.stdout.write("Another sequencer holds the lock; waiting to take over.")
                waiting_said = True
            if stop.wait(pause):
                return False
        self.stdout.write("Sequencer running.")
        return True

    def _run(self, lock: SequencerLock, stop: threading.Event, pause: float, *, once: bool) -> None:
        try:
            while True:
                for result in sequence_all():
                    if result.appended:
                        self.stdout.write(
                            f"initiative {result.initiative_id}: +{result.appended} leaves, size {result.size}"
                        )
                if once or stop.wait(pause):
                    break
        finally:
            if lock.held:
                with contextlib.suppress(DatabaseError):
                    lock.release()


def _close_connection() -> None:
    try:
        connection.close()
    except DatabaseError:
        logger.warning("sequencer: could not close the failed connection")
