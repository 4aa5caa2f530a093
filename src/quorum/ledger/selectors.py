"""Reading the logs: checkpoints, counts, proofs and public leaf data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

from django.db.models import Count, Min

from quorum.initiatives.models import Initiative
from quorum.initiatives.selectors import initiative_partners, paper_declared
from quorum.ledger.models import Checkpoint, MemberStateCount, PartnerCount, Statement
from quorum.ledger.store import DatabaseNodeStore
from quorum.proofs import merkle
from quorum.proofs.leaves import format_received_at
from quorum.rules import scheme

MAX_LEAVES_PER_PAGE = 1000
Interval = Literal["hour", "day"]
INTERVALS: tuple[Interval, ...] = ("hour", "day")
#: The most points a count over time gives, the latest: 31 days of hours (a point per hour
#: of a whole collection would be some 9,000, over a second to render), every day of any
#: collection. Each point costs about 0.1 ms to read and render.
MAX_SERIES_POINTS: dict[Interval, int] = {"hour": 24 * 31, "day": 1_000}


class ProofUnavailable(Exception):
    """The proof asked for cannot exist (unknown receipt, size beyond the log, m > n…)."""


@dataclass(frozen=True)
class InclusionProof:
    leaf_index: int
    tree_size: int
    path: list[bytes]


def checkpoint_latest(*, initiative_id: int) -> Checkpoint | None:
    return Checkpoint.objects.filter(initiative_id=initiative_id).order_by("-size").first()


@dataclass(frozen=True)
class SequencerBacklog:
    """Statements stored but not yet in their log (no leaf index), and when the oldest came."""

    waiting: int
    oldest_received_at: datetime | None


def sequencer_backlog() -> SequencerBacklog:
    """What the sequencer has still to append, read on the (initiative, leaf_index) index.

    Cheap enough for every health check and scrape: only the rows still waiting are read.
    """
    row = Statement.objects.filter(
        initiative_id__in=Initiative.objects.values("pk"), leaf_index__isnull=True
    ).aggregate(waiting=Count("pk"), oldest=Min("received_at"))
    return SequencerBacklog(waiting=row["waiting"] or 0, oldest_received_at=row["oldest"])


def checkpoint_newest_at() -> datetime | None:
    """When the newest checkpoint of any log was made (by primary key: no scan)."""
    return Checkpoint.objects.order_by("-pk").values_list("created_at", flat=True).first()


def member_state_counts(*, initiative_id: int) -> dict[str, int]:
    """Counts as of the latest checkpoint: they are written in the same transaction."""
    return dict(
        MemberStateCount.objects.filter(initiative_id=initiative_id).values_list(
            "member_state", "count"
        )
    )


def partner_counts(*, initiative_id: int) -> dict[str, int]:
    """Statements per partner code as of the latest checkpoint, by code; codes with none left out."""
    return dict(
        PartnerCount.objects.filter(initiative_id=initiative_id)
        .order_by("partner")
        .values_list("partner", "count")
    )


def statement_exists(*, initiative_id: int, leaf_hash: bytes) -> bool:
    """Stored, whether or not the sequencer has reached it yet."""
    return Statement.objects.filter(initiative_id=initiative_id, leaf_hash=leaf_hash).exists()


def proof_inclusion(
    *, initiative_id: int, leaf_hash: bytes, size: int | None = None
) -> InclusionProof:
    latest = checkpoint_latest(initiative_id=initiative_id)
    tree_size = latest.size if latest is not None and size is None else size
    if tree_size is None or latest is None or not 0 < tree_size <= latest.size:
        raise ProofUnavailable("no such tree size")
    leaf_index = (
        Statement.objects.filter(
            initiative_id=initiative_id, leaf_hash=leaf_hash, leaf_index__isnull=False
        )
        .values_list("leaf_index", flat=True)
        .first()
    )
    if leaf_index is None or leaf_index >= tree_size:
        raise ProofUnavailable("receipt not in this tree")
    path = merkle.inclusion_proof(DatabaseNodeStore(initiative_id), leaf_index, tree_size)
    return InclusionProof(leaf_index=leaf_index, tree_size=tree_size, path=path)


def proof_consistency(*, initiative_id: int, old_size: int, new_size: int) -> list[bytes]:
    latest = checkpoint_latest(initiative_id=initiative_id)
    if latest is None or not 0 <= old_size <= new_size <= latest.size:
        raise ProofUnavailable("no such tree sizes")
    return merkle.consistency_proof(DatabaseNodeStore(initiative_id), old_size, new_size)


def tree_root(*, initiative_id: int, size: int) -> bytes:
    return merkle.root(DatabaseNodeStore(initiative_id), size)


def leaves_page(*, initiative_id: int, start: int, end: int) -> list[dict[str, object]]:
    """Public data of leaves [start, end): enough for anyone to recompute every leaf hash."""
    latest = checkpoint_latest(initiative_id=initiative_id)
    limit = latest.size if latest is not None else 0
    end = min(end, limit, start + MAX_LEAVES_PER_PAGE)
    if start >= end:
        return []
    rows = (
        Statement.objects.filter(
            initiative_id=initiative_id, leaf_index__gte=start, leaf_index__lt=end
        )
        .order_by("leaf_index")
        .values_list(
            "leaf_index", "member_state", "partner", "received_at", "ciphertext_sha256", "leaf_hash"
        )
    )
    return [
        {
            "index": index,
            "member_state": member_state,
            "partner": partner,
            "received_at": format_received_at(received_at),
            "ciphertext_sha256": bytes(digest).hex(),
            "leaf_hash": bytes(leaf).hex(),
        }
        for index, member_state, partner, received_at, digest, leaf in rows
    ]


@dataclass(frozen=True)
class StateCount:
    code: str
    #: In the log: verifiable by anyone.
    count: int
    threshold: int
    #: By the log's count alone.
    reached: bool
    #: Collected on paper, as the organisers last declared (never in the log, never verified).
    paper_declared: int = 0

    @property
    def with_paper(self) -> int:
        return self.count + self.paper_declared

    @property
    def reached_with_paper(self) -> bool:
        """Reached only once the declared paper statements are added to the log's count."""
        return not self.reached and self.threshold > 0 and self.with_paper >= self.threshold


