"""A real Quorum server process and Debian's Chromium, driven through Playwright.

The server is the one an operator runs: `quorum demo --no-serve` sets up a fresh data
directory, `quorum serve` serves it with granian, proof of work on. Nothing is downloaded:
Playwright drives /usr/bin/chromium, and axe-core comes from inside axe-playwright-python.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import sqlite3
import string
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
DEMO_SLUG = "ban-biometric-mass-surveillance"
#: A coalition partner of the demo initiative, added for the tests of partner links.
DEMO_PARTNER = "demo-friends"
DEMO_PASSPHRASE = b"demo"
VALID_PESEL = "44051401359"
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0

# Settings of the server under test. The database is SQLite in a temporary folder whatever
# the environment says (tests read its rows), and limits are raised so that many signings
# from 127.0.0.1 in one run do not trip them.
SERVER_ENV = {
    "QUORUM_POW": "on",
    "QUORUM_POW_MAX_NUMBER": "20000",
    "QUORUM_RATE_BURST": "10000",
    "QUORUM_RATE_BURST_SECONDS": "60",
    "QUORUM_RATE_SUSTAINED": "100000",
    "QUORUM_RATE_SUSTAINED_SECONDS": "3600",
    "QUORUM_DEBUG": "off",
    "QUORUM_SECURE_COOKIES": "off",
    "QUORUM_ALLOWED_HOSTS": "127.0.0.1,localhost",
    "QUORUM_LOG_LEVEL": "warning",
}
SERVER_ENV_REMOVED = ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")


@dataclass(frozen=True)
class QuorumServer:
    base_url: str  # no trailing slash: "http://127.0.0.1:12345"
    data_dir: Path

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def initiative_path(self) -> str:
        return f"/i/{DEMO_SLUG}/"

    @property
    def start_path(self) -> str:
        return f"/i/{DEMO_SLUG}/sign/"

    def form_path(self, member_state: str) -> str:
        return f"/i/{DEMO_SLUG}/sign/{member_state.lower()}/"

    def key_file(self, member_state: str) -> Path:
        return self.data_dir / "demo-keys" / f"{member_state}.key"

    def statements(self) -> list[dict[str, object]]:
        """Every row of ledger_statement, read straight from the server's SQLite file."""
        connection = sqlite3.connect(self.data_dir / "quorum.sqlite3", timeout=10)
        connection.row_factory = sqlite3.Row
        try:
            rows = connection.execute(
                "SELECT member_state, partner, ciphertext, leaf_hash FROM ledger_statement"
            ).fetchall()
        finally:
            connection.close()
        return [dict(row) for row in rows]

    def sign_statement(self) -> str:
        """A Polish citizen's statement signed through the public API, as an API client signs
        it (proof of work solved, a new name each time); its receipt."""
        from quorum.signing.pow import solve_challenge

        def call(path: str, body: dict | None = None) -> tuple[int, dict]:
            data = json.dumps(body).encode() if body is not None else None
            request = urllib.request.Request(
                self.url(path), data=data, headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())

        _status, challenge = call(f"/api/v1/pow/challenge?scope=statement:{DEMO_SLUG}")
        letters = "".join(random.choices(string.ascii_lowercase, k=8))
        status, answer = call(
            f"/api/v1/initiatives/{DEMO_SLUG}/statements",
            {
                "nationality": "PL",
                "first_names": "Zofia " + letters,
                "family_names": "Kowalska" + letters,
                "id_type": "pesel",
                "id_number": VALID_PESEL,
                "altcha": solve_challenge(challenge),
            },
        )
        assert status == 201, answer
        return answer["receipt"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SERVER_ENV_REMOVED}
    env.update(SERVER_ENV, QUORUM_DATA_DIR=str(data_dir))
    return env


def _log_tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_until_answering(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"quorum serve exited with {process.returncode} before answering:\n{_log_tail(log)}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.1)
    pytest.fail(f"{url} did not answer within {STARTUP_TIMEOUT}s:\n{_log_tail(log)}")


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to the server (granian stops its workers); then SIGKILL to whatever is left of
    its group — the group this fixture created (start_new_session=True), nothing else."""
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_TIMEOUT)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_TIMEOUT)


@pytest.fixture(scope="session")
def quorum_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QuorumServer]:
    data_dir = tmp_path_factory.mktemp("quorum-browser")
    env = _server_env(data_dir)
    setup = subprocess.run(
        [sys.executable, "-m", "quorum.cli", "demo", "--no-serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert setup.returncode == 0, f"quorum demo --no-serve failed:\n{setup.stdout}\n{setup.stderr}"
    partner = subprocess.run(
        [
            *(sys.executable, "-m", "quorum.cli", "initiative", "partner", "add"),
            *(DEMO_SLUG, DEMO_PARTNER, "--name", "Friends of the Demo"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert partner.returncode == 0, f"adding the demo partner failed:\n{partner.stderr}"

    port = _free_port()
    log = data_dir / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "quorum.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        server = QuorumServer(base_url=f"http://127.0.0.1:{port}", data_dir=data_dir)
        _wait_until_answering(server.url(server.initiative_path), process, log)
        yield server
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class RequestLog:
    """Every URL the browser asked for, and the ones that left the server's origin."""

    origin: str
    urls: list[str] = field(default_factory=list)

    def record(self, request) -> None:
        self.urls.append(request.url)

    @property
    def foreign(self) -> list[str]:
        return [url for url in self.urls if not url.startswith(self.origin + "/")]


@pytest.fixture
def requests_seen(quorum_server: QuorumServer) -> RequestLog:
    return RequestLog(origin=quorum_server.base_url)


@pytest.fixture
def page(chromium, quorum_server: QuorumServer, requests_seen: RequestLog) -> Iterator[object]:
    """A fresh browser context per test: no cookies, no language choice carried over.

    Every request of every test is recorded; any that leaves the server's origin fails the
    test at teardown (invariant 7: nothing third-party at run time).
    """
    context = chromium.new_context(locale="en-GB", timezone_id="Europe/Brussels")
    context.on("request", requests_seen.record)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
    assert requests_seen.foreign == [], f"requests to another origin: {requests_seen.foreign}"


# --- the public pages, with a real receipt to check -------------------------------------


@pytest.fixture(scope="session")
def receipt(quorum_server: QuorumServer) -> str:
    """A real receipt, so that its check shows a real proof."""
    return quorum_server.sign_statement()


@pytest.fixture(scope="session")
def public_pages(receipt: str) -> dict[str, str]:
    """Every public page by name: each kind once, the receipt check with a real receipt."""
    initiative = f"/i/{DEMO_SLUG}/"
    return {
        "register": "/",
        "register, searched": "/?q=biometric&status=collecting",
        "initiative": initiative,
        "signing start": f"{initiative}sign/",
        "signing form DE (Part A)": f"{initiative}sign/de/",
        "signing form PL (Part B)": f"{initiative}sign/pl/",
        "signing form RO (Part B)": f"{initiative}sign/ro/",
        "receipt check": f"{initiative}receipt/",
        "receipt check with a receipt": f"{initiative}receipt/?receipt={receipt}",
        "counter embed": f"{initiative}counter/",
        "e-mail updates": f"{initiative}updates/",
        "signing form in a campaign's frame": f"{initiative}embed/sign/pl/",
        "sign-in": "/account/login/",
        "404": "/no-such-page/",
    }
