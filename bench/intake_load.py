"""Load test of the real intake: `quorum serve` + POST /api/v1/initiatives/<slug>/statements.

Starts a real server on 127.0.0.1 (SQLite by default, --postgres for a throwaway PostgreSQL
database), drives it with a bounded closed loop from a separate process (wrk when installed,
else an asyncio client), then checks that every acknowledged receipt is in the database.

    .venv/bin/python bench/intake_load.py                      # SQLite, 2 workers, c=16 and c=64
    .venv/bin/python bench/intake_load.py --postgres --workers 1
    .venv/bin/python bench/intake_load.py --client python --duration 8

Prints, per concurrency: req/s, 201/s, p50/p90/p99 latency, status counts, rows stored vs
acknowledged, and CPU: server (web workers, sequencer), load generator, PostgreSQL and the
rest of the machine, with server CPU ms per stored statement. Figures only, no verdicts.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

PATH = f"/api/v1/initiatives/{common.DEMO_SLUG}/statements"


# --- database reads (Django in this process, after `quorum demo`) ---------------------------


def pg_cpu_pids() -> list[int]:
    """Backends of the bench database and PostgreSQL's background processes (not ours)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND "
            "(datname = current_database() OR backend_type <> 'client backend')"
        )
        return [row[0] for row in cursor.fetchall()]


