"""The whole signing as a person does it (issue 13): by keyboard alone, without JavaScript,
rate-limited, and through the review step — in Chromium, against a real server process.

Every test has its own browser context and its own signatory with a unique name. The rate
limit is tried on a server of its own, with a limit of one statement a few seconds, so that
the session's shared server keeps its generous limits for every other test.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import string
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # the fixtures' types; conftest is not importable as a module
    from conftest import QuorumServer, RequestLog

pytest.importorskip("playwright.sync_api")

from babel.dates import format_date
from playwright.sync_api import Browser, Page, expect

from quorum.proofs.crypto import open_sealed, read_key_file

CHROMIUM = Path("/usr/bin/chromium")
DEMO_PASSPHRASE = b"demo"  # of the demo authorities' key files (quorum demo)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]

expect.set_options(timeout=15_000)

RECEIPT = re.compile(r"[0-9a-f]{64}")
REVIEW_BUTTON = "#statement-form button[type=submit]"  # the form's one button
CONFIRM_BUTTON = "#confirm-button"
VALID_PESEL = "44051401359"
BIRTH = date(1979, 3, 17)
MOST_TABS = 80  # more than any signing page has stops: a focus that never arrives fails

VIEWPORTS: dict[str, dict[str, Any]] = {
    "desktop": {},
    "phone": {
        "viewport": {"width": 375, "height": 812},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
    },
}

# The rate-limited server: one statement per RATE_WINDOW seconds from one address.
RATE_WINDOW = 3
RATE_LIMITED_ENV = {
    "QUORUM_RATE_BURST": "1",
    "QUORUM_RATE_BURST_SECONDS": str(RATE_WINDOW),
}


def unique_name(stem: str) -> str:
    """A name nobody else in this run types: letters only, as the validator wants."""
    return stem + "".join(random.choices(string.ascii_lowercase, k=8))


# --- browser contexts ----------------------------------------------------------------------


@contextlib.contextmanager
def browser_page(
    chromium: Browser,
    requests_seen: RequestLog,
    *,
    viewport: str = "desktop",
    java_script: bool = True,
) -> Iterator[Page]:
    """A fresh context (no cookies, English) of that size; nothing may load from elsewhere."""
    context = chromium.new_context(
        locale="en-GB",
        timezone_id="Europe/Brussels",
        java_script_enabled=java_script,
        **VIEWPORTS[viewport],
    )
    context.on("request", requests_seen.record)
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()
    assert requests_seen.foreign == [], f"requests to another origin: {requests_seen.foreign}"


# --- steps ---------------------------------------------------------------------------------


def switch_language(page: Page, language: str) -> None:
    if language == "en":
        return
    page.select_option("#language-select", language)
    page.locator(".language-switcher button[type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", language)


def open_form(page: Page, server: QuorumServer, member_state: str, language: str = "en") -> None:
    """The nationality page (in ``language``) → choose: the form comes into the page."""
    page.goto(server.url(server.start_path))
    switch_language(page, language)
    page.select_option("#field-nationality", member_state)
    expect(page).to_have_url(server.url(server.form_path(member_state)))
    expect(page.locator("form#statement-form")).to_be_visible()


def wait_for_pow(page: Page) -> None:
    expect(page.locator("[data-pow-status]")).to_have_attribute("data-pow-state", "ready")


def german(first: str, family: str) -> dict[str, str]:
    """What a German signatory types, by field id (the date in its three parts)."""
    return {
        "field-first-names": first,
        "field-family-names": family,
        "field-date-of-birth-day": str(BIRTH.day),
        "field-date-of-birth-month": str(BIRTH.month),
        "field-date-of-birth-year": str(BIRTH.year),
        "field-residence-street": "Hauptstraße 1",
        "field-residence-postal-code": "10115",
        "field-residence-city": "Berlin",
        "field-residence-country": "Deutschland",
    }


def polish(first: str, family: str) -> dict[str, str]:
    return {
        "field-first-names": first,
        "field-family-names": family,
        "field-id-type": "pesel",
        "field-id-number": VALID_PESEL,
    }


def fill(page: Page, typed: dict[str, str]) -> None:
    for field_id, value in typed.items():
        field = page.locator(f"#{field_id}")
        if field.evaluate("element => element.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)


def expect_every_value_in_its_field(page: Page, typed: dict[str, str]) -> None:
    for field_id, value in typed.items():
        expect(page.locator(f"#{field_id}")).to_have_value(value)
    expect(page.locator("#field-privacy-read")).to_be_checked()


def press_and_answer(page: Page, button: str) -> Any:
    """Press the button (a selector); the response to the POST it sends."""
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.locator(button).click()
    page.wait_for_load_state()
    assert answer.value.status != 403, "refused: " + page.inner_text("body")[:300]
    return answer.value


def review(page: Page) -> int:
    page.check("#field-privacy-read")
    status = press_and_answer(page, REVIEW_BUTTON).status
    expect(page.locator("#review-summary")).to_be_visible()
    return status


def receipt_of(page: Page) -> str:
    receipt = page.locator("#receipt").inner_text().strip()
    assert RECEIPT.fullmatch(receipt), f"not a receipt: {receipt!r}"
    return receipt


def opened_statement(server: QuorumServer, receipt: str, member_state: str) -> dict[str, Any]:
    """The statement with that receipt, opened with the demo authority's key as it would."""
    rows = [r for r in server.statements() if bytes(r["leaf_hash"]).hex() == receipt]
    assert len(rows) == 1, f"{len(rows)} statements have the receipt {receipt}"
    keys = read_key_file(server.key_file(member_state), DEMO_PASSPHRASE)
    plaintext = open_sealed(keys.sealing_private_key, bytes(rows[0]["ciphertext"]))
    return json.loads(plaintext.decode("utf-8"))


