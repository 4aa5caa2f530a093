"""Sign-in attempts are counted per username and per client address; too many get a 429."""

from __future__ import annotations

import datetime
import logging

import pytest
import redis
from django.contrib.auth import SESSION_KEY
from django.db import OperationalError
from django.test import Client

from quorum.accounts import throttle
from quorum.core.models import SignInCounter

LOGIN = "/account/login/"
VERIFY = "/account/login/verify/"
HOME = "/account/"
ADDRESS_A = "198.51.100.7"
ADDRESS_B = "203.0.113.9"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _database_store(settings):
    """These tests move the clock and look into the counts: the store is the database's.

    (Redis measures windows by its own clock; the burst tests run against it too.)
    """
    settings.REDIS_URL = None
    throttle.reset_throttle_store()
    yield
    throttle.reset_throttle_store()


def _fail(client: Client, username: str, address: str = "127.0.0.1"):
    return client.post(
        LOGIN, {"username": username, "password": "wrong password"}, REMOTE_ADDR=address
    )


def _try(client: Client, username: str, password: str, address: str = "127.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_five_failures_for_a_username_lock_it_for_fifteen_minutes(
    client, registrar, cast_password, time_machine
) -> None:
    time_machine.move_to(datetime.datetime(2026, 3, 2, 9, 0, 0, tzinfo=datetime.UTC), tick=False)
    for _ in range(5):
        assert _fail(client, "registrar").status_code == 422

    # Even the right password is refused now, with a clear message and a Retry-After.
    response = _try(client, "registrar", cast_password)
    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    body = response.content.decode()
    assert "Too many failed attempts. Please wait 15 minutes and try again." in body
    assert SESSION_KEY not in client.session

    # From another address too: the username is what is locked.
    assert _try(Client(), "registrar", cast_password, ADDRESS_B).status_code == 429

    time_machine.shift(datetime.timedelta(minutes=15, seconds=1))
    assert _try(client, "registrar", cast_password).status_code == 302


def test_a_right_password_is_given_back_and_does_not_count(
    client, registrar, cast_password
) -> None:
    for _ in range(4):
        _fail(client, "registrar")
    assert _try(Client(), "registrar", cast_password).status_code == 302

    # The right password held one of the five places only while it was checked.
    assert _fail(client, "registrar").status_code == 422
    assert _fail(client, "registrar").status_code == 429


def test_a_refused_attempt_is_not_counted_against_the_username(
    settings, make_user, cast_password
) -> None:
    settings.QUORUM_LOGIN_MAX_FAILURES_PER_ADDRESS = 2
    make_user("victim")
    for number in range(2):
        _fail(Client(), f"guess-{number}", ADDRESS_A)
    for _ in range(10):  # the address is refused: none of these may lock the victim out
        assert _fail(Client(), "victim", ADDRESS_A).status_code == 429

    assert _try(Client(), "victim", cast_password, ADDRESS_B).status_code == 302


def test_the_username_count_ignores_case(client, registrar) -> None:
    for name in ("registrar", "Registrar", "REGISTRAR", "registrar ", "rEgistrar"):
        _fail(client, name)
    assert _fail(client, "registrar").status_code == 429


def test_an_address_with_too_many_failures_is_refused_and_others_are_not(
    settings, make_user, cast_password
) -> None:
    settings.QUORUM_LOGIN_MAX_FAILURES_PER_ADDRESS = 4
    make_user("victim")
    noisy = Client()
    for number in range(4):  # four different usernames: no username reaches its limit
        assert _fail(noisy, f"guess-{number}", ADDRESS_A).status_code == 422

    response = _try(noisy, "victim", cast_password, ADDRESS_A)
    assert response.status_code == 429
    assert "Retry-After" in response

    # Another address, the same user: signs in.
    quiet = Client()
    response = _try(quiet, "victim", cast_password, ADDRESS_B)
    assert response.status_code == 302
    assert response["Location"] == VERIFY


def test_an_ipv6_network_counts_as_one_client(settings, make_user, cast_password) -> None:
    settings.QUORUM_LOGIN_MAX_FAILURES_PER_ADDRESS = 2
    make_user("victim")
    _fail(Client(), "a", "2001:db8:1:2::1")
    _fail(Client(), "b", "2001:db8:1:2:ffff::9")
    assert _try(Client(), "victim", cast_password, "2001:db8:1:2::77").status_code == 429
    assert _try(Client(), "victim", cast_password, "2001:db8:1:3::1").status_code == 302


