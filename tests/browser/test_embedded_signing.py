"""The signing form in a campaign site's frame, in Chromium: a listed site's visitors sign
there (review, receipt), the frame fits its form, and an unlisted site gets nothing."""

from __future__ import annotations

import contextlib
import http.server
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # the fixtures' types; conftest is not importable as a module
    from conftest import QuorumServer

pytest.importorskip("playwright.sync_api")

from playwright.sync_api import Frame, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DEMO_SLUG = "ban-biometric-mass-surveillance"
RECEIPT = re.compile(r"[0-9a-f]{64}")
DROPPED = ("QUORUM_", "DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")


class CampaignSite:
    """A campaign's own page on another origin (another port of 127.0.0.1), framing the form
    with the snippet's few lines that fit the frame to the height it is told."""

    def __init__(self, quorum: str) -> None:
        page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Our campaign</title></head><body><h1>Our campaign</h1>
<iframe id="quorum-sign" src="{quorum}/i/{DEMO_SLUG}/embed/sign/?lang=en" title="Sign"
 width="100%" height="300" style="border:0"></iframe>
<script>window.addEventListener("message", function (e) {{
  if (e.origin !== "{quorum}" || !e.data || e.data.type !== "quorum:height") return;
  document.getElementById("quorum-sign").style.height = Number(e.data.height) + "px";
}});</script></body></html>""".encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def embed_origin(server: QuorumServer, *args: str) -> None:
    # The server's own installation: its data folder (SQLite), nothing of the test run's.
    env = {k: v for k, v in os.environ.items() if not k.startswith(DROPPED)}
    env["QUORUM_DATA_DIR"] = str(server.data_dir)
    done = subprocess.run(
        [sys.executable, "-m", "quorum.cli", "initiative", "embed-origin", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def campaign(quorum_server: QuorumServer) -> Iterator[CampaignSite]:
    site = CampaignSite(quorum_server.base_url)
    try:
        yield site
    finally:
        site.close()


@pytest.fixture
def visitor(chromium) -> Iterator[Page]:
    context = chromium.new_context(locale="en-GB", viewport={"width": 375, "height": 812})
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def signing_frame(page: Page) -> Frame:
    frame = page.frame_locator("#quorum-sign")
    expect(frame.locator("#field-nationality")).to_be_visible()
    (found,) = [f for f in page.frames if "/embed/sign/" in f.url]
    return found


def test_a_listed_campaign_site_frames_the_form_and_its_visitor_signs_there(
    quorum_server: QuorumServer, campaign: CampaignSite, visitor: Page
) -> None:
    embed_origin(quorum_server, "add", DEMO_SLUG, campaign.origin)
    try:
        visitor.goto(campaign.origin + "/")
        frame = signing_frame(visitor)
        frame.select_option("#field-nationality", "PL")
        expect(frame.locator("form[data-pow-scope]")).to_be_visible()
        assert frame.url.endswith("/embed/sign/pl/?lang=en"), frame.url
        frame.fill("#field-first-names", "Zofia")
        frame.fill("#field-family-names", "Kowalska")
        frame.select_option("#field-id-type", "pesel")
        frame.fill("#field-id-number", "44051401359")
        frame.check("#field-privacy-read")
        expect(frame.locator("[data-pow-status]")).to_have_attribute("data-pow-state", "ready")
        frame.get_by_role("button", name="Review my statement").click()
        expect(frame.locator("#review-summary")).to_be_visible()
        frame.get_by_role("button", name="Confirm and submit").click()
        receipt = frame.locator("#receipt")
        expect(receipt).to_have_text(RECEIPT)
        # The frame was told the form's height: no scroll bar inside it. The receipt page
        # changes as it checks itself, so the two heights meet within a bound, not at once.
        for _attempt in range(50):
            height = visitor.evaluate("document.getElementById('quorum-sign').offsetHeight")
            inner = frame.evaluate("Math.ceil(document.body.getBoundingClientRect().height)")
            if abs(height - inner) <= 1:
                break
            visitor.wait_for_timeout(200)
        assert abs(height - inner) <= 1 and height > 300, (height, inner)
        scrolls = frame.evaluate("document.documentElement.scrollHeight > innerHeight + 2")
        assert not scrolls, "a scroll bar inside the frame"
        # Links lead out of the frame, never inside it.
        target = frame.locator("a[href*='/receipt/']").first.get_attribute("target")
        assert target == "_blank"
    finally:
        embed_origin(quorum_server, "remove", DEMO_SLUG, campaign.origin)


def test_an_unlisted_site_gets_no_form_in_its_frame(
    quorum_server: QuorumServer, campaign: CampaignSite, visitor: Page
) -> None:
    refused: list[str] = []
    visitor.on("console", lambda message: refused.append(message.text))
    visitor.goto(campaign.origin + "/")
    with contextlib.suppress(PlaywrightTimeout):  # the refusal is what is expected
        visitor.frame_locator("#quorum-sign").locator("#field-nationality").wait_for(timeout=3000)
    frames = [f for f in visitor.frames if f is not visitor.main_frame]
    assert frames, "the iframe is there"
    for frame in frames:
        assert frame.locator("#field-nationality").count() == 0
    assert any("frame-ancestors" in text for text in refused), refused
