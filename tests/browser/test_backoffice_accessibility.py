"""axe on every back-office page and every sign-in page, in Polish, Greek and Bulgarian; and
none of them scrolls sideways on a 320 px phone.

One Latin, one Greek and one Cyrillic language: the three scripts the pages must carry. The
server is the real one (`quorum_server`: the demo, served by granian). A short script run with
the server's data directory gives it the people these pages need: per language, one member of
staff who is registrar, operator, staff of the Polish authority and an organiser of the demo
initiative (with an authenticator whose key the test knows), and one person who has not set up
an authenticator yet (for the set-up page). Each language has one browser context, signed in
once through the real pages; the pages of that sign-in are checked on the way.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # the fixtures' types; conftest is not importable as a module
    from conftest import QuorumServer

CHROMIUM = Path("/usr/bin/chromium")
DEMO_SLUG = "ban-biometric-mass-surveillance"  # the demo's initiative (quorum demo)

pytest.importorskip("playwright.sync_api")
pytest.importorskip("axe_playwright_python.sync_playwright")

from axe_playwright_python.sync_playwright import Axe  # noqa: E402
from django_otp.oath import totp  # noqa: E402
from playwright.sync_api import Browser, BrowserContext, Page, expect  # noqa: E402

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]

expect.set_options(timeout=15_000)

LANGUAGES = ("pl", "el", "bg")
PASSWORD = "a long password for the axe tests only " + secrets.token_hex(4)
REQUESTED = "axe-requested"  # an initiative waiting for the registrar's decision
# What the browser may fetch while axe runs: the page's icon, which it asks for when it
# likes. Anything else was fetched by axe.
FETCHED_BY_THE_BROWSER = ("/static/quorum/favicon.svg",)

# Run with the server's settings and data directory: the cast, and the registration request.
CAST_SCRIPT = """
import json, os, sys
from datetime import timedelta

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quorum.settings")
django.setup()

from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from quorum.accounts.roles import OPERATOR, REGISTRAR, user_create
from quorum.authorities.services import authority_staff_add
from quorum.initiatives.models import Initiative, OrganiserMember
from quorum.initiatives.services import initiative_create

spec = json.loads(sys.argv[1])
demo = Initiative.objects.get(slug=spec["demo"])
for person in spec["staff"]:
    user = user_create(
        username=person["username"],
        email=person["username"] + "@example.eu",
        password=spec["password"],
        roles=[REGISTRAR, OPERATOR],
        actor_label="axe test",
    )
    TOTPDevice.objects.create(user=user, name="default", confirmed=True, key=person["key"])
    authority_staff_add(scheme_code="eci", member_state="PL", user=user, actor_label="axe test")
    OrganiserMember.objects.create(
        initiative=demo,
        user=user,
        full_name="Zofia Testowa",
        email=user.email,
        nationality="PL",
        residence="PL",
        declares_voting_age=True,
        role=OrganiserMember.Role.MEMBER,
        confirmed_at=timezone.now(),
    )
for username in spec["enrol"]:
    user_create(
        username=username,
        email=username + "@example.eu",
        password=spec["password"],
        actor_label="axe test",
    )
