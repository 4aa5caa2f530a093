"""An ASGI application in front of Django's that answers the statement POSTs itself.

Django's ASGI handler runs every request through the whole middleware stack (sessions,
authentication, CSRF, messages …), which a statement does not need, and through a thread for
each sync middleware. Here the two statement POSTs, and the proof-of-work challenge each
signatory fetches first, skip that: a request object is built from the scope, the checks that
matter for them run (host, HTTPS redirect, body limits, language), the same view or API
function Django would call answers, and the response gets the headers Django's stack would
give it, from the same middleware code. The GETs a watching crowd sends (counts, checkpoint,
an initiative's page) are answered from copies of Django's own answers by
``quorum.fastpath.reads``. Any other request goes to Django unchanged.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest
from django.core.handlers.exception import response_for_exception
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.locale import LocaleMiddleware
from django.middleware.security import SecurityMiddleware
from django.utils import translation
from django.utils.cache import patch_vary_headers

from quorum.api.statements import created_body, created_response, statement_post
from quorum.api.v1 import pow_challenge_get
from quorum.core.error_pages import domain_error_page, error_response
from quorum.core.errors import DomainError
from quorum.core.limits import ASGIApp, Receive, RequestLimitsMiddleware, Scope, Send
from quorum.core.middleware import apply_security_headers
from quorum.core.proxies import forget_untrusted_headers
from quorum.fastpath import ceiling, reads
from quorum.signing.services import Receipt
from quorum.signing.views import sign_form

CONNECTION_CHECK_INTERVAL = 1.0

#: A handler answers, or (the statement API) gives the receipt, whose 201 is sent from here.
Handler = Callable[..., Awaitable[HttpResponse | Receipt]]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    #: A page shows whether someone is signed in (Django then reads the session): it varies
    #: by cookie there, and so here.
    page: bool


#: path → the function Django's URLconf maps it to (the same converters).
ROUTES = (
    Route(
        "POST",
        re.compile(r"/api/v1/initiatives/(?P<slug>[-a-zA-Z0-9_]+)/statements"),
        statement_post,
        False,
    ),
    Route(
        "POST",
        re.compile(r"/i/(?P<slug>[-a-zA-Z0-9_]+)/sign/(?P<member_state>[^/]+)/"),
        sign_form,
        True,
    ),
    # What every signatory asks for just before signing, with proof of work on.
    Route("GET", re.compile(r"/api/v1/pow/challenge"), pow_challenge_get, False),
)


def _no_view(request: HttpRequest) -> HttpResponse:
    raise AssertionError("the fast path calls its handlers itself")


# Django's own middleware code, so that a response here has the headers it would have there.
_security = SecurityMiddleware(_no_view)
_limits = RequestLimitsMiddleware(_no_view)
_locale = LocaleMiddleware(_no_view)
_frame_options = XFrameOptionsMiddleware(_no_view)


def _has_session(scope: Scope) -> bool:
    name = f"{settings.SESSION_COOKIE_NAME}=".encode()
    return any(key == b"cookie" and name in value for key, value in scope.get("headers", ()))


def route(scope: Scope) -> tuple[Route, dict[str, str]] | None:
    """The route of a statement POST (or a challenge) from someone not signed in; None sends
    it to Django."""
    if scope.get("type") != "http" or _has_session(scope):
        return None
    method, path = scope.get("method"), scope.get("path", "")
    for candidate in ROUTES:
        if candidate.method != method:
            continue
        match = candidate.pattern.fullmatch(path)
        if match is not None:
            return candidate, match.groupdict()
    return None


async def read_body(receive: Receive) -> bytes | None:
    """The whole body (the body limit in front has cut it to size); None if the client left."""
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message.get("type") != "http.request":
            return None
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)


def _finish(request: HttpRequest, response: HttpResponse, *, page: bool) -> HttpResponse:
    # Each sets headers on the response it is given and returns that same response.
    _security.process_response(request, response)
    apply_security_headers(response)  # what SecurityHeadersMiddleware adds
    _locale.process_response(request, response)
    _frame_options.process_response(request, response)
    if page:
        patch_vary_headers(response, ("Cookie",))
    return response


Headers = list[tuple[bytes, bytes]]


class FinishedHeaders:
    """The headers of a response once Django's middleware has been through it, by shape.

    What that code adds depends only on the response's status and own headers, on whether the
    request came over HTTPS and on its language (and, for a 404, on its path): so it runs once
    for each such shape, and every later response of that shape gets the same headers, in the
    same order, without running it again (a statement's 201 is one shape per language).
    """

    MAX_SHAPES = 512

    def __init__(self) -> None:
        self._known: dict[tuple[object, ...], Headers] = {}

    def __call__(self, request: HttpRequest, response: HttpResponse, *, page: bool) -> Headers:
        if response.cookies or response.streaming or response.status_code == 404:
            return _encoded(_finish(request, response, page=page))
        shape = (
            response.status_code,
            tuple(response.items()),
            request.is_secure(),
            getattr(request, "LANGUAGE_CODE", None),
            page,
            getattr(response, "xframe_options_exempt", False),
        )
        return self._of_shape(shape, request, lambda: response, page=page)

    def created(self, request: HttpRequest, receipt: Receipt) -> Headers:
        """The headers of the statement's 201 (:func:`created_response`), which has one shape
        per language and scheme: found without making the response."""
        shape = ("created", request.is_secure(), getattr(request, "LANGUAGE_CODE", None))
        return self._of_shape(shape, request, lambda: created_response(receipt), page=False)

    def _of_shape(
        self,
        shape: tuple[object, ...],
        request: HttpRequest,
        response: Callable[[], HttpResponse],
        *,
        page: bool,
    ) -> Headers:
        headers = self._known.get(shape)
        if headers is None:
            headers = _encoded(_finish(request, response(), page=page))
            if len(self._known) < self.MAX_SHAPES:
                self._known[shape] = headers
        return headers


def _encoded(response: HttpResponse) -> Headers:
    # As Django's ASGI handler encodes them (the cookies are for the shapes not remembered).
    headers = [(name.encode("ascii"), value.encode("latin1")) for name, value in response.items()]
    for cookie in response.cookies.values():
        headers.append((b"Set-Cookie", cookie.output(header="").encode("ascii").strip()))
    return headers


finished_headers = FinishedHeaders()


async def answer(
    request: HttpRequest, found: Route, kwargs: dict[str, str]
) -> tuple[int, Headers, bytes]:
    """What Django's stack would answer, without the middleware a statement does not need:
    the status, the headers and the body."""
    with translation.override(translation.get_language_from_request(request)):
        request.LANGUAGE_CODE = translation.get_language()
        outcome = await _respond(request, found, kwargs)
        if isinstance(outcome, Receipt):
            return 201, finished_headers.created(request, outcome), created_body(outcome)
        headers = finished_headers(request, outcome, page=found.page)
        return outcome.status_code, headers, outcome.content


async def _respond(
    request: HttpRequest, found: Route, kwargs: dict[str, str]
) -> HttpResponse | Receipt:
    forget_untrusted_headers(request.META)  # what TrustedProxyMiddleware does, first
    early = _security.process_request(request) or _limits.before(request)
    if early is not None:
        return early
    try:
        request.get_host()  # ALLOWED_HOSTS, as CommonMiddleware checks it
        return await found.handler(request, **kwargs)
    except DisallowedHost:
        return error_response(request, 400)
    except DomainError as exc:
        return domain_error_page(request, exc)
    except Exception as exc:
        # Http404, PermissionDenied …, and the 500 page with the error logged, as Django.
        return await sync_to_async(response_for_exception)(request, exc)


class FastPath:
    """``FastPath(django_application)``: the statement POSTs here, the rest to Django."""

    def __init__(self, django: ASGIApp) -> None:
        self.django = django
        self._connections_checked = 0.0
        self.reads = reads.Reads(django)

    async def _check_connections(self) -> None:
        """What Django does at every request, once a second: drop stale or broken connections.

        The views here reach the database on the thread that ``sync_to_async`` shares; without
        this its connection would never be checked after a database restart.
        """
        now = time.monotonic()
        if now - self._connections_checked >= CONNECTION_CHECK_INTERVAL:
            self._connections_checked = now
            await sync_to_async(close_old_connections)()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if settings.QUORUM_BENCH_CEILING and scope.get("path") == ceiling.PATH:
            await ceiling.ceiling(scope, receive, send, settings.QUORUM_BENCH_CEILING)
            return
        if reads.taken(scope):  # what a watching crowd reads, from memory
            await self.reads(scope, receive, send)
            return
        found = route(scope)
        if found is None:
            await self.django(scope, receive, send)
            return
        body = await read_body(receive)
        if body is None:
            return
        await self._check_connections()
        request = ASGIRequest(scope, io.BytesIO(body))
        status, headers, content = await answer(request, *found)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})
