"""A real nginx with deploy/nginx/quorum.conf.in in front of a real ``quorum serve``.

The set-up follows docs/deploy.md: the site is rendered with deploy/render.py (only the ports,
the certificate, the upstream and the cache folder differ), Quorum runs with the ``.env``
settings the guide gives (trusted proxy 127.0.0.1, X-Forwarded-Proto, secure cookies, HSTS),
and nginx is Debian's (``bash scripts/setup.sh --test`` installs it). The nginx here runs as
a foreground process with its own prefix and temporary folders, on free loopback ports.

Clients come from different loopback addresses (all of 127.0.0.0/8 is loopback on Linux):
nginx sees 127.0.0.2, 127.0.0.3 … as different clients, and tells Quorum so.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.own_database]

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "nginx" / "quorum.conf.in"
RENDER = ROOT / "deploy" / "render.py"
sys.path.insert(0, str(ROOT / "bench"))

import deployment  # noqa: E402  (how the cluster starts nginx, too)

SLUG = "ban-biometric-mass-surveillance"
STATEMENTS = f"/api/v1/initiatives/{SLUG}/statements"
COUNTS = f"/api/v1/initiatives/{SLUG}/counts"
PAGE = f"/i/{SLUG}/"
HSTS_SECONDS = 600
RATE_BURST = 2
TIMEOUT = 15.0


def _nginx() -> str | None:
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _quorum_env(data_dir: Path) -> dict[str, str]:
    """The environment of the guide's .env, on this test's data folder and SQLite."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("QUORUM_", "DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"))
    }
    env.update(
        QUORUM_DATA_DIR=str(data_dir),
        QUORUM_LOG_LEVEL="warning",
        QUORUM_DEBUG="off",
        QUORUM_ALLOWED_HOSTS="127.0.0.1,localhost",
        QUORUM_TRUSTED_PROXIES="127.0.0.1/32",
        QUORUM_PROXY_TLS_HEADER="X-Forwarded-Proto",
        QUORUM_SECURE_COOKIES="on",
        QUORUM_HSTS_SECONDS=str(HSTS_SECONDS),
        QUORUM_RATE_BURST=str(RATE_BURST),
        QUORUM_POW="off",
    )
    return env


def _tail(path: Path) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-30:])
    return "(no log)"


