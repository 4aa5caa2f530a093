"""The intake against its ceiling: statements/s beside the bare durable insert, same server.

Starts `quorum serve --workers 2` (sequencer on) with the demo data in a throwaway data
directory (SQLite, or a throwaway PostgreSQL database with `--db postgres`), then runs two
loads at the same concurrency for the same duration:

1. statements: unique valid bodies for six Member States (Part A: DE, FR; Part B: PL, ES, HR,
   SE, with real check digits), about 2 % of them sent twice in a row: a double submission.
   With `--pow` every body carries its own solved proof of work, fetched and solved before the
   timed part; a double submission then repeats the solution and must get the first receipt.
2. the ceiling: `POST /bench/ceiling` (the server runs with QUORUM_BENCH_CEILING), which stores
   one statement-sized random row through the same group-commit writer and nothing else, in
   an initiative of its own, so its rows never mix with the measured initiative's log.

Then every receipt answered with a 201 is looked up in the database: each must be stored
exactly once. The last line is

    intake statements_per_s=N p99_ms=N ceiling_per_s=N ratio=N lost=N

(statements_per_s: distinct receipts answered per second; lost: answered but not stored).
The exit status is 1 when a receipt is lost or stored twice, or a double submission was not
answered as it must be; the figures themselves are never judged.

    .venv/bin/python bench/intake.py                              # SQLite, c=64, 15 s
    .venv/bin/python bench/intake.py --db postgres
    .venv/bin/python bench/intake.py --pow --redis redis://127.0.0.1:6379/5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

STATEMENTS = f"/api/v1/initiatives/{common.DEMO_SLUG}/statements"
CEILING = "/bench/ceiling"
CEILING_SLUG = "bench-ceiling"
POW_SCOPE = f"statement:{common.DEMO_SLUG}"
MAX_DURATION = 60.0
MAX_CONCURRENCY = 512
WARM_BODIES = 400


# --- the server ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Bench:
    port: int
    server: subprocess.Popen
    run_dir: Path


def create_ceiling_initiative() -> None:
    """A second initiative, for the ceiling's rows (a draft: the ceiling checks nothing)."""
    from quorum.initiatives.services import initiative_create

    initiative_create(
        slug=CEILING_SLUG,
        title={"en": "Benchmark: the intake's ceiling"},
        objectives={"en": "Rows stored by POST /bench/ceiling, to compare the intake with."},
        language="en",
        actor_label="bench",
    )


def server_env(
    data_dir: Path, database_url: str | None, *, pow: bool, crowd: bool
) -> dict[str, str]:
    env = common.base_env(data_dir, database_url)
    if crowd:  # each client sends a few statements: the rate limits as shipped
        del env["QUORUM_RATE_BURST"], env["QUORUM_RATE_SUSTAINED"]
    env["QUORUM_BENCH_CEILING"] = CEILING_SLUG
    if pow:
        # The server checks a solution with one hash, however hard the challenge: the lowest
        # difficulty settings allow keeps the solving before the timed part short.
        env.update(QUORUM_POW="on", QUORUM_POW_MAX_NUMBER="1000", QUORUM_POW_EXPIRES_SECONDS="3600")
    return env


@contextlib.contextmanager
def bench_server(
    *,
    db: str,
    pg_admin_url: str,
    redis_url: str | None,
    pow: bool,
    crowd: bool,
    keep: bool = False,
) -> Iterator[Bench]:
    """The demo on a throwaway data directory and database, served; stopped in `finally`."""
    with common.bench_data_dir(keep=keep) as data_dir:
        print(common.machine_line(data_dir), flush=True)
        database = (
            common.postgres_database(pg_admin_url)
            if db == "postgres"
            else contextlib.nullcontext(None)
        )
        with database as url:
            env = server_env(data_dir, url, pow=pow, crowd=crowd)
            if redis_url:
                common.use_redis(env, redis_url)
            started = time.perf_counter()
            common.setup_demo(env)
            common.django_setup(env)
            create_ceiling_initiative()
            print(
                f"setup: demo data in {time.perf_counter() - started:.1f} s; database "
                f"{'PostgreSQL' if url else 'SQLite (WAL, synchronous=FULL)'}; workers=2; "
                f"sequencer on; proof of work {'on (max number 1000)' if pow else 'off'}; "
                f"rate limits {'as shipped' if crowd else 'out of the way'}; "
                f"shared store {'Redis' if redis_url else 'the database'}",
                flush=True,
            )
            run_dir = data_dir / "load"
            run_dir.mkdir()
            log = data_dir / "server.log"
            server, port = common.start_server(env, log, workers=2)
            try:
                yield Bench(port, server, run_dir)
            finally:
                common.stop_server(server, log)
                from django.db import connections

                connections.close_all()


