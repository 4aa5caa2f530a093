"""Shared pieces of the benchmarks: data directories, request bodies, CPU accounting.

Nothing here touches product code paths; the benchmarks drive the real `quorum` commands
and read /proc for CPU time. Every subprocess runs under a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import json
import math
import os
import random
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from stdnum import luhn
from stdnum.es import dni
from stdnum.iso7064 import mod_11_10

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# QUORUM_BENCH_SRC=<dir>: benchmark another copy of src/ (e.g. `git archive HEAD` unpacked),
# so that work in progress in the tree does not move the figures.
BENCH_SRC = os.environ.get("QUORUM_BENCH_SRC")
if BENCH_SRC:
    sys.path.insert(0, BENCH_SRC)
DEMO_SLUG = "ban-biometric-mass-surveillance"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

# --- request bodies ------------------------------------------------------------------------

PESEL_WEIGHTS = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)
PL_FIRST = ("Zofia", "Anna", "Maria", "Jan", "Piotr", "Krzysztof", "Łucja", "Michał", "Ewa", "Olga")
PL_FAMILY = ("Kowalska", "Nowak", "Wiśniewski", "Wójcik", "Kamińska", "Lewandowski", "Zając")
DE_FIRST = ("Max", "Anna", "Jürgen", "Lena", "Sophie", "Lukas", "Marie", "Jonas", "Mia")
DE_FAMILY = ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker")
DE_CITIES = (("10115", "Berlin"), ("80331", "München"), ("20095", "Hamburg"), ("50667", "Köln"))
FR_FIRST = ("Camille", "Léa", "Louis", "Chloé", "Hugo", "Inès", "Gabriel", "Zoé")
FR_FAMILY = ("Martin", "Bernard", "Dubois", "Lefèvre", "Moreau", "Laurent", "Girard")
FR_CITIES = (("75011", "Paris"), ("69002", "Lyon"), ("13001", "Marseille"), ("33000", "Bordeaux"))
ES_FIRST = ("Lucía", "Hugo", "Martina", "Mateo", "Sofía", "Álvaro", "Paula")
ES_FAMILY = ("García López", "Fernández Ruiz", "Martínez Gil", "Sánchez Peña", "Núñez Díaz")
HR_FIRST = ("Ivana", "Luka", "Petra", "Marko", "Ana", "Josip", "Lucija")
HR_FAMILY = ("Horvat", "Kovačević", "Babić", "Marić", "Jurić", "Novak", "Knežević")
SE_FIRST = ("Elsa", "William", "Alice", "Oscar", "Maja", "Lucas", "Astrid")
SE_FAMILY = ("Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Öberg")

#: Member States a body may be for, with their share: PL and DE, as the first load tests had.
PL_DE = (("PL", 0.8), ("DE", 0.2))
#: Part A (DE, FR: names, birth date, residence) and Part B (PL, ES, HR, SE: an ID number
#: with its public check digit, which the server validates).
SIX_STATES = (("PL", 0.3), ("DE", 0.25), ("FR", 0.15), ("ES", 0.1), ("HR", 0.1), ("SE", 0.1))

_BIRTHS_FROM = date(1950, 1, 1)
_BIRTH_DAYS = (date(1999, 12, 31) - _BIRTHS_FROM).days


def pesel(born: date, serial: int) -> str:
    """A valid PESEL: YYMMDD (month +20 for the 2000s), 4 serial digits, check digit."""
    month = born.month + (20 if born.year >= 2000 else 0)
    digits = f"{born.year % 100:02d}{month:02d}{born.day:02d}{serial % 10000:04d}"
    total = sum(int(d) * w for d, w in zip(digits, PESEL_WEIGHTS, strict=True))
    return digits + str((10 - total % 10) % 10)


def _born(n: int) -> date:
    return _BIRTHS_FROM + timedelta(days=n % _BIRTH_DAYS)


def _part_a(i: int, rng: random.Random, state: str, first, family, cities, street, country):
    """Identity i: (birth date, house number) from i, unique for every i >= 0."""
    postal, city = cities[i % len(cities)]
    return {
        "nationality": state,
        "first_names": rng.choice(first),
        "family_names": rng.choice(family),
        "date_of_birth": _born(i).isoformat(),
        "residence": {
            "street": f"{street} {i // _BIRTH_DAYS + 1}",
            "postal_code": postal,
            "city": city,
            "country": country,
        },
    }


def _part_b(rng: random.Random, state: str, first, family, id_type: str, number: str):
    return {
        "nationality": state,
        "first_names": rng.choice(first),
        "family_names": rng.choice(family),
        "id_type": id_type,
        "id_number": number,
    }


def _body(state: str, i: int, rng: random.Random) -> dict:
    """A valid statement for identity i of `state`: a different person for every i < 10**8."""
    if state == "DE":
        return _part_a(i, rng, "DE", DE_FIRST, DE_FAMILY, DE_CITIES, "Hauptstraße", "Deutschland")
    if state == "FR":
        return _part_a(i, rng, "FR", FR_FIRST, FR_FAMILY, FR_CITIES, "rue de la Paix", "France")
    if state == "PL":  # birth date and serial from i: unique up to 180 million
        number = pesel(_born(i // 10000), i % 10000)
        return _part_b(rng, "PL", PL_FIRST, PL_FAMILY, "pesel", number)
    if state == "ES":  # DNI: 8 digits and their check letter
        digits = f"{i % 10**8:08d}"
        return _part_b(rng, "ES", ES_FIRST, ES_FAMILY, "dni", digits + dni.calc_check_digit(digits))
    if state == "HR":  # OIB: 10 digits and an ISO 7064 MOD 11,10 check digit
        digits = f"{i % 10**10:010d}"
        number = digits + mod_11_10.calc_check_digit(digits)
        return _part_b(rng, "HR", HR_FIRST, HR_FAMILY, "oib", number)
    if state == "SE":  # personnummer: YYMMDD, 3 serial digits, a Luhn check digit
        digits = f"{_born(i // 1000):%y%m%d}{i % 1000:03d}"
        number = digits + luhn.calc_check_digit(digits)
        return _part_b(rng, "SE", SE_FIRST, SE_FAMILY, "personnummer", number)
    raise ValueError(f"no body generator for {state}")


def make_bodies(
    count: int,
    *,
    offset: int = 0,
    states: tuple[tuple[str, float], ...] = PL_DE,
    seed: int = 1,
) -> list[bytes]:
    """`count` unique valid statement bodies (JSON bytes), each for a state drawn from `states`.

    Body i is identity i of its state (see `_body`); births span 1950-1999, so every
    signatory is of age in every Member State.
    """
    rng = random.Random(seed + offset)
    codes = [code for code, _ in states]
    weights = [share for _, share in states]
    out = []
    for i in range(offset, offset + count):
        state = rng.choices(codes, weights)[0]
        out.append(json.dumps(_body(state, i, rng), ensure_ascii=False).encode())
    return out


# --- data directory, database --------------------------------------------------------------


def base_env(data_dir: Path, database_url: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        QUORUM_DATA_DIR=str(data_dir),
        QUORUM_POW="off",
        QUORUM_RATE_BURST="1000000000",
        QUORUM_RATE_SUSTAINED="1000000000",
        QUORUM_LOG_LEVEL="warning",
        DJANGO_SETTINGS_MODULE="quorum.settings",
    )
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    if BENCH_SRC:
        env["PYTHONPATH"] = BENCH_SRC + os.pathsep + env.get("PYTHONPATH", "")
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


@contextlib.contextmanager
def bench_data_dir(keep: bool = False) -> Iterator[Path]:
    """A fresh data directory on the repository's file system (not tmpfs): fsync is real."""
    parent = ROOT / "bench" / ".runs"
    parent.mkdir(exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="run-", dir=parent))
    try:
        yield path
    finally:
        if not keep:
            shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """CREATE a throwaway database on the server of `admin_url`, yield its URL, DROP it."""
    import psycopg

    name = f"quorum_bench_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = admin_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def setup_demo(env: dict[str, str], timeout: float = 180) -> None:
    """`quorum demo --no-serve`: migrate, demo initiative collecting today, 27 authorities."""
    subprocess.run(
        [PYTHON, "-m", "quorum.cli", "demo", "--no-serve"],
        env=env,
        cwd=ROOT,
        check=True,
        timeout=timeout,
        stdout=subprocess.DEVNULL,
    )


