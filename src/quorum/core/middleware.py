"""Response headers that keep every page self-contained (nothing is loaded from a third party)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse, HttpResponseBase

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)


def content_security_policy(*, frame_ancestors: str) -> str:
    """The policy of a page that other sites may frame: ``*``, or the origins listed for it."""
    return CONTENT_SECURITY_POLICY.replace(
        "frame-ancestors 'none'", f"frame-ancestors {frame_ancestors}"
    )


# Quorum never asks for a photo, a fingerprint or a voice: no page may open a camera or a microphone.
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), interest-cohort=()"


_Response = TypeVar("_Response", bound=HttpResponseBase)


def apply_security_headers(response: _Response) -> _Response:
    """The headers every response carries; a view may have set its own (the framed counter)."""
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    return response


class HybridMiddleware:
    """A middleware that runs in the mode of the chain: no switch to a thread under ASGI.

    Subclasses override ``before`` (return a response to answer the request at once) and
    ``after``; both run in the event loop under ASGI, so they must do no I/O.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self._is_async = iscoroutinefunction(get_response)
        if self._is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self._is_async:
            return self._acall(request)
        early = self.before(request)
        if early is not None:
            return early
        return self.after(request, self.get_response(request))

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        early = self.before(request)
        if early is not None:
            return early
        return self.after(request, await self.get_response(request))

    def before(self, request: HttpRequest) -> HttpResponse | None:
        return None

    def after(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        return response


class SecurityHeadersMiddleware(HybridMiddleware):
    def after(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        return apply_security_headers(response)
