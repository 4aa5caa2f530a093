"""Public endpoints of the logs: checkpoints, counts and the counts over time, proofs, leaves,
the log key."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from typing import Literal

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema

from quorum.api.public import (
    CONSISTENCY_QUERY,
    MAX_SIZE,
    TEXT_PLAIN,
    checkpoint_etag,
    not_modified,
    public_read,
    text_response,
    tree_sizes,
)
from quorum.api.schemas import ErrorsOut
from quorum.core.caching import set_validators
from quorum.core.errors import Invalid, NotFound
from quorum.core.log_key import log_key
from quorum.initiatives.models import Initiative
from quorum.initiatives.selectors import initiative_get_public
from quorum.ledger.selectors import (
    MAX_LEAVES_PER_PAGE,
    MAX_SERIES_POINTS,
    Interval,
    ProofUnavailable,
    SeriesPoint,
    checkpoint_latest,
    count_series,
    initiative_counts,
    leaves_page,
    proof_consistency,
    proof_inclusion,
)
from quorum.rules import scheme

router = Router(tags=["logs"])
RECEIPT = re.compile(r"[0-9a-f]{64}")
RECEIPT_FORMAT = _("A receipt is 64 hexadecimal digits.")
NOT_VALID = _("This value is not valid.")


class CountOut(Schema):
    count: int = Field(description="Statements in the log: anyone can recount them.")
    threshold: int
    reached: bool = Field(description="The log's count alone is at the threshold.")
    paper_declared: int = Field(
        description="Statements collected on paper, as the organisers last declared them: not "
        "in the log and not verified by anyone yet; never added into `count`."
    )
    reached_with_paper: bool = Field(
        description="Not reached by the log's count, but reached once the declared paper "
        "statements are added to it."
    )


class CountsOut(Schema):
    total: int
    by_member_state: dict[str, CountOut]
    states_reached: int
    checkpoint_size: int
    by_partner: dict[str, int] = Field(
        description="Statements per coalition partner's code, for the codes that brought any; "
        "recounted from the leaves like the Member States' counts."
    )
    without_partner: int = Field(description="Statements signed through no partner's link.")
    paper_declared: int = Field(
        description="Statements collected on paper in all Member States, as the organisers "
        "last declared them (in a progress report); not part of `total`."
    )
    paper_reported_on: date | None = Field(
        description="The day of that declaration; null when none was made."
    )
    total_with_paper: int = Field(description="`total` plus `paper_declared`.")
    states_reached_with_paper: int = Field(
        description="Member States at their threshold by the log's count or with the declared "
        "paper statements added."
    )


class InclusionOut(Schema):
    leaf_index: int
    tree_size: int
    path: list[str]


class ConsistencyOut(Schema):
    path: list[str]


class LeafOut(Schema):
    index: int
    member_state: str
    partner: str = Field(description="The coalition partner's code, or an empty string.")
    received_at: str
    ciphertext_sha256: str
    leaf_hash: str


class LeavesOut(Schema):
    start: int
    end: int
    tree_size: int
    leaves: list[LeafOut]


class SeriesPointOut(Schema):
    at: str = Field(description="When the checkpoint was signed: UTC, YYYY-MM-DDTHH:MM:SSZ.")
    period: str = Field(
        description="The start of the UTC hour or day whose last checkpoint this is "
        "(YYYY-MM-DDTHH:00:00Z)."
    )
    size: int = Field(description="The checkpoint's tree size: statements in the log then.")
    root: str = Field(description="The checkpoint's RFC 9162 root hash, 64 hexadecimal digits.")
    by_member_state: dict[str, int] = Field(
        description="Statements per Member State in the log's first `size` leaves; codes "
        "with none left out."
    )
    by_partner: dict[str, int] = Field(
        description="Statements per coalition partner's code in those leaves; codes with "
        "none left out (the rest were signed through no partner)."
    )


class SeriesOut(Schema):
    interval: Interval
    points: list[SeriesPointOut] = Field(description="Oldest first.")


class SeriesQuery(Schema):
    interval: Interval = Field(
        "day", description="One point per UTC hour or per UTC day that has a checkpoint."
    )
    format: Literal["json", "csv"] = Field(
        "json", description="`csv`: the same points as a spreadsheet (see the description)."
    )


class InclusionQuery(Schema):
    receipt: str
    size: int | None = None


class LeavesQuery(Schema):
    start: int = 0
    end: int | None = None


def _initiative(slug: str) -> Initiative:
    return initiative_get_public(slug=slug)


#: Counts and checkpoints answer If-None-Match and If-Modified-Since.
CONDITIONAL = (
    "Conditional: the answer has an `ETag` (from the checkpoint's size and root) and a "
    "`Last-Modified` (when the checkpoint was signed); `If-None-Match` or `If-Modified-Since` "
    "with a copy that is still current is answered 304 with no body."
)


@router.get(
    "/initiatives/{slug}/checkpoint",
    response={304: None, 404: ErrorsOut},
    summary="The latest signed checkpoint",
    description=CONDITIONAL,
    openapi_extra=text_response(
        "The checkpoint as a C2SP signed note: origin, size and base64 root hash, a blank "
        "line, then one signature line per key."
    ),
)
def checkpoint(request: HttpRequest, slug: str) -> HttpResponse:
    """A C2SP checkpoint (origin, size, base64 root) signed as a C2SP note with the log key."""
    latest = checkpoint_latest(initiative_id=_initiative(slug).pk)
    if latest is None:
        raise NotFound(_("The log has no checkpoint yet."))
    etag = checkpoint_etag(latest.size, bytes(latest.root))
    early = not_modified(request, etag=etag, last_modified=latest.created_at)
    if early is not None:
        return early
    response = HttpResponse(latest.note, content_type=TEXT_PLAIN)
    return public_read(set_validators(response, etag=etag, last_modified=latest.created_at))


@router.get(
    "/initiatives/{slug}/counts",
    response={200: CountsOut, 304: None, 404: ErrorsOut},
    summary="Statements received per Member State",
    description=CONDITIONAL,
)
def counts(
    request: HttpRequest, slug: str, response: HttpResponse
) -> dict[str, object] | HttpResponse:
    initiative = _initiative(slug)
    result = initiative_counts(initiative)
    # The thresholds come from the rules' data as of the registration date.
    etag = checkpoint_etag(
        result.checkpoint_size,
        result.checkpoint_root,
        initiative.scheme,
        scheme(initiative.scheme).version,
        str(initiative.registration_date),
        # A new declaration of paper statements changes the answer as much as a checkpoint.
        f"paper:{result.paper_reported_on}:"
        + ",".join(f"{row.code}={row.paper_declared}" for row in result.by_member_state),
    )
    early = not_modified(request, etag=etag, last_modified=result.checkpoint_at)
    if early is not None:
        return early
    public_read(set_validators(response, etag=etag, last_modified=result.checkpoint_at))
    return {
        "total": result.total,
        "by_member_state": {
            row.code: {
                "count": row.count,
                "threshold": row.threshold,
                "reached": row.reached,
                "paper_declared": row.paper_declared,
                "reached_with_paper": row.reached_with_paper,
            }
            for row in result.by_member_state
        },
        "states_reached": result.states_reached,
        "checkpoint_size": result.checkpoint_size,
        "by_partner": result.by_partner,
        "without_partner": result.without_partner,
        "paper_declared": result.paper_declared,
        "paper_reported_on": result.paper_reported_on,
        "total_with_paper": result.total_with_paper,
        "states_reached_with_paper": result.states_reached_with_paper,
    }


SERIES_DESCRIPTION = (
    "The counts over time: for every UTC hour or day in which the log grew, the log as of that "
    "period's last checkpoint, oldest first: its size and root (hex), which anyone can check "
    "against the log (`quorum audit … --series FILE` does, while recounting the leaves), and "
    "the statements per Member State and per partner's code in its first `size` leaves. At "
    f"most the latest {MAX_SERIES_POINTS['hour']:,} hours ({MAX_SERIES_POINTS['hour'] // 24} "
    f"days) or {MAX_SERIES_POINTS['day']:,} days. "
    "`format=csv` gives the same points as a spreadsheet, `text/csv` (UTF-8, comma-separated, "
    "one header row, one row per point): `at_utc` (YYYY-MM-DD HH:MM:SS), `period_utc` (the "
    "day, YYYY-MM-DD, or the hour's start), `size`, `root`, `total` (the size again), then one "
    "column per Member State of the initiative's scheme, named by its code (0 for none), one "
    "column `partner:<code>` per partner's code found in any point, and `without_partner`. "
    + CONDITIONAL
)
CSV = "text/csv; charset=utf-8"
SERIES_RESPONSES = {
    "responses": {
        200: {
            "content": {
                "text/csv": {"schema": {"type": "string", "description": "With `format=csv`."}}
            }
        }
    }
}


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _series_point(point: SeriesPoint) -> dict[str, object]:
    return {
        "at": _timestamp(point.at),
        "period": _timestamp(point.period),
        "size": point.size,
        "root": point.root.hex(),
        "by_member_state": point.by_member_state,
        "by_partner": point.by_partner,
    }


def _series_csv(points: list[SeriesPoint], member_states: list[str], interval: str) -> str:
    """One row per point, wide (a chart takes a column per Member State), with dates written
    as spreadsheets read them: ``YYYY-MM-DD HH:MM:SS`` in UTC, a day as ``YYYY-MM-DD``."""
    states = member_states + sorted(
        {code for p in points for code in p.by_member_state} - set(member_states)
    )
    partners = sorted({code for p in points for code in p.by_partner})
    period_format = "%Y-%m-%d" if interval == "day" else "%Y-%m-%d %H:%M:%S"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        ["at_utc", "period_utc", "size", "root", "total", *states]
        + [f"partner:{code}" for code in partners]
        + ["without_partner"]
    )
    for point in points:
        writer.writerow(
            [
                point.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
                point.period.strftime(period_format),
                point.size,
                point.root.hex(),
                point.size,
            ]
            + [point.by_member_state.get(code, 0) for code in states]
            + [point.by_partner.get(code, 0) for code in partners]
            + [point.size - sum(point.by_partner.values())]
        )
    return out.getvalue()


@router.get(
    "/initiatives/{slug}/series",
    response={200: SeriesOut, 304: None, 404: ErrorsOut, 422: ErrorsOut},
    summary="The counts over time, per hour or per day, each point a checkpoint",
    description=SERIES_DESCRIPTION,
    openapi_extra=SERIES_RESPONSES,
)
def series(
    request: HttpRequest, slug: str, query: Query[SeriesQuery], response: HttpResponse
) -> dict[str, object] | HttpResponse:
    initiative = _initiative(slug)
    points = count_series(initiative_id=initiative.pk, interval=query.interval)
    # From the points themselves (one read): the newest is the latest checkpoint.
    last = points[-1] if points else None
    etag = (
        checkpoint_etag(last.size, last.root, "series", query.interval, query.format)
        if last is not None
        else None
    )
    last_modified = last.at if last is not None else None
    early = not_modified(request, etag=etag, last_modified=last_modified)
    if early is not None:
        return early
    if query.format == "csv":
        codes = list(scheme(initiative.scheme).member_state_codes())
        sheet = HttpResponse(_series_csv(points, codes, query.interval), content_type=CSV)
        sheet["Content-Disposition"] = (
            f'attachment; filename="{initiative.slug}-counts-by-{query.interval}.csv"'
        )
        return public_read(set_validators(sheet, etag=etag, last_modified=last_modified))
    public_read(set_validators(response, etag=etag, last_modified=last_modified))
    return {"interval": query.interval, "points": [_series_point(p) for p in points]}


@router.get(
    "/initiatives/{slug}/proof/inclusion",
    response={200: InclusionOut, 404: ErrorsOut, 422: ErrorsOut},
    summary="Proof that a receipt's statement is in the log",
)
def inclusion(
    request: HttpRequest, slug: str, query: Query[InclusionQuery], response: HttpResponse
) -> dict[str, object]:
    initiative = _initiative(slug)
    receipt = query.receipt.strip().lower()
    if not RECEIPT.fullmatch(receipt):
        raise Invalid(_("The request was refused."), {"receipt": [RECEIPT_FORMAT]})
    if query.size is not None and not 0 < query.size <= MAX_SIZE:
        raise Invalid(_("The request was refused."), {"size": [NOT_VALID]})
    try:
        proof = proof_inclusion(
            initiative_id=initiative.pk, leaf_hash=bytes.fromhex(receipt), size=query.size
        )
    except ProofUnavailable as exc:
        raise NotFound(_("This receipt is not in the log (yet)."), field="receipt") from exc
    public_read(response)
    return {
        "leaf_index": proof.leaf_index,
        "tree_size": proof.tree_size,
        "path": [h.hex() for h in proof.path],
    }


@router.get(
    "/initiatives/{slug}/proof/consistency",
    response={200: ConsistencyOut, 404: ErrorsOut, 422: ErrorsOut},
    summary="Proof that the log of size `from` is a prefix of the log of size `to`",
    openapi_extra=CONSISTENCY_QUERY,
)
def consistency(request: HttpRequest, slug: str, response: HttpResponse) -> dict[str, object]:
    initiative = _initiative(slug)
    old_size, new_size = tree_sizes(request)
    try:
        path = proof_consistency(initiative_id=initiative.pk, old_size=old_size, new_size=new_size)
    except ProofUnavailable as exc:
        raise NotFound(_("The log has no such sizes.")) from exc
    public_read(response)
    return {"path": [h.hex() for h in path]}


@router.get(
    "/initiatives/{slug}/leaves",
    response={200: LeavesOut, 404: ErrorsOut, 422: ErrorsOut},
    summary=f"Public leaf data, at most {MAX_LEAVES_PER_PAGE} per page",
)
def leaves(
    request: HttpRequest, slug: str, query: Query[LeavesQuery], response: HttpResponse
) -> dict[str, object]:
    initiative = _initiative(slug)
    if not 0 <= query.start <= MAX_SIZE or (
        query.end is not None and not 0 <= query.end <= MAX_SIZE
    ):
        raise Invalid(_("The request was refused."), {"start": [NOT_VALID]})
    latest = checkpoint_latest(initiative_id=initiative.pk)
    end = query.end if query.end is not None else query.start + MAX_LEAVES_PER_PAGE
    page = leaves_page(initiative_id=initiative.pk, start=query.start, end=end)
    public_read(response)
    return {
        "start": query.start,
        "end": query.start + len(page),
        "tree_size": latest.size if latest else 0,
        "leaves": page,
    }


@router.get(
    "/log-key",
    summary="The platform's log key, in signed-note verifier form",
    openapi_extra=text_response("One line: the verifier key, <name>+<hash>+<base64 key>."),
)
def log_key_view(request: HttpRequest) -> HttpResponse:
    return public_read(
        HttpResponse(log_key().verifier + "\n", content_type=TEXT_PLAIN), max_age=3600
    )
