"""Staff sessions end after 30 idle minutes, 8 hours after sign-in, or when 2FA is gone."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.management import call_command

HOME = "/account/"
LOGIN = "/account/login/"
START = datetime.datetime(2026, 3, 2, 8, 0, 0, tzinfo=datetime.UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, login, registrar, time_machine):
    time_machine.move_to(START, tick=False)
    login(client, registrar)
    return client


def test_a_session_survives_29_idle_minutes(signed_in, time_machine) -> None:
    time_machine.shift(datetime.timedelta(minutes=29))
    assert signed_in.get(HOME).status_code == 200


def test_a_session_ends_after_30_idle_minutes(signed_in, time_machine) -> None:
    time_machine.shift(datetime.timedelta(minutes=30, seconds=1))
    response = signed_in.get(HOME)
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)
    assert SESSION_KEY not in signed_in.session
    # The login page says why.
    page = signed_in.get(response["Location"]).content.decode()
    assert "Your session has ended. Please sign in again." in page
    # Only once.
    assert "Your session has ended" not in signed_in.get(LOGIN).content.decode()


def test_activity_keeps_a_session_alive_until_eight_hours(signed_in, time_machine) -> None:
    for _ in range(23):  # every 20 minutes for 7 h 40 min
        time_machine.shift(datetime.timedelta(minutes=20))
        assert signed_in.get(HOME).status_code == 200
    time_machine.shift(datetime.timedelta(minutes=19, seconds=59))  # 7:59:59
    assert signed_in.get(HOME).status_code == 200
    time_machine.shift(datetime.timedelta(seconds=2))  # 8:00:01
    assert signed_in.get(HOME).status_code == 302
    assert SESSION_KEY not in signed_in.session


def test_the_limits_come_from_settings(signed_in, settings, time_machine) -> None:
    settings.QUORUM_SESSION_IDLE_SECONDS = 120
    time_machine.shift(121)
    assert signed_in.get(HOME).status_code == 302


def test_a_session_not_opened_by_the_two_steps_is_ended(client, registrar) -> None:
    client.force_login(registrar)
    response = client.get(HOME)
    assert response.status_code == 302
    assert SESSION_KEY not in client.session


def test_resetting_2fa_ends_the_users_open_sessions(signed_in) -> None:
    assert signed_in.get(HOME).status_code == 200
    call_command("users", "reset-2fa", "registrar")
    assert signed_in.get(HOME).status_code == 302
    assert SESSION_KEY not in signed_in.session


def test_the_public_pages_do_not_touch_sessions(client, db) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert "sessionid" not in response.cookies


def test_the_session_cookie_is_httponly_lax_and_ends_with_the_absolute_limit(
    signed_in, settings
) -> None:
    cookie = signed_in.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert settings.SESSION_COOKIE_AGE == settings.QUORUM_SESSION_ABSOLUTE_SECONDS == 8 * 3600
    assert settings.QUORUM_SESSION_IDLE_SECONDS == 30 * 60


@pytest.mark.django_db(transaction=True)  # the ASGI handler's thread has its own connection
def test_an_async_stack_expires_sessions_too(signed_in, time_machine) -> None:
    import asyncio
    import concurrent.futures

    from asgiref.sync import sync_to_async
    from django.db import connections
    from django.test import AsyncClient

    browser = AsyncClient()
    browser.cookies = signed_in.cookies

    def visits() -> tuple[int, int]:
        try:
            before = asyncio.run(browser.get(HOME)).status_code
            time_machine.shift(datetime.timedelta(minutes=31))
            return before, asyncio.run(browser.get(HOME)).status_code
        finally:
            # The handler's worker thread keeps its connection: close it, or the test database
            # cannot be dropped.
            asyncio.run(sync_to_async(connections.close_all)())

    # In a thread of its own: a session's browser (Playwright's sync API) may keep an event
    # loop running in this one, and asyncio.run refuses to start inside a running loop.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        assert pool.submit(visits).result() == (200, 302)
