"""The live counter campaign sites frame: its numbers, its language by ``?lang=`` (no cookie,
no session, cached by address), framable by anyone, loading nothing from elsewhere."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from quorum.core.i18n import language_from_address
from quorum.initiatives.models import Initiative
from quorum.ledger.views import COUNTER_REFRESH_SECONDS

pytestmark = pytest.mark.django_db

COUNTER = "/i/clean-air/counter/"
LANGUAGES = [code for code, _ in settings.LANGUAGES]


def get(path: str = COUNTER, **headers: str):
    response = Client().get(path, **headers)
    return response, response.content.decode()


def html_lang(page: str) -> str:
    found = re.search(r'<html lang="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def test_the_counter_shows_the_total_its_bar_the_goal_the_states_and_a_link_to_sign(
    collecting_initiative,
) -> None:
    response, page = get()

    assert response.status_code == 200
    assert html_lang(page) == "en"
    assert "<title>Live counter: Clean air for everyone</title>" in page
    assert '<span class="counter__number" data-total>0</span>' in page
    assert "statements of support received" in page
    assert re.search(r'<progress class="counter__bar" max="1000000" value="0"', page)
    assert 'aria-labelledby="counter-total counter-goal"' in page
    assert "Goal: 1,000,000" in page
    assert "of 7 Member States have reached their minimum" in page
    link = re.search(r'<a class="counter__link" href="/i/clean-air/"[^>]*>(.*?)</a>', page, re.S)
    assert link is not None
    assert 'target="_blank"' in link.group(0) and 'rel="noopener"' in link.group(0)
    assert "Support this initiative" in link.group(1) and "(opens in a new tab)" in link.group(1)


def test_the_counter_keeps_itself_current_with_a_script_not_a_page_reload(
    collecting_initiative,
) -> None:
    _, page = get()

    # A timed reload fails WCAG 2.2.1 (axe: meta-refresh); the numbers are fetched instead.
    assert 'http-equiv="refresh"' not in page
    assert '<script src="/static/quorum/counts.js" defer></script>' in page
    assert 'data-counts-url="/api/v1/initiatives/clean-air/counts"' in page
    assert f'data-interval="{COUNTER_REFRESH_SECONDS}"' in page
    for hook in ("data-total", "data-total-bar", "data-states-reached"):
        assert hook in page


def test_a_closed_initiative_links_to_its_page_instead_of_asking_for_support(
    collecting_initiative,
) -> None:
    Initiative.objects.filter(pk=collecting_initiative.pk).update(
        status=Initiative.Status.COLLECTION_CLOSED
    )
    _, page = get()

    assert "Support this initiative" not in page
    assert "About this initiative" in page


@pytest.mark.parametrize("language", LANGUAGES)
def test_lang_picks_the_language_of_the_whole_counter(collecting_initiative, language) -> None:
    response, page = get(f"{COUNTER}?lang={language}")

    assert response.status_code == 200
    assert html_lang(page) == language
    assert response["Content-Language"] == language


def test_lang_translates_the_words_the_numbers_and_the_title(collecting_initiative) -> None:
    _, page = get(f"{COUNTER}?lang=de")

    assert "eingegangene Unterstützungsbekundungen" in page
    assert "Ziel: 1.000.000" in page
    assert "Diese Initiative unterstützen" in page
    assert '<p class="counter__title" lang="de">Saubere Luft für alle</p>' in page
    assert 'data-locale="de-DE"' in page


def test_a_title_not_translated_says_its_own_language(collecting_initiative) -> None:
    _, page = get(f"{COUNTER}?lang=pl")

    assert html_lang(page) == "pl"
    assert '<p class="counter__title" lang="en">Clean air for everyone</p>' in page


def test_lang_wins_over_the_browsers_languages_and_the_language_cookie(
    collecting_initiative,
) -> None:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    response = client.get(f"{COUNTER}?lang=el", HTTP_ACCEPT_LANGUAGE="de")

    assert html_lang(response.content.decode()) == "el"
    assert "public" in response["Cache-Control"]


def test_lang_sets_no_cookie_and_starts_no_session(collecting_initiative) -> None:
    response, _ = get(f"{COUNTER}?lang=fi")

    assert not response.cookies
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize(
    "typed", ["xx", "de-DE", "english", "<script>", "%00", "de" * 300, ""], ids=repr
)
def test_a_language_that_is_not_one_of_the_sites_falls_back_without_an_error(
    collecting_initiative, typed
) -> None:
    response, page = get(f"{COUNTER}?lang={typed}", HTTP_ACCEPT_LANGUAGE="nl")

    assert response.status_code == 200
    assert html_lang(page) == "nl"  # the browser's language, as without ?lang=
    assert "<script>" not in page.split("</title>")[0]


def test_lang_in_capitals_is_still_that_language(collecting_initiative) -> None:
    _, page = get(f"{COUNTER}?lang=SV")

    assert html_lang(page) == "sv"


@given(st.text(max_size=30))
@hypothesis_settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_counter_language_is_one_of_the_sites_or_none(typed: str) -> None:
    chosen = language_from_address(typed)

    assert chosen is None or chosen in LANGUAGES


def test_caches_key_on_the_address_and_the_browsers_languages_never_on_a_cookie(
    collecting_initiative,
) -> None:
    response, _ = get(HTTP_ACCEPT_LANGUAGE="it")

    assert "accept-language" in response["Vary"].lower()
    assert "cookie" not in response["Vary"].lower()
    assert response["Cache-Control"] == f"public, max-age={COUNTER_REFRESH_SECONDS}"
    assert response["Content-Language"] == "it"


def test_a_counter_in_the_language_of_a_cookie_is_not_kept_by_shared_caches(
    collecting_initiative,
) -> None:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    response = client.get(COUNTER, HTTP_ACCEPT_LANGUAGE="en")

    # The reader chose German on this site: theirs alone, since the cache key has no cookie.
    assert html_lang(response.content.decode()) == "de"
    assert "private" in response["Cache-Control"] and "public" not in response["Cache-Control"]

    same = client.get(COUNTER, HTTP_ACCEPT_LANGUAGE="de")
    assert "public" in same["Cache-Control"]  # what the browser asks for anyway


def test_any_site_may_frame_the_counter_and_it_loads_nothing_from_another(
    collecting_initiative,
) -> None:
    response, page = get(f"{COUNTER}?lang=de")

    policy = response["Content-Security-Policy"]
    assert "frame-ancestors *" in policy
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "X-Frame-Options" not in response.headers
    # Every address the page loads is on this site.
    for address in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert address.startswith("/"), address
    # Every other page still refuses to be framed.
    other = Client().get("/i/clean-air/")
    assert other["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in other["Content-Security-Policy"]


def test_the_counter_of_an_initiative_that_is_not_public_is_not_found(
    collecting_initiative,
) -> None:
    Initiative.objects.filter(pk=collecting_initiative.pk).update(status=Initiative.Status.DRAFT)

    assert Client().get(COUNTER).status_code == 404
    assert Client().get("/i/no-such-initiative/counter/?lang=de").status_code == 404


def test_the_counters_stylesheet_is_served_and_small(collecting_initiative) -> None:
    response = Client().get("/static/quorum/counter.css")
    try:
        assert response.status_code == 200
        css = b"".join(response.streaming_content).decode()
    finally:
        response.close()

    assert ".counter__number" in css and "#0b4f9c" in css
    assert "url(" not in css and "@import" not in css and "@font-face" not in css
    assert len(css.encode()) < 8_000
