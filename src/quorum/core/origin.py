"""Refusing forms sent from other sites without a cookie: the browser says where a POST is from.

The anonymous signing form sets no cookie, so it cannot carry Django's CSRF token. Every
browser in use says where a form comes from: ``Sec-Fetch-Site`` (``same-origin``, or ``none``
when the person typed the address), or at least ``Origin``. A POST that either header places on
another site is refused; a request with neither is not a browser's cross-site form (a
browser always sends ``Origin`` on a POST), so it is judged like any other.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from quorum.core.error_pages import csrf_failure

ALLOWED_FETCH_SITES = ("same-origin", "none")


def is_cross_site_post(request: HttpRequest) -> bool:
    if request.method != "POST":
        return False
    fetch_site = request.META.get("HTTP_SEC_FETCH_SITE")
    if fetch_site is not None:
        return fetch_site not in ALLOWED_FETCH_SITES
    origin = request.META.get("HTTP_ORIGIN")
    if origin is None:
        return False
    own = f"{request.scheme}://{request.get_host()}"
    return origin != own and origin not in settings.CSRF_TRUSTED_ORIGINS


View = TypeVar("View", bound=Callable[..., Any])


def same_origin_form(view: View) -> View:
    """An anonymous form's view (async or not), protected by where the browser says the POST
    comes from."""

    def refused(request: HttpRequest) -> HttpResponse | None:
        return csrf_failure(request) if is_cross_site_post(request) else None

    if iscoroutinefunction(view):

        @functools.wraps(view)
        async def checked_async(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            return refused(request) or await view(request, *args, **kwargs)

        return cast(View, csrf_exempt(checked_async))

    @functools.wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return refused(request) or cast(HttpResponse, view(request, *args, **kwargs))

    return cast(View, csrf_exempt(checked))
