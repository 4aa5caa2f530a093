"""Real sequencer processes: one works, the other waits; kill -9 the first, the second takes over."""

from __future__ import annotations

import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from quorum.proofs.leaves import format_received_at, statement_leaf_hash

pytestmark = pytest.mark.slow


class Database:
    """The platform's database as the sequencer processes see it: SQLite file or PostgreSQL."""

    def __init__(self, data_dir: Path, url: str | None) -> None:
        self.data_dir = data_dir
        self.url = url

    def connect(self):
        if self.url:
            import psycopg

            return psycopg.connect(
                self.url.replace("postgres://", "postgresql://", 1), autocommit=True
            )
        connection = sqlite3.connect(
            self.data_dir / "quorum.sqlite3", timeout=20, isolation_level=None
        )
        return connection

    @property
    def mark(self) -> str:
        return "%s" if self.url else "?"

    def add_statements(self, count: int) -> None:
        now = datetime.now(UTC).replace(microsecond=0)
        connection = self.connect()
        try:
            cursor = connection.cursor()
            cursor.execute("SELECT id, slug FROM initiatives_initiative")
            initiative_id, slug = cursor.fetchone()
            m = self.mark
            for _ in range(count):
                digest = secrets.token_bytes(32)
                leaf = statement_leaf_hash(
                    initiative=slug,
                    member_state="PL",
                    received_at=format_received_at(now),
                    ciphertext_sha256=digest,
                )
                cursor.execute(
                    "INSERT INTO ledger_statement (initiative_id, member_state, ciphertext, ciphertext_sha256,"
                    f" leaf_hash, received_at) VALUES ({m}, 'PL', {m}, {m}, {m}, {m})",
                    (
                        initiative_id,
                        b"sealed",
                        digest,
                        leaf,
                        now if self.url else now.strftime("%Y-%m-%d %H:%M:%S"),
                    ),
                )
        finally:
            connection.close()

    def sequenced(self) -> list[int | None]:
        connection = self.connect()
        try:
            cursor = connection.cursor()
            cursor.execute("SELECT leaf_index FROM ledger_statement ORDER BY id")
            return [row[0] for row in cursor.fetchall()]
        finally:
            connection.close()


def environment(data_dir: Path, url: str | None) -> dict[str, str]:
    env = {**os.environ, "QUORUM_DATA_DIR": str(data_dir)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("DATABASE_URL", None)
    if url:
        env["DATABASE_URL"] = url
    return env


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    base = os.environ.get("DATABASE_URL")
    url = None
    if base:
        import psycopg

        name = f"quorum_sequencer_{secrets.token_hex(4)}"
        admin = psycopg.connect(base.replace("postgres://", "postgresql://", 1), autocommit=True)
        admin.execute(f'CREATE DATABASE "{name}"')
        url = base.rsplit("/", 1)[0] + "/" + name
    setup = subprocess.run(
        [sys.executable, "-m", "quorum.cli", "demo", "--no-serve"],
        env=environment(tmp_path, url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert setup.returncode == 0, setup.stderr
    try:
        yield Database(tmp_path, url)
    finally:
        if base:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()


def start_sequencer(database: Database) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "quorum.cli", "sequencer", "--interval", "0.2"],
        env=environment(database.data_dir, database.url),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def wait_until(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def read_line(process: subprocess.Popen, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    os.set_blocking(process.stdout.fileno(), False)
    buffer = ""
    while time.monotonic() < deadline:
        chunk = process.stdout.readline()
        if chunk:
            buffer += chunk
            if buffer.endswith("\n"):
                return buffer
        time.sleep(0.05)
    return buffer


def test_a_killed_sequencer_is_replaced_and_the_log_has_no_gap(database: Database) -> None:
    first = start_sequencer(database)
    second = None
    try:
        assert "Sequencer running" in read_line(first)
        second = start_sequencer(database)
        assert "waiting" in read_line(second)
        database.add_statements(20)
        assert wait_until(lambda: None not in database.sequenced())
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
        database.add_statements(15)
        assert "Sequencer running" in read_line(second, timeout=30)
        assert wait_until(lambda: None not in database.sequenced(), timeout=30)
        assert sorted(database.sequenced()) == list(range(35))
    finally:
        for process in (first, second):
            if process is None:
                continue
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
            if process.stdout is not None:
                process.stdout.close()
