"""What a staff session remembers about its sign-in, and the questions views ask of it.

A session is *authenticated* (Django's ``auth.login``) only after both factors: until then it
holds a *pending* sign-in (the user id that gave a right password, and when), which nothing
outside the sign-in views looks at. So ``request.user.is_authenticated`` already implies a
second factor; ``is_verified()`` (django-otp) says which device, and ``VERIFIED_AT`` says when.
"""

from __future__ import annotations

import functools
import time
from typing import Any

from django.conf import settings
from django.contrib import auth
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login
from django_otp.middleware import is_verified as otp_is_verified

# Seconds since the epoch (floats), all set at sign-in.
STARTED_AT = "quorum.accounts.started_at"  # absolute timeout counts from here
LAST_SEEN = "quorum.accounts.last_seen"  # idle timeout counts from here
VERIFIED_AT = "quorum.accounts.verified_at"  # last time a TOTP code was checked
# {"user_id", "backend", "since", "next", "failures", "enrol_key"?} between the two steps.
PENDING = "quorum.accounts.pending"
# Set on the fresh anonymous session when a signed-in one ran out, to say so on the login page.
EXPIRED = "quorum.accounts.expired"

# How long the second step may follow the first (ASVS: one-time codes live ≤ 10 minutes).
PENDING_SECONDS = 10 * 60
# Wrong codes allowed within one pending sign-in before the password is asked for again.
PENDING_MAX_FAILURES = 5
# The idle clock is written at most this often: not one session write per request.
LAST_SEEN_RESOLUTION_SECONDS = 30


def is_verified(user: Any) -> bool:
    """Signed in with both factors (safe for AnonymousUser and users without OTPMiddleware)."""
    if not getattr(user, "is_authenticated", False):
        return False
    check = getattr(user, "is_verified", None)
    return bool(callable(check) and check())


def recently_verified(request: HttpRequest, minutes: float) -> bool:
    """Was a TOTP code checked for this session within the last ``minutes``?"""
    if not is_verified(getattr(request, "user", None)):
        return False
    verified_at = request.session.get(VERIFIED_AT)
    if not isinstance(verified_at, int | float):
        return False
    age = time.time() - verified_at
    return 0 <= age <= minutes * 60


def mark_verified(request: HttpRequest) -> None:
    request.session[VERIFIED_AT] = time.time()


def complete_login(request: HttpRequest, user: Any, device: Any, *, backend: str) -> None:
    """Both factors are right: authenticate the session (new session key) and start its clocks."""
    request.session.pop(PENDING, None)
    auth.login(request, user, backend=backend)  # cycles the session key
    otp_login(request, device)
    # request.user is now the plain user: give it what OTPMiddleware gives, for this request.
    user.is_verified = functools.partial(otp_is_verified, user)
    now = time.time()
    request.session[STARTED_AT] = now
    request.session[LAST_SEEN] = now
    request.session[VERIFIED_AT] = now


def pending_get(request: HttpRequest, *, max_age: float = PENDING_SECONDS) -> dict[str, Any] | None:
    """The pending sign-in, if there is one and it is not older than ``max_age`` seconds."""
    pending = request.session.get(PENDING)
    if not isinstance(pending, dict):
        return None
    since = pending.get("since")
    if not isinstance(since, int | float) or not 0 <= time.time() - since <= max_age:
        request.session.pop(PENDING, None)
        return None
    return pending


def pending_start(request: HttpRequest, user: Any, *, next_url: str) -> None:
    # A new session key at the first step too: a planted session id learns nothing.
    if auth.SESSION_KEY in request.session:
        auth.logout(request)
    request.session.cycle_key()
    request.session[PENDING] = {
        "user_id": user.pk,
        "backend": getattr(user, "backend", settings.AUTHENTICATION_BACKENDS[0]),
        "since": time.time(),
        "next": next_url,
        "failures": 0,
    }


def pending_update(request: HttpRequest, pending: dict[str, Any]) -> None:
    request.session[PENDING] = pending
    request.session.modified = True


def pending_clear(request: HttpRequest) -> None:
    request.session.pop(PENDING, None)


def safe_next(request: HttpRequest, candidate: str | None, default: str) -> str:
    """``candidate`` if it is a path on this site, else ``default``."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default
