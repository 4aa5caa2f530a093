"""Starting the web server process (granian, ASGI), with the sequencer beside it."""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings
from granian import Granian
from granian.constants import Interfaces

from quorum.core.metrics import share_between_processes, stop_sharing


def start_sequencer() -> subprocess.Popen:
    """The sequencer as its own process: it holds the database lock and outlives no server.

    It watches our pid, so that even a `kill -9` of the server does not leave an orphan
    holding the lock with old code and settings.
    """
    return subprocess.Popen(
        [sys.executable, "-m", "quorum.cli", "sequencer", "--parent-pid", str(os.getpid())],
        env=os.environ.copy(),
    )


def run_server(*, host: str, port: int, workers: int, sequencer: bool = True) -> None:
    # Before any process starts: the workers and the sequencer count into one directory, so
    # that a scrape of /metrics from any worker sums them all.
    metrics_directory = share_between_processes(settings.DATA_DIR / "metrics")
    helper = start_sequencer() if sequencer else None
    try:
        Granian(
            "quorum.asgi:application",
            address=host,
            port=port,
            # Django's ASGI application has no lifespan events: without them, granian
            # does not log a lifespan error at every worker's start.
            interface=Interfaces.ASGINL,
            workers=workers,
            log_access=False,  # access logs carry client addresses; we keep none
        ).serve()
    finally:
        if helper is not None:
            helper.terminate()
            try:
                helper.wait(timeout=10)
            except subprocess.TimeoutExpired:
                helper.kill()
        stop_sharing(metrics_directory)
