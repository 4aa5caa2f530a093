"""Public endpoints of the logs: checkpoints, counts, proofs, leaves, the log key."""

from __future__ import annotations

import re

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema

from quorum.api.errors import GENERAL
from quorum.api.public import public_read
from quorum.api.schemas import ErrorsOut
from quorum.core.log_key import log_key
from quorum.initiatives.models import Initiative
from quorum.initiatives.selectors import initiative_get_public
from quorum.ledger.selectors import (
    MAX_LEAVES_PER_PAGE,
    ProofUnavailable,
    checkpoint_latest,
    initiative_counts,
    leaves_page,
    proof_consistency,
    proof_inclusion,
)

router = Router(tags=["logs"])
RECEIPT = re.compile(r"[0-9a-f]{64}")
MAX_SIZE = 2**62
TEXT_PLAIN = "text/plain; charset=utf-8"


def _text_response(description: str) -> dict[str, object]:
    """OpenAPI for a 200 of plain text (ninja documents any ``response=str`` as JSON)."""
    content = {"text/plain": {"schema": {"type": "string"}}}
    return {"responses": {200: {"description": description, "content": content}}}


class CountOut(Schema):
    count: int
    threshold: int
    reached: bool


class CountsOut(Schema):
    total: int
    by_member_state: dict[str, CountOut]
    states_reached: int
    checkpoint_size: int


class InclusionOut(Schema):
    leaf_index: int
    tree_size: int
    path: list[str]


class ConsistencyOut(Schema):
    path: list[str]


class LeafOut(Schema):
    index: int
    member_state: str
    received_at: str
    ciphertext_sha256: str
    leaf_hash: str


class LeavesOut(Schema):
    start: int
    end: int
    tree_size: int
    leaves: list[LeafOut]


class InclusionQuery(Schema):
    receipt: str
    size: int | None = None


class LeavesQuery(Schema):
    start: int = 0
    end: int | None = None


def _errors(request: HttpRequest, errors: dict[str, list[str]], status: int) -> HttpResponse:
    return public_read(JsonResponse({"errors": errors}, status=status))


def _initiative(slug: str) -> Initiative | None:
    try:
        return initiative_get_public(slug=slug)
    except Initiative.DoesNotExist:
        return None


def _not_found(request: HttpRequest) -> HttpResponse:
    return _errors(request, {GENERAL: [_("No such initiative.")]}, 404)


@router.get(
    "/initiatives/{slug}/checkpoint",
    response={404: ErrorsOut},
    summary="The latest signed checkpoint",
    openapi_extra=_text_response(
        "The checkpoint as a C2SP signed note: origin, size and base64 root hash, a blank "
        "line, then one signature line per key."
    ),
)
def checkpoint(request: HttpRequest, slug: str) -> HttpResponse:
    """A C2SP checkpoint (origin, size, base64 root) signed as a C2SP note with the log key."""
    initiative = _initiative(slug)
    if initiative is None:
        return _not_found(request)
    latest = checkpoint_latest(initiative_id=initiative.pk)
    if latest is None:
        return _errors(request, {GENERAL: [_("The log has no checkpoint yet.")]}, 404)
    return public_read(HttpResponse(latest.note, content_type=TEXT_PLAIN))


@router.get(
    "/initiatives/{slug}/counts",
    response={200: CountsOut, 404: ErrorsOut},
    summary="Statements received per Member State",
)
def counts(request: HttpRequest, slug: str) -> HttpResponse:
    initiative = _initiative(slug)
    if initiative is None:
        return _not_found(request)
    result = initiative_counts(initiative)
    body = {
        "total": result.total,
        "by_member_state": {
            row.code: {"count": row.count, "threshold": row.threshold, "reached": row.reached}
            for row in result.by_member_state
        },
        "states_reached": result.states_reached,
        "checkpoint_size": result.checkpoint_size,
    }
    return public_read(JsonResponse(body, status=200))


