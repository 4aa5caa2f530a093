"""Asking for e-mail updates as JSON: the same double opt-in as the page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Router
from ninja.decorators import decorate_view
from pydantic import BaseModel, ConfigDict, Field

from quorum.api.errors import json_response, require_json
from quorum.api.schemas import ErrorsOut
from quorum.core.clients import client_address
from quorum.initiatives.selectors import initiative_get_public
from quorum.updates.services import subscription_request

router = Router(tags=["updates"])


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(description="The address to send a confirmation link to.")
    language: str = Field(
        "", description="One of the 24 languages (e.g. de); else the initiative's."
    )


class SubscriptionOut(BaseModel):
    status: str = Field(description='Always "confirmation_sent" for a valid request.')


@router.post(
    "/initiatives/{slug}/subscriptions",
    response={
        202: SubscriptionOut,
        400: ErrorsOut,
        404: ErrorsOut,
        409: ErrorsOut,
        415: ErrorsOut,
        422: ErrorsOut,
    },
    summary="Ask for e-mail updates (double opt-in)",
    description=(
        "Sends a confirmation link to the address; nothing is stored until it is opened. "
        "The answer is the same whether or not the address is subscribed already, and at most "
        "one confirmation mail goes to an address every ten minutes. The address is never "
        "linked to a statement of support."
    ),
)
@decorate_view(require_json)
def subscription_create(request: HttpRequest, slug: str, payload: SubscriptionIn) -> HttpResponse:
    initiative = initiative_get_public(slug=slug)
    subscription_request(
        initiative=initiative,
        address=payload.email,
        language=payload.language,
        client_key=client_address(request) or "",
    )
    return json_response({"status": "confirmation_sent"}, status=202)
