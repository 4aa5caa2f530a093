"""Sign-in pages: password, then TOTP code (or enrolment), re-authentication, password change.

Views parse, check, call a service and render. Every attempt is counted (``throttle``) before
its password or code is checked, and given back only when the credential was right or nothing
was checked. Refusals are logged on ``quorum.accounts`` with the username and a keyed hash of
the client address; never a password, a code, a secret or the address itself.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import verify_token

from quorum.accounts import session as sign_in
from quorum.accounts import throttle, totp
from quorum.accounts.decorators import AuthenticatedHttpRequest, login_and_2fa_required
from quorum.accounts.forms import CodeForm, LoginForm, PasswordChangeForm, ReauthForm
from quorum.accounts.roles import user_roles
from quorum.accounts.selectors import totp_device_get
from quorum.accounts.services import totp_device_confirm, user_change_password
from quorum.core.errors import Conflict

logger = logging.getLogger("quorum.accounts")

# Enrolment may take a while (installing an app): the password step stays good this long.
ENROL_SECONDS = 30 * 60
SECRET_FIELDS = ("password", "current_password", "new_password1", "new_password2", "code")


def _who(username: str) -> str:
    # repr(): a username with line breaks cannot forge a log line.
    return repr(username[:150])


def _home() -> str:
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    return render(request, f"accounts/{template}", context, status=status)


def _throttled(
    request: HttpRequest, template: str, context: dict[str, Any], retry_after: int
) -> HttpResponse:
    context = {
        **context,
        "form": _blank(context.get("form")),
        "retry_after": retry_after,
        "retry_minutes": math.ceil(retry_after / 60),
    }
    response = _render(request, template, context, status=429)
    response["Retry-After"] = str(retry_after)
    return response


def _unavailable(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    logger.error("sign-in refused: the throttle store cannot be reached")
    context = {**context, "form": _blank(context.get("form")), "unavailable": True}
    return _render(request, template, context, status=503)


def _blank(form: Any) -> Any:
    """An empty form of the same kind: a refused attempt is not validated, nor its input shown."""
    if form is None or not form.is_bound:
        return form
    return type(form)(user=form.user) if isinstance(form, PasswordChangeForm) else type(form)()


def _pending_user(pending: dict[str, Any]) -> User | None:
    user_id = pending.get("user_id")
    if not isinstance(user_id, int):
        return None
    return User.objects.filter(pk=user_id, is_active=True).first()


def _finish(
    request: HttpRequest,
    user: User,
    device: Any,
    pending: dict[str, Any],
    attempt: throttle.Attempt,
) -> HttpResponse:
    throttle.release(attempt)
    throttle.reset_username(user.get_username(), request)
    sign_in.complete_login(request, user, device, backend=pending["backend"])
    logger.info(
        "sign-in complete: username=%s address=%s",
        _who(user.get_username()),
        throttle.address_label(request),
    )
    return HttpResponseRedirect(sign_in.safe_next(request, pending.get("next"), _home()))


def _code_failed(
    request: HttpRequest, user: User, pending: dict[str, Any], *, step: str
) -> HttpResponse | None:
    """Log a wrong code (its reserved attempt stays counted); after too many, start again."""
    logger.warning(
        "sign-in failed: wrong code at %s username=%s address=%s",
        step,
        _who(user.get_username()),
        throttle.address_label(request),
    )
    pending["failures"] = int(pending.get("failures", 0)) + 1
    if pending["failures"] >= sign_in.PENDING_MAX_FAILURES:
        sign_in.pending_clear(request)
        context = {"form": LoginForm(), "extra_errors": [_("Too many wrong codes. Sign in again.")]}
        return _render(request, "login.html", context, status=422)
    sign_in.pending_update(request, pending)
    return None


@never_cache
@sensitive_post_parameters(*SECRET_FIELDS)
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    """Step 1: username and password."""
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    next_url = sign_in.safe_next(request, next_url, "")
    if sign_in.is_verified(request.user):
        return HttpResponseRedirect(next_url or _home())
    context: dict[str, Any] = {
        "next": next_url,
        "expired": bool(request.session.pop(sign_in.EXPIRED, False)),
    }
    if request.method != "POST":
        return _render(request, "login.html", {**context, "form": LoginForm()})
    form = LoginForm(request.POST)
    context["form"] = form
    if not form.is_valid():
        return _render(request, "login.html", context, status=422)
    username = form.cleaned_data["username"]
    try:
        attempt = throttle.reserve(username, request)
        if not attempt.allowed:
            logger.warning(
                "sign-in refused: too many failures username=%s address=%s",
                _who(username),
                throttle.address_label(request),
            )
            return _throttled(request, "login.html", context, attempt.retry_after)
        user = auth.authenticate(request, username=username, password=form.cleaned_data["password"])
        if user is None:
            logger.warning(
                "sign-in failed: wrong username or password username=%s address=%s",
                _who(username),
                throttle.address_label(request),
            )
            form.add_error(
                None, _("The username or the password is not right. Both are case-sensitive.")
            )
            return _render(request, "login.html", context, status=422)
        throttle.release(attempt)
    except throttle.ThrottleUnavailable:
        return _unavailable(request, "login.html", context)
    sign_in.pending_start(request, user, next_url=next_url)
    if totp_device_get(user) is None:
        return redirect("accounts:setup")
    return redirect("accounts:verify")


@never_cache
@sensitive_post_parameters(*SECRET_FIELDS)
@require_http_methods(["GET", "POST"])
def verify_view(request: HttpRequest) -> HttpResponse:
    """Step 2: the code from the authenticator app."""
    pending = sign_in.pending_get(request)
    user = _pending_user(pending) if pending else None
    if pending is None or user is None:
        sign_in.pending_clear(request)
        return redirect("accounts:login")
    device = totp_device_get(user)
    if device is None:
        return redirect("accounts:setup")
    context: dict[str, Any] = {"username": user.get_username()}
    if request.method != "POST":
        return _render(request, "verify.html", {**context, "form": CodeForm()})
    form = CodeForm(request.POST)
    context["form"] = form
    try:
        attempt = throttle.reserve(user.get_username(), request)
        if not attempt.allowed:
            return _throttled(request, "verify.html", context, attempt.retry_after)
        allowed, info = device.verify_is_allowed()
        if not allowed:
            throttle.release(attempt)
            return _throttled(request, "verify.html", context, _locked_for(info))
        if not form.is_valid():
            throttle.release(attempt)
            return _render(request, "verify.html", context, status=422)
        verified = verify_token(user, device.persistent_id, form.cleaned_data["code"])
        if verified is None:
            restart = _code_failed(request, user, pending, step="verify")
            if restart is not None:
                return restart
            form.add_error("code", _("This code is not right, or it was already used."))
            return _render(request, "verify.html", context, status=422)
        return _finish(request, user, verified, pending, attempt)
    except throttle.ThrottleUnavailable:
        return _unavailable(request, "verify.html", context)


def _locked_for(info: dict[str, Any] | None) -> int:
    locked_until = (info or {}).get("locked_until")
    if locked_until is None:
        return 1
    return max(1, int(locked_until.timestamp() - time.time()) + 1)


@never_cache
@sensitive_post_parameters(*SECRET_FIELDS)
@require_http_methods(["GET", "POST"])
def setup_view(request: HttpRequest) -> HttpResponse:
    """Enrolment, right after the password step for a user without a TOTP device."""
    if sign_in.is_verified(request.user):
        return redirect("accounts:home")
    pending = sign_in.pending_get(request, max_age=ENROL_SECONDS)
    user = _pending_user(pending) if pending else None
    if pending is None or user is None:
        sign_in.pending_clear(request)
        return redirect("accounts:login")
    if totp_device_get(user) is not None:
        return redirect("accounts:verify")
    key = pending.get("enrol_key")
    if not totp.valid_key(key):
        key = pending["enrol_key"] = totp.new_key()
        sign_in.pending_update(request, pending)
    context: dict[str, Any] = {
        "username": user.get_username(),
        "qr_svg": totp.qr_svg(
            totp.config_url(user, key), title=_("QR code to add this account to your app")
        ),
        "secret": totp.secret_text(key),
        "issuer": settings.OTP_TOTP_ISSUER,
    }
    if request.method != "POST":
        return _render(request, "setup.html", {**context, "form": CodeForm()})
    form = CodeForm(request.POST)
    context["form"] = form
    try:
        attempt = throttle.reserve(user.get_username(), request)
        if not attempt.allowed:
            return _throttled(request, "setup.html", context, attempt.retry_after)
        if not form.is_valid():
            throttle.release(attempt)
            return _render(request, "setup.html", context, status=422)
        step = totp.match_step(key, form.cleaned_data["code"])
        if step is None:
            restart = _code_failed(request, user, pending, step="enrolment")
            if restart is not None:
                return restart
            form.add_error(
                "code",
                _("This code is not right. Check that the app shows the account you just added."),
            )
            return _render(request, "setup.html", context, status=422)
        try:
            device = totp_device_confirm(user=user, key=key, step=step)
        except Conflict:
            throttle.release(attempt)
            return redirect("accounts:verify")
        logger.info(
            "second factor enrolled: username=%s address=%s",
            _who(user.get_username()),
            throttle.address_label(request),
        )
        return _finish(request, user, device, pending, attempt)
    except throttle.ThrottleUnavailable:
        return _unavailable(request, "setup.html", context)


@never_cache
@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        logger.info("signed out: username=%s", _who(request.user.get_username()))
    auth.logout(request)
    messages.info(request, _("You have signed out."))
    return redirect("accounts:login")


def _password_and_code_right(
    request: AuthenticatedHttpRequest,
    form: ReauthForm | PasswordChangeForm,
    password_field: str,
    step: str,
) -> bool:
    """Both right? Otherwise log the failure and put the error on the form."""
    user = request.user
    device = totp_device_get(user)
    ok = user.check_password(form.cleaned_data[password_field])
    # The code is spent only when the password is right: a wrong guess burns nothing.
    if ok:
        ok = (
            device is not None
            and verify_token(user, device.persistent_id, form.cleaned_data["code"]) is not None
        )
    if not ok:
        logger.warning(
            "%s failed: wrong password or code username=%s address=%s",
            step,
            _who(user.get_username()),
            throttle.address_label(request),
        )
        form.add_error(None, _("The password or the code is not right."))
    return ok


def _refused_or_wrong_while_signed_in(
    request: AuthenticatedHttpRequest,
    form: ReauthForm | PasswordChangeForm,
    template: str,
    context: dict[str, Any],
    *,
    password_field: str,
    step: str,
) -> HttpResponse | None:
    """None when the password and the code are right; else the 429 or 422 to answer.

    The attempt is counted before anything is checked, and given back unless a wrong
    credential was the answer.
    """
    user = request.user
    attempt = throttle.reserve(user.get_username(), request)
    if not attempt.allowed:
        logger.warning(
            "%s refused: too many failures username=%s address=%s",
            template.removesuffix(".html"),
            _who(user.get_username()),
            throttle.address_label(request),
        )
        return _throttled(request, template, context, attempt.retry_after)
    device = totp_device_get(user)
    allowed, info = device.verify_is_allowed() if device else (True, None)
    if not allowed:
        throttle.release(attempt)
        return _throttled(request, template, context, _locked_for(info))
    if not form.is_valid():
        throttle.release(attempt)
        return _render(request, template, context, status=422)
    if not _password_and_code_right(request, form, password_field, step):
        return _render(request, template, context, status=422)
    throttle.release(attempt)
    return None


@never_cache
@sensitive_post_parameters(*SECRET_FIELDS)
@require_http_methods(["GET", "POST"])
@login_and_2fa_required
def reauth_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """A fresh password and code before a sensitive action, then back to it."""
    next_url = sign_in.safe_next(
        request, request.POST.get("next") or request.GET.get("next"), _home()
    )
    context: dict[str, Any] = {"next": next_url}
    if request.method != "POST":
        return _render(request, "reauth.html", {**context, "form": ReauthForm()})
    form = ReauthForm(request.POST)
    context["form"] = form
    try:
        refusal = _refused_or_wrong_while_signed_in(
            request,
            form,
            "reauth.html",
            context,
            password_field="password",
            step="re-authentication",
        )
        if refusal is not None:
            return refusal
    except throttle.ThrottleUnavailable:
        return _unavailable(request, "reauth.html", context)
    request.session.cycle_key()
    sign_in.mark_verified(request)
    logger.info(
        "re-authenticated: username=%s address=%s",
        _who(request.user.get_username()),
        throttle.address_label(request),
    )
    return HttpResponseRedirect(next_url)


@never_cache
@sensitive_post_parameters(*SECRET_FIELDS)
@require_http_methods(["GET", "POST"])
@login_and_2fa_required
def password_change_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    if request.method != "POST":
        return _render(request, "password_change.html", {"form": PasswordChangeForm(user=user)})
    form = PasswordChangeForm(request.POST, user=user)
    context: dict[str, Any] = {"form": form}
    try:
        refusal = _refused_or_wrong_while_signed_in(
            request,
            form,
            "password_change.html",
            context,
            password_field="current_password",
            step="password change",
        )
        if refusal is not None:
            return refusal
    except throttle.ThrottleUnavailable:
        return _unavailable(request, "password_change.html", context)
    try:
        user_change_password(
            user=user,
            new_password=form.cleaned_data["new_password1"],
            actor=user,
        )
    except ValidationError as exc:
        form.add_error("new_password1", exc)
        return _render(request, "password_change.html", context, status=422)
    auth.update_session_auth_hash(request, user)  # other sessions of this user end
    sign_in.mark_verified(request)
    logger.info(
        "password changed: username=%s address=%s",
        _who(user.get_username()),
        throttle.address_label(request),
    )
    messages.success(request, _("Your password was changed."))
    return redirect("accounts:home")


@never_cache
@require_http_methods(["GET"])
@login_and_2fa_required
def home_view(request: HttpRequest) -> HttpResponse:
    device = totp_device_get(request.user)
    return _render(
        request,
        "home.html",
        {
            "roles": sorted(user_roles(request.user)),
            "device": device,
        },
    )
