"""Invariant 3 under kill -9: a statement acknowledged with a receipt is never lost.

D1 of the test matrix (reference/reliability.md §5, §7), in miniature: a real server (two
granian workers) takes statements from a pool of concurrent submitters; after ~2 s, or once
enough are acknowledged, the whole process group is killed with SIGKILL in the middle of the
traffic. The history is Jepsen-style — every request is *ok* (201 and a receipt), *fail* (any
other answer) or *unknown* (the connection died: it may or may not have been stored). Then the
database is opened as the next start would open it (SQLite runs WAL recovery) and checked:

- every acknowledged receipt is a ``leaf_hash`` of ``ledger_statement``, exactly once;
- no row comes from nowhere: rows beyond the acknowledged ones ≤ requests of unknown outcome.

Runs on SQLite and, when the test run has ``DATABASE_URL``, on a fresh PostgreSQL database.
The negative controls show that the checker does fail on a lost, fabricated or doubled receipt.
"""

from __future__ import annotations

import collections
import http.client
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import pytest

from quorum.proofs import merkle

pytestmark = pytest.mark.slow

THREADS = 12
LOAD_SECONDS = 2.0  # kill after this long …
ACK_TARGET = 1500  # … or once this many statements are acknowledged, whichever comes first
MAX_REQUESTS_PER_THREAD = 5000
MIN_ACKNOWLEDGED = 20  # fewer would mean the harness never really loaded the server
JOIN_TIMEOUT = 20.0
SEQUENCER_TIMEOUT = 20.0

SERVER_ENV = {
    "QUORUM_POW": "off",
    "QUORUM_RATE_BURST": "1000000",
    "QUORUM_RATE_SUSTAINED": "1000000",
}


@dataclass
class History:
    """What the submitters saw, request by request (under a lock: many threads write)."""

    acknowledged: list[str] = field(default_factory=list)
    failed: collections.Counter = field(default_factory=collections.Counter)
    unknown: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, receipt: str) -> None:
        with self.lock:
            self.acknowledged.append(receipt)

    def fail(self, status: int) -> None:
        with self.lock:
            self.failed[status] += 1

    def info(self) -> None:
        with self.lock:
            self.unknown += 1


@dataclass(frozen=True)
class Verdict:
    missing: list[str]  # acknowledged, not stored
    duplicated: list[str]  # acknowledged, stored more than once
    unexplained: int  # stored rows that no acknowledged or unknown-outcome request explains

    @property
    def ok(self) -> bool:
        return not self.missing and not self.duplicated and self.unexplained <= 0


def check_history(history: History, stored: Iterable[bytes]) -> Verdict:
    """The durability checker: compare what clients were told with what the database holds."""
    counts = collections.Counter(bytes(h).hex() for h in stored)
    missing = [r for r in history.acknowledged if counts[r] == 0]
    duplicated = [r for r in history.acknowledged if counts[r] > 1]
    extra = sum(counts.values()) - len(set(history.acknowledged) & set(counts))
    # Rows beyond the acknowledged ones can only be in-flight requests whose answer was lost.
    return Verdict(missing, duplicated, unexplained=extra - history.unknown)


def _read_leaf_hashes(connection) -> list[bytes]:
    return [bytes(row[0]) for row in connection.execute("SELECT leaf_hash FROM ledger_statement")]


def _submitter(server, next_statement, history: History, stop: threading.Event, deadline: float):
    client = server.client()
    try:
        for _ in range(MAX_REQUESTS_PER_THREAD):
            if stop.is_set() or time.monotonic() > deadline:
                return
            try:
                status, _headers, body = client.post_statement(next_statement())
            except (OSError, http.client.HTTPException):
                # Killed under us: the outcome of this request is unknown. Stop this thread.
                history.info()
                return
            if status == 201:
                history.ok(body["receipt"])
            else:
                history.fail(status)
    finally:
        client.close()


@dataclass(frozen=True)
class CrashRun:
    history: History
    stored: list[bytes]
    seconds_under_load: float


