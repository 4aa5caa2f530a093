from __future__ import annotations

import os
import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from quorum.ledger.locking import SequencerLock
from quorum.ledger.sequencer import sequence_all


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
        waiting_said = False
        while not lock.try_acquire():
            if not waiting_said:
                self.stdout.write("Another sequencer holds the lock; waiting to take over.")
                waiting_said = True
            if stop.wait(pause):
                return
        self.stdout.write("Sequencer running.")
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
            lock.release()
