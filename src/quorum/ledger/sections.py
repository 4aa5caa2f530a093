"""The ledger's section of the public initiative page: statements received, kept live.

Connected to ``initiative_page_sections`` in ``LedgerConfig.ready()``: the initiative page may
not import the ledger, so the ledger brings its section to it. Rendered on the server (the page
works without JavaScript); ``counts.js`` refreshes it from the public counts API.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone

from quorum.core.i18n import member_state_name
from quorum.initiatives.models import Initiative
from quorum.initiatives.selectors import initiative_is_collecting
from quorum.ledger.charts import growth_chart
from quorum.ledger.map import progress_map
from quorum.ledger.selectors import initiative_counts, log_growth

# Collecting or past it: before the collection starts there is nothing to count.
COUNTED_STATUSES = frozenset(
    {
        Initiative.Status.COLLECTING,
        Initiative.Status.COLLECTION_CLOSED,
        Initiative.Status.VERIFICATION,
        Initiative.Status.VERIFIED,
        Initiative.Status.SUBMITTED,
        Initiative.Status.ANSWERED,
        Initiative.Status.UNSUCCESSFUL,
        Initiative.Status.WITHDRAWN,
    }
)


def counts_shown(initiative: Initiative, *, today: date) -> bool:
    return (
        initiative.status in COUNTED_STATUSES
        and initiative.collection_start is not None
        and initiative.collection_start <= today
    )


def counts_section(
    sender: object, *, initiative: Initiative, request: HttpRequest, **kwargs: Any
) -> str:
    """The live counts section, or "" for an initiative that has not started collecting."""
    today = timezone.localdate()
    if not counts_shown(initiative, today=today):
        return ""
    counts = initiative_counts(initiative)
    collecting = initiative_is_collecting(initiative, today=today)
    end = initiative.collection_end
    rows = [
        {
            "code": row.code,
            "name": member_state_name(row.code),
            "count": row.count,
            "threshold": row.threshold,
            "reached": row.reached,
            "percent": min(100, row.count * 100 // row.threshold) if row.threshold else 0,
            "paper_declared": row.paper_declared,
            "with_paper": row.with_paper,
            "reached_with_paper": row.reached_with_paper,
        }
        for row in counts.by_member_state
    ]
    # The count over time from the flagged daily checkpoints: one cheap query, the same points
    # as the organisers' dashboard and the series API.
    growth = log_growth(initiative_id=initiative.pk)
    context = {
        "initiative": initiative,
        "counts": counts,
        "rows": rows,
        "progress_map": progress_map(counts.by_member_state),
        "growth": growth,
        "growth_chart": growth_chart(growth),
        "total_percent": min(100, counts.total * 100 // counts.total_needed)
        if counts.total_needed
        else 0,
        "collecting": collecting,
        "collection_end": end,
        "days_left": (end - today).days if collecting and end is not None else None,
        "ended": end is not None and end < today,
        # Seconds between refreshes: one sequencer round, and never more than once a second.
        "interval": f"{max(1.0, float(settings.QUORUM_SEQUENCER_INTERVAL)):g}",
    }
    return render_to_string("ledger/counts_section.html", context, request=request)
