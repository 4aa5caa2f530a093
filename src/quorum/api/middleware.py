"""Two rules for every path of the JSON API, whichever router serves it.

* ``HEAD`` is answered as ``GET`` without the body: the same status and headers (including
  ``Content-Length``), so caches and monitors can probe the public reads.
* An error is always ``{"errors": {"__all__": [message]}}``: a plain-text or HTML error from
  below (django-ninja's 405, Django's own pages) is replaced by that shape, in the language
  of the request, keeping headers such as ``Allow`` and ``Retry-After``.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse

from quorum.core.error_pages import error_response, is_api_request
from quorum.core.middleware import HybridMiddleware

HEAD = "quorum_head"
KEPT_HEADERS = ("Allow", "Retry-After", "Access-Control-Allow-Origin")


class ApiMiddleware(HybridMiddleware):
    def before(self, request: HttpRequest) -> HttpResponse | None:
        if request.method == "HEAD" and is_api_request(request):
            request.method = "GET"
            setattr(request, HEAD, True)
        return None

    def after(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if not is_api_request(request):
            return response
        content_type = response.get("Content-Type", "")
        if response.status_code >= 400 and not content_type.startswith("application/json"):
            replacement = error_response(request, response.status_code)
            for name in KEPT_HEADERS:
                if name in response:
                    replacement[name] = response[name]
            response = replacement
        allowed = [method.strip() for method in response.get("Allow", "").split(",")]
        if "GET" in allowed and "HEAD" not in allowed:
            response["Allow"] = ", ".join([*allowed, "HEAD"])
        if getattr(request, HEAD, False):
            request.method = "HEAD"
            if isinstance(response, StreamingHttpResponse):
                response.streaming_content = []
            elif isinstance(response, HttpResponse):
                response["Content-Length"] = str(len(response.content))
                response.content = b""
        return response
