"""One error shape for the whole API: {"errors": {field: [message, ...]}}, translated."""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.http import parse_header_parameters
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationError
from ninja.responses import NinjaJSONEncoder

from quorum.api.public import public_read
from quorum.core.errors import GENERAL, DomainError

JSON_MEDIA_TYPE = "application/json"
JSON_CONTENT_TYPE = "application/json; charset=utf-8"


def json_response(data: object, status: int) -> HttpResponse:
    """A JSON answer exactly as django-ninja renders one, for the doors that bypass it."""
    body = json.dumps(data, cls=NinjaJSONEncoder)
    return HttpResponse(body, status=status, content_type=JSON_CONTENT_TYPE)


def errors_response(errors: dict[str, list[str]], status: int) -> HttpResponse:
    return json_response({"errors": errors}, status)


def _field_name(location: Iterable[object]) -> str:
    # ("body", "payload", "residence", "city") → "residence.city"
    parts = [str(part) for part in location if part not in ("body", "payload", "query", "path")]
    return ".".join(parts) or GENERAL


def _message(error: Mapping[str, Any]) -> str:
    kind = str(error.get("type", ""))
    if kind == "extra_forbidden":
        return _("This field is not part of a statement.")
    if kind == "missing":
        return _("This field is required.")
    if kind.startswith("string") or kind.endswith("_type"):
        return _("This field has the wrong type.")
    return _("This value is not valid.")


def validation_errors(errors: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """pydantic's errors as field → translated messages (its own texts are English only)."""
    fields: dict[str, list[str]] = {}
    for error in errors:
        fields.setdefault(_field_name(error.get("loc", ())), []).append(_message(error))
    return fields


def not_json_response() -> HttpResponse:
    return errors_response({GENERAL: [_("The request body is not valid JSON.")]}, 400)


def domain_error_response(request: HttpRequest, exc: DomainError) -> HttpResponse:
    """Every refusal of a service, the one way: its status, its messages, its retry time."""
    response = errors_response(exc.messages(), exc.status)
    if exc.retry_after is not None:
        response["Retry-After"] = str(exc.retry_after)
    if request.method in ("GET", "HEAD"):
        # A refused read is as public as the read: any origin may see why.
        public_read(response)
    return response


def install_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        return errors_response(validation_errors(exc.errors), 422)

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        # ninja raises HttpError(400) for a body it cannot parse; its own text is English only.
        if exc.status_code == 400:
            return not_json_response()
        return errors_response({GENERAL: [_("The request was refused.")]}, exc.status_code)

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return errors_response({GENERAL: [_("Not found.")]}, 404)

    @api.exception_handler(DomainError)
    def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        return domain_error_response(request, exc)


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
    response = errors_response({GENERAL: [message]}, 415)
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
