"""The public pages of e-mail updates: ask, confirm, see, delete, unsubscribe.

Every page is ``no-store`` (an address or a personal link is on it) and none puts an address
in a URL: the address travels in a POST body, or sealed inside the confirmation token.
"""

from __future__ import annotations

from uuid import UUID

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language
from django.views.decorators.csrf import csrf_exempt

from quorum.core.clients import client_address
from quorum.core.errors import DomainError
from quorum.core.origin import same_origin_form
from quorum.initiatives.models import Initiative
from quorum.initiatives.selectors import initiative_get_public
from quorum.updates import keys, services
from quorum.updates.selectors import accepts_subscribers, addresses_destroyed_on


def _page(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    response = render(request, template, context, status=status)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _context(initiative: Initiative, **more: object) -> dict[str, object]:
    language = get_language()
    return {
        "initiative": initiative,
        "title": initiative.text("title", language),
        "text_language": language if initiative.has_language(language) else initiative.language,
        "accepts": accepts_subscribers(initiative),
        **more,
    }


@same_origin_form  # anonymous: no cookie, so no CSRF token (the signing pages set none)
def subscribe(request: HttpRequest, slug: str) -> HttpResponse:
    initiative = initiative_get_public(slug=slug)
    if request.method != "POST":
        return _page(request, "updates/subscribe.html", _context(initiative, email=""))
    email = request.POST.get("email", "")
    consent = request.POST.get("consent") == "yes"
    try:
        if not consent:
            raise services.InvalidRequest({"consent": [services.CONSENT_MISSING]})
        services.subscription_request(
            initiative=initiative,
            address=email,
            language=get_language(),
            client_key=client_address(request) or "",
        )
    except DomainError as exc:
        context = _context(initiative, email=email, errors=exc.messages())
        return _page(request, "updates/subscribe.html", context, status=exc.status)
    return _page(request, "updates/requested.html", _context(initiative))


@same_origin_form  # anonymous: no cookie, so no CSRF token (the signing pages set none)
def confirm(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    initiative = initiative_get_public(slug=slug)
    # A GET only shows the button: mail scanners open links, and must not confirm for anyone.
    if request.method != "POST":
        valid = services.confirmation_initiative_id(token) == initiative.pk
        return _page(
            request,
            "updates/confirm.html",
            _context(initiative, token=token, valid=valid),
            status=200 if valid else 400,
        )
    try:
        subscriber = services.subscription_confirm(initiative=initiative, token=token)
    except DomainError as exc:
        context = _context(initiative, token=token, valid=False, errors=exc.messages())
        return _page(request, "updates/confirm.html", context, status=exc.status)
    manage = reverse(
        "updates:manage",
        args=[slug, subscriber.pk, keys.link_token("manage", str(subscriber.pk))],
    )
    return HttpResponseRedirect(manage + "?confirmed=1")


def _subscriber(subscriber: UUID, token: str, purpose: str, initiative: Initiative):
    found = services.subscriber_for_link(
        subscriber_id=str(subscriber), token=token, purpose=purpose
    )
    return found if found is not None and found.initiative_id == initiative.pk else None


@csrf_exempt  # RFC 8058: the mail client's one-click POST carries no cookie and no token
def unsubscribe(request: HttpRequest, slug: str, subscriber: UUID, token: str) -> HttpResponse:
    initiative = initiative_get_public(slug=slug)
    found = _subscriber(subscriber, token, "unsubscribe", initiative)
    if request.method == "POST":
        if found is not None:
            services.subscriber_remove(subscriber=found)
        # The same answer for a link already used: the address is gone either way.
        return _page(request, "updates/unsubscribed.html", _context(initiative))
    return _page(
        request,
        "updates/unsubscribe.html",
        _context(initiative, known=found is not None),
        status=200 if found is not None else 404,
    )


@same_origin_form  # anonymous: no cookie, so no CSRF token (the signing pages set none)
def manage(request: HttpRequest, slug: str, subscriber: UUID, token: str) -> HttpResponse:
    initiative = initiative_get_public(slug=slug)
    found = _subscriber(subscriber, token, "manage", initiative)
    if found is None:
        return _page(request, "updates/unsubscribed.html", _context(initiative), status=404)
    if request.method == "POST":
        services.subscriber_remove(subscriber=found)
        return _page(request, "updates/unsubscribed.html", _context(initiative))
    context = _context(
        initiative,
        address=keys.unseal(bytes(found.address_box)) or "",
        language=found.language,
        confirmed_on=found.confirmed_on,
        destroyed_on=addresses_destroyed_on(initiative),
        just_confirmed=request.GET.get("confirmed") == "1",
    )
    return _page(request, "updates/manage.html", context)
