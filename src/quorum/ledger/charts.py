"""The "statements received over time" chart, drawn on the server as SVG.

No script and no library: the partial ``ledger/_growth_chart.html`` draws what
:func:`growth_chart` measures (axes with a few round ticks, grid lines, the line and its
points), and gives the same numbers as a table under it for anyone who cannot see the
picture. The organisers' dashboard and the public initiative page draw the same chart from
the same points (``ledger.selectors.log_growth``): it lives in the ledger so that both can.

The drawing is in its own coordinates (the SVG's ``viewBox``) and scales to the width of its
box: :data:`WIDTH` is chosen so that its text stays readable from a 320 px phone, where the
chart is drawn a little smaller than its own size, to the half-width column of a desktop,
where it is drawn about half as large again.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from babel import Locale
from babel.dates import format_skeleton

from quorum.core.local_forms import babel_locale, local_number

WIDTH, HEIGHT = 320, 180
# 14 units are 12.7 px on a 320 px phone, whose column draws the chart at 290 px.
FONT_SIZE = 14
# Room above the top grid line (half a label) and below the x axis (one label line and a gap).
TOP, BOTTOM, RIGHT = 10, 26, 14
# A digit of a system sans-serif is about 0.6 em wide, a letter or a dot less: enough to
# reserve the y labels' room, and to keep day labels apart however long a language makes them.
CHARACTER_WIDTH = 0.6 * FONT_SIZE
# The least room between two day labels.
LABEL_GAP = 0.5 * FONT_SIZE
# The year's own line under the day labels, when the days are in more than one year.
YEAR_LINE = FONT_SIZE + 3
MOST_COUNT_TICKS = 6
# Day labels ("30 Dec"): four across at most, fewer where a language's are longer.
MOST_DAY_TICKS = 4
# Beyond this many points the dots would touch: the line alone says it.
MOST_DOTS = 60
# Steps between dated ticks, in days: a day, a week, a fortnight, about a month, a quarter, ...
DAY_STEPS = (1, 2, 7, 14, 30, 61, 91, 182, 365)


def count_ticks(top: int, *, most: int = MOST_COUNT_TICKS) -> list[int]:
    """Round counts from 0 up to at least ``top``, evenly spaced, at most ``most`` of them.

    The step is 1, 2 or 5 times a power of ten, the smallest that needs no more than ``most``
    ticks; a count axis never steps by less than one statement. ``top`` of 0 (no statement
    yet) still gives an axis, 0 to 1, so that a flat line lies on the floor of the chart.
    """
    if most < 2:
        raise ValueError("an axis needs at least two ticks")
    top = max(top, 1)
    exponent = 0
    while True:
        for multiple in (1, 2, 5):
            step = multiple * 10**exponent
            intervals = -(-top // step)  # ceiling division, exact for any size
            if intervals + 1 <= most:
                return [i * step for i in range(intervals + 1)]
        exponent += 1


def day_ticks(first: date, last: date, *, most: int = MOST_DAY_TICKS) -> list[date]:
    """Days from ``first`` to at least ``last``, evenly spaced, at most ``most`` of them.

    One day alone (``first == last``) is one tick. The step is the shortest of
    :data:`DAY_STEPS` (or a whole number of years) that needs no more than ``most`` ticks.
    """
    if most < 2:
        raise ValueError("an axis needs at least two ticks")
    span = (last - first).days
    if span < 0:
        raise ValueError("the last day is before the first")
    if span == 0:
        return [first]
    step = next(
        (s for s in DAY_STEPS if -(-span // s) + 1 <= most),
        365 * -(-span // (365 * (most - 1))),
    )
    intervals = -(-span // step)
    return [first + timedelta(days=i * step) for i in range(intervals + 1)]


@dataclass(frozen=True)
class Tick:
    position: float  # along its axis, in the chart's coordinates
    label: str
    anchor: str = "middle"  # text-anchor: the outermost day labels stay inside the chart
    year: str = ""  # a day label's second line: on the first day and where the year changes

    def extent(self) -> tuple[float, float]:
        """From where to where its label reaches along the axis, as measured by characters."""
        width = CHARACTER_WIDTH * max(len(self.label), len(self.year))
        if self.anchor == "start":
            return self.position, self.position + width
        if self.anchor == "end":
            return self.position - width, self.position
        return self.position - width / 2, self.position + width / 2


@dataclass(frozen=True)
class Dot:
    x: float
    y: float


@dataclass(frozen=True)
class GrowthChart:
    width: int
    height: int
    font_size: int
    left: float  # the plot area, inside the axes
    right: float
    top: float
    bottom: float
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    line: str  # the polyline's points
    dots: list[Dot]
    first_day: date
    last_day: date
    first_count: int
    last_count: int

    @property
    def label_x(self) -> float:
        """Where the y labels end (they are right-aligned against the axis)."""
        return self.left - 6

    @property
    def label_y(self) -> float:
        """The baseline of the x labels, below the axis."""
        return self.bottom + self.font_size + 4

    @property
    def year_line(self) -> int:
        """How far below a day label its year is written, when it has one."""
        return YEAR_LINE

    @property
    def tick_end(self) -> float:
        """Where a day's tick mark ends, just below the axis."""
        return self.bottom + 4


