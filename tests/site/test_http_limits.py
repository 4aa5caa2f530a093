"""Over real HTTP: oversized bodies are refused at once, unread; bad forms never reach a 500.

One ``quorum serve`` (granian, ASGI) on the demo data for the whole module. Requests are
written on raw sockets, so that a client can claim 5 GB and keep sending while it waits.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.own_database]

SLUG = "ban-biometric-mass-surveillance"
STATEMENTS = f"/api/v1/initiatives/{SLUG}/statements"
SIGN_FORM = f"/i/{SLUG}/sign/de/"
# Well under the time it would take to read the bodies these tests offer.
FAST = 3.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QUORUM_", "DATABASE_URL"))}
    env.update(QUORUM_DATA_DIR=str(data_dir), QUORUM_LOG_LEVEL="error", QUORUM_DEBUG="off")
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("REDIS_URL", None)
    return env


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[int]:
    data_dir = tmp_path_factory.mktemp("limits")
    setup = subprocess.run(
        [sys.executable, "-m", "quorum.cli", "demo", "--no-serve"],
        env=environment(data_dir),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert setup.returncode == 0, setup.stdout + setup.stderr
    port = free_port()
    log = (data_dir / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "quorum.cli", "serve", "--port", str(port), "--no-sequencer"],
        env=environment(data_dir),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (data_dir / "server.log").read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        yield port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        log.close()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float
    closed: bool  # the server ended the connection after answering


def exchange(
    port: int, head: str, *, pump: bytes = b"", pump_total: int = 0, timeout: float = 10.0
) -> Answer:
    """Send ``head``, then ``pump`` again and again (up to ``pump_total`` bytes) from a thread
    while reading the answer, as a client that keeps uploading would."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    started = time.monotonic()
    sock.sendall(head.encode("latin-1"))

    def upload() -> None:
        sent = 0
        with contextlib.suppress(OSError):
            while sent < pump_total:
                sock.sendall(pump)
                sent += len(pump)

    uploader = threading.Thread(target=upload, daemon=True)
    uploader.start()
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            part = sock.recv(65536)
            if not part:
                break
            data += part
        seconds = time.monotonic() - started
        raw_head, _, body = data.partition(b"\r\n\r\n")
        lines = raw_head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1]) if lines[0] else 0
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines[1:])
        }
        length = 0 if head.startswith("HEAD ") else int(headers.get("content-length", "0"))
        while len(body) < length:
            part = sock.recv(65536)
            if not part:
                break
            body += part
        closed = False
        with contextlib.suppress(OSError):
            sock.settimeout(FAST)
            closed = sock.recv(1) == b""
        return Answer(status, headers, body, seconds, closed)
    finally:
        sock.close()
        uploader.join(timeout=5)


def post_head(path: str, content_type: str, length: int | None) -> str:
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Language: fr\r\n"
        f"Content-Type: {content_type}\r\n{framing}\r\n\r\n"
    )


def assert_api_413(answer: Answer) -> None:
    assert answer.status == 413, answer
    assert answer.headers["content-type"].startswith("application/json")
    assert list(json.loads(answer.body)["errors"]) == ["__all__"]
    assert answer.seconds < FAST, answer.seconds
    assert answer.closed, "the connection stayed open to read the rest"


def test_a_statement_claiming_five_gigabytes_gets_413_at_once(server) -> None:
    answer = exchange(
        server,
        post_head(STATEMENTS, "application/json", 5 * 1024**3),
        pump=b"{" * 65536,
        pump_total=4 * 1024**2,
    )
    assert_api_413(answer)
    assert "content-security-policy" in answer.headers


def test_a_chunked_statement_without_length_is_cut_off_at_the_limit(server) -> None:
    chunk = b"10000\r\n" + b" " * 0x10000 + b"\r\n"
    answer = exchange(
        server, post_head(STATEMENTS, "application/json", None), pump=chunk, pump_total=64 * 1024**2
    )
    assert_api_413(answer)


def test_a_hundred_megabyte_file_on_the_sign_form_gets_a_413_page_at_once(server) -> None:
    part = (
        '--b\r\nContent-Disposition: form-data; name="first_names"; filename="me.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    )
    answer = exchange(
        server,
        post_head(SIGN_FORM, "multipart/form-data; boundary=b", 100 * 1024**2) + part,
        pump=b"\xff" * 65536,
        pump_total=8 * 1024**2,
    )
    assert answer.status == 413
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["content-language"] == "fr"
    assert b'<html lang="fr"' in answer.body
    assert "camera=()" in answer.headers["permissions-policy"]
    assert answer.seconds < FAST and answer.closed


def test_a_burst_of_oversized_requests_all_get_413_and_the_server_stays_up(server) -> None:
    def one(i: int) -> Answer:
        path, content_type = (
            (STATEMENTS, "application/json")
            if i % 2
            else (SIGN_FORM, "application/x-www-form-urlencoded")
        )
        return exchange(
            server, post_head(path, content_type, 1024**3), pump=b"a" * 65536, pump_total=256 * 1024
        )

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=64) as pool:
        answers = list(pool.map(one, range(80)))
    assert [a.status for a in answers] == [413] * 80
    assert time.monotonic() - started < 20
    with urllib.request.urlopen(f"http://127.0.0.1:{server}/", timeout=10) as page:
        assert page.status == 200


def test_a_form_in_utf16_over_real_http_is_a_400_page_with_the_security_headers(server) -> None:
    # The real CSRF check reads the form: it used to fail on the encoding, then fail again
    # in the error page, and end in a bare 500.
    with urllib.request.urlopen(f"http://127.0.0.1:{server}/account/login/", timeout=10) as page:
        cookie = page.headers["Set-Cookie"].split(";", 1)[0]
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.read()).group(1)
    body = b"csrfmiddlewaretoken=" + token + b"&first_names=Anna"
    for charset in ("utf-16", "nope"):
        answer = exchange(
            server,
            f"POST {SIGN_FORM} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
            f"Referer: http://127.0.0.1:{server}/\r\nAccept-Language: fr\r\n"
            f"Content-Type: application/x-www-form-urlencoded; charset={charset}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n" + body.decode(),
        )
        assert answer.status == 400, (charset, answer.status)
        assert "content-security-policy" in answer.headers
        assert "camera=()" in answer.headers["permissions-policy"]
        assert b'<html lang="fr"' in answer.body


def test_head_on_a_public_read_answers_the_get_headers_without_a_body(server) -> None:
    for path in ("/api/v1/log-key", f"/api/v1/initiatives/{SLUG}/counts", "/api/v1/initiatives"):
        get = exchange(
            server, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        head = exchange(
            server, f"HEAD {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        assert (get.status, head.status) == (200, 200), path
        assert head.headers["content-type"] == get.headers["content-type"], path
        assert head.headers.get("content-length") == str(len(get.body)), path
        assert head.body == b"", path
