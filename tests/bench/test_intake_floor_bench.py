"""`bench/intake_floor.py`, small: every part runs, and every statement it sends in process is
answered 201 (by the service, the fast path, Django's stack and the fast path's own layer).
No timing is judged."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.own_database]

LAST_LINE = re.compile(r"\s*HTTP layer of the fast path .*statuses \{201: \d+\}\)")
ANSWERED = re.compile(r"^\s+(?P<label>.+?)\s+\d+ µs CPU/stmt.*statuses (?P<statuses>\{.*\})\)$")


def test_the_floor_bench_runs_every_part_and_each_statement_is_answered_201(run_bench) -> None:
    stdout, _ = run_bench("intake_floor.py", "-n", "300", "--db-n", "60", last_line=LAST_LINE)
    answered = [m.groupdict() for m in map(ANSWERED.match, stdout.splitlines()) if m]
    labels = [a["label"] for a in answered]
    assert labels == [
        "service: statement_submit() direct",
        "ASGI app as served (fast path)",
        "ASGI app, fast path off (Django's stack)",
        *["HTTP layer of the fast path"] * 3,
    ], stdout[-4000:]
    assert {a["statuses"] for a in answered[:3]} == {"{201: 60}"}, stdout[-4000:]
    assert {a["statuses"] for a in answered[3:]} == {"{201: 200}"}, stdout[-4000:]
    assert "sum of steps" in stdout
