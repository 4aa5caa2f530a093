"""The receipt check page: is my statement in the log, and is it counted?

Works without JavaScript: given ``?receipt=``, the server verifies the latest checkpoint's
signature with the log key, then the receipt's inclusion proof against that checkpoint's root
with the pure Merkle module, and says what it found in plain words. ``receipt.js`` repeats the
whole check in the browser, trusting nothing but the public API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from quorum.core.i18n import member_state_name
from quorum.core.log_key import log_key, log_origin
from quorum.core.middleware import CONTENT_SECURITY_POLICY
from quorum.initiatives.models import Initiative
from quorum.initiatives.selectors import initiative_get_public
from quorum.ledger.selectors import (
    ProofUnavailable,
    checkpoint_latest,
    initiative_counts,
    leaves_page,
    proof_inclusion,
    statement_exists,
)
from quorum.proofs import merkle
from quorum.proofs.signed_note import NoteError, open_checkpoint

RECEIPT = re.compile(r"[0-9a-f]{64}")
MAX_ECHO = 200  # characters of a malformed receipt shown back in the field

COUNTED = "counted"
PENDING = "pending"
NOT_FOUND = "not_found"
UNVERIFIED = "unverified"


@dataclass(frozen=True)
class ReceiptCheck:
    outcome: str
    leaf_index: int | None = None
    tree_size: int | None = None
    member_state: str = ""
    signed_at: datetime | None = None

    @property
    def entry(self) -> int | None:
        """The leaf's position counted from 1, as people count."""
        return None if self.leaf_index is None else self.leaf_index + 1


def normalise_receipt(raw: str) -> str | None:
    """The receipt as 64 lower-case hex digits (spaces and line breaks dropped), else None."""
    receipt = "".join(raw.split()).lower()
    return receipt if RECEIPT.fullmatch(receipt) else None


def _absent(initiative_id: int, leaf_hash: bytes) -> ReceiptCheck:
    # Written but not yet sequenced (or sequenced after the checkpoint we checked): it joins
    # the log within a sequencer interval. A receipt is an unguessable hash of a sealed
    # statement, so telling "not yet" from "unknown" reveals nothing about anyone.
    written = statement_exists(initiative_id=initiative_id, leaf_hash=leaf_hash)
    return ReceiptCheck(PENDING if written else NOT_FOUND)


def receipt_check(initiative: Initiative, leaf_hash: bytes) -> ReceiptCheck:
    """Verify the latest checkpoint, then the receipt's inclusion in it."""
    latest = checkpoint_latest(initiative_id=initiative.pk)
    if latest is None:
        return _absent(initiative.pk, leaf_hash)
    try:
        opened = open_checkpoint(
            latest.note, log_key().verifier, origin=log_origin(initiative.slug)
        )
    except NoteError:
        return ReceiptCheck(UNVERIFIED)
    if opened.size == 0:
        return _absent(initiative.pk, leaf_hash)
    try:
        proof = proof_inclusion(initiative_id=initiative.pk, leaf_hash=leaf_hash, size=opened.size)
    except ProofUnavailable:
        return _absent(initiative.pk, leaf_hash)
    except (KeyError, ValueError):  # the node store cannot serve this proof
        return ReceiptCheck(UNVERIFIED)
    if proof.tree_size != opened.size or not merkle.verify_inclusion(
        leaf_hash, proof.leaf_index, proof.tree_size, proof.path, opened.root
    ):
        return ReceiptCheck(UNVERIFIED)
    leaf = leaves_page(
        initiative_id=initiative.pk, start=proof.leaf_index, end=proof.leaf_index + 1
    )
    return ReceiptCheck(
        COUNTED,
        leaf_index=proof.leaf_index,
        tree_size=opened.size,
        member_state=member_state_name(str(leaf[0]["member_state"])) if leaf else "",
        signed_at=latest.created_at,
    )


def receipt_page(request: HttpRequest, slug: str) -> HttpResponse:
    initiative = initiative_get_public(slug=slug)
    language = get_language()
    context: dict[str, object] = {
        "initiative": initiative,
        "title": initiative.text("title", language),
        "text_language": language if initiative.has_language(language) else initiative.language,
        "receipt": "",
        "error": "",
        "result": None,
    }
    status = 200
    raw = request.GET.get("receipt")
    if raw is not None:
        receipt = normalise_receipt(raw)
        if receipt is None:
            status = 400
            context["receipt"] = raw[:MAX_ECHO]
            context["error"] = (
                _("Paste your receipt: 64 hexadecimal digits (0 to 9 and a to f).")
                if not raw.strip()
                else _(
                    "This is not a valid receipt: a receipt is 64 hexadecimal digits (0 to 9 and a to f)."
                )
            )
        else:
            context["receipt"] = receipt
            context["result"] = receipt_check(initiative, bytes.fromhex(receipt))
    response = render(request, "ledger/receipt.html", context, status=status)
    # A receipt in the address is nobody's business but its holder's: no shared caching.
    patch_cache_control(response, private=True, no_store=True)
    return response


def counter_embed(request: HttpRequest, slug: str) -> HttpResponse:
    """A tiny live counter that organisers may frame on their campaign site."""
    initiative = initiative_get_public(slug=slug)
    counts = initiative_counts(initiative)
    response = render(
        request,
        "ledger/counter_embed.html",
        {
            "initiative": initiative,
            "title": initiative.text("title", get_language()),
            "total": counts.total,
            "states_reached": counts.states_reached,
            "states_needed": counts.states_needed,
            "total_needed": counts.total_needed,
        },
    )
    # The one page meant to be framed by other sites; it still loads nothing from them.
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
        "frame-ancestors 'none'", "frame-ancestors *"
    )
    response.xframe_options_exempt = True
    patch_cache_control(response, public=True, max_age=30)
    return response
