"""Soak: hold a steady rate of statements against the server of `intake.py` for some minutes.

The same server and setup as `bench/intake.py` (demo data, `quorum serve --workers 2`, the
sequencer on, a throwaway data directory and database). The asyncio client sends unique valid
statements paced at `--rate` per second in all (latency counts from when a request was due,
so a server that falls behind shows), and after every minute the script prints the server's
memory (RSS of its whole process group, from /proc), the minute's p99 and how many of its
201 receipts are not in the database (lost). Bounded: at most 60 minutes.

    .venv/bin/python bench/soak.py                       # 1,000 statements/s for 10 minutes
    .venv/bin/python bench/soak.py --rate 500 --minutes 3 --db postgres
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import intake

MAX_MINUTES = 60.0
MIB = 1024 * 1024


def run(args: argparse.Namespace) -> int:
    seconds = args.minutes * 60
    with intake.bench_server(
        db=args.db, pg_admin_url=args.pg_admin_url, redis_url=args.redis, pow=False,
        crowd=args.per_address > 0,
    ) as bench:  # fmt: skip
        # One interval's worth of bodies, sent again after that: without proof of work each
        # sending is a new statement with its own receipt.
        bodies = bench.run_dir / "bodies.jsonl"
        count = int(args.rate * min(args.interval, seconds) * 1.05) + 1
        bodies.write_bytes(b"\n".join(common.make_bodies(count, states=common.SIX_STATES)) + b"\n")
        warm = bench.run_dir / "bodies-warm.jsonl"
        warm.write_bytes(b"\n".join(common.make_bodies(400, offset=10**7)) + b"\n")
        common.warm_up(
            bench.port, intake.STATEMENTS, warm, bench.run_dir / "answers-warm",
            per_address=args.per_address,
        )  # fmt: skip
        answers = bench.run_dir / "answers"
        start_rss = common.group_rss(bench.server.pid)
        print(
            f"soak: {args.rate:.0f} statements/s for {args.minutes:g} min, with at most "
            f"{args.concurrency} connections; server RSS after warm-up {start_rss / MIB:.0f} MiB",
            flush=True,
        )
        totals = {"lost": 0, "acked": 0, "p99": 0.0, "rss": start_rss}

        def minute(report: dict) -> None:
            number = report["interval"]
            receipts = [r for _, r in common.read_answers(common.interval_answers(answers, number))]
            counts = common.receipt_counts(set(receipts), common.DEMO_SLUG)
            lost = sum(1 for n in counts.values() if n == 0)
            rss = common.group_rss(bench.server.pid)
            totals["lost"] += lost
            totals["acked"] += len(counts)
            totals["p99"] = max(totals["p99"], report["p99_ms"])
            totals["rss"] = rss
            other = report["s4xx"] + report["s5xx"] + report["sother"] + report["socket_errors"]
            print(
                f"{number * args.interval + report['duration_s']:.0f} s: "
                f"{report['requests'] / report['duration_s']:.0f} "
                f"answered/s, 201={report['s201']} other={other}; p50 {report['p50_ms']:.1f} ms "
                f"p99 {report['p99_ms']:.1f} ms; lost {lost}; server RSS {rss / MIB:.0f} MiB",
                flush=True,
            )

        load = common.Load(
            bench.port, intake.STATEMENTS, bodies, args.concurrency, seconds, answers,
            rate=args.rate, interval=args.interval, per_address=args.per_address,
        )  # fmt: skip
        summary, _ = common.run_client("python", load, on_interval=minute)
    print(
        f"soak rate={summary['requests'] / summary['duration_s']:.0f} "
        f"minutes={seconds / 60:g} p99_max_ms={totals['p99']:.1f} "
        f"rss_start_mib={start_rss / MIB:.0f} rss_end_mib={totals['rss'] / MIB:.0f} "
        f"acked={totals['acked']} lost={totals['lost']}"
    )
    return 1 if totals["lost"] else 0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rate", type=float, default=1000.0, help="statements per second in all")
    p.add_argument("--minutes", type=float, default=10.0, help=f"≤ {MAX_MINUTES:.0f}")
    p.add_argument("--concurrency", type=int, default=64, help="connections at most")
    p.add_argument("--interval", type=float, default=60.0, help="seconds between reports")
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    intake.add_per_address(p)
    p.add_argument("--redis", metavar="URL", help="as for intake.py (the database is emptied)")
    p.add_argument(
        "--pg-admin-url",
        default=intake.parser().get_default("pg_admin_url"),
        help="where to CREATE/DROP the throwaway database",
    )
    args = p.parse_args()
    args.minutes = min(max(args.minutes, 0.1), MAX_MINUTES)
    args.rate = min(max(args.rate, 1.0), 20000.0)
    args.interval = min(max(args.interval, 1.0), 600.0)
    args.concurrency = min(max(args.concurrency, 1), intake.MAX_CONCURRENCY)
    sys.exit(run(args))


if __name__ == "__main__":
    main()
