"""For the benchmark only: the durable batched insert of a statement-sized row, and nothing else.

``bench/intake.py`` measures the intake against this ceiling: the same server, the same
workers and the same group-commit writer, answering a request with no parsing, validation,
sealing or framework at all. It exists only while ``QUORUM_BENCH_CEILING`` names an initiative
(never in a deployment: the rows it stores are noise, in that initiative's log).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from asgiref.sync import sync_to_async

from quorum.core.limits import Receive, Scope, Send
from quorum.initiatives.models import Initiative
from quorum.ledger.intake import IntakeRow, IntakeUnavailable, get_intake_writer
from quorum.signing.content import PAD_TO

PATH = "/bench/ceiling"
#: A sealed box adds an X25519 public key (32 bytes) and a MAC (16 bytes) to the plaintext.
SEALED_BOX_OVERHEAD = 48
#: A typical statement pads to two blocks.
CIPHERTEXT_BYTES = 2 * PAD_TO + SEALED_BOX_OVERHEAD

_initiative_id: int | None = None


async def _initiative(slug: str) -> int:
    global _initiative_id
    if _initiative_id is None:
        initiative = await sync_to_async(Initiative.objects.get)(slug=slug)
        _initiative_id = initiative.pk
    return _initiative_id


async def ceiling(scope: Scope, receive: Receive, send: Send, slug: str) -> None:
    while (await receive()).get("more_body", False):
        pass
    row = IntakeRow(
        initiative_id=await _initiative(slug),
        member_state="PL",
        ciphertext=os.urandom(CIPHERTEXT_BYTES),
        ciphertext_sha256=os.urandom(32),
        leaf_hash=os.urandom(32),
        received_at=datetime.now(UTC).replace(microsecond=0),
    )
    try:
        await get_intake_writer().write(row)
        status, body = 201, b'{"stored": true}'
    except IntakeUnavailable:
        status, body = 503, b'{"stored": false}'
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
