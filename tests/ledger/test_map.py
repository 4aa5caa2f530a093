"""The map of the Member States: one square each on a grid that keeps neighbours near, shaded
in steps of progress toward each minimum with text that contrasts with its shade, a mark
besides the colour for a reached minimum, and the Member State table as its text alternative,
on the public initiative page (with the count over time) and on the organisers' dashboard."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from quorum.core.local_forms import local_number, local_percent
from quorum.ledger.map import (
    BORDER,
    CODE_FONT_SIZE,
    GRID,
    HEIGHT,
    REACHED,
    SHARE_FONT_SIZE,
    STEPS,
    TILE,
    WIDTH,
    progress_map,
    step_of,
)
from quorum.ledger.sequencer import sequence_all
from quorum.rules import scheme

from .test_charts import _checkpoint, dashboard, organised_collecting

CODES = scheme("eci").member_state_codes()
PAGE = "/i/clean-air/"
# Where two Member States share a land border (or, for Sweden and Finland, the Gulf's ends).
LAND_BORDERS = [
    ("PT", "ES"), ("ES", "FR"), ("FR", "BE"), ("FR", "LU"), ("FR", "DE"), ("FR", "IT"),
    ("BE", "NL"), ("BE", "DE"), ("BE", "LU"), ("LU", "DE"), ("NL", "DE"), ("DE", "DK"),
    ("DE", "PL"), ("DE", "CZ"), ("DE", "AT"), ("AT", "CZ"), ("AT", "SK"), ("AT", "HU"),
    ("AT", "SI"), ("AT", "IT"), ("IT", "SI"), ("SI", "HR"), ("HR", "HU"), ("HU", "SK"),
    ("HU", "RO"), ("SK", "PL"), ("SK", "CZ"), ("CZ", "PL"), ("PL", "LT"), ("LT", "LV"),
    ("LV", "EE"), ("RO", "BG"), ("BG", "EL"), ("SE", "FI"),
]  # fmt: skip
# The narrowest column a page has: a 320 px phone less the page's margins of 15 px.
PHONE_COLUMN = 290


@dataclass(frozen=True)
class Row:
    code: str
    count: int
    threshold: int
    reached: bool


def rows(counts: dict[str, int] | None = None, *, threshold: int = 10_000) -> list[Row]:
    counts = counts or {}
    return [
        Row(code, counts.get(code, 0), threshold, counts.get(code, 0) >= threshold)
        for code in CODES
    ]


def luminance(colour: str) -> float:
    """WCAG 2's relative luminance of a #rrggbb colour."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


# --- the grid -------------------------------------------------------------------------------


def test_every_member_state_has_one_square_and_no_other_code_has_one() -> None:
    drawn = progress_map(rows())

    assert sorted(tile.code for tile in drawn.tiles) == sorted(CODES)
    assert set(GRID) == set(CODES)
    assert drawn.total == 27


def test_no_two_squares_overlap_and_all_lie_inside_the_picture() -> None:
    tiles = progress_map(rows()).tiles

    assert len({(tile.column, tile.row) for tile in tiles}) == len(tiles)
    for a, b in itertools.combinations(tiles, 2):
        apart = abs(a.x - b.x) >= TILE or abs(a.y - b.y) >= TILE
        assert apart, f"{a.code} and {b.code} overlap"
    for tile in tiles:
        # Room for the thick border of a reached square (half of it lies outside).
        assert tile.x >= 1.5 and tile.x + TILE <= WIDTH - 1.5
        assert tile.y >= 1.5 and tile.y + TILE <= HEIGHT - 1.5


@pytest.mark.parametrize(("a", "b"), LAND_BORDERS)
def test_neighbours_across_a_land_border_are_at_most_two_squares_apart(a: str, b: str) -> None:
    (ax, ay), (bx, by) = GRID[a], GRID[b]
    assert max(abs(ax - bx), abs(ay - by)) <= 2


def test_the_text_is_at_least_12_px_on_a_320_px_phone() -> None:
    scale = PHONE_COLUMN / WIDTH
    assert min(CODE_FONT_SIZE, SHARE_FONT_SIZE) * scale >= 12


# --- steps and colours ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "threshold", "reached", "step"),
    [
        (0, 4_320, False, 0),
        (1, 4_320, False, 1),
        (1_079, 4_320, False, 1),  # 24.98 %
        (1_080, 4_320, False, 2),  # 25 % exactly
        (2_159, 4_320, False, 2),
        (2_160, 4_320, False, 3),  # 50 %
        (3_239, 4_320, False, 3),
        (3_240, 4_320, False, 4),  # 75 %
        (4_319, 4_320, False, 4),  # one short: never rounded up to reached
        (4_320, 4_320, True, 5),
        (90_000, 4_320, True, 5),
        (5, 0, False, 1),  # no minimum known yet: some, nothing reached
        (0, 0, False, 0),
    ],
)
def test_the_step_is_exact_at_every_boundary(
    count: int, threshold: int, reached: bool, step: int
) -> None:
    assert step_of(count, threshold, reached=reached) == step


