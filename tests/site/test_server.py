"""The real console script and the real HTTP server, in their own processes."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.own_database]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, timeout: float = 30.0) -> bytes:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"server exited with {process.returncode}: {process.stdout.read() if process.stdout else ''}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read()
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout}s")


def environment(data_dir: Path) -> dict[str, str]:
    """The embedded default: SQLite in data_dir, whatever database the test run itself uses."""
    env = {**os.environ, "QUORUM_DATA_DIR": str(data_dir)}
    for name in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    return env


def quorum(args: list[str], data_dir: Path) -> subprocess.Popen:
    env = environment(data_dir)
    return subprocess.Popen(
        [sys.executable, "-m", "quorum.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # Its own process group: granian's workers and the sequencer go down with it.
        start_new_session=True,
    )


def stop(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    # A worker orphaned by a hard kill of the main process still sits in the group.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    if process.stdout is not None:
        process.stdout.close()


def test_the_demo_command_sets_up_and_serves_the_demo_initiative(tmp_path: Path) -> None:
    port = free_port()
    process = quorum(["demo", "--port", str(port)], tmp_path)
    try:
        page = wait_for(f"http://127.0.0.1:{port}/i/ban-biometric-mass-surveillance/", process)
        assert b"Ban biometric mass surveillance" in page
        assert (tmp_path / "quorum.sqlite3").exists()
    finally:
        stop(process)


def test_serve_answers_without_touching_data(tmp_path: Path) -> None:
    setup = subprocess.run(
        [sys.executable, "-m", "quorum.cli", "demo", "--no-serve"],
        env=environment(tmp_path),
        capture_output=True,
        text=True,
    )
    assert setup.returncode == 0, setup.stderr
    database = tmp_path / "quorum.sqlite3"
    port = free_port()
    process = quorum(["serve", "--port", str(port)], tmp_path)
    try:
        page = wait_for(f"http://127.0.0.1:{port}/", process)
        assert b"Ban biometric mass surveillance" in page
    finally:
        stop(process)
    assert database.exists()


def children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found |= {int(child) for child in (task / "children").read_text().split()}
        except OSError:
            continue
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_the_sequencer_does_not_outlive_a_killed_server(tmp_path: Path) -> None:
    setup = subprocess.run(
        [sys.executable, "-m", "quorum.cli", "demo", "--no-serve"],
        env=environment(tmp_path),
        capture_output=True,
        text=True,
    )
    assert setup.returncode == 0, setup.stderr
    port = free_port()
    process = quorum(["serve", "--port", str(port)], tmp_path)
    sequencers: set[int] = set()
    try:
        wait_for(f"http://127.0.0.1:{port}/", process)
        deadline = time.monotonic() + 10
        while not sequencers and time.monotonic() < deadline:
            sequencers = {pid for pid in children(process.pid) if "sequencer" in command_line(pid)}
            time.sleep(0.1)
        assert sequencers, "serve started no sequencer"
        process.kill()
        process.wait(10)
        deadline = time.monotonic() + 10
        while any(
            Path(f"/proc/{pid}").exists() and "sequencer" in command_line(pid) for pid in sequencers
        ):
            assert time.monotonic() < deadline, "the sequencer outlived its server"
            time.sleep(0.1)
    finally:
        stop(process)
        for pid in sequencers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
