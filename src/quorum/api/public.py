"""What the public reads share: open to any origin, cacheable for one sequencer interval, and
the pieces of the logs' endpoints that both kinds of log (statements, keys) use."""

from __future__ import annotations

import hashlib
from datetime import datetime

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from quorum.core.caching import precondition_answer, public_cache
from quorum.core.errors import Invalid, Message

#: The largest tree size any query may name: far beyond any log, and within a signed 64 bits.
MAX_SIZE = 2**62
TEXT_PLAIN = "text/plain; charset=utf-8"


def public_read(response: HttpResponse, *, max_age: int | None = None) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = "*"
    return public_cache(response, max_age=max_age)


def checkpoint_etag(size: int, root: bytes, *more: str) -> str | None:
    """The ETag of an answer made from a log's checkpoint; None while the log has none.

    The size and root fix all that the log says; ``more`` names whatever else the answer is
    made from (the rules that give the thresholds).
    """
    if size == 0:
        return None
    digest = hashlib.sha256("\n".join([root.hex(), *more]).encode()).hexdigest()[:16]
    return f'"{size}-{digest}"'


def not_modified(
    request: HttpRequest, *, etag: str | None, last_modified: datetime | None
) -> HttpResponse | None:
    """A public read's 304 (or 412) when the request's conditions call for it, else None."""
    answer = precondition_answer(request, etag=etag, last_modified=last_modified)
    if answer is not None and answer.status_code == 304:
        public_read(answer)
    return answer


def text_response(description: str) -> dict[str, object]:
    """OpenAPI for a 200 of plain text (ninja documents any ``response=str`` as JSON)."""
    content = {"text/plain": {"schema": {"type": "string"}}}
    return {"responses": {200: {"description": description, "content": content}}}


#: The query of a consistency proof: ``from`` and ``to`` are the two tree sizes (ninja cannot
#: name a parameter ``from``, so it is read by hand and documented here).
CONSISTENCY_QUERY: dict[str, object] = {
    "parameters": [
        {"name": name, "in": "query", "required": True, "schema": {"type": "integer", "minimum": 0}}
        for name in ("from", "to")
    ]
}


def tree_sizes(request: HttpRequest) -> tuple[int, int]:
    """The ``from`` and ``to`` sizes of a consistency proof; Invalid names each bad one."""
    sizes: dict[str, int] = {}
    errors: dict[str, list[Message]] = {}
    for name in ("from", "to"):
        raw = request.GET.get(name, "")
        if not raw.isdigit() or len(raw) > 19:
            errors[name] = [_("Enter a tree size: a whole number.")]
        else:
            sizes[name] = int(raw)
    if errors:
        raise Invalid(_("The request was refused."), errors)
    return sizes["from"], sizes["to"]