@given(st.integers(min_value=0, max_value=10**7), st.integers(min_value=1, max_value=10**6))
def test_the_step_is_the_quarter_the_share_is_in(count: int, threshold: int) -> None:
    reached = count >= threshold
    step = step_of(count, threshold, reached=reached)

    if reached:
        assert step == REACHED
    elif count == 0:
        assert step == 0
    else:
        assert STEPS[step].low * threshold <= count * 100 < STEPS[step].high * threshold


def test_the_share_is_rounded_down_and_stays_under_100_until_reached() -> None:
    tiles = {
        tile.code: tile
        for tile in progress_map(
            [
                Row("PL", 9_999, 10_000, False),
                Row("DE", 4_567, 10_000, False),
                Row("MT", 12_000, 10_000, True),
            ]
        ).tiles
    }

    assert tiles["PL"].percent == 99 and tiles["PL"].step == 4
    assert tiles["DE"].percent == 45 and tiles["DE"].step == 2
    assert tiles["MT"].percent == 120 and tiles["MT"].step == REACHED


def test_a_code_the_grid_does_not_know_is_left_out() -> None:
    drawn = progress_map([Row("XX", 5, 10, False), Row("PL", 5, 10, False)])
    assert [tile.code for tile in drawn.tiles] == ["PL"]


@pytest.mark.parametrize("step", STEPS, ids=lambda step: f"step {step.number}")
def test_the_text_on_every_shade_has_at_least_4_5_to_1_contrast(step) -> None:
    assert contrast(step.label_color, step.fill) >= 4.5


def test_every_square_has_an_edge_that_shows_on_the_page_and_the_steps_darken() -> None:
    # The lightest square is nearly white: its border (3:1 for a graphic's edge) outlines it.
    assert contrast(BORDER, "#ffffff") >= 3
    assert contrast(BORDER, STEPS[0].fill) >= 3
    shades = [luminance(step.fill) for step in STEPS[:-1]]
    assert shades == sorted(shades, reverse=True)
    # The last step is another hue (the site's "reached" green), and marked besides.
    assert STEPS[-1].fill != STEPS[-2].fill


# --- the partial ------------------------------------------------------------------------------


def render(drawn, language: str) -> str:
    with translation.override(language):
        return render_to_string(
            "ledger/_progress_map.html",
            {"map": drawn, "id_prefix": "m", "table_id": "the-table"},
        )


def tile_markup(html: str, code: str) -> str:
    found = re.search(
        rf'<g class="quorum-map-tile[^"]*" data-map-state="{code}">.*?</g>', html, re.S
    )
    assert found, f"no square for {code}"
    return found.group(0)


def test_the_map_is_one_named_picture_that_points_to_the_table() -> None:
    with translation.override("en"):
        drawn = progress_map(rows({"MT": 10_000, "LU": 12_000, "PL": 2_500}))
    html = render(drawn, "en")

    svg = re.search(r'<svg class="progress-map".*?</svg>', html, re.S)
    assert svg is not None
    drawing = svg.group(0)
    assert 'role="img"' in drawing and 'aria-labelledby="m-title m-desc"' in drawing
    assert 'width="100%"' in drawing and f'viewBox="0 0 {WIDTH} {HEIGHT}"' in drawing
    assert '<title id="m-title">Progress of each Member State toward its minimum</title>' in html
    assert re.search(
        r'<desc id="m-desc">2 of 27 Member States have reached their minimum; '
        r"the table below gives every number\.</desc>",
        html,
    )
    assert (
        'aria-labelledby="m-caption"' in html
        and '<figcaption class="govuk-body-s" id="m-caption">' in html
    )
    assert 'href="#the-table"' in html
    assert len(re.findall(r'data-map-state="', drawing)) == 27
    # A legend names every step; the swatches are hidden from screen readers (the text says it).
    legend = re.search(
        r'<ul class="govuk-list govuk-body-s quorum-map-legend">.*?</ul>', html, re.S
    )
    assert legend is not None
    assert legend.group(0).count("<li>") == len(STEPS)
    assert legend.group(0).count('aria-hidden="true"') == len(STEPS)
    assert "None received yet" in legend.group(0) and "Minimum reached" in legend.group(0)
    assert "25% to under 50% of the minimum" in legend.group(0)