# --- proof of work, before the timed part --------------------------------------------------


async def _fetch_challenges(port: int, count: int, conc: int = 8) -> list[dict]:
    request = (
        f"GET /api/v1/pow/challenge?scope={POW_SCOPE} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"
    ).encode()
    out: list[dict] = []

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while len(out) < count:
                status, payload = await common.exchange(reader, writer, request)
                if status != 200:
                    raise RuntimeError(f"GET /api/v1/pow/challenge answered {status}")
                out.append(json.loads(payload))
        finally:
            writer.close()

    await asyncio.wait_for(asyncio.gather(*(connection() for _ in range(conc))), 600)
    return out[:count]


def solve(challenge: dict) -> str:
    """The `altcha` field a browser would send for `challenge` (ALTCHA v1)."""
    from quorum.signing.pow import solve_challenge

    return solve_challenge(challenge)


def solved_payloads(port: int, count: int) -> list[str]:
    started = time.perf_counter()
    challenges = asyncio.run(_fetch_challenges(port, count))
    fetched = time.perf_counter()
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        payloads = list(pool.map(solve, challenges, chunksize=256))
    print(
        f"proof of work: {count} challenges fetched in {fetched - started:.1f} s, solved in "
        f"{time.perf_counter() - fetched:.1f} s (before the timed part)",
        flush=True,
    )
    return payloads


# --- bodies --------------------------------------------------------------------------------


@dataclass
class Bodies:
    path: Path
    #: index of a second copy → index of the body it repeats
    copies: dict[int, int]


def write_bodies(
    path: Path,
    count: int,
    *,
    offset: int,
    double_share: float,
    payloads: list[str] | None = None,
    seed: int = 7,
) -> Bodies:
    """`count` unique bodies (each with its own solved proof of work when `payloads` are
    given), about `double_share` of them followed at once by the very same body again."""
    rng = random.Random(seed)
    lines: list[bytes] = []
    copies: dict[int, int] = {}
    for k, body in enumerate(common.make_bodies(count, offset=offset, states=common.SIX_STATES)):
        if payloads is not None:
            body = json.dumps({**json.loads(body), "altcha": payloads[k]}).encode()
        lines.append(body)
        if rng.random() < double_share:
            copies[len(lines)] = len(lines) - 1
            lines.append(body)
    path.write_bytes(b"\n".join(lines) + b"\n")
    return Bodies(path, copies)


# --- the two loads and the checks ----------------------------------------------------------


@dataclass
class Outcome:
    summary: dict
    answers: list[tuple[int, str]]
    per_s: float
    wall: float
    client_cpu: float
    server_cpu: float
    machine_cpu: float


def measure(bench: Bench, kind: str, load: common.Load) -> Outcome:
    waited = common.wait_sequenced()
    if waited > 0.5:
        print(f"  (waited {waited:.1f} s for the sequencer to finish the previous rows)")
    server_before = common.group_cpu(bench.server.pid)
    busy_before, _ = common.machine_busy()
    started = time.perf_counter()
    summary, client_cpu = common.run_client(kind, load)
    wall = time.perf_counter() - started
    busy_after, _ = common.machine_busy()
    server_cpu = common.CpuDelta(server_before, common.group_cpu(bench.server.pid)).total()
    answers = common.read_answers(load.answers)
    if load.path == CEILING:
        per_s = summary["s201"] / summary["duration_s"]
    else:
        per_s = len({receipt for _, receipt in answers}) / summary["duration_s"]
    return Outcome(summary, answers, per_s, wall, client_cpu, server_cpu, busy_after - busy_before)


