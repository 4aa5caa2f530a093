"""`bench/failover.py`, bounded: the PostgreSQL primary is killed under load and its synchronous
standby promoted; nothing acknowledged is lost, no leaf index reused or skipped, the auditor
verifies the log on both sides of the failover. No timing is judged."""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil

import pytest

pytestmark = pytest.mark.slow

LAST_LINE = re.compile(
    r"failover acknowledged=(?P<acknowledged>\d+) lost=(?P<lost>\d+) "
    r"reused_or_skipped=(?P<reused_or_skipped>\d+) unavailable_s=(?P<unavailable>[\d.]+|inf)"
)


def _postgres_server_binaries() -> bool:
    if not (glob.glob("/usr/lib/postgresql/*/bin/initdb") or shutil.which("initdb")):
        return False
    if os.geteuid() != 0:
        return True
    try:
        pwd.getpwnam("postgres")  # the servers run as this user when we are root
    except KeyError:
        return False
    return shutil.which("runuser") is not None


@pytest.mark.skipif(
    not _postgres_server_binaries(), reason="PostgreSQL's server binaries are not installed"
)
@pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")),
    reason="it makes PostgreSQL servers of its own: run once, in the suite's SQLite pass",
)
def test_a_lost_primary_loses_no_acknowledged_statement_and_the_log_goes_on(run_bench) -> None:
    output, match = run_bench(
        "failover.py", "--duration", "4", "--clients", "4", last_line=LAST_LINE
    )
    assert match["lost"] == "0"
    assert match["reused_or_skipped"] == "0"
    assert "standby away: answered while away False; once back 201" in output
    assert int(match["acknowledged"]) > 0
