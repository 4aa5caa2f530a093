"""axe-core finds no serious or critical violation on any public page, in Polish, Greek and
Bulgarian: Latin with diacritics, Greek and Cyrillic script.

axe-core is the copy inside axe-playwright-python, injected into the page: it must fetch
nothing. One context per language; each page is loaded once and checked at a phone's width,
where the layout differs most from the desktop's.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # the fixtures' types; conftest is not importable as a module
    from conftest import QuorumServer

pytest.importorskip("playwright.sync_api")
pytest.importorskip("axe_playwright_python.sync_playwright")

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
DEMO_SLUG = "ban-biometric-mass-surveillance"
# What a page may fetch by itself while axe runs: the counter's refresh and the page's icon.
OWN_FETCHES = ("/counts", "/static/quorum/favicon.svg")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]


def describe(violations: list[dict]) -> str:
    return "\n".join(
        f"  {v['id']} ({v['impact']}): {v['help']} — "
        + ", ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        for v in violations
    )


@pytest.mark.parametrize("language", ["pl", "el", "bg"])
def test_axe_finds_no_serious_or_critical_violation_on_any_public_page(
    chromium: Browser, quorum_server: QuorumServer, public_pages: dict[str, str], language: str
) -> None:
    server = quorum_server
    context = chromium.new_context(viewport={"width": 375, "height": 812})
    context.add_cookies([{"name": "django_language", "value": language, "url": server.base_url}])
    asked: list[str] = []
    context.on("request", lambda request: asked.append(request.url))
    context.set_default_timeout(15_000)
    axe = Axe()
    blocking = []
    try:
        page = context.new_page()
        for name, path in public_pages.items():
            page.goto(server.url(path))
            if "?receipt=" in path:  # the browser checks the receipt itself, then shows it
                page.wait_for_load_state("networkidle")
            assert page.evaluate("document.documentElement.lang") == language, name
            seen = len(asked)
            results = axe.run(page).response
            fetched = [url for url in asked[seen:] if not url.endswith(OWN_FETCHES)]
            assert fetched == [], f"axe-core fetched something on {name}: {fetched}"
            assert results["passes"], f"axe-core did not run its rules on {name}"
            serious = [v for v in results["violations"] if v["impact"] in ("serious", "critical")]
            if serious:
                blocking.append(f"{name} ({path}) in {language}:\n{describe(serious)}")
    finally:
        context.close()

    foreign = [url for url in asked if not url.startswith(server.base_url + "/")]
    assert foreign == [], f"requests to another origin: {foreign}"
    assert not blocking, "axe:\n" + "\n".join(blocking)


# --- the initiative page's pictures: the map of the Member States and the count over time ---

PICTURES = ("svg.progress-map", "svg.growth-chart")


def open_with_pictures(page: Page, server: QuorumServer) -> None:
    """The initiative page once its log has a checkpoint (the sequencer signs one a round):
    the map is there from the start, the chart from the first checkpoint on."""
    for _ in range(30):
        page.goto(server.url(f"/i/{DEMO_SLUG}/"))
        if page.locator("svg.growth-chart").count():
            return
        page.wait_for_timeout(500)
    raise AssertionError("the initiative page never drew the count over time")


@pytest.mark.parametrize("language", ["pl", "el", "bg"])
def test_the_initiative_pages_map_and_chart_are_named_pictures_with_their_tables_and_pass_axe(
    chromium: Browser, quorum_server: QuorumServer, receipt: str, language: str
) -> None:
    context = chromium.new_context(viewport={"width": 375, "height": 812})
    context.add_cookies(
        [{"name": "django_language", "value": language, "url": quorum_server.base_url}]
    )
    try:
        page = context.new_page()
        open_with_pictures(page, quorum_server)
        for selector in PICTURES:
            picture = page.locator(selector)
            assert picture.count() == 1 and picture.get_attribute("role") == "img"
            # Named by its title and described by its desc, both non-empty and in the page's
            # language; the table it stands for is on the page too.
            title_id, desc_id = picture.get_attribute("aria-labelledby").split()
            assert page.locator(f"#{title_id}").text_content().strip()
            assert page.locator(f"#{desc_id}").text_content().strip()
        squares = page.locator("svg.progress-map [data-map-state]")
        assert squares.count() == 27
        # Each square's own title names the Member State in the page's language, as the
        # table's first column does.
        poland = page.locator('svg.progress-map [data-map-state="PL"] > title').text_content()
        table_poland = page.locator("#counts-PL").text_content().strip()
        assert poland.startswith(table_poland + ":")
        table = page.locator(page.locator("svg.progress-map ~ figcaption a").get_attribute("href"))
        assert table.locator("tr[data-member-state]").count() == 27
        assert page.locator(".growth-table tbody tr").count() >= 1

        results = Axe().run(page).response
        assert results["passes"], "axe-core did not run its rules"
        serious = [v for v in results["violations"] if v["impact"] in ("serious", "critical")]
        assert not serious, f"the initiative page in {language}:\n{describe(serious)}"
    finally:
        context.close()


def test_on_a_320_px_phone_the_map_and_chart_fit_and_their_text_is_at_least_12_px(
    chromium: Browser, quorum_server: QuorumServer, receipt: str
) -> None:
    context = chromium.new_context(viewport={"width": 320, "height": 640})
    try:
        page = context.new_page()
        open_with_pictures(page, quorum_server)
        for selector in PICTURES:
            picture = page.locator(selector)
            picture.scroll_into_view_if_needed()
            assert picture.is_visible(), selector
            box = picture.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 320, selector
            assert box["height"] > 100, selector
            assert picture.locator("title").first.text_content().strip()
        assert page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
        # The smallest text of each picture as drawn: the font size the text has (its own or
        # its group's) times the picture's scale.
        for selector in PICTURES:
            smallest = page.evaluate(
                """(selector) => {
                  const svg = document.querySelector(selector);
                  const scale = svg.getScreenCTM().a;
                  return Math.min(...[...svg.querySelectorAll("text")].map((text) =>
                    parseFloat(text.closest("[font-size]").getAttribute("font-size")) * scale));
                }""",
                selector,
            )
            assert smallest >= 12, selector
    finally:
        context.close()


STYLESHEET = Path(__file__).resolve().parents[2] / "src/quorum/static/quorum/quorum.css"


def test_the_chart_s_day_labels_never_overlap_in_any_language_as_a_phone_draws_them(
    chromium: Browser,
) -> None:
    """Each language's dates drawn by Chromium at a 320 px phone's column, with the site's
    stylesheet: a collection of months, across the new year, and a short one of big counts
    (the widest count labels leave the days the least room)."""
    from django.conf import settings
    from django.template.loader import render_to_string
    from django.utils import translation

    from quorum.ledger.charts import growth_chart

    months = [(date(2026, 11, 20) + timedelta(days=d), 1000 * d * d) for d in range(60)]
    weeks = [(date(2026, 12, 1) + timedelta(days=d), 12_345_678 * d) for d in range(22)]
    charts = []
    for language, _ in settings.LANGUAGES:
        for series in (months, weeks):
            with translation.override(language):
                chart = growth_chart(series, language=language)
                context = {"chart": chart, "growth": series, "id_prefix": f"c{len(charts)}"}
                charts.append((language, render_to_string("ledger/_growth_chart.html", context)))
    context = chromium.new_context(viewport={"width": 320, "height": 640})
    try:
        page = context.new_page()
        page.set_content(
            '<main class="govuk-main-wrapper"><div class="govuk-width-container">'
            + "".join(html for _, html in charts)
            + "</div></main>"
        )
        page.add_style_tag(path=str(STYLESHEET))
        drawn = page.evaluate(
            """() => [...document.querySelectorAll("svg.growth-chart")].map((svg) => {
              const boxes = [...svg.querySelectorAll("text.day")].map(
                (text) => text.getBoundingClientRect());
              const frame = svg.getBoundingClientRect();
              return {
                gaps: boxes.slice(1).map((box, i) => box.left - boxes[i].right),
                inside: boxes.every((box) => box.left >= frame.left && box.right <= frame.right
                  && box.bottom <= frame.bottom),
              };
            })"""
        )
        assert len(drawn) == len(charts)
        for (language, _), chart in zip(charts, drawn, strict=True):
            assert chart["gaps"] and min(chart["gaps"]) > 2, (language, chart)
            assert chart["inside"], (language, chart)
    finally:
        context.close()


def test_in_forced_colours_every_square_keeps_a_border_and_text_unlike_its_fill(
    chromium: Browser, quorum_server: QuorumServer, receipt: str
) -> None:
    context = chromium.new_context(viewport={"width": 375, "height": 812})
    try:
        page = context.new_page()
        page.emulate_media(forced_colors="active")
        open_with_pictures(page, quorum_server)
        squares = page.evaluate(
            """() => [...document.querySelectorAll("svg.progress-map [data-map-state]")].map(
              (g) => {
                const rect = getComputedStyle(g.querySelector("rect"));
                const text = getComputedStyle(g.querySelector("text"));
                return [g.dataset.mapState, rect.fill, rect.stroke, text.fill];
              })"""
        )
        assert len(squares) == 27
        for code, fill, stroke, text in squares:
            assert stroke not in ("none", fill), code
            assert text != fill, code
        # The system's colours, not the shades of the normal drawing.
        line = page.evaluate(
            "getComputedStyle(document.querySelector('svg.growth-chart .line')).stroke"
        )
        assert line != "rgb(11, 79, 156)"
    finally:
        context.close()
