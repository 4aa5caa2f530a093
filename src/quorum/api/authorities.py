"""Public endpoints of the authorities' keys: who they are, their keys, and the key log.

The key log is append-only and signed like the statements' logs: every key an authority ever
registered, with its key certificate, so that anyone can check that no key was changed without
the authority.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema

from quorum.api.public import (
    CONSISTENCY_QUERY,
    MAX_SIZE,
    TEXT_PLAIN,
    public_read,
    text_response,
    tree_sizes,
)
from quorum.api.schemas import ErrorsOut
from quorum.authorities.models import AuthorityKey
from quorum.authorities.selectors import (
    MAX_KEY_LOG_LEAVES_PER_PAGE,
    authority_list,
    key_log_checkpoint_latest,
    key_log_consistency,
    key_log_inclusion,
    key_log_leaves,
)
from quorum.authorities.services import key_log_ensure_checkpoint
from quorum.core.errors import BadRequest
from quorum.proofs.key_certificate import KEY_LOG_PATH
from quorum.rules import RulesError, scheme

router = Router(tags=["authorities"])


class KeyOut(Schema):
    sequence: int
    fingerprint: str
    sealing_public_key: str
    signing_public_key: str
    registered_at: str


class AuthorityOut(Schema):
    member_state: str
    name: str
    key: KeyOut | None


class AuthoritiesOut(Schema):
    scheme: str
    authorities: list[AuthorityOut]
    key_log_origin_path: str


class AuthoritiesQuery(Schema):
    scheme: str = "eci"


class KeyLogLeafOut(Schema):
    index: int
    data: str


class KeyLogLeavesOut(Schema):
    start: int
    end: int
    tree_size: int
    leaves: list[KeyLogLeafOut]


class KeyLogLeavesQuery(Schema):
    start: int = 0
    end: int | None = None


class KeyLogInclusionQuery(Schema):
    index: int
    size: int


class PathOut(Schema):
    path: list[str]


def _key(key: AuthorityKey | None) -> dict[str, object] | None:
    if key is None:
        return None
    return {
        "sequence": key.sequence,
        "fingerprint": key.fingerprint,
        "sealing_public_key": key.sealing_public_key,
        "signing_public_key": key.signing_public_key,
        "registered_at": key.registered_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


@router.get(
    "/authorities",
    response={200: AuthoritiesOut, 400: ErrorsOut},
    summary="The competent authorities of a scheme and their current keys",
)
def authorities(
    request: HttpRequest, query: Query[AuthoritiesQuery], response: HttpResponse
) -> dict[str, object]:
    """Every authority with the fingerprint and public halves of the key statements are now
    sealed to. Each key is also an entry of the key log, with the certificate it came with."""
    try:
        scheme(query.scheme)
    except RulesError as exc:
        raise BadRequest(_("Unknown scheme."), field="scheme") from exc
    public_read(response)
    return {
        "scheme": query.scheme,
        "authorities": [
            {"member_state": a.member_state, "name": a.name, "key": _key(a.current_key)}
            for a in authority_list(scheme=query.scheme)
        ],
        "key_log_origin_path": KEY_LOG_PATH,
    }


@router.get(
    "/authorities/log/checkpoint",
    summary="The latest signed checkpoint of the key log",
    openapi_extra=text_response(
        "A C2SP signed note whose origin is '<log key name>/authorities/keys', signed with "
        "the same log key as the statements' checkpoints."
    ),
)
def key_log_checkpoint(request: HttpRequest) -> HttpResponse:
    # An empty key log has a checkpoint too: "no authority has a key" is verifiable as well.
    latest = key_log_checkpoint_latest() or key_log_ensure_checkpoint()
    return public_read(HttpResponse(latest.note, content_type=TEXT_PLAIN))


@router.get(
    "/authorities/log/leaves",
    response={200: KeyLogLeavesOut, 400: ErrorsOut, 422: ErrorsOut},
    summary="Entries of the key log",
    description=(
        "Each leaf's `data` is the exact canonical JSON whose RFC 9162 leaf hash is in the tree: "
        "the key certificate (or, for keys held before key certificates existed, the keys "
        f"marked as legacy). At most {MAX_KEY_LOG_LEAVES_PER_PAGE} per page."
    ),
)
def key_log_leaves_view(
    request: HttpRequest, query: Query[KeyLogLeavesQuery], response: HttpResponse
) -> dict[str, object]:
    size = (key_log_checkpoint_latest() or key_log_ensure_checkpoint()).size
    end = size if query.end is None else query.end
    if not 0 <= query.start <= end <= size:
        raise BadRequest(_("Ask for 0 ≤ start ≤ end ≤ the checkpoint's size."))
    leaves = key_log_leaves(start=query.start, end=end)
    public_read(response)
    return {
        "start": query.start,
        "end": query.start + len(leaves),
        "tree_size": size,
        "leaves": [{"index": index, "data": data} for index, data in leaves],
    }


@router.get(
    "/authorities/log/proof/inclusion",
    response={200: PathOut, 400: ErrorsOut, 422: ErrorsOut},
    summary="Inclusion proof of one key-log entry",
)
def key_log_inclusion_view(
    request: HttpRequest, query: Query[KeyLogInclusionQuery], response: HttpResponse
) -> dict[str, object]:
    latest = key_log_checkpoint_latest()
    size = latest.size if latest is not None else 0
    if not (0 <= query.index < query.size <= size <= MAX_SIZE):
        raise BadRequest(_("Ask for 0 ≤ index < size ≤ the checkpoint's size."))
    path = key_log_inclusion(index=query.index, size=query.size)
    public_read(response)
    return {"path": [node.hex() for node in path]}


@router.get(
    "/authorities/log/proof/consistency",
    response={200: PathOut, 400: ErrorsOut, 422: ErrorsOut},
    summary="Proof that the key log of size `from` is a prefix of the key log of size `to`",
    openapi_extra=CONSISTENCY_QUERY,
)
def key_log_consistency_view(request: HttpRequest, response: HttpResponse) -> dict[str, object]:
    old_size, new_size = tree_sizes(request)
    latest = key_log_checkpoint_latest()
    size = latest.size if latest is not None else 0
    if not (old_size <= new_size <= size <= MAX_SIZE):
        raise BadRequest(_("Ask for 0 ≤ from ≤ to ≤ the checkpoint's size."))
    path = key_log_consistency(old_size=old_size, new_size=new_size)
    public_read(response)
    return {"path": [node.hex() for node in path]}
