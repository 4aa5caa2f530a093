"""Proof of work, single use, the same answer for a double submission, and rate limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from quorum.ledger.models import Statement

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/v1/initiatives/clean-air/statements"
SCOPE = "statement:clean-air"


def post(client, body: object, **headers: str):
    return client.post(URL, data=json.dumps(body), content_type="application/json", **headers)


@pytest.fixture
def ready(collecting_initiative, authority_keys, settings):
    settings.QUORUM_POW = True
    return authority_keys


def test_a_statement_without_proof_of_work_is_refused(client, ready, polish_citizen) -> None:
    response = post(client, polish_citizen)
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["altcha"]
    assert Statement.objects.count() == 0


def test_a_solved_challenge_lets_the_statement_in(
    client, ready, polish_citizen, pow_payload
) -> None:
    response = post(client, {**polish_citizen, "altcha": pow_payload(SCOPE)})
    assert response.status_code == 201
    assert Statement.objects.count() == 1


def test_a_double_submission_gets_the_first_answer_and_stores_nothing_new(
    client, ready, polish_citizen, pow_payload
) -> None:
    body = {**polish_citizen, "altcha": pow_payload(SCOPE)}
    first = post(client, body)
    second = post(client, body)
    assert first.status_code == second.status_code == 201
    assert first.content == second.content
    assert {k: v for k, v in first.headers.items() if k != "Date"} == {
        k: v for k, v in second.headers.items() if k != "Date"
    }
    assert Statement.objects.count() == 1


def test_a_second_signature_by_the_same_person_is_answered_like_a_first(
    client, ready, polish_citizen, pow_payload
) -> None:
    # Invariant 2: no identity oracle. The authority removes duplicates at verification.
    first = post(client, {**polish_citizen, "altcha": pow_payload(SCOPE)})
    second = post(client, {**polish_citizen, "altcha": pow_payload(SCOPE)})
    assert first.status_code == second.status_code == 201
    assert set(first.json()) == set(second.json()) == {"receipt"}
    assert first.json()["receipt"] != second.json()["receipt"]
    assert Statement.objects.count() == 2


def test_a_solution_replayed_with_other_content_is_refused(
    client, ready, polish_citizen, pow_payload
) -> None:
    payload = pow_payload(SCOPE)
    assert post(client, {**polish_citizen, "altcha": payload}).status_code == 201
    other = {**polish_citizen, "first_names": "Jan", "altcha": payload}
    response = post(client, other)
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["altcha"]
    assert Statement.objects.count() == 1


def test_a_solution_for_another_initiative_is_refused(
    client, ready, polish_citizen, pow_payload
) -> None:
    response = post(client, {**polish_citizen, "altcha": pow_payload("statement:other")})
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["altcha"]


def test_a_field_error_does_not_use_up_the_solution(
    client, ready, polish_citizen, pow_payload
) -> None:
    payload = pow_payload(SCOPE)
    assert post(client, {**polish_citizen, "id_number": "1", "altcha": payload}).status_code == 422
    assert post(client, {**polish_citizen, "altcha": payload}).status_code == 201


def test_too_many_statements_from_one_client_answer_429_with_retry_after(
    client, ready, polish_citizen, settings
) -> None:
    settings.QUORUM_POW = False
    settings.QUORUM_RATE_BURST = 3
    answers = [post(client, polish_citizen) for _ in range(4)]
    assert [a.status_code for a in answers] == [201, 201, 201, 429]
    assert int(answers[-1]["Retry-After"]) >= 1
    assert list(answers[-1].json()["errors"]) == ["__all__"]
    assert Statement.objects.count() == 3


def test_another_client_is_not_held_back(client, ready, polish_citizen, settings) -> None:
    settings.QUORUM_POW = False
    settings.QUORUM_RATE_BURST = 1
    assert post(client, polish_citizen).status_code == 201
    assert post(client, polish_citizen).status_code == 429
    assert post(client, polish_citizen, REMOTE_ADDR="192.0.2.77").status_code == 201


def test_behind_a_trusted_proxy_each_client_has_its_own_limit_and_spoofing_is_ignored(
    client, ready, polish_citizen, settings
) -> None:
    from quorum.core.env import env_networks

    settings.QUORUM_POW = False
    settings.QUORUM_RATE_BURST = 1
    settings.QUORUM_TRUSTED_PROXIES = env_networks("P", environ={"P": "10.0.0.0/8"})

    def via(peer: str, forwarded_for: str) -> int:
        headers = {"REMOTE_ADDR": peer, "HTTP_X_FORWARDED_FOR": forwarded_for}
        return post(client, polish_citizen, **headers).status_code

    # Two clients behind the proxy: one limit each, not the proxy's one.
    assert via("10.0.0.1", "198.51.100.1") == 201
    assert via("10.0.0.1", "198.51.100.2") == 201
    assert via("10.0.0.2", "192.0.2.9, 198.51.100.1") == 429
    # A client that is no proxy: whatever it writes, it is counted as itself.
    assert via("203.0.113.50", "198.51.100.3") == 201
    assert via("203.0.113.50", "198.51.100.4") == 429
    assert Statement.objects.count() == 3


def test_a_challenge_scope_that_is_not_valid_is_refused(client) -> None:
    response = client.get("/api/v1/pow/challenge", {"scope": "bad scope\n"})
    assert response.status_code == 400
    assert "scope" in response.json()["errors"]


def test_refused_statements_count_toward_the_limit_as_accepted_ones_do(
    client, ready, polish_citizen, settings
) -> None:
    settings.QUORUM_POW = False
    settings.QUORUM_RATE_BURST = 2
    wrong = {**polish_citizen, "id_number": "44051401358"}

    answers = [post(client, wrong), post(client, wrong), post(client, polish_citizen)]

    assert [a.status_code for a in answers] == [422, 422, 429]
    assert post(client, wrong).status_code == 429  # over the limit: refused as such first
    assert Statement.objects.count() == 0


def test_a_double_submission_counts_toward_the_limit(
    client, ready, polish_citizen, pow_payload, settings
) -> None:
    settings.QUORUM_RATE_BURST = 2
    body = {**polish_citizen, "altcha": pow_payload(SCOPE)}

    assert post(client, body).status_code == 201
    assert post(client, body).status_code == 201  # the first answer again
    refused = post(client, {**polish_citizen, "altcha": pow_payload(SCOPE)})

    assert refused.status_code == 429
    assert Statement.objects.count() == 1


def test_a_solution_refused_by_the_limit_can_be_used_once_the_client_may_sign_again(
    client, ready, polish_citizen, pow_payload, settings, time_machine
) -> None:
    settings.QUORUM_RATE_BURST = 1
    time_machine.move_to(datetime.now(UTC), tick=False)
    assert post(client, {**polish_citizen, "altcha": pow_payload(SCOPE)}).status_code == 201
    body = {**polish_citizen, "first_names": "Jan", "altcha": pow_payload(SCOPE)}
    assert post(client, body).status_code == 429

    time_machine.shift(settings.QUORUM_RATE_BURST_SECONDS + 1)

    assert post(client, body).status_code == 201
    assert Statement.objects.count() == 2