def _wait(process: subprocess.Popen, log: Path, probe, what: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, f"{what} exited:\n{_tail(log)}"
        with contextlib.suppress(OSError):
            if probe():
                return
        assert time.monotonic() < deadline, f"{what} did not start:\n{_tail(log)}"
        time.sleep(0.2)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM first, so that nginx's master and granian reap their workers; then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
            if sig == signal.SIGTERM:
                time.sleep(0.2)  # the workers' own exit, after their master's


@dataclass
class Site:
    https_port: int
    http_port: int
    certificate: Path
    nginx_log: Path


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    nginx = _nginx()
    if nginx is None or shutil.which("openssl") is None:
        pytest.skip(
            "nginx or openssl is not installed (bash scripts/setup.sh --test installs both)"
        )
    work = tmp_path_factory.mktemp("deploy")
    data_dir = work / "data"
    data_dir.mkdir()
    env = _quorum_env(data_dir)
    setup = subprocess.run(
        [sys.executable, "-m", "quorum.cli", "demo", "--no-serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert setup.returncode == 0, setup.stdout + setup.stderr

    # A self-signed certificate, as docs/deploy.md makes one for a first try.
    certificate, key = work / "cert.pem", work / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(certificate)),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )

    upstream_port, https_port, http_port = _free_port(), _free_port(), _free_port()
    server_log = work / "quorum.log"
    with server_log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "quorum.cli", "serve", "--port", str(upstream_port)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    processes = [server]
    try:

        def quorum_answers() -> bool:
            with urllib.request.urlopen(f"http://127.0.0.1:{upstream_port}/healthz", timeout=2):
                return True

        _wait(server, server_log, quorum_answers, "quorum serve")

        rendered = subprocess.run(
            [
                *(sys.executable, str(RENDER), str(TEMPLATE)),
                "SERVER_NAME=localhost",
                f"HTTPS_LISTEN=127.0.0.1:{https_port}",
                f"HTTP_LISTEN=127.0.0.1:{http_port}",
                f"UPSTREAM=127.0.0.1:{upstream_port}",
                f"CACHE_DIR={work / 'cache'}",
                f"ERROR_LOG={work / 'nginx-error.log'}",  # with the -e log: one file to show
                f"CERTIFICATE={certificate}",
                f"CERTIFICATE_KEY={key}",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
        nginx_log = work / "nginx-error.log"
        proxy = deployment.start_nginx(nginx, work, rendered, nginx_log)
        processes.append(proxy)

        def nginx_answers() -> bool:
            with socket.create_connection(("127.0.0.1", https_port), timeout=2):
                return True

        _wait(proxy, nginx_log, nginx_answers, "nginx")
        yield Site(https_port, http_port, certificate, nginx_log)
    finally:
        for process in reversed(processes):
            _stop(process)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


def request(
    site: Site,
    method: str,
    path: str,
    *,
    source: str = "127.0.0.2",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    https: bool = True,
) -> Answer:
    """One request through nginx from the loopback address ``source``, on a fresh connection."""
    if https:
        context = ssl.create_default_context(cafile=str(site.certificate))
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            "127.0.0.1",
            site.https_port,
            context=context,
            timeout=TIMEOUT,
            source_address=(source, 0),
        )
    else:
        connection = http.client.HTTPConnection(
            "127.0.0.1", site.http_port, timeout=TIMEOUT, source_address=(source, 0)
        )
    try:
        connection.request(
            method, path, body=body, headers={"Accept-Language": "en", **(headers or {})}
        )
        response = connection.getresponse()
        content = response.read()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, content)
    finally:
        connection.close()


def _pesel(birth: date, serial: int) -> str:
    from stdnum.pl import pesel

    month = birth.month + (20 if birth.year >= 2000 else 0)
    base = f"{birth.year % 100:02d}{month:02d}{birth.day:02d}{serial % 10000:04d}"
    return base + pesel.calc_check_digit(base)


def statement(n: int) -> bytes:
    """A distinct valid Polish statement (the proof of work is off for this server)."""
    letters = "".join(chr(ord("a") + int(d)) for d in f"{n:04d}")
    return json.dumps(
        {
            "nationality": "PL",
            "first_names": f"Anna {letters.capitalize()}",
            "family_names": "Nowak",
            "id_type": "pesel",
            "id_number": _pesel(date(1960, 1, 1) + timedelta(days=n), 1000 + n),
        }
    ).encode()


JSON = {"Content-Type": "application/json", "Accept": "application/json"}


def test_a_statement_through_nginx_is_counted_under_the_address_nginx_forwarded(site):
    # 127.0.0.2 uses up its own burst at Quorum …
    for n in range(RATE_BURST):
        answer = request(site, "POST", STATEMENTS, body=statement(n), headers=JSON)
        assert answer.status == 201, answer.body
        assert "receipt" in answer.json()
    refused = request(site, "POST", STATEMENTS, body=statement(10), headers=JSON)
    assert refused.status == 429
    assert refused.headers["content-type"].startswith("application/json")  # Quorum's, not nginx's
    # … while 127.0.0.3, behind the same proxy, has its own: Quorum counts the client nginx
    # names, not nginx.
    other = request(site, "POST", STATEMENTS, source="127.0.0.3", body=statement(20), headers=JSON)
    assert other.status == 201, other.body


def test_a_client_cannot_name_another_address_itself(site):
    for n in range(RATE_BURST):
        answer = request(
            site, "POST", STATEMENTS, source="127.0.0.4", body=statement(30 + n), headers=JSON
        )
        assert answer.status == 201, answer.body
    for spoofed in ("198.51.100.7", "127.0.0.1", "198.51.100.7, 127.0.0.1"):
        answer = request(
            site,
            "POST",
            STATEMENTS,
            source="127.0.0.4",
            body=statement(40),
            headers={**JSON, "X-Forwarded-For": spoofed, "Forwarded": "for=198.51.100.8"},
        )
        assert answer.status == 429, (spoofed, answer.body)


def test_the_counts_and_the_initiative_page_are_served_from_nginx_s_cache(site):
    for path in (COUNTS, PAGE):
        statuses = []
        for _ in range(5):  # a pair of requests well within one max-age (1 s) gives a HIT
            first = request(site, "GET", path)
            second = request(site, "GET", path)
            assert first.status == second.status == 200
            assert second.body == first.body
            statuses.append(second.headers.get("x-cache-status"))
            if statuses[-1] == "HIT":
                break
        assert "HIT" in statuses, (path, statuses)
        assert "public" in second.headers["cache-control"]  # Quorum's own, passed on


def test_a_request_with_a_session_cookie_is_never_answered_from_the_cache(site):
    request(site, "GET", COUNTS)
    for path in (COUNTS, PAGE):
        answer = request(site, "GET", path, headers={"Cookie": "sessionid=abc123"})
        assert answer.headers.get("x-cache-status") == "BYPASS"


def test_a_post_is_never_answered_from_the_cache(site):
    request(site, "GET", COUNTS)
    answer = request(site, "POST", COUNTS, body=b"{}", headers=JSON)
    assert answer.status == 405
    assert answer.headers.get("x-cache-status") != "HIT"


def test_a_body_over_the_cap_is_refused_by_nginx(site):
    too_big = b"x" * (16 * 1024 + 1)
    answer = request(site, "POST", STATEMENTS, source="127.0.0.5", body=too_big, headers=JSON)
    assert answer.status == 413
    assert b"nginx" in answer.body  # nginx's page: Quorum never saw the body
    # The back office allows certificate uploads, larger than that.
    manage = request(
        site,
        "POST",
        "/manage/",
        source="127.0.0.5",
        body=b"x" * 100_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert manage.status != 413


def test_a_burst_of_sign_in_attempts_gets_429_from_nginx(site):
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    answers = [
        request(site, "POST", "/account/login/", source="127.0.0.6", body=b"a=b", headers=form)
        for _ in range(10)
    ]
    statuses = [answer.status for answer in answers]
    assert 429 not in statuses[:6], statuses  # one, and a burst of five
    assert statuses[-1] == 429, statuses
    assert b"nginx" in answers[-1].body
    # Only POSTs are limited: the sign-in page itself stays open.
    pages = [request(site, "GET", "/account/login/", source="127.0.0.6") for _ in range(3)]
    assert [page.status for page in pages] == [200, 200, 200]


def test_plain_http_is_redirected_to_https(site):
    answer = request(site, "GET", PAGE, https=False)
    assert answer.status == 301
    assert answer.headers["location"] == f"https://127.0.0.1{PAGE}"


def test_hsts_arrives_because_quorum_trusts_nginx_s_word_on_https(site):
    answer = request(site, "GET", "/healthz")
    assert answer.status == 200
    assert answer.body == b"ok\n" or answer.body.strip() == b"ok"
    assert answer.headers["strict-transport-security"] == f"max-age={HSTS_SECONDS}"
    # A client that says "http" itself is overwritten by nginx: the request came by HTTPS.
    claimed = request(site, "GET", "/healthz", headers={"X-Forwarded-Proto": "http"})
    assert claimed.headers["strict-transport-security"] == f"max-age={HSTS_SECONDS}"


def test_the_health_checks_answer_through_nginx_and_metrics_do_not(site):
    ready = request(site, "GET", "/readyz")
    assert ready.status == 200, ready.body
    assert ready.json()["status"] == "ready"
    assert request(site, "GET", "/metrics").status == 404


def test_nginx_speaks_http2(site):
    context = ssl.create_default_context(cafile=str(site.certificate))
    context.set_alpn_protocols(["h2", "http/1.1"])
    with (
        socket.create_connection(("127.0.0.1", site.https_port), timeout=TIMEOUT) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        assert tls.selected_alpn_protocol() == "h2"
    curl = shutil.which("curl")
    if curl is None:
        return  # ALPN says it; curl (Debian's, with nghttp2) would also speak it
    result = subprocess.run(
        [
            *(curl, "--silent", "--http2", "--cacert", str(site.certificate)),
            *("--output", "/dev/null", "--write-out", "%{http_version} %{http_code}"),
            f"https://127.0.0.1:{site.https_port}/healthz",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.stdout == "2 200", result.stdout + result.stderr
