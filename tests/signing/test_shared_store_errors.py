"""A shared store that cannot be written (SQLite's "database is locked") fails closed: 503."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

import pytest
from django.db import OperationalError

from quorum.ledger.models import Statement
from quorum.signing import replay
from quorum.signing.ratelimit import DatabaseRateStore, reset_rate_store
from quorum.signing.replay import DatabaseReplayStore, reset_replay_store

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/v1/initiatives/clean-air/statements"
SCOPE = "statement:clean-air"


@pytest.fixture
def ready(collecting_initiative, authority_keys, settings):
    settings.QUORUM_POW = True
    reset_rate_store(DatabaseRateStore())
    reset_replay_store(DatabaseReplayStore())
    yield
    reset_rate_store()
    reset_replay_store()


def post(client, body: object):
    return client.post(URL, data=json.dumps(body), content_type="application/json")


@contextlib.contextmanager
def locked() -> Iterator[None]:
    # What SQLite raises at BEGIN IMMEDIATE once its busy timeout has passed (the stores
    # themselves are tested against a real lock in test_ratelimit.py and test_replay.py).
    raise OperationalError("database is locked")
    yield  # pragma: no cover


def _locked_rate_log(self: object, *args: object) -> None:
    # The statement's rate-limit hit is decided in the intake writer's transaction.
    raise OperationalError("database is locked")


@pytest.mark.parametrize("store", ["rate limit", "single use"])
def test_a_locked_store_answers_503_and_stores_nothing(
    client, ready, polish_citizen, pow_payload, monkeypatch, store
) -> None:
    altcha = pow_payload(SCOPE)
    if store == "rate limit":
        monkeypatch.setattr(DatabaseRateStore, "admit_many", _locked_rate_log)
    else:
        monkeypatch.setattr(replay, "volatile_atomic", locked)

    response = post(client, {**polish_citizen, "altcha": altcha})

    assert response.status_code == 503
    assert "Retry-After" in response
    assert Statement.objects.count() == 0


def test_the_same_solution_works_once_the_store_can_be_written_again(
    client, ready, polish_citizen, pow_payload, monkeypatch
) -> None:
    altcha = pow_payload(SCOPE)
    with monkeypatch.context() as patch:
        patch.setattr(replay, "volatile_atomic", locked)
        assert post(client, {**polish_citizen, "altcha": altcha}).status_code == 503

    response = post(client, {**polish_citizen, "altcha": altcha})

    assert response.status_code == 201
    assert Statement.objects.count() == 1
