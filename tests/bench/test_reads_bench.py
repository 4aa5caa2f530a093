"""`bench/reads.py`, bounded: a real server answers the counts and the page while statements
arrive, and the last line gives both rates and the 99th percentile. No timing is judged."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.own_database]

LAST_LINE = re.compile(
    r"reads counts_per_s=(?P<counts>\d+) page_per_s=(?P<page>\d+) p99_ms=(?P<p99>[\d.]+)"
)


def test_the_reads_bench_serves_counts_and_page_while_statements_arrive(run_bench) -> None:
    stdout, match = run_bench(
        "reads.py",
        "--duration",
        "1.5",
        "--conc",
        "8",
        "--statements-per-s",
        "5",
        last_line=LAST_LINE,
    )
    assert int(match["counts"]) > 0
    assert int(match["page"]) > 0
    assert "not 2xx=0" in stdout, stdout[-4000:]
