"""`bench/intake.py`, bounded: a real server takes statements and ceiling rows, and every
statement it acknowledged is in the database exactly once. No timing is judged."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
LAST_LINE = re.compile(
    r"intake statements_per_s=(?P<statements>\d+) p99_ms=(?P<p99>[\d.]+) "
    r"ceiling_per_s=(?P<ceiling>\d+) ratio=(?P<ratio>[\d.]+) lost=(?P<lost>\d+)"
)


def test_the_intake_bench_loses_no_acknowledged_statement_and_measures_both_rates() -> None:
    # The bench makes its own data directory and SQLite database, whatever the suite runs on.
    command = [sys.executable, str(ROOT / "bench" / "intake.py"), "--duration", "3"]
    result = subprocess.run(
        [*command, "--concurrency", "8"],
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
    assert match["lost"] == "0"
    assert int(match["statements"]) > 0
    assert int(match["ceiling"]) > 0
