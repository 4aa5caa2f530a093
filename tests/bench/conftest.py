"""Running a script of ``bench/`` as a subprocess, bounded, and reading its last line."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run_bench(
    script: str, *arguments: str, last_line: re.Pattern[str]
) -> tuple[str, re.Match[str]]:
    """The script's standard output and the match of ``last_line`` on its last line.

    The bench makes its own data directory and SQLite database, whatever the suite runs on.
    """
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    match = last_line.fullmatch(result.stdout.strip().splitlines()[-1])
    assert match is not None, output[-4000:]
    return result.stdout, match


@pytest.fixture
def run_bench() -> Callable[..., tuple[str, re.Match[str]]]:
    return _run_bench
