"""The public JSON API, version 1. OpenAPI at /api/v1/openapi.json."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Query, Schema
from ninja.decorators import decorate_view

from quorum.api.authorities import router as authorities_router
from quorum.api.errors import GENERAL, errors_response, install_error_handlers, require_json
from quorum.api.initiatives import router as initiatives_router
from quorum.api.ledger import router as ledger_router
from quorum.api.schemas import ChallengeOut, ErrorsOut, ReceiptOut, StatementIn
from quorum.api.verification import router as verification_router
from quorum.core.clients import client_address
from quorum.signing import pow as proof_of_work
from quorum.signing.fields import flatten
from quorum.signing.services import (
    InitiativeNotFound,
    IntakeBusy,
    NotCollecting,
    RateLimited,
    StatementInvalid,
    statement_submit,
)

api = NinjaAPI(
    title="Quorum API",
    version="1",
    description=(
        "Public API of a Quorum platform. Reads are open to any origin and answer HEAD as "
        "GET without the body; errors have one shape: "
        '{"errors": {field: [message]}}, in the language of Accept-Language. '
        "Request bodies are JSON only (Content-Type: application/json, optionally with "
        "charset=utf-8; anything else is refused with 415) and at most "
        f"{settings.QUORUM_BODY_LIMIT // 1024} KiB (413)."
    ),
    urls_namespace="api-v1",
    docs_url=None,
)
install_error_handlers(api)
api.add_router("/", ledger_router)
api.add_router("/", initiatives_router)
api.add_router("/", verification_router)
api.add_router("/", authorities_router)


class ChallengeQuery(Schema):
    scope: str = "statement"


@api.get(
    "/pow/challenge",
    response={200: ChallengeOut, 400: ErrorsOut},
    summary="A proof-of-work challenge (ALTCHA protocol)",
    description="`scope` binds the challenge to one action: `statement:<initiative slug>`.",
)
def pow_challenge(request: HttpRequest, query: Query[ChallengeQuery]) -> HttpResponse:
    try:
        challenge = proof_of_work.issue_challenge(scope=query.scope)
    except ValueError:
        return errors_response(api, request, {"scope": [_("This value is not valid.")]}, 400)
    response = api.create_response(request, challenge, status=200)
    response["Cache-Control"] = "no-store"
    return response


@api.post(
    "/initiatives/{slug}/statements",
    response={
        201: ReceiptOut,
        400: ErrorsOut,
        404: ErrorsOut,
        409: ErrorsOut,
        413: ErrorsOut,
        415: ErrorsOut,
        422: ErrorsOut,
        429: ErrorsOut,
        503: ErrorsOut,
    },
    summary="Submit a statement of support",
    description=(
        "The body is a JSON object sent with `Content-Type: application/json` (optionally "
        "`; charset=utf-8`); any other content type is refused with 415 before the body is "
        "read, so that no other site can make its visitors' browsers submit a statement "
        f"without a CORS preflight. Bodies over {settings.QUORUM_BODY_LIMIT // 1024} KiB are "
        "refused with 413."
    ),
)
@decorate_view(require_json)
async def statement_create(request: HttpRequest, slug: str, payload: StatementIn) -> HttpResponse:
    data = flatten(payload.model_dump(exclude_none=True))
    try:
        receipt = await statement_submit(
            slug=slug,
            data=data,
            language=get_language(),
            client_address=client_address(request),
        )
    except StatementInvalid as exc:
        errors = {name: [_(reason) for reason in reasons] for name, reasons in exc.errors.items()}
        return errors_response(api, request, errors, 422)
    except InitiativeNotFound:
        return errors_response(api, request, {GENERAL: [_("No such initiative.")]}, 404)
    except NotCollecting:
        return errors_response(
            api,
            request,
            {GENERAL: [_("This initiative is not collecting statements of support.")]},
            409,
        )
    except RateLimited as exc:
        response = errors_response(api, request, {GENERAL: [str(exc.message)]}, 429)
        response["Retry-After"] = str(exc.retry_after)
        return response
    except IntakeBusy as exc:
        response = errors_response(api, request, {GENERAL: [str(exc.message)]}, 503)
        response["Retry-After"] = "1"
        return response
    response = api.create_response(request, {"receipt": receipt.value}, status=201)
    response["Cache-Control"] = "no-store"
    return response
