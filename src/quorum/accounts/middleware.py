"""Ends staff sessions: idle too long, open too long, or no longer backed by a second factor.

Installed after ``AuthenticationMiddleware`` and django-otp's ``OTPMiddleware``. A session ends
(``auth.logout``: data flushed, new key) when

* no request came for ``QUORUM_SESSION_IDLE_SECONDS`` (default 30 minutes),
* sign-in was more than ``QUORUM_SESSION_ABSOLUTE_SECONDS`` ago (default 8 hours),
* it was not opened by the two-step sign-in (no clocks: e.g. ``client.force_login``), or
* its TOTP device is gone (an operator reset the second factor).

Requests without a session cookie (the public, signatories) are not touched: no session
load, and no switch to a thread under ASGI.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib import auth
from django.http import HttpRequest, HttpResponse

from quorum.accounts.session import (
    EXPIRED,
    LAST_SEEN,
    LAST_SEEN_RESOLUTION_SECONDS,
    STARTED_AT,
    is_verified,
)

logger = logging.getLogger("quorum.accounts")


def _unverified() -> bool:
    return False


class SessionExpiryMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self._is_async = iscoroutinefunction(get_response)
        if self._is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self._is_async:
            return self.__acall__(request)
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            self.expire(request)
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            await sync_to_async(self.expire)(request)
        return await self.get_response(request)

    @staticmethod
    def expire(request: HttpRequest) -> None:
        session = getattr(request, "session", None)
        if session is None or auth.SESSION_KEY not in session:
            return
        now = time.time()
        started = session.get(STARTED_AT)
        seen = session.get(LAST_SEEN)
        if not isinstance(started, int | float) or not isinstance(seen, int | float):
            reason = "not-two-step"
        elif now - started > settings.QUORUM_SESSION_ABSOLUTE_SECONDS:
            reason = "absolute-timeout"
        elif now - seen > settings.QUORUM_SESSION_IDLE_SECONDS:
            reason = "idle-timeout"
        elif not is_verified(request.user):
            reason = "second-factor-gone"
        else:
            if now - seen >= LAST_SEEN_RESOLUTION_SECONDS:
                session[LAST_SEEN] = now
            return
        logger.info("session ended: reason=%s user_id=%s", reason, session.get(auth.SESSION_KEY))
        auth.logout(request)
        session[EXPIRED] = True
        # What OTPMiddleware would have given an anonymous user.
        request.user.otp_device = None  # type: ignore[union-attr]
        request.user.is_verified = _unverified  # type: ignore[union-attr]
