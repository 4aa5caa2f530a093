"""The organisers' signing form for their own site: which sites may frame it, and the code."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from quorum.accounts.decorators import AuthenticatedHttpRequest, login_and_2fa_required
from quorum.backoffice.access import organised_initiative
from quorum.backoffice.organiser import embed_language_choice
from quorum.core.errors import DomainError
from quorum.initiatives import services as lifecycle
from quorum.initiatives.models import Initiative
from quorum.initiatives.selectors import initiative_embed_origins, initiative_partners

#: The frame's first height, before the form tells it its own (postMessage).
FIRST_HEIGHT = 900


def signing_form_url(initiative: Initiative, *, language: str, via: str = "") -> str:
    """The framed form's address: in ``language`` ("" for each visitor's own), and through the
    coalition partner whose code is ``via`` ("" for none)."""
    url = reverse("signing:embed-start", args=[initiative.slug])
    query = [(name, value) for name, value in (("lang", language), ("via", via)) if value]
    return url + "?" + urlencode(query) if query else url


def signing_form_snippet(
    request: HttpRequest, initiative: Initiative, *, language: str, via: str = ""
) -> str:
    """HTML for the campaign's page: the framed form, and the few lines that fit its height.

    The script accepts a height only from this site's origin and only as a number; every value
    is escaped (a title may hold quotes or markup).
    """
    url = request.build_absolute_uri(signing_form_url(initiative, language=language, via=via))
    origin = request.build_absolute_uri("/").rstrip("/")
    frame_id = f"quorum-sign-{initiative.slug}"
    return format_html(
        '<iframe id="{}" src="{}" title="{}" width="100%" height="{}"'
        ' style="max-width: 720px; border: 0"></iframe>\n'
        '<script>window.addEventListener("message", function (e) {{'
        ' if (e.origin !== "{}" || !e.data || e.data.type !== "quorum:height") return;'
        " var h = Number(e.data.height); if (h > 0 && h < 20000)"
        ' document.getElementById("{}").style.height = h + "px"; }});</script>',
        frame_id,
        url,
        initiative.text("title", language or get_language()),
        FIRST_HEIGHT,
        origin,
        frame_id,
    )


@login_and_2fa_required
def signing_form(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    initiative = organised_initiative(request, slug)
    errors: dict[str, list[str]] = {}
    origin = ""
    if request.method == "POST":
        origin = request.POST.get("origin", "")
        try:
            if request.POST.get("action") == "remove":
                lifecycle.embed_origin_remove(
                    initiative=initiative, origin=origin, actor=request.user
                )
                messages.success(request, _("The site may no longer frame the form."))
            else:
                added = lifecycle.embed_origin_add(
                    initiative=initiative, origin=origin, actor=request.user
                )
                messages.success(
                    request, _("%(origin)s may now frame the form.") % {"origin": added.origin}
                )
            return HttpResponseRedirect(reverse("backoffice:organiser-signing-form", args=[slug]))
        except DomainError as exc:
            errors = exc.messages()
    language = embed_language_choice(request.GET.get("embed_language"))
    partners = initiative_partners(initiative)
    # A code that is not (or no longer) a partner's is no choice, not an error.
    via = request.GET.get("via", "")
    via = via if via in partners else ""
    context = {
        "initiative": initiative,
        "title": initiative.text("title", get_language()),
        "origins": initiative_embed_origins(initiative),
        "origin": origin,
        "errors": errors,
        "form_url": signing_form_url(initiative, language=language, via=via),
        "snippet": signing_form_snippet(request, initiative, language=language, via=via),
        "embed_language": language,
        "embed_languages": settings.LANGUAGES,
        "embed_partners": sorted(partners.items()),
        "embed_via": via,
    }
    return render(
        request,
        "backoffice/organiser/signing_form.html",
        context,
        status=422 if errors else 200,
    )