def growth_chart(
    series: list[tuple[date, int]], *, language: str | None = None
) -> GrowthChart | None:
    """The chart of (day, count) pairs in day order, or None when there is nothing to draw."""
    if not series:
        return None
    locale = babel_locale(language)
    first, last = series[0][0], series[-1][0]
    counts = count_ticks(max(count for _, count in series))
    count_labels = [local_number(count, language=language) for count in counts]
    left = round(8 + CHARACTER_WIDTH * max(len(label) for label in count_labels), 1)
    right, top = WIDTH - RIGHT, float(TOP)
    two_years = first.year != last.year
    bottom = float(HEIGHT - BOTTOM - (YEAR_LINE if two_years else 0))
    days, x_of = _days_that_fit(first, last, left, right, locale=locale, two_years=two_years)

    def y_of(count: int) -> float:
        return round(bottom - (bottom - top) * count / counts[-1], 1)

    x_ticks = _day_ticks_drawn(days, x_of, locale=locale, two_years=two_years)
    y_ticks = [Tick(y_of(count), label) for count, label in zip(counts, count_labels, strict=True)]
    dots = [Dot(x_of(day), y_of(count)) for day, count in series]
    return GrowthChart(
        width=WIDTH,
        height=HEIGHT,
        font_size=FONT_SIZE,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        line=" ".join(f"{dot.x:.1f},{dot.y:.1f}" for dot in dots),
        dots=dots if len(dots) <= MOST_DOTS else [],
        first_day=first,
        last_day=last,
        first_count=series[0][1],
        last_count=series[-1][1],
    )


def _days_that_fit(
    first: date, last: date, left: float, right: float, *, locale: Locale, two_years: bool
) -> tuple[list[date], Callable[[date], float]]:
    """The most dated ticks (at most :data:`MOST_DAY_TICKS`) whose labels keep apart, and where
    on the axis a day lies; first and last alone when no more fit."""
    for most in range(MOST_DAY_TICKS, 1, -1):
        days = day_ticks(first, last, most=most)
        x_of = _day_positions(days, left, right)
        extents = [
            tick.extent()
            for tick in _day_ticks_drawn(days, x_of, locale=locale, two_years=two_years)
        ]
        if all(a[1] + LABEL_GAP <= b[0] for a, b in itertools.pairwise(extents)):
            break
    return days, x_of


def _day_positions(days: list[date], left: float, right: float) -> Callable[[date], float]:
    span = (days[-1] - days[0]).days

    # Positions to a tenth of a unit: finer than any screen draws them, and a short page.
    def x_of(day: date) -> float:
        if span == 0:  # one day: in the middle
            return round((left + right) / 2, 1)
        return round(left + (right - left) * (day - days[0]).days / span, 1)

    return x_of


def _day_ticks_drawn(
    days: list[date], x_of: Callable[[date], float], *, locale: Locale, two_years: bool
) -> list[Tick]:
    """Day and month on each tick; the year on a line of its own under the first tick and
    under each where it changes, when the chart spans more than one year."""
    ticks = []
    for i, day in enumerate(days):
        new_year = two_years and (i == 0 or days[i - 1].year != day.year)
        year = format_skeleton("y", day, locale=locale) if new_year else ""
        label = format_skeleton("MMMd", day, locale=locale)
        ticks.append(Tick(x_of(day), label, _anchor(i, len(days)), year))
    return ticks


def _anchor(index: int, count: int) -> str:
    if count == 1:
        return "middle"
    if index == 0:
        return "start"
    return "end" if index == count - 1 else "middle"