def reviewed(page: Page, name: str) -> str:
    """The words the review page shows for one field."""
    return page.locator(f"[data-review='{name}']").inner_text().strip()


def long_date(day: date, language: str) -> str:
    from quorum.core.local_forms import babel_locale

    return format_date(day, "long", locale=babel_locale(language))


# --- keyboard ------------------------------------------------------------------------------


def focused_matches(page: Page, selector: str) -> bool:
    return bool(
        page.evaluate(
            "selector => !!document.activeElement && document.activeElement.matches(selector)",
            selector,
        )
    )


def tab_to(page: Page, selector: str, *, backwards: bool = False) -> None:
    """Press Tab (or Shift+Tab) until the focus is on ``selector``, as a person would."""
    key = "Shift+Tab" if backwards else "Tab"
    for _ in range(MOST_TABS):
        if focused_matches(page, selector):
            return
        page.keyboard.press(key)
    assert focused_matches(page, selector), f"{key} never reaches {selector}"


def type_into(page: Page, selector: str, text: str) -> None:
    tab_to(page, selector)
    page.keyboard.type(text)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_signatory_signs_with_the_keyboard_only(
    chromium: Browser, quorum_server: QuorumServer, requests_seen: RequestLog, viewport: str
) -> None:
    server = quorum_server
    first, family = unique_name("Anna "), unique_name("Schmidt")
    with browser_page(chromium, requests_seen, viewport=viewport) as page:
        page.goto(server.url(server.start_path))

        # The nationality: its box reached by Tab, Germany chosen by typing its name.
        tab_to(page, "#field-nationality")
        page.keyboard.type("Germany")
        expect(page.locator("#field-nationality")).to_have_value("DE")
        expect(page).to_have_url(server.url(server.form_path("DE")))

        type_into(page, "#field-first-names", first)
        type_into(page, "#field-family-names", family + "x")  # a slip of the finger
        type_into(page, "#field-date-of-birth-day", "17")
        type_into(page, "#field-date-of-birth-month", "3")
        type_into(page, "#field-date-of-birth-year", "1979")
        # Back with Shift+Tab to the family name: its text is selected, typing replaces it.
        tab_to(page, "#field-family-names", backwards=True)
        page.keyboard.type(family)
        expect(page.locator("#field-family-names")).to_have_value(family)
        type_into(page, "#field-residence-street", "Hauptstraße 1")
        type_into(page, "#field-residence-postal-code", "10115")
        type_into(page, "#field-residence-city", "Berlin")
        type_into(page, "#field-residence-country", "Deutschland")

        tab_to(page, "#field-privacy-read")
        page.keyboard.press("Space")
        expect(page.locator("#field-privacy-read")).to_be_checked()

        tab_to(page, REVIEW_BUTTON)
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.keyboard.press("Enter")
        assert answer.value.status == 200, page.inner_text("main")[:300]
        expect(page.locator("#review-summary")).to_be_visible()
        assert reviewed(page, "family_names") == family
        assert reviewed(page, "date_of_birth") == "17 March 1979"

        tab_to(page, CONFIRM_BUTTON)
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.keyboard.press("Enter")
        assert answer.value.status == 200, page.inner_text("main")[:300]
        statement = opened_statement(server, receipt_of(page), "DE")

    assert statement["fields"]["family_names"] == family
    assert statement["fields"]["date_of_birth"] == BIRTH.isoformat()


