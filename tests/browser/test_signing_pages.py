"""Signing through the real pages in a real browser, against a real server process.

Each test has its own browser context (no cookies, English) and its own signatory with a
unique name, so tests do not depend on each other or on their order.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import string
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # the fixtures' types; conftest is not importable as a module
    from conftest import QuorumServer, RequestLog

CHROMIUM = Path("/usr/bin/chromium")
DEMO_PASSPHRASE = b"demo"  # of the demo authorities' key files (quorum demo)

pytest.importorskip("playwright.sync_api")
pytest.importorskip("axe_playwright_python.sync_playwright")

from axe_playwright_python.sync_playwright import Axe  # noqa: E402
from playwright.sync_api import Page, expect  # noqa: E402

from quorum.proofs.crypto import CryptoError, open_sealed, read_key_file  # noqa: E402

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]

expect.set_options(timeout=15_000)

RECEIPT = re.compile(r"[0-9a-f]{64}")
REVIEW = "Review my statement"
CONFIRM = "Confirm and submit"
VALID_PESEL = "44051401359"
WRONG_CHECK_DIGIT_PESEL = "44051401358"


def unique_name(stem: str) -> str:
    """A name nobody else in this run types: letters only, as the validator wants."""
    return stem + "".join(random.choices(string.ascii_lowercase, k=8))


# --- steps ---------------------------------------------------------------------------------


def open_form(page: Page, server: QuorumServer, member_state: str) -> None:
    """Nationality page → choose: that Member State's form comes into the same page, and the
    address bar shows the form's own address (signing.js)."""
    page.goto(server.url(server.start_path))
    page.select_option("#field-nationality", member_state)
    expect(page).to_have_url(server.url(server.form_path(member_state)))
    expect(page.locator("form[data-pow-scope]")).to_be_visible()


def wait_for_pow(page: Page) -> None:
    expect(page.locator("[data-pow-status]")).to_have_attribute("data-pow-state", "ready")


def fill_german(page: Page, *, first: str, family: str) -> None:
    page.fill("#field-first-names", first)
    page.fill("#field-family-names", family)
    fill_date_of_birth(page, day="23", month="4", year="1990")
    page.fill("#field-residence-street", "Hauptstraße 1")
    page.fill("#field-residence-postal-code", "10115")
    page.fill("#field-residence-city", "Berlin")
    page.fill("#field-residence-country", "Deutschland")


def fill_polish(page: Page, *, first: str, family: str, pesel: str = VALID_PESEL) -> None:
    page.fill("#field-first-names", first)
    page.fill("#field-family-names", family)
    page.select_option("#field-id-type", "pesel")
    page.fill("#field-id-number", pesel)


def fill_date_of_birth(page: Page, *, day: str, month: str, year: str) -> None:
    page.fill("#field-date-of-birth-day", day)
    page.fill("#field-date-of-birth-month", month)
    page.fill("#field-date-of-birth-year", year)


def press_and_answer(page: Page, button: str) -> int:
    """Press the button; the HTTP status of the answer to the POST it sends."""
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name=button).click()
    page.wait_for_load_state()
    status = answer.value.status
    # Never expected: say why, rather than only "403 != 200".
    assert status != 403, "the server refused the form: " + page.inner_text("body")[:300]
    return status


def review(page: Page, *, privacy: bool = True) -> int:
    """Tick the privacy box (or not), press "Review my statement"; the answer's status."""
    if privacy:
        page.check("#field-privacy-read")
    return press_and_answer(page, REVIEW)


def confirm(page: Page) -> int:
    """On the review page: press "Confirm and submit"; the answer's status."""
    expect(page.locator("#review-summary")).to_be_visible()
    return press_and_answer(page, CONFIRM)


def submit(page: Page) -> int:
    """The form filled in: review it, then confirm; the status of the confirmation's answer."""
    assert review(page) == 200, "not reviewed: " + page.inner_text("#error-summary")[:300]
    return confirm(page)


def receipt_of(page: Page) -> str:
    receipt = page.locator("#receipt").inner_text().strip()
    assert RECEIPT.fullmatch(receipt), f"not a receipt: {receipt!r}"
    return receipt


