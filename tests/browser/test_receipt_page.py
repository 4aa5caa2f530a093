"""The receipt check and the live counts, in a real browser against a real server.

Statements are signed through the public API (proof of work on, solved here in Python); the
server's own sequencer puts them in the log. The browser then checks a receipt itself —
log key id, checkpoint signature (WebCrypto Ed25519), origin, inclusion proof — and the open
initiative page follows the counts without a reload.
"""

from __future__ import annotations

import json
import random
import re
import string
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pytest

if TYPE_CHECKING:  # the fixtures' types; conftest is not importable as a module
    from conftest import QuorumServer, RequestLog

pytest.importorskip("playwright.sync_api")
pytest.importorskip("axe_playwright_python.sync_playwright")

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from quorum.proofs import merkle
from quorum.proofs.signed_note import parse_checkpoint, verify_note

CHROMIUM = Path("/usr/bin/chromium")
DEMO_SLUG = "ban-biometric-mass-surveillance"
API = f"/api/v1/initiatives/{DEMO_SLUG}"
RECEIPT_PAGE = f"/i/{DEMO_SLUG}/receipt/"
VALID_PESEL = "44051401359"
SEQUENCED_WITHIN = 10.0  # seconds; the server's sequencer runs every second
T = TypeVar("T")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]

expect.set_options(timeout=15_000)


# --- talking to the server as an API client ------------------------------------------------


def http(server: QuorumServer, path: str, body: dict | None = None) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        server.url(path),
        data=data,
        headers={"Content-Type": "application/json"} if data else {},
        method="POST" if data else "GET",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def asked_until(ask: Callable[[], T], enough: Callable[[T], bool], failure: str) -> T:
    """``ask()``'s answer once it is ``enough``: asked again every 0.2 s, for as long as the
    sequencer may take (the API's answers are served from copies that may lag an interval)."""
    deadline = time.monotonic() + SEQUENCED_WITHIN
    while not enough(answer := ask()):
        assert time.monotonic() < deadline, failure
        time.sleep(0.2)
    return answer


def proof_once_logged(server: QuorumServer, receipt: str) -> dict:
    """The inclusion proof, once the server's sequencer has put the receipt in a checkpoint."""

    def ask() -> tuple[int, bytes]:
        status, raw = http(server, f"{API}/proof/inclusion?receipt={receipt}")
        assert status in (200, 404), raw
        return status, raw

    _status, raw = asked_until(
        ask, lambda answer: answer[0] == 200, f"{receipt} not in a checkpoint after 10 s"
    )
    return json.loads(raw)


def verified_checkpoint(server: QuorumServer, *, at_least: int = 0):
    """The published checkpoint, verified; asked again while it is smaller than ``at_least``."""
    verifier = http(server, "/api/v1/log-key")[1].decode().strip()

    def ask():
        note = http(server, f"{API}/checkpoint")[1].decode()
        return parse_checkpoint(verify_note(note, verifier))

    return asked_until(
        ask,
        lambda checkpoint: checkpoint.size >= at_least,
        f"the checkpoint stays below {at_least}",
    )


def counts(server: QuorumServer, *, over: int = -1) -> dict:
    """The public counts; asked again while their total is not over ``over``."""

    def ask() -> dict:
        status, raw = http(server, f"{API}/counts")
        assert status == 200, raw
        return json.loads(raw)

    return asked_until(ask, lambda answer: answer["total"] > over, f"the counts stay at {over}")


def shown_total(page: Page) -> int:
    """The total the page's counts section was rendered with."""
    return int(page.locator("#live-counts [data-total-bar]").get_attribute("value"))


# --- the receipt check ---------------------------------------------------------------------


