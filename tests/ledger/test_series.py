"""The count over time: every checkpoint keeps its counts, the last of each hour is marked, and
the series is made of those checkpoints — each point one that anyone can check in the log."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from quorum.ledger import selectors, sequencer
from quorum.ledger.models import Checkpoint, MemberStateCount, PartnerCount, Statement
from quorum.ledger.selectors import count_series, series_period
from quorum.ledger.sequencer import checkpoint_counts_fill, sequence_all
from quorum.proofs import merkle

pytestmark = pytest.mark.django_db(transaction=True)

START = datetime(2026, 5, 4, 9, 5, tzinfo=UTC)
# Batches signed at these minutes after START (09:05 on 4 May): 09:05, 09:45, 10:10, 12:05,
# 12:25, 12:59, 23:55, and 00:10 on 5 May.
MINUTES = [0, 40, 65, 180, 200, 234, 14 * 60 + 50, 15 * 60 + 5]
BATCHES = [
    [("PL", ""), ("DE", "")],
    [("PL", "edri"), ("FR", "")],
    [("DE", "edri"), ("DE", "")],
    [("SE", "")],
    [("PL", "reclaim-2027"), ("PL", ""), ("FR", "")],
    [("IT", "edri")],
    [("DE", "")],
    [("PL", ""), ("AT", "reclaim-2027")],
]


@pytest.fixture
def log(collecting_initiative, time_machine, write_leaves) -> list[Checkpoint]:
    """The empty checkpoint at START, then one checkpoint per batch at its minute."""
    time_machine.move_to(START - timedelta(minutes=1), tick=False)
    sequence_all()
    for minutes, batch in zip(MINUTES, BATCHES, strict=True):
        time_machine.move_to(START + timedelta(minutes=minutes), tick=False)
        write_leaves(collecting_initiative, batch, START + timedelta(minutes=minutes))
        sequence_all()
    return list(Checkpoint.objects.order_by("size"))


def recounted(size: int) -> tuple[dict[str, int], dict[str, int]]:
    """Counts of the statements with leaf_index < size, straight from the rows."""
    rows = Statement.objects.filter(leaf_index__lt=size).values_list("member_state", "partner")
    states = Counter(state for state, _ in rows)
    partners = Counter(partner for _, partner in rows if partner)
    return dict(sorted(states.items())), dict(sorted(partners.items()))


def as_stored(checkpoints) -> list[tuple[int, dict | None, bool]]:
    return [(c.size, c.counts, c.last_of_hour, c.last_of_day) for c in checkpoints]


# --- the sequencer keeps the counts with each checkpoint -----------------------------------


def test_every_checkpoint_keeps_the_counts_at_its_size(log) -> None:
    assert [c.size for c in log] == [0, 2, 4, 6, 7, 10, 11, 12, 14]
    for checkpoint in log:
        states, partners = recounted(checkpoint.size)
        assert checkpoint.counts == {"by_member_state": states, "by_partner": partners}
    assert log[-1].counts == {
        "by_member_state": {"AT": 1, "DE": 4, "FR": 2, "IT": 1, "PL": 5, "SE": 1},
        "by_partner": {"edri": 3, "reclaim-2027": 2},
    }


def test_the_latest_checkpoints_counts_are_the_counts_served(log) -> None:
    latest = log[-1].counts
    assert latest["by_member_state"] == dict(
        MemberStateCount.objects.values_list("member_state", "count")
    )
    assert latest["by_partner"] == dict(PartnerCount.objects.values_list("partner", "count"))


def test_the_empty_log_checkpoint_has_empty_counts(collecting_initiative) -> None:
    sequence_all()
    checkpoint = Checkpoint.objects.get()
    assert checkpoint.counts == {"by_member_state": {}, "by_partner": {}}
    assert checkpoint.last_of_hour and checkpoint.last_of_day


@pytest.mark.parametrize(
    ("interval", "sizes"),
    # 09:45 (after the empty log at 09:04 and a batch at 09:05), 10:10, 12:59 and 23:55 on
    # 4 May, 00:10 on 5 May.
    [("hour", [4, 6, 11, 12, 14]), ("day", [12, 14])],
)
def test_only_the_last_checkpoint_of_each_period_is_marked(log, interval, sizes) -> None:
    marked = [c.size for c in log if getattr(c, f"last_of_{interval}")]
    assert marked == sizes
    last: dict[datetime, int] = {}
    for checkpoint in log:
        period = series_period(checkpoint.created_at, interval)
        last[period] = max(last.get(period, -1), checkpoint.size)
    assert sorted(last.values()) == marked


def test_a_new_period_keeps_the_marks_of_the_one_before(
    log, collecting_initiative, time_machine, write_leaves
):
    later = START + timedelta(days=1, hours=3)  # 12:05 on 5 May
    time_machine.move_to(later, tick=False)
    write_leaves(collecting_initiative, [("PL", "")], later)
    sequence_all()
    hourly = Checkpoint.objects.filter(last_of_hour=True).values_list("size", flat=True)
    assert sorted(hourly) == [4, 6, 11, 12, 14, 15]
    daily = Checkpoint.objects.filter(last_of_day=True).values_list("size", flat=True)
    assert sorted(daily) == [12, 15]


# --- the series ----------------------------------------------------------------------------


@pytest.mark.parametrize("interval", ["hour", "day"])
def test_every_series_point_is_a_stored_checkpoint_with_the_counts_of_its_leaves(
    log, collecting_initiative, interval
) -> None:
    points = count_series(initiative_id=collecting_initiative.pk, interval=interval)
    assert points
    for point in points:
        checkpoint = Checkpoint.objects.get(size=point.size)
        assert (point.root, point.at) == (bytes(checkpoint.root), checkpoint.created_at)
        assert point.root == merkle.root_from_leaves(
            bytes(leaf)
            for leaf in Statement.objects.filter(leaf_index__lt=point.size)
            .order_by("leaf_index")
            .values_list("leaf_hash", flat=True)
        )
        assert (point.by_member_state, point.by_partner) == recounted(point.size)
        assert point.period == series_period(point.at, interval)


@pytest.mark.parametrize("interval", ["hour", "day"])
def test_each_point_is_the_last_checkpoint_of_its_period(log, collecting_initiative, interval):
    last: dict[datetime, int] = {}
    for checkpoint in log:
        period = series_period(checkpoint.created_at, interval)
        last[period] = max(last.get(period, -1), checkpoint.size)
    points = count_series(initiative_id=collecting_initiative.pk, interval=interval)
    assert [(p.period, p.size) for p in points] == sorted(last.items())


def test_the_points_by_hour_and_by_day(log, collecting_initiative) -> None:
    hours = count_series(initiative_id=collecting_initiative.pk, interval="hour")
    assert [(p.period.strftime("%d %H"), p.size) for p in hours] == [
        ("04 09", 4),
        ("04 10", 6),
        ("04 12", 11),
        ("04 23", 12),
        ("05 00", 14),
    ]
    days = count_series(initiative_id=collecting_initiative.pk, interval="day")
    assert [(p.period.strftime("%d %H:%M"), p.size) for p in days] == [
        ("04 00:00", 12),
        ("05 00:00", 14),
    ]
    assert days[0].by_member_state == {"DE": 4, "FR": 2, "IT": 1, "PL": 4, "SE": 1}
    assert days[0].by_partner == {"edri": 3, "reclaim-2027": 1}
    assert days[0].at == START + timedelta(minutes=MINUTES[6])


def test_a_log_without_checkpoints_has_no_points(collecting_initiative) -> None:
    assert count_series(initiative_id=collecting_initiative.pk, interval="hour") == []


def test_the_series_gives_at_most_the_latest_points(log, collecting_initiative, monkeypatch):
    monkeypatch.setattr(selectors, "MAX_SERIES_POINTS", {"hour": 2, "day": 1})
    hours = count_series(initiative_id=collecting_initiative.pk, interval="hour")
    assert [p.size for p in hours] == [12, 14]
    days = count_series(initiative_id=collecting_initiative.pk, interval="day")
    assert [p.size for p in days] == [14]


def test_an_hour_marked_twice_during_an_upgrade_gives_its_last_checkpoint(
    log, collecting_initiative
) -> None:
    # A sequencer of the earlier release signed the hour's later checkpoints without clearing
    # the mark of the one before; the new one marks its own.
    Checkpoint.objects.filter(size=10).update(last_of_hour=True, last_of_day=True)
    hours = count_series(initiative_id=collecting_initiative.pk, interval="hour")
    assert [p.size for p in hours] == [4, 6, 11, 12, 14]
    days = count_series(initiative_id=collecting_initiative.pk, interval="day")
    assert [p.size for p in days] == [12, 14]


def test_checkpoints_of_an_earlier_release_during_an_upgrade_are_never_points(
    log, collecting_initiative, time_machine, write_leaves
) -> None:
    moment = START + timedelta(minutes=MINUTES[-1] + 5)  # 00:15 on 5 May, after size 14
    time_machine.move_to(moment, tick=False)
    write_leaves(collecting_initiative, [("FR", "")], moment)
    sequence_all()
    # As the earlier release's sequencer signed it: no counts, no flags, none cleared.
    Checkpoint.objects.filter(size=15).update(counts=None, last_of_hour=False, last_of_day=False)
    Checkpoint.objects.filter(size=14).update(last_of_hour=True, last_of_day=True)
    hours = count_series(initiative_id=collecting_initiative.pk, interval="hour")
    assert [p.size for p in hours][-1] == 14
    time_machine.move_to(moment + timedelta(minutes=5), tick=False)
    write_leaves(collecting_initiative, [("DE", "")], moment)
    sequence_all()  # this release again
    for interval in ("hour", "day"):
        points = count_series(initiative_id=collecting_initiative.pk, interval=interval)
        assert [p.size for p in points][-2:] == [12, 16]
        assert (points[-1].by_member_state, points[-1].by_partner) == recounted(16)


def test_a_series_is_one_query(log, collecting_initiative, django_assert_num_queries) -> None:
    with django_assert_num_queries(1):
        count_series(initiative_id=collecting_initiative.pk, interval="day")


@pytest.mark.parametrize(("interval", "index"), [("hour", "hourly"), ("day", "daily")])
def test_the_series_reads_the_partial_index_of_marked_checkpoints(
    collecting_initiative, interval, index
) -> None:
    query = (
        Checkpoint.objects.filter(
            initiative_id=collecting_initiative.pk, **{f"last_of_{interval}": True}
        )
        .order_by("-size")
        .values_list("size")
    )
    if connection.vendor == "postgresql":
        # On a small table PostgreSQL may rather scan; only ask whether it can use the index.
        with connection.cursor() as cursor:
            cursor.execute("SET enable_seqscan = off")
        try:
            plan = query.explain()
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET enable_seqscan")
    else:
        plan = query.explain()
    assert f"checkpoint_{index}" in plan


# --- checkpoints signed before they kept their counts (the migration's fill) ---------------


@pytest.mark.parametrize("chunk", [2_000, 2, 1])
def test_the_fill_gives_the_counts_and_marks_the_sequencer_gives(log, monkeypatch, chunk):
    monkeypatch.setattr(sequencer, "FILL_CHUNK", chunk)
    recorded = as_stored(log)
    Checkpoint.objects.update(counts=None, last_of_hour=False, last_of_day=False)
    filled = checkpoint_counts_fill(statement_model=Statement, checkpoint_model=Checkpoint)
    assert filled == len(log)
    assert as_stored(Checkpoint.objects.order_by("size")) == recorded


def test_the_fill_covers_every_initiative_and_leaves_statements_not_yet_in_the_log(
    log, collecting_initiative, write_leaves
) -> None:
    from quorum.initiatives.models import Initiative

    other = Initiative.objects.create(slug="other", title={"en": "Other"}, status="collecting")
    write_leaves(other, [("FR", ""), ("FR", "")], START)
    sequence_all()
    write_leaves(collecting_initiative, [("PL", "")], START)  # waiting: no leaf index
    recorded = as_stored(Checkpoint.objects.order_by("initiative_id", "size"))
    Checkpoint.objects.update(counts=None, last_of_hour=False, last_of_day=False)
    checkpoint_counts_fill(statement_model=Statement, checkpoint_model=Checkpoint)
    assert as_stored(Checkpoint.objects.order_by("initiative_id", "size")) == recorded
    assert Checkpoint.objects.get(initiative=other, size=2).counts == {
        "by_member_state": {"FR": 2},
        "by_partner": {},
    }


def columns(table: str) -> set[str]:
    with connection.cursor() as cursor:
        return {c.name for c in connection.introspection.get_table_description(cursor, table)}


def test_the_migration_fills_the_checkpoints_signed_before_it(log) -> None:
    recorded = as_stored(log)
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([("ledger", "0003_statement_partner")])
        assert "counts" not in columns("ledger_checkpoint")
        executor.loader.build_graph()
        executor.migrate([("ledger", "0004_checkpoint_counts")])
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert as_stored(Checkpoint.objects.order_by("size")) == recorded
