"""Submitting a statement of support as JSON: one answer, whichever door the request came by.

The route below is the documented one (OpenAPI) and serves whatever reaches Django. Under
ASGI the fast path (``quorum.fastpath``) answers the same POST before Django's middleware
stack with :func:`statement_post`; both end in :func:`statement_answer`, so the status, body
and headers of every answer are the same.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language
from ninja import Router
from ninja.decorators import decorate_view
from pydantic import ValidationError

from quorum.api.errors import (
    JSON_CONTENT_TYPE,
    domain_error_response,
    errors_response,
    is_json_content_type,
    not_json_response,
    require_json,
    unsupported_media_type,
    validation_errors,
)
from quorum.api.schemas import ErrorsOut, ReceiptOut, StatementIn
from quorum.core.clients import client_address
from quorum.core.errors import DomainError
from quorum.signing.fields import flatten
from quorum.signing.services import Receipt, statement_submit

router = Router(tags=["statements"])


async def statement_answer(request: HttpRequest, slug: str, payload: StatementIn) -> HttpResponse:
    """201 with the receipt once the statement is durably stored, or the refusal."""
    outcome = await _receipt_or_refusal(request, slug, payload)
    return created_response(outcome) if isinstance(outcome, Receipt) else outcome


async def _receipt_or_refusal(
    request: HttpRequest, slug: str, payload: StatementIn
) -> Receipt | HttpResponse:
    try:
        return await statement_submit(
            slug=slug,
            data=flatten(payload.model_dump(exclude_none=True)),
            language=get_language(),
            client_address=client_address(request),
        )
    except DomainError as exc:
        return domain_error_response(request, exc)


def created_body(receipt: Receipt) -> bytes:
    """The body of the 201: the same bytes through either door."""
    return json.dumps({"receipt": receipt.value}).encode()


def created_response(receipt: Receipt) -> HttpResponse:
    response = HttpResponse(created_body(receipt), status=201, content_type=JSON_CONTENT_TYPE)
    response["Cache-Control"] = "no-store"
    return response


async def statement_post(request: HttpRequest, slug: str) -> Receipt | HttpResponse:
    """The whole POST from the raw request, read as django-ninja reads the route's body: the
    receipt of the statement stored, or the answer that refuses it.

    The fast path sends a receipt as :func:`created_response` would, without building it.
    """
    if not is_json_content_type(request.META.get("CONTENT_TYPE", "")):
        return unsupported_media_type(request)
    body = request.body
    try:
        # No body is no payload: ninja then reports the missing payload, not bad JSON.
        data = json.loads(body) if body else None
    except ValueError:
        return not_json_response()
    try:
        payload = StatementIn.model_validate(data)
    except ValidationError as exc:
        return errors_response(validation_errors(_as_missing_payload(exc, data)), 422)
    return await _receipt_or_refusal(request, slug, payload)


def _as_missing_payload(exc: ValidationError, data: object) -> list[dict[str, object]]:
    if data is None:
        return [{"type": "missing", "loc": ()}]
    return [dict(error) for error in exc.errors()]


@router.post(
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
    return await statement_answer(request, slug, payload)
