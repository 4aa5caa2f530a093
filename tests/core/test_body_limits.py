"""Request bodies are capped before anything reads them: 413, as JSON on the API, as a page elsewhere.

The real server is tested in tests/site/test_http_limits.py; here the two layers alone: the
ASGI wrapper (what Django is handed) and the Django middleware (what is answered).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
from typing import Any

import pytest
from django.test import Client

from quorum.core.limits import TOO_LARGE, BodyLimitASGI, body_limit

STATEMENTS = "/api/v1/initiatives/clean-air/statements"
SIGN_FORM = "/i/clean-air/sign/de/"
CERTIFICATE = "/manage/authority/DE/certificate/"
FIVE_GB = str(5 * 1024**3)


@pytest.fixture
def client() -> Client:
    return Client(raise_request_exception=False)


def assert_413_json(response) -> None:
    assert response.status_code == 413
    assert response["Content-Type"].startswith("application/json")
    errors = response.json()["errors"]
    assert list(errors) == ["__all__"] and errors["__all__"][0]


@pytest.mark.django_db
def test_a_statement_claiming_five_gigabytes_is_refused_with_413_in_the_api_error_shape(
    client,
) -> None:
    response = client.generic(
        "POST", STATEMENTS, b"{}", content_type="application/json", CONTENT_LENGTH=FIVE_GB
    )
    assert_413_json(response)
    assert "Content-Security-Policy" in response


# Without a test transaction: the intake's shared-state and writer threads commit on their own.
@pytest.mark.django_db(transaction=True)
def test_a_statement_one_byte_over_the_limit_is_refused_and_one_at_the_limit_is_read(
    client, settings, collecting_initiative, authority_keys
) -> None:
    limit = settings.QUORUM_BODY_LIMIT
    filler = {"nationality": "PL", "first_names": ""}
    padding = limit - len(json.dumps(filler))
    at_limit = json.dumps({**filler, "first_names": "A" * padding})
    assert len(at_limit) == limit
    response = client.post(STATEMENTS, at_limit, content_type="application/json")
    assert response.status_code == 422  # read and judged: the name is far too long
    assert "first_names" in response.json()["errors"]
    over = json.dumps({**filler, "first_names": "A" * (padding + 1)})
    assert_413_json(client.post(STATEMENTS, over, content_type="application/json"))


@pytest.mark.django_db
def test_a_large_multipart_part_on_the_sign_form_is_refused_with_a_page_in_the_visitors_language(
    client, collecting_initiative
) -> None:
    photo = b"\xff\xd8\xff" + b"\0" * (200 * 1024)
    body = (
        b'--b\r\nContent-Disposition: form-data; name="first_names"; filename="me.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n" + photo + b"\r\n--b--\r\n"
    )
    response = client.generic(
        "POST",
        SIGN_FORM,
        body,
        content_type="multipart/form-data; boundary=b",
        HTTP_ACCEPT_LANGUAGE="de",
    )
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html")
    assert response["Content-Language"] == "de"
    assert '<html lang="de"' in response.content.decode()
    assert "Content-Security-Policy" in response and "Permissions-Policy" in response


@pytest.mark.django_db
def test_the_back_office_takes_a_certificate_sized_upload_but_nothing_much_larger(
    client, settings
) -> None:
    assert settings.QUORUM_BODY_LIMIT_MANAGE == 256 * 1024
    certificate = b"{" + b" " * (200 * 1024) + b"}"

    def upload(content: bytes):
        body = (
            b'--b\r\nContent-Disposition: form-data; name="certificate"; '
            b'filename="certificate.json"\r\nContent-Type: application/json\r\n\r\n'
            + content
            + b"\r\n--b--\r\n"
        )
        return client.generic(
            "POST", CERTIFICATE, body, content_type="multipart/form-data; boundary=b"
        )

    # Anonymous: past the limit, the sign-in requirement answers (not the limit).
    assert upload(certificate).status_code != 413
    assert upload(b" " * (300 * 1024)).status_code == 413


def test_the_limits_are_sixteen_kib_for_the_public_and_more_for_the_back_office() -> None:
    assert body_limit("/api/v1/initiatives/x/statements") == 16 * 1024
    assert body_limit("/i/x/sign/de/") == 16 * 1024
    assert body_limit("/account/login/") == 16 * 1024
    assert body_limit("/manage/authority/DE/certificate/") == 256 * 1024


# --- The ASGI layer: what Django is handed -------------------------------------------------


class Recorder:
    """A stand-in for Django's ASGI handler: reads the body as Django does, then answers."""

    def __init__(self) -> None:
        self.body = b""
        self.scope: dict[str, Any] = {}

    async def __call__(self, scope, receive, send) -> None:
        self.scope = scope
        while True:
            message = await receive()
            self.body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 413, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def run_asgi(headers: list[tuple[bytes, bytes]], chunks: list[bytes], path: str = STATEMENTS):
    app = Recorder()
    pulled = 0
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal pulled
        pulled += 1
        if pulled > len(chunks):
            await asyncio.sleep(3600)
        return {
            "type": "http.request",
            "body": chunks[pulled - 1],
            "more_body": pulled < len(chunks),
        }

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "headers": headers}
    # In a thread of its own: a session's browser (Playwright's sync API) may keep an event
    # loop running in this one, and asyncio.run refuses to start inside a running loop.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(
            asyncio.run, asyncio.wait_for(BodyLimitASGI(app)(scope, receive, send), 5)
        ).result()
    return app, pulled, sent


def test_a_declared_length_over_the_limit_is_never_read_and_the_connection_is_closed() -> None:
    chunks = [b"x" * 65536] * 100
    app, pulled, sent = run_asgi([(b"content-length", FIVE_GB.encode())], chunks)
    assert pulled == 0
    assert app.body == b"" and app.scope[TOO_LARGE] is True
    assert (b"connection", b"close") in sent[0]["headers"]


def test_a_chunked_body_is_read_only_up_to_the_limit() -> None:
    chunks = [b"x" * 4096] * 1000  # 4 MB without a Content-Length
    app, pulled, _ = run_asgi([], chunks)
    assert app.scope[TOO_LARGE] is True
    assert pulled <= 16 * 1024 // 4096 + 1
    assert len(app.body) <= 16 * 1024


def test_a_body_within_the_limit_reaches_django_whole() -> None:
    chunks = [b'{"nationality": ', b'"PL"}']
    app, _, sent = run_asgi([(b"content-length", b"21")], chunks)
    assert app.body == b'{"nationality": "PL"}'
    assert TOO_LARGE not in app.scope
    assert all(name != b"connection" for name, _ in sent[0]["headers"])
