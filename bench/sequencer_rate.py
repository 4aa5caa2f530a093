"""Sequencer and Merkle log cost: leaves/s of `sequence_all()`, proof latency on the DB store.

Inserts N ledger rows directly (synthetic ciphertexts and leaf hashes, as the intake writer
would store them: bulk_create on SQLite, COPY on PostgreSQL), times `sequence_all()` (leaf
indices, Merkle append to the DatabaseNodeStore, per-Member-State counts, a signed checkpoint
per batch of 2,000), with a breakdown of where that time goes, then times inclusion and
consistency proofs through `quorum.ledger.selectors`, a checkpoint's root and signature, and
the pure Merkle code on a MemoryNodeStore.

By default all N rows go in first and one `sequence_all()` sequences them. With `--chunk`
the rows go in `--chunk` at a time and the real `sequence_all()` runs after each chunk, as the
sequencer keeps up with the intake in service; that is how logs of millions of leaves are
built (the backlog query of a log with millions of unsequenced rows is not what a running
service sees). `--database NAME` keeps the database (and its data directory, with the log
key) so that a long load can be resumed, and measured again with `--proofs-only`.

    .venv/bin/python bench/sequencer_rate.py              # N=100,000 on SQLite, ~40 s
    .venv/bin/python bench/sequencer_rate.py -n 20000 --postgres
    nice -n 19 timeout 3600 .venv/bin/python bench/sequencer_rate.py --postgres \
        -n 10000000 --chunk 20000 --database h_scale --deadline 3300 --proofs 1000 \
        --measure-at 100000,300000,1000000,3000000
    .venv/bin/python bench/sequencer_rate.py --postgres --database h_scale --proofs-only --drop
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import random
import re
import shutil
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

STATES = ("PL", "DE", "FR", "IT", "ES", "NL", "BE", "AT", "SE", "PT")


class Timers:
    """Wall seconds spent inside wrapped functions (bench-only instrumentation)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._undo: list = []

    def wrap(self, owner, name: str, label: str) -> None:
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - start
                self.calls[label] += 1

        setattr(owner, name, timed)
        self._undo.append((owner, name, original))

    def restore(self) -> None:
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)
        self._undo.clear()


Row = tuple[int, str, bytes, bytes, bytes, datetime]


def _rows(initiative_id: int, first: int, n: int) -> list[Row]:
    """Rows [first, first + n) as the intake writer stores them, leaf hashes unique by index."""
    rng = random.Random(7 + first)
    now = datetime.now(UTC).replace(microsecond=0)
    rows: list[Row] = []
    for i in range(first, first + n):
        ciphertext = os.urandom(304)  # 256-byte padded plaintext + 48 of sealed box
        rows.append(
            (
                initiative_id,
                rng.choice(STATES),
                ciphertext,
                hashlib.sha256(ciphertext).digest(),
                hashlib.sha256(b"\x00bench" + i.to_bytes(8, "big")).digest(),
                now,
            )
        )
    return rows


def insert_rows(initiative_id: int, n: int, first: int = 0) -> float:
    """Store n unsequenced statements in transactions of 5,000; returns wall seconds.

    SQLite: bulk_create, as before. PostgreSQL: COPY, the same rows and columns without the
    ORM's per-row cost, so that a load of millions spends its time in the sequencer.
    """
    from django.db import connection, transaction

    from quorum.ledger.models import Statement

    start = time.perf_counter()
    for low in range(first, first + n, 5000):
        rows = _rows(initiative_id, low, min(first + n, low + 5000) - low)
        with transaction.atomic():
            if connection.vendor == "postgresql":
                table = connection.ops.quote_name(Statement._meta.db_table)
                with connection.cursor() as cursor:
                    copy_sql = (
                        f"COPY {table} (initiative_id, member_state, ciphertext, "
                        "ciphertext_sha256, leaf_hash, received_at) FROM STDIN (FORMAT BINARY)"
                    )
                    with cursor.cursor.copy(copy_sql) as copy:
                        copy.set_types(
                            ["int8", "varchar", "bytea", "bytea", "bytea", "timestamptz"]
                        )
                        for row in rows:
                            copy.write_row(row)
            else:
                Statement.objects.bulk_create(
                    [
                        Statement(
                            initiative_id=initiative,
                            member_state=state,
                            ciphertext=ciphertext,
                            ciphertext_sha256=digest,
                            leaf_hash=leaf,
                            received_at=received,
                        )
                        for initiative, state, ciphertext, digest, leaf, received in rows
                    ],
                    batch_size=1000,
                )
    return time.perf_counter() - start


