"""`bench/cluster.py --quick`: hosts in network namespaces (nginx, two web hosts, PostgreSQL
primary and synchronous standby, Redis), built from deploy/ as docs/deploy.md says, each lost
in turn under load with ``kill -9``; nothing acknowledged is lost, no leaf reused or skipped,
the auditor verifies the log over HTTPS after each fault, one client's limit never holds
another back, and the proxy caches the counts, hides /metrics and speaks HTTP/2. No timing is
judged. (tests/deploy/test_cluster_set_up.py checks, fast, that the set-up is the guide's.)"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.slow

LAST_LINE = re.compile(
    r"cluster faults=(?P<faults>\d+) acknowledged=(?P<acknowledged>\d+) lost=(?P<lost>\d+) "
    r"reused_or_skipped=(?P<reused_or_skipped>\d+)"
)


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool in ("ip", "nginx", "openssl", "redis-server", "curl", "runuser"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    probe = subprocess.run(["ip", "netns", "add", "q-probe"], capture_output=True, check=False)
    if probe.returncode != 0:
        return "network namespaces cannot be created here"
    subprocess.run(["ip", "netns", "del", "q-probe"], capture_output=True, check=False)
    return None


WHY_NOT = _why_not()


@pytest.mark.skipif(WHY_NOT is not None, reason=str(WHY_NOT))
@pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")),
    reason="it makes PostgreSQL servers of its own: run once, in the suite's SQLite pass",
)
def test_every_host_lost_in_turn_loses_no_acknowledged_statement(run_bench) -> None:
    output, match = run_bench("cluster.py", "--quick", last_line=LAST_LINE)
    assert match["faults"] == "4"
    assert match["lost"] == "0"
    assert match["reused_or_skipped"] == "0"
    assert output.count("audit passed") == 4
    assert "PROBLEM" not in output
    assert int(match["acknowledged"]) > 0