def sign_as_german(page: Page, server: QuorumServer) -> tuple[str, str]:
    first, family = unique_name("Anna "), unique_name("Schmidt")
    open_form(page, server, "DE")
    fill_german(page, first=first, family=family)
    wait_for_pow(page)
    assert submit(page) == 200
    return receipt_of(page), first


def stored_statement(server: QuorumServer, receipt: str) -> dict[str, object]:
    rows = [r for r in server.statements() if bytes(r["leaf_hash"]).hex() == receipt]
    assert len(rows) == 1, f"{len(rows)} rows in ledger_statement have leaf_hash {receipt}"
    return rows[0]


def opened_by_authority(server: QuorumServer, member_state: str, ciphertext: bytes) -> dict:
    keys = read_key_file(server.key_file(member_state), DEMO_PASSPHRASE)
    return json.loads(open_sealed(keys.sealing_private_key, bytes(ciphertext)).decode("utf-8"))


def database_bytes(server: QuorumServer) -> bytes:
    files = sorted(server.data_dir.glob("quorum.sqlite3*"))  # the database, its WAL and shm
    return b"".join(Path(f).read_bytes() for f in files)


# --- signing -------------------------------------------------------------------------------


def test_a_german_citizen_signs_through_the_real_pages_and_only_the_german_key_opens_it(
    page: Page, quorum_server: QuorumServer
) -> None:
    server = quorum_server
    page.goto(server.url(server.initiative_path))
    page.get_by_role("link", name="Support this initiative").click()
    expect(page).to_have_url(server.url(server.start_path))

    # Choosing brings the form into the page: no Continue needed with JavaScript.
    page.select_option("#field-nationality", "DE")
    expect(page).to_have_url(server.url(server.form_path("DE")))

    first, family = unique_name("Anna "), unique_name("Schmidt-")
    fill_german(page, first=first, family=family)
    wait_for_pow(page)
    assert submit(page) == 200
    receipt = receipt_of(page)

    row = stored_statement(server, receipt)
    assert row["member_state"] == "DE"
    statement = opened_by_authority(server, "DE", row["ciphertext"])
    assert statement["nationality"] == "DE"
    assert statement["fields"]["first_names"] == first
    assert statement["fields"]["family_names"] == family
    assert statement["fields"]["residence.city"] == "Berlin"
    # Sealed to Germany's key only: another authority cannot open it.
    with pytest.raises(CryptoError):
        opened_by_authority(server, "FR", row["ciphertext"])
    # Invariant 1: the typed name is nowhere in the database files in clear.
    assert family.encode() not in database_bytes(server)


def test_a_polish_citizen_signs_with_a_pesel(page: Page, quorum_server: QuorumServer) -> None:
    server = quorum_server
    first, family = unique_name("Zofia "), unique_name("Kowalska-")
    open_form(page, server, "PL")
    expect(page.locator("#field-date-of-birth")).to_have_count(0)  # Part B: no address, no birth
    fill_polish(page, first=first, family=family)
    wait_for_pow(page)
    assert submit(page) == 200
    receipt = receipt_of(page)

    row = stored_statement(server, receipt)
    assert row["member_state"] == "PL"
    statement = opened_by_authority(server, "PL", row["ciphertext"])
    assert statement["fields"]["first_names"] == first
    assert statement["fields"]["family_names"] == family
    assert statement["fields"]["id_type"] == "pesel"
    assert statement["fields"]["id_number"] == VALID_PESEL


def test_the_proof_of_work_is_solved_in_the_page(page: Page, quorum_server: QuorumServer) -> None:
    open_form(page, quorum_server, "DE")
    status = page.locator("[data-pow-status]")
    wait_for_pow(page)
    expect(status).to_have_text(status.get_attribute("data-ready") or "")
    expect(status).to_have_text("The anti-abuse check is ready.")

    payload = page.locator("input[name=altcha]").input_value()
    assert payload
    solution = json.loads(base64.b64decode(payload))
    # A genuine ALTCHA solution for this initiative's scope, found by the browser.
    assert solution["algorithm"] == "SHA-256"
    assert "scope=statement%3Aban-biometric-mass-surveillance&" in solution["salt"]
    digest = hashlib.sha256(f"{solution['salt']}{solution['number']}".encode()).hexdigest()
    assert digest == solution["challenge"]


