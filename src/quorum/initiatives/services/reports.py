"""Progress reports (Art. 9(7)): the counts the organisers report every two months."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from quorum.core.audit import Actor, audit_log
from quorum.initiatives.models import Initiative, ProgressReport
from quorum.initiatives.services.checks import InvalidRequest
from quorum.rules import scheme


@transaction.atomic
def progress_report_file(
    *,
    initiative: Initiative,
    online_count: int,
    paper_counts: dict[str, int],
    actor: Actor = None,
    actor_label: str = "",
    today: date | None = None,
) -> ProgressReport:
    """Art. 9(7): the online count is the log's (passed in by the caller), paper is declared."""
    codes = set(scheme(initiative.scheme).member_state_codes())
    bad = [
        code
        for code, count in paper_counts.items()
        if code not in codes or not isinstance(count, int) or count < 0
    ]
    if bad:
        raise InvalidRequest(
            {"paper_counts": [_("Paper counts must be whole numbers per Member State.")]}
        )
    report = ProgressReport.objects.create(
        initiative=initiative,
        reported_on=today or timezone.localdate(),
        online_count=online_count,
        paper_counts={code: count for code, count in sorted(paper_counts.items()) if count},
    )
    audit_log(
        action="quorum.initiative.progress_reported",
        subject=initiative,
        actor=actor,
        actor_label=actor_label,
        data={"online": online_count, "paper": sum(paper_counts.values())},
    )
    return report
