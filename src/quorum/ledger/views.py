"""The receipt check page: is my statement in the log, and is it counted?

Works without JavaScript: given ``?receipt=``, the server verifies the latest checkpoint's
signature with the log key, then the receipt's inclusion proof against that checkpoint's root
with the pure Merkle module, and says what it found in plain words. ``receipt.js`` repeats the
whole check in the browser, trusting nothing but the public API.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import datetime

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from quorum.core.i18n import language_from_address, member_state_name
from quorum.core.log_key import log_key, log_origin
from quorum.core.middleware import content_security_policy
from quorum.initiatives.models import Initiative
from quorum.initiatives.selectors import initiative_get_public, initiative_is_collecting
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
    root: str = ""  # the signed checkpoint's root hash, hex, for the technical details

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
        root=opened.root.hex(),
    )


def receipt_check_url(request: HttpRequest, slug: str, receipt: str = "") -> str:
    """The check page's full address (with the receipt, if given): what a saved or printed
    receipt points to."""
    url = request.build_absolute_uri(reverse("ledger:receipt", kwargs={"slug": slug}))
    return f"{url}?receipt={receipt}" if receipt else url


def receipt_page(request: HttpRequest, slug: str) -> HttpResponse:
    initiative = initiative_get_public(slug=slug)
    language = get_language()
    context: dict[str, object] = {
        "check_url": receipt_check_url(request, slug),
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
            context["check_url"] = receipt_check_url(request, slug, receipt)
            context["result"] = receipt_check(initiative, bytes.fromhex(receipt))
    response = render(request, "ledger/receipt.html", context, status=status)
    # A receipt in the address is nobody's business but its holder's: no shared caching.
    patch_cache_control(response, private=True, no_store=True)
    return response


#: Seconds between the framed counter's refreshes: a campaign site's visitors need no faster
#: count, and a crowd of them polls the counts API a thirtieth as often as the initiative page.
COUNTER_REFRESH_SECONDS = 30


def counter_embed(request: HttpRequest, slug: str) -> HttpResponse:
    """A small live counter that organisers may frame on their campaign site.

    ``?lang=<code>`` fixes its language for that answer: no cookie, no session, so the language
    is part of the address and every cache keys on it. Without it the counter speaks the
    visitor's language as every page does (the language cookie, then ``Accept-Language``).
    Shared caches key on the address and ``Accept-Language`` (``Vary``), never on the cookie
    (``Vary: Cookie`` would make the counter uncacheable for everyone), so an answer whose
    language came from a cookie is for that reader alone: private.
    """
    initiative = initiative_get_public(slug=slug)
    language = language_from_address(request.GET.get("lang"))
    shared = True
    if language is None:
        language = translation.get_language_from_request(request)
        without_cookies = copy.copy(request)
        without_cookies.COOKIES = {}
        shared = language == translation.get_language_from_request(without_cookies)
    with translation.override(language):
        active = get_language()
        counts = initiative_counts(initiative)
        needed = counts.total_needed
        response = render(
            request,
            "ledger/counter_embed.html",
            {
                "initiative": initiative,
                "title": initiative.text("title", active),
                "text_language": active if initiative.has_language(active) else initiative.language,
                "total": counts.total,
                "total_needed": needed,
                "total_percent": min(100, counts.total * 100 // needed) if needed else 0,
                "states_reached": counts.states_reached,
                "states_needed": counts.states_needed,
                "collecting": initiative_is_collecting(initiative),
                "interval": COUNTER_REFRESH_SECONDS,
            },
        )
    response["Content-Language"] = active
    patch_vary_headers(response, ("Accept-Language",))
    # The one page meant to be framed by other sites; it still loads nothing from them.
    response["Content-Security-Policy"] = content_security_policy(frame_ancestors="*")
    response.xframe_options_exempt = True
    if shared:
        patch_cache_control(response, public=True, max_age=COUNTER_REFRESH_SECONDS)
    else:
        patch_cache_control(response, private=True, max_age=COUNTER_REFRESH_SECONDS)
    return response
