"""Error pages never fail, speak the visitor's language, and carry every security header.

Forms in another encoding than UTF-8 are a clean 400, never a 500.
"""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.db import OperationalError
from django.http import Http404
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


# What each status page says, as the catalogues translate it: (title, sentence, "Error N", home).
PAGE_TEXTS = {
    "en": {
        400: ("Bad request", "The request could not be understood."),
        403: ("Access denied", "You are not allowed to do this."),
        404: ("Not found", "There is nothing at this address."),
        500: ("Something went wrong", "This is a fault on our side, not yours."),
        "error": "Error",
        "home": "Go to the register of initiatives",
    },
    "de": {
        400: ("Ungültige Anfrage", "Die Anfrage konnte nicht verstanden werden."),
        403: ("Zugriff verweigert", "Sie sind dazu nicht berechtigt."),
        404: ("Nicht gefunden", "Unter dieser Adresse ist nichts zu finden."),
        500: ("Ein Fehler ist aufgetreten", "Der Fehler liegt bei uns, nicht bei Ihnen."),
        "error": "Fehler",
        "home": "Zum Register der Initiativen",
    },
    "el": {
        400: ("Εσφαλμένο αίτημα", "Δεν ήταν δυνατή η κατανόηση του αιτήματος."),
        403: ("Δεν επιτρέπεται η πρόσβαση", "Δεν έχετε δικαίωμα να το κάνετε αυτό."),
        404: ("Δεν βρέθηκε", "Δεν υπάρχει τίποτα σε αυτή τη διεύθυνση."),
        500: ("Κάτι πήγε στραβά", "Πρόκειται για σφάλμα από τη δική μας πλευρά"),
        "error": "Σφάλμα",
        "home": "Μετάβαση στο μητρώο των πρωτοβουλιών",
    },
    "bg": {
        400: ("Невалидна заявка", "Заявката не можа да бъде разбрана."),
        403: ("Достъпът е отказан", "Нямате право да извършите това действие."),
        404: ("Не е намерено", "На този адрес няма нищо."),
        500: ("Нещо се обърка", "Грешката е от наша страна, а не от ваша."),
        "error": "Грешка",
        "home": "Към регистъра на инициативите",
    },
}
SIGN_IN_LINK = {
    "en": "Sign in for organisers and authorities",
    "de": "Anmeldung für Organisatoren und Behörden",
    "el": "Σύνδεση για διοργανωτές και αρχές",
    "bg": "Вход за организатори и органи",
}
RAISED = {
    400: SuspiciousOperation("a forged request"),
    403: PermissionDenied(),
    404: Http404(),
    500: RuntimeError("a bug in a view"),
}


def assert_in_the_layout(page: str) -> None:
    assert '<header class="govuk-header">' in page
    assert '<a class="govuk-header__homepage-link" href="/">Quorum</a>' in page
    assert '<footer class="govuk-footer">' in page
    assert 'rel="icon" href="/static/quorum/favicon.svg"' in page
    assert 'href="/static/quorum/quorum.css"' in page


@pytest.mark.django_db
@pytest.mark.parametrize("language", sorted(PAGE_TEXTS))
@pytest.mark.parametrize("status", sorted(RAISED))
def test_a_view_that_raises_gets_the_status_page_in_the_layout_and_the_readers_language(
    monkeypatch, settings, status: int, language: str
) -> None:
    import quorum.initiatives.views

    def _raise(*args, **kwargs):
        raise RAISED[status]

    settings.DEBUG = False
    monkeypatch.setattr(quorum.initiatives.views, "initiative_search", _raise)
    response = Client(raise_request_exception=False).get("/", HTTP_ACCEPT_LANGUAGE=language)

    page = response.content.decode()
    title, sentence = PAGE_TEXTS[language][status]
    assert response.status_code == status
    assert response["Content-Language"] == language
    assert f'<html lang="{language}"' in page
    assert f"<title>{title} · Quorum</title>" in page
    assert f'<h1 class="govuk-heading-l">{title}</h1>' in page
    assert sentence in page
    assert f"{PAGE_TEXTS[language]['error']} {status}" in page
    assert f'<a class="govuk-link" href="/">{PAGE_TEXTS[language]["home"]}</a>' in page
    assert SIGN_IN_LINK[language] in page
    assert_in_the_layout(page)
    assert_secure(response)


@pytest.mark.django_db
def test_a_missing_page_in_greek_is_the_greek_404_in_the_layout(client) -> None:
    response = client.get("/i/no-such-initiative/", HTTP_ACCEPT_LANGUAGE="el")
    page = response.content.decode()
    assert response.status_code == 404
    assert '<h1 class="govuk-heading-l">Δεν βρέθηκε</h1>' in page
    assert_in_the_layout(page)


@pytest.mark.django_db
def test_the_500_page_reads_nothing_from_the_database_the_session_or_the_user(
    django_assert_num_queries,
) -> None:
    request = RequestFactory().get("/i/clean-air/", HTTP_ACCEPT_LANGUAGE="bg")
    with django_assert_num_queries(0):
        response = error_pages.server_error(request)
    page = response.content.decode()
    assert response.status_code == 500
    assert '<h1 class="govuk-heading-l">Нещо се обърка</h1>' in page
    assert not hasattr(request, "session") and not hasattr(request, "user")
    assert "csrfmiddlewaretoken" not in page  # no form: nothing that needs a session
    assert_in_the_layout(page)


@pytest.mark.django_db
def test_the_500_page_of_a_view_that_lost_its_database_is_the_static_page(monkeypatch) -> None:
    import quorum.initiatives.views

    monkeypatch.setattr(quorum.initiatives.views, "initiative_search", _fail)
    response = Client(raise_request_exception=False).get("/", HTTP_ACCEPT_LANGUAGE="de")
    page = response.content.decode()
    assert response.status_code == 500
    assert '<h1 class="govuk-heading-l">Ein Fehler ist aufgetreten</h1>' in page
    assert SIGN_IN_LINK["de"] in page
    assert "Signed in as" not in page and "language-switcher" not in page
    assert_in_the_layout(page)


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["de", "el", "bg"])
def test_a_missing_api_path_stays_json_in_any_language(client, language: str) -> None:
    response = client.get("/api/v1/no-such-thing", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["errors"] and list(body["errors"]) == ["__all__"]
    assert "<html" not in response.content.decode()
