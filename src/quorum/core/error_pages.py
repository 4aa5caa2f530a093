"""Error pages that cannot fail: HTML in the visitor's language, JSON on the API.

Django calls these views for 400, 403, 404 and 500 (``handler400`` … in the root URLconf);
the request limits answer 413 and a form sent in another encoding than UTF-8 with them.
They read nothing from the request body, the session or the database, so that whatever broke
a request cannot break its error page too; if even the templates fail, a fixed text is sent.
Either way the response carries the security headers of every page.
"""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from quorum.core.errors import GENERAL, DomainError
from quorum.core.middleware import HybridMiddleware, apply_security_headers

logger = logging.getLogger("quorum.errors")

#: The JSON API lives under this path (mounted by the API's URLconf): errors there are JSON.
API_PREFIX = "/api/"

TEXTS: dict[int, tuple[Promise, Promise]] = {
    400: (_("Bad request"), _("The request could not be understood.")),
    403: (_("Access denied"), _("You are not allowed to do this.")),
    404: (_("Not found"), _("There is nothing at this address.")),
    405: (_("Method not allowed"), _("This address does not accept this method.")),
    413: (_("Request too large"), _("The request is larger than this address accepts.")),
    500: (
        _("Something went wrong"),
        _("This is a fault on our side, not yours. Please try again in a few minutes."),
    ),
}
OTHER = (_("Error"), _("The request was refused."))

# The last resort: no template, no translation, nothing that could fail once more.
FIXED_HTML = (
    '<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>Error · Quorum</title>'
    "</head>\n<body><main><h1>Something went wrong</h1><p>Please try again in a few minutes.</p>"
    '<p><a href="/">Quorum</a></p></main></body>\n</html>\n'
)
FIXED_JSON = '{"errors": {"__all__": ["Something went wrong. Please try again in a few minutes."]}}'

# Set on every error response; Django's own middlewares add them to other responses only.
_MORE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def is_api_request(request: HttpRequest) -> bool:
    return str(getattr(request, "path", "")).startswith(API_PREFIX)


def _language(request: HttpRequest) -> str:
    # Middleware that answers early runs before LocaleMiddleware: choose as it would.
    try:
        return translation.get_language_from_request(request)
    except Exception:
        return settings.LANGUAGE_CODE


def _render(request: HttpRequest, status: int, message: str | Promise | None) -> HttpResponse:
    language = _language(request)
    with translation.override(language):
        title, default_text = TEXTS.get(status, OTHER)
        text = message if message is not None else default_text
        if is_api_request(request):
            body = json.dumps({"errors": {GENERAL: [str(text)]}}, ensure_ascii=False)
            response = HttpResponse(
                body, status=status, content_type="application/json; charset=utf-8"
            )
        else:
            page = loader.render_to_string(
                "errors/error.html", {"status": status, "title": title, "message": text}
            )
            response = HttpResponse(page, status=status, content_type="text/html; charset=utf-8")
    response["Content-Language"] = language
    patch_vary_headers(response, ("Accept-Language", "Cookie"))
    return response


def _fixed(request: HttpRequest, status: int) -> HttpResponse:
    if is_api_request(request):
        return HttpResponse(FIXED_JSON, status=status, content_type="application/json")
    return HttpResponse(FIXED_HTML, status=status, content_type="text/html; charset=utf-8")


def error_response(
    request: HttpRequest, status: int, *, message: str | Promise | None = None
) -> HttpResponse:
    """The error page (or API error) for ``status``; never raises."""
    try:
        response = _render(request, status, message)
    except Exception:
        logger.exception("the %s page could not be rendered; sending the fixed text", status)
        response = _fixed(request, status)
    for name, value in _MORE_HEADERS.items():
        response.headers.setdefault(name, value)
    return apply_security_headers(response)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 403)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form whose anti-forgery check failed: usually an old page or blocked cookies."""
    return error_response(
        request,
        403,
        message=_(
            "This form could not be accepted: the page was open too long, or your browser "
            "blocks cookies for this site. Go back, reload the page and send it again."
        ),
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    return error_response(request, 500)


def domain_error_page(request: HttpRequest, exc: DomainError) -> HttpResponse:
    """The page (or API error) for a refusal of the rules: its status, message and retry time."""
    response = error_response(request, exc.status, message=exc.message)
    if exc.retry_after is not None:
        response["Retry-After"] = str(exc.retry_after)
    return response


class DomainErrorMiddleware(HybridMiddleware):
    """Pages raise domain errors as the services do; this maps them, once, to error pages.

    The API has its own handler (JSON in the ``errors`` shape); a form that shows its errors
    in place catches them itself.
    """

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DomainError):
            return domain_error_page(request, exception)
        return None
