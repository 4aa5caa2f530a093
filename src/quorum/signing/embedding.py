"""The signing form framed by a campaign's own site: ``/i/<slug>/embed/sign/``.

The same views as the signing pages, with every protection they have (proof of work scoped to
the initiative, rate limits, the review step, the receipt); only the frame differs. Only the
origins the organisers listed may frame it (``Content-Security-Policy: frame-ancestors``),
and this site itself (the organisers' preview); with no list, no other site may. ``?lang=`` fixes the language, as for the framed counter; it and
any other part of the query are kept through every step (the forms post to the page's own
address, and the nationality step carries them on).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt

from quorum.core.i18n import language_from_address
from quorum.core.middleware import content_security_policy
from quorum.initiatives.selectors import initiative_embed_origins, initiative_get_public
from quorum.signing import views


async def _framed(
    request: HttpRequest, slug: str, answer: HttpResponse, language: str
) -> HttpResponse:
    answer["Content-Language"] = language
    initiative = await sync_to_async(initiative_get_public)(slug=slug)
    origins = await sync_to_async(initiative_embed_origins)(initiative)
    # This site's own pages may frame it (the organisers' preview); other sites only if listed.
    answer["Content-Security-Policy"] = content_security_policy(
        frame_ancestors=" ".join(["'self'", *origins])
    )
    if origins:
        answer.xframe_options_exempt = True
    else:
        answer["X-Frame-Options"] = "SAMEORIGIN"
    return answer


def _mark(request: HttpRequest) -> str | None:
    # The templates draw the embedded frame and point their forms here, not at /sign/.
    request.embedded_signing = True  # type: ignore[attr-defined]
    return language_from_address(request.GET.get("lang"))


async def embed_start(request: HttpRequest, slug: str) -> HttpResponse:
    language = _mark(request) or translation.get_language()
    with translation.override(language):
        answer = await views.sign_start(request, slug)
    if isinstance(answer, HttpResponseRedirect):
        # Without JavaScript the nationality is a step of its own: on to the framed form.
        member_state = urlsplit(answer.url).path.rstrip("/").rsplit("/", 1)[-1]
        kept = request.GET.copy()
        kept.pop(views.NATIONALITY, None)
        query = kept.urlencode()
        target = reverse("signing:embed-form", args=[slug, member_state])
        answer = HttpResponseRedirect(target + (f"?{query}" if query else ""))
    return await _framed(request, slug, answer, language)


@csrf_exempt  # sign_form checks where the POST comes from (Sec-Fetch-Site, Origin)
async def embed_form(request: HttpRequest, slug: str, member_state: str) -> HttpResponse:
    language = _mark(request) or translation.get_language()
    with translation.override(language):
        answer = await views.sign_form(request, slug, member_state)
    return await _framed(request, slug, answer, language)
