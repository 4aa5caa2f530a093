from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quorum.core import volatile
from quorum.core.env import (
    DATABASE_POOL_HELD,
    DATABASE_POOL_MAX_SIZE,
    DATABASE_POOL_MIN_SIZE,
    EnvError,
    database_from_url,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_str,
)


def test_booleans_accept_the_documented_words_only() -> None:
    assert env_bool("X", False, environ={"X": "on"}) is True
    assert env_bool("X", True, environ={"X": "Off"}) is False
    assert env_bool("X", True, environ={}) is True
    with pytest.raises(EnvError, match="X must be one of"):
        env_bool("X", False, environ={"X": "enabled"})


def test_integers_are_bounded_and_a_typo_stops_the_process() -> None:
    assert env_int("N", 5, environ={"N": "12"}) == 12
    with pytest.raises(EnvError, match="whole number"):
        env_int("N", 5, environ={"N": "12a"})
    with pytest.raises(EnvError, match="at least 1"):
        env_int("N", 5, minimum=1, environ={"N": "0"})


def test_a_required_string_must_be_set() -> None:
    with pytest.raises(EnvError, match="S must be set"):
        env_str("S", environ={})


def test_a_secret_can_come_from_a_file(tmp_path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    assert env_str("S", environ={"S_FILE": str(secret)}) == "s3cret"


def test_lists_and_choices() -> None:
    assert env_list("L", ["a"], environ={"L": "x, y,,z"}) == ["x", "y", "z"]
    assert env_choice("C", "on", ("on", "off"), environ={"C": "OFF"}) == "off"
    with pytest.raises(EnvError):
        env_choice("C", "on", ("on", "off"), environ={"C": "maybe"})


def test_a_postgres_url_becomes_a_durable_database_setting() -> None:
    db = database_from_url("postgres://quorum:p%40ss@db.example:5433/quorum?sslmode=require")
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "quorum",
        "quorum",
        "p@ss",
        "db.example",
        "5433",
    )
    assert "synchronous_commit=on" in db["OPTIONS"]["options"]
    assert db["OPTIONS"]["sslmode"] == "require"


def test_a_postgres_database_takes_its_connections_from_a_pool_and_keeps_none_itself() -> None:
    # Under ASGI a persistent connection outlives the request's thread; Django also refuses a
    # pool beside CONN_MAX_AGE > 0.
    db = database_from_url("postgres://quorum@db.example/quorum")
    assert db["CONN_MAX_AGE"] == 0
    assert db["OPTIONS"]["pool"] == {
        "min_size": DATABASE_POOL_MIN_SIZE,
        "max_size": DATABASE_POOL_MAX_SIZE,
        "timeout": pytest.approx(10.0),
    }


def test_the_pool_leaves_room_for_requests_beside_the_connections_held_for_good() -> None:
    # One each for the shared-state workers, the intake writer, the group calls (rate limit,
    # single-use claims and completions) and the fast path's thread. A new thread that keeps a
    # connection belongs in this count.
    assert DATABASE_POOL_HELD == volatile.WORKER_THREADS + 1 + 3 + 1
    assert DATABASE_POOL_MAX_SIZE - DATABASE_POOL_HELD >= 10
    assert DATABASE_POOL_MIN_SIZE <= DATABASE_POOL_MAX_SIZE


def test_the_pool_sizes_can_be_chosen() -> None:
    db = database_from_url("postgres://h/db", pool_min_size=0, pool_max_size=40)
    assert (db["OPTIONS"]["pool"]["min_size"], db["OPTIONS"]["pool"]["max_size"]) == (0, 40)


@pytest.mark.parametrize(("min_size", "max_size"), [(2, DATABASE_POOL_HELD), (2, 1), (30, 20)])
def test_a_pool_too_small_for_an_app_process_or_below_its_minimum_is_refused(
    min_size: int, max_size: int
) -> None:
    with pytest.raises(EnvError, match="QUORUM_DATABASE_POOL_MAX_SIZE"):
        database_from_url("postgres://h/db", pool_min_size=min_size, pool_max_size=max_size)