def test_a_reached_square_has_a_check_mark_and_a_thick_border_the_others_their_share() -> None:
    with translation.override("en"):
        html = render(progress_map(rows({"MT": 10_000, "PL": 2_500})), "en")

    malta, poland, spain = (tile_markup(html, code) for code in ("MT", "PL", "ES"))
    assert "quorum-map-reached" in malta and "✓" in malta and 'stroke-width="3"' in malta
    assert "<title>Malta: 10,000 received, minimum 10,000, reached</title>" in malta
    assert "✓" not in poland and 'stroke-width="1"' in poland and ">25%</text>" in poland
    assert "quorum-map-step-2" in poland and "quorum-map-reached" not in poland
    assert "<title>Spain: 0 received, minimum 10,000</title>" in spain
    assert 'fill="#ffffff"' in malta and 'fill="#0b0c0c"' in spain  # white on dark, dark on light


@pytest.mark.parametrize(
    ("language", "poland"), [("de", "Polen"), ("pl", "Polska"), ("el", "Πολωνία")]
)
def test_the_squares_speak_the_pages_language_and_its_numbers(language: str, poland: str) -> None:
    with translation.override(language):
        drawn = progress_map(rows({"PL": 4_567}, threshold=38_160))
        html = render(drawn, language)
        title = re.search(r"<title>([^<]*)</title>", tile_markup(html, "PL")).group(1)
        assert poland in title
        assert local_number(4_567) in title and local_number(38_160) in title
        assert f">{local_percent(11)}</text>" in tile_markup(html, "PL")
    # Coordinates are for the SVG, never in a local form (a decimal comma would break them).
    assert not re.search(r'(?:x|y|width|height)="\d+,\d', html)


# --- on the pages ---------------------------------------------------------------------------


def ids(html: str) -> list[str]:
    return re.findall(r'\sid="([^"]+)"', html)


@pytest.mark.django_db(transaction=True)
def test_the_initiative_page_has_the_map_and_the_chart_once_the_log_has_a_checkpoint(
    collecting_initiative, ledger_rows
) -> None:
    minimum = scheme("eci").threshold_table(registered=collecting_initiative.registration_date)
    ledger_rows(collecting_initiative, "MT", minimum.thresholds["MT"])
    ledger_rows(collecting_initiative, "PL", 5)
    sequence_all()

    client = Client()
    client.cookies["django_language"] = "de"
    html = client.get(PAGE).content.decode()

    section = re.search(r'<section class="live-counts".*?</section>', html, re.S).group(0)
    # The map above the Member State table, which it names as its text alternative...
    assert section.index('<svg class="progress-map"') < section.index('id="counts-table"')
    assert 'href="#counts-table"' in section
    assert '<title id="counts-map-title">' in section
    with translation.override("de"):
        # In the page's language: the name and the count in its forms, whatever the order.
        malta = re.search(r"<title>([^<]*)</title>", tile_markup(section, "MT")).group(1)
        assert "Malta" in malta and local_number(minimum.thresholds["MT"]) in malta
    assert "received" not in malta
    assert "quorum-map-reached" in tile_markup(section, "MT")
    assert re.search(r'<desc id="counts-map-desc">[^<]*\b1\b[^<]*\b27\b[^<]*</desc>', section)
    # ... and the count over time under the table, with its own ids and its numbers.
    assert section.index('id="counts-table"') < section.index('<svg class="growth-chart"')
    assert 'aria-labelledby="counts-growth-title counts-growth-desc"' in section
    assert '<table class="govuk-table growth-table">' in section
    with translation.override("de"):
        assert f">{local_number(minimum.thresholds['MT'] + 5)}<" in section
    # Two figures, no id twice on the page.
    assert len(ids(html)) == len(set(ids(html)))


@pytest.mark.django_db(transaction=True)
def test_before_the_first_checkpoint_the_page_has_the_map_but_no_chart(
    collecting_initiative,
) -> None:
    html = Client().get(PAGE).content.decode()

    assert '<svg class="progress-map"' in html
    assert "growth-chart" not in html
    assert len(re.findall(r'data-map-state="', html)) == 27


@pytest.mark.django_db
def test_the_dashboard_has_the_map_above_its_member_state_table_and_the_chart(
    organiser_alice, login, today, data_dir
) -> None:
    initiative = organised_collecting(organiser_alice, today)
    _checkpoint(initiative, today, 3)

    page = dashboard(organiser_alice, login)

    assert '<title id="states-map-title">' in page and 'href="#states-table"' in page
    assert page.index('<svg class="progress-map"') < page.index('id="states-table"')
    assert '<title id="growth-title">' in page
    assert len(ids(page)) == len(set(ids(page)))