def django_setup(env: dict[str, str]) -> None:
    """Set up Django in this process against the bench data directory / database."""
    for key in ("QUORUM_DATA_DIR", "QUORUM_POW", "QUORUM_RATE_BURST", "QUORUM_RATE_SUSTAINED"):
        if key in env:
            os.environ[key] = env[key]
        else:  # the shipped default
            os.environ.pop(key, None)
    os.environ["QUORUM_LOG_LEVEL"] = "warning"
    os.environ["DJANGO_SETTINGS_MODULE"] = "quorum.settings"
    if "DATABASE_URL" in env:
        os.environ["DATABASE_URL"] = env["DATABASE_URL"]
    else:
        os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()


# --- CPU accounting from /proc -------------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw.rpartition(")")[2].split()


def proc_cpu(pid: int) -> float:
    """utime + stime of one process (all its threads), seconds; 0 if it is gone."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields is not None and int(fields[2]) == pgid:
                pids.append(int(entry))
    return pids


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def alive_cpu(pids) -> dict[int, float]:
    """CPU seconds of those of `pids` that still exist (an exited process reads as absent)."""
    out = {}
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            out[pid] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    return out


def group_cpu(pgid: int) -> dict[int, float]:
    """CPU seconds per live process of a process group."""
    return {pid: proc_cpu(pid) for pid in group_pids(pgid)}


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return (total - idle) / CLK_TCK, total / CLK_TCK


@dataclass
class CpuDelta:
    """Seconds of CPU between two samples of a set of processes: processes new since the
    first sample count from zero; ones that exited in between are lost (an undercount)."""

    before: dict[int, float]
    after: dict[int, float]

    def total(self, pids: set[int] | None = None) -> float:
        keys = set(self.after) if pids is None else pids & set(self.after)
        return sum(self.after[p] - self.before.get(p, 0.0) for p in keys)


# --- machine -------------------------------------------------------------------------------


def source_line() -> str:
    """Which code is measured: the commit, and whether the tree had local changes."""
    src = BENCH_SRC or str(ROOT / "src")
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        head, dirty = "?", ""
    if BENCH_SRC:
        marker = Path(BENCH_SRC).parent / ".commit"
        commit = marker.read_text().strip() if marker.exists() else "unknown commit"
        return f"code: snapshot {src} ({commit}; the tree's HEAD is {head})"
    state = "src/ has uncommitted changes" if dirty else "clean"
    return f"code: {src} (HEAD {head}, {state})"


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def fsync_probe(directory: Path, count: int = 300) -> dict[str, float]:
    """4 KiB write + fsync latency, µs (p50, mean, p99), on `directory`'s file system."""
    path = directory / ".fsync-probe"
    block = os.urandom(4096)
    samples = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        deadline = time.monotonic() + 10
        for _ in range(count):
            start = time.perf_counter()
            os.write(fd, block)
            os.fsync(fd)
            samples.append((time.perf_counter() - start) * 1e6)
            if time.monotonic() > deadline:
                break
    finally:
        os.close(fd)
        path.unlink(missing_ok=True)
    samples.sort()
    return {
        "p50": samples[len(samples) // 2],
        "mean": sum(samples) / len(samples),
        "p99": samples[min(len(samples) - 1, int(len(samples) * 0.99))],
    }


def machine_line(directory: Path) -> str:
    fs = fsync_probe(directory)
    load = Path("/proc/loadavg").read_text().split()[:3]
    return (
        source_line()
        + "\n"
        + (
            f"machine: nproc={os.cpu_count()} cpu={cpu_model()!r} python={sys.version.split()[0]} "
            f"fsync(4KiB) p50={fs['p50']:.0f}µs mean={fs['mean']:.0f}µs p99={fs['p99']:.0f}µs "
            f"loadavg={'/'.join(load)}"
        )
    )


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * q))]