# --- errors --------------------------------------------------------------------------------


def assert_error_summary_is_focused_and_links_to_fields(page: Page) -> list[str]:
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_have_attribute("role", "alert")
    assert page.evaluate("document.activeElement && document.activeElement.id") == "error-summary"
    targets = [
        (link.get_attribute("href") or "")
        for link in summary.locator("a").all()  # every message with a field is a link
    ]
    assert targets
    for target in targets:
        assert target.startswith("#"), target
        assert page.locator(target).count() == 1, f"summary link {target} leads to no field"
    return [t[1:] for t in targets]


def test_an_invalid_statement_is_explained_keeps_what_was_typed_and_stores_nothing(
    page: Page, quorum_server: QuorumServer
) -> None:
    server = quorum_server
    first = unique_name("Jan ")
    open_form(page, server, "PL")
    fill_polish(page, first=first, family="", pesel=WRONG_CHECK_DIGIT_PESEL)
    before = len(server.statements())

    assert review(page) == 422

    fields = assert_error_summary_is_focused_and_links_to_fields(page)
    assert set(fields) == {"field-family-names", "field-id-number"}
    for field_id in fields:
        expect(page.locator(f"#{field_id}")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#field-first-names")).to_have_value(first)
    expect(page.locator("#field-id-type")).to_have_value("pesel")
    expect(page.locator("#field-id-number")).to_have_value(WRONG_CHECK_DIGIT_PESEL)
    expect(page.locator("#field-first-names")).not_to_have_attribute("aria-invalid", "true")
    assert len(server.statements()) == before


def test_a_statement_without_the_privacy_confirmation_is_refused_with_a_link_to_the_box(
    page: Page, quorum_server: QuorumServer
) -> None:
    server = quorum_server
    first = unique_name("Jan ")
    open_form(page, server, "PL")
    fill_polish(page, first=first, family=unique_name("Nowak"))
    before = len(server.statements())

    assert review(page, privacy=False) == 422

    assert "field-privacy-read" in assert_error_summary_is_focused_and_links_to_fields(page)
    expect(page.locator("#field-first-names")).to_have_value(first)
    assert len(server.statements()) == before


def test_a_refused_anti_abuse_check_is_explained_with_a_link_that_leads_somewhere(
    page: Page, quorum_server: QuorumServer
) -> None:
    server = quorum_server
    open_form(page, server, "PL")
    first, family = unique_name("Jan "), unique_name("Nowak")
    fill_polish(page, first=first, family=family)
    wait_for_pow(page)
    assert review(page) == 200
    # The review page carries the form's solution; spoil it just before confirming.
    wait_for_pow(page)
    page.locator("input[name=altcha]").evaluate("input => { input.value = 'tampered'; }")
    before = len(server.statements())

    assert confirm(page) == 422

    assert len(server.statements()) == before
    assert assert_error_summary_is_focused_and_links_to_fields(page) == ["field-altcha"]
    # Still the review page, every value in place: a new check is solved, and Confirm works.
    expect(page.locator("[data-review=first_names]")).to_have_text(first)
    expect(page.locator("input[name=family_names]")).to_have_value(family)
    wait_for_pow(page)
    assert confirm(page) == 200
    receipt_of(page)


# --- language ------------------------------------------------------------------------------


def test_choosing_deutsch_shows_the_form_in_german(page: Page, quorum_server: QuorumServer) -> None:
    server = quorum_server
    open_form(page, server, "DE")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.select_option("#language-select", "de")
    page.locator(".language-switcher button[type=submit]").click()

    expect(page).to_have_url(server.url(server.form_path("DE")))
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator("#language-select")).to_have_value("de")
    # The initiative's own German text, and the labels as the German catalogue has them.
    expect(page.locator("#initiative-heading")).to_have_text(
        "Demo: Biometrische Massenüberwachung im öffentlichen Raum verbieten"
    )
    expect(page.locator("label[for=field-first-names]")).to_have_text(german("Full first names"))
    expect(page.locator("label[for=field-residence-city]")).to_have_text(german("City"))


