"""Acknowledged means on two machines: the PostgreSQL primary killed under load, the standby promoted.

Starts a PostgreSQL primary and a synchronous standby of it with docs/deploy.md step 2's
commands (``start_pair``: the roles, pg_hba.conf's lines, the replication slot, the password
file; run as the ``postgres`` user when this runs as root) on free loopback ports, and `quorum
serve --workers 2` (sequencer on) with a DATABASE_URL that names both hosts with
target_session_attrs=read-write and the quorum role's password (step 9). Then:

1. the standby is stopped: a statement sent meanwhile is not acknowledged while it is away,
   and is acknowledged once it is back (the commit waited for it);
2. statements are sent by several clients; the auditor checks the log and saves its checkpoint;
   the primary is killed with SIGKILL and the standby promoted (``pg_ctl promote``); the web
   server's processes and the sequencer reconnect by themselves, and statements go on.

Then, on the promoted standby: every statement answered 201 is stored exactly once; leaf
indices are 0 … n-1 with none reused or skipped; the sequencer went on after the failover; and
the auditor (`quorum audit --previous`) verifies the whole log over HTTP and that it only grew
since the checkpoint it saved before the failover. The last line is

    failover acknowledged=N lost=N reused_or_skipped=N unavailable_s=N

(unavailable_s: the longest time no statement was acknowledged around the failover). The exit
status is 1 when a check fails. Bounded: --duration seconds of load on each side of the fault.

    .venv/bin/python bench/failover.py                 # ~40 s
    .venv/bin/python bench/failover.py --duration 20
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import http.client
import itertools
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import deployment

STATEMENTS = f"/api/v1/initiatives/{common.DEMO_SLUG}/statements"
MAX_DURATION = 120.0
STANDBY_NAME = "standby1"


# --- PostgreSQL: a primary and its synchronous standby ------------------------------------


def _bindir() -> Path:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise SystemExit("PostgreSQL's server binaries (initdb, pg_ctl) are not installed")
    return Path(initdb).resolve().parent


def _as_postgres(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@dataclass
class Node:
    name: str
    port: int
    data: Path
    bindir: Path
    #: Where it listens, and the network namespace it runs in (bench/cluster.py's hosts).
    host: str = "127.0.0.1"
    netns: str | None = None

    def run(
        self, tool: str, *args: str, timeout: float = 60, env: dict[str, str] | None = None
    ) -> str:
        """``tool`` of PostgreSQL's as the postgres user in this node's namespace, with
        ``env`` added to the environment (runuser without --login keeps it)."""
        command = _as_postgres([str(self.bindir / tool), *args])
        if self.netns is not None:
            command = ["ip", "netns", "exec", self.netns, *command]
        result = subprocess.run(
            command,
            cwd="/",  # the postgres user may not enter this checkout
            capture_output=True, text=True, timeout=timeout, check=False,
            env=None if env is None else {**os.environ, **env},
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"{tool} {' '.join(args)}: {result.stderr.strip()[-800:]}")
        return result.stdout

    def start(self) -> None:
        log = self.data / "server.log"
        try:
            self.run("pg_ctl", "-D", str(self.data), "-l", str(log), "-w", "-t", "60", "start")
        except RuntimeError as exc:
            tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
            raise RuntimeError(f"{exc}\n{self.name}'s log:\n{tail}") from exc

    def stop(self, mode: str = "fast") -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def kill(self) -> None:
        """SIGKILL to the postmaster, as a machine lost; its children end once it is gone."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)

    def sql(self, query: str) -> list[tuple]:
        return self.sql_in("postgres", query)

    def sql_in(self, database: str, query: str) -> list[tuple]:
        import psycopg

        # By its Unix socket in its data directory: that reaches it from any namespace.
        with psycopg.connect(host=str(self.data), port=self.port, user="postgres",
                             dbname=database, autocommit=True, connect_timeout=5) as conn:  # fmt: skip
            cursor = conn.execute(query)
            return cursor.fetchall() if cursor.description is not None else []


#: The name of the standby, its replication slot and its application_name (docs/deploy.md
#: step 2): the one deploy/postgresql/quorum.conf's synchronous_standby_names waits for.
SYNCHRONOUS_STANDBY = STANDBY_NAME


def _own(path: Path, mode: int) -> None:
    """``path`` the postgres user's, with ``mode`` (when this runs as root)."""
    if os.geteuid() == 0:
        postgres = pwd.getpwnam("postgres")
        os.chown(path, postgres.pw_uid, postgres.pw_gid)
    path.chmod(mode)


def _test_only_settings(node: Node) -> str:
    """After the guide's settings, what only the test needs (later lines win): its own port,
    where the socket is (that reaches the server from any namespace) and a small cache."""
    return (
        f"\n# Only for the test, not in docs/deploy.md:\nport = {node.port}\n"
        f"unix_socket_directories = '{node.data}'\nshared_buffers = 64MB\n"
    )