def compare_leaf_index_updates(initiative_id: int, count: int) -> None:
    """The sequencer's leaf_index write, as it is (bulk_update) and as one executemany.

    Both rewrite the same values on `count` already sequenced rows inside a transaction that
    is rolled back, so the log is unchanged.
    """
    from django.db import connection, transaction

    from quorum.ledger.models import Statement

    rows = list(
        Statement.objects.filter(initiative_id=initiative_id, leaf_index__isnull=False)
        .order_by("id")
        .only("id", "leaf_index")[:count]
    )
    table = Statement._meta.db_table
    timings = {}
    for label in ("bulk_update(batch_size=500)", "cursor.executemany(UPDATE ... WHERE id)"):
        with transaction.atomic():
            start = time.perf_counter()
            if label.startswith("bulk_update"):
                Statement.objects.bulk_update(rows, ["leaf_index"], batch_size=500)
            else:
                with connection.cursor() as cursor:
                    cursor.executemany(
                        f"UPDATE {table} SET leaf_index = %s WHERE id = %s",
                        [(r.leaf_index, r.id) for r in rows],
                    )
            timings[label] = time.perf_counter() - start
            transaction.set_rollback(True)
    for label, spent in timings.items():
        print(f"  leaf_index for {len(rows)} rows via {label:<40s} {1e6 * spent / len(rows):6.1f} "
              f"µs/row")  # fmt: skip

    # Node inserts, as put_many does them (bulk_create) and as one executemany. Positions
    # from 1 << 62 on (level 64) cannot meet a real node; both are rolled back.
    from quorum.ledger.models import LogNode

    nodes = [(1 << 62) + i for i in range(2 * count)]
    digest = hashlib.sha256(b"node").digest()
    node_table = LogNode._meta.db_table
    for label in ("bulk_create(batch_size=500)", "cursor.executemany(INSERT)"):
        with transaction.atomic():
            start = time.perf_counter()
            if label.startswith("bulk_create"):
                LogNode.objects.bulk_create(
                    [LogNode(initiative_id=initiative_id, position=p, hash=digest) for p in nodes],
                    batch_size=500,
                )
            else:
                with connection.cursor() as cursor:
                    cursor.executemany(
                        f"INSERT INTO {node_table} (initiative_id, position, hash) "
                        "VALUES (%s, %s, %s)",
                        [(initiative_id, p, digest) for p in nodes],
                    )
            spent = time.perf_counter() - start
            transaction.set_rollback(True)
        print(f"  log nodes, {len(nodes)} inserted via {label:<37s} "
              f"{1e6 * spent / len(nodes):6.1f} µs/node")  # fmt: skip