# --- the server ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    env: dict[str, str], log: Path, *, workers: int, sequencer: bool = True
) -> tuple[subprocess.Popen, int]:
    """`quorum serve` on 127.0.0.1 in a session of its own (so its whole group can be stopped),
    once it answers; returns (process, port). Stop it with `stop_group` in a `finally`."""
    port = free_port()
    command = [PYTHON, "-m", "quorum.cli", "serve", "--port", str(port), "--workers", str(workers)]
    if not sequencer:
        command.append("--no-sequencer")
    with log.open("wb") as out:
        server = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        wait_ready(port, server)
    except BaseException:
        stop_group(server)
        print(f"server log tail:\n{log.read_text(errors='replace')[-2000:]}")
        raise
    return server, port


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the server exited during start-up")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"GET /api/v1/pow/challenge HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                if sock.recv(16).startswith(b"HTTP/1.1"):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not answer in time")


def stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM the server's process group (we started it as its own session), then SIGKILL."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    # Workers or the sequencer may outlive the main process: the group must be empty.
    for _ in range(50):
        if not group_pids(proc.pid):
            break
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=5)


def stop_server(server: subprocess.Popen, log: Path) -> None:
    """Stop the whole group; show the log's tail if the server did not exit as told."""
    stop_group(server)
    if server.returncode not in (0, -signal.SIGTERM, None):
        print(f"server exit code {server.returncode}; log tail:")
        print(log.read_text(errors="replace")[-2000:])


