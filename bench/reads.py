"""Reads a crowd watches: the counts and the initiative page, hammered while statements arrive.

Starts `quorum serve --workers 2` (sequencer on) with the demo data in a throwaway data
directory (SQLite), then, while a side load sends valid statements at a modest paced rate
(asyncio client, `--statements-per-s`), hammers two reads in turn at the same concurrency:

1. `GET /api/v1/initiatives/<demo>/counts`, as the page's counts.js polls it;
2. `GET /i/<demo>/`, the initiative page;

each with `Accept-Language` taken in turn from eight languages, as a crowd's browsers send it
(wrk with `bench/wrk_reads.lua` when installed, else an asyncio client in its own process).
Each read has a short untimed warm-up first. Prints per read: req/s, latency percentiles,
answers that were not 2xx, CPU of the server, the client and the rest of the machine, and
how far the counts moved while it ran (checkpoints were signed, so the copies refreshed);
the load average before and after. `--ceiling` adds the same load against a bare ASGI
application under granian that answers the counts' bytes and does nothing else: what the
server and this machine allow. `--profile` times the fast path in process (no HTTP) and
prints the functions it spends its time in. The last line is

    reads counts_per_s=N page_per_s=N p99_ms=N

(p99_ms: the larger of the two reads' 99th percentile). Figures only, nothing is judged.

    .venv/bin/python bench/reads.py                        # c=64, 10 s per read
    .venv/bin/python bench/reads.py --app django           # the same reads through Django
    .venv/bin/python bench/reads.py --ceiling --profile
    .venv/bin/python bench/reads.py --redis redis://127.0.0.1:6379/4   # shared copies
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import os
import pstats
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

COUNTS = f"/api/v1/initiatives/{common.DEMO_SLUG}/counts"
PAGE = f"/i/{common.DEMO_SLUG}/"
STATEMENTS = f"/api/v1/initiatives/{common.DEMO_SLUG}/statements"
#: What a crowd's browsers send, in turn (both with and without a region).
LANGUAGES = (
    "en-GB,en;q=0.9",
    "de-DE,de;q=0.9,en;q=0.8",
    "fr-FR,fr;q=0.9",
    "pl-PL,pl;q=0.9,en;q=0.7",
    "it-IT,it;q=0.9",
    "es-ES,es;q=0.9",
    "nl",
    "pt-PT,pt;q=0.9",
)
ACCEPT = {COUNTS: "application/json", PAGE: "text/html,application/xhtml+xml"}
MAX_DURATION = 60.0
MAX_CONCURRENCY = 512
WARM_UP_S = 1.0
CLIENT_GRACE = 15.0


@dataclass(frozen=True)
class Read:
    name: str
    path: str


READS = (Read("counts", COUNTS), Read("page", PAGE))


# --- the asyncio client for GETs (own process: --client-worker) ------------------------------


async def _hammer(port: int, path: str, conc: int, duration: float, languages: list[str]) -> dict:
    requests = [
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: {ACCEPT[path]}\r\n"
            f"Accept-Language: {language}\r\n\r\n"
        ).encode()
        for language in languages
    ]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    received = 0
    started = time.monotonic()
    deadline = started + duration

    async def connection(offset: int) -> None:
        nonlocal errors, received
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            k = offset
            while time.monotonic() < deadline:
                k += 1
                sent = time.perf_counter()
                status, body = await common.exchange(reader, writer, requests[k % len(requests)])
                latencies.append(time.perf_counter() - sent)
                statuses[status] = statuses.get(status, 0) + 1
                received += len(body)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
        finally:
            writer.close()

    await asyncio.wait_for(
        asyncio.gather(*(connection(i) for i in range(conc))), duration + CLIENT_GRACE
    )
    elapsed = time.monotonic() - started
    ms = sorted(v * 1000 for v in latencies)
    return {
        "requests": len(ms),
        "duration_s": elapsed,
        "not_2xx": sum(n for s, n in statuses.items() if not 200 <= s < 300),
        "socket_errors": errors,
        "timeouts": 0,
        "p50_ms": common.percentile(ms, 0.50),
        "p90_ms": common.percentile(ms, 0.90),
        "p99_ms": common.percentile(ms, 0.99),
        "max_ms": ms[-1] if ms else float("nan"),
        "bytes": received,
    }


def client_worker(argv: list[str]) -> None:
    port, path, conc, duration, languages = argv
    result = asyncio.run(
        _hammer(int(port), path, int(conc), float(duration), json.loads(languages))
    )
    print("BENCH_JSON " + json.dumps(result), flush=True)


def hammer(kind: str, port: int, path: str, args, duration: float, run_dir: Path):
    """One bounded load of GETs; (summary, CPU seconds of the client process)."""
    conc, languages = args.conc, LANGUAGES[: args.languages]
    if kind == "wrk":
        prelude = run_dir / "wrk_reads.lua"
        prelude.write_text(
            f"TARGET_PATH = {json.dumps(path)}\nACCEPT = {json.dumps(ACCEPT[path])}\n"
            f"LANGUAGES = {{{', '.join(json.dumps(language) for language in languages)}}}\n"
            + (Path(__file__).parent / "wrk_reads.lua").read_text()
        )
        command = [
            "wrk", "-t2", f"-c{conc}", f"-d{max(1, round(duration))}s", "--timeout", "10s",
            "-s", str(prelude), f"http://127.0.0.1:{port}/",
        ]  # fmt: skip
    else:
        command = [common.PYTHON, __file__, "--client-worker", str(port), path, str(conc)]
        command += [str(duration), json.dumps(languages)]
    with open(os.devnull, "wb") as quiet:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=quiet)
    watchdog = threading.Timer(duration + CLIENT_GRACE + 5, proc.kill)
    watchdog.start()
    try:
        assert proc.stdout is not None
        out = proc.stdout.read().decode(errors="replace")
        _, _, usage = os.wait4(proc.pid, 0)
        proc.returncode = 0
    finally:
        watchdog.cancel()
        proc.stdout.close()  # type: ignore[union-attr]
    lines = [line for line in out.splitlines() if line.startswith("BENCH_JSON ")]
    if not lines:
        raise RuntimeError(f"the client printed no summary: {out[-2000:]}")
    return json.loads(lines[-1].removeprefix("BENCH_JSON ")), usage.ru_utime + usage.ru_stime


# --- measuring one read --------------------------------------------------------------------


def loadavg() -> str:
    return "/".join(Path("/proc/loadavg").read_text().split()[:3])


def get_json(port: int, path: str) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def measure(
    kind: str, port: int, read: Read, args, run_dir: Path, pgid: int, *, counts: bool = True
) -> dict:
    """Warm-up, then one timed load; `pgid`: the server's process group, for its CPU."""
    hammer(kind, port, read.path, args, WARM_UP_S, run_dir)  # every worker fills
    total_before = get_json(port, COUNTS)["total"] if counts else 0
    server_before = common.group_cpu(pgid)
    busy_before, _ = common.machine_busy()
    started = time.perf_counter()
    result, client_cpu = hammer(kind, port, read.path, args, args.duration, run_dir)
    wall = time.perf_counter() - started
    busy_after, _ = common.machine_busy()
    server_after = common.group_cpu(pgid)
    delta = common.CpuDelta(server_before, server_after)
    sequencer = {p for p in server_after if "quorum.cli sequencer" in common.cmdline(p)}
    return {
        **result,
        "name": read.name,
        "req_s": result["requests"] / result["duration_s"],
        "wall": wall,
        "server_cpu": delta.total(),
        "sequencer_cpu": delta.total(sequencer),
        "client_cpu": client_cpu,
        "machine_cpu": busy_after - busy_before,
        "counts_moved": (total_before, get_json(port, COUNTS)["total"]) if counts else None,
    }


