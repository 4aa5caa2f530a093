"""`bench/soak.py`, bounded: a steady rate from a crowd, reported per interval, with every
acknowledged statement found stored. No timing is judged."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.own_database]

LAST_LINE = re.compile(
    r"soak rate=(?P<rate>\d+) minutes=(?P<minutes>[\d.]+) p99_max_ms=(?P<p99>[\d.]+) "
    r"rss_start_mib=(?P<start>\d+) rss_end_mib=(?P<end>\d+) acked=(?P<acked>\d+) "
    r"lost=(?P<lost>\d+)"
)


def test_the_soak_holds_a_rate_from_a_crowd_and_loses_nothing(run_bench) -> None:
    output, match = run_bench(
        "soak.py", "--rate", "50", "--minutes", "0.1", "--interval", "2", last_line=LAST_LINE
    )
    assert match["lost"] == "0"
    assert int(match["acked"]) > 0
    intervals = [line for line in output.splitlines() if re.match(r"\d+ s: ", line)]
    assert len(intervals) == 3, output
    # The crowd meets the rate limits as shipped and is never refused.
    assert all(" other=0;" in line for line in intervals), intervals
