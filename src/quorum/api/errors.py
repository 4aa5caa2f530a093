"""One error shape for the whole API: {"errors": {field: [message, ...]}}, translated."""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.http import parse_header_parameters
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationError

from quorum.core.error_pages import GENERAL

JSON_MEDIA_TYPE = "application/json"


def errors_response(
    api: NinjaAPI, request: HttpRequest, errors: dict[str, list[str]], status: int
) -> HttpResponse:
    return api.create_response(request, {"errors": errors}, status=status)


def _field_name(location: tuple | list) -> str:
    # ("body", "payload", "residence", "city") → "residence.city"
    parts = [str(part) for part in location if part not in ("body", "payload", "query", "path")]
    return ".".join(parts) or GENERAL


def _message(error: dict) -> str:
    kind = str(error.get("type", ""))
    if kind == "extra_forbidden":
        return _("This field is not part of a statement.")
    if kind == "missing":
        return _("This field is required.")
    if kind.startswith("string") or kind.endswith("_type"):
        return _("This field has the wrong type.")
    return _("This value is not valid.")


def install_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        errors: dict[str, list[str]] = {}
        for error in exc.errors:
            errors.setdefault(_field_name(error.get("loc", ())), []).append(_message(error))
        return errors_response(api, request, errors, 422)

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        # ninja raises HttpError(400) for a body it cannot parse; its own text is English only.
        message = (
            _("The request body is not valid JSON.")
            if exc.status_code == 400
            else _("The request was refused.")
        )
        return errors_response(api, request, {GENERAL: [message]}, exc.status_code)

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return errors_response(api, request, {GENERAL: [_("Not found.")]}, 404)


def is_json_content_type(value: str) -> bool:
    """``application/json``, alone or with ``charset=utf-8``: nothing a plain HTML form can send.

    A browser sends ``text/plain``, a form encoding or ``multipart/form-data`` from any page
    without asking (no CORS preflight); insisting on JSON keeps foreign pages from making
    their visitors submit.
    """
    media_type, params = parse_header_parameters(value)
    if media_type != JSON_MEDIA_TYPE:
        return False
    return all(
        name == "charset" and param.strip().lower() == "utf-8" for name, param in params.items()
    )


def unsupported_media_type(request: HttpRequest) -> HttpResponse:
    message = _("Send the request body as JSON, with Content-Type: application/json.")
    response = HttpResponse(
        json.dumps({"errors": {GENERAL: [message]}}, ensure_ascii=False),
        status=415,
        content_type="application/json; charset=utf-8",
    )
    response["Accept-Post"] = JSON_MEDIA_TYPE
    return response


def require_json(run: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap an operation (``ninja.decorators.decorate_view``): 415 before the body is parsed."""
    if inspect.iscoroutinefunction(run):

        @functools.wraps(run)
        async def run_async(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if not is_json_content_type(request.META.get("CONTENT_TYPE", "")):
                return unsupported_media_type(request)
            return await run(request, *args, **kwargs)

        return run_async

    @functools.wraps(run)
    def run_sync(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if not is_json_content_type(request.META.get("CONTENT_TYPE", "")):
            return unsupported_media_type(request)
        return run(request, *args, **kwargs)

    return run_sync