def test_the_browser_itself_verifies_that_a_receipt_is_counted(
    page: Page, quorum_server: QuorumServer, requests_seen: RequestLog
) -> None:
    server = quorum_server
    receipt = server.sign_statement()
    proof = proof_once_logged(server, receipt)

    page.goto(server.url(RECEIPT_PAGE))
    page.fill("#field-receipt", receipt.upper())
    seen = len(requests_seen.urls)
    page.get_by_role("button", name="Check my receipt").click()

    status = page.locator("#receipt-status")
    expect(status).to_have_attribute("data-state", "counted")
    expect(status).to_have_attribute("aria-live", "polite")
    expect(status).to_have_text("Your statement is counted.")
    # The browser's own account, in the log's words, under "Technical details".
    result = page.locator("#receipt-technical #browser-result")
    expect(result).to_have_attribute("data-state", "counted")
    expect(result).to_contain_text("Your browser checked it itself")
    expect(result).to_contain_text(f"entry {proof['leaf_index'] + 1:,} of")
    assert page.url == server.url(f"{RECEIPT_PAGE}?receipt={receipt}")
    asked = requests_seen.urls[seen:]
    # No page load: the browser fetched the public data and did the checking itself.
    assert not any(RECEIPT_PAGE in url for url in asked), asked
    assert any(url.endswith("/api/v1/log-key") for url in asked)
    assert any(url.endswith(f"{API}/checkpoint") for url in asked)
    assert any(f"{API}/proof/inclusion?receipt={receipt}&size=" in url for url in asked)
    assert page.locator("#server-result").count() == 0


def test_opening_a_receipt_link_shows_the_servers_answer_and_the_browsers(
    page: Page, quorum_server: QuorumServer
) -> None:
    server = quorum_server
    receipt = server.sign_statement()
    proof_once_logged(server, receipt)

    page.goto(server.url(f"{RECEIPT_PAGE}?receipt={receipt}"))

    expect(page.locator("#server-result")).to_have_attribute("data-outcome", "counted")
    expect(page.locator("#browser-result")).to_have_attribute("data-state", "counted")
    results = Axe().run(page).response
    blocking = [v["id"] for v in results["violations"] if v["impact"] in ("serious", "critical")]
    assert not blocking, blocking


def test_an_unknown_receipt_is_not_found_by_the_browser_either(
    page: Page, quorum_server: QuorumServer
) -> None:
    page.goto(quorum_server.url(RECEIPT_PAGE))
    page.fill("#field-receipt", "ab" * 32)
    page.get_by_role("button", name="Check my receipt").click()
    expect(page.locator("#browser-result")).to_have_attribute("data-state", "absent")


def test_a_malformed_receipt_goes_to_the_server_which_explains(
    page: Page, quorum_server: QuorumServer
) -> None:
    page.goto(quorum_server.url(RECEIPT_PAGE))
    page.fill("#field-receipt", "not a receipt")
    with page.expect_response(lambda r: RECEIPT_PAGE in r.url) as answer:
        page.get_by_role("button", name="Check my receipt").click()
    assert answer.value.status == 400
    expect(page.locator("#error-summary")).to_contain_text("This is not a valid receipt")
    expect(page.locator("#field-receipt")).to_have_attribute("aria-invalid", "true")


def test_the_browsers_inclusion_check_fails_for_any_tampering(
    page: Page, quorum_server: QuorumServer
) -> None:
    server = quorum_server
    receipts = [server.sign_statement(), server.sign_statement()]
    logged = proof_once_logged(server, receipts[1])
    checkpoint = verified_checkpoint(server, at_least=logged["tree_size"])
    status, raw = http(
        server, f"{API}/proof/inclusion?receipt={receipts[0]}&size={checkpoint.size}"
    )
    assert status == 200, raw
    proof = json.loads(raw)
    assert proof["path"], "a tree of two or more leaves has a non-empty path"
    page.goto(server.url(RECEIPT_PAGE))

    def verify(leaf: str, index: int, size: int, path: list[str], root: bytes) -> bool:
        return page.evaluate(
            "([leaf, index, size, path, root]) =>"
            " window.quorumVerifyInclusion(leaf, index, size, path, new Uint8Array(root))",
            [leaf, index, size, path, list(root)],
        )

    def flip(hex_text: str, at: int = 0) -> str:
        raw = bytearray(bytes.fromhex(hex_text))
        raw[at] ^= 0x01
        return raw.hex()

    index, size, path, root = (
        proof["leaf_index"],
        proof["tree_size"],
        proof["path"],
        checkpoint.root,
    )
    assert verify(receipts[0], index, size, path, root) is True
    assert verify(receipts[0], index, size, [flip(path[0]), *path[1:]], root) is False
    assert verify(receipts[0], index, size, [*path[:-1], flip(path[-1], 31)], root) is False
    assert verify(flip(receipts[0], 5), index, size, path, root) is False
    assert verify(receipts[0], index, size, path, bytes.fromhex(flip(root.hex()))) is False
    assert verify(receipts[0], index + 1, size, path, root) is False
    # A proof's shape does not always pin the tree size: the same path proves leaf 0 of a
    # 3-leaf tree and of a 4-leaf one (RFC 9162). The size is bound by the signed checkpoint
    # (receipt.js requires the proof's size to be the signed one); the bare verifier only has
    # to agree with the Python one here, and refuse a size that cannot hold the leaf.
    for other_size in (size - 1, size + 1):
        python_says = merkle.verify_inclusion(
            bytes.fromhex(receipts[0]), index, other_size, [bytes.fromhex(p) for p in path], root
        )
        assert verify(receipts[0], index, other_size, path, root) is python_says
    assert verify(receipts[0], index, index, path, root) is False
    assert verify(receipts[0], index, size, [*path, path[0]], root) is False
    assert verify(receipts[0], index, size, path[:-1], root) is False
    assert verify(receipts[0], -1, size, path, root) is False
    assert verify("zz", index, size, path, root) is False


