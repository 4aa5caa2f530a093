"""axe-core finds no serious or critical violation on any public page, in Polish, Greek and
Bulgarian: Latin with diacritics, Greek and Cyrillic script.

axe-core is the copy inside axe-playwright-python, injected into the page: it must fetch
nothing. One context per language; each page is loaded once and checked at a phone's width,
where the layout differs most from the desktop's.
"""

from __future__ import annotations

import json
import random
import string
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.request import Request, urlopen

import pytest

if TYPE_CHECKING:  # the fixtures' types; conftest is not importable as a module
    from conftest import QuorumServer

pytest.importorskip("playwright.sync_api")
pytest.importorskip("axe_playwright_python.sync_playwright")

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser

from quorum.signing.pow import solve_challenge

CHROMIUM = Path("/usr/bin/chromium")
DEMO_SLUG = "ban-biometric-mass-surveillance"
VALID_PESEL = "44051401359"
# What a page may fetch by itself while axe runs: the counter's refresh and the page's icon.
OWN_FETCHES = ("/counts", "/static/quorum/favicon.svg")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]


def public_paths(receipt: str) -> dict[str, str]:
    initiative = f"/i/{DEMO_SLUG}/"
    return {
        "register": "/",
        "register, searched": "/?q=biometric&status=collecting",
        "initiative": initiative,
        "signing start": f"{initiative}sign/",
        "signing form DE (Part A)": f"{initiative}sign/de/",
        "signing form PL (Part B)": f"{initiative}sign/pl/",
        "signing form RO (Part B)": f"{initiative}sign/ro/",
        "receipt check": f"{initiative}receipt/",
        "receipt check with a receipt": f"{initiative}receipt/?receipt={receipt}",
        "counter embed": f"{initiative}counter/",
        "e-mail updates": f"{initiative}updates/",
        "signing form in a campaign's frame": f"{initiative}embed/sign/pl/",
        "sign-in": "/account/login/",
        "404": "/no-such-page/",
    }


def signed_receipt(server: QuorumServer) -> str:
    """A real receipt (signed through the public API), so its check shows a real proof."""

    def call(path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        request = Request(server.url(path), data=data, headers={"Content-Type": "application/json"})
        with urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    challenge = call(f"/api/v1/pow/challenge?scope=statement:{DEMO_SLUG}")
    letters = "".join(random.choices(string.ascii_lowercase, k=8))
    answer = call(
        f"/api/v1/initiatives/{DEMO_SLUG}/statements",
        {
            "nationality": "PL",
            "first_names": "Zofia " + letters,
            "family_names": "Kowalska" + letters,
            "id_type": "pesel",
            "id_number": VALID_PESEL,
            "altcha": solve_challenge(challenge),
        },
    )
    return answer["receipt"]


@pytest.fixture(scope="module")
def receipt(quorum_server: QuorumServer) -> str:
    return signed_receipt(quorum_server)


def describe(violations: list[dict]) -> str:
    return "\n".join(
        f"  {v['id']} ({v['impact']}): {v['help']} — "
        + ", ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        for v in violations
    )


@pytest.mark.parametrize("language", ["pl", "el", "bg"])
def test_axe_finds_no_serious_or_critical_violation_on_any_public_page(
    chromium: Browser, quorum_server: QuorumServer, receipt: str, language: str
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
        for name, path in public_paths(receipt).items():
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
