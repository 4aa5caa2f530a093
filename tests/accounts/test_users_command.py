"""`quorum users …`: create, list, set-roles, reset-2fa; each change audited with actor "cli"."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django_otp.plugins.otp_totp.models import TOTPDevice

from quorum.accounts.roles import is_operator, is_registrar
from quorum.core.models import AuditEntry

PASSWORD = "an operator's long passphrase"

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    call_command("users", *args, stdout=out)
    return out.getvalue()


def test_create_with_a_password_file(tmp_path) -> None:
    secret = tmp_path / "password"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    out = _run(
        "create",
        "commission",
        "--email",
        "c@example.eu",
        "--role",
        "registrar",
        "--password-file",
        str(secret),
    )
    assert "Created commission (roles: registrar)" in out
    user = User.objects.get(username="commission")
    assert user.check_password(PASSWORD)
    assert user.email == "c@example.eu"
    assert is_registrar(user)
    entry = AuditEntry.objects.get(action="quorum.account.created")
    assert entry.actor is None
    assert entry.actor_label == "cli"
    assert PASSWORD not in str(entry.data) and PASSWORD not in out


def test_create_asks_for_the_password_twice(monkeypatch) -> None:
    answers = iter([PASSWORD, PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    _run("create", "ops", "--email", "o@example.eu", "--role", "operator")
    assert is_operator(User.objects.get(username="ops"))


def test_create_refuses_two_different_passwords(monkeypatch) -> None:
    answers = iter([PASSWORD, PASSWORD + "!"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    with pytest.raises(CommandError, match="not the same"):
        _run("create", "ops", "--email", "o@example.eu")
    assert not User.objects.filter(username="ops").exists()


def test_create_refuses_a_weak_password_and_says_why(tmp_path) -> None:
    secret = tmp_path / "password"
    secret.write_text("short", encoding="utf-8")
    with pytest.raises(CommandError, match="password: This password is too short"):
        _run("create", "ops", "--email", "o@example.eu", "--password-file", str(secret))
    assert not User.objects.exists()
    assert not AuditEntry.objects.exists()


def test_create_refuses_an_unknown_role(tmp_path) -> None:
    with pytest.raises(CommandError):
        _run("create", "ops", "--email", "o@example.eu", "--role", "admin")


def test_create_without_a_role_makes_a_plain_user(tmp_path) -> None:
    secret = tmp_path / "password"
    secret.write_text(PASSWORD, encoding="utf-8")
    out = _run("create", "alice", "--email", "a@example.eu", "--password-file", str(secret))
    assert "roles: (none)" in out
    assert User.objects.get(username="alice").groups.count() == 0


def test_create_reports_an_unreadable_password_file(tmp_path) -> None:
    with pytest.raises(CommandError, match="Cannot read"):
        _run("create", "ops", "--email", "o@example.eu", "--password-file", str(tmp_path / "none"))


def test_list_shows_roles_and_2fa(registrar, operator, make_user) -> None:
    make_user("newcomer", enrolled=False)
    lines = _run("list").splitlines()
    assert lines[0].split() == ["username", "email", "roles", "2fa", "active", "last", "sign-in"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["registrar"][2:5] == ["registrar", "yes", "yes"]
    assert rows["operator"][2:5] == ["operator", "yes", "yes"]
    assert rows["newcomer"][2:5] == ["-", "no", "yes"]


def test_set_roles(organiser_alice) -> None:
    _run("set-roles", "organiser-alice", "--role", "registrar")
    assert is_registrar(User.objects.get(username="organiser-alice"))
    _run("set-roles", "organiser-alice")
    assert not is_registrar(User.objects.get(username="organiser-alice"))
    assert AuditEntry.objects.filter(action="quorum.account.roles_changed").count() == 2


def test_reset_2fa_removes_the_device_and_audits(registrar, client, cast_password) -> None:
    out = _run("reset-2fa", "registrar")
    assert "1 second-factor device(s) removed" in out
    assert not TOTPDevice.objects.filter(user=registrar).exists()
    entry = AuditEntry.objects.get(action="quorum.account.2fa_reset")
    assert entry.actor_label == "cli"
    assert entry.data == {"username": "registrar", "devices_removed": 1}
    # The next sign-in asks for a new enrolment.
    response = client.post("/account/login/", {"username": "registrar", "password": cast_password})
    assert response["Location"] == "/account/2fa/setup/"


@pytest.mark.parametrize("action", ["reset-2fa", "set-roles"])
def test_an_unknown_user_is_an_error(db, action) -> None:
    with pytest.raises(CommandError, match="No user named 'ghost'"):
        _run(action, "ghost")
