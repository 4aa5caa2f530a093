"""The count over time: round ticks that cover the data, dates and numbers in local forms,
and a picture with a name, a description and the same numbers as a table, drawn from the
daily points of the series on the organisers' dashboard (and on the public page:
tests/ledger/test_map.py)."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from quorum.initiatives.models import Initiative, OrganiserMember
from quorum.initiatives.services import initiative_create, organiser_confirm, organiser_invite
from quorum.ledger.charts import (
    HEIGHT,
    LABEL_GAP,
    MOST_COUNT_TICKS,
    MOST_DAY_TICKS,
    WIDTH,
    count_ticks,
    day_ticks,
    growth_chart,
)
from quorum.ledger.models import Checkpoint
from quorum.ledger.selectors import log_growth
from quorum.rules import scheme

DAYS = st.dates(min_value=date(2020, 1, 1), max_value=date(2040, 12, 31))


@given(st.integers(min_value=0, max_value=10**15), st.integers(min_value=2, max_value=10))
def test_count_ticks_rise_evenly_from_zero_to_cover_the_top_and_are_few(
    top: int, most: int
) -> None:
    ticks = count_ticks(top, most=most)

    assert ticks[0] == 0
    assert ticks[-1] >= top
    assert 2 <= len(ticks) <= most
    steps = {b - a for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1
    (step,) = steps
    assert step >= 1
    # A round step: 1, 2 or 5 times a power of ten.
    assert re.fullmatch(r"[125]0*", str(step))
    # No wasted interval: one step fewer would not reach the top.
    assert ticks[-2] < max(top, 1)


def test_count_ticks_are_the_round_numbers_people_expect() -> None:
    assert count_ticks(0) == [0, 1]
    assert count_ticks(1) == [0, 1]
    assert count_ticks(3) == [0, 1, 2, 3]
    assert count_ticks(7) == [0, 2, 4, 6, 8]
    assert count_ticks(1_000_000) == [0, 200_000, 400_000, 600_000, 800_000, 1_000_000]
    assert count_ticks(1_234_567) == [0, 500_000, 1_000_000, 1_500_000]


@given(DAYS, st.integers(min_value=0, max_value=3000), st.integers(min_value=2, max_value=8))
def test_day_ticks_rise_evenly_from_the_first_day_to_cover_the_last_and_are_few(
    first: date, span: int, most: int
) -> None:
    last = first + timedelta(days=span)
    ticks = day_ticks(first, last, most=most)

    assert ticks[0] == first
    assert ticks[-1] >= last
    assert len(ticks) <= most
    assert len({b - a for a, b in itertools.pairwise(ticks)}) <= 1
    assert ticks == sorted(set(ticks))


def test_one_day_is_one_tick_and_a_fortnight_steps_by_weeks() -> None:
    day = date(2026, 12, 1)
    assert day_ticks(day, day) == [day]
    assert day_ticks(day, day + timedelta(days=14)) == [
        day,
        day + timedelta(days=7),
        day + timedelta(days=14),
    ]


def test_an_axis_of_fewer_than_two_ticks_or_backwards_is_refused() -> None:
    with pytest.raises(ValueError):
        count_ticks(5, most=1)
    with pytest.raises(ValueError):
        day_ticks(date(2026, 1, 2), date(2026, 1, 1))


series_strategy = st.lists(
    st.tuples(DAYS, st.integers(min_value=0, max_value=10**9)), min_size=1, max_size=80
).map(lambda pairs: sorted(dict(pairs).items()))


@given(series_strategy)
def test_every_point_lies_inside_the_plot_and_the_ticks_inside_the_picture(
    series: list[tuple[date, int]],
) -> None:
    chart = growth_chart(series, language="en")
    assert chart is not None

    assert 0 < chart.left < chart.right <= WIDTH
    assert 0 < chart.top < chart.bottom <= HEIGHT
    points = [tuple(map(float, pair.split(","))) for pair in chart.line.split()]
    assert len(points) == len(series)
    for x, y in points:
        assert chart.left - 0.1 <= x <= chart.right + 0.1
        assert chart.top - 0.1 <= y <= chart.bottom + 0.1
    assert [tick.position for tick in chart.x_ticks] == sorted(t.position for t in chart.x_ticks)
    assert 1 <= len(chart.x_ticks) <= MOST_DAY_TICKS
    assert 2 <= len(chart.y_ticks) <= MOST_COUNT_TICKS


def test_no_data_is_no_chart() -> None:
    assert growth_chart([]) is None


def test_one_day_is_one_dot_in_the_middle_above_its_count() -> None:
    chart = growth_chart([(date(2026, 12, 1), 2)], language="en")
    assert chart is not None

    (dot,) = chart.dots
    assert dot.x == pytest.approx((chart.left + chart.right) / 2, abs=0.1)
    assert [tick.label for tick in chart.y_ticks] == ["0", "1", "2"]
    assert dot.y == pytest.approx(chart.top, abs=0.1)  # 2 is the top tick
    assert [tick.label for tick in chart.x_ticks] == ["1 Dec"]


def test_a_series_of_zeros_lies_on_the_floor_of_an_axis_from_0_to_1() -> None:
    start = date(2026, 11, 1)
    chart = growth_chart([(start + timedelta(days=d), 0) for d in range(10)], language="en")
    assert chart is not None

    assert [tick.label for tick in chart.y_ticks] == ["0", "1"]
    assert {dot.y for dot in chart.dots} == {chart.bottom}


def test_the_labels_are_in_the_languages_local_forms() -> None:
    series = [(date(2026, 11, 18), 0), (date(2026, 12, 2), 1_234_567)]

    german = growth_chart(series, language="de")
    french = growth_chart(series, language="fr")
    assert german is not None and french is not None

    assert [tick.label for tick in german.y_ticks][-1] == "1.500.000"
    assert [tick.label for tick in french.y_ticks][-1] == "1\u202f500\u202f000"
    assert german.x_ticks[0].label == "18. Nov."
    assert french.x_ticks[0].label == "18 nov."


def test_days_in_two_years_carry_the_year_on_a_line_of_its_own_where_it_changes() -> None:
    chart = growth_chart([(date(2026, 12, 20), 5), (date(2027, 1, 10), 9)], language="en")
    assert chart is not None

    assert chart.x_ticks[0].label == "20 Dec" and chart.x_ticks[0].year == "2026"
    assert [tick.year for tick in chart.x_ticks if tick.year] == ["2026", "2027"]
    assert chart.x_ticks[0].anchor == "start" and chart.x_ticks[-1].anchor == "end"
    one_year = growth_chart([(date(2026, 11, 20), 5), (date(2026, 12, 10), 9)], language="en")
    assert one_year is not None and all(tick.year == "" for tick in one_year.x_ticks)
    # The year's line is made room for under the day labels.
    assert chart.bottom == one_year.bottom - chart.year_line
    assert chart.label_y + chart.year_line < HEIGHT


@given(series_strategy, st.sampled_from([code for code, _ in settings.LANGUAGES]))
def test_day_labels_keep_apart_in_every_language_however_long_it_makes_them(
    series: list[tuple[date, int]], language: str
) -> None:
    chart = growth_chart(series, language=language)
    assert chart is not None

    extents = [tick.extent() for tick in chart.x_ticks]
    assert all(a[1] + LABEL_GAP <= b[0] for a, b in itertools.pairwise(extents))
    assert extents[0][0] >= 0 and extents[-1][1] <= WIDTH
    assert len(chart.x_ticks) >= min(2, len({day for day, _ in series}))


def test_a_language_with_long_dates_gets_fewer_day_labels_than_english() -> None:
    series = [(date(2026, 11, 1) + timedelta(days=d), 10**6 * d) for d in range(22)]
    english = growth_chart(series, language="en")
    latvian = growth_chart(series, language="lv")
    assert english is not None and latvian is not None

    assert len(latvian.x_ticks) < len(english.x_ticks)


def test_a_long_count_makes_room_for_its_labels() -> None:
    short = growth_chart([(date(2026, 12, 1), 5)], language="en")
    long = growth_chart([(date(2026, 12, 1), 50_000_000)], language="en")
    assert short is not None and long is not None

    assert long.left > short.left


def organised_collecting(organiser, today: date) -> Initiative:
    """``clean-air``, organised by ``organiser`` and collecting for 200 days now."""
    initiative = initiative_create(
        slug="clean-air",
        title={"en": "Clean air for everyone"},
        objectives={"en": "We ask for clean air for everyone."},
        annex={"en": "Details in the annex."},
        treaty_basis="Article 192 TFEU",
        language="en",
    )
    invitation = organiser_invite(
        initiative=initiative,
        full_name="Alice Example",
        email=organiser.email,
        nationality="DE",
        residence="DE",
        role=OrganiserMember.Role.REPRESENTATIVE,
    )
    organiser_confirm(token=invitation.token, user=organiser)
    start = today - timedelta(days=200)
    Initiative.objects.filter(pk=initiative.pk).update(
        status=Initiative.Status.COLLECTING,
        registration_number="ECI(2025)000007",
        registration_date=start - timedelta(days=30),
        collection_start=start,
        collection_end=scheme("eci").collection_end(start),
    )
    initiative.refresh_from_db()
    return initiative


def _checkpoint(
    initiative: Initiative, day: date, size: int, *, last_of_day: bool = True, hour: int = 12
) -> None:
    """A checkpoint of ``size`` signed on ``day`` (UTC), as the sequencer flags and counts it."""
    checkpoint = Checkpoint.objects.create(
        initiative=initiative,
        size=size,
        root=bytes(32),
        note="test",
        counts={"by_member_state": {"DE": size} if size else {}, "by_partner": {}},
        last_of_hour=True,
        last_of_day=last_of_day,
    )
    Checkpoint.objects.filter(pk=checkpoint.pk).update(
        created_at=datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
    )


def dashboard(organiser, login, language: str = "en") -> str:
    client = Client()
    login(client, organiser)
    client.cookies["django_language"] = language
    response = client.get("/manage/initiatives/clean-air/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_the_count_over_time_is_the_last_flagged_checkpoint_of_each_day(
    organiser_alice, today
) -> None:
    initiative = organised_collecting(organiser_alice, today)
    first = today - timedelta(days=3)
    _checkpoint(initiative, first, 5, last_of_day=False, hour=9)  # a later one the same day
    _checkpoint(initiative, first, 8, hour=18)
    _checkpoint(initiative, first + timedelta(days=2), 13)

    assert log_growth(initiative_id=initiative.pk) == [
        (first, 8),
        (first + timedelta(days=2), 13),
    ]


@pytest.mark.django_db
def test_the_dashboard_draws_axes_a_named_picture_and_the_numbers_as_a_table(
    organiser_alice, login, today, data_dir
) -> None:
    initiative = organised_collecting(organiser_alice, today)
    first = today - timedelta(days=20)
    for offset, size in ((0, 0), (7, 1_200), (14, 5_600), (20, 9_100)):
        _checkpoint(initiative, first + timedelta(days=offset), size)

    page = dashboard(organiser_alice, login, "de")

    svg = re.search(r'<svg class="growth-chart".*?</svg>', page, re.S)
    assert svg is not None
    drawing = svg.group(0)
    assert 'role="img"' in drawing and 'aria-labelledby="growth-title growth-desc"' in drawing
    assert 'width="100%"' in drawing and f'viewBox="0 0 {WIDTH} {HEIGHT}"' in drawing
    assert re.search(r'<title id="growth-title">[^<]+</title>', drawing)
    with translation.override("de"):
        from quorum.core.local_forms import local_date, local_number

        assert f"{local_number(9100)} " in re.search(r"<desc[^>]*>(.*?)</desc>", drawing).group(1)
        assert local_date(today) in drawing  # the description names the last day
        # The table gives every day's number, in German forms.
        table = re.search(r'<table class="govuk-table growth-table">.*?</table>', page, re.S)
        assert table is not None
        for offset, size in ((0, 0), (7, 1_200), (14, 5_600), (20, 9_100)):
            assert local_date(first + timedelta(days=offset), width="medium") in table.group(0)
            assert f">{local_number(size)}<" in table.group(0)
    # Round count ticks in German numbers, grid lines, day ticks, the line and its four dots.
    labels = re.findall(r'<text class="count"[^>]*>([^<]+)</text>', drawing)
    assert labels == ["0", "2.000", "4.000", "6.000", "8.000", "10.000"]
    assert drawing.count('class="grid"') >= 2
    assert len(re.findall(r'<text class="day"', drawing)) >= 2
    assert drawing.count("<circle") == 4
    # Coordinates are for the SVG, never in a local form (a German decimal comma would break it).
    assert not re.search(r'(?:x|y|x1|x2|y1|y2|cx|cy)="\d+,\d', drawing)


@pytest.mark.django_db
def test_before_the_first_checkpoint_the_dashboard_says_why_there_is_no_chart(
    organiser_alice, login, today, data_dir
) -> None:
    organised_collecting(organiser_alice, today)
    page = dashboard(organiser_alice, login)

    assert "growth-chart" not in page and "<polyline" not in page
    assert "appears after the log's first checkpoint" in page
    # The map has nothing to wait for: every Member State at none yet.
    assert page.count('<g class="quorum-map-tile quorum-map-step-0" data-map-state=') == 27
