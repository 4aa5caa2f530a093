"""Canaries: no password, code, TOTP secret or raw client address in logs, audit, counters."""

from __future__ import annotations

import datetime
import logging
from io import StringIO

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client

from quorum.accounts.roles import user_create
from quorum.core.models import AuditEntry, SignInCounter

CANARY_PASSWORD = "canary-passphrase-7f3a9c1e"
CANARY_WRONG = "canary-wrong-b81d44e0"
CANARY_ADDRESS = "203.0.113.77"
START = datetime.datetime(2026, 3, 2, 8, 0, 0, tzinfo=datetime.UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _database_store(settings):
    """The sign-in counts to search are the database's (whatever the test run's REDIS_URL)."""
    from quorum.accounts.throttle import reset_throttle_store

    settings.REDIS_URL = None
    reset_throttle_store()
    yield
    reset_throttle_store()


def test_nothing_secret_is_written_anywhere(caplog, code, time_machine) -> None:
    time_machine.move_to(START, tick=False)
    caplog.set_level(logging.DEBUG)
    user = user_create(
        username="canary", email="canary@example.eu", password=CANARY_PASSWORD, roles=["operator"]
    )
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=user, name="default", confirmed=True)
    browser = Client(REMOTE_ADDR=CANARY_ADDRESS)
    used_codes = []
    # A wrong password, a wrong code, a right sign-in, a password change, a re-auth.
    browser.post("/account/login/", {"username": "canary", "password": CANARY_WRONG})
    browser.post("/account/login/", {"username": "canary", "password": CANARY_PASSWORD})
    browser.post("/account/login/verify/", {"code": "000000"})
    time_machine.shift(5)
    used_codes.append(code(user))
    browser.post("/account/login/verify/", {"code": used_codes[-1]})
    time_machine.shift(30)
    used_codes.append(code(user))
    new_password = CANARY_PASSWORD + "-new"
    response = browser.post(
        "/account/password/",
        {
            "current_password": CANARY_PASSWORD,
            "new_password1": new_password,
            "new_password2": new_password,
            "code": used_codes[-1],
        },
    )
    assert response.status_code == 302
    time_machine.shift(30)
    used_codes.append(code(user))
    browser.post("/account/reauth/", {"password": CANARY_WRONG, "code": used_codes[-1]})
    browser.post("/account/logout/")
    out = StringIO()
    call_command("users", "reset-2fa", "canary", stdout=out)

    logs = "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records)
    audit = "\n".join(f"{e.action} {e.actor_label} {e.data!r}" for e in AuditEntry.objects.all())
    local_cache = getattr(cache, "_cache", None)  # the in-process cache (no REDIS_URL)
    stored_cache = repr(dict(local_cache)) if isinstance(local_cache, dict) else ""
    counters = repr(list(SignInCounter.objects.values_list("key", "count", "expires_at")))
    assert SignInCounter.objects.exists()  # not blind: the address's failures are counted
    sessions = "\n".join(s.session_data + repr(s.get_decoded()) for s in Session.objects.all())
    logs += out.getvalue()
    secrets = [CANARY_PASSWORD, CANARY_WRONG, new_password, CANARY_ADDRESS, device.key, *used_codes]
    for where, text in {
        "logs": logs,
        "audit": audit,
        "cache": stored_cache,
        "sign-in counters": counters,
        "sessions": sessions,
    }.items():
        for secret in secrets:
            assert secret not in text, f"{secret!r} found in {where}"
    # What the logs do say: who, and a keyed hash of where from.
    assert "sign-in failed" in logs and "username='canary'" in logs
    assert "quorum.account.created" in audit and "quorum.account.2fa_reset" in audit