@dataclass(frozen=True)
class InitiativeCounts:
    total: int
    checkpoint_size: int
    #: The checkpoint the counts are as of: its root and when it was signed (b"", None: none yet).
    checkpoint_root: bytes
    checkpoint_at: datetime | None
    by_member_state: list[StateCount]
    states_reached: int
    states_needed: int
    total_needed: int
    #: Statements per coalition partner's code (only codes with some), and those with none.
    by_partner: dict[str, int]
    without_partner: int
    #: The organisers' latest declaration of paper statements (total; on which day), shown
    #: beside the log's counts and never added into them.
    paper_declared: int = 0
    paper_reported_on: date | None = None

    @property
    def total_with_paper(self) -> int:
        return self.total + self.paper_declared

    @property
    def states_reached_with_paper(self) -> int:
        """Member States at their minimum online or with the declared paper statements."""
        return sum(row.reached or row.reached_with_paper for row in self.by_member_state)


def _counts_as_of_one_checkpoint(
    initiative_id: int,
) -> tuple[Checkpoint | None, dict[str, int], dict[str, int]]:
    """The latest checkpoint and the counts written with it.

    Three reads, each of which may see a later commit of the sequencer (every statement of a
    read-committed transaction has its own snapshot): they are read again until the checkpoint
    is the same after the counts as before, so that counts never disagree with their size.
    """
    for _attempt in range(5):
        latest = checkpoint_latest(initiative_id=initiative_id)
        counts = member_state_counts(initiative_id=initiative_id)
        by_partner = partner_counts(initiative_id=initiative_id)
        again = checkpoint_latest(initiative_id=initiative_id)
        if (latest and latest.pk) == (again and again.pk):
            break
    return again, counts, by_partner


