"""Guards for staff views: signed in with both factors, recently re-verified, holding a role.

Function views::

    @login_and_2fa_required
    def dashboard(request): ...

    @require_recent_verification(minutes=10)
    def rotate_key(request): ...

    @role_required(REGISTRAR)
    def decide(request): ...

A guarded view may annotate its request as ``AuthenticatedHttpRequest``: ``request.user``
is then a ``User`` for the type checker, as the guard makes it at run time.

A browser is redirected (to sign in, or to confirm a fresh code); a request that asks for
JSON only (``Accept: application/json``, no ``text/html``) gets a 401 (or 403) with
``{"errors": {"__all__": [message]}}``. Async views are supported.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from quorum.accounts.roles import user_roles
from quorum.accounts.session import is_verified, recently_verified

__all__ = [
    "AuthenticatedHttpRequest",
    "login_and_2fa_required",
    "recently_verified",
    "require_recent_verification",
    "role_required",
    "wants_json",
]

NOT_SIGNED_IN = _("Sign in with your password and your authenticator code to continue.")
REAUTH_NEEDED = _("Confirm it is you: enter your password and a fresh authenticator code.")
FORBIDDEN = _("Your account does not have the role needed for this page.")
DEFAULT_REAUTH_MINUTES = 10

View = Callable[..., Any]


class AuthenticatedHttpRequest(HttpRequest):
    """The request of a view behind one of these guards, which let only a signed-in user in.

    An annotation only: the guard is what makes it true, nothing checks it. For guarded views
    (and helpers only they call) that need ``request.user`` to be a ``User``.
    """

    user: User


def wants_json(request: HttpRequest) -> bool:
    """An API-ish request: it accepts JSON and does not ask for a web page."""
    accept = request.headers.get("Accept", "").lower()
    return "application/json" in accept and "text/html" not in accept


def _json_error(message: Any, status: int) -> JsonResponse:
    return JsonResponse({"errors": {"__all__": [str(message)]}}, status=status)


def _sign_in(request: HttpRequest) -> HttpResponse:
    if wants_json(request):
        return _json_error(NOT_SIGNED_IN, 401)
    return redirect_to_login(request.get_full_path(), resolve_url(settings.LOGIN_URL))


def _reauth(request: HttpRequest) -> HttpResponse:
    if wants_json(request):
        return _json_error(REAUTH_NEEDED, 401)
    query = urlencode({"next": request.get_full_path()})
    return HttpResponseRedirect(f"{reverse('accounts:reauth')}?{query}")


def _forbidden(request: HttpRequest) -> HttpResponse:
    if wants_json(request):
        return _json_error(FORBIDDEN, 403)
    raise PermissionDenied(FORBIDDEN)


def _guard(check: Callable[[HttpRequest], HttpResponse | None]) -> Callable[[View], View]:
    """Turn ``check`` (None = let through, else the response) into a decorator."""

    def decorator(view: View) -> View:
        if iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                # The session and the user are loaded from the database: not on the event loop.
                refusal = await sync_to_async(check)(request)
                if refusal is not None:
                    return refusal
                return await view(request, *args, **kwargs)

            return async_wrapped

        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            refusal = check(request)
            if refusal is not None:
                return refusal
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _check_signed_in(request: HttpRequest) -> HttpResponse | None:
    return None if is_verified(request.user) else _sign_in(request)


def login_and_2fa_required(view: View) -> View:
    """The user is signed in with a password and a verified TOTP code."""
    return _guard(_check_signed_in)(view)


def require_recent_verification(
    view: View | float | None = None, *, minutes: float = DEFAULT_REAUTH_MINUTES
) -> Any:
    """A TOTP code was checked within ``minutes`` (default 10), else ask for a fresh one.

    Use as ``@require_recent_verification(minutes=5)``, ``@require_recent_verification()``
    or bare ``@require_recent_verification``. Implies ``login_and_2fa_required``.
    """
    if isinstance(view, int | float) and not isinstance(view, bool):
        minutes, view = float(view), None

    def check(request: HttpRequest) -> HttpResponse | None:
        refusal = _check_signed_in(request)
        if refusal is not None:
            return refusal
        return None if recently_verified(request, minutes) else _reauth(request)

    decorator = _guard(check)
    return decorator(view) if callable(view) else decorator


def role_required(*roles: str) -> Callable[[View], View]:
    """Signed in with both factors and holding at least one of ``roles`` (else 403)."""

    def check(request: HttpRequest) -> HttpResponse | None:
        refusal = _check_signed_in(request)
        if refusal is not None:
            return refusal
        return None if user_roles(request.user) & set(roles) else _forbidden(request)

    return _guard(check)
