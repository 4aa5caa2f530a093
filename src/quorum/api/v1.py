"""The public JSON API, version 1. OpenAPI at /api/v1/openapi.json."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Query, Schema

from quorum.api.authorities import router as authorities_router
from quorum.api.errors import install_error_handlers
from quorum.api.initiatives import router as initiatives_router
from quorum.api.ledger import router as ledger_router
from quorum.api.schemas import ChallengeOut, ErrorsOut
from quorum.api.statements import router as statements_router
from quorum.api.verification import router as verification_router
from quorum.core.errors import BadRequest
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
    try:
        challenge = proof_of_work.issue_challenge(scope=query.scope)
    except ValueError as exc:
        raise BadRequest(_("This value is not valid."), field="scope") from exc
    response["Cache-Control"] = "no-store"
    return challenge