def describe(level: dict) -> str:
    w = level["wall"]
    other = level["machine_cpu"] - level["server_cpu"] - level["client_cpu"]
    parts = [
        f"{level['name']:<7} {level['req_s']:7.0f} req/s  "
        f"{level['bytes'] / level['duration_s'] / 1e6:.0f} MB/s",
        f"p50 {level['p50_ms']:.1f} ms  p90 {level['p90_ms']:.1f} ms  p99 {level['p99_ms']:.1f} ms"
        f"  max {level['max_ms']:.1f} ms",
        f"not 2xx={level['not_2xx']} socket errors={level['socket_errors']} "
        f"timeouts={level['timeouts']}; server CPU "
        f"{1e6 * level['server_cpu'] / max(level['requests'], 1):.0f} µs per request",
        f"CPU % of one core: server {100 * level['server_cpu'] / w:.0f} (of which sequencer "
        f"{100 * level['sequencer_cpu'] / w:.0f}) / client "
        f"{100 * level['client_cpu'] / w:.0f} / everything else (the statements' client, "
        f"other people's work) {100 * other / w:.0f} -> machine "
        f"{100 * level['machine_cpu'] / w:.0f} of {100 * (os.cpu_count() or 1)}",
    ]
    if level["counts_moved"] is not None:
        before, after = level["counts_moved"]
        parts.append(f"counts while it ran: total {before} -> {after}")
    return "\n    ".join(parts)


