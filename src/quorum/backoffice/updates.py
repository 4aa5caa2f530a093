"""The organisers' e-mail updates: counts, write, preview, a test to oneself, send.

Organisers see how many asked, confirmed and left; no page shows them an address.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from quorum.accounts.decorators import AuthenticatedHttpRequest, login_and_2fa_required
from quorum.backoffice.access import organised_initiative
from quorum.core.errors import DomainError
from quorum.updates.models import Update
from quorum.updates.selectors import (
    accepts_subscribers,
    addresses_destroyed_on,
    subscription_counts,
)
from quorum.updates.services import update_create, update_test, update_text_check


@login_and_2fa_required
def updates(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    initiative = organised_initiative(request, slug)
    subject = request.POST.get("subject", "")
    body = request.POST.get("body", "")
    errors: dict[str, list[str]] = {}
    preview = False
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "preview")
        try:
            if action == "test":
                update_test(
                    initiative=initiative, subject=subject, body=body, to=request.user.email
                )
                messages.success(
                    request,
                    _("A test message is on its way to %(address)s.")
                    % {"address": request.user.email},
                )
                preview = True
            elif action == "send":
                update = update_create(
                    initiative=initiative, subject=subject, body=body, actor=request.user
                )
                messages.success(
                    request,
                    _("The update is being sent to %(count)s subscribers.")
                    % {"count": update.recipients},
                )
                return HttpResponseRedirect(reverse("backoffice:organiser-updates", args=[slug]))
            else:
                update_text_check(subject, body)
                preview = True
        except DomainError as exc:
            errors, status, preview = exc.messages(), exc.status, False
    context = {
        "initiative": initiative,
        "title": initiative.text("title", get_language()),
        "counts": subscription_counts(initiative),
        "accepts": accepts_subscribers(initiative),
        "destroyed_on": addresses_destroyed_on(initiative),
        "sent_updates": list(Update.objects.filter(initiative=initiative)[:20]),
        "subject": subject,
        "body": body,
        "preview": preview and not errors,
        "errors": errors,
    }
    return render(request, "backoffice/organiser/updates.html", context, status=status)