def describe(name: str, outcome: Outcome) -> str:
    s, w = outcome.summary, outcome.wall
    other = outcome.machine_cpu - outcome.server_cpu - outcome.client_cpu
    return (
        f"{name}: {outcome.per_s:.0f}/s over {s['duration_s']:.1f} s; p50 {s['p50_ms']:.1f} ms, "
        f"p99 {s['p99_ms']:.1f} ms; 201={s['s201']} 4xx={s['s4xx']} 5xx={s['s5xx']} "
        f"other={s['sother']} socket errors={s['socket_errors']} timeouts={s['timeouts']}"
        + (f" bodies sent again from the start={s['wraps']}" if name == "statements" else "")
        + "\n"
        f"  CPU % of one core: server {100 * outcome.server_cpu / w:.0f} / client "
        f"{100 * outcome.client_cpu / w:.0f} / everything else {100 * other / w:.0f} (other "
        f"engineers' work, PostgreSQL) -> machine {100 * outcome.machine_cpu / w:.0f} of "
        f"{100 * (os.cpu_count() or 1)}; server CPU "
        f"{1000 * outcome.server_cpu / max(s['s201'], 1):.2f} ms per 201"
    )


@dataclass
class Check:
    lost: int
    stored_twice: int
    pairs: int  # double submissions whose two requests were both answered 201
    same_receipt: int  # of those, how many got one receipt twice
    bad: list[str]


def check(outcome: Outcome, bodies: Bodies, *, pow: bool, known_pairs: bool) -> Check:
    """Every receipt stored once; each double submission answered as it must be."""
    receipts = [receipt for _, receipt in outcome.answers]
    counts = common.receipt_counts(set(receipts), common.DEMO_SLUG)
    lost = sum(1 for n in counts.values() if n == 0)
    twice = sum(1 for n in counts.values() if n > 1)
    if known_pairs:  # the asyncio client says which body each receipt answered
        by_index: dict[int, str] = dict(outcome.answers)
        both = [(c, o) for c, o in bodies.copies.items() if c in by_index and o in by_index]
        pairs = len(both)
        same = sum(1 for c, o in both if by_index[c] == by_index[o])
    else:  # wrk: a receipt answered twice can only be a double submission's
        pairs = same = len(receipts) - len(counts)
    bad = []
    if lost:
        bad.append(f"{lost} acknowledged receipts are not stored")
    if twice:
        bad.append(f"{twice} receipts are stored more than once")
    if pow and same != pairs:
        bad.append(f"{pairs - same} double submissions with one solution got two receipts")
    if not pow and same:
        bad.append(f"{same} receipts were answered to two requests without proof of work")
    return Check(lost, twice, pairs, same, bad)