def storage_line(size: int) -> str:
    """What the statements and the log take on disk, in all and per leaf (docs/scaling.md)."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            tables = {}
            for table in ("ledger_statement", "ledger_lognode"):
                cursor.execute("SELECT pg_total_relation_size(%s)", [table])
                tables[table] = int(cursor.fetchone()[0])
        else:
            cursor.execute(
                "SELECT name, sum(pgsize) FROM dbstat WHERE name LIKE 'ledger_statement%' "
                "OR name LIKE 'ledger_lognode%' OR name IN "
                "(SELECT name FROM sqlite_master WHERE tbl_name IN "
                "('ledger_statement', 'ledger_lognode')) GROUP BY name"
            )
            tables = {"ledger_statement": 0, "ledger_lognode": 0}
            for name, pages in cursor.fetchall():
                cursor.execute("SELECT tbl_name FROM sqlite_master WHERE name = %s", [name])
                row = cursor.fetchone()
                owner = row[0] if row else name
                if owner in tables:
                    tables[owner] += int(pages)
    parts = ", ".join(
        f"{table} {total / 2**20:,.1f} MiB ({total / max(size, 1):,.0f} B/leaf)"
        for table, total in tables.items()
    )
    return f"on disk (tables with their indexes): {parts}"


def storage_detail(size: int) -> list[str]:
    """PostgreSQL: each table's heap and indexes, and its dead row versions (a statement is
    written twice: stored, then given its leaf index; only a vacuum makes the first reusable)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return []
    lines = []
    with connection.cursor() as cursor:
        for table in ("ledger_statement", "ledger_lognode", "ledger_checkpoint"):
            cursor.execute(
                "SELECT pg_relation_size(c.oid), pg_indexes_size(c.oid), "
                "coalesce(pg_total_relation_size(c.reltoastrelid), 0), "
                "coalesce(s.n_live_tup, 0), coalesce(s.n_dead_tup, 0) "
                "FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid "
                "WHERE c.oid = %s::regclass",
                [table],
            )
            heap, indexes, toast, live, dead = (int(v) for v in cursor.fetchone())
            cursor.execute(
                "SELECT indexrelid::regclass::text, pg_relation_size(indexrelid) "
                "FROM pg_index WHERE indrelid = %s::regclass ORDER BY 2 DESC",
                [table],
            )
            each = ", ".join(f"{name} {b / max(size, 1):,.0f}" for name, b in cursor.fetchall())
            lines.append(
                f"  {table}: heap {heap / 2**20:,.1f} MiB ({heap / max(size, 1):,.0f} B/leaf), "
                f"indexes {indexes / 2**20:,.1f} MiB ({indexes / max(size, 1):,.0f} B/leaf: "
                f"{each}), toast {toast / 2**20:,.1f} MiB; rows live {live:,}, dead {dead:,}"
            )
        cursor.execute("SELECT pg_database_size(current_database())")
        lines.append(f"  database in all: {int(cursor.fetchone()[0]) / 2**30:,.2f} GiB")
    return lines


def nice_backend() -> None:
    """Give this connection's PostgreSQL backend the bench's own niceness, so that
    `nice -n 19` also yields the database's share of the work to others on the machine."""
    from django.db import connection

    ours = os.nice(0)
    if connection.vendor != "postgresql" or ours <= 0:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = int(cursor.fetchone()[0])
    try:
        if os.getpriority(os.PRIO_PROCESS, pid) < ours:
            os.setpriority(os.PRIO_PROCESS, pid, ours)
            print(f"PostgreSQL backend {pid} set to nice {ours}, as this bench")
    except OSError as exc:  # not on this machine, or not ours to change
        print(f"PostgreSQL backend {pid} keeps its priority ({exc})")


TIMED = (
    # (module attribute, label); an indented label is part of the one above it.
    ("sequencer._assign_indices", "assign leaf indices (executemany)"),
    ("sequencer.merkle.append", "merkle.append (hash + store)"),
    ("DatabaseNodeStore.get_many", "  store.get_many (frontier)"),
    ("DatabaseNodeStore.put_many", "  store.put_many (insert nodes)"),
    ("sequencer.merkle.root", "merkle.root"),
    ("sequencer.sign_note", "sign checkpoint"),
)


def timed_sequencer(timers: Timers | None = None) -> Timers:
    """The sequencer's parts wrapped with timers, new or adding to `timers` (restore() them
    when done)."""
    from quorum.ledger import sequencer
    from quorum.ledger.store import DatabaseNodeStore

    owners = {"sequencer": sequencer, "DatabaseNodeStore": DatabaseNodeStore}
    timers = timers or Timers()
    for path, label in TIMED:
        first, *middle, name = path.split(".")
        owner = owners[first]
        for part in middle:
            owner = getattr(owner, part)
        timers.wrap(owner, name, label)
    return timers


def print_breakdown(timers: Timers, wall: float, batches: int) -> None:
    from quorum.ledger import sequencer

    accounted = 0.0
    for label, spent in timers.seconds.items():
        if not label.startswith("  "):
            accounted += spent
        calls = timers.calls[label]
        print(f"  {label:<34s} {spent:8.2f} s  {100 * spent / wall:5.1f}%  "
              f"({calls} calls, {1e6 * spent / max(calls, 1):,.0f} µs/call)")  # fmt: skip
    pauses = batches * sequencer.BATCH_PAUSE_SECONDS
    print(f"  {'pauses between batches (about)':<34s} {pauses:8.2f} s  "
          f"{100 * pauses / wall:5.1f}%")  # fmt: skip
    rest = wall - accounted - pauses
    print(f"  {'rest (select pending, counts, tx)':<34s} {rest:8.2f} s  "
          f"{100 * rest / wall:5.1f}%")  # fmt: skip


