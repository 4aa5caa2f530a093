"""Guards for other rooms' views: signed in with 2FA, recently re-verified, holding a role."""

from __future__ import annotations

import datetime
import types

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.urls import include, path

from quorum.accounts.decorators import (
    login_and_2fa_required,
    recently_verified,
    require_recent_verification,
    role_required,
)
from quorum.accounts.roles import OPERATOR, REGISTRAR

START = datetime.datetime(2026, 3, 2, 8, 0, 0, tzinfo=datetime.UTC)
JSON = {"HTTP_ACCEPT": "application/json"}

pytestmark = pytest.mark.django_db


@login_and_2fa_required
def protected(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"hello {request.user.get_username()}")


@require_recent_verification(minutes=10)
def sensitive(request: HttpRequest) -> HttpResponse:
    return HttpResponse("sensitive done")


@require_recent_verification
def sensitive_bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse("bare done")


@role_required(REGISTRAR)
def registrar_only(request: HttpRequest) -> HttpResponse:
    return HttpResponse("registrar page")


@login_and_2fa_required
async def protected_async(request: HttpRequest) -> HttpResponse:
    return HttpResponse("async hello")


def fresh(request: HttpRequest) -> HttpResponse:
    return HttpResponse("fresh" if recently_verified(request, 5) else "stale")


@role_required(OPERATOR)
def operator_only(request: HttpRequest) -> HttpResponse:
    return HttpResponse("operator page")


urls = types.ModuleType("accounts_test_urls")
urls.urlpatterns = [  # type: ignore[attr-defined]
    path("t/protected/", protected),
    path("t/sensitive/", sensitive),
    path("t/sensitive-bare/", sensitive_bare),
    path("t/registrar/", registrar_only),
    path("t/async/", protected_async),
    path("t/fresh/", fresh),
    path("t/operator/", operator_only),
    path("", include("quorum.urls")),
]


@pytest.fixture(autouse=True)
def _test_urls(settings):
    settings.ROOT_URLCONF = urls


@pytest.fixture
def signed_in(client, login, registrar, time_machine):
    time_machine.move_to(START, tick=False)
    login(client, registrar)
    return client


@pytest.mark.parametrize("url", ["/t/protected/", "/t/sensitive/", "/t/registrar/", "/t/operator/"])
def test_anonymous_browsers_are_sent_to_sign_in(client, url) -> None:
    response = client.get(url, {"x": "1"})
    assert response.status_code == 302
    assert response["Location"] == f"/account/login/?next={url}%3Fx%3D1"


@pytest.mark.parametrize("url", ["/t/protected/", "/t/sensitive/", "/t/registrar/", "/t/operator/"])
def test_anonymous_api_requests_get_401_json(client, url) -> None:
    response = client.get(url, **JSON)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "errors": {
            "__all__": ["Sign in with your password and your authenticator code to continue."]
        }
    }


def test_a_browser_that_also_accepts_json_is_redirected(client) -> None:
    response = client.get("/t/protected/", HTTP_ACCEPT="text/html,application/json;q=0.9")
    assert response.status_code == 302


def test_a_signed_in_user_passes(signed_in) -> None:
    assert signed_in.get("/t/protected/").content == b"hello registrar"


def test_async_views_are_guarded_too(client, signed_in) -> None:
    from django.test import Client

    assert Client().get("/t/async/").status_code == 302
    assert signed_in.get("/t/async/").content == b"async hello"


def test_fresh_verification_passes(signed_in) -> None:
    assert signed_in.get("/t/sensitive/").content == b"sensitive done"
    assert signed_in.get("/t/fresh/").content == b"fresh"


def test_stale_verification_redirects_to_reauth_and_back(
    signed_in, registrar, cast_password, code, time_machine
) -> None:
    time_machine.shift(datetime.timedelta(minutes=10, seconds=1))
    response = signed_in.get("/t/sensitive/", {"a": "b"})
    assert response.status_code == 302
    assert response["Location"] == "/account/reauth/?next=%2Ft%2Fsensitive%2F%3Fa%3Db"

    page = signed_in.get(response["Location"])
    assert page.status_code == 200
    body = page.content.decode()
    assert 'name="next" value="/t/sensitive/?a=b"' in body
    assert 'autocomplete="current-password"' in body
    assert 'autocomplete="one-time-code"' in body

    response = signed_in.post(
        "/account/reauth/",
        {"password": cast_password, "code": code(registrar), "next": "/t/sensitive/?a=b"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/t/sensitive/?a=b"
    assert signed_in.get("/t/sensitive/").content == b"sensitive done"


def test_the_window_is_per_view(signed_in, time_machine) -> None:
    time_machine.shift(datetime.timedelta(minutes=6))
    assert signed_in.get("/t/fresh/").content == b"stale"  # 5 minutes
    assert signed_in.get("/t/sensitive/").status_code == 200  # 10 minutes
    assert signed_in.get("/t/sensitive-bare/").status_code == 200  # default 10 minutes


def test_stale_api_requests_get_401_json(signed_in, time_machine) -> None:
    time_machine.shift(datetime.timedelta(minutes=11))
    response = signed_in.get("/t/sensitive/", **JSON)
    assert response.status_code == 401
    assert response.json() == {
        "errors": {
            "__all__": ["Confirm it is you: enter your password and a fresh authenticator code."]
        }
    }
    assert signed_in.get("/t/sensitive/")["Location"].startswith("/account/reauth/")


def test_reauth_refuses_a_wrong_password_or_code(
    signed_in, cast_password, code, registrar, time_machine
) -> None:
    time_machine.shift(datetime.timedelta(minutes=11))
    response = signed_in.post("/account/reauth/", {"password": "wrong", "code": code(registrar)})
    assert response.status_code == 422
    assert "The password or the code is not right." in response.content.decode()
    response = signed_in.post("/account/reauth/", {"password": cast_password, "code": "000000"})
    assert response.status_code == 422
    assert signed_in.get("/t/sensitive/").status_code == 302


def test_reauth_never_goes_to_another_site(signed_in, cast_password, code, registrar) -> None:
    response = signed_in.post(
        "/account/reauth/",
        {"password": cast_password, "code": code(registrar), "next": "https://evil.example/"},
    )
    assert response["Location"] == "/account/"


def test_reauth_is_throttled(signed_in, registrar, time_machine) -> None:
    for _ in range(5):
        time_machine.shift(20)
        signed_in.post("/account/reauth/", {"password": "wrong", "code": "000000"})
    response = signed_in.post("/account/reauth/", {"password": "wrong", "code": "000000"})
    assert response.status_code == 429
    assert "Retry-After" in response


def test_reauth_needs_a_signed_in_user(client) -> None:
    assert client.get("/account/reauth/")["Location"].startswith("/account/login/")


def test_roles_are_checked(client, login, signed_in, organiser_alice, operator) -> None:
    from django.test import Client

    assert signed_in.get("/t/registrar/").content == b"registrar page"
    assert signed_in.get("/t/operator/").status_code == 403

    alice = Client()
    login(alice, organiser_alice)
    assert alice.get("/t/registrar/").status_code == 403
    response = alice.get("/t/registrar/", **JSON)
    assert response.status_code == 403
    assert response.json() == {
        "errors": {"__all__": ["Your account does not have the role needed for this page."]}
    }

    ops = Client()
    login(ops, operator)
    assert ops.get("/t/operator/").content == b"operator page"


def test_recently_verified_is_false_without_a_user() -> None:
    request = RequestFactory().get("/")
    request.session = {}
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    assert recently_verified(request, 10) is False
