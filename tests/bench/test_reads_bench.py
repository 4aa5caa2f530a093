"""`bench/reads.py`, bounded: a real server answers the counts and the page while statements
arrive, and the last line gives both rates and the 99th percentile. No timing is judged."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
LAST_LINE = re.compile(
    r"reads counts_per_s=(?P<counts>\d+) page_per_s=(?P<page>\d+) p99_ms=(?P<p99>[\d.]+)"
)


def test_the_reads_bench_serves_counts_and_page_while_statements_arrive() -> None:
    # The bench makes its own data directory and SQLite database, whatever the suite runs on.
    command = [sys.executable, str(ROOT / "bench" / "reads.py"), "--duration", "1.5"]
    result = subprocess.run(
        [*command, "--conc", "8", "--statements-per-s", "5"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    match = LAST_LINE.fullmatch(result.stdout.strip().splitlines()[-1])
    assert match is not None, output[-4000:]
    assert int(match["counts"]) > 0
    assert int(match["page"]) > 0
    assert "not 2xx=0" in result.stdout, output[-4000:]