def german(message: str) -> str:
    from django.utils import translation

    with translation.override("de"):
        return translation.gettext(message)


# --- accessibility -------------------------------------------------------------------------


def reach_initiative(page: Page, server: QuorumServer) -> None:
    page.goto(server.url(server.initiative_path))


def reach_nationality(page: Page, server: QuorumServer) -> None:
    page.goto(server.url(server.start_path))


def reach_part_a_form(page: Page, server: QuorumServer) -> None:
    open_form(page, server, "DE")
    wait_for_pow(page)


def reach_part_b_form(page: Page, server: QuorumServer) -> None:
    open_form(page, server, "PL")
    wait_for_pow(page)


def reach_form_with_errors(page: Page, server: QuorumServer) -> None:
    open_form(page, server, "PL")
    fill_polish(page, first="Jan", family="", pesel=WRONG_CHECK_DIGIT_PESEL)
    assert review(page) == 422
    wait_for_pow(page)


def reach_review(page: Page, server: QuorumServer) -> None:
    open_form(page, server, "DE")
    fill_german(page, first=unique_name("Anna "), family=unique_name("Schmidt"))
    assert review(page) == 200
    wait_for_pow(page)


def reach_review_with_errors(page: Page, server: QuorumServer) -> None:
    reach_review(page, server)
    page.locator("input[name=altcha]").evaluate("input => { input.value = 'tampered'; }")
    assert confirm(page) == 422
    wait_for_pow(page)


def reach_receipt(page: Page, server: QuorumServer) -> None:
    sign_as_german(page, server)


PAGE_OWN_FETCHES = re.compile(r"/api/v1/(log-key|initiatives/[^/]+/(checkpoint|proof/inclusion))")

PAGES = {
    "initiative": reach_initiative,
    "nationality": reach_nationality,
    "part-a-form": reach_part_a_form,
    "part-b-form": reach_part_b_form,
    "form-with-errors": reach_form_with_errors,
    "review": reach_review,
    "review-with-errors": reach_review_with_errors,
    "receipt": reach_receipt,
}


def describe(violations: list[dict]) -> str:
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + ", ".join(" ".join(node["target"]) for node in v["nodes"])
        for v in violations
    )


@pytest.mark.parametrize("where", list(PAGES))
def test_axe_finds_no_serious_or_critical_accessibility_violation(
    page: Page, quorum_server: QuorumServer, requests_seen: RequestLog, where: str
) -> None:
    PAGES[where](page, quorum_server)
    seen = len(requests_seen.urls)

    results = Axe().run(page).response
    violations = results["violations"]

    # The initiative page refreshes its counter by itself, the receipt page checks the receipt
    # against the public log until it is counted, and the browser fetches the page's icon when
    # it comes to it; anything else was fetched by axe.
    fetched = [
        url
        for url in requests_seen.urls[seen:]
        if not url.endswith(("/counts", "/static/quorum/favicon.svg"))
        and not PAGE_OWN_FETCHES.search(url)
    ]
    assert fetched == [], "axe-core fetched something"
    assert results["passes"], "axe-core did not run its rules"
    if violations:
        print(f"axe on {where}:\n{describe(violations)}")
    blocking = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not blocking, f"axe on {where}:\n{describe(blocking)}"


# --- nothing third-party -------------------------------------------------------------------


def test_a_whole_signing_loads_nothing_from_another_origin(
    page: Page, quorum_server: QuorumServer, requests_seen: RequestLog
) -> None:
    server = quorum_server
    page.goto(server.url(server.initiative_path))
    page.get_by_role("link", name="Support this initiative").click()
    page.select_option("#field-nationality", "DE")
    fill_german(page, first=unique_name("Anna "), family=unique_name("Schmidt"))
    wait_for_pow(page)
    assert submit(page) == 200
    receipt_of(page)

    urls = requests_seen.urls
    assert any(url.endswith("/static/quorum/pow.js") for url in urls)
    assert any("/api/v1/pow/challenge" in url for url in urls)
    assert any(url.endswith(".css") for url in urls)
    assert [url for url in urls if not url.startswith(server.base_url + "/")] == []