def _initdb(primary: Node) -> None:
    """The cluster Debian's postgresql package makes (test only: on Debian, apt-get does it):
    local connections without a password (Debian: peer, as the postgres user; the test
    connects as root), TCP by scram-sha-256, and TLS on with a self-signed certificate (Debian:
    the ssl-cert package's snakeoil one)."""
    superuser = primary.data.parent / f"{primary.name}-superuser-password"
    superuser.write_text(secrets.token_hex(16) + "\n")
    _own(superuser, 0o600)
    try:
        primary.run("initdb", "-D", str(primary.data), "-U", "postgres", "--auth-local=trust",
                    "--auth-host=scram-sha-256", f"--pwfile={superuser}", "--no-sync")  # fmt: skip
    finally:
        superuser.unlink()
    key, certificate = primary.data / "server.key", primary.data / "server.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", f"/CN={primary.host}", "-keyout", str(key), "-out", str(certificate)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    _own(key, 0o600)
    _own(certificate, 0o644)
    with (primary.data / "postgresql.conf").open("a") as conf:
        conf.write("\nssl = on\n")


def start_pair(primary: Node, standby: Node, *, web_network: str, password: str) -> None:
    """docs/deploy.md step 2 on ``primary`` and ``standby``: deploy's settings with the
    listen_addresses edit, the pg_hba.conf lines for the web hosts (``web_network``) and for
    the standby's replication, the roles ``quorum`` (with ``password``) and ``replicator``, the
    database, then the standby's base backup with the replication slot, its password in a
    password file and the primary_conninfo that names it standby1; then it waits until the
    standby streams synchronously from the slot. The commands come from the guide
    (bench/deployment.py); the test adds only its ports, data folders and socket."""
    passfile = primary.data.parent / f"{standby.name}-pgpass"
    step = deployment.postgres_set_up(
        deployment.PostgresValues(
            primary=primary.host,
            port=primary.port,
            standby=standby.host,
            web_subnet=web_network,
            password=password,
            replicator_password=secrets.token_hex(16),
            standby_data=str(standby.data),
            passfile=str(passfile),
        )
    )
    _initdb(primary)
    with (primary.data / "postgresql.conf").open("a") as conf:
        conf.write(_test_only_settings(primary))
    primary.start()
    # The roles and the database first, as the guide has them (no synchronous standby named
    # yet); psql and createdb as it runs them, -h and -p: where the test's server is.
    where = ["-h", str(primary.data), "-p", str(primary.port)]
    for sql in step.sql:
        primary.run("psql", "-X", "-v", "ON_ERROR_STOP=1", *where, "-c", sql)
    primary.run(step.createdb[0], *where, *step.createdb[1:])
    primary.stop()
    # Copied in, not included by path: the postgres user may not read this checkout.
    with (primary.data / "postgresql.conf").open("a") as conf:
        conf.write(deployment.postgres_settings(primary.host) + _test_only_settings(primary))
    with (primary.data / "pg_hba.conf").open("a") as hba:
        hba.write("\n".join(step.hba_lines) + "\n")
    primary.start()  # the guide's `systemctl restart postgresql`

    # The standby. ~postgres/.pgpass is this machine's: the test's file, named by PGPASSFILE.
    passfile.write_text(step.pgpass_line + "\n")
    _own(passfile, 0o600)
    standby.run(*step.basebackup, env={"PGPASSFILE": str(passfile)})
    # The copy holds the primary's socket lock file (its socket is in its data directory).
    for stale in standby.data.glob(".s.PGSQL.*.lock"):
        stale.unlink()
    # On Debian the standby's settings are its own /etc/postgresql files (step 2: the same
    # quorum.conf with its own address); here the copy has the primary's postgresql.conf.
    with (standby.data / "postgresql.auto.conf").open("a") as conf:
        conf.write("\n".join(step.standby_lines) + "\n")
        conf.write(deployment.listen_addresses_line(standby.host) + _test_only_settings(standby))
    standby.start()
    deadline = time.monotonic() + 30
    streaming = (
        "SELECT 1 FROM pg_stat_replication r JOIN pg_replication_slots s ON s.active_pid = r.pid"
        f" WHERE r.sync_state = 'sync' AND r.application_name = '{SYNCHRONOUS_STANDBY}'"
        f" AND s.slot_name = '{SYNCHRONOUS_STANDBY}'"
    )
    while primary.sql(streaming) == []:
        if time.monotonic() > deadline:
            raise RuntimeError("the standby did not stream synchronously from its slot")
        time.sleep(0.2)