requested = initiative_create(
    slug=spec["requested"],
    title={"en": "Open data for every town hall"},
    objectives={"en": "We ask for the data of every town hall to be open."},
    treaty_basis="Article 16 TFEU",
    language="en",
)
Initiative.objects.filter(pk=requested.pk).update(
    status=Initiative.Status.REGISTRATION_REQUESTED,
    registration_requested_on=timezone.localdate() - timedelta(days=3),
)
"""


@dataclass(frozen=True)
class Person:
    username: str
    key: str = ""  # the authenticator's key, hex; "" for someone who has none yet

    def code(self) -> str:
        """The code the authenticator app shows now (a fresh device accepts any current one)."""
        return f"{totp(bytes.fromhex(self.key)):06d}"


def staff(language: str) -> Person:
    return Person(f"axe-staff-{language}", KEYS[language])


def newcomer(language: str) -> Person:
    return Person(f"axe-new-{language}")


KEYS = {language: secrets.token_hex(20) for language in LANGUAGES}


@pytest.fixture(scope="module")
def cast(quorum_server: QuorumServer) -> None:
    """The people and the request (see the module docstring), in the server's database."""
    spec = {
        "demo": DEMO_SLUG,
        "password": PASSWORD,
        "requested": REQUESTED,
        "staff": [{"username": staff(x).username, "key": staff(x).key} for x in LANGUAGES],
        "enrol": [newcomer(x).username for x in LANGUAGES],
    }
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
    }
    env["QUORUM_DATA_DIR"] = str(quorum_server.data_dir)
    done = subprocess.run(
        [sys.executable, "-c", CAST_SCRIPT, json.dumps(spec)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"the cast was not made:\n{done.stdout}\n{done.stderr}"


# --- one signed-in browser context per language ------------------------------------------


@dataclass
class Session:
    """A language's context and page, what they fetched, and axe's findings on the way in."""

    language: str
    context: BrowserContext
    page: Page
    urls: list[str] = field(default_factory=list)
    found: dict[str, dict[str, Any]] = field(default_factory=dict)


# Every frame of the page has its document loaded (not the blank one a lazy frame starts with).
FRAMES_LOADED = """() => [...document.querySelectorAll("iframe")].every(frame =>
  frame.contentDocument !== null
  && frame.contentDocument.readyState === "complete"
  && frame.contentWindow.location.href !== "about:blank")"""


def load_every_frame(page: Page) -> None:
    """Brings each lazy preview frame into view and waits until it and its assets have loaded,
    so that what a frame fetches late is not taken for something axe fetched."""
    for frame in page.locator("iframe").all():
        frame.scroll_into_view_if_needed()
    page.wait_for_function(FRAMES_LOADED)
    page.wait_for_load_state("networkidle")
    page.evaluate("() => window.scrollTo(0, 0)")


def axe(session: Session, server: QuorumServer) -> dict[str, Any]:
    """axe's findings on the page as it is, checking that axe fetched nothing."""
    page = session.page
    assert page.locator("html").get_attribute("lang") == session.language, page.url
    load_every_frame(page)
    seen = len(session.urls)
    results = Axe().run(page).response
    fetched = [u for u in session.urls[seen:] if not u.endswith(FETCHED_BY_THE_BROWSER)]
    assert fetched == [], "axe-core fetched something"
    assert results["passes"], "axe-core did not run its rules"
    foreign = [u for u in session.urls if not u.startswith(server.base_url + "/")]
    assert foreign == [], f"requests to another origin: {foreign}"
    return results


def set_language(context: BrowserContext, server: QuorumServer, language: str) -> None:
    context.add_cookies([{"name": "django_language", "value": language, "url": server.base_url}])


def submit_password(page: Page, server: QuorumServer, person: Person) -> None:
    page.goto(server.url("/account/login/"))
    page.fill("#id_username", person.username)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()


def sign_in(browser: Browser, server: QuorumServer, language: str) -> Session:
    """Through the real pages, checking each on the way: login, the set-up of a newcomer,
    then (afresh) the code of a member of staff, who ends signed in."""
    context = browser.new_context(locale="en-GB", timezone_id="Europe/Brussels")
    context.set_default_timeout(15_000)
    session = Session(language, context, context.new_page())
    context.on("request", lambda request: session.urls.append(request.url))
    set_language(context, server, language)
    page = session.page

    page.goto(server.url("/account/login/"))
    session.found["login"] = axe(session, server)

    page.fill("#id_username", "nobody-" + language)
    page.fill("#id_password", "not the password")
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    session.found["login-refused"] = axe(session, server)

    submit_password(page, server, newcomer(language))
    expect(page).to_have_url(server.url("/account/2fa/setup/"))
    session.found["set-up"] = axe(session, server)

    context.clear_cookies()  # the newcomer's half sign-in ends here
    set_language(context, server, language)
    submit_password(page, server, staff(language))
    expect(page).to_have_url(server.url("/account/login/verify/"))
    session.found["verify"] = axe(session, server)

    page.fill("#id_code", staff(language).code())
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(server.url("/account/"))
    session.found["account"] = axe(session, server)
    return session


@pytest.fixture(scope="module")
def sessions(
    chromium: Browser, quorum_server: QuorumServer, cast: None
) -> Iterator[Callable[[str], Session]]:
    """``sessions(language)``: that language's signed-in session, made at its first use."""
    made: dict[str, Session] = {}

    def get(language: str) -> Session:
        if language not in made:
            made[language] = sign_in(chromium, quorum_server, language)
        return made[language]

    try:
        yield get
    finally:
        for session in made.values():
            session.context.close()


# --- the pages ---------------------------------------------------------------------------


def visit(path: str) -> Callable[[Page, QuorumServer], None]:
    def go(page: Page, server: QuorumServer) -> None:
        response = page.goto(server.url(path))
        assert response is not None and response.status == 200, f"{path}: {response}"

    return go


def send_the_empty_draft(page: Page, server: QuorumServer) -> None:
    page.goto(server.url("/manage/initiatives/new/"))
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#error-summary")).to_be_visible()


def join_with_a_spent_invitation(page: Page, server: QuorumServer) -> None:
    page.goto(server.url("/manage/join/no-such-invitation/"))
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#error-summary")).to_be_visible()


def send_the_decision_without_one(page: Page, server: QuorumServer) -> None:
    page.goto(server.url(f"/manage/registrar/{REQUESTED}/"))
    page.locator(f"form[action$='/{REQUESTED}/decide/'] button[type=submit]").click()
    expect(page.locator("#error-summary")).to_be_visible()


def add_a_partner_without_a_code(page: Page, server: QuorumServer) -> None:
    page.goto(server.url(f"/manage/initiatives/{DEMO_SLUG}/partners/"))
    page.locator("button[name=action][value=add]").click()
    expect(page.locator("#error-summary")).to_be_visible()


def send_no_key_certificate(page: Page, server: QuorumServer) -> None:
    page.goto(server.url("/manage/operator/authorities/"))
    page.locator("form[action$='/keys/'] button[type=submit]").click()
    expect(page.locator("#error-summary")).to_be_visible()


# The pages checked while signing in (sign_in), then the pages of a signed-in member of staff.
SIGN_IN_PAGES = ("login", "login-refused", "set-up", "verify", "account")
PAGES: dict[str, Callable[[Page, QuorumServer], None]] = {
    "back-office-home": visit("/manage/"),
    "organiser-list": visit("/manage/initiatives/"),
    "draft": visit("/manage/initiatives/new/"),
    "draft-refused": send_the_empty_draft,
    "dashboard": visit(f"/manage/initiatives/{DEMO_SLUG}/"),
    "partners": visit(f"/manage/initiatives/{DEMO_SLUG}/partners/"),
    "partners-refused": add_a_partner_without_a_code,
    "signing-form": visit(f"/manage/initiatives/{DEMO_SLUG}/signing-form/"),
    "join": visit("/manage/join/an-invitation/"),
    "join-refused": join_with_a_spent_invitation,
    "registrar-queue": visit("/manage/registrar/"),
    "registrar-detail-requested": visit(f"/manage/registrar/{REQUESTED}/"),
    "registrar-detail-refused": send_the_decision_without_one,
    "registrar-detail-collecting": visit(f"/manage/registrar/{DEMO_SLUG}/"),
    "designations": visit("/manage/designations/"),
    "authority-home": visit("/manage/authority/PL/"),
    "operator-authorities": visit("/manage/operator/authorities/"),
    "operator-authorities-refused": send_no_key_certificate,
    "password-change": visit("/account/password/"),
    "re-authentication": visit("/account/reauth/"),
}


def describe(violations: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + ", ".join(" ".join(node["target"]) for node in v["nodes"])
        for v in violations
    )


@pytest.mark.parametrize("where", [*SIGN_IN_PAGES, *PAGES])
@pytest.mark.parametrize("language", LANGUAGES)
def test_axe_finds_no_serious_or_critical_violation_on_the_back_office_page(
    sessions: Callable[[str], Session], quorum_server: QuorumServer, language: str, where: str
) -> None:
    session = sessions(language)
    if where in SIGN_IN_PAGES:
        results = session.found[where]
    else:
        PAGES[where](session.page, quorum_server)
        results = axe(session, quorum_server)
    violations = results["violations"]
    if violations:
        print(f"axe on {where} ({language}):\n{describe(violations)}")
    blocking = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not blocking, f"axe on {where} ({language}):\n{describe(blocking)}"


# The widest element of the page that sticks out of it, to say what to fix.
WIDEST = """() => {
  const width = document.documentElement.clientWidth;
  let widest = null;
  for (const element of document.querySelectorAll("body *")) {
    const right = element.getBoundingClientRect().right;
    if (right > width + 1 && (widest === null || right > widest.right)) {
      widest = {right, tag: element.tagName, cls: element.className, text: (element.textContent || "").trim().slice(0, 60)};
    }
  }
  return widest;
}"""


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_back_office_page_scrolls_sideways_on_a_320_px_phone(
    sessions: Callable[[str], Session], quorum_server: QuorumServer, language: str
) -> None:
    session = sessions(language)
    page = session.page
    page.set_viewport_size({"width": 320, "height": 640})
    wide = {}
    try:
        for where, reach in PAGES.items():
            reach(page, quorum_server)
            sizes = page.evaluate(
                "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            if sizes[0] > sizes[1]:
                wide[where] = (sizes, page.evaluate(WIDEST))
    finally:
        page.set_viewport_size({"width": 1280, "height": 800})
    assert wide == {}, f"wider than 320 px ({language}): {wide}"
