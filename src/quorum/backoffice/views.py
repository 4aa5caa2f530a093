from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from quorum.accounts.decorators import login_and_2fa_required
from quorum.accounts.roles import OPERATOR, user_roles
from quorum.authorities.selectors import authorities_of_staff
from quorum.backoffice.access import is_registrar


@login_and_2fa_required
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "backoffice/home.html",
        {
            "is_registrar": is_registrar(request),
            "is_operator": OPERATOR in user_roles(request.user),
            "authorities": list(authorities_of_staff(request.user)),
        },
    )
