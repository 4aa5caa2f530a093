"""Shared pieces of the benchmarks: data directories, request bodies, CPU accounting.

Nothing here touches product code paths; the benchmarks drive the real `quorum` commands
and read /proc for CPU time. Every subprocess runs under a timeout.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# QUORUM_BENCH_SRC=<dir>: benchmark another copy of src/ (e.g. `git archive HEAD` unpacked),
# so that work in progress in the tree does not move the figures.
BENCH_SRC = os.environ.get("QUORUM_BENCH_SRC")
if BENCH_SRC:
    sys.path.insert(0, BENCH_SRC)
DEMO_SLUG = "ban-biometric-mass-surveillance"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# --- request bodies ------------------------------------------------------------------------

PESEL_WEIGHTS = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)
PL_FIRST = ("Zofia", "Anna", "Maria", "Jan", "Piotr", "Krzysztof", "Łucja", "Michał", "Ewa", "Olga")
PL_FAMILY = ("Kowalska", "Nowak", "Wiśniewski", "Wójcik", "Kamińska", "Lewandowski", "Zając")
DE_FIRST = ("Max", "Anna", "Jürgen", "Lena", "Sophie", "Lukas", "Marie", "Jonas", "Mia")
DE_FAMILY = ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker")
DE_CITIES = (("10115", "Berlin"), ("80331", "München"), ("20095", "Hamburg"), ("50667", "Köln"))


def pesel(born: date, serial: int) -> str:
    """A valid PESEL: YYMMDD (month +20 for the 2000s), 4 serial digits, check digit."""
    month = born.month + (20 if born.year >= 2000 else 0)
    digits = f"{born.year % 100:02d}{month:02d}{born.day:02d}{serial % 10000:04d}"
    total = sum(int(d) * w for d, w in zip(digits, PESEL_WEIGHTS, strict=True))
    return digits + str((10 - total % 10) % 10)


def make_bodies(count: int, *, offset: int = 0, de_share: float = 0.2, seed: int = 1) -> list:
    """`count` unique valid statement bodies (JSON bytes): PL Part B (PESEL) and DE Part A.

    Identity i is unique across all i >= 0: PL uses (birth date, serial) from i, DE uses
    (birth date, street number) from i. Births span 1950-1999, so every signatory is adult.
    """
    rng = random.Random(seed + offset)
    base = date(1950, 1, 1)
    days = (date(1999, 12, 31) - base).days
    out = []
    for i in range(offset, offset + count):
        if rng.random() < de_share:
            born = base + timedelta(days=i % days)
            postal, city = DE_CITIES[i % len(DE_CITIES)]
            body = {
                "nationality": "DE",
                "first_names": rng.choice(DE_FIRST),
                "family_names": rng.choice(DE_FAMILY),
                "date_of_birth": born.isoformat(),
                "residence": {
                    "street": f"Hauptstraße {i // days + 1}",
                    "postal_code": postal,
                    "city": city,
                    "country": "Deutschland",
                },
            }
        else:
            born = base + timedelta(days=(i // 10000) % days)
            body = {
                "nationality": "PL",
                "first_names": rng.choice(PL_FIRST),
                "family_names": rng.choice(PL_FAMILY),
                "id_type": "pesel",
                "id_number": pesel(born, i % 10000),
            }
        out.append(json.dumps(body, ensure_ascii=False).encode())
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
        os.environ[key] = env[key]
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
