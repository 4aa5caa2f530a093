"""The public JSON API, version 1. OpenAPI at /api/v1/openapi.json."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Query, Schema

from quorum.api.authorities import router as authorities_router
from quorum.api.errors import domain_error_response, install_error_handlers, json_response
from quorum.api.initiatives import router as initiatives_router
from quorum.api.ledger import router as ledger_router
from quorum.api.schemas import ChallengeOut, ErrorsOut
from quorum.api.statements import router as statements_router
from quorum.api.updates import router as updates_router
from quorum.api.verification import router as verification_router
from quorum.core.errors import BadRequest, DomainError
from quorum.signing import pow as proof_of_work

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
api.add_router("/", statements_router)
api.add_router("/", updates_router)


class ChallengeQuery(Schema):
    scope: str = "statement"


@api.get(
    "/pow/challenge",
    response={200: ChallengeOut, 400: ErrorsOut},
    summary="A proof-of-work challenge (ALTCHA protocol)",
    description="`scope` binds the challenge to one action: `statement:<initiative slug>`.",
)
def pow_challenge(
    request: HttpRequest, query: Query[ChallengeQuery], response: HttpResponse
) -> dict[str, object]:
    response["Cache-Control"] = "no-store"
    return challenge_for(query.scope)


def challenge_for(scope: str) -> dict[str, object]:
    """A fresh challenge for ``scope``; BadRequest for a scope that is not one."""
    try:
        return proof_of_work.issue_challenge(scope=scope)
    except ValueError as exc:
        raise BadRequest(_("This value is not valid."), field="scope") from exc


async def pow_challenge_get(request: HttpRequest) -> HttpResponse:
    """The challenge GET from the raw request, for the fast path: each signatory fetches one
    before signing, so a crowd sends as many of them as statements."""
    try:
        challenge = challenge_for(request.GET.get("scope", ChallengeQuery().scope))
    except DomainError as exc:
        return domain_error_response(request, exc)
    answer = json_response(challenge, 200)
    answer["Cache-Control"] = "no-store"
    return answer