# --- the side load: statements at a modest rate ----------------------------------------------


@contextlib.contextmanager
def statements_arriving(port: int, rate: float, seconds: float, run_dir: Path):
    """Statements at `rate` per second for up to `seconds`, in a thread; the summary after."""
    outcome: dict = {}
    if rate <= 0:
        yield outcome
        return
    bodies = run_dir / "statements.jsonl"
    count = int(rate * seconds) + 100
    bodies.write_bytes(b"\n".join(common.make_bodies(count, offset=10**7)) + b"\n")
    load = common.Load(
        port, STATEMENTS, bodies, 4, seconds, run_dir / "receipts", rate=rate, wrap=False
    )

    def run() -> None:
        try:
            outcome["result"], _ = common.run_client("python", load)
        except Exception as exc:  # reported after the reads
            outcome["error"] = repr(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield outcome
    finally:
        thread.join(seconds + CLIENT_GRACE + 10)


# --- the ceiling: granian and the same bytes, nothing else ----------------------------------

CEILING_APP = """
BODY = {body!r}
HEADERS = {headers!r}


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({{"type": "http.response.start", "status": 200, "headers": HEADERS}})
    await send({{"type": "http.response.body", "body": BODY}})
"""


def run_ceiling(kind: str, port: int, args, run_dir: Path) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{COUNTS}", timeout=10) as answer:
        body = answer.read()
        # The headers Django gave, without those of the connection (urllib asked it to close).
        headers = [
            (k.lower().encode(), v.encode())
            for k, v in answer.headers.items()
            if k.lower() not in {"connection", "date", "server", "transfer-encoding"}
        ]
    (run_dir / "ceiling_app.py").write_text(CEILING_APP.format(body=body, headers=headers))
    ceiling_port = common.free_port()
    command = [
        common.PYTHON, "-m", "granian", "--interface", "asgi", "--workers", str(args.workers),
        "--host", "127.0.0.1", "--port", str(ceiling_port), "--no-access-log", "ceiling_app:app",
    ]  # fmt: skip
    log = (run_dir / "ceiling.log").open("wb")
    server = subprocess.Popen(
        command, cwd=run_dir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"http://127.0.0.1:{ceiling_port}/", timeout=1).close()
                break
            time.sleep(0.2)
        ceiling = Read("ceiling", COUNTS)
        return measure(kind, ceiling_port, ceiling, args, run_dir, server.pid, counts=False)
    finally:
        common.stop_group(server)
        log.close()


# --- in process: what the fast path costs without HTTP ---------------------------------------


def profile(env: dict[str, str], requests: int = 20000) -> None:
    common.django_setup(env)
    from quorum.asgi import application

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        return None

    for read in READS:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
            "scheme": "http", "path": read.path, "raw_path": read.path.encode(),
            "query_string": b"", "root_path": "", "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "headers": [
                (b"host", b"127.0.0.1:8000"), (b"accept", ACCEPT[read.path].encode()),
                (b"accept-language", LANGUAGES[1].encode()), (b"user-agent", b"bench"),
            ],
        }  # fmt: skip

        async def run(count: int, scope: dict = scope) -> None:
            for _ in range(count):
                await application(scope, receive, send)

        asyncio.run(run(100))  # the copy is made
        started = time.perf_counter()
        asyncio.run(run(requests))
        per = (time.perf_counter() - started) / requests * 1e6
        profiler = cProfile.Profile()
        profiler.enable()
        asyncio.run(run(requests))
        profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(8)
        table = text.getvalue()
        print(f"profile {read.name}: {per:.1f} µs per request in process, from memory (no HTTP)")
        print("    " + "\n    ".join(table[table.index("ncalls") :].rstrip().splitlines()))
        print(f"    {fill_cost(application, read, scope)}")


