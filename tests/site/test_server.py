"""The real console script and the real HTTP server, in their own processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


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


def quorum(args: list[str], data_dir: Path) -> subprocess.Popen:
    env = {**os.environ, "QUORUM_DATA_DIR": str(data_dir)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.Popen(
        [sys.executable, "-m", "quorum.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


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
        env={**os.environ, "QUORUM_DATA_DIR": str(tmp_path)},
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
