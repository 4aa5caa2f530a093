"""A user without an authenticator is sent to set one up, and can do nothing else until then."""

from __future__ import annotations

import binascii
import datetime
import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from quorum.core.models import AuditEntry

LOGIN = "/account/login/"
VERIFY = "/account/login/verify/"
SETUP = "/account/2fa/setup/"
HOME = "/account/"

pytestmark = pytest.mark.django_db


def _secret(body: str) -> bytes:
    """The key as the page shows it in text (base32, in groups)."""
    import base64

    text = re.search(r'id="totp-secret"><code>([A-Z2-7 ]+)</code>', body).group(1)
    return base64.b32decode(text.replace(" ", "") + "=" * (-len(text.replace(" ", "")) % 8))


def _code(key: bytes, *, offset: int = 0) -> str:
    totp = TOTP(key)
    totp.drift = offset
    return f"{totp.token():06d}"


@pytest.fixture
def newcomer(make_user):
    return make_user("newcomer", enrolled=False)


def _password_step(client: Client, password: str) -> None:
    response = client.post(LOGIN, {"username": "newcomer", "password": password})
    assert response.status_code == 302
    assert response["Location"] == SETUP


def test_after_the_password_a_user_without_a_device_must_enrol(
    client, newcomer, cast_password
) -> None:
    _password_step(client, cast_password)
    # Nothing else is open to them: they are not signed in.
    assert SESSION_KEY not in client.session
    assert client.get(HOME)["Location"].startswith(LOGIN)
    assert client.get(VERIFY)["Location"] == SETUP


def test_the_setup_page_shows_a_qr_code_made_here_and_the_key_in_text(
    client, newcomer, cast_password
) -> None:
    _password_step(client, cast_password)
    response = client.get(SETUP)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<svg " in body
    assert 'role="img"' in body
    assert "<title>" in body
    # Nothing from another origin, nothing inline that the CSP would block.
    assert "<img" not in body
    assert "http://" not in body.split("<footer")[0].replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in body
    assert "style=" not in body
    assert "<script" not in body
    assert "'self'" in response["Content-Security-Policy"]
    assert len(_secret(body)) == 20
    assert 'autocomplete="one-time-code"' in body
    assert "no-store" in response["Cache-Control"]


def test_the_confirm_step_needs_a_right_code(client, newcomer, cast_password, time_machine) -> None:
    time_machine.move_to(datetime.datetime(2026, 3, 2, 9, 0, 0, tzinfo=datetime.UTC), tick=False)
    _password_step(client, cast_password)
    key = _secret(client.get(SETUP).content.decode())

    response = client.post(SETUP, {"code": _code(key, offset=5)})
    assert response.status_code == 422
    assert "This code is not right." in response.content.decode()
    assert not TOTPDevice.objects.filter(user=newcomer).exists()
    assert SESSION_KEY not in client.session

    response = client.post(SETUP, {"code": _code(key)})
    assert response.status_code == 302
    assert response["Location"] == HOME
    device = TOTPDevice.objects.get(user=newcomer)
    assert device.confirmed
    assert binascii.unhexlify(device.key) == key
    assert client.get(HOME).wsgi_request.user.is_verified()
    entry = AuditEntry.objects.get(action="quorum.account.2fa_enrolled")
    assert entry.subject_id == str(newcomer.pk)
    assert device.key not in str(entry.data)


def test_the_code_that_confirmed_the_device_cannot_sign_in_again(
    client, newcomer, cast_password, time_machine
) -> None:
    time_machine.move_to(datetime.datetime(2026, 3, 2, 9, 0, 0, tzinfo=datetime.UTC), tick=False)
    _password_step(client, cast_password)
    key = _secret(client.get(SETUP).content.decode())
    used = _code(key)
    assert client.post(SETUP, {"code": used}).status_code == 302

    other = Client()
    response = other.post(LOGIN, {"username": "newcomer", "password": cast_password})
    assert response["Location"] == VERIFY
    assert other.post(VERIFY, {"code": used}).status_code == 422


def test_each_enrolling_session_gets_its_own_key(client, newcomer, cast_password) -> None:
    # Whoever else knows the password cannot learn the key the user is about to confirm.
    _password_step(client, cast_password)
    other = Client()
    _password_step(other, cast_password)
    first = _secret(client.get(SETUP).content.decode())
    assert _secret(client.get(SETUP).content.decode()) == first  # stable on reload
    assert _secret(other.get(SETUP).content.decode()) != first


def test_the_key_is_not_stored_before_it_is_confirmed(client, newcomer, cast_password) -> None:
    _password_step(client, cast_password)
    client.get(SETUP)
    assert not TOTPDevice.objects.filter(user=newcomer).exists()


def test_setup_without_the_password_step_goes_to_login(client, db) -> None:
    assert client.get(SETUP)["Location"] == LOGIN


def test_a_user_with_a_device_is_not_offered_another(client, registrar, cast_password) -> None:
    client.post(LOGIN, {"username": "registrar", "password": cast_password})
    assert client.get(SETUP)["Location"] == VERIFY


def test_a_signed_in_user_has_nothing_to_set_up(client, login, registrar) -> None:
    login(client, registrar)
    assert client.get(SETUP)["Location"] == HOME


def test_enrolment_waits_half_an_hour_for_an_app_to_be_installed(
    client, newcomer, cast_password, time_machine
) -> None:
    time_machine.move_to(datetime.datetime(2026, 3, 2, 9, 0, 0, tzinfo=datetime.UTC), tick=False)
    _password_step(client, cast_password)
    key = _secret(client.get(SETUP).content.decode())
    time_machine.shift(datetime.timedelta(minutes=25))
    assert client.post(SETUP, {"code": _code(key)}).status_code == 302


def test_two_tabs_confirming_at_once_make_one_device(
    client, newcomer, cast_password, time_machine
) -> None:
    time_machine.move_to(datetime.datetime(2026, 3, 2, 9, 0, 0, tzinfo=datetime.UTC), tick=False)
    other = Client()
    _password_step(client, cast_password)
    _password_step(other, cast_password)
    first = _secret(client.get(SETUP).content.decode())
    second = _secret(other.get(SETUP).content.decode())
    assert client.post(SETUP, {"code": _code(first)}).status_code == 302
    response = other.post(SETUP, {"code": _code(second)})
    assert response["Location"] == VERIFY
    assert TOTPDevice.objects.filter(user=newcomer).count() == 1
