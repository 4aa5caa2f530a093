"""``/favicon.ico``: browsers ask for it on every site whatever the page links; send them to
the SVG icon that the pages link (``quorum/favicon.svg``), so that it is never a 404."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseRedirect
from django.templatetags.static import static
from django.views.decorators.http import require_safe

# A day: the icon's address has no hash in it, and a browser that keeps the redirect longer
# would not see a new one.
MAX_AGE = 24 * 60 * 60


@require_safe
def favicon(request: HttpRequest) -> HttpResponseRedirect:
    response = HttpResponseRedirect(static("quorum/favicon.svg"))
    response["Cache-Control"] = f"public, max-age={MAX_AGE}"
    return response
