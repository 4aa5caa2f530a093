"""The organisers' coalition partners: each with its own signing link, and what it brought."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from quorum.accounts.decorators import AuthenticatedHttpRequest, login_and_2fa_required
from quorum.backoffice.access import organised_initiative
from quorum.core.errors import DomainError
from quorum.initiatives import services as lifecycle
from quorum.initiatives.models import Initiative
from quorum.ledger.selectors import initiative_counts, partner_rows


def partner_link(request: AuthenticatedHttpRequest, initiative: Initiative, code: str) -> str:
    """The partner's own signing link: the public form, with its code in ``?via=``."""
    path = reverse("signing:start", args=[initiative.slug])
    return request.build_absolute_uri(path + "?" + urlencode({"via": code}))


@login_and_2fa_required
def partners(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    initiative = organised_initiative(request, slug)
    errors: dict[str, list[str]] = {}
    code = name = ""
    if request.method == "POST":
        code = request.POST.get("code", "")
        name = request.POST.get("name", "")
        try:
            if request.POST.get("action") == "remove":
                if lifecycle.partner_remove(initiative=initiative, code=code, actor=request.user):
                    messages.success(
                        request, _("The partner was removed; its statements keep its code.")
                    )
            else:
                added = lifecycle.partner_add(
                    initiative=initiative, code=code, name=name, actor=request.user
                )
                messages.success(
                    request,
                    _("%(name)s can now collect signatures through its own link.")
                    % {"name": added.name},
                )
            return HttpResponseRedirect(reverse("backoffice:organiser-partners", args=[slug]))
        except DomainError as exc:
            errors = exc.messages()
    counts = initiative_counts(initiative)
    rows = [
        {"row": row, "link": "" if row.removed else partner_link(request, initiative, row.code)}
        for row in partner_rows(initiative, counts.by_partner)
    ]
    context = {
        "initiative": initiative,
        "title": initiative.text("title", get_language()),
        "rows": rows,
        "without_partner": counts.without_partner,
        "code": code,
        "name": name,
        "errors": errors,
    }
    return render(
        request,
        "backoffice/organiser/partners.html",
        context,
        status=422 if errors else 200,
    )