def run(args: argparse.Namespace) -> int:
    kind = common.client_kind(args.client)
    unique = int(args.duration * (args.pow_rate if args.pow else args.max_rate))
    with bench_server(
        db=args.db, pg_admin_url=args.pg_admin_url, redis_url=args.redis, pow=args.pow,
        crowd=args.per_address > 0, keep=args.keep,
    ) as bench:  # fmt: skip
        run_dir, port = bench.run_dir, bench.port
        payloads = solved_payloads(port, WARM_BODIES + unique) if args.pow else None
        warm = write_bodies(
            run_dir / "bodies-warm.jsonl", WARM_BODIES, offset=10**7, double_share=0,
            payloads=payloads[:WARM_BODIES] if payloads else None,
        )  # fmt: skip
        bodies = write_bodies(
            run_dir / "bodies.jsonl", unique, offset=0, double_share=args.double_share,
            payloads=payloads[WARM_BODIES:] if payloads else None,
        )  # fmt: skip
        ceiling_bodies = run_dir / "bodies-ceiling.jsonl"
        ceiling_bodies.write_bytes(b"\n".join(common.make_bodies(1000, offset=2 * 10**7)) + b"\n")
        crowd = (
            f"a crowd: {args.per_address} statements per client address"
            if args.per_address
            else "every statement from 127.0.0.1"
        )
        print(
            f"load: {kind} client, c={args.concurrency}, {args.duration:.0f} s each; "
            f"{unique} unique statements ready, {len(bodies.copies)} of them sent twice; {crowd}",
            flush=True,
        )
        per_address = args.per_address
        common.warm_up(
            port, STATEMENTS, warm.path, run_dir / "answers-warm", per_address=per_address
        )
        common.warm_up(
            port, CEILING, ceiling_bodies, run_dir / "answers-warm-ceiling", 1.0,
            per_address=per_address,
        )  # fmt: skip
        measured_rows_before = common.stored_rows(common.DEMO_SLUG)
        statements = measure(
            bench,
            kind,
            common.Load(
                port, STATEMENTS, bodies.path, args.concurrency, args.duration,
                run_dir / "answers", wrap=not args.pow or kind == "wrk", per_address=per_address,
            ),
        )  # fmt: skip
        print(describe("statements", statements), flush=True)
        if args.pow and statements.summary["wraps"]:
            print("  warning: the solved challenges ran out; raise --pow-rate")
        ceiling_rows_before = common.stored_rows(CEILING_SLUG)
        ceiling = measure(
            bench,
            kind,
            common.Load(
                port, CEILING, ceiling_bodies, args.concurrency, args.duration,
                run_dir / "answers-ceiling", per_address=per_address,
            ),
        )  # fmt: skip
        print(describe("ceiling", ceiling), flush=True)
        time.sleep(0.5)  # requests cut off by the client's deadline may still commit
        result = check(statements, bodies, pow=args.pow, known_pairs=kind == "python")
        ceiling_rows = common.stored_rows(CEILING_SLUG) - ceiling_rows_before
        measured_rows = common.stored_rows(common.DEMO_SLUG) - measured_rows_before
    distinct = len({receipt for _, receipt in statements.answers})
    print(
        f"verification: {distinct} distinct receipts answered 201, each looked up: lost "
        f"{result.lost}, stored more than once {result.stored_twice}; {measured_rows} rows "
        f"stored by the statements load (requests cut off by the client's deadline included); "
        f"ceiling rows stored {ceiling_rows} for {ceiling.summary['s201']} answered 201"
    )
    must = "all: one solution, one statement" if args.pow else "none: two statements"
    if kind == "python":
        print(
            f"double submissions: {result.pairs} answered 201 twice, {result.same_receipt} of "
            f"them with the same receipt (must be {must})"
        )
    else:
        print(
            f"double submissions: {result.same_receipt} receipts answered to two requests "
            f"(wrk cannot tell which body an answer is for; without proof of work this must "
            f"be 0, with it each is a double submission's; --client python checks each pair)"
        )
    print(f"machine: loadavg at the end {'/'.join(Path('/proc/loadavg').read_text().split()[:3])}")
    for problem in result.bad:
        print(f"PROBLEM: {problem}")
    ratio = statements.per_s / ceiling.per_s if ceiling.per_s else 0.0
    print(
        f"intake statements_per_s={statements.per_s:.0f} "
        f"p99_ms={statements.summary['p99_ms']:.1f} ceiling_per_s={ceiling.per_s:.0f} "
        f"ratio={ratio:.2f} lost={result.lost}"
    )
    return 1 if result.bad else 0


def add_per_address(p: argparse.ArgumentParser) -> None:
    """``--per-address``: how the load's clients are spread (this bench and the soak)."""
    p.add_argument(
        "--per-address",
        type=int,
        default=4,
        help="a crowd: statements each client address sends (a new loopback address, a new "
        "connection, after that many), with the rate limits as shipped; 0: every statement "
        "from 127.0.0.1 with the rate limits out of the way (the figures before 2026-12-02)",
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument(
        "--duration", type=float, default=15.0, help=f"seconds per load (≤ {MAX_DURATION:.0f})"
    )
    p.add_argument(
        "--concurrency", type=int, default=64, help="connections, each with one request in flight"
    )
    p.add_argument(
        "--pow", action="store_true", help="proof of work on; every body solved beforehand"
    )
    p.add_argument(
        "--redis",
        metavar="URL",
        help="rate limits and single use in this Redis database, which is emptied first "
        "(e.g. redis://127.0.0.1:6379/5), instead of in the database",
    )
    p.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    add_per_address(p)
    p.add_argument(
        "--pg-admin-url",
        default=os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="where to CREATE/DROP the throwaway database",
    )
    p.add_argument("--double-share", type=float, default=0.02, help="share of bodies sent twice")
    p.add_argument("--max-rate", type=int, default=8000, help="unique bodies per second of load")
    p.add_argument(
        "--pow-rate",
        type=int,
        default=1000,
        help="with --pow: challenges fetched and solved per second of load, beforehand",
    )
    p.add_argument("--keep", action="store_true", help="keep the data directory")
    return p


def main() -> None:
    args = parser().parse_args()
    args.duration = min(max(args.duration, 1.0), MAX_DURATION)
    args.concurrency = min(max(args.concurrency, 1), MAX_CONCURRENCY)
    sys.exit(run(args))


if __name__ == "__main__":
    main()
