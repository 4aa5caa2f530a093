from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quorum.core.env import (
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
