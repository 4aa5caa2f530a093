from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from datetime import date

from asgiref.sync import sync_to_async

from quorum.authorities.selectors import SealingKey, authority_sealing_keys
from quorum.initiatives.errors import InitiativeNotFound
from quorum.initiatives.selectors import (
    initiative_get_public,
    initiative_is_collecting,
    initiative_partners,
)
from quorum.initiatives.services.partners import partner_named

# Short enough that a closed collection or a new key takes effect within seconds; long enough
# that a crowd of signatories does not turn into a crowd of identical queries.
TARGET_TTL_SECONDS = 2.0


@dataclass(frozen=True)
class IntakeTarget:
    """What the intake needs to know of an initiative, read once and shared by many requests."""

    initiative_id: int
    slug: str
    scheme: str
    registration_number: str
    registration_date: date | None
    status: str
    collection_start: date | None
    collection_end: date | None
    sealing_keys: dict[str, SealingKey]
    #: The coalition partners' codes a statement may be signed through, code → name.
    partners: dict[str, str]

    def is_collecting(self, today: date) -> bool:
        return initiative_is_collecting(self, today=today)


_cache: dict[str, tuple[float, IntakeTarget | None]] = {}
_cache_lock = threading.Lock()


def intake_target(*, slug: str) -> IntakeTarget | None:
    now = time.monotonic()
    with _cache_lock:
        cached = _cache.get(slug)
        if cached is not None and cached[0] > now:
            return cached[1]
    try:
        initiative = initiative_get_public(slug=slug)
    except InitiativeNotFound:
        target = None
    else:
        target = IntakeTarget(
            initiative_id=initiative.pk,
            slug=initiative.slug,
            scheme=initiative.scheme,
            registration_number=initiative.registration_number,
            registration_date=initiative.registration_date,
            status=initiative.status,
            collection_start=initiative.collection_start,
            collection_end=initiative.collection_end,
            sealing_keys=authority_sealing_keys(scheme=initiative.scheme),
            partners=initiative_partners(initiative),
        )
    with _cache_lock:
        _cache[slug] = (now + TARGET_TTL_SECONDS, target)
    return target


def partner_of(target: IntakeTarget | None, via: object) -> str:
    """The partner code a ``via`` value names, or "" when it names none of the initiative's:
    an unknown, removed or malformed code is ignored, never a reason to refuse a statement."""
    return partner_named(via, target.partners) if target is not None else ""


def forget_intake_targets() -> None:
    with _cache_lock:
        _cache.clear()


_fills: dict[tuple[str, asyncio.AbstractEventLoop], asyncio.Future[IntakeTarget | None]] = {}


async def intake_target_async(*, slug: str) -> IntakeTarget | None:
    """:func:`intake_target` from async code: no thread while the cached one is fresh.

    When it is not, one query refreshes it for every request of this event loop that asks
    meanwhile (a crowd would otherwise send as many identical queries, every TTL).
    """
    with _cache_lock:
        cached = _cache.get(slug)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    loop = asyncio.get_running_loop()
    key = (slug, loop)
    fill = _fills.get(key)
    if fill is None:
        fill = asyncio.ensure_future(sync_to_async(intake_target)(slug=slug))
        _fills[key] = fill
        fill.add_done_callback(lambda _: _fills.pop(key, None))
    # Shielded: a request that gives up must not cancel the refresh the others wait for.
    return await asyncio.shield(fill)