def initiative_counts(initiative: Initiative) -> InitiativeCounts:
    """Statements received per Member State against the thresholds of the registration date.

    These are log counts ("statements received"), not certified counts: duplicates and
    invalid statements are removed only by the authorities.
    """
    rules = scheme(initiative.scheme)
    latest, counts, by_partner = _counts_as_of_one_checkpoint(initiative.pk)
    paper = paper_declared(initiative)
    size = latest.size if latest is not None else 0
    thresholds = (
        rules.threshold_table(registered=initiative.registration_date).thresholds
        if initiative.registration_date
        else {}
    )
    rows = [
        StateCount(
            code=code,
            count=counts.get(code, 0),
            threshold=thresholds.get(code, 0),
            reached=bool(thresholds) and counts.get(code, 0) >= thresholds.get(code, 0),
            paper_declared=paper.by_member_state.get(code, 0),
        )
        for code in rules.member_state_codes()
    ]
    return InitiativeCounts(
        total=size,
        checkpoint_size=size,
        checkpoint_root=bytes(latest.root) if latest is not None else b"",
        checkpoint_at=latest.created_at if latest is not None else None,
        by_member_state=rows,
        states_reached=sum(row.reached for row in rows),
        states_needed=rules.success_rule.min_member_states,
        total_needed=rules.success_rule.min_total,
        by_partner=by_partner,
        without_partner=size - sum(by_partner.values()),
        paper_declared=sum(row.paper_declared for row in rows),
        paper_reported_on=paper.reported_on,
    )


def log_growth(*, initiative_id: int) -> list[tuple[date, int]]:
    """The log's size at the end of each UTC day that had a checkpoint: the count over time.

    The points of :func:`count_series` by day (the one cheap query on the flagged
    checkpoints), so that the dashboard's chart, the public page's and the series API all
    show the same checkpoints, each of which anyone can check.
    """
    return [
        (point.period.date(), point.size)
        for point in count_series(initiative_id=initiative_id, interval="day")
    ]


@dataclass(frozen=True)
class SeriesPoint:
    """The log at the last checkpoint of one UTC hour or day: a checkpoint anyone can check."""

    #: The start of the hour or day (UTC).
    period: datetime
    #: When the checkpoint was signed.
    at: datetime
    size: int
    root: bytes
    #: Statements per Member State and per partner's code in its first ``size`` leaves,
    #: codes with some only, in order.
    by_member_state: dict[str, int]
    by_partner: dict[str, int]


def series_period(moment: datetime, interval: Interval) -> datetime:
    """The start of the UTC hour or day ``moment`` is in."""
    start = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return start.replace(hour=0) if interval == "day" else start


def count_series(*, initiative_id: int, interval: Interval) -> list[SeriesPoint]:
    """The counts at the last checkpoint of every UTC hour or day that has one, oldest first;
    at most the latest ``MAX_SERIES_POINTS[interval]``.

    One query, on the partial index of the checkpoints that are the last of their hour (day),
    flagged by the sequencer; never a scan of every checkpoint: a log signs one a second
    while people sign.
    """
    rows = (
        Checkpoint.objects.filter(initiative_id=initiative_id, **{f"last_of_{interval}": True})
        .order_by("-size")
        .values_list("created_at", "size", "root", "counts")
    )
    limit = MAX_SERIES_POINTS[interval]
    newest_first: list[SeriesPoint] = []
    # A few rows more than the points: during an upgrade a period may have two flagged (the
    # earlier release's sequencer did not clear them), and the first row of each is its last.
    for at, size, root, counts in rows[: limit + 24]:
        period = series_period(at, interval)
        if newest_first and newest_first[-1].period <= period:
            continue
        if counts is None:  # only ever on an earlier release's checkpoint, never flagged
            continue
        newest_first.append(
            SeriesPoint(
                period=period,
                at=at,
                size=size,
                root=bytes(root),
                by_member_state=dict(sorted(counts.get("by_member_state", {}).items())),
                by_partner=dict(sorted(counts.get("by_partner", {}).items())),
            )
        )
        if len(newest_first) == limit:
            break
    return newest_first[::-1]


@dataclass(frozen=True)
class PartnerRow:
    code: str
    #: "" for a partner removed since: only its code is left, in the log and the counts.
    name: str
    count: int
    removed: bool


def partner_rows(initiative: Initiative, by_partner: dict[str, int]) -> list[PartnerRow]:
    """The partners and the codes still counted after their partner was removed, by code."""
    partners = initiative_partners(initiative)
    return [
        PartnerRow(
            code=code,
            name=partners.get(code, ""),
            count=by_partner.get(code, 0),
            removed=code not in partners,
        )
        for code in sorted(set(partners) | set(by_partner))
    ]