def fill_cost(application, read: Read, scope: dict, fills: int = 20) -> str:
    """What one copy costs: Django's answer to the key's request, as the fast path asks it."""
    reads = application.app.reads
    key = (reads._read(scope).key, None)

    async def run() -> list[float]:
        walls = []
        for _ in range(fills):
            started = time.perf_counter()
            await reads._ask_django(key)
            walls.append(time.perf_counter() - started)
        return walls

    cpu = time.process_time()
    walls = sorted(asyncio.run(run()))
    cpu_ms = (time.process_time() - cpu) / fills * 1000
    return (
        f"one fill of the {read.name} (Django's answer, once per interval per key and process): "
        f"{cpu_ms:.1f} ms CPU, wall median {walls[fills // 2] * 1000:.1f} ms"
    )


# --- main ----------------------------------------------------------------------------------


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--client-worker":
        client_worker(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per read (≤ 60)")
    parser.add_argument("--conc", type=int, default=64, help="connections (≤ 512)")
    parser.add_argument("--workers", type=int, default=2, choices=(1, 2, 3, 4))
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument(
        "--statements-per-s", type=float, default=20.0, help="the side load (0: none)"
    )
    parser.add_argument(
        "--app",
        choices=("fastpath", "django"),
        default="fastpath",
        help="fastpath: `quorum serve` as shipped; django: the same with QUORUM_FAST_PATH=0",
    )
    parser.add_argument(
        "--redis", metavar="URL", help="copies shared in this Redis database (it is flushed)"
    )
    parser.add_argument(
        "--languages", type=int, default=len(LANGUAGES), help="how many of the eight languages"
    )
    parser.add_argument("--ceiling", action="store_true", help="also a bare ASGI app, same bytes")
    parser.add_argument("--profile", action="store_true", help="the fast path in process")
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    args = parser.parse_args()
    args.duration = min(max(args.duration, 1.0), MAX_DURATION)
    args.conc = min(max(args.conc, 1), MAX_CONCURRENCY)
    args.languages = min(max(args.languages, 1), len(LANGUAGES))
    kind = args.client
    if kind == "auto":
        kind = "wrk" if shutil.which("wrk") else "python"
    if kind == "wrk" and not shutil.which("wrk"):
        sys.exit("wrk is not installed; use --client python")

    with common.bench_data_dir(keep=args.keep) as data_dir:
        print(common.machine_line(data_dir), flush=True)
        env = common.base_env(data_dir)
        if args.redis:
            common.use_redis(env, args.redis)
        env["QUORUM_FAST_PATH"] = "1" if args.app == "fastpath" else "0"
        started = time.perf_counter()
        common.setup_demo(env)
        print(
            f"setup: demo data in {time.perf_counter() - started:.1f} s; SQLite; "
            f"app={args.app}; workers={args.workers}; sequencer on (interval 1 s); "
            f"client={kind}; c={args.conc}; {args.languages} languages; {args.duration:g} s per "
            f"read; statements arriving "
            f"at {args.statements_per_s:g}/s; copies shared in "
            f"{'Redis' if args.redis else 'no Redis (each process its own)'}",
            flush=True,
        )
        run_dir = data_dir / "load"
        run_dir.mkdir()
        log = data_dir / "server.log"
        server, port = common.start_server(env, log, workers=args.workers)
        levels = []
        try:
            side_seconds = len(READS) * (args.duration + WARM_UP_S + 3)
            with statements_arriving(port, args.statements_per_s, side_seconds, run_dir) as side:
                for read in READS:
                    level = measure(kind, port, read, args, run_dir, server.pid)
                    levels.append(level)
                    print(describe(level), flush=True)
                    print(f"    load average now {loadavg()}", flush=True)
            if "result" in side:
                s = side["result"]
                print(
                    f"statements meanwhile: {s['s201']} accepted (201) in {s['duration_s']:.0f} s,"
                    f" {s['s4xx'] + s['s5xx'] + s['sother']} other answers, p99 {s['p99_ms']:.1f} ms"
                )
            elif "error" in side:
                print(f"statements meanwhile: the client failed: {side['error']}")
            if args.ceiling:
                print(describe(run_ceiling(kind, port, args, run_dir)), flush=True)
        finally:
            common.stop_server(server, log)
        if args.profile:
            profile(env)
    worst = max(level["p99_ms"] for level in levels)
    rates = {level["name"]: level["req_s"] for level in levels}
    print(f"load average at the end {loadavg()}")
    print(
        f"reads counts_per_s={rates['counts']:.0f} page_per_s={rates['page']:.0f} p99_ms={worst:.1f}"
    )


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    main()
