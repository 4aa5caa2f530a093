"""nginx's error log keeps no client address in normal operation (docs/deploy.md, step 6).

A real nginx with the site of deploy/nginx/quorum.conf.in, rendered with step 6's command
(bench/deployment.py reads it from the guide), in front of a web host that is gone: nothing
listens on its port, so every request that reaches the proxy's upstream gets a 502 and every
POST past the rate limit a 429. At nginx's default level both write a line with
``client: <address>``; the site's log must not. The client comes from its own loopback
address (all of 127.0.0.0/8 is loopback on Linux), which appears nowhere else in the set-up.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import deployment  # noqa: E402

pytestmark = pytest.mark.slow

CLIENT = "127.0.0.77"
STATEMENTS = "/api/v1/initiatives/ban-biometric-mass-surveillance/statements"
TIMEOUT = 15.0


def _nginx() -> str | None:
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")


def _nginx_version() -> tuple[int, ...]:
    nginx = _nginx()
    assert nginx is not None
    said = subprocess.run([nginx, "-v"], capture_output=True, text=True, timeout=30).stderr
    return tuple(int(part) for part in said.split("nginx/")[1].split()[0].split("."))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM first, so that nginx's master reaps its worker; then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
            return


@dataclass
class Proxy:
    https_port: int
    certificate: Path
    site_log: Path
    main_log: Path

    def logs(self) -> str:
        """Everything nginx wrote: the site's ERROR_LOG and the http block's own log."""
        return "".join(path.read_text(errors="replace") for path in (self.site_log, self.main_log))


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[Proxy]:
    """A fresh nginx for each test, so that its logs hold that test's lines only."""
    nginx = _nginx()
    if nginx is None or shutil.which("openssl") is None:
        pytest.skip(
            "nginx or openssl is not installed (bash scripts/setup.sh --test installs both)"
        )
    work = tmp_path
    (work / "temp").mkdir()
    key, certificate = work / "tls.key", work / "tls.pem"
    subprocess.run(
        deployment.certificate_command("127.0.0.1", key, certificate),
        check=True,
        capture_output=True,
        timeout=60,
    )
    https_port, http_port, gone = _free_port(), _free_port(), _free_port()
    site_log, main_log = work / "quorum-error.log", work / "error.log"
    rendered = subprocess.run(
        deployment.render_command(
            {
                "SERVER_NAME": "127.0.0.1",
                "HTTPS_LISTEN": f"127.0.0.1:{https_port}",
                "HTTP_LISTEN": f"127.0.0.1:{http_port}",
                "UPSTREAM": f"127.0.0.1:{gone}",
                "CACHE_DIR": str(work / "cache"),
                "ERROR_LOG": str(site_log),
                "CERTIFICATE": str(certificate),
                "CERTIFICATE_KEY": str(key),
            }
        ),
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    process = deployment.start_nginx(nginx, work, rendered, main_log)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, main_log.read_text(errors="replace")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", https_port), timeout=2),
            ):
                break
            assert time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.2)
        yield Proxy(https_port, certificate, site_log, main_log)
    finally:
        _stop(process)


def request(proxy: Proxy, method: str, path: str, body: bytes | None = None) -> int:
    """The status nginx answers a request from ``CLIENT``, on a fresh connection."""
    context = ssl.create_default_context(cafile=str(proxy.certificate))
    connection = http.client.HTTPSConnection(
        "127.0.0.1",
        proxy.https_port,
        context=context,
        timeout=TIMEOUT,
        source_address=(CLIENT, 0),
    )
    try:
        connection.request(method, path, body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def client_hello_with_a_broken_key_share() -> bytes:
    """A TLS 1.3 ClientHello whose P-256 key share is no point of the curve."""
    extensions = b"".join(
        struct.pack("!HH", kind, len(data)) + data
        for kind, data in (
            (0x002B, b"\x02\x03\x04"),  # supported_versions: TLS 1.3
            (0x000A, b"\x00\x02\x00\x17"),  # supported_groups: secp256r1
            (0x000D, b"\x00\x04\x04\x03\x08\x04"),  # signature_algorithms
            (0x0033, struct.pack("!HHH", 69, 0x0017, 65) + b"\x04" + bytes(64)),  # key_share
        )
    )
    body = (
        b"\x03\x03"
        + os.urandom(32)
        + b"\x20"
        + os.urandom(32)
        + b"\x00\x02\x13\x01"  # TLS_AES_128_GCM_SHA256
        + b"\x01\x00"
        + struct.pack("!H", len(extensions))
        + extensions
    )
    handshake = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(handshake)) + handshake


def test_rate_limited_requests_and_a_dead_web_host_leave_no_client_address_in_the_logs(proxy):
    statements = [request(proxy, "POST", STATEMENTS, b"{}") for _ in range(24)]
    sign_in = [request(proxy, "POST", "/account/login/", b"a=b") for _ in range(8)]
    page = request(proxy, "GET", "/")
    too_big = request(proxy, "POST", STATEMENTS, b"x" * (16 * 1024 + 1))
    # nginx did refuse (429), and did meet a web host that is gone (502) …
    assert 429 in statements and 502 in statements, statements
    assert 429 in sign_in and 502 in sign_in, sign_in
    assert page == 502
    assert too_big in (413, 429)
    # … and wrote none of it down: at `error`, each was a line with "client: 127.0.0.77".
    assert proxy.site_log.exists()  # nginx opened the site's log: it would have written there
    logs = proxy.logs()
    assert CLIENT not in logs, logs
    assert "client:" not in logs, logs


def test_a_tls_error_nginx_counts_as_critical_is_the_one_line_with_an_address(proxy):
    # What the site's log still keeps (docs/deploy.md, step 6): nginx 1.22 (Debian 12) does
    # not know a broken key share for a client's doing and logs it at `crit`; from 1.23.1 on
    # it is `info`, and nothing is written.
    with socket.create_connection(
        ("127.0.0.1", proxy.https_port), timeout=TIMEOUT, source_address=(CLIENT, 0)
    ) as raw:
        raw.sendall(client_hello_with_a_broken_key_share())
        with contextlib.suppress(OSError):
            raw.recv(4096)  # nginx's alert, then it closes
    time.sleep(0.2)
    lines = [line for line in proxy.site_log.read_text().splitlines() if CLIENT in line]
    if _nginx_version() < (1, 23, 1):
        assert len(lines) == 1, lines
        assert "[crit]" in lines[0] and "bad ecpoint" in lines[0]
        assert f"client: {CLIENT}" in lines[0]
    else:
        assert lines == []
    assert CLIENT not in proxy.main_log.read_text(errors="replace")
