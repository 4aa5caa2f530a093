"""Sequencer and Merkle log cost: leaves/s of `sequence_all()`, proof latency on the DB store.

Inserts N ledger rows directly (bulk_create of Statement with synthetic ciphertexts and leaf
hashes, as the intake writer would store them), times `sequence_all()` (leaf indices, Merkle
append to the DatabaseNodeStore, per-Member-State counts, a signed checkpoint per batch of
10,000), with a breakdown of where that time goes, then times inclusion and consistency
proofs through `quorum.ledger.selectors` and the pure Merkle code on a MemoryNodeStore.

    .venv/bin/python bench/sequencer_rate.py              # N=100,000 on SQLite, ~40 s
    .venv/bin/python bench/sequencer_rate.py -n 20000 --postgres
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import time
from collections import defaultdict
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


def insert_rows(initiative_id: int, n: int) -> float:
    """bulk_create n statements in transactions of 5,000; returns wall seconds."""
    from django.db import transaction

    from quorum.ledger.models import Statement

    rng = random.Random(7)
    now = datetime.now(UTC).replace(microsecond=0)
    start = time.perf_counter()
    for first in range(0, n, 5000):
        rows = []
        for i in range(first, min(n, first + 5000)):
            ciphertext = os.urandom(304)  # 256-byte padded plaintext + 48 of sealed box
            digest = hashlib.sha256(ciphertext).digest()
            rows.append(
                Statement(
                    initiative_id=initiative_id,
                    member_state=rng.choice(STATES),
                    ciphertext=ciphertext,
                    ciphertext_sha256=digest,
                    leaf_hash=hashlib.sha256(b"\x00bench" + i.to_bytes(8, "big")).digest(),
                    received_at=now,
                )
            )
        with transaction.atomic():
            Statement.objects.bulk_create(rows, batch_size=1000)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=100_000, help="ledger rows to sequence")
    parser.add_argument("--proofs", type=int, default=300, help="proofs to time")
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
    )
    args = parser.parse_args()
    with common.bench_data_dir() as data_dir:
        print(common.machine_line(data_dir))
        if args.postgres:
            with common.postgres_database(args.pg_admin_url) as url:
                run(args, data_dir, url)
        else:
            run(args, data_dir, None)


def run(args, data_dir: Path, database_url: str | None) -> None:
    env = common.base_env(data_dir, database_url)
    common.setup_demo(env)
    common.django_setup(env)
    from django.db import connection
    from django.db.models import QuerySet

    from quorum.initiatives.models import Initiative
    from quorum.ledger import selectors, sequencer
    from quorum.ledger.store import DatabaseNodeStore
    from quorum.proofs import merkle

    print(f"database: {connection.vendor}; N={args.n}; sequencer batch={sequencer.BATCH_SIZE}")
    initiative = Initiative.objects.get(slug=common.DEMO_SLUG)
    sequencer.sequence_all()  # the empty log's first checkpoint, outside the timing

    seconds = insert_rows(initiative.pk, args.n)
    print(f"insert (bulk_create, 5,000 per transaction): {args.n / seconds:,.0f} rows/s")

    timers = Timers()
    timers.wrap(QuerySet, "bulk_update", "bulk_update leaf_index")
    timers.wrap(sequencer.merkle, "append", "merkle.append (hash + store)")
    timers.wrap(DatabaseNodeStore, "get_many", "  store.get_many (frontier)")
    timers.wrap(DatabaseNodeStore, "put_many", "  store.put_many (insert nodes)")
    timers.wrap(sequencer.merkle, "root", "merkle.root")
    timers.wrap(sequencer, "sign_note", "sign checkpoint")
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
    accounted = 0.0
    for label, spent in timers.seconds.items():
        if not label.startswith("  "):
            accounted += spent
        print(f"  {label:<34s} {spent:6.2f} s  {100 * spent / wall:5.1f}%  "
              f"({timers.calls[label]} calls)")  # fmt: skip
    print(f"  {'rest (select pending, counts, tx)':<34s} {wall - accounted:6.2f} s  "
          f"{100 * (wall - accounted) / wall:5.1f}%")  # fmt: skip

    # Proofs through the selectors (what the API serves), against the latest checkpoint.
    from quorum.ledger.models import LogNode, Statement

    compare_leaf_index_updates(initiative.pk, min(args.n, sequencer.BATCH_SIZE))

    latest = selectors.checkpoint_latest(initiative_id=initiative.pk)
    size = latest.size
    print(f"log size {size}, {LogNode.objects.filter(initiative_id=initiative.pk).count()} nodes")
    print(storage_line(size))
    rng = random.Random(11)
    indices = [rng.randrange(size) for _ in range(args.proofs)]
    leaves = dict(
        Statement.objects.filter(initiative_id=initiative.pk, leaf_index__in=indices).values_list(
            "leaf_index", "leaf_hash"
        )
    )
    latencies, bad = [], 0
    for index in indices:
        leaf = bytes(leaves[index])
        start = time.perf_counter()
        proof = selectors.proof_inclusion(initiative_id=initiative.pk, leaf_hash=leaf)
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
    for _ in range(args.proofs):
        old = rng.randrange(1, size)
        start = time.perf_counter()
        selectors.proof_consistency(initiative_id=initiative.pk, old_size=old, new_size=size)
        latencies.append((time.perf_counter() - start) * 1000)
    latencies.sort()
    print(
        f"proof_consistency: p50 {common.percentile(latencies, 0.5):.2f} ms, "
        f"p99 {common.percentile(latencies, 0.99):.2f} ms"
    )

    # The pure Merkle code, no database: the hashing floor of the sequencer.
    hashes = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(args.n)]
    store = merkle.MemoryNodeStore()
    start = time.perf_counter()
    for first in range(0, args.n, sequencer.BATCH_SIZE):
        merkle.append(store, first, hashes[first : first + sequencer.BATCH_SIZE])
    wall = time.perf_counter() - start
    print(f"merkle.append on MemoryNodeStore: {args.n / wall:,.0f} leaves/s "
          f"({1e6 * wall / args.n:.1f} µs/leaf)")  # fmt: skip
    start = time.perf_counter()
    for index in indices:
        merkle.inclusion_proof(store, index, args.n)
    print(f"inclusion_proof on MemoryNodeStore: "
          f"{1e6 * (time.perf_counter() - start) / len(indices):.0f} µs")  # fmt: skip
    connection.close()


if __name__ == "__main__":
    main()
