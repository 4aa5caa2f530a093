"""Signing in takes a password and then a TOTP code; either alone gets nobody in."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

LOGIN = "/account/login/"
VERIFY = "/account/login/verify/"
HOME = "/account/"

pytestmark = pytest.mark.django_db


def test_the_urls_are_where_others_expect_them() -> None:
    assert reverse("accounts:login") == LOGIN
    assert reverse("accounts:verify") == VERIFY
    assert reverse("accounts:setup") == "/account/2fa/setup/"
    assert reverse("accounts:logout") == "/account/logout/"
    assert reverse("accounts:reauth") == "/account/reauth/"
    assert reverse("accounts:password_change") == "/account/password/"
    assert reverse("accounts:home") == HOME


def test_password_then_code_signs_in_and_verifies(client, registrar, cast_password, code) -> None:
    response = client.post(LOGIN, {"username": "registrar", "password": cast_password})
    assert response.status_code == 302
    assert response["Location"] == VERIFY
    # Half-way: the session is not authenticated yet, so no view lets it in.
    assert SESSION_KEY not in client.session
    assert client.get(HOME).status_code == 302

    response = client.post(VERIFY, {"code": code(registrar)})
    assert response.status_code == 302
    assert response["Location"] == HOME

    response = client.get(HOME)
    assert response.status_code == 200
    user = response.wsgi_request.user
    assert user == registrar
    assert user.is_verified()
    assert "Signed in as registrar" in response.content.decode()  # the header names the user
    assert "registrar" in response.content.decode()
    registrar.refresh_from_db()
    assert registrar.last_login is not None


def test_a_code_typed_with_a_space_is_accepted(client, organiser_alice, cast_password, code):
    client.post(LOGIN, {"username": "organiser-alice", "password": cast_password})
    typed = code(organiser_alice)
    response = client.post(VERIFY, {"code": f"{typed[:3]} {typed[3:]}"})
    assert response.status_code == 302
    assert client.get(HOME).status_code == 200


def test_the_login_helper_signs_every_member_of_the_cast_in(
    login,
    registrar,
    operator,
    organiser_alice,
    organiser_bob,
    authority_staff_de,
    authority_staff_fr,
) -> None:
    from django.test import Client

    for user in (
        registrar,
        operator,
        organiser_alice,
        organiser_bob,
        authority_staff_de,
        authority_staff_fr,
    ):
        browser = Client()
        login(browser, user)
        assert browser.get(HOME).wsgi_request.user == user


def test_it_goes_to_next_after_both_steps(client, organiser_bob, cast_password, code) -> None:
    response = client.get(LOGIN, {"next": "/account/password/"})
    assert 'name="next" value="/account/password/"' in response.content.decode()
    client.post(
        LOGIN,
        {"username": "organiser-bob", "password": cast_password, "next": "/account/password/"},
    )
    response = client.post(VERIFY, {"code": code(organiser_bob)})
    assert response["Location"] == "/account/password/"


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)", "\\\\evil"]
)
def test_it_never_sends_anyone_to_another_site(
    client, organiser_bob, cast_password, code, next_url
) -> None:
    client.post(LOGIN, {"username": "organiser-bob", "password": cast_password, "next": next_url})
    response = client.post(VERIFY, {"code": code(organiser_bob)})
    assert response["Location"] == HOME


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(client, registrar) -> None:
    wrong = client.post(LOGIN, {"username": "registrar", "password": "not the password"})
    unknown = client.post(LOGIN, {"username": "nobody", "password": "not the password"})
    assert wrong.status_code == unknown.status_code == 422
    message = "The username or the password is not right."
    assert message in wrong.content.decode()
    assert message in unknown.content.decode()
    assert SESSION_KEY not in client.session


def test_an_inactive_user_cannot_sign_in(client, registrar, cast_password) -> None:
    registrar.is_active = False
    registrar.save()
    response = client.post(LOGIN, {"username": "registrar", "password": cast_password})
    assert response.status_code == 422


def test_a_wrong_code_is_refused_and_a_right_one_then_works(
    client, registrar, cast_password, code, time_machine
) -> None:
    time_machine.move_to(datetime.datetime(2026, 3, 2, 9, 0, 0, tzinfo=datetime.UTC), tick=False)
    client.post(LOGIN, {"username": "registrar", "password": cast_password})
    right = code(registrar)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    response = client.post(VERIFY, {"code": wrong})
    assert response.status_code == 422
    assert "This code is not right, or it was already used." in response.content.decode()
    assert SESSION_KEY not in client.session

    # django-otp makes the device wait 1 s after a failure (then 2, 4, 8 … s).
    response = client.post(VERIFY, {"code": right})
    assert response.status_code == 429
    time_machine.shift(2)
    response = client.post(VERIFY, {"code": right})
    assert response.status_code == 302
    assert client.get(HOME).status_code == 200


def test_a_code_works_only_once(client, registrar, cast_password, code, time_machine) -> None:
    from django.test import Client

    time_machine.move_to(datetime.datetime(2026, 3, 2, 9, 0, 10, tzinfo=datetime.UTC), tick=False)
    used = code(registrar)
    client.post(LOGIN, {"username": "registrar", "password": cast_password})
    assert client.post(VERIFY, {"code": used}).status_code == 302

    eavesdropper = Client()
    eavesdropper.post(LOGIN, {"username": "registrar", "password": cast_password})
    response = eavesdropper.post(VERIFY, {"code": used})
    assert response.status_code == 422
    assert SESSION_KEY not in eavesdropper.session


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "abcdef", "12 34 5x", "٣٤٥٦٧٨"])
def test_a_malformed_code_is_explained(client, registrar, cast_password, typed) -> None:
    client.post(LOGIN, {"username": "registrar", "password": cast_password})
    response = client.post(VERIFY, {"code": typed})
    assert response.status_code == 422
    body = response.content.decode()
    assert 'href="#id_code"' in body
    assert 'aria-invalid="true"' in body


def test_the_code_step_needs_the_password_step_first(client, registrar, code) -> None:
    response = client.post(VERIFY, {"code": code(registrar)})
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert client.get(VERIFY)["Location"] == LOGIN


def test_the_password_step_expires_after_ten_minutes(
    client, registrar, cast_password, code, time_machine
) -> None:
    time_machine.move_to(datetime.datetime(2026, 3, 2, 9, 0, 0, tzinfo=datetime.UTC), tick=False)
    client.post(LOGIN, {"username": "registrar", "password": cast_password})
    time_machine.shift(datetime.timedelta(minutes=10, seconds=1))
    response = client.post(VERIFY, {"code": code(registrar)})
    assert response["Location"] == LOGIN
    assert SESSION_KEY not in client.session


def test_five_wrong_codes_send_you_back_to_the_password(
    client, registrar, cast_password, time_machine
) -> None:
    time_machine.move_to(datetime.datetime(2026, 3, 2, 9, 0, 0, tzinfo=datetime.UTC), tick=False)
    client.post(LOGIN, {"username": "registrar", "password": cast_password})
    for attempt in range(5):
        time_machine.shift(20)  # past django-otp's growing delay (1, 2, 4, 8, 16 s)
        response = client.post(VERIFY, {"code": "000000"})
        assert response.status_code == 422, attempt
    assert "Too many wrong codes. Sign in again." in response.content.decode()
    assert client.get(VERIFY)["Location"] == LOGIN


def test_the_session_key_changes_at_each_step(client, registrar, cast_password, code) -> None:
    client.get(LOGIN)
    client.session.save()
    planted = client.session.session_key
    client.post(LOGIN, {"username": "registrar", "password": cast_password})
    after_password = client.session.session_key
    client.post(VERIFY, {"code": code(registrar)})
    assert len({planted, after_password, client.session.session_key}) == 3


def test_a_signed_in_user_visiting_login_goes_home(client, login, registrar) -> None:
    login(client, registrar)
    response = client.get(LOGIN)
    assert response.status_code == 302
    assert response["Location"] == HOME


def test_sign_out_takes_a_post(client, login, registrar) -> None:
    login(client, registrar)
    assert client.get("/account/logout/").status_code == 405
    assert client.get(HOME).status_code == 200
    response = client.post("/account/logout/", follow=True)
    assert response.redirect_chain[-1][0] == LOGIN
    assert "You have signed out." in response.content.decode()
    assert client.get(HOME).status_code == 302


def test_sign_in_pages_are_never_cached(client, registrar, cast_password) -> None:
    for response in (
        client.get(LOGIN),
        client.post(LOGIN, {"username": "registrar", "password": cast_password}, follow=True),
    ):
        assert "no-store" in response["Cache-Control"]


def test_the_login_form_is_accessible(client) -> None:
    body = client.get(LOGIN).content.decode()
    assert '<label class="govuk-label govuk-label--s" for="id_username">' in body
    assert '<label class="govuk-label govuk-label--s" for="id_password">' in body
    assert 'autocomplete="username"' in body
    assert 'autocomplete="current-password"' in body
    assert "<script" not in body.split("</main>")[0]
    assert "style=" not in body


def test_wrong_input_is_summarised_with_links_to_the_fields(client, db) -> None:
    response = client.post(LOGIN, {"username": "", "password": ""})
    assert response.status_code == 422
    body = response.content.decode()
    assert 'class="govuk-error-summary"' in body
    assert 'href="#id_username"' in body
    assert 'href="#id_password"' in body
    assert 'id="id_username_error"' in body
    assert 'aria-describedby="id_username_error"' in body


def test_the_code_form_is_accessible(client, registrar, cast_password) -> None:
    client.post(LOGIN, {"username": "registrar", "password": cast_password})
    body = client.get(VERIFY).content.decode()
    assert '<label class="govuk-label govuk-label--s" for="id_code">' in body
    assert 'autocomplete="one-time-code"' in body
    assert 'inputmode="numeric"' in body


def test_the_header_snippet_names_the_user_and_signs_out_with_a_post(rf, registrar) -> None:
    from django.contrib.auth.models import AnonymousUser
    from django.template.loader import render_to_string

    request = rf.get("/")
    request.user = registrar
    html = render_to_string("accounts/_header.html", request=request)
    assert "Signed in as registrar" in html
    assert 'action="/account/logout/" method="post"' in html
    assert "csrfmiddlewaretoken" in html
    request.user = AnonymousUser()
    anonymous = render_to_string("accounts/_header.html", request=request)
    assert "Signed in as" not in anonymous and "csrfmiddlewaretoken" not in anonymous
    assert 'class="sign-in-link" href="/account/login/"' in anonymous


def test_a_refused_attempt_shows_only_why(client, registrar) -> None:
    for _ in range(5):
        client.post(LOGIN, {"username": "registrar", "password": "wrong"})
    response = client.post(LOGIN, {"username": "registrar", "password": "wrong"})
    assert response.status_code == 429
    body = response.content.decode()
    assert "Too many failed attempts." in body
    assert "is not right" not in body
    assert 'value="registrar"' not in body