def test_behind_a_trusted_proxy_each_client_is_counted_and_a_spoofed_header_is_not(
    settings, make_user, cast_password
) -> None:
    from quorum.core.env import env_networks

    settings.QUORUM_TRUSTED_PROXIES = env_networks("P", environ={"P": "10.0.0.0/8"})
    settings.QUORUM_LOGIN_MAX_FAILURES_PER_ADDRESS = 2
    make_user("victim")

    def sign_in(password: str, peer: str, forwarded_for: str, username: str = "victim"):
        return Client().post(
            LOGIN,
            {"username": username, "password": password},
            REMOTE_ADDR=peer,
            HTTP_X_FORWARDED_FOR=forwarded_for,
        )

    for number in range(2):  # through one proxy, then another of the same chain
        sign_in("wrong password", "10.0.0.1", ADDRESS_A, f"guess-{number}")
    assert sign_in(cast_password, "10.0.0.2", ADDRESS_A).status_code == 429
    assert sign_in(cast_password, "10.0.0.1", ADDRESS_B).status_code == 302

    # Not a proxy: what it writes in the header is not who it is counted as.
    outsider = "192.0.2.50"
    for number in range(2):
        sign_in("wrong password", outsider, f"192.0.2.{60 + number}", f"other-{number}")
    assert sign_in(cast_password, outsider, "192.0.2.99").status_code == 429


def test_wrong_codes_count_towards_the_same_limit(
    client, registrar, cast_password, code, time_machine
) -> None:
    time_machine.move_to(datetime.datetime(2026, 3, 2, 9, 0, 0, tzinfo=datetime.UTC), tick=False)
    for _ in range(3):
        _fail(client, "registrar")
    assert _try(client, "registrar", cast_password).status_code == 302
    for _ in range(2):
        time_machine.shift(10)
        assert client.post(VERIFY, {"code": "000000"}).status_code == 422
    time_machine.shift(20)
    response = client.post(VERIFY, {"code": code(registrar)})
    assert response.status_code == 429
    assert SESSION_KEY not in client.session


def test_a_complete_sign_in_clears_the_username_count(
    client, registrar, cast_password, login
) -> None:
    for _ in range(4):
        _fail(client, "registrar")
    login(client, registrar)
    browser = Client()
    for _ in range(4):
        assert _fail(browser, "registrar").status_code == 422


def test_the_store_holds_neither_the_address_nor_the_username(registrar) -> None:
    client = Client()
    _fail(client, "registrar", ADDRESS_A)
    rows = list(SignInCounter.objects.values_list("key", "count", "expires_at"))
    assert len(rows) == 2  # the username's count and the address's
    stored = repr(rows)
    assert ADDRESS_A not in stored
    assert "registrar" not in stored


def test_failures_are_logged_with_username_and_hashed_address(client, registrar, caplog) -> None:
    caplog.set_level(logging.INFO, logger="quorum.accounts")
    _fail(client, "registrar", ADDRESS_A)
    records = [r for r in caplog.records if r.name == "quorum.accounts"]
    assert len(records) == 1
    message = records[0].getMessage()
    assert records[0].levelno == logging.WARNING
    assert "sign-in failed" in message
    assert "username='registrar'" in message
    request = type("R", (), {"META": {"REMOTE_ADDR": ADDRESS_A}})()
    assert f"address={throttle.address_label(request)}" in message
    assert ADDRESS_A not in message


def test_a_username_cannot_forge_a_log_line(client, db, caplog) -> None:
    caplog.set_level(logging.INFO, logger="quorum.accounts")
    _fail(client, "mallory\nsign-in complete: username='registrar'")
    text = "\n".join(r.getMessage() for r in caplog.records if r.name == "quorum.accounts")
    assert "\n" not in text


def test_throttled_attempts_are_logged(client, registrar, caplog) -> None:
    for _ in range(5):
        _fail(client, "registrar")
    caplog.clear()
    caplog.set_level(logging.INFO, logger="quorum.accounts")
    _fail(client, "registrar")
    assert any("too many failures" in r.getMessage() for r in caplog.records)


def test_a_store_that_cannot_be_written_refuses_sign_in(
    client, registrar, cast_password, monkeypatch
) -> None:
    def locked(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(SignInCounter.objects, "bulk_create", locked)
    response = _try(client, "registrar", cast_password)
    assert response.status_code == 503
    assert "Signing in is not possible right now." in response.content.decode()
    assert SESSION_KEY not in client.session


def test_an_unreachable_redis_refuses_sign_in(client, registrar, cast_password) -> None:
    throttle.reset_throttle_store(
        throttle.RedisThrottleStore(
            redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
        )
    )
    try:
        response = _try(client, "registrar", cast_password)
    finally:
        throttle.reset_throttle_store()
    assert response.status_code == 503
    assert SESSION_KEY not in client.session


def test_a_refused_sign_in_is_counted_in_the_metrics_without_username_or_address(
    client, registrar
) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    from quorum.core.metrics import exposition

    def refusals() -> float:
        for family in text_string_to_metric_families(exposition().decode()):
            for sample in family.samples:
                if sample.name == "quorum_rate_limit_refusals_total" and sample.labels == {
                    "limit": "sign_in"
                }:
                    return sample.value
        raise AssertionError("no sign-in refusals in the metrics")

    before = refusals()
    for _ in range(5):
        assert _fail(client, "registrar", ADDRESS_A).status_code == 422
    assert refusals() == before
    assert _fail(client, "registrar", ADDRESS_A).status_code == 429
    assert refusals() == before + 1
    text = exposition().decode()
    assert "registrar" not in text
    assert ADDRESS_A not in text