def _settings_pool(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The pool options the settings module makes of this environment, read in a fresh process."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("QUORUM_", "DATABASE_URL"))}
    clean.update(
        DJANGO_SETTINGS_MODULE="quorum.settings",
        QUORUM_DATA_DIR=str(tmp_path),
        DATABASE_URL="postgres://quorum@db.example/quorum",  # never connected to
        **env,
    )
    probe = (
        "import json; from django.conf import settings; "
        "print(json.dumps(settings.DATABASES['default']['OPTIONS']['pool']))"
    )
    return subprocess.run(
        [sys.executable, "-c", probe], env=clean, capture_output=True, text=True, timeout=60
    )


def test_the_pool_sizes_come_from_the_environment(tmp_path: Path) -> None:
    result = _settings_pool(
        tmp_path, QUORUM_DATABASE_POOL_MIN_SIZE="4", QUORUM_DATABASE_POOL_MAX_SIZE="32"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    pool = json.loads(result.stdout.strip().splitlines()[-1])
    assert (pool["min_size"], pool["max_size"]) == (4, 32)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("QUORUM_DATABASE_POOL_MIN_SIZE", "two"),
        ("QUORUM_DATABASE_POOL_MIN_SIZE", "-1"),
        ("QUORUM_DATABASE_POOL_MAX_SIZE", "5"),
        ("QUORUM_DATABASE_POOL_MAX_SIZE", "20.5"),
    ],
)
def test_a_malformed_pool_size_stops_the_process_with_its_name(
    tmp_path: Path, variable: str, value: str
) -> None:
    result = _settings_pool(tmp_path, **{variable: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr


@pytest.mark.parametrize(
    "url", ["mysql://x/y", "postgres://host:5432/", "postgres://h:99999999/db"]
)
def test_other_database_urls_are_refused(url: str) -> None:
    with pytest.raises(EnvError):
        database_from_url(url)


@given(st.text())
def test_any_boolean_text_either_parses_or_is_refused_with_the_name(text: str) -> None:
    try:
        env_bool("FLAG", False, environ={"FLAG": text})
    except EnvError as exc:
        assert "FLAG" in str(exc)


def test_a_url_may_name_several_hosts_and_connect_to_the_one_that_takes_writes() -> None:
    db = database_from_url(
        "postgres://quorum@db1.example:5432,db2.example:5433/quorum"
        "?target_session_attrs=read-write&connect_timeout=3"
    )
    assert (db["HOST"], db["PORT"]) == ("db1.example,db2.example", "5432,5433")
    assert db["OPTIONS"]["target_session_attrs"] == "read-write"
    assert db["OPTIONS"]["connect_timeout"] == 3


def test_hosts_may_be_ipv6_in_brackets_and_ports_may_be_left_out() -> None:
    db = database_from_url("postgres://u@[2001:db8::1]:5432,[2001:db8::2]:5432/q")
    assert (db["HOST"], db["PORT"]) == ("2001:db8::1,2001:db8::2", "5432,5432")
    db = database_from_url("postgres://u@db1,db2/q")
    assert (db["HOST"], db["PORT"]) == ("db1,db2", "")


@pytest.mark.parametrize(
    "url",
    [
        "postgres://u@db1:5432,db2/q",  # a port for some hosts only
        "postgres://u@db1,,db2/q",
        "postgres://u@db1:0/q",
        "postgres://u@h/q?target_session_attrs=any",  # could land on a standby
        "postgres://u@h/q?connect_timeout=soon",
        "postgres://u@h/q?sslmode=require&application_name=x",  # an option we do not know
    ],
)
def test_a_list_of_hosts_or_an_option_that_cannot_work_is_refused(url: str) -> None:
    with pytest.raises(EnvError, match="DATABASE_URL"):
        database_from_url(url)


def test_the_mail_url_names_the_server_its_tls_and_its_credentials() -> None:
    from quorum.core.env import email_from_url

    submission = email_from_url("smtp+starttls://quorum%40example.org:p%40ss@mail.example.org")
    assert submission["EMAIL_HOST"] == "mail.example.org"
    assert submission["EMAIL_PORT"] == 587
    assert (submission["EMAIL_USE_TLS"], submission["EMAIL_USE_SSL"]) == (True, False)
    assert submission["EMAIL_HOST_USER"] == "quorum@example.org"
    assert submission["EMAIL_HOST_PASSWORD"] == "p@ss"
    implicit = email_from_url("smtps://mail.example.org")
    assert (implicit["EMAIL_PORT"], implicit["EMAIL_USE_SSL"]) == (465, True)
    assert email_from_url("smtp://127.0.0.1:2525")["EMAIL_PORT"] == 2525
    assert email_from_url("console://")["EMAIL_BACKEND"].endswith("console.EmailBackend")


@pytest.mark.parametrize(
    "url",
    ["mail.example.org", "http://mail.example.org", "smtp://", "smtp://h:port", "smtp://h/x?y=1"],
)
def test_a_mail_url_quorum_cannot_use_stops_the_process(url: str) -> None:
    from quorum.core.env import EnvError, email_from_url

    with pytest.raises(EnvError, match="QUORUM_EMAIL_URL"):
        email_from_url(url)
