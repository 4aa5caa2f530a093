"""One error shape for the whole API: {"errors": {field: [message, ...]}}, translated."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationError

GENERAL = "__all__"


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
