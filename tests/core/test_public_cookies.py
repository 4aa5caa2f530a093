"""Public pages set no cookie for an anonymous reader; the language switch needs no CSRF token.

A year-long ``csrftoken`` on every page would make each reader recognisable and every page
uncacheable. The sign form is protected by where the browser says its POST comes from
(``Sec-Fetch-Site``, ``Origin``) instead of a token, so it needs no cookie either.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db

RECEIPT = "ab" * 32
PUBLIC_PAGES = [
    "/",
    "/?status=collecting&q=air",
    "/i/clean-air/",
    "/i/clean-air/receipt/",
    f"/i/clean-air/receipt/?receipt={RECEIPT}",
    "/i/clean-air/sign/",
    "/i/clean-air/sign/pl/",
    "/i/clean-air/counter/",
]


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_an_anonymous_reader_gets_no_cookie_at_all(collecting_initiative, path: str) -> None:
    response = Client().get(path)

    assert response.status_code == 200
    assert not response.cookies, response.cookies.output()
    assert "Set-Cookie" not in response.headers


def test_the_counter_and_the_api_do_not_vary_by_cookie(collecting_initiative) -> None:
    for path in ("/i/clean-air/counter/", "/api/v1/initiatives", "/api/v1/initiatives/clean-air"):
        response = Client().get(path)
        assert response.status_code == 200, path
        assert "cookie" not in response.get("Vary", "").lower(), (path, response["Vary"])


def test_the_language_switch_works_without_a_csrf_token(collecting_initiative) -> None:
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/i/clean-air/")
    assert 'action="/i18n/setlang/"' in page.content.decode()
    assert "csrfmiddlewaretoken" not in page.content.decode()

    response = browser.post("/i18n/setlang/", {"language": "de", "next": "/i/clean-air/"})

    assert response.status_code == 302
    assert response["Location"] == "/i/clean-air/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"
    assert "csrftoken" not in response.cookies
    page = browser.get("/i/clean-air/")
    assert '<html lang="de"' in page.content.decode()
    assert "Saubere Luft für alle" in page.content.decode()


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/", "javascript:alert(1)"]
)
def test_the_language_switch_never_sends_the_reader_to_another_site(
    collecting_initiative, next_url: str
) -> None:
    response = Client().post("/i18n/setlang/", {"language": "fr", "next": next_url})

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_an_unknown_language_sets_no_cookie(collecting_initiative) -> None:
    response = Client().post("/i18n/setlang/", {"language": "xx-unknown", "next": "/"})

    assert response.status_code == 302
    assert not response.cookies


def test_looking_at_the_switch_without_choosing_sets_no_cookie(collecting_initiative) -> None:
    response = Client().get("/i18n/setlang/", {"language": "de", "next": "/i/clean-air/"})

    assert response.status_code == 302
    assert not response.cookies


def test_the_sign_form_needs_no_token_but_refuses_another_site(
    collecting_initiative, authority_keys
) -> None:
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/i/clean-air/sign/de/")
    assert page.status_code == 200
    assert "csrfmiddlewaretoken" not in page.content.decode()
    assert not page.cookies

    response = browser.post(
        "/i/clean-air/sign/de/", {"first_names": "Anna"}, HTTP_ORIGIN="https://evil.example"
    )

    assert response.status_code == 403