# --- without JavaScript --------------------------------------------------------------------


def test_without_javascript_the_page_says_so_before_anything_is_typed_and_keeps_every_value(
    chromium: Browser, quorum_server: QuorumServer, requests_seen: RequestLog
) -> None:
    # The proof of work needs JavaScript: the nationality still goes by two steps (choose,
    # Continue), but the statement cannot be sent. The page must say so up front.
    server = quorum_server
    typed = german(unique_name("Anna "), unique_name("Schmidt"))
    before = len(server.statements())
    with browser_page(chromium, requests_seen, java_script=False) as page:
        page.goto(server.url(server.start_path))
        warning = page.locator("#javascript-needed")
        expect(warning).to_be_visible()
        expect(warning).to_contain_text("JavaScript is switched off in this browser")
        expect(page.locator("#what-you-need")).to_contain_text("it needs JavaScript")

        page.select_option("#field-nationality", "DE")
        page.get_by_role("button", name="Continue").click()
        expect(page).to_have_url(server.url(server.form_path("DE")))
        expect(page.locator("#javascript-needed")).to_be_visible()  # on the form's own page
        assert all(page.locator(f"#{field_id}").input_value() == "" for field_id in typed)

        fill(page, typed)
        page.check("#field-privacy-read")
        assert press_and_answer(page, REVIEW_BUTTON).status == 422

        summary = page.locator("#error-summary")
        expect(summary).to_be_visible()
        link = summary.get_by_role("link", name=re.compile("needs JavaScript"))
        expect(link).to_have_attribute("href", "#field-altcha")
        expect(page.locator("#field-altcha")).to_be_visible()
        expect(page.locator("#javascript-needed")).to_be_visible()
        expect_every_value_in_its_field(page, typed)
        expect(page.locator("#field-nationality")).to_have_value("DE")
    assert len(server.statements()) == before


# --- the rate limit ------------------------------------------------------------------------


def browser_conftest(config: pytest.Config) -> ModuleType:
    """tests/browser/conftest.py as loaded by pytest (it is not importable by name)."""
    path = str(Path(__file__).with_name("conftest.py"))
    for plugin in config.pluginmanager.get_plugins():
        if getattr(plugin, "__file__", None) == path:
            return plugin
    raise LookupError(path)