def database_url(hosts: list[tuple[str, int]], password: str) -> str:
    """The web hosts' DATABASE_URL (docs/deploy.md step 9): the quorum role with its
    password, both database hosts, the one that takes writes."""
    where = ",".join(f"{host}:{port}" for host, port in hosts)
    return (
        f"postgres://quorum:{password}@{where}/quorum"
        "?target_session_attrs=read-write&connect_timeout=2"
    )


@contextlib.contextmanager
def replicated_postgres(password: str) -> Iterator[tuple[Node, Node]]:
    """(primary, standby), the standby streaming synchronously, the quorum role's password
    ``password``; both gone afterwards."""
    bindir = _bindir()
    base = Path(tempfile.mkdtemp(prefix="quorum-failover-", dir="/tmp"))
    if os.geteuid() == 0:
        postgres = pwd.getpwnam("postgres")
        os.chown(base, postgres.pw_uid, postgres.pw_gid)
    primary = Node("primary", common.free_port(), base / "primary", bindir)
    standby = Node(STANDBY_NAME, common.free_port(), base / "standby", bindir)
    try:
        # Every host is 127.0.0.1 here: the guide's listen_addresses edit gives 'localhost,
        # 127.0.0.1', and the server logs that it could not bind the second (harmless).
        start_pair(primary, standby, web_network="127.0.0.1/32", password=password)
        yield primary, standby
    finally:
        for node in (primary, standby):
            if (node.data / "postmaster.pid").exists():
                with contextlib.suppress(Exception):
                    node.stop("immediate")
        shutil.rmtree(base, ignore_errors=True)


# --- statements ------------------------------------------------------------------------------


@dataclass
class Sent:
    """What the clients were answered: receipts of 201s, and when each came."""

    receipts: list[str] = field(default_factory=list)
    acknowledged_at: list[float] = field(default_factory=list)
    other: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, status: int | str, body: bytes) -> None:
        with self.lock:
            if status == 201:
                self.receipts.append(json.loads(body)["receipt"])
                self.acknowledged_at.append(time.monotonic())
            else:
                self.other[str(status)] = self.other.get(str(status), 0) + 1


