"""`bench/intake.py`, bounded: a real server takes statements and ceiling rows, and every
statement it acknowledged is in the database exactly once. No timing is judged."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.own_database]

LAST_LINE = re.compile(
    r"intake statements_per_s=(?P<statements>\d+) p99_ms=(?P<p99>[\d.]+) "
    r"ceiling_per_s=(?P<ceiling>\d+) ratio=(?P<ratio>[\d.]+) lost=(?P<lost>\d+)"
)


def test_the_intake_bench_loses_no_acknowledged_statement_and_measures_both_rates(
    run_bench,
) -> None:
    output, match = run_bench(
        "intake.py", "--duration", "3", "--concurrency", "8", last_line=LAST_LINE
    )
    assert match["lost"] == "0"
    assert int(match["statements"]) > 0
    assert int(match["ceiling"]) > 0
    # A crowd with the rate limits as shipped (10 a minute): from one address it would be
    # refused after its tenth statement.
    assert "rate limits as shipped" in output
    statements = next(line for line in output.splitlines() if line.startswith("statements:"))
    assert " 4xx=0 " in statements, statements