def sequence_once(initiative_id: int, n: int, first: int) -> None:
    """All n rows first, then one timed `sequence_all()` (the bench's first form)."""
    from quorum.ledger import sequencer

    seconds = insert_rows(initiative_id, n, first)
    print(f"insert (5,000 per transaction): {n / seconds:,.0f} rows/s")
    timers = timed_sequencer()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    try:
        done = sequencer.sequence_all()
    finally:
        timers.restore()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    appended = sum(r.appended for r in done)
    print(
        f"sequence_all(): {appended} leaves in {len(done)} batches, {wall:.2f} s wall, "
        f"{cpu:.2f} s CPU (this process) -> {appended / wall:,.0f} leaves/s, "
        f"{1e6 * wall / max(appended, 1):.0f} µs/leaf"
    )
    print_breakdown(timers, wall, len(done))


def analyze() -> float:
    """PostgreSQL: ANALYZE the statements, as autovacuum's autoanalyze does after every 10 % of
    change; returns wall seconds. Without statistics (this test server runs with autovacuum
    off) the planner reads the sequencer's backlog query through a bitmap scan that visits
    every dead, unsequenced row version left in the (initiative, leaf_index) index: one per
    leaf, so each batch costs more as the log grows. With them it takes a plain index scan,
    which marks those entries dead once and then skips them. No VACUUM: the dead row
    versions stay, as in a database whose vacuum has not run yet."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0.0
    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE ledger_statement, ledger_lognode")
    return time.perf_counter() - start


def sequence_in_chunks(
    initiative_id: int,
    slug: str,
    args: argparse.Namespace,
    first: int,
    measure_at: set[int],
    deadline: float,
) -> int:
    """Insert `args.chunk` rows, let the real `sequence_all()` sequence them, repeat up to
    `args.n` leaves or the deadline; measure the log on the way at the sizes of `measure_at`.
    Returns the log's size."""
    from quorum.ledger import sequencer

    size, inserting, sequencing, analyzing, batches = first, 0.0, 0.0, 0.0, 0
    analyzed = 0  # the log's size at the last ANALYZE
    every = max(args.chunk, args.n // 20)
    window = (size, 0.0, 0.0)
    timers = timed_sequencer()
    started = time.perf_counter()
    try:
        while size < args.n:
            if deadline and time.monotonic() > deadline:
                print(f"deadline reached: the load stops at {size:,} leaves")
                break
            count = min(args.chunk, args.n - size)
            inserting += insert_rows(initiative_id, count, size)
            wall0 = time.perf_counter()
            done = sequencer.sequence_all()
            sequencing += time.perf_counter() - wall0
            batches += len(done)
            size += sum(r.appended for r in done)
            # After the sequencer caught up, as in service: the backlog is small.
            if size >= analyzed * 1.1:
                analyzing += analyze()
                analyzed = size
            if size // every != (size - count) // every or size >= args.n:
                then_size, then_ins, then_seq = window
                added = size - then_size
                print(
                    f"  {size:>11,} leaves, {time.perf_counter() - started:7,.0f} s: the last "
                    f"{added:,} inserted at {added / max(inserting - then_ins, 1e-9):,.0f} rows/s, "
                    f"sequenced at {added / max(sequencing - then_seq, 1e-9):,.0f} leaves/s",
                    flush=True,
                )
                window = (size, inserting, sequencing)
            if size in measure_at:
                timers.restore()
                measure(initiative_id, slug, size, args.proofs)
                timed_sequencer(timers)
    finally:
        timers.restore()
    added = size - first
    if added:
        print(
            f"chunked load: {added:,} leaves in {time.perf_counter() - started:,.0f} s; insert "
            f"{inserting:,.0f} s ({added / inserting:,.0f} rows/s), sequence_all() "
            f"{sequencing:,.0f} s in {batches:,} batches ({added / sequencing:,.0f} leaves/s, "
            f"{1e6 * sequencing / added:.0f} µs/leaf), ANALYZE {analyzing:,.1f} s; breakdown "
            "outside the measurements:"
        )
        print_breakdown(timers, sequencing, batches)
    return size


def measure(initiative_id: int, slug: str, size: int, proofs: int) -> list[int]:
    """Storage, proofs through the selectors (what the API serves) and a checkpoint's cost,
    at the latest checkpoint; returns the leaf indices it proved."""
    from quorum.core.log_key import log_key, log_origin
    from quorum.ledger import selectors
    from quorum.ledger.models import Statement
    from quorum.ledger.store import DatabaseNodeStore
    from quorum.proofs import merkle
    from quorum.proofs.signed_note import format_checkpoint, sign_note

    nice_backend()
    latest = selectors.checkpoint_latest(initiative_id=initiative_id)
    assert latest is not None and latest.size == size, "the log is not at the expected size"
    print(f"-- log of {size:,} leaves (tree height {(size - 1).bit_length()})")
    print(storage_line(size))
    for line in storage_detail(size):
        print(line)
    rng = random.Random(11)
    indices = [rng.randrange(size) for _ in range(proofs)]
    leaves = dict(
        Statement.objects.filter(initiative_id=initiative_id, leaf_index__in=indices).values_list(
            "leaf_index", "leaf_hash"
        )
    )
    latencies, bad = [], 0
    for index in indices:
        leaf = bytes(leaves[index])
        start = time.perf_counter()
        proof = selectors.proof_inclusion(initiative_id=initiative_id, leaf_hash=leaf)
        latencies.append((time.perf_counter() - start) * 1000)
        if not merkle.verify_inclusion(
            leaf, proof.leaf_index, size, proof.path, bytes(latest.root)
        ):
            bad += 1
    latencies.sort()
    print(
        f"proof_inclusion (leaf lookup + 1 node query): p50 {common.percentile(latencies, 0.5):.2f} "
        f"ms, p99 {common.percentile(latencies, 0.99):.2f} ms over {len(latencies)}; "
        f"failed verification: {bad}"
    )
    latencies = []
    for _ in range(proofs):
        old = rng.randrange(1, size)
        start = time.perf_counter()
        selectors.proof_consistency(initiative_id=initiative_id, old_size=old, new_size=size)
        latencies.append((time.perf_counter() - start) * 1000)
    latencies.sort()
    print(
        f"proof_consistency: p50 {common.percentile(latencies, 0.5):.2f} ms, "
        f"p99 {common.percentile(latencies, 0.99):.2f} ms"
    )
    # A checkpoint: the root of a tree size (one query for its complete subtrees) and the
    # Ed25519 signature of the note, as the sequencer makes one after each batch.
    store, key, origin = DatabaseNodeStore(initiative_id), log_key(), log_origin(slug)
    roots, signatures = [], []
    for _ in range(proofs):
        tree_size = rng.randrange(size // 2 + 1, size + 1)
        start = time.perf_counter()
        root = merkle.root(store, tree_size)
        middle = time.perf_counter()
        sign_note(format_checkpoint(origin, tree_size, root), key.name, key.seed)
        roots.append((middle - start) * 1000)
        signatures.append((time.perf_counter() - middle) * 1000)
    roots.sort()
    signatures.sort()
    print(
        f"checkpoint: root p50 {common.percentile(roots, 0.5):.2f} ms, p99 "
        f"{common.percentile(roots, 0.99):.2f} ms; signing p50 "
        f"{1000 * common.percentile(signatures, 0.5):.0f} µs, p99 "
        f"{1000 * common.percentile(signatures, 0.99):.0f} µs",
        flush=True,
    )
    return indices


@contextlib.contextmanager
def kept_database(admin_url: str, name: str, drop: bool) -> Iterator[tuple[Path, str]]:
    """Database `name` on the server of `admin_url` (created if absent) and its data directory
    bench/.runs/db-<name> (the log key, the demo's marker); both kept unless `drop`."""
    import psycopg

    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise SystemExit(f"--database {name!r}: lower-case letters, digits and _ only")
    data_dir = common.ROOT / "bench" / ".runs" / f"db-{name}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')
            shutil.rmtree(data_dir, ignore_errors=True)  # a log key of a database now gone
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        yield data_dir, f"{admin_url.rpartition('/')[0]}/{name}"
    finally:
        if drop:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            shutil.rmtree(data_dir, ignore_errors=True)
            print(f"dropped database {name} and {data_dir}")


def main() -> None:
    started = time.monotonic()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=100_000, help="leaves the log should reach")
    parser.add_argument("--proofs", type=int, default=300, help="proofs to time")
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument(
        "--chunk", type=int, default=0, help="insert and sequence this many rows at a time"
    )
    parser.add_argument(
        "--measure-at",
        default="",
        help="with --chunk: also measure the log when it reaches these sizes (comma-separated)",
    )
    parser.add_argument(
        "--database",
        help="PostgreSQL: use this database (created if absent) and keep it; a log already in "
        "it counts towards -n",
    )
    parser.add_argument("--drop", action="store_true", help="drop --database at the end")
    parser.add_argument(
        "--proofs-only", action="store_true", help="load nothing; measure the log as it is"
    )
    parser.add_argument(
        "--deadline", type=float, default=0, help="stop loading after this many seconds"
    )
    args = parser.parse_args()
    if (args.drop or args.proofs_only) and not args.database:
        parser.error("--drop and --proofs-only go with --database")
    if args.database and not args.postgres:
        parser.error("--database needs --postgres")
    if args.measure_at and not args.chunk:
        parser.error("--measure-at goes with --chunk")
    deadline = started + args.deadline if args.deadline else 0.0
    if args.database:
        with kept_database(args.pg_admin_url, args.database, args.drop) as (data_dir, url):
            print(common.machine_line(data_dir))
            run(args, data_dir, url, deadline)
    else:
        with common.bench_data_dir() as data_dir:
            print(common.machine_line(data_dir))
            if args.postgres:
                with common.postgres_database(args.pg_admin_url) as url:
                    run(args, data_dir, url, deadline)
            else:
                run(args, data_dir, None, deadline)
    print(f"wall time {time.monotonic() - started:,.0f} s")


def run(
    args: argparse.Namespace, data_dir: Path, database_url: str | None, deadline: float
) -> None:
    env = common.base_env(data_dir, database_url)
    demo_done = data_dir / ".demo-done"
    if not demo_done.exists():
        common.setup_demo(env)
        demo_done.touch()
    common.django_setup(env)
    from django.db import connection

    from quorum.initiatives.models import Initiative
    from quorum.ledger import selectors, sequencer
    from quorum.proofs import merkle

    print(
        f"database: {connection.vendor}; N={args.n:,}; sequencer batch={sequencer.BATCH_SIZE:,}; "
        + (f"chunks of {args.chunk:,} rows" if args.chunk else "all rows, then sequence_all()")
    )
    initiative = Initiative.objects.get(slug=common.DEMO_SLUG)
    nice_backend()
    # The empty log's first checkpoint, or what a stopped load left unsequenced: untimed.
    sequencer.sequence_all()
    latest = selectors.checkpoint_latest(initiative_id=initiative.pk)
    size = latest.size if latest is not None else 0
    if size:
        print(f"the log already holds {size:,} leaves")

    if not args.proofs_only and size < args.n:
        if args.chunk:
            measure_at = {int(v) for v in args.measure_at.split(",") if v.strip()}
            size = sequence_in_chunks(
                initiative.pk, initiative.slug, args, size, measure_at, deadline
            )
        else:
            sequence_once(initiative.pk, args.n - size, size)
            size = args.n

    indices = measure(initiative.pk, initiative.slug, size, args.proofs)
    compare_leaf_index_updates(initiative.pk, min(size, sequencer.BATCH_SIZE))

    # The pure Merkle code, no database: the hashing floor of the sequencer. In memory, so
    # at most a million leaves (ten million would take several GiB of Python objects).
    n = min(size, 1_000_000)
    hashes = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(n)]
    store = merkle.MemoryNodeStore()
    start = time.perf_counter()
    for first in range(0, n, sequencer.BATCH_SIZE):
        merkle.append(store, first, hashes[first : first + sequencer.BATCH_SIZE])
    wall = time.perf_counter() - start
    print(f"merkle.append on MemoryNodeStore, {n:,} leaves: {n / wall:,.0f} leaves/s "
          f"({1e6 * wall / n:.1f} µs/leaf)")  # fmt: skip
    start = time.perf_counter()
    in_memory = [index % n for index in indices]
    for index in in_memory:
        merkle.inclusion_proof(store, index, n)
    print(f"inclusion_proof on MemoryNodeStore: "
          f"{1e6 * (time.perf_counter() - start) / len(in_memory):.0f} µs")  # fmt: skip
    connection.close()


if __name__ == "__main__":
    main()
