"""Request bodies: small, and in UTF-8, or refused before anything reads them.

Two layers, because under ASGI Django reads the whole body (into a temporary file) before
the first middleware runs:

* :class:`BodyLimitASGI` wraps the ASGI application. A body whose ``Content-Length`` is over
  the limit of its path is never read; a body without a length (chunked) is read only up to
  the limit. Django then gets an empty body and a mark in the scope, and the connection is
  closed after the answer, so the rest of the body is never read either.
* :class:`RequestLimitsMiddleware`, first among Django's middlewares that can read a body,
  answers 413 for such a request (also under WSGI, where the body is read lazily), and 400
  for a form sent in another encoding than UTF-8, which Django cannot decode.

The limits per path are settings: ``QUORUM_BODY_LIMIT_MANAGE`` for the back office under
``/manage/`` (certificate uploads), ``QUORUM_BODY_LIMIT`` for everything else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.http import parse_header_parameters
from django.utils.translation import gettext_lazy as _

from quorum.core.error_pages import error_response, is_api_request
from quorum.core.middleware import HybridMiddleware

# As Django's ASGIHandler takes them: the scope is a dict, and a message sent may be any
# mapping.
Scope = dict[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MANAGE_PREFIX = "/manage/"
#: Set in the ASGI scope when a body was cut off: the Django middleware answers 413.
TOO_LARGE = "quorum.body_too_large"
# Content types whose bodies Django decodes itself (request.POST).
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

BAD_CHARSET = _("The form was not sent in UTF-8. Reload the page and send it again.")


def body_limit(path: str) -> int:
    """The largest body, in bytes, that a request to ``path`` may carry."""
    if path.startswith(MANAGE_PREFIX):
        return settings.QUORUM_BODY_LIMIT_MANAGE
    return settings.QUORUM_BODY_LIMIT


def _declared_length(value: str | bytes | None) -> int | None:
    """``Content-Length`` as a number; None if absent or not a number (the server refuses those)."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    return int(text) if text.isdigit() else None


class BodyLimitASGI:
    """ASGI middleware: read no more of a body than its path allows."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        scope = dict(scope)
        limit = body_limit(scope.get("path", ""))
        declared = _declared_length(
            next((v for k, v in scope.get("headers", ()) if k.lower() == b"content-length"), None)
        )
        refused = declared is not None and declared > limit
        if refused:
            scope[TOO_LARGE] = True
        ended = False  # Django has been given the end of the body
        received = 0

        async def limited_receive() -> Message:
            nonlocal ended, received, refused
            if ended:
                if refused:
                    # Django listens for a disconnect after the body; the rest of a refused
                    # body stays unread, and the listener is cancelled once the 413 is sent.
                    return await _forever()
                return await receive()
            if refused:
                ended = True
                return {"type": "http.request", "body": b"", "more_body": False}
            message = await receive()
            if message.get("type") != "http.request":
                return message
            received += len(message.get("body", b""))
            if received > limit:
                refused = ended = True
                scope[TOO_LARGE] = True
                return {"type": "http.request", "body": b"", "more_body": False}
            ended = not message.get("more_body", False)
            return message

        async def closing_send(message: Mapping[str, Any]) -> None:
            if refused and message.get("type") == "http.response.start":
                # The client may still be sending: end the connection rather than read on.
                headers = [
                    (k, v) for k, v in message.get("headers", ()) if k.lower() != b"connection"
                ]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, limited_receive, closing_send)


async def _forever() -> Message:
    await asyncio.Event().wait()
    raise AssertionError("an event nobody sets was set")


class RequestLimitsMiddleware(HybridMiddleware):
    """413 for a body over the limit, 400 for a form that is not UTF-8; before anything reads it."""

    def before(self, request: HttpRequest) -> HttpResponse | None:
        scope = getattr(request, "scope", None)
        declared = _declared_length(request.META.get("CONTENT_LENGTH"))
        too_large = (isinstance(scope, dict) and scope.get(TOO_LARGE)) or (
            declared is not None and declared > body_limit(request.path)
        )
        if too_large:
            return error_response(request, 413)
        if not is_api_request(request) and not _utf8_form(request):
            return error_response(request, 400, message=BAD_CHARSET)
        return None


def _utf8_form(request: HttpRequest) -> bool:
    """False for a form body that declares any charset but UTF-8 (Django decodes only UTF-8)."""
    content_type, params = parse_header_parameters(request.META.get("CONTENT_TYPE", ""))
    if content_type not in FORM_TYPES or "charset" not in params:
        return True
    return params["charset"].strip().lower() == "utf-8"