@pytest.fixture(scope="module")
def rate_limited_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[QuorumServer]:
    """A server of its own, as the session's but with a limit of one statement at a time."""
    helpers = browser_conftest(request.config)
    data_dir = tmp_path_factory.mktemp("quorum-rate-limited")
    env = {**helpers._server_env(data_dir), **RATE_LIMITED_ENV}
    setup = subprocess.run(
        [sys.executable, "-m", "quorum.cli", "demo", "--no-serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert setup.returncode == 0, f"quorum demo --no-serve failed:\n{setup.stdout}{setup.stderr}"
    port = helpers._free_port()
    log = data_dir / "server.log"
    command = [sys.executable, "-m", "quorum.cli", "serve", "--host", "127.0.0.1"]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        server = helpers.QuorumServer(base_url=f"http://127.0.0.1:{port}", data_dir=data_dir)
        helpers._wait_until_answering(server.url(server.initiative_path), process, log)
        yield server
    finally:
        helpers._stop(process)


def confirm_waiting_out_the_limit(page: Page) -> None:
    """Confirm; if an earlier test's statement still holds the limit, wait as told, once."""
    answer = press_and_answer(page, CONFIRM_BUTTON)
    if answer.status == 429:
        page.wait_for_timeout(int(answer.headers["retry-after"]) * 1000)
        answer = press_and_answer(page, CONFIRM_BUTTON)
    assert answer.status == 200, page.inner_text("main")[:300]


@pytest.mark.parametrize("member_state", ["DE", "PL"])
def test_a_rate_limited_signatory_retries_and_finds_every_value_still_there(
    request: pytest.FixtureRequest,
    chromium: Browser,
    rate_limited_server: QuorumServer,
    member_state: str,
) -> None:
    server = rate_limited_server
    requests_seen = browser_conftest(request.config).RequestLog(origin=server.base_url)
    first, family = unique_name("Ola "), unique_name("Berg")
    typed = german(first, family) if member_state == "DE" else polish(first, family)
    with (
        browser_page(chromium, requests_seen) as signatory,
        browser_page(chromium, requests_seen) as neighbour,
    ):
        # The signatory fills in and reviews; meanwhile someone on the same connection signs.
        open_form(signatory, server, member_state)
        fill(signatory, typed)
        assert review(signatory) == 200
        open_form(neighbour, server, "PL")
        fill(neighbour, polish(unique_name("Jan "), unique_name("Nowak")))
        assert review(neighbour) == 200
        confirm_waiting_out_the_limit(neighbour)
        receipt_of(neighbour)
        stored = len(server.statements())

        refusal = press_and_answer(signatory, CONFIRM_BUTTON)

        assert refusal.status == 429
        retry_after = int(refusal.headers["retry-after"])
        assert 1 <= retry_after <= RATE_WINDOW
        summary = signatory.locator("#error-summary")
        expect(summary).to_be_focused()
        expect(summary).to_contain_text("Too many statements were sent from your connection")
        expect(summary).to_contain_text("Everything you typed is kept below.")
        assert len(server.statements()) == stored
        # Still the review page: every value shown, and every value in the form it sends.
        assert reviewed(signatory, "first_names") == first
        assert reviewed(signatory, "family_names") == family
        if member_state == "DE":
            assert reviewed(signatory, "date_of_birth") == "17 March 1979"
            for part in ("day", "month", "year"):
                sent = signatory.locator(f"input[name='date_of_birth.{part}']")
                expect(sent).to_have_value(typed[f"field-date-of-birth-{part}"])
            expect(signatory.locator("input[name='residence.city']")).to_have_value("Berlin")
        else:
            assert reviewed(signatory, "id_number") == VALID_PESEL
            expect(signatory.locator("input[name=id_type]")).to_have_value("pesel")
            expect(signatory.locator("input[name=id_number]")).to_have_value(VALID_PESEL)
        expect(signatory.locator("input[name=privacy_read]")).to_have_value("yes")

        # Once the time the page named has passed, Confirm again is enough: nothing retyped.
        signatory.wait_for_timeout(retry_after * 1000)
        assert press_and_answer(signatory, CONFIRM_BUTTON).status == 200
        statement = opened_statement(server, receipt_of(signatory), member_state)

    assert statement["fields"]["first_names"] == first
    assert statement["fields"]["family_names"] == family
    if member_state == "DE":
        assert statement["fields"]["date_of_birth"] == BIRTH.isoformat()
    else:
        assert statement["fields"]["id_number"] == VALID_PESEL


# --- the review step -----------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_review_step_shows_what_was_typed_in_words(
    chromium: Browser,
    quorum_server: QuorumServer,
    requests_seen: RequestLog,
    viewport: str,
    language: str,
) -> None:
    server = quorum_server
    typed = german(unique_name("Anna "), unique_name("Schmidt"))
    expected_birth = {"en": "17 March 1979", "de": "17. März 1979"}[language]
    assert long_date(BIRTH, language) == expected_birth  # what the page's language writes
    with browser_page(chromium, requests_seen, viewport=viewport) as page:
        open_form(page, server, "DE", language)
        fill(page, typed)
        before = len(server.statements())

        assert review(page) == 200

        expect(page.locator("html")).to_have_attribute("lang", language)
        expect(page.locator("#review-heading")).to_be_focused()
        assert reviewed(page, "nationality") == {"en": "Germany", "de": "Deutschland"}[language]
        assert reviewed(page, "first_names") == typed["field-first-names"]
        assert reviewed(page, "family_names") == typed["field-family-names"]
        assert reviewed(page, "date_of_birth") == expected_birth
        assert reviewed(page, "residence.street") == "Hauptstraße 1"
        assert reviewed(page, "residence.city") == "Berlin"
        assert len(server.statements()) == before, "stored before it was confirmed"

        # "Change" on the date: back to the form, every value in place, the focus on the date.
        page.locator("button[name=change][value=date_of_birth]").click()
        expect(page.locator("form#statement-form")).to_be_visible()
        expect_every_value_in_its_field(page, typed)
        expect(page.locator("#field-date-of-birth-day")).to_be_focused()
        assert len(server.statements()) == before

        page.fill("#field-date-of-birth-day", "18")
        assert review(page) == 200
        assert reviewed(page, "date_of_birth") == long_date(BIRTH.replace(day=18), language)
        assert press_and_answer(page, CONFIRM_BUTTON).status == 200
        receipt = receipt_of(page)
    assert len(server.statements()) == before + 1
    statement = opened_statement(server, receipt, "DE")
    assert statement["fields"]["date_of_birth"] == "1979-03-18"


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_review_step_names_the_identity_document_as_it_was_chosen(
    chromium: Browser, quorum_server: QuorumServer, requests_seen: RequestLog, viewport: str
) -> None:
    server = quorum_server
    typed = polish(unique_name("Zofia "), unique_name("Kowalska"))
    with browser_page(chromium, requests_seen, viewport=viewport) as page:
        open_form(page, server, "PL")
        fill(page, typed)
        document = page.locator("#field-id-type option:checked").inner_text().strip()
        before = len(server.statements())

        assert review(page) == 200

        assert reviewed(page, "id_type") == document
        assert reviewed(page, "id_number") == VALID_PESEL
        assert reviewed(page, "family_names") == typed["field-family-names"]
        assert len(server.statements()) == before, "stored before it was confirmed"


# --- the date of birth ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "order"),
    [("en", ["day", "month", "year"]), ("sv", ["year", "month", "day"])],
)
def test_a_date_typed_as_day_month_and_year_is_stored_as_that_date(
    chromium: Browser,
    quorum_server: QuorumServer,
    requests_seen: RequestLog,
    language: str,
    order: list[str],
) -> None:
    server = quorum_server
    typed = german(unique_name("Anna "), unique_name("Schmidt"))
    with browser_page(chromium, requests_seen) as page:
        open_form(page, server, "DE", language)
        # The three boxes in the order the page's language writes a date.
        boxes = page.locator("#field-date-of-birth input")
        ids = [box.get_attribute("id") for box in boxes.all()]
        assert ids == [f"field-date-of-birth-{part}" for part in order]
        fill(page, typed)
        assert review(page) == 200
        assert reviewed(page, "date_of_birth") == long_date(BIRTH, language)
        assert press_and_answer(page, CONFIRM_BUTTON).status == 200
        receipt = receipt_of(page)
    statement = opened_statement(server, receipt, "DE")
    assert statement["fields"]["date_of_birth"] == "1979-03-17"


