"""Staff accounts take no control characters: not by command, not by service, not at sign-in."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from quorum.accounts.forms import LoginForm
from quorum.accounts.roles import user_create
from quorum.core.text import CONTROL_CHARACTERS_MESSAGE

PASSWORD = "an operator's long passphrase"
# Django's own e-mail check accepts a quoted local part with control characters in it.
ESCAPED_EMAIL = '"c\x1b[2J"@example.eu'

pytestmark = pytest.mark.django_db


def test_the_users_command_refuses_an_email_address_with_a_control_character(tmp_path) -> None:
    secret = tmp_path / "password"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    with pytest.raises(CommandError, match="Remove control characters"):
        call_command(
            "users",
            "create",
            "commission",
            "--email",
            ESCAPED_EMAIL,
            "--password-file",
            str(secret),
            stdout=StringIO(),
        )
    assert not User.objects.exists()


def test_the_service_refuses_it_too_for_a_door_that_forgets() -> None:
    with pytest.raises(ValidationError) as refused:
        user_create(username="commission", email=ESCAPED_EMAIL, password=PASSWORD)
    assert refused.value.message_dict == {"email": [str(CONTROL_CHARACTERS_MESSAGE)]}
    assert not User.objects.exists()


def test_a_username_with_a_control_character_is_refused_by_the_sign_in_form() -> None:
    form = LoginForm(data={"username": "reg\x1b[8mistrar", "password": PASSWORD})
    assert not form.is_valid()
    assert form.errors["username"] == [str(CONTROL_CHARACTERS_MESSAGE)]
