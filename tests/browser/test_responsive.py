"""No public page scrolls sideways, at 320, 375 or 1,280 px, in any of the 24 languages.

One browser; per language one context (the language chosen by Django's language cookie, as
the switcher sets it) and one page, which loads each public page once and is then resized to
each width: a resize re-applies the media queries without a reload. A failure names the
page, the width, the language and the elements that stick out furthest.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.conf import settings

if TYPE_CHECKING:  # the fixtures' types; conftest is not importable as a module
    from conftest import QuorumServer

pytest.importorskip("playwright.sync_api")

from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
DEMO_SLUG = "ban-biometric-mass-surveillance"
#: Every language the site offers (24): the same list the language switcher shows.
LANGUAGES = [code for code, _ in settings.LANGUAGES]
WIDTHS = ((320, 640), (375, 812), (1280, 800))

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]

# Where an element sticks out: the rightmost ones that have no child sticking out as far,
# so the report names the culprit rather than its every ancestor.
WIDEST = """() => {
  const limit = document.documentElement.clientWidth;
  const out = [];
  for (const element of document.body.querySelectorAll("*")) {
    const right = element.getBoundingClientRect().right;
    if (right <= limit + 0.5) continue;
    const child = [...element.children].some((c) => c.getBoundingClientRect().right >= right);
    if (child) continue;
    const name = element.tagName.toLowerCase() + (element.id ? "#" + element.id : "") +
      (element.className && typeof element.className === "string"
        ? "." + element.className.trim().split(/\\s+/).join(".") : "");
    out.push([Math.round(right), name, (element.textContent || "").trim().slice(0, 60)]);
  }
  out.sort((a, b) => b[0] - a[0]);
  return out.slice(0, 5);
}"""


def overflows(page: Page) -> list[str]:
    """For each width, what sticks out of the current page, if anything."""
    found = []
    for width, height in WIDTHS:
        page.set_viewport_size({"width": width, "height": height})
        scroll, client = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        if scroll > client:
            widest = "; ".join(
                f"{name} to {right} px ({text!r})" for right, name, text in page.evaluate(WIDEST)
            )
            found.append(f"at {width} px the page is {scroll} px wide: {widest}")
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_public_page_scrolls_sideways_on_a_phone_or_a_desktop(
    chromium: Browser, quorum_server: QuorumServer, public_pages: dict[str, str], language: str
) -> None:
    server = quorum_server
    context = chromium.new_context(viewport={"width": WIDTHS[0][0], "height": WIDTHS[0][1]})
    context.add_cookies([{"name": "django_language", "value": language, "url": server.base_url}])
    foreign: list[str] = []
    context.on(
        "request",
        lambda request: (
            None if request.url.startswith(server.base_url + "/") else foreign.append(request.url)
        ),
    )
    context.set_default_timeout(15_000)
    failures = []
    try:
        page = context.new_page()
        for name, path in public_pages.items():
            page.set_viewport_size({"width": WIDTHS[0][0], "height": WIDTHS[0][1]})
            page.goto(server.url(path))
            if "?receipt=" in path:  # the browser checks the receipt itself, then shows it
                page.wait_for_load_state("networkidle")
            assert page.evaluate("document.documentElement.lang") == language, name
            failures += [f"{name} ({path}) in {language} {problem}" for problem in overflows(page)]
    finally:
        context.close()

    assert foreign == [], f"requests to another origin: {foreign}"
    assert not failures, "sideways scrolling:\n" + "\n".join(failures)


# Controls a finger must hit: the header's links and controls, and every button, select and
# text box of the page. Links inside running text are exempt (WCAG 2.5.8), and GOV.UK's
# checkboxes and radios are a 40 px box whose label is part of the target.
CONTROLS = (
    ".govuk-header a, .govuk-header button, .govuk-header select, "
    "main .govuk-button, main .govuk-select, main .govuk-input, main button, main select"
)
SMALL = """(selector) => [...document.querySelectorAll(selector)]
  .filter((e) => e.offsetParent !== null)
  .map((e) => [e.outerHTML.slice(0, 80), Math.round(e.getBoundingClientRect().height)])
  .filter(([, height]) => height < 44)"""


def test_every_control_on_a_phone_is_at_least_44_px_high(
    chromium: Browser, quorum_server: QuorumServer, public_pages: dict[str, str]
) -> None:
    server = quorum_server
    context = chromium.new_context(viewport={"width": 320, "height": 640})
    small = []
    try:
        page = context.new_page()
        for name, path in public_pages.items():
            page.goto(server.url(path))
            small += [
                f"{name}: {html} is {height} px" for html, height in page.evaluate(SMALL, CONTROLS)
            ]
    finally:
        context.close()

    assert not small, "touch targets under 44 px:\n" + "\n".join(small)
