"""``quorum serve`` with two workers: /metrics sums every process, whichever one answers."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

pytestmark = [pytest.mark.slow, pytest.mark.own_database]

SLUG = "ban-biometric-mass-surveillance"
STATEMENTS = 24
SCRAPES = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(data_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("QUORUM_", "DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"))
        and k != "PROMETHEUS_MULTIPROC_DIR"
    }
    env.update(
        QUORUM_DATA_DIR=str(data_dir),
        QUORUM_LOG_LEVEL="warning",
        QUORUM_ALLOWED_HOSTS="127.0.0.1",
        QUORUM_POW="off",
        QUORUM_RATE_BURST="1000",
        QUORUM_RATE_SUSTAINED="1000",
    )
    return env


def request(
    port: int, method: str, path: str, body: dict | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One request on a connection of its own: the workers share the listening socket."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        headers = {"Accept": "application/json", "Accept-Language": "en"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def statement(n: int) -> dict[str, str]:
    from stdnum.pl import pesel

    birth = date(1950, 1, 1) + timedelta(days=n * 97)
    base = f"{birth.year % 100:02d}{birth.month:02d}{birth.day:02d}{n:04d}"
    return {
        "nationality": "PL",
        "first_names": "Zofia",
        "family_names": "Nowak",
        "id_type": "pesel",
        "id_number": base + pesel.calc_check_digit(base),
    }


def accepted(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "quorum_statements_accepted_total":
                return sample.value
    raise AssertionError("no quorum_statements_accepted_total")


def wait_until_answering(port: int, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"quorum serve exited with {process.returncode}")
        with contextlib.suppress(OSError):
            if request(port, "GET", "/healthz")[0] == 200:
                return
        time.sleep(0.2)
    raise AssertionError("quorum serve did not answer")


def stop(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def test_two_workers_answer_one_sum_of_their_counts(tmp_path: Path) -> None:
    env = environment(tmp_path)
    setup = subprocess.run(
        [sys.executable, "-m", "quorum.cli", "demo", "--no-serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert setup.returncode == 0, setup.stdout + setup.stderr
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "quorum.cli", "serve"),
                *("--host", "127.0.0.1", "--port", str(port), "--workers", "2"),
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_answering(port, process)
        directory = tmp_path / "metrics" / f"serve-{process.pid}"
        assert directory.is_dir()

        for path in ("/healthz", "/readyz"):
            status, headers, _body = request(port, "GET", path)
            assert status == 200, (path, _body)
            assert headers["cache-control"] == "no-store"
            assert "set-cookie" not in headers

        path = f"/api/v1/initiatives/{SLUG}/statements"
        for n in range(STATEMENTS):
            status, _headers, body = request(port, "POST", path, statement(n))
            assert status == 201, body

        # Each scrape on a new connection, answered by either worker: always the whole sum.
        for _ in range(SCRAPES):
            status, headers, body = request(port, "GET", "/metrics")
            assert status == 200
            assert headers["cache-control"] == "no-store"
            assert accepted(body.decode()) == STATEMENTS

        # Both workers took statements: their own files hold a part each.
        shares = []
        for file in directory.glob("histogram_*.db"):
            families = MultiProcessCollector.merge([str(file)], accumulate=True)
            shares.append(
                sum(
                    s.value
                    for f in families
                    for s in f.samples
                    if s.name == "quorum_intake_seconds_count"
                    and s.labels.get("outcome") == "accepted"
                )
            )
        assert sum(shares) == STATEMENTS
        assert len([share for share in shares if share > 0]) == 2, shares
    finally:
        stop(process)
    assert not directory.exists(), "the server's metrics directory outlived it"