def use_redis(env: dict[str, str], url: str) -> None:
    """Rate limits and single use in this Redis database, emptied first."""
    import redis

    redis.Redis.from_url(url).flushdb()
    env["REDIS_URL"] = url


def group_rss(pgid: int) -> int:
    """Resident memory of every live process of a group, bytes (shared pages count per process)."""
    total = 0
    for pid in group_pids(pgid):
        with contextlib.suppress(OSError, IndexError, ValueError):
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE
    return total


# --- load clients: wrk, or an asyncio client in a process of its own -----------------------

CLIENT_GRACE = 15.0  # seconds a client may overrun its duration before it is killed


@dataclass(frozen=True)
class Load:
    """One bounded load on one path. `answers` receives a line `<body index> <receipt>` per
    201 that carries a receipt (index -1 when wrk sent it: wrk cannot tell)."""

    port: int
    path: str
    bodies: Path  # one request body a line
    conc: int
    duration: float
    answers: Path
    rate: float = 0.0  # requests/s in all, paced (asyncio client only); 0: as fast as answered
    wrap: bool = True  # start again at the first body when all were sent; else stop there
    interval: float = 0.0  # report every `interval` s (asyncio client only); 0: at the end
    # A crowd (asyncio client only): each connection sends this many requests, then the next
    # connection comes from a new loopback address (127.1.0.1, 127.1.0.2 …), so that the
    # server counts each few statements under a client of their own; 0: all from 127.0.0.1.
    per_address: int = 0


def post_request(port: int, path: str, body: bytes) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    """Send one HTTP/1.1 request on a kept-alive connection; (status, body) of its answer."""
    writer.write(request)
    header = await reader.readuntil(b"\r\n\r\n")
    status = int(header[9:12])
    length, chunked = 0, False
    for line in header.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if not chunked:
        return status, await reader.readexactly(length)
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        data = await reader.readexactly(size + 2)  # the chunk and its CRLF
        if size == 0:
            return status, b"".join(parts)
        parts.append(data[:-2])


def _latency_summary(seconds: list[float]) -> dict[str, float]:
    ms = sorted(v * 1000 for v in seconds)
    return {
        "p50_ms": percentile(ms, 0.50),
        "p90_ms": percentile(ms, 0.90),
        "p99_ms": percentile(ms, 0.99),
        "max_ms": ms[-1] if ms else float("nan"),
    }


def _status_summary(statuses: dict[int, int]) -> dict[str, int]:
    return {
        "s201": statuses.get(201, 0),
        "s4xx": sum(n for s, n in statuses.items() if 400 <= s < 500),
        "s5xx": sum(n for s, n in statuses.items() if s >= 500),
        "sother": sum(n for s, n in statuses.items() if s < 400 and s != 201),
    }


def _write_answers(path: Path, answers: list[tuple[int, str]]) -> None:
    path.write_text("".join(f"{i} {receipt}\n" for i, receipt in answers))


def interval_answers(answers: Path, number: int) -> Path:
    """Where the asyncio client puts the answers of reporting interval `number` (from 0)."""
    return answers.with_name(f"{answers.name}.{number}")


def read_answers(path: Path) -> list[tuple[int, str]]:
    out = []
    for line in path.read_text().splitlines():
        index, _, receipt = line.partition(" ")
        out.append((int(index), receipt))
    return out


