"""The SQLite write queue: writers of every process take SQLite's one write lock in turn."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest
from django.db import connection

from quorum.core.volatile import SQLiteWriteQueue, sqlite_write_turn, write_transaction

HOLD_SECONDS = 0.5

# A writer of another process: takes its turn on the same lock file, says so, holds it a while.
_OTHER_PROCESS = """
import fcntl, os, sys, time
descriptor = os.open(sys.argv[1] + ".write-queue", os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(descriptor, fcntl.LOCK_EX)
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
print("released", time.monotonic(), flush=True)
fcntl.flock(descriptor, fcntl.LOCK_UN)
"""


def _other_process_holding(database: Path) -> subprocess.Popen[str]:
    other = subprocess.Popen(
        [sys.executable, "-c", _OTHER_PROCESS, str(database), str(HOLD_SECONDS)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert other.stdout is not None
    assert other.stdout.readline().strip() == "holding"
    return other


def test_a_writer_waits_while_another_process_has_its_turn(tmp_path: Path) -> None:
    database = tmp_path / "db.sqlite3"
    other = _other_process_holding(database)

    with SQLiteWriteQueue().turn(str(database)):
        entered = time.monotonic()

    out, _ = other.communicate(timeout=10)
    released = float(out.split()[-1])
    assert entered >= released  # CLOCK_MONOTONIC is one clock for the whole machine


def test_writers_of_one_process_take_turns_and_a_thread_may_nest_its_turn(tmp_path: Path) -> None:
    database = str(tmp_path / "db.sqlite3")
    queue = SQLiteWriteQueue()
    inside: list[int] = []
    overlapped = threading.Event()

    def write(n: int) -> None:
        with queue.turn(database), queue.turn(database):  # nested: no self-deadlock
            inside.append(n)
            if len(inside) > 1:
                overlapped.set()
            time.sleep(0.01)
            inside.remove(n)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert not overlapped.is_set()


def test_a_forked_child_does_not_share_its_parents_lock_file(tmp_path: Path) -> None:
    database = str(tmp_path / "db.sqlite3")
    queue = SQLiteWriteQueue()
    with queue.turn(database):
        pass  # the lock file is open in this process now, as in a server before it forks
    ready_read, ready_write = os.pipe()

    with warnings.catch_warnings():
        # Python 3.12+ warns of fork in a process with threads; this child only takes a lock.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: once the parent has its turn, must wait for it to end
        try:
            os.read(ready_read, 1)
            start = time.monotonic()
            with queue.turn(database):
                waited = time.monotonic() - start
            os._exit(0 if waited >= HOLD_SECONDS / 2 else 1)
        except BaseException:
            os._exit(2)
    with queue.turn(database):
        os.write(ready_write, b"x")
        time.sleep(HOLD_SECONDS)
    _, status = os.waitpid(pid, 0)
    os.close(ready_read)
    os.close(ready_write)

    assert os.waitstatus_to_exitcode(status) == 0


def test_a_database_in_memory_has_no_lock_file(tmp_path: Path) -> None:
    queue = SQLiteWriteQueue()
    with queue.turn(":memory:"), queue.turn("file:memorydb_default?mode=memory&cache=shared"):
        pass
    assert list(tmp_path.iterdir()) == []


@pytest.mark.django_db(transaction=True)
def test_the_write_transaction_queues_beside_the_database_file() -> None:
    if connection.vendor != "sqlite":
        with sqlite_write_turn():  # nothing to queue for on PostgreSQL
            pass
        return
    database = Path(connection.settings_dict["NAME"])
    other = _other_process_holding(database)

    with write_transaction():
        entered = time.monotonic()

    out, _ = other.communicate(timeout=10)
    assert entered >= float(out.split()[-1])
