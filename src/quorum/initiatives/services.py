from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction

from quorum.core.audit import audit_log
from quorum.initiatives.models import Initiative


@transaction.atomic
def initiative_create(
    *,
    slug: str,
    title: dict[str, str],
    objectives: dict[str, str],
    language: str,
    status: str = Initiative.Status.DRAFT,
    registration_number: str = "",
    registration_date: date | None = None,
    collection_start: date | None = None,
    collection_end: date | None = None,
    website: str = "",
    actor: Any = None,
    actor_label: str = "",
) -> Initiative:
    initiative = Initiative(
        slug=slug,
        title=title,
        objectives=objectives,
        language=language,
        status=status,
        registration_number=registration_number,
        registration_date=registration_date,
        collection_start=collection_start,
        collection_end=collection_end,
        website=website,
    )
    initiative.full_clean()
    initiative.save()
    audit_log(
        action="quorum.initiative.created",
        subject=initiative,
        actor=actor,
        actor_label=actor_label,
        data={"status": status},
    )
    return initiative