def post(port: int, body: bytes, timeout: float = 30) -> tuple[int | str, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("POST", STATEMENTS, body, {"Content-Type": "application/json"})
        answer = connection.getresponse()
        return answer.status, answer.read()
    except (OSError, http.client.HTTPException) as exc:
        return type(exc).__name__, b""
    finally:
        connection.close()


def send(port: int, bodies: Iterator[bytes], sent: Sent, until: threading.Event) -> None:
    while not until.is_set():
        try:
            body = next(bodies)
        except StopIteration:
            return
        status, answer = post(port, body)
        sent.answer(status, answer)
        if status != 201:
            time.sleep(0.05)  # down: do not spin


@contextlib.contextmanager
def clients(port: int, bodies: Iterator[bytes], sent: Sent, count: int) -> Iterator[None]:
    until = threading.Event()
    shared = _Locked(bodies)
    threads = [
        threading.Thread(target=send, args=(port, shared, sent, until), daemon=True)
        for _ in range(count)
    ]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        until.set()
        for thread in threads:
            thread.join(40)


class _Locked(Iterator[bytes]):
    def __init__(self, items: Iterator[bytes]) -> None:
        self._items, self._lock = items, threading.Lock()

    def __next__(self) -> bytes:
        with self._lock:
            return next(self._items)


# --- checks ----------------------------------------------------------------------------------


def audit_command(site: str, saved: Path, *, previous: bool) -> list[str]:
    """`quorum audit` of the demo initiative at ``site``, saving its checkpoint in ``saved``
    (and, with ``previous``, checking that the log only grew since the one saved there)."""
    command = [common.PYTHON, "-m", "quorum.cli", "audit", "--quiet", "--save", str(saved)]
    if previous:
        command += ["--previous", str(saved)]
    return [*command, site, common.DEMO_SLUG]


def audit(port: int, saved: Path, *, previous: bool) -> subprocess.CompletedProcess[str]:
    command = audit_command(f"http://127.0.0.1:{port}", saved, previous=previous)
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def wait_sequenced(node: Node, database: str, timeout: float = 60) -> None:
    """Until every statement stored so far has its leaf (more may arrive meanwhile)."""
    (last,) = node.sql_in(database, "SELECT coalesce(max(id), 0) FROM ledger_statement")[0]
    query = f"SELECT count(*) FROM ledger_statement WHERE id <= {int(last)} AND leaf_index IS NULL"
    deadline = time.monotonic() + timeout
    while node.sql_in(database, query)[0][0] != 0:
        if time.monotonic() > deadline:
            raise RuntimeError("the sequencer did not catch up after the fault")
        time.sleep(0.5)


def stored(node: Node, database: str) -> tuple[dict[str, int], list[int]]:
    """(receipt → rows with that leaf hash, leaf indices in order)."""
    rows = node.sql_in(
        database, "SELECT encode(leaf_hash, 'hex'), leaf_index FROM ledger_statement"
    )
    by_receipt: dict[str, int] = {}
    for receipt, _index in rows:
        by_receipt[receipt] = by_receipt.get(receipt, 0) + 1
    # An index of None (never sequenced) sorts first and counts as skipped.
    return by_receipt, sorted((-1 if index is None else index) for _receipt, index in rows)


def longest_gap(times: list[float], since: float) -> float:
    """The longest stretch without an acknowledgement from a second before ``since`` on."""
    after = sorted(t for t in times if t >= since - 1.0)
    if len(after) < 2:
        return float("inf")
    return max(later - earlier for earlier, later in itertools.pairwise(after))


# --- the run ---------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=12.0, help="seconds of load per side")
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    duration = min(args.duration, MAX_DURATION)
    problems: list[str] = []
    password = secrets.token_hex(16)
    with replicated_postgres(password) as (primary, standby), common.bench_data_dir() as data_dir:
        url = database_url([(primary.host, primary.port), (standby.host, standby.port)], password)
        env = common.base_env(data_dir, url)
        shown = url.replace(password, "…")
        print(f"primary :{primary.port}, synchronous standby :{standby.port}; {shown}")
        common.setup_demo(env)
        log = data_dir / "server.log"
        server, port = common.start_server(env, log, workers=2)
        try:
            bodies = iter(common.make_bodies(100_000))
            sent = Sent()

            # 1. With the standby away, nothing is acknowledged; once it is back, it is.
            standby.stop()
            waiting: list[tuple[int | str, bytes]] = []
            pending = threading.Thread(target=lambda: waiting.append(post(port, next(bodies), 60)))
            pending.start()
            pending.join(3)
            held = pending.is_alive()
            standby.start()
            pending.join(60)
            print(
                f"standby away: answered while away {not held}; once back {waiting[0][0] if waiting else None}"
            )
            if not held or not waiting or waiting[0][0] != 201:
                problems.append("a statement was not held while the standby was away")
            else:
                sent.answer(*waiting[0])

            # 2. Load, an audit, then the primary lost and the standby promoted.
            with clients(port, bodies, sent, args.clients):
                time.sleep(duration / 2)
                saved = data_dir / "checkpoint.json"
                before = audit(port, saved, previous=False)
                if before.returncode != 0:
                    problems.append(
                        f"audit before the failover: {before.stdout[-500:]}{before.stderr[-500:]}"
                    )
                time.sleep(duration / 2)
                acknowledged_before = len(sent.receipts)
                fault_at = time.monotonic()
                primary.kill()
                standby.run("pg_ctl", "-D", str(standby.data), "-w", "promote")
                # The operator's step of the failover (docs/operator.md): the new primary has no
                # standby of its own yet, and would otherwise wait for one at every commit.
                standby.sql("ALTER SYSTEM SET synchronous_standby_names = ''")
                standby.sql("SELECT pg_reload_conf()")
                promoted_at = time.monotonic()
                time.sleep(duration)
            acknowledged_after = len(sent.receipts) - acknowledged_before
            try:
                wait_sequenced(standby, "quorum")
            except RuntimeError as exc:
                problems.append(str(exc))
                print(f"server log tail:\n{log.read_text(errors='replace')[-3000:]}")
            after = audit(port, saved, previous=True)
            if after.returncode != 0:
                problems.append(
                    f"audit after the failover: {after.stdout[-500:]}{after.stderr[-500:]}"
                )
        finally:
            common.stop_server(server, log)
        by_receipt, indices = stored(standby, "quorum")
    lost = sum(1 for receipt in sent.receipts if by_receipt.get(receipt, 0) == 0)
    twice = sum(1 for receipt in set(sent.receipts) if by_receipt.get(receipt, 0) > 1)
    reused_or_skipped = sum(1 for n, index in enumerate(indices) if index != n)
    gap = longest_gap(sent.acknowledged_at, fault_at)
    print(
        f"failover: acknowledged {acknowledged_before} before, {acknowledged_after} after; "
        f"promotion took {promoted_at - fault_at:.1f} s; other answers {sent.other}; "
        f"stored {sum(by_receipt.values())} rows, leaves 0..{len(indices) - 1}; "
        f"stored twice {twice}"
    )
    if acknowledged_after == 0:
        problems.append("no statement was acknowledged after the failover")
    if lost or twice or reused_or_skipped:
        problems.append("a statement was lost or stored twice, or a leaf index reused or skipped")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print(
        f"failover acknowledged={len(sent.receipts)} lost={lost} "
        f"reused_or_skipped={reused_or_skipped} unavailable_s={gap:.1f}"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