class _Window:
    """What was answered in one reporting interval."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.answers: list[tuple[int, str]] = []
        self.errors = 0

    def report(self, number: int, seconds: float) -> dict:
        return {
            "interval": number,
            "requests": len(self.latencies),
            "duration_s": seconds,
            **_status_summary(self.statuses),
            "socket_errors": self.errors,
            **_latency_summary(self.latencies),
        }


async def _drive(load: Load) -> dict:
    """The asyncio client: `load.conc` kept-alive connections, one request in flight on each.

    With a rate, request k is due at start + k/rate and its latency counts from then, so a
    server that falls behind shows in the latency (no coordinated omission).
    """
    bodies = load.bodies.read_bytes().splitlines()
    interval = load.interval or load.duration + CLIENT_GRACE
    last = max(0, math.ceil(load.duration / interval) - 1)
    windows: dict[int, _Window] = {}
    reported = 0
    whole = _Window()
    sent = 0
    started = time.monotonic()
    deadline = started + load.duration

    def window_now() -> _Window:
        # Answers after the deadline still belong to the last interval.
        return windows.setdefault(
            min(int((time.monotonic() - started) / interval), last), _Window()
        )

    def record(status: int, payload: bytes, index: int, seconds: float) -> None:
        window = window_now()
        for part in (whole, window):
            part.latencies.append(seconds)
            part.statuses[status] = part.statuses.get(status, 0) + 1
        if status == 201:
            receipt = json.loads(payload).get("receipt")
            if receipt:
                whole.answers.append((index, receipt))
                window.answers.append((index, receipt))

    def emit(upto: int) -> None:
        nonlocal reported
        while reported < upto:
            window = windows.pop(reported, _Window())
            _write_answers(interval_answers(load.answers, reported), window.answers)
            seconds = min(interval, load.duration - reported * interval)
            print("BENCH_INTERVAL " + json.dumps(window.report(reported, seconds)), flush=True)
            reported += 1

    async def reporter() -> None:
        while True:
            await asyncio.sleep(max(0.0, started + (reported + 1) * interval - time.monotonic()))
            emit(min(int((time.monotonic() - started) / interval), last))

    addresses = crowd_addresses()

    async def connect() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        local = (next(addresses), 0) if load.per_address else None
        return await asyncio.open_connection("127.0.0.1", load.port, local_addr=local)

    async def connection() -> None:
        nonlocal sent
        reader, writer = await connect()
        used = 0
        try:
            while True:
                if load.per_address and used >= load.per_address:
                    writer.close()
                    reader, writer = await connect()
                    used = 0
                used += 1
                k = sent
                if k >= len(bodies) and not load.wrap:
                    return
                due = started + k / load.rate if load.rate else time.monotonic()
                if due >= deadline:
                    return
                sent += 1
                if due > time.monotonic():
                    await asyncio.sleep(due - time.monotonic())
                index = k % len(bodies)
                request = post_request(load.port, load.path, bodies[index])
                status, payload = await exchange(reader, writer, request)
                record(status, payload, index, time.monotonic() - due)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            whole.errors += 1
            window_now().errors += 1
        finally:
            writer.close()

    task = asyncio.create_task(reporter()) if load.interval else None
    try:
        await asyncio.wait_for(
            asyncio.gather(*(connection() for _ in range(load.conc))),
            load.duration + CLIENT_GRACE,
        )
    finally:
        if task is not None:
            task.cancel()
    elapsed = time.monotonic() - started
    if load.interval:
        emit(last + 1)
    _write_answers(load.answers, whole.answers)
    return {
        **whole.report(0, elapsed),
        "wraps": max(0, (sent - 1) // max(len(bodies), 1)),
        "timeouts": 0,
    }


def crowd_addresses() -> Iterator[str]:
    """Loopback addresses for a crowd, each once: 127.1.0.1 on (any 127/8 address is this
    machine's; the last byte stays within 1–250)."""
    for n in itertools.count():
        yield f"127.{1 + n // 64_000 % 254}.{n // 250 % 256}.{1 + n % 250}"


def client_worker(argv: list[str]) -> None:
    """`python bench/common.py --client-worker '<Load as JSON>'`: one load, then a summary."""
    fields = json.loads(argv[0])
    fields["bodies"], fields["answers"] = Path(fields["bodies"]), Path(fields["answers"])
    result = asyncio.run(_drive(Load(**fields)))
    print("BENCH_JSON " + json.dumps(result), flush=True)


def warm_up(
    port: int,
    path: str,
    bodies: Path,
    answers: Path,
    seconds: float = 2.0,
    *,
    per_address: int = 0,
) -> list[str]:
    """A short load at c=8 with the asyncio client, so that every worker process has imported,
    connected and started its intake writer before anything is measured; the receipts."""
    load = Load(port, path, bodies, 8, seconds, answers, wrap=False, per_address=per_address)
    run_client("python", load)
    return [receipt for _, receipt in read_answers(answers)]


def client_kind(choice: str) -> str:
    """wrk when it is installed and `choice` is auto, else the asyncio client."""
    if choice == "auto":
        return "wrk" if shutil.which("wrk") else "python"
    if choice == "wrk" and not shutil.which("wrk"):
        sys.exit("wrk is not installed; use --client python")
    return choice


def run_client(kind: str, load: Load, on_interval=None) -> tuple[dict, float]:
    """Run one bounded load in a separate process; returns (summary, client CPU seconds).

    `on_interval` (asyncio client with `load.interval`) is called with each interval's report
    as it arrives; that interval's answers are then in `<answers>.<interval>`.
    """
    if kind == "wrk":
        if load.rate or load.interval or not load.wrap or load.per_address:
            raise ValueError(
                "wrk sends as fast as answered, to the end, from one address: use the asyncio "
                "client"
            )
        prelude = load.answers.with_suffix(".lua")
        prelude.write_text(
            f"BODIES = {json.dumps(str(load.bodies))}\n"
            f"RECEIPTS = {json.dumps(str(load.answers) + '.')}\n"
            f"TARGET_PATH = {json.dumps(load.path)}\nNTHREADS = 2\n"
            + (ROOT / "bench" / "wrk_intake.lua").read_text()
        )
        command = [
            "wrk", "-t2", f"-c{load.conc}", f"-d{load.duration:.0f}s", "--timeout", "10s",
            "-s", str(prelude), f"http://127.0.0.1:{load.port}/",
        ]  # fmt: skip
    else:
        spec = {
            **dataclasses.asdict(load),
            "bodies": str(load.bodies),
            "answers": str(load.answers),
        }
        command = [PYTHON, str(Path(__file__).resolve()), "--client-worker", json.dumps(spec)]
    timeout = load.duration + CLIENT_GRACE + 5
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = []
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, text=True)
        watchdog = threading.Timer(timeout, proc.kill)
        watchdog.start()
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith("BENCH_INTERVAL ") and on_interval is not None:
                    on_interval(json.loads(line.removeprefix("BENCH_INTERVAL ")))
                elif line.startswith("BENCH_JSON "):
                    lines.append(line)
            proc.wait(timeout=5)
        finally:
            watchdog.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if not lines:
        raise RuntimeError(f"client failed (rc={proc.returncode}): {stderr[-2000:]}")
    result = json.loads(lines[-1].removeprefix("BENCH_JSON "))
    if kind == "wrk":
        receipts = []
        for part in sorted(load.answers.parent.glob(load.answers.name + ".*")):
            if part.suffix != ".lua":
                receipts += part.read_text().split()
        _write_answers(load.answers, [(-1, receipt) for receipt in receipts])
    return result, cpu


