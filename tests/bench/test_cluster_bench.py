"""`bench/cluster.py --quick`: hosts in network namespaces (nginx, two web hosts, PostgreSQL
primary and synchronous standby, Redis), built from deploy/ as docs/deploy.md says, each lost
in turn under load with ``kill -9``; nothing acknowledged is lost, no leaf reused or skipped,
the auditor verifies the log over HTTPS after each fault, one client's limit never holds
another back, and the proxy caches the counts, hides /metrics and speaks HTTP/2. No timing is
judged. (tests/deploy/test_cluster_set_up.py checks, fast, that the set-up is the guide's.)

A run stopped by hand (or by a timeout) leaves its namespaces, with the PostgreSQL or nginx
still running in them, and the next run failed on ``ip netns add``: each run now takes a lock
and first removes such leftovers of its own names (the last tests below)."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import cluster

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


@pytest.fixture
def the_lock() -> Iterator[None]:
    """The run lock, waited for: a real cluster run in another worker finishes first."""
    with cluster.RUN_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _namespaces() -> set[str]:
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return {line.split()[0] for line in listed.stdout.splitlines() if line.strip()}


@pytest.mark.own_database
@pytest.mark.skipif(WHY_NOT is not None, reason=str(WHY_NOT))
def test_a_killed_run_s_namespace_and_the_process_in_it_are_removed(the_lock) -> None:
    name = cluster.netns("web1")
    subprocess.run(["ip", "netns", "add", name], check=True)
    left_running = subprocess.Popen(["ip", "netns", "exec", name, "sleep", "120"])
    try:
        deadline = time.monotonic() + 10
        while not cluster.run("ip", "netns", "pids", name).stdout.split():
            assert time.monotonic() < deadline, "the process never entered the namespace"
            time.sleep(0.05)

        assert cluster.remove_leftovers() == [name]

        assert left_running.wait(10) != 0  # killed, not left to finish
        assert name not in _namespaces()
    finally:
        left_running.kill()
        left_running.wait()
        subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)


@pytest.mark.own_database
@pytest.mark.skipif(WHY_NOT is not None, reason=str(WHY_NOT))
def test_nothing_is_removed_when_no_run_left_anything(the_lock) -> None:
    assert cluster.remove_leftovers() == []


@pytest.mark.own_database
@pytest.mark.skipif(WHY_NOT is not None, reason=str(WHY_NOT))
def test_a_second_run_is_refused_while_one_holds_the_lock(the_lock) -> None:
    other = cluster.netns("web2")
    subprocess.run(["ip", "netns", "add", other], check=True)
    try:
        with pytest.raises(SystemExit, match="another cluster run"), cluster.only_run(wait=0.5):
            pass
        assert other in _namespaces()  # the running one's namespaces are left alone
    finally:
        subprocess.run(["ip", "netns", "del", other], capture_output=True, check=False)
