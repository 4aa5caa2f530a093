"""``/healthz``, ``/readyz`` and ``/metrics``: for a load balancer and for Prometheus.

None of them reads a session or sets a cookie, and none may be cached (``no-store``): each
answer is about this moment. ``/metrics`` answers only clients in ``QUORUM_METRICS_ALLOW``
(loopback by default) or those that send ``Authorization: Bearer <QUORUM_METRICS_TOKEN>``;
the client address is the one the rate limits count (``quorum.core.clients``).
"""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_safe

from quorum.core.clients import client_address
from quorum.core.metrics import CONTENT_TYPE, exposition
from quorum.site.readiness import LedgerCollector, readiness

TEXT = "text/plain; charset=utf-8"


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    """The process is up and answers; nothing else is checked."""
    return _no_store(HttpResponse("ok\n", content_type=TEXT))


@require_safe
def readyz(request: HttpRequest) -> HttpResponse:
    """200 when this process can take statements now, else 503 naming what fails."""
    state = readiness()
    body = {"status": "ready" if state.ready else "not ready", "checks": state.checks}
    return _no_store(JsonResponse(body, status=200 if state.ready else 503))


@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """Every process's metrics in Prometheus's text format, for allowed scrapers only."""
    if not metrics_allowed(request):
        return _no_store(HttpResponse("forbidden\n", status=403, content_type=TEXT))
    return _no_store(HttpResponse(exposition([LedgerCollector()]), content_type=CONTENT_TYPE))


def metrics_allowed(request: HttpRequest) -> bool:
    token = settings.QUORUM_METRICS_TOKEN
    if token:
        scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            value.strip().encode(), token.encode()
        ):
            return True
    try:
        address = ipaddress.ip_address(client_address(request).strip())
    except ValueError:
        return False  # a unix socket or a misconfigured proxy: not known to be allowed
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in settings.QUORUM_METRICS_ALLOW)
