"""Real Quorum server processes for the fault and multi-process tests of signing.

The helpers are fixtures because pytest runs with ``--import-mode=importlib``: a test module
cannot import a sibling helper module. Everything here talks to 127.0.0.1 only, bounds every
wait in time, and kills every process it starts (the whole process group, SIGKILL).

``quorum_site`` is one fresh installation — a data folder set up by ``quorum demo --no-serve``
on SQLite or, when the test run has ``DATABASE_URL`` (CI's PostgreSQL pass), on a fresh
PostgreSQL database of that server, dropped afterwards.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from quorum.signing.pow import solve_challenge

DEMO_SLUG = "ban-biometric-mass-surveillance"
STATEMENTS_PATH = f"/api/v1/initiatives/{DEMO_SLUG}/statements"
POW_SCOPE = f"statement:{DEMO_SLUG}"
SETUP_TIMEOUT = 60.0
STARTUP_TIMEOUT = 30.0
EXIT_TIMEOUT = 10.0
HTTP_TIMEOUT = 15.0

# The server's environment is built from scratch for these names: the test run's own
# database, cache and settings must never leak into a server under test.
_ENV_DROPPED_PREFIXES = ("QUORUM_", "DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
BASE_SERVER_ENV = {
    "QUORUM_LOG_LEVEL": "warning",
    "QUORUM_ALLOWED_HOSTS": "127.0.0.1",
    "QUORUM_DEBUG": "off",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _group_alive(pgid: int) -> list[int]:
    """Pids of processes in group ``pgid`` that are still running (zombies hold no files)."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces, so split after the ")".
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            alive.append(int(entry.name))
    return alive


