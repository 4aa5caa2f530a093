"""Calling an ASGI application in process, as a server would, with a real event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connections


@dataclass
class AsgiAnswer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def text(self) -> str:
        return self.body.decode()


def _scope(
    method: str,
    path: str,
    headers: dict[str, str],
    query: str,
    client: tuple[str, int] | None = ("203.0.113.7", 50000),
) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
        "client": client,
        "server": ("127.0.0.1", 8000),
    }


async def _call(app: Any, scope: dict[str, Any], body: bytes) -> AsgiAnswer:
    sent = False
    answer = AsgiAnswer(status=0)
    finished = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer.status = message["status"]
            for name, value in message.get("headers", []):
                key = name.decode("latin-1").lower()
                text = value.decode("latin-1")
                answer.headers[key] = (
                    f"{answer.headers[key]}, {text}" if key in answer.headers else text
                )
        elif message["type"] == "http.response.body":
            answer.body += message.get("body", b"")
            if not message.get("more_body", False):
                finished.set()

    await app(scope, receive, send)
    return answer


AsgiCall = Callable[..., AsgiAnswer]


@pytest.fixture(autouse=True)
def _sync_thread_connections_closed() -> Iterator[None]:
    """Close the database connections of asgiref's one thread for sync code after each test.

    Outside Django's ASGI handler (the fast path, its copies), ``sync_to_async`` runs in one
    thread for the whole process; no request's end closes its connection there (on PostgreSQL
    it stays out of the pool), and it would keep the test database from being dropped.
    """
    yield

    def close() -> None:
        asyncio.run(sync_to_async(connections.close_all, thread_sensitive=True)())

    thread = threading.Thread(target=close)
    thread.start()
    thread.join(30)


@pytest.fixture
def asgi_call() -> AsgiCall:
    """``asgi_call(app, "POST", path, headers={...}, body=b"...")`` → the answer.

    ``client=("10.0.0.1", 4711)`` is the connection's peer (``203.0.113.7`` by default).

    Each call runs in its own thread with its own event loop: the browser tests keep one
    running in the main thread for the whole session.
    """

    def call(
        app: Any,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        query: str = "",
        client: tuple[str, int] | None = ("203.0.113.7", 50000),
    ) -> AsgiAnswer:
        result: list[AsgiAnswer] = []
        errors: list[BaseException] = []
        all_headers = {"host": "127.0.0.1", **(headers or {})}
        if body:
            all_headers.setdefault("content-length", str(len(body)))

        def run() -> None:
            try:
                result.append(
                    asyncio.run(_call(app, _scope(method, path, all_headers, query, client), body))
                )
            except BaseException as exc:  # re-raised in the test's thread
                errors.append(exc)

        thread = threading.Thread(target=run)
        thread.start()
        thread.join(60)
        if errors:
            raise errors[0]
        return result[0]

    return call