def pg_counters() -> tuple[int, int]:
    """(WAL syncs of the whole cluster, sessions opened on the bench database so far)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT wal_sync FROM pg_stat_wal), "
            "(SELECT sessions FROM pg_stat_database WHERE datname = current_database())"
        )
        wal, sessions = cursor.fetchone()
        return int(wal), int(sessions)


# --- one load level ------------------------------------------------------------------------


def run_level(args, kind: str, port: int, server: subprocess.Popen, conc: int, run_dir: Path):
    postgres = args.postgres
    bodies = run_dir / f"bodies-c{conc}.jsonl"
    receipts = run_dir / f"receipts-c{conc}"
    rows_before = common.stored_rows()
    pg_pids = pg_cpu_pids() if postgres else []
    wal_before, sessions_before = pg_counters() if postgres else (0, 0)
    server_before = common.group_cpu(server.pid)
    pg_before = common.alive_cpu(pg_pids)
    busy_before, _ = common.machine_busy()
    wall_start = time.perf_counter()
    load = common.Load(port, PATH, bodies, conc, args.duration, receipts)
    result, client_cpu = common.run_client(kind, load)
    time.sleep(0.5)  # let requests cut off by wrk's deadline reach their commit
    wall = time.perf_counter() - wall_start
    busy_after, _ = common.machine_busy()
    server_after = common.group_cpu(server.pid)
    pg_pids = sorted(set(pg_pids) | set(pg_cpu_pids() if postgres else []))
    pg_after = common.alive_cpu(pg_pids)
    wal_after, sessions_after = pg_counters() if postgres else (0, 0)
    wal_syncs = wal_after - wal_before
    rows = common.stored_rows() - rows_before
    server_delta = common.CpuDelta(server_before, server_after)
    sequencer = {p for p in server_after if "quorum.cli sequencer" in common.cmdline(p)}
    server_cpu = server_delta.total()
    sequencer_cpu = server_delta.total(sequencer)
    pg_cpu = common.CpuDelta(pg_before, pg_after).total()
    machine = busy_after - busy_before
    acked = [receipt for _, receipt in common.read_answers(receipts)]
    return {
        "conc": conc,
        **result,
        "req_s": result["requests"] / result["duration_s"],
        "ok_s": result["s201"] / result["duration_s"],
        "rows": rows,
        "acked": len(acked),
        "receipts": acked,
        "wall": wall,
        "server_cpu": server_cpu,
        "sequencer_cpu": sequencer_cpu,
        "client_cpu": client_cpu,
        "pg_cpu": pg_cpu,
        "machine_cpu": machine,
        "wal_syncs": wal_syncs,
        "pg_sessions": sessions_after - sessions_before,
    }


def describe(level: dict) -> str:
    w = level["wall"]
    rows = max(level["rows"], 1)
    other = level["machine_cpu"] - level["server_cpu"] - level["client_cpu"] - level["pg_cpu"]
    parts = [
        f"c={level['conc']:<3d} {level['req_s']:7.0f} req/s ({level['ok_s']:.0f} 201/s)",
        f"p50 {level['p50_ms']:.1f} ms  p90 {level['p90_ms']:.1f} ms  p99 {level['p99_ms']:.1f} ms",
        f"201={level['s201']} 4xx={level['s4xx']} 5xx={level['s5xx']} other={level['sother']} "
        f"sock_err={level['socket_errors']} timeouts={level['timeouts']} wraps={level['wraps']}",
        f"rows stored {level['rows']} vs 201 acked {level['acked']} "
        f"(+{level['rows'] - level['acked']} in flight at cut-off)",
        f"CPU % of one core: server {100 * level['server_cpu'] / w:.0f} "
        f"(of which sequencer {100 * level['sequencer_cpu'] / w:.0f}) / client "
        f"{100 * level['client_cpu'] / w:.0f} / postgres {100 * level['pg_cpu'] / w:.0f} / "
        f"other {100 * other / w:.0f} -> machine {100 * level['machine_cpu'] / w:.0f} of "
        f"{100 * (os.cpu_count() or 1)}",
        f"server CPU {1000 * level['server_cpu'] / rows:.2f} ms/statement "
        f"(web {1000 * (level['server_cpu'] - level['sequencer_cpu']) / rows:.2f}, "
        f"sequencer {1000 * level['sequencer_cpu'] / rows:.2f})"
        + (
            f", postgres {1000 * level['pg_cpu'] / rows:.2f} ms/statement, "
            f"{level['rows'] / max(level['wal_syncs'], 1):.1f} rows per WAL sync (cluster), "
            f"{level['pg_sessions']} new PostgreSQL sessions"
            if level["wal_syncs"]
            else ""
        ),
    ]
    return "\n    ".join(parts)


# --- main ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument(
        "--redis",
        metavar="URL",
        help="rate limits and single use in this Redis (e.g. redis://127.0.0.1:6379/14, which "
        "is flushed) instead of the database",
    )
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="where to CREATE/DROP the throwaway database",
    )
    parser.add_argument("--workers", type=int, default=2, choices=(1, 2, 3, 4))
    parser.add_argument("--conc", default="16,64", help="concurrency levels, comma-separated")
    parser.add_argument("--duration", type=float, default=12.0, help="seconds per level (≤ 60)")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument(
        "--no-sequencer", action="store_true", help="serve without the sequencer process"
    )
    parser.add_argument(
        "--max-rate", type=int, default=8000, help="bodies generated per second of load"
    )
    parser.add_argument(
        "--app",
        choices=("fastpath", "django"),
        default="fastpath",
        help="fastpath: `quorum serve` as shipped; django: the same with QUORUM_FAST_PATH=0",
    )
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    args = parser.parse_args()
    args.duration = min(max(args.duration, 1.0), 60.0)
    levels = [int(c) for c in args.conc.split(",")]
    kind = common.client_kind(args.client)

    with common.bench_data_dir(keep=args.keep) as data_dir:
        print(common.machine_line(data_dir))
        if args.postgres:
            with common.postgres_database(args.pg_admin_url) as url:
                run(args, kind, levels, data_dir, url)
        else:
            run(args, kind, levels, data_dir, None)


def run(args, kind: str, levels: list[int], data_dir: Path, database_url: str | None) -> None:
    env = common.base_env(data_dir, database_url)
    if args.redis:
        common.use_redis(env, args.redis)
    started = time.perf_counter()
    common.setup_demo(env)
    print(
        f"setup: demo data in {time.perf_counter() - started:.1f} s; database "
        f"{'PostgreSQL' if database_url else 'SQLite (WAL, synchronous=FULL)'}; "
        f"app={args.app}; workers={args.workers}; "
        f"sequencer={'off' if args.no_sequencer else 'on'}; "
        f"client={kind}; POW off; rate limits off; shared store "
        f"{'Redis' if args.redis else 'the database'}"
    )
    common.django_setup(env)
    run_dir = data_dir / "load"
    run_dir.mkdir()
    per_level = int(args.duration * args.max_rate)
    offset = 0
    warm = run_dir / "bodies-warmup.jsonl"
    warm.write_bytes(b"\n".join(common.make_bodies(2000, offset=10**8)) + b"\n")
    for conc in levels:
        path = run_dir / f"bodies-c{conc}.jsonl"
        path.write_bytes(b"\n".join(common.make_bodies(per_level, offset=offset)) + b"\n")
        offset += per_level

    env["QUORUM_FAST_PATH"] = "1" if args.app == "fastpath" else "0"
    log = data_dir / "server.log"
    server, port = common.start_server(
        env, log, workers=args.workers, sequencer=not args.no_sequencer
    )
    results = []
    all_receipts: list[str] = []
    try:
        warm_receipts = common.warm_up(port, PATH, warm, run_dir / "receipts-warmup")
        all_receipts += warm_receipts
        print(f"warm-up: {len(warm_receipts)} statements at c=8 in 2 s")
        for conc in levels:
            level = run_level(args, kind, port, server, conc, run_dir)
            all_receipts += level.pop("receipts")
            results.append(level)
            print(describe(level), flush=True)
    finally:
        common.stop_server(server, log)

    total_rows = common.stored_rows()
    counts = common.receipt_counts(all_receipts)
    missing = sum(1 for n in counts.values() if n == 0)
    print(
        f"verification: {len(all_receipts)} receipts acknowledged (201), {total_rows} rows "
        f"stored, acknowledged but missing from the database: {missing}"
    )
    print("\n| c | req/s | 201/s | p50 ms | p99 ms | 201 / other | stored vs acked | "
          "server CPU % | ms CPU/stmt |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for level in results:
        other = level["s4xx"] + level["s5xx"] + level["sother"] + level["socket_errors"]
        print(
            f"| {level['conc']} | {level['req_s']:.0f} | {level['ok_s']:.0f} | "
            f"{level['p50_ms']:.1f} | {level['p99_ms']:.1f} | {level['s201']} / {other} | "
            f"{level['rows']} vs {level['acked']} | "
            f"{100 * level['server_cpu'] / level['wall']:.0f} | "
            f"{1000 * level['server_cpu'] / max(level['rows'], 1):.2f} |"
        )


if __name__ == "__main__":
    main()
