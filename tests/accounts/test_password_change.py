"""Changing a password takes the current one and a TOTP code; other sessions end."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client

from quorum.core.models import AuditEntry

URL = "/account/password/"
NEW = "a brand new passphrase for 2026"
START = datetime.datetime(2026, 3, 2, 8, 0, 0, tzinfo=datetime.UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, login, registrar, time_machine):
    time_machine.move_to(START, tick=False)
    login(client, registrar)
    return client


def test_it_needs_a_signed_in_user(client) -> None:
    assert client.get(URL)["Location"].startswith("/account/login/")


def test_the_form_is_accessible(signed_in) -> None:
    body = signed_in.get(URL).content.decode()
    for field in ("current_password", "new_password1", "new_password2", "code"):
        assert f'<label class="govuk-label govuk-label--s" for="id_{field}">' in body
    assert 'autocomplete="current-password"' in body
    assert 'autocomplete="new-password"' in body
    assert 'autocomplete="one-time-code"' in body
    assert 'id="id_new_password1_helptext"' in body


def test_it_changes_the_password_with_the_current_one_and_a_code(
    signed_in, registrar, cast_password, code, login, time_machine
) -> None:
    elsewhere = Client()
    time_machine.shift(30)
    login(elsewhere, registrar)
    time_machine.shift(30)
    response = signed_in.post(
        URL,
        {
            "current_password": cast_password,
            "new_password1": NEW,
            "new_password2": NEW,
            "code": code(registrar),
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/account/"
    registrar.refresh_from_db()
    assert registrar.check_password(NEW)
    # This session stays; the other one ends.
    assert "Your password was changed." in signed_in.get("/account/").content.decode()
    assert elsewhere.get("/account/").status_code == 302
    entry = AuditEntry.objects.get(action="quorum.account.password_changed")
    assert entry.actor == registrar
    assert NEW not in str(entry.data)


def test_a_wrong_current_password_changes_nothing(signed_in, registrar, cast_password, code):
    response = signed_in.post(
        URL,
        {
            "current_password": "not it",
            "new_password1": NEW,
            "new_password2": NEW,
            "code": code(registrar),
        },
    )
    assert response.status_code == 422
    assert "The password or the code is not right." in response.content.decode()
    registrar.refresh_from_db()
    assert registrar.check_password(cast_password)


def test_a_wrong_code_changes_nothing(signed_in, registrar, cast_password) -> None:
    response = signed_in.post(
        URL,
        {
            "current_password": cast_password,
            "new_password1": NEW,
            "new_password2": NEW,
            "code": "000000",
        },
    )
    assert response.status_code == 422
    registrar.refresh_from_db()
    assert registrar.check_password(cast_password)


@pytest.mark.parametrize(
    ("new1", "new2", "message"),
    [
        ("short", "short", "This password is too short."),
        ("password1234", "password1234", "This password is too common."),
        (NEW, NEW + "x", "The two new passwords are not the same."),
    ],
)
def test_a_weak_or_mismatched_new_password_is_explained(
    signed_in, registrar, cast_password, code, new1, new2, message
) -> None:
    response = signed_in.post(
        URL,
        {
            "current_password": cast_password,
            "new_password1": new1,
            "new_password2": new2,
            "code": code(registrar),
        },
    )
    assert response.status_code == 422
    assert message in response.content.decode()
    assert 'href="#id_new_password2"' in response.content.decode()
    registrar.refresh_from_db()
    assert registrar.check_password(cast_password)
