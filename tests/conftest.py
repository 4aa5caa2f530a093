"""Shared fixtures: the demo initiative, demo authorities with keys in a temporary folder."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from quorum.core.crypto import AuthorityKeys, generate_authority_keys
from quorum.rules import scheme


@pytest.fixture
def today() -> date:
    return timezone.localdate()


@pytest.fixture
def collecting_initiative(db, today: date):
    from quorum.initiatives.models import Initiative
    from quorum.initiatives.services import initiative_create

    start = today - timedelta(days=10)
    return initiative_create(
        slug="clean-air",
        title={
            "en": "Clean air for everyone",
            "de": "Saubere Luft für alle",
            "fr": "De l'air pur pour tous",
        },
        objectives={
            "en": "We ask for cleaner air.",
            "de": "Wir fordern sauberere Luft.",
            "fr": "Nous demandons un air plus pur.",
        },
        language="en",
        status=Initiative.Status.COLLECTING,
        registration_number="ECI(2025)000007",
        registration_date=date(2025, 1, 15),
        collection_start=start,
        collection_end=scheme("eci").collection_end(start),
    )


@pytest.fixture
def authority_keys(db) -> Iterator[dict[str, AuthorityKeys]]:
    """Every Member State's authority registered with fresh keys; private halves kept here."""
    from quorum.authorities.services import authority_set_keys
    from quorum.signing.selectors import forget_intake_targets

    keys: dict[str, AuthorityKeys] = {}
    for code in scheme("eci").member_state_codes():
        pair = generate_authority_keys()
        public = pair.public_part()
        authority_set_keys(
            scheme_code="eci",
            member_state=code,
            sealing_public_key=public["sealing_public_key"],
            signing_public_key=public["signing_public_key"],
        )
        keys[code] = pair
    forget_intake_targets()
    yield keys
    forget_intake_targets()


@pytest.fixture
def data_dir(tmp_path: Path, settings) -> Path:
    settings.DATA_DIR = tmp_path
    return tmp_path


def solve_pow_challenge(challenge: dict) -> str:
    """Solve an ALTCHA challenge as a browser would, and encode the payload."""
    import base64
    import json

    import altcha

    solution = altcha.solve_challenge_v1(
        challenge["challenge"], challenge["salt"], challenge["algorithm"], challenge["maxnumber"]
    )
    assert solution is not None
    payload = {
        "algorithm": challenge["algorithm"],
        "challenge": challenge["challenge"],
        "number": solution.number,
        "salt": challenge["salt"],
        "signature": challenge["signature"],
        "took": 5,
    }
    return base64.b64encode(json.dumps(payload).encode()).decode()


@pytest.fixture
def pow_payload(client):
    """A fresh solved proof of work for a scope, fetched from the real challenge endpoint."""

    def make(scope: str) -> str:
        response = client.get("/api/v1/pow/challenge", {"scope": scope})
        assert response.status_code == 200
        return solve_pow_challenge(response.json())

    return make


@pytest.fixture(autouse=True)
def _intake_writer_released():
    """The writer thread holds its own connection; release it so test databases can be dropped."""
    yield
    from quorum.ledger.intake import stop_intake_writer

    stop_intake_writer()


@pytest.fixture(autouse=True)
def _fresh_abuse_stores():
    """Rate-limit and single-use stores start empty in every test."""
    from quorum.signing.ratelimit import reset_rate_store
    from quorum.signing.replay import reset_replay_store

    reset_rate_store()
    reset_replay_store()
    yield
    reset_rate_store()
    reset_replay_store()


@pytest.fixture
def polish_citizen() -> dict:
    return {
        "nationality": "PL",
        "first_names": "Zofia Maria",
        "family_names": "Kowalska-Nowak",
        "id_type": "pesel",
        "id_number": "44051401359",
    }


@pytest.fixture
def german_citizen() -> dict:
    return {
        "nationality": "DE",
        "first_names": "Anna",
        "family_names": "Schmidt",
        "date_of_birth": "1990-04-23",
        "residence": {
            "street": "Hauptstraße 1",
            "postal_code": "10115",
            "city": "Berlin",
            "country": "Deutschland",
        },
    }
