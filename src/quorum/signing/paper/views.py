"""``GET /i/<slug>/paper/<ms>.pdf?lang=<code>[&via=<partner>]``: the paper form, for anyone.

Public like the initiative's page: organisers, partners and volunteers print it. ``?lang=``
fixes the language (an unknown one is ignored, as on the framed pages: the reader's own
language then, from the language cookie or the browser); ``?via=`` puts a partner's code into
the QR code's address when it is one of the initiative's partners, and is ignored otherwise.
Every address on the form starts with ``QUORUM_BASE_URL``, never with the request's Host: a
shared cache keeps the form for everyone who asks.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import get_conditional_response, patch_cache_control
from django.views.decorators.http import require_safe

from quorum.core.caching import content_etag, public_cache
from quorum.core.i18n import language_from_address
from quorum.initiatives.models import Initiative
from quorum.initiatives.selectors import initiative_partners
from quorum.initiatives.services.partners import partner_named
from quorum.rules import scheme
from quorum.signing.paper import paper_form_initiative, paper_form_pdf

#: A form changes only when its initiative does (a translation, the end of collection moved):
#: an hour is short enough for that and long enough to spare the server a crowd of printers.
MAX_AGE_SECONDS = 3600

#: A form takes a few tenths of a second of CPU to draw. Made once per few minutes per
#: variant however many ask, or whatever they add to the address (an unknown ``via`` is the
#: same variant as none): a crowd of printers, or of requests, costs one drawing each.
FORM_CACHE_SECONDS = 300
FORM_CACHE_SIZE = 1024
_forms: OrderedDict[tuple[object, ...], tuple[float, bytes]] = OrderedDict()
_forms_lock = threading.Lock()


def _form(initiative: Initiative, code: str, *, language: str, via: str, base_url: str) -> bytes:
    key = (initiative.pk, code, language, via, base_url)
    now = time.monotonic()
    with _forms_lock:
        cached = _forms.get(key)
        if cached is not None and cached[0] > now:
            _forms.move_to_end(key)
            return cached[1]
    content = paper_form_pdf(initiative, code, language=language, via=via, base_url=base_url)
    with _forms_lock:
        _forms[key] = (now + FORM_CACHE_SECONDS, content)
        _forms.move_to_end(key)
        while len(_forms) > FORM_CACHE_SIZE:
            _forms.popitem(last=False)
    return content


def forget_paper_forms() -> None:
    with _forms_lock:
        _forms.clear()


@require_safe
def paper_form(request: HttpRequest, slug: str, member_state: str) -> HttpResponse:
    initiative = paper_form_initiative(slug=slug)
    code = member_state.upper()
    # Lower case in the address, as the online form's: /i/<slug>/paper/de.pdf.
    if code not in scheme(initiative.scheme).member_state_codes() or member_state != code.lower():
        raise Http404
    asked = language_from_address(request.GET.get("lang"))
    language = asked or translation.get_language()
    content = _form(
        initiative,
        code,
        language=language,
        via=partner_named(request.GET.get("via"), initiative_partners(initiative)),
        base_url=settings.QUORUM_BASE_URL,
    )
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'inline; filename="{initiative.slug}-{member_state}-{language}.pdf"'
    )
    response["Content-Language"] = language
    if asked:
        public_cache(response, max_age=MAX_AGE_SECONDS)
    else:
        # The language came from this reader's cookie or browser, not from the address.
        patch_cache_control(response, private=True, max_age=MAX_AGE_SECONDS)
    etag = content_etag(content)
    response["ETag"] = etag
    conditional = get_conditional_response(request, etag=etag, response=response)
    return conditional if conditional is not None else response