# --- database reads (Django set up in this process with `django_setup`) --------------------


def initiative_id(slug: str) -> int:
    from quorum.initiatives.models import Initiative

    return Initiative.objects.values_list("pk", flat=True).get(slug=slug)


def stored_rows(slug: str | None = None) -> int:
    """Statements stored, of one initiative or of all."""
    from quorum.ledger.models import Statement

    rows = Statement.objects.all()
    if slug is not None:
        rows = rows.filter(initiative_id=initiative_id(slug))
    return rows.count()


def receipt_counts(receipts, slug: str | None = None) -> dict[str, int]:
    """How many stored statements (of initiative `slug`, or of any) have each receipt as their
    leaf hash: 1 for every acknowledged statement, 0 for one lost."""
    from django.db.models import Count

    from quorum.ledger.models import Statement

    counts = dict.fromkeys(receipts, 0)
    rows = Statement.objects.all()
    if slug is not None:
        rows = rows.filter(initiative_id=initiative_id(slug))
    wanted = [bytes.fromhex(r) for r in counts]
    for i in range(0, len(wanted), 900):
        found = (
            rows.filter(leaf_hash__in=wanted[i : i + 900])
            .values("leaf_hash")
            .annotate(n=Count("pk"))
            .values_list("leaf_hash", "n")
        )
        for leaf, n in found:
            counts[bytes(leaf).hex()] = n
    return counts


def wait_sequenced(timeout: float = 60) -> float:
    """Wait (bounded) until the sequencer has given every stored statement its leaf index, so
    that one measurement does not pay for the last one's backlog; returns the seconds waited."""
    from quorum.ledger.models import Statement

    started = time.monotonic()
    while Statement.objects.filter(leaf_index__isnull=True).exists():
        if time.monotonic() - started > timeout:
            break
        time.sleep(0.2)
    return time.monotonic() - started


if __name__ == "__main__":
    if sys.argv[1:2] == ["--client-worker"]:
        client_worker(sys.argv[2:])