class HttpClient:
    """One keep-alive HTTP/1.1 connection to a server on 127.0.0.1 (JSON in, JSON out)."""

    def __init__(self, port: int, *, timeout: float = HTTP_TIMEOUT) -> None:
        self._connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def request(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        """(status, lower-cased headers, JSON body or None). Connection errors propagate."""
        headers = {"Accept": "application/json", "Accept-Language": "en"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            self._connection.request(method, path, body=data, headers=headers)
            response = self._connection.getresponse()
            raw = response.read()
        except Exception:
            # The next request opens a fresh connection.
            self._connection.close()
            raise
        answer = {k.lower(): v for k, v in response.getheaders()}
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return response.status, answer, parsed

    def post_statement(self, statement: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        return self.request("POST", STATEMENTS_PATH, statement)

    def solved_pow(self, scope: str = POW_SCOPE) -> str:
        """A fresh challenge from this server, solved as a browser would, as the altcha field."""
        status, _headers, challenge = self.request("GET", f"/api/v1/pow/challenge?scope={scope}")
        assert status == 200, challenge
        return solve_challenge(challenge)

    def close(self) -> None:
        self._connection.close()


@dataclass
class ServerProcess:
    """``quorum serve`` in its own session (process group), so kill -9 reaches every worker."""

    process: subprocess.Popen
    port: int
    log: Path

    @property
    def pgid(self) -> int:
        return self.process.pid  # start_new_session=True: the leader's pid is the group id

    def client(self) -> HttpClient:
        return HttpClient(self.port)

    def wait_until_answering(self, timeout: float = STARTUP_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"quorum serve exited with {self.process.returncode}:\n{_tail(self.log)}"
                )
            client = HttpClient(self.port, timeout=2.0)
            try:
                status, _h, _b = client.request("GET", f"/api/v1/pow/challenge?scope={POW_SCOPE}")
                if status == 200:
                    return
            except OSError:
                pass
            finally:
                client.close()
            time.sleep(0.1)
        self.kill()
        raise AssertionError(f"quorum serve did not answer in {timeout}s:\n{_tail(self.log)}")

    def kill(self) -> None:
        """SIGKILL the whole group (idempotent); return once no process of it runs any more."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):  # SIGKILL cannot be ignored
            self.process.wait(timeout=EXIT_TIMEOUT)
        # Workers are reparented when the leader dies: wait for them too, bounded.
        deadline = time.monotonic() + EXIT_TIMEOUT
        while _group_alive(self.pgid) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = _group_alive(self.pgid)
        assert not left, f"processes {left} of group {self.pgid} survived SIGKILL"


@dataclass
class QuorumSite:
    """One installation: a data folder and a database, set up by ``quorum demo --no-serve``."""

    backend: str  # "sqlite" or "postgresql"
    data_dir: Path
    database_url: str | None
    servers: list[ServerProcess] = field(default_factory=list)

    def env(self, **overrides: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(_ENV_DROPPED_PREFIXES)}
        env.update(BASE_SERVER_ENV, QUORUM_DATA_DIR=str(self.data_dir))
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        env.update(overrides)
        return env

    def setup(self) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "quorum.cli", "demo", "--no-serve"],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=SETUP_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
        assert result.returncode == 0, result.stdout + result.stderr

    def start_server(self, *, workers: int = 1, **env: str) -> ServerProcess:
        """Start ``quorum serve`` on a free port and wait until it answers."""
        for attempt in range(3):  # a free port can be taken between probe and bind
            port = _free_port()
            log = self.data_dir / f"server-{port}-{len(self.servers)}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [
                        *(sys.executable, "-m", "quorum.cli", "serve"),
                        *("--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)),
                    ],
                    env=self.env(**env),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            server = ServerProcess(process=process, port=port, log=log)
            self.servers.append(server)
            try:
                server.wait_until_answering()
            except AssertionError:
                server.kill()
                if attempt == 2:
                    raise
                continue
            return server
        raise AssertionError("unreachable")  # pragma: no cover

    def kill_all(self) -> None:
        for server in self.servers:
            server.kill()

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows of one read-only SQL statement (no parameters), straight from the database.

        On SQLite, opening the file runs WAL recovery, as the next server start would.
        """
        if self.database_url is None:
            connection = sqlite3.connect(self.data_dir / "quorum.sqlite3", timeout=20)
            try:
                return connection.execute(sql).fetchall()
            finally:
                connection.close()
        import psycopg

        with psycopg.connect(self.database_url, connect_timeout=10) as connection:
            return connection.execute(sql).fetchall()

    def execute(self, sql: str) -> None:
        """Run one SQL statement (no parameters) in its own committed transaction."""
        if self.database_url is None:
            connection = sqlite3.connect(self.data_dir / "quorum.sqlite3", timeout=20)
            try:
                with connection:
                    connection.execute(sql)
            finally:
                connection.close()
            return
        import psycopg

        with psycopg.connect(self.database_url, connect_timeout=10) as connection:
            connection.execute(sql)

    def run_command(self, *args: str, **env: str) -> str:
        """``quorum <args>`` on this installation; its output (it must succeed)."""
        result = subprocess.run(
            [sys.executable, "-m", "quorum.cli", *args],
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=SETUP_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def leaf_hashes(self) -> list[bytes]:
        """``leaf_hash`` of every row of ``ledger_statement``."""
        return [bytes(row[0]) for row in self.query("SELECT leaf_hash FROM ledger_statement")]


def _backends() -> list[str]:
    # Each pass its own: the SQLite pass has run the SQLite servers.
    return ["postgresql"] if os.environ.get("DATABASE_URL") else ["sqlite"]


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


@pytest.fixture(scope="module", params=_backends())
def quorum_site(request, tmp_path_factory) -> Iterator[QuorumSite]:
    """A fresh demo installation per test module and backend; its servers die with it."""
    backend = request.param
    data_dir = tmp_path_factory.mktemp(f"quorum-{backend}")
    admin_url = os.environ.get("DATABASE_URL") if backend == "postgresql" else None
    name = f"quorum_durability_{secrets.token_hex(6)}"
    if admin_url:
        import psycopg

        with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
    site = QuorumSite(
        backend=backend,
        data_dir=data_dir,
        database_url=_with_database(admin_url, name) if admin_url else None,
    )
    try:
        site.setup()
        yield site
    finally:
        site.kill_all()
        if admin_url:
            import psycopg

            with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _letters(n: int, width: int = 6) -> str:
    """``n`` spelt in lower-case letters (names may not hold digits)."""
    out = []
    for _ in range(width):
        n, r = divmod(n, 26)
        out.append(chr(ord("a") + r))
    return "".join(reversed(out))


def _pesel(birth: date, serial: int) -> str:
    from stdnum.pl import pesel

    month = birth.month + (20 if birth.year >= 2000 else 0)
    base = f"{birth.year % 100:02d}{month:02d}{birth.day:02d}{serial % 10000:04d}"
    number = base + pesel.calc_check_digit(base)
    assert pesel.is_valid(number)
    return number


@pytest.fixture(scope="session")
def polish_signatories() -> Callable[[str], Callable[[], dict[str, str]]]:
    """``make(marker)`` → a function giving a new distinct valid Polish statement per call.

    Names carry ``marker`` (letters only); thread-safe, so a thread pool may share one.
    """

    def make(marker: str) -> Callable[[], dict[str, str]]:
        counter = itertools.count()
        lock = threading.Lock()

        def next_statement() -> dict[str, str]:
            with lock:
                n = next(counter)
            # Born 1950 to 1991: of age in every Member State; the PESEL check digit is right.
            birth = date(1950, 1, 1) + timedelta(days=n % 15000)
            return {
                "nationality": "PL",
                "first_names": f"{marker.capitalize()} {_letters(n).capitalize()}",
                "family_names": f"Nowak-{marker.capitalize()}",
                "id_type": "pesel",
                "id_number": _pesel(birth, n),
            }

        return next_statement

    return make


@pytest.fixture
def table_locked_elsewhere(transactional_db, monkeypatch) -> Callable[[str], Any]:
    """``with table_locked_elsewhere(table):`` another connection holds a write lock on it.

    Meanwhile this thread's connection, and every shared-state transaction on any thread,
    gives up after 0.1 s (SQLite: "database is locked"; PostgreSQL: a lock timeout); this
    thread's connection is reopened with its usual settings afterwards.
    """
    from django.db import connection

    from quorum.core import volatile

    monkeypatch.setattr(volatile, "LOCK_WAIT_SECONDS", 0.1)

    @contextlib.contextmanager
    def hold(table: str) -> Iterator[None]:
        settings_dict = connection.settings_dict
        connection.ensure_connection()
        if connection.vendor == "sqlite":
            other: Any = sqlite3.connect(settings_dict["NAME"], isolation_level=None)
            other.execute("BEGIN IMMEDIATE")  # SQLite has one write lock for the whole file
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA busy_timeout = 100")
        else:
            import psycopg

            other = psycopg.connect(
                dbname=settings_dict["NAME"],
                user=settings_dict["USER"] or None,
                password=settings_dict["PASSWORD"] or None,
                host=settings_dict["HOST"] or None,
                port=settings_dict["PORT"] or None,
                connect_timeout=10,
            )
            other.execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
            with connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = '100ms'")
        try:
            yield
        finally:
            other.rollback()
            other.close()
            connection.close()

    return hold
