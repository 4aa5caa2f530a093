"""Error pages never fail, speak the visitor's language, and carry every security header.

Forms in another encoding than UTF-8 are a clean 400, never a 500.
"""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.db import OperationalError
from django.test import Client, RequestFactory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quorum.core import error_pages

FORM_ROUTES = [
    "/i/clean-air/sign/de/",
    "/account/login/",
    "/i18n/setlang/",
    "/account/logout/",
    "/manage/initiatives/new/",
]
SECURITY_HEADERS = (
    "Content-Security-Policy",
    "Permissions-Policy",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Referrer-Policy",
)


@pytest.fixture
def browser() -> Client:
    """A client that checks CSRF tokens as the real server does, and reports 500s as such."""
    return Client(enforce_csrf_checks=True, raise_request_exception=False)


def csrf_token(client: Client) -> str:
    client.get("/account/login/")
    return client.cookies["csrftoken"].value


def assert_secure(response) -> None:
    for name in SECURITY_HEADERS:
        assert name in response, f"{name} missing"
    assert "camera=()" in response["Permissions-Policy"]


@pytest.mark.django_db
@pytest.mark.parametrize("route", FORM_ROUTES)
@pytest.mark.parametrize("charset", ["utf-16", "nope", "UTF-16LE", "latin-1"])
def test_a_form_in_another_encoding_than_utf8_is_a_clean_400_on_every_form(
    browser, collecting_initiative, route, charset
) -> None:
    token = csrf_token(browser)
    body = f"csrfmiddlewaretoken={token}&username=a&language=de".encode()
    response = browser.generic(
        "POST",
        route,
        body,
        content_type=f"application/x-www-form-urlencoded; charset={charset}",
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert response.status_code == 400
    assert response["Content-Language"] == "fr"
    assert '<html lang="fr"' in response.content.decode()
    assert_secure(response)


@pytest.mark.django_db
def test_a_form_in_utf8_still_reaches_the_page(browser, collecting_initiative) -> None:
    token = csrf_token(browser)
    response = browser.generic(
        "POST",
        "/i18n/setlang/",
        f"csrfmiddlewaretoken={token}&language=de&next=/".encode(),
        content_type="application/x-www-form-urlencoded; charset=UTF-8",
    )
    assert response.status_code == 302
    assert response.cookies["django_language"].value == "de"


media_types = st.sampled_from(
    [
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "multipart/form-data",
        "text/plain",
        "application/json",
        "",
        "nonsense",
    ]
)
charsets = st.sampled_from(["utf-8", "UTF-8", "utf-16", "utf-32", "nope", '"utf-8"', ""]) | st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=";"),
    max_size=12,
)


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(media_type=media_types, charset=charsets, raw=st.binary(max_size=200))
def test_any_content_type_and_charset_on_the_sign_form_is_answered_without_a_server_error(
    browser, collecting_initiative, media_type, charset, raw
) -> None:
    content_type = f"{media_type}; charset={charset}" if charset else media_type
    body = f"csrfmiddlewaretoken={csrf_token(browser)}&first_names=Anna&".encode() + raw
    response = browser.generic("POST", "/i/clean-air/sign/de/", body, content_type=content_type)
    assert response.status_code < 500, (content_type, response.status_code)
    assert_secure(response)


@pytest.mark.django_db
def test_a_missing_page_is_a_translated_404_with_every_security_header(client) -> None:
    response = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert '<html lang="de"' in response.content.decode()
    assert_secure(response)


@pytest.mark.django_db
def test_a_missing_api_path_answers_in_the_api_error_shape(client) -> None:
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert list(response.json()["errors"]) == ["__all__"]
    assert_secure(response)


def _fail(*args, **kwargs):
    raise OperationalError("the database is gone")


@pytest.mark.django_db
def test_a_crash_is_a_500_page_with_every_security_header(monkeypatch, settings) -> None:
    import quorum.initiatives.views

    settings.DEBUG = False
    monkeypatch.setattr(quorum.initiatives.views, "initiative_search", _fail)
    response = Client(raise_request_exception=False).get("/", HTTP_ACCEPT_LANGUAGE="it")
    assert response.status_code == 500
    assert '<html lang="it"' in response.content.decode()
    assert_secure(response)


@pytest.mark.django_db
def test_the_500_page_is_sent_even_when_its_template_fails(monkeypatch) -> None:
    import quorum.initiatives.views

    monkeypatch.setattr(quorum.initiatives.views, "initiative_search", _fail)
    monkeypatch.setattr(error_pages.loader, "render_to_string", _fail)
    response = Client(raise_request_exception=False).get("/")
    assert response.status_code == 500
    assert response.content.decode() == error_pages.FIXED_HTML
    assert_secure(response)


def test_the_api_500_is_json_even_when_the_translations_fail(monkeypatch) -> None:
    monkeypatch.setattr(error_pages.translation, "override", _fail)
    response = error_pages.server_error(RequestFactory().get("/api/v1/initiatives"))
    assert response.status_code == 500
    assert response.content.decode() == error_pages.FIXED_JSON
    assert_secure(response)


@pytest.mark.parametrize(
    ("handler", "status"),
    [
        (lambda r: error_pages.bad_request(r, SuspiciousOperation()), 400),
        (lambda r: error_pages.permission_denied(r, PermissionDenied()), 403),
        (lambda r: error_pages.page_not_found(r, None), 404),
        (error_pages.server_error, 500),
    ],
)
def test_every_handler_answers_pages_in_html_and_the_api_in_json(handler, status) -> None:
    page = handler(RequestFactory().get("/i/x/", HTTP_ACCEPT_LANGUAGE="pl"))
    assert page.status_code == status
    assert '<html lang="pl"' in page.content.decode()
    assert_secure(page)
    api = handler(RequestFactory().get("/api/v1/x", HTTP_ACCEPT_LANGUAGE="pl"))
    assert api.status_code == status
    assert api["Content-Language"] == "pl"
    assert list(json.loads(api.content)["errors"]) == ["__all__"]
    assert_secure(api)


def test_the_root_urlconf_names_the_handlers() -> None:
    import quorum.urls

    assert quorum.urls.handler400 == "quorum.core.error_pages.bad_request"
    assert quorum.urls.handler403 == "quorum.core.error_pages.permission_denied"
    assert quorum.urls.handler404 == "quorum.core.error_pages.page_not_found"
    assert quorum.urls.handler500 == "quorum.core.error_pages.server_error"
