"""Every refusal of ``statement_submit`` reaches the signatory the same way by either door.

The web form and the JSON API call one service and map its errors through one table (the
status of each domain error): the same status, the same ``Retry-After``, the same message in
the signatory's language, nothing stored — and on the form, everything typed kept.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client

from quorum.initiatives.models import Initiative
from quorum.ledger.intake import IntakeWriter
from quorum.ledger.models import Statement
from quorum.signing.ratelimit import reset_rate_store
from quorum.signing.replay import reset_replay_store
from quorum.signing.selectors import forget_intake_targets

pytestmark = pytest.mark.django_db(transaction=True)

#: Nothing listens on port 1: a Redis that has stopped.
STOPPED_REDIS = "redis://127.0.0.1:1/0"

FORM_VALUES = {
    "first_names": "Zofia Canary",
    "family_names": "Kowalska",
    "id_type": "pesel",
    "id_number": "44051401359",
    "privacy_read": "yes",
}


@dataclass
class Answer:
    status: int
    retry_after: str | None
    text: str


def by_form(client: Client, slug: str, language: str) -> Answer:
    response = client.post(f"/i/{slug}/sign/pl/", FORM_VALUES, HTTP_ACCEPT_LANGUAGE=language)
    return Answer(response.status_code, response.get("Retry-After"), response.content.decode())


def by_api(client: Client, slug: str, language: str) -> Answer:
    body = {"nationality": "PL", **{k: v for k, v in FORM_VALUES.items() if k != "privacy_read"}}
    response = client.post(
        f"/api/v1/initiatives/{slug}/statements",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE=language,
    )
    errors = response.json().get("errors", {})
    text = " ".join(m for messages in errors.values() for m in messages)
    return Answer(response.status_code, response.get("Retry-After"), text)


DOORS = {"form": by_form, "api": by_api}


@pytest.fixture
def ready(collecting_initiative, authority_keys, settings):
    settings.QUORUM_POW = False
    yield
    reset_rate_store()
    reset_replay_store()


def not_collecting(settings: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    Initiative.objects.update(status=Initiative.Status.COLLECTION_CLOSED)
    forget_intake_targets()
    return "clean-air"


def rate_limited(settings: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    settings.QUORUM_RATE_BURST = 1
    reset_rate_store()
    assert by_api(Client(), "clean-air", "en").status == 201  # the one allowed
    Statement.objects.all().delete()
    return "clean-air"


def redis_stopped(settings: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    settings.REDIS_URL = STOPPED_REDIS
    reset_rate_store()
    reset_replay_store()
    return "clean-air"


def database_locked(settings: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    # What the intake writer meets when its busy timeout passes under another writer's lock.
    def locked(*args: object, **kwargs: object) -> None:
        raise OperationalError("database is locked")

    monkeypatch.setattr(IntakeWriter, "_insert_sql", locked)
    return "clean-air"


def invalid_id_number(settings: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(FORM_VALUES, "id_number", "44051401358")
    return "clean-air"


def unknown_initiative(settings: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    return "no-such-initiative"


#: refusal → (how to bring it about, status, Retry-After expected, a phrase of its German text)
REFUSALS: dict[str, tuple[Callable[[Any, pytest.MonkeyPatch], str], int, bool, str]] = {
    "not collecting": (not_collecting, 409, False, "keine Unterstützungsbekundungen gesammelt"),
    "rate limited": (rate_limited, 429, True, "zu viele Unterstützungsbekundungen"),
    "Redis stopped": (redis_stopped, 503, True, "nicht gespeichert"),
    "database locked": (database_locked, 503, True, "nicht gespeichert"),
    "invalid": (invalid_id_number, 422, False, "Prüfziffer"),
    "no such initiative": (unknown_initiative, 404, False, "Initiative gibt es nicht"),
}


@pytest.mark.parametrize("door", list(DOORS))
@pytest.mark.parametrize("refusal", list(REFUSALS))
def test_each_refusal_has_one_status_and_one_wording_by_either_door(
    client, ready, settings, monkeypatch, door: str, refusal: str
) -> None:
    bring_about, status, retries, german_phrase = REFUSALS[refusal]
    slug = bring_about(settings, monkeypatch)

    answer = DOORS[door](client, slug, "de")

    assert answer.status == status
    assert (answer.retry_after is not None) == retries
    if retries:
        assert int(answer.retry_after or 0) >= 1
    assert german_phrase in answer.text
    assert Statement.objects.count() == 0


# A form that no longer collects, or of no initiative, has nothing to keep the values for.
@pytest.mark.parametrize(
    "refusal", [r for r in REFUSALS if r not in ("no such initiative", "not collecting")]
)
def test_a_refused_form_keeps_everything_typed(
    client, ready, settings, monkeypatch, refusal: str
) -> None:
    slug = REFUSALS[refusal][0](settings, monkeypatch)

    answer = by_form(client, slug, "en")

    for name in ("first_names", "family_names", "id_number"):
        assert f'value="{FORM_VALUES[name]}"' in answer.text
    assert "<form" in answer.text


def test_the_intake_takes_statements_again_once_redis_answers(
    client, ready, settings, monkeypatch
) -> None:
    redis_stopped(settings, monkeypatch)
    assert by_api(client, "clean-air", "en").status == 503
    settings.REDIS_URL = None
    reset_rate_store()
    reset_replay_store()

    assert by_api(client, "clean-air", "en").status == 201
    assert Statement.objects.count() == 1