@router.get(
    "/initiatives/{slug}/proof/inclusion",
    response={200: InclusionOut, 404: ErrorsOut, 422: ErrorsOut},
    summary="Proof that a receipt's statement is in the log",
)
def inclusion(request: HttpRequest, slug: str, query: Query[InclusionQuery]) -> HttpResponse:
    initiative = _initiative(slug)
    if initiative is None:
        return _not_found(request)
    receipt = query.receipt.strip().lower()
    if not RECEIPT.fullmatch(receipt):
        return _errors(request, {"receipt": [_("A receipt is 64 hexadecimal digits.")]}, 422)
    if query.size is not None and not 0 < query.size <= MAX_SIZE:
        return _errors(request, {"size": [_("This value is not valid.")]}, 422)
    try:
        proof = proof_inclusion(
            initiative_id=initiative.pk, leaf_hash=bytes.fromhex(receipt), size=query.size
        )
    except ProofUnavailable:
        return _errors(request, {"receipt": [_("This receipt is not in the log (yet).")]}, 404)
    body = {
        "leaf_index": proof.leaf_index,
        "tree_size": proof.tree_size,
        "path": [h.hex() for h in proof.path],
    }
    return public_read(JsonResponse(body, status=200))


#: The query of a consistency proof: ``from`` and ``to`` are the two tree sizes (ninja cannot
#: name a parameter ``from``, so it is read by hand and documented here).
CONSISTENCY_QUERY: dict[str, object] = {
    "parameters": [
        {"name": name, "in": "query", "required": True, "schema": {"type": "integer", "minimum": 0}}
        for name in ("from", "to")
    ]
}


def tree_sizes(request: HttpRequest) -> tuple[dict[str, int], dict[str, list[str]]]:
    """The ``from`` and ``to`` sizes of a consistency proof, or errors for the field."""
    sizes: dict[str, int] = {}
    errors: dict[str, list[str]] = {}
    for name in ("from", "to"):
        raw = request.GET.get(name, "")
        if not raw.isdigit() or len(raw) > 19:
            errors[name] = [_("Enter a tree size: a whole number.")]
        else:
            sizes[name] = int(raw)
    return sizes, errors


@router.get(
    "/initiatives/{slug}/proof/consistency",
    response={200: ConsistencyOut, 404: ErrorsOut, 422: ErrorsOut},
    summary="Proof that the log of size `from` is a prefix of the log of size `to`",
    openapi_extra=CONSISTENCY_QUERY,
)
def consistency(request: HttpRequest, slug: str) -> HttpResponse:
    initiative = _initiative(slug)
    if initiative is None:
        return _not_found(request)
    sizes, errors = tree_sizes(request)
    if errors:
        return _errors(request, errors, 422)
    try:
        path = proof_consistency(
            initiative_id=initiative.pk, old_size=sizes["from"], new_size=sizes["to"]
        )
    except ProofUnavailable:
        return _errors(request, {GENERAL: [_("The log has no such sizes.")]}, 404)
    return public_read(JsonResponse({"path": [h.hex() for h in path]}, status=200))


@router.get(
    "/initiatives/{slug}/leaves",
    response={200: LeavesOut, 404: ErrorsOut, 422: ErrorsOut},
    summary=f"Public leaf data, at most {MAX_LEAVES_PER_PAGE} per page",
)
def leaves(request: HttpRequest, slug: str, query: Query[LeavesQuery]) -> HttpResponse:
    initiative = _initiative(slug)
    if initiative is None:
        return _not_found(request)
    if not 0 <= query.start <= MAX_SIZE or (
        query.end is not None and not 0 <= query.end <= MAX_SIZE
    ):
        return _errors(request, {"start": [_("This value is not valid.")]}, 422)
    latest = checkpoint_latest(initiative_id=initiative.pk)
    tree_size = latest.size if latest else 0
    end = query.end if query.end is not None else query.start + MAX_LEAVES_PER_PAGE
    page = leaves_page(initiative_id=initiative.pk, start=query.start, end=end)
    body = {
        "start": query.start,
        "end": query.start + len(page),
        "tree_size": tree_size,
        "leaves": page,
    }
    return public_read(JsonResponse(body, status=200))


@router.get(
    "/log-key",
    summary="The platform's log key, in signed-note verifier form",
    openapi_extra=_text_response("One line: the verifier key, <name>+<hash>+<base64 key>."),
)
def log_key_view(request: HttpRequest) -> HttpResponse:
    return public_read(
        HttpResponse(log_key().verifier + "\n", content_type=TEXT_PLAIN), max_age=3600
    )