def test_the_browser_agrees_with_the_python_verifier_on_every_proof_of_a_small_tree(
    page: Page, quorum_server: QuorumServer
) -> None:
    """Every (index, size) of a 9-leaf tree: genuine proofs pass, a wrong leaf fails."""
    store = merkle.MemoryNodeStore()
    leaves = [merkle.leaf_hash(bytes([n])) for n in range(9)]
    merkle.append(store, 0, leaves)
    cases = []
    for size in range(1, 10):
        root = merkle.root(store, size)
        for index in range(size):
            path = merkle.inclusion_proof(store, index, size)
            assert merkle.verify_inclusion(leaves[index], index, size, path, root)
            wrong = leaves[(index + 1) % 9]
            cases.append([leaves[index].hex(), index, size, [p.hex() for p in path], list(root)])
            cases.append([wrong.hex(), index, size, [p.hex() for p in path], list(root)])
    page.goto(quorum_server.url(RECEIPT_PAGE))
    results = page.evaluate(
        "cases => Promise.all(cases.map(c =>"
        " window.quorumVerifyInclusion(c[0], c[1], c[2], c[3], new Uint8Array(c[4]))))",
        cases,
    )
    assert results == [True, False] * (len(cases) // 2)


# --- the live counts -----------------------------------------------------------------------


def test_the_open_initiative_page_follows_the_counts_without_a_reload(
    page: Page, quorum_server: QuorumServer
) -> None:
    server = quorum_server
    page.goto(server.url(server.initiative_path))
    total = page.locator("#live-counts [data-total]")
    poland = page.locator('#live-counts tr[data-member-state="PL"]')
    expect(total).to_be_visible()
    page.evaluate("window.__notReloaded = true")
    before = shown_total(page)

    receipt = server.sign_statement()
    proof_once_logged(server, receipt)
    now = counts(server, over=before)

    expect(total).to_have_text(f"{now['total']:,}", timeout=10_000)
    polish = now["by_member_state"]["PL"]["count"]
    expect(poland.locator("[data-count]")).to_have_text(f"{polish:,}")
    assert poland.locator("progress").evaluate("bar => bar.value") == polish
    assert page.evaluate("window.__notReloaded") is True


PL_TILE = '#live-counts svg.progress-map [data-map-state="PL"] > title'
CHART_DESC = "#live-counts #counts-growth-desc"
CHART_LAST_ROW = "#live-counts .growth-table tbody tr:last-child td"


def last_number(text: str | None, pattern: str) -> int:
    """The last number ``pattern``'s group finds in ``text`` (English digit grouping)."""
    found = re.findall(pattern, text or "")
    assert found, f"no number in {text!r}"
    return int(found[-1].replace(",", ""))


def drawn(page: Page) -> tuple[int, int, int]:
    """What the pictures show: Poland's count on the map, the chart's last count in its
    description, and the last row of its table."""
    return (
        last_number(page.locator(PL_TILE).text_content(), r": ([\d,]+) received"),
        last_number(page.locator(CHART_DESC).text_content(), r"([\d,]+) on "),
        last_number(page.locator(CHART_LAST_ROW).text_content(), r"([\d,]+)"),
    )


def test_the_open_initiative_page_redraws_its_map_and_chart_without_a_reload(
    page: Page, quorum_server: QuorumServer
) -> None:
    """The pictures are checked to have moved past what the page was loaded with, not to show
    one exact count: a statement an earlier test signed may reach the log only after the page
    loaded, in the same checkpoint as this one's or in the one before."""
    server = quorum_server
    page.clock.install()  # the page's clock is the test's: the 30 s between drawings pass at once
    for _ in range(30):  # the chart is there from the log's first checkpoint on
        page.goto(server.url(server.initiative_path))
        if page.locator(CHART_DESC).count():
            break
        page.wait_for_timeout(500)
    expect(page.locator(CHART_DESC)).to_be_attached()
    numbers = page.locator("#live-counts .govuk-details")
    numbers.locator("summary").click()  # "Show the numbers" open: it stays open
    page.evaluate("window.__notReloaded = true")
    polish, chart, row = drawn(page)

    receipt = server.sign_statement()  # a Polish citizen's
    proof_once_logged(server, receipt)
    for _ in range(30):  # the sequencer's rounds take real time; the drawings' wait, page time
        page.wait_for_timeout(500)
        page.clock.run_for(31_000)
        if drawn(page)[0] > polish:
            break

    polish_now, chart_now, row_now = drawn(page)
    assert polish_now > polish, "the map was not redrawn"
    assert chart_now > chart, "the chart was not redrawn"
    assert row_now > row, "the chart's table was not redrawn"
    assert numbers.evaluate("details => details.open") is True
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"  # focus kept
    # One of each picture, with the ids their names point to: swapped, not added.
    assert page.locator("svg.progress-map").count() == 1
    assert page.locator("svg.growth-chart").count() == 1
    assert page.evaluate("window.__notReloaded") is True


# --- the page right after signing ----------------------------------------------------------

SIGNED_HEADING = "Thank you. Your statement of support is recorded."


def sign_through_the_pages(page: Page, server: QuorumServer) -> tuple[str, str]:
    """A Polish citizen signs through the real form, its review step and confirmation; the
    receipt shown after signing and the family name typed."""
    family = "Kowalska" + "".join(random.choices(string.ascii_lowercase, k=8))
    page.goto(server.url(server.start_path))
    page.select_option("#field-nationality", "PL")
    expect(page.locator("form[data-pow-scope]")).to_be_visible()
    page.fill("#field-first-names", "Zofia")
    page.fill("#field-family-names", family)
    page.select_option("#field-id-type", "pesel")
    page.fill("#field-id-number", VALID_PESEL)
    expect(page.locator("[data-pow-status]")).to_have_attribute("data-pow-state", "ready")
    page.check("#field-privacy-read")
    page.get_by_role("button", name="Review my statement").click()
    page.get_by_role("button", name="Confirm and submit").click()
    expect(page.get_by_role("heading", name=SIGNED_HEADING)).to_be_visible()
    receipt = page.locator("#receipt").inner_text().strip()
    assert len(receipt) == 64, receipt
    return receipt, family


def no_serious_violation(page: Page) -> None:
    results = Axe().run(page).response
    blocking = [
        (v["id"], [node["target"] for node in v["nodes"]])
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not blocking, blocking


def test_the_receipt_page_turns_to_counted_by_itself(
    page: Page, quorum_server: QuorumServer
) -> None:
    receipt, _ = sign_through_the_pages(page, quorum_server)
    status = page.locator("#receipt-status")
    expect(status).to_have_attribute("aria-live", "polite")
    page.evaluate("window.__notReloaded = true")

    expect(status).to_have_attribute("data-state", "counted", timeout=30_000)
    expect(status).to_have_text("Your statement is counted.")
    assert page.evaluate("window.__notReloaded") is True
    proof = proof_once_logged(quorum_server, receipt)
    # The log's words wait under "Technical details", filled by the browser's own check.
    technical = page.locator("#receipt-technical")
    expect(technical.locator('[data-technical="leaf-index"]')).to_have_text(
        str(proof["leaf_index"])
    )
    assert "Leaf index" not in page.locator("main").inner_text()
    technical.locator("summary").click()
    expect(technical.get_by_text("Leaf index")).to_be_visible()


def test_the_check_page_turns_a_pending_answer_to_counted_by_itself(
    page: Page, quorum_server: QuorumServer
) -> None:
    receipt = quorum_server.sign_statement()
    page.goto(quorum_server.url(f"{RECEIPT_PAGE}?receipt={receipt}"))
    page.evaluate("window.__notReloaded = true")
    expect(page.locator("#receipt-status")).to_have_attribute("data-state", "counted")
    expect(page.locator("#receipt-status")).to_have_text("Your statement is counted.")
    assert page.evaluate("window.__notReloaded") is True


def test_copy_puts_the_receipt_on_the_clipboard(page: Page, quorum_server: QuorumServer) -> None:
    page.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=quorum_server.base_url
    )
    receipt, _ = sign_through_the_pages(page, quorum_server)
    page.get_by_role("button", name="Copy receipt").click()
    expect(page.get_by_role("status").filter(has_text="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == receipt


def test_save_downloads_a_small_file_with_the_receipt_and_nothing_about_the_signatory(
    page: Page, quorum_server: QuorumServer, tmp_path: Path
) -> None:
    receipt, family = sign_through_the_pages(page, quorum_server)
    with page.expect_download() as download:
        page.get_by_role("button", name="Save receipt").click()
    assert download.value.suggested_filename == f"receipt-{DEMO_SLUG}.txt"
    saved = tmp_path / "receipt.txt"
    download.value.save_as(saved)
    text = saved.read_text(encoding="utf-8")
    assert receipt in text
    assert quorum_server.url(f"{RECEIPT_PAGE}?receipt={receipt}") in text
    assert family not in text and "Zofia" not in text and VALID_PESEL not in text
    assert len(text.encode()) < 1_000


def test_print_keeps_the_receipt_and_the_check_link_and_drops_the_rest(
    page: Page, quorum_server: QuorumServer
) -> None:
    receipt, _ = sign_through_the_pages(page, quorum_server)
    page.emulate_media(media="print")
    printed = page.locator("body").inner_text()
    assert receipt in printed
    assert quorum_server.url(f"{RECEIPT_PAGE}?receipt={receipt}") in printed
    expect(page.locator("header.govuk-header")).to_be_hidden()
    expect(page.locator("footer.govuk-footer")).to_be_hidden()
    expect(page.locator("#field-email")).to_be_hidden()
    expect(page.get_by_role("button", name="Print receipt")).to_be_hidden()


def test_the_share_step_shares_the_initiative_page_never_the_receipt(
    page: Page, quorum_server: QuorumServer
) -> None:
    page.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=quorum_server.base_url
    )
    receipt, _ = sign_through_the_pages(page, quorum_server)
    initiative = quorum_server.url(quorum_server.initiative_path)
    share = page.locator("section[data-share]")
    expect(share.locator("#share-url")).to_have_value(initiative)
    mail = share.get_by_role("link", name="Share by e-mail").get_attribute("href") or ""
    assert mail.startswith("mailto:?subject=")
    assert urllib.parse.quote(initiative, safe="") in mail or initiative in mail
    assert receipt not in mail and receipt not in (share.get_attribute("data-url") or "")
    share.get_by_role("button", name="Copy link").click()
    expect(share.get_by_role("status")).to_have_text("Link copied.")
    assert page.evaluate("navigator.clipboard.readText()") == initiative
    # The counts with a bar per Member State, as on the initiative page.
    expect(page.locator('#live-counts tr[data-member-state="PL"] progress')).to_be_attached()


def test_both_receipt_pages_have_no_serious_accessibility_violation_and_fit_320_px(
    page: Page, quorum_server: QuorumServer
) -> None:
    page.set_viewport_size({"width": 320, "height": 800})
    receipt, _ = sign_through_the_pages(page, quorum_server)
    expect(page.locator("#receipt-status")).to_have_attribute("data-state", "counted")
    no_serious_violation(page)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.goto(quorum_server.url(f"{RECEIPT_PAGE}?receipt={receipt}"))
    expect(page.locator("#receipt-status")).to_have_attribute("data-state", "counted")
    page.locator("#receipt-technical summary").click()
    no_serious_violation(page)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