def test_a_nationality_chosen_before_the_page_script_ran_still_brings_its_form(
    chromium: Browser, quorum_server: QuorumServer, requests_seen: RequestLog
) -> None:
    """A slow phone: the person chooses before signing.js has arrived. The choice is not lost."""
    held: list = []  # the script's request, answered only once the choice is made

    with browser_page(chromium, requests_seen) as page:
        page.route("**/static/quorum/signing.js", lambda route: held.append(route))
        page.goto(quorum_server.url(quorum_server.start_path), wait_until="commit")
        page.locator("#field-nationality").wait_for()
        page.select_option("#field-nationality", "PL")
        page.wait_for_timeout(300)
        expect(page.locator("form#statement-form")).to_have_count(0)
        assert len(held) == 1, "the script had not arrived when the choice was made"
        held[0].continue_()
        expect(page).to_have_url(quorum_server.url(quorum_server.form_path("PL")))
        expect(page.locator("form#statement-form")).to_be_visible()
        expect(page.locator("#field-first-names")).to_be_editable()


def test_a_partners_link_is_kept_through_every_step_and_its_code_goes_into_the_leaf(
    chromium: Browser, quorum_server: QuorumServer, requests_seen: RequestLog
) -> None:
    server = quorum_server
    typed = polish(unique_name("Zofia "), unique_name("Kowalska"))
    with browser_page(chromium, requests_seen) as page:
        page.goto(server.url(server.start_path + "?via=demo-friends"))
        page.select_option("#field-nationality", "DE")
        expect(page).to_have_url(server.url(server.form_path("DE") + "?via=demo-friends"))
        page.select_option("#field-nationality", "PL")  # a change of mind keeps it too
        expect(page).to_have_url(server.url(server.form_path("PL") + "?via=demo-friends"))
        expect(page.locator("#partner-note")).to_contain_text("Friends of the Demo")
        page.go_back()
        expect(page).to_have_url(server.url(server.form_path("DE") + "?via=demo-friends"))
        page.go_forward()
        expect(page.locator("form#statement-form")).to_be_visible()
        fill(page, typed)
        wait_for_pow(page)
        assert review(page) == 200
        expect(page.locator("#partner-note")).to_contain_text("“demo-friends”")
        assert press_and_answer(page, CONFIRM_BUTTON).status == 200
        receipt = receipt_of(page)
    rows = [r for r in server.statements() if bytes(r["leaf_hash"]).hex() == receipt]
    assert [r["partner"] for r in rows] == ["demo-friends"]