@pytest.fixture(scope="module")
def crash_run(quorum_site, polish_signatories) -> CrashRun:
    """Load a two-worker server, kill -9 its process group mid-traffic, read the database."""
    server = quorum_site.start_server(workers=2, **SERVER_ENV)
    history = History()
    stop = threading.Event()
    next_statement = polish_signatories("durable")
    started = time.monotonic()
    deadline = started + LOAD_SECONDS + JOIN_TIMEOUT
    threads = [
        threading.Thread(
            target=_submitter,
            args=(server, next_statement, history, stop, deadline),
            name=f"submitter-{i}",
            daemon=True,
        )
        for i in range(THREADS)
    ]
    try:
        for thread in threads:
            thread.start()
        while time.monotonic() - started < LOAD_SECONDS:
            with history.lock:
                if len(history.acknowledged) >= ACK_TARGET:
                    break
            time.sleep(0.01)
        server.kill()
        seconds = time.monotonic() - started
    finally:
        stop.set()
        server.kill()
        for thread in threads:
            thread.join(JOIN_TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a submitter thread did not stop"
    return CrashRun(history=history, stored=quorum_site.leaf_hashes(), seconds_under_load=seconds)


def _report(capsys, line: str) -> None:
    with capsys.disabled():
        print(f"\n  {line}")


def test_every_acknowledged_statement_survives_kill_9(crash_run, quorum_site, capsys) -> None:
    history = crash_run.history
    verdict = check_history(history, crash_run.stored)
    _report(
        capsys,
        f"kill -9 [{quorum_site.backend}] after {crash_run.seconds_under_load:.2f}s: "
        f"acknowledged={len(history.acknowledged)} stored={len(crash_run.stored)} "
        f"unknown-outcome={history.unknown} failed={dict(history.failed)}",
    )
    assert len(history.acknowledged) >= MIN_ACKNOWLEDGED, "the server was hardly loaded"
    assert len(set(history.acknowledged)) == len(history.acknowledged), "a receipt was reused"
    assert not verdict.missing, f"{len(verdict.missing)} acknowledged statements were lost"
    assert not verdict.duplicated, f"stored more than once: {verdict.duplicated[:5]}"
    assert len(crash_run.stored) >= len(history.acknowledged)
    assert verdict.unexplained <= 0, f"{verdict.unexplained} rows no request explains"
    # Before the kill: 201, or at worst an honest 503 "try again" (never 4xx, never 500).
    assert set(history.failed) <= {503}, dict(history.failed)


def _log_caught_up(quorum_site) -> bool:
    (pending,) = quorum_site.query(
        "SELECT count(*) FROM ledger_statement WHERE leaf_index IS NULL"
    )[0]
    (rows,) = quorum_site.query("SELECT count(*) FROM ledger_statement")[0]
    sizes = quorum_site.query("SELECT size FROM ledger_logstate")
    return pending == 0 and [size for (size,) in sizes] == [rows]


def test_after_kill_9_the_server_restarts_and_its_log_takes_in_every_statement(
    crash_run, quorum_site, polish_signatories
) -> None:
    """Restart: a new statement is taken, and the sequencer (killed too) catches up.

    Then leaves = rows (indices 0…n-1), and every checkpoint, also those signed before the
    crash, is a prefix of the one log (D4: no rewrite after a crash).
    """
    server = quorum_site.start_server(workers=2, **SERVER_ENV)
    client = server.client()
    try:
        status, _headers, body = client.post_statement(polish_signatories("restart")())
        deadline = time.monotonic() + SEQUENCER_TIMEOUT
        while not _log_caught_up(quorum_site) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        client.close()
        server.kill()
    assert status == 201, body
    stored = quorum_site.leaf_hashes()
    assert bytes.fromhex(body["receipt"]) in stored
    assert check_history(crash_run.history, stored).missing == []
    assert len(stored) == len(crash_run.stored) + 1
    assert _log_caught_up(quorum_site), f"sequencer did not catch up:\n{server.log.read_text()}"

    rows = quorum_site.query("SELECT leaf_index, leaf_hash FROM ledger_statement")
    leaves = [bytes(leaf) for _index, leaf in sorted(rows)]
    assert sorted(index for index, _leaf in rows) == list(range(len(stored)))
    ((size, root),) = quorum_site.query("SELECT size, root FROM ledger_logstate")
    assert size == len(leaves)
    assert bytes(root) == merkle.root_from_leaves(leaves)
    checkpoints = quorum_site.query("SELECT size, root FROM ledger_checkpoint ORDER BY size")
    assert checkpoints[-1][0] == len(leaves)
    for size, root in checkpoints:
        assert bytes(root) == merkle.root_from_leaves(leaves[:size]), f"checkpoint {size}"
    ((counted,),) = quorum_site.query("SELECT sum(count) FROM ledger_memberstatecount")
    assert counted == len(leaves)


def test_negative_control_the_checker_catches_a_fabricated_or_doubled_receipt(crash_run) -> None:
    fabricated = secrets.token_hex(32)
    history = History(acknowledged=[*crash_run.history.acknowledged, fabricated])
    assert check_history(history, crash_run.stored).missing == [fabricated]

    first = crash_run.history.acknowledged[0]
    doubled = [*crash_run.stored, bytes.fromhex(first)]
    verdict = check_history(crash_run.history, doubled)
    assert verdict.duplicated == [first]
    assert not verdict.ok

    # A row that no request explains (injected), beyond the unknown-outcome allowance.
    injected = crash_run.stored + [secrets.token_bytes(32)] * (crash_run.history.unknown + 1)
    assert check_history(crash_run.history, injected).unexplained > 0


def test_negative_control_a_row_lost_from_the_database_is_caught(
    crash_run, quorum_site, tmp_path
) -> None:
    """Lose one acknowledged row for real (in a copy, or a rolled-back transaction)."""
    lost = crash_run.history.acknowledged[-1]
    if quorum_site.database_url is None:
        copy = sqlite3.connect(tmp_path / "copy.sqlite3")
        source = sqlite3.connect(quorum_site.data_dir / "quorum.sqlite3", timeout=20)
        try:
            source.backup(copy)
            copy.execute("DELETE FROM ledger_statement WHERE leaf_hash = ?", (bytes.fromhex(lost),))
            copy.commit()
            stored = _read_leaf_hashes(copy)
        finally:
            source.close()
            copy.close()
    else:
        import psycopg

        with (
            psycopg.connect(quorum_site.database_url, connect_timeout=10) as connection,
            connection.transaction(force_rollback=True),
        ):
            connection.execute(
                "DELETE FROM ledger_statement WHERE leaf_hash = %s", (bytes.fromhex(lost),)
            )
            stored = _read_leaf_hashes(connection)
    verdict = check_history(crash_run.history, stored)
    assert verdict.missing == [lost]
    assert not verdict.ok
