"""A burst of parallel guesses against a live server: only the limit is ever checked.

The live server (Django's test server, a thread per request) runs in this process, so the
checks that really ran are counted by wrapping the password backend and the code check. Every
attempt is counted before its credential is checked, with the database as the shared store,
and with Redis when it answers.
"""

from __future__ import annotations

import http.client
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
import redis
from django.contrib.auth.backends import ModelBackend
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.servers.basehttp import ThreadedWSGIServer
from django.test.testcases import LiveServerThread

from quorum.accounts import throttle
from quorum.accounts import views as account_views

REDIS_TEST_URL = os.environ.get("QUORUM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
BURST = 100
LIMIT = 5
THROTTLED = "Too many failed attempts. Please wait"

pytestmark = pytest.mark.slow


class _WideServer(ThreadedWSGIServer):
    # The test server's listen queue is 10: a burst of 100 connections would be reset.
    request_queue_size = 2 * BURST


class _WideServerThread(LiveServerThread):
    server_class = _WideServer


@pytest.fixture
def live_url(transactional_db) -> Iterator[str]:
    """A threaded HTTP server of this process on a free port of 127.0.0.1."""
    thread = _WideServerThread("127.0.0.1", StaticFilesHandler)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait(timeout=30)
    if thread.error:
        raise thread.error
    try:
        yield f"http://127.0.0.1:{thread.port}"
    finally:
        thread.terminate()


class Browser:
    """One cookie jar over plain HTTP/1.1; safe to share between threads once signed in."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "localhost", parts.port or 80
        self.cookies: dict[str, str] = {}
        self._lock = threading.Lock()

    def request(
        self, method: str, path: str, fields: dict[str, str] | None = None
    ) -> tuple[int, str]:
        headers = {"Accept-Language": "en"}
        with self._lock:
            if self.cookies:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if fields is not None:
            body = urlencode(fields)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode()
            for header in response.headers.get_all("Set-Cookie") or []:
                jar = SimpleCookie(header)
                with self._lock:
                    self.cookies.update({name: morsel.value for name, morsel in jar.items()})
            return response.status, text
        finally:
            connection.close()

    def csrf_token(self, path: str) -> str:
        status, text = self.request("GET", path)
        assert status == 200, text[:500]
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text)
        assert match, "no CSRF token on the page"
        return match.group(1)


@pytest.fixture(params=["database", "redis"])
def shared_store(request: pytest.FixtureRequest) -> Iterator[str]:
    """The throttle store every server thread uses: the database, or Redis (own key prefix)."""
    if request.param == "database":
        throttle.reset_throttle_store(throttle.DatabaseThrottleStore())
        yield "database"
        throttle.reset_throttle_store()
        return
    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=0.5, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip(f"no Redis server answers at {REDIS_TEST_URL}")
    prefix = f"quorum-test:{uuid.uuid4().hex}:"
    throttle.reset_throttle_store(throttle.RedisThrottleStore(client, prefix=prefix))
    try:
        yield "redis"
    finally:
        throttle.reset_throttle_store()
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)
        client.close()


@pytest.fixture
def limits(settings: Any) -> Any:
    settings.QUORUM_LOGIN_MAX_FAILURES = LIMIT
    settings.QUORUM_LOGIN_MAX_FAILURES_PER_ADDRESS = 1000
    return settings


def counting(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> Callable[[], int]:
    """Wrap ``owner.name`` so that every call is counted; returns the reader of the count."""
    original = getattr(owner, name)
    calls = [0]
    lock = threading.Lock()

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with lock:
            calls[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapper)
    return lambda: calls[0]


def burst(send: Callable[[int], tuple[int, str]]) -> list[tuple[int, str]]:
    """``BURST`` requests, all in flight at once (as far as the threads allow)."""
    barrier = threading.Barrier(BURST)

    def one(i: int) -> tuple[int, str]:
        barrier.wait(timeout=60)
        return send(i)

    with ThreadPoolExecutor(max_workers=BURST) as pool:
        return list(pool.map(one, range(BURST)))


def test_a_burst_of_wrong_passwords_has_only_the_limit_checked(
    live_url, shared_store, limits, registrar, monkeypatch
) -> None:
    checked = counting(monkeypatch, ModelBackend, "authenticate")
    browser = Browser(live_url)
    token = browser.csrf_token("/account/login/")

    answers = burst(
        lambda i: browser.request(
            "POST",
            "/account/login/",
            {"csrfmiddlewaretoken": token, "username": "registrar", "password": f"wrong {i}"},
        )
    )

    statuses = [status for status, _text in answers]
    assert checked() == LIMIT
    assert statuses.count(422) == LIMIT
    assert statuses.count(429) == BURST - LIMIT
    assert all(THROTTLED in text for status, text in answers if status == 429)


def wrong_codes(user: Any, count: int) -> list[str]:
    """``count`` codes that the user's device accepts at no time near now."""
    from django_otp.oath import hotp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.get(user=user)
    now_t = (int(time.time()) - device.t0) // device.step + device.drift
    near = {
        f"{hotp(device.bin_key, t, digits=device.digits):0{device.digits}d}"
        for t in range(now_t - 10, now_t + 11)
    }
    return [code for code in (f"{i:06d}" for i in range(count + len(near))) if code not in near][
        :count
    ]


def test_a_burst_of_wrong_codes_has_only_the_limit_checked(
    live_url, shared_store, limits, registrar, cast_password, monkeypatch
) -> None:
    browser = Browser(live_url)
    token = browser.csrf_token("/account/login/")
    status, _text = browser.request(
        "POST",
        "/account/login/",
        {"csrfmiddlewaretoken": token, "username": "registrar", "password": cast_password},
    )
    assert status == 302  # half-way: the right password was given back, not counted
    checked = counting(monkeypatch, account_views, "verify_token")
    token = browser.csrf_token("/account/login/verify/")
    codes = wrong_codes(registrar, BURST)

    answers = burst(
        lambda i: browser.request(
            "POST", "/account/login/verify/", {"csrfmiddlewaretoken": token, "code": codes[i]}
        )
    )

    statuses = [status for status, _text in answers]
    # The device's own throttle may turn some of the five away before their code is checked.
    assert 1 <= checked() <= LIMIT
    assert statuses.count(422) == checked()
    assert statuses.count(429) == BURST - checked()
    assert all(THROTTLED in text for status, text in answers if status == 429)
