"""POST /api/v1/initiatives/{slug}/statements — from JSON to a sealed, durable ledger row."""

from __future__ import annotations

import hashlib
import json

import pytest

from quorum.initiatives.models import Initiative
from quorum.ledger.models import Statement
from quorum.proofs.crypto import open_sealed
from quorum.proofs.leaves import format_received_at, statement_leaf_hash
from quorum.signing.content import parse_statement_plaintext

# The intake writer commits on its own connection, so these tests use real transactions.
pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/v1/initiatives/clean-air/statements"


def post(client, body: object, **headers: str):
    return client.post(URL, data=json.dumps(body), content_type="application/json", **headers)


@pytest.fixture
def ready(collecting_initiative, authority_keys, settings):
    settings.QUORUM_POW = False
    return authority_keys


def test_a_polish_statement_is_sealed_to_the_polish_authority_and_answered_with_its_receipt(
    client, ready, polish_citizen
) -> None:
    response = post(client, polish_citizen)
    assert response.status_code == 201, response.content
    receipt = response.json()["receipt"]
    assert len(receipt) == 64 and int(receipt, 16) >= 0
    statement = Statement.objects.get()
    assert statement.member_state == "PL"
    assert bytes(statement.leaf_hash).hex() == receipt
    content = parse_statement_plaintext(
        open_sealed(ready["PL"].sealing_private_key, bytes(statement.ciphertext))
    )
    assert content["fields"] == {
        "first_names": "Zofia Maria",
        "family_names": "Kowalska-Nowak",
        "id_type": "pesel",
        "id_number": "44051401359",
    }
    assert content["nationality"] == "PL"
    assert content["initiative"]["registration_number"] == "ECI(2025)000007"


def test_the_leaf_hash_can_be_recomputed_from_public_data_alone(
    client, ready, polish_citizen
) -> None:
    receipt = post(client, polish_citizen).json()["receipt"]
    statement = Statement.objects.get()
    assert (
        bytes(statement.ciphertext_sha256) == hashlib.sha256(bytes(statement.ciphertext)).digest()
    )
    recomputed = statement_leaf_hash(
        initiative="clean-air",
        member_state="PL",
        received_at=format_received_at(statement.received_at),
        ciphertext_sha256=bytes(statement.ciphertext_sha256),
    )
    assert recomputed.hex() == receipt


def test_nobody_else_can_open_the_statement(client, ready, polish_citizen) -> None:
    from quorum.proofs.crypto import CryptoError

    post(client, polish_citizen)
    ciphertext = bytes(Statement.objects.get().ciphertext)
    with pytest.raises(CryptoError):
        open_sealed(ready["DE"].sealing_private_key, ciphertext)


def test_a_german_part_a_statement_is_accepted(client, ready, german_citizen) -> None:
    response = post(client, german_citizen)
    assert response.status_code == 201, response.content
    content = parse_statement_plaintext(
        open_sealed(ready["DE"].sealing_private_key, bytes(Statement.objects.get().ciphertext))
    )
    assert content["fields"]["residence.city"] == "Berlin"
    assert content["fields"]["date_of_birth"] == "1990-04-23"


def test_an_invalid_statement_gets_every_reason_and_stores_nothing(
    client, ready, polish_citizen
) -> None:
    polish_citizen["id_number"] = "44051401358"
    polish_citizen["first_names"] = "Zofia\u202e"
    del polish_citizen["family_names"]
    response = post(client, polish_citizen)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert set(errors) == {"id_number", "first_names", "family_names"}
    assert Statement.objects.count() == 0


def test_errors_come_in_the_language_asked_for(client, ready, polish_citizen) -> None:
    del polish_citizen["family_names"]
    english = post(client, polish_citizen).json()["errors"]["family_names"]
    german = post(client, polish_citizen, HTTP_ACCEPT_LANGUAGE="de").json()["errors"][
        "family_names"
    ]
    french = post(client, polish_citizen, HTTP_ACCEPT_LANGUAGE="fr").json()["errors"][
        "family_names"
    ]
    assert english == ["This field is required."]
    assert german != english and french != english


def test_fields_of_the_other_part_are_refused(client, ready, polish_citizen) -> None:
    polish_citizen["date_of_birth"] = "1990-01-01"
    response = post(client, polish_citizen)
    assert response.status_code == 422
    assert "date_of_birth" in response.json()["errors"]


def test_an_under_age_signatory_is_refused_with_the_reason(
    client, ready, german_citizen, today
) -> None:
    german_citizen["date_of_birth"] = today.replace(year=today.year - 15).isoformat()
    response = post(client, german_citizen)
    assert response.status_code == 422
    assert "date_of_birth" in response.json()["errors"]
    assert Statement.objects.count() == 0


def test_a_closed_initiative_answers_409(client, ready, polish_citizen) -> None:
    from quorum.signing.selectors import forget_intake_targets

    Initiative.objects.update(status=Initiative.Status.COLLECTION_CLOSED)
    forget_intake_targets()
    response = post(client, polish_citizen)
    assert response.status_code == 409
    assert Statement.objects.count() == 0


def test_an_unknown_initiative_answers_404(client, ready, polish_citizen) -> None:
    response = client.post(
        "/api/v1/initiatives/nope/statements",
        data=json.dumps(polish_citizen),
        content_type="application/json",
    )
    assert response.status_code == 404
    assert "errors" in response.json()


def test_a_body_that_is_not_json_answers_400_in_the_error_shape(client, ready) -> None:
    response = client.post(URL, data=b"\xff\xfe{not json", content_type="application/json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["__all__"]


def test_the_statement_endpoint_is_in_the_openapi_schema(client) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/initiatives/{slug}/statements"]["post"]
    assert {"201", "409", "422", "429"} <= set(operation["responses"])
