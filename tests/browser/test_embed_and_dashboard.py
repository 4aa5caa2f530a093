"""In Chromium: the framed counter fits a sidebar and a full-width frame, speaks ?lang=, keeps
itself current and has no serious accessibility fault; the organiser's dashboard draws its
chart inside a phone's width; the docs' screenshot script renders a page to a PNG."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # the fixtures' types; conftest is not importable as a module
    from conftest import QuorumServer

pytest.importorskip("playwright.sync_api")
pytest.importorskip("axe_playwright_python.sync_playwright")

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, expect

CHROMIUM = Path("/usr/bin/chromium")
DEMO_SLUG = "ban-biometric-mass-surveillance"
COUNTER = f"/i/{DEMO_SLUG}/counter/"
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "screenshots.py"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]


def screenshots_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("quorum_screenshots", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being made
    spec.loader.exec_module(module)
    return module


def fits(page) -> bool:
    """Nothing scrolls: not sideways, and not below the frame's height."""
    return page.evaluate(
        "() => { const d = document.documentElement;"
        " return d.scrollWidth <= d.clientWidth && d.scrollHeight <= d.clientHeight; }"
    )


@pytest.mark.parametrize(("width", "height"), [(300, 200), (480, 200), (1280, 200)])
@pytest.mark.parametrize("language", ["en", "de", "el", "hu"])
def test_the_counter_fits_its_frame_in_every_size_offered_with_its_button_in_view(
    chromium: Browser, quorum_server: QuorumServer, width: int, height: int, language: str
) -> None:
    context = chromium.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        page.goto(quorum_server.url(f"{COUNTER}?lang={language}"))

        assert page.evaluate("document.documentElement.lang") == language
        assert fits(page), f"the counter scrolls at {width}x{height} in {language}"
        button = page.locator(".counter__link").bounding_box()
        assert button is not None
        assert button["height"] >= 44 and button["y"] + button["height"] <= height
    finally:
        context.close()


def test_the_counter_framed_by_another_site_shows_and_keeps_its_total_current(
    chromium: Browser, quorum_server: QuorumServer
) -> None:
    """A page of another origin (a server of its own on another port) frames the counter, as a
    campaign site would."""
    context = chromium.new_context()
    with contextlib.ExitStack() as stack:
        stack.callback(context.close)
        page = context.new_page()
        # The page's clock is the test's: counts.js's 30-second interval passes at once.
        page.clock.install()
        snippet = (
            f'<iframe src="{quorum_server.url(COUNTER)}?lang=fr" title="Compteur" '
            'width="300" height="200"></iframe>'
        )
        page.goto(stack.enter_context(campaign_site(snippet)))
        frame = page.frame_locator("iframe")
        total = frame.locator("[data-total]")
        expect(total).to_be_visible(timeout=15_000)
        expect(frame.locator(".counter__link")).to_contain_text("Soutenir")
        before = digits(total.inner_text())

        quorum_server.sign_statement()
        now = before
        for _ in range(20):  # the sequencer's rounds take real time; the refresh, page time
            page.wait_for_timeout(500)
            page.clock.run_for(31_000)
            now = digits(total.inner_text())
            if now > before:
                break
        assert now > before, "the framed counter did not refresh its total"


@contextlib.contextmanager
def campaign_site(body: str) -> Iterator[str]:
    """A web server of another origin that answers ``body`` to every GET; its address."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def digits(text: str) -> int:
    return int("".join(ch for ch in text if ch.isdigit()))


@pytest.mark.parametrize("language", ["pl", "el", "bg"])
def test_axe_finds_no_serious_or_critical_violation_on_the_counter(
    chromium: Browser, quorum_server: QuorumServer, language: str
) -> None:
    context = chromium.new_context(viewport={"width": 300, "height": 200})
    try:
        page = context.new_page()
        page.goto(quorum_server.url(f"{COUNTER}?lang={language}"))
        results = Axe().run(page).response
        blocking = [v for v in results["violations"] if v["impact"] in ("serious", "critical")]
        assert blocking == [], json.dumps(blocking, indent=1)[:3000]
    finally:
        context.close()


def test_the_dashboard_draws_its_chart_within_a_phones_width_and_the_preview_frame(
    chromium: Browser, quorum_server: QuorumServer
) -> None:
    shots = screenshots_script()
    server = shots.Server(base_url=quorum_server.base_url, data_dir=quorum_server.data_dir)
    quorum_server.sign_statement()
    context = chromium.new_context(viewport={"width": 320, "height": 640})
    try:
        page = context.new_page()
        shots.sign_in_as_demo_organiser(page, server)
        page.goto(quorum_server.url(f"/manage/initiatives/{DEMO_SLUG}/"))
        chart = page.locator("svg.growth-chart")
        expect(chart).to_be_visible(timeout=15_000)

        box = chart.bounding_box()
        assert box is not None and box["width"] <= 320 and box["height"] > 100
        assert page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
        assert chart.get_attribute("role") == "img"
        assert page.locator("#growth-title").text_content() == "Statements received over time"
        # The preview loads lazily, when it comes into view.
        page.locator("iframe.quorum-embed-preview").scroll_into_view_if_needed()
        preview = page.frame_locator("iframe.quorum-embed-preview")
        expect(preview.locator("[data-total]")).to_be_visible(timeout=15_000)
        # axe is injected into the page only: it must not wait for an axe inside the preview
        # frame (the counter is checked on its own above).
        results = (
            Axe().run(page, options={"resultTypes": ["violations"], "iframes": False}).response
        )
        blocking = [v for v in results["violations"] if v["impact"] in ("serious", "critical")]
        assert blocking == [], json.dumps(blocking, indent=1)[:3000]
    finally:
        context.close()


def test_the_screenshot_script_renders_a_page_to_a_png(
    chromium: Browser, quorum_server: QuorumServer, tmp_path: Path
) -> None:
    shots = screenshots_script()
    context = chromium.new_context()
    try:
        page = context.new_page()
        path = shots.render(
            page,
            quorum_server.url(f"{COUNTER}?lang=de"),
            tmp_path / "counter-embed-300.png",
            width=300,
            height=200,
        )
    finally:
        context.close()

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = (
        int.from_bytes(path.read_bytes()[16:20]),
        int.from_bytes(path.read_bytes()[20:24]),
    )
    assert (width, height) == (300, 200)
    index = shots.write_index(tmp_path, [path]).read_text(encoding="utf-8")
    assert "![counter-embed, 300 px wide](counter-embed-300.png)" in index
