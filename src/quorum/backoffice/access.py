"""Who may see which initiative or authority in the back office.

Refusals are 404s: someone outside an initiative's group of organisers must not learn that
a draft exists (the permission matrix tests every view with every role).
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from quorum.accounts.decorators import AuthenticatedHttpRequest
from quorum.accounts.roles import REGISTRAR, user_roles
from quorum.authorities.models import Authority
from quorum.authorities.selectors import authorities_of_staff
from quorum.initiatives.models import Initiative
from quorum.initiatives.selectors import is_organiser_of


def organised_initiative(request: AuthenticatedHttpRequest, slug: str) -> Initiative:
    initiative = Initiative.objects.filter(slug=slug).first()
    if initiative is None or not is_organiser_of(request.user, initiative):
        raise Http404
    return initiative


def is_registrar(request: HttpRequest) -> bool:
    return REGISTRAR in user_roles(request.user)


def registrar_initiatives() -> QuerySet[Initiative]:
    """Every initiative that has asked for registration: never a draft, nor a draft withdrawn
    before it asked (withdrawing a draft must not show it to anyone)."""
    return Initiative.objects.exclude(status=Initiative.Status.DRAFT).exclude(
        status=Initiative.Status.WITHDRAWN,
        registration_requested_on__isnull=True,
        registration_date__isnull=True,
    )


def registrar_initiative(request: HttpRequest, slug: str) -> Initiative:
    """The registrar sees every initiative that has asked for registration, never drafts."""
    initiative = registrar_initiatives().filter(slug=slug).first()
    if initiative is None or not is_registrar(request):
        raise Http404
    return initiative


def staff_authority(request: HttpRequest, member_state: str) -> Authority:
    authority = authorities_of_staff(request.user).filter(member_state=member_state.upper()).first()
    if authority is None:
        raise Http404
    return authority
