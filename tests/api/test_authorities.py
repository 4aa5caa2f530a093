"""The public API of the authorities' keys: who holds which key, and the key log an auditor checks.

Everything is checked the way an outsider would: the checkpoint with the log's public key, the
leaves against the checkpoint's root, the proofs with the RFC 9162 verifiers.
"""

from __future__ import annotations

import base64
import json

import pytest
from django.test import Client

from quorum.authorities.services import authority_expect_key, authority_key_register
from quorum.core.log_key import log_key
from quorum.proofs import merkle
from quorum.proofs.crypto import AuthorityKeys, encode_key, generate_authority_keys
from quorum.proofs.key_certificate import (
    KEY_LOG_PATH,
    check_key_history,
    make_key_certificate,
    parse_key_log_entry,
)
from quorum.proofs.signed_note import Checkpoint, NoteError, open_checkpoint
from quorum.rules import scheme

pytestmark = pytest.mark.django_db

AUTHORITIES = "/api/v1/authorities"
CHECKPOINT = "/api/v1/authorities/log/checkpoint"
LEAVES = "/api/v1/authorities/log/leaves"
INCLUSION = "/api/v1/authorities/log/proof/inclusion"
CONSISTENCY = "/api/v1/authorities/log/proof/consistency"
MEMBER_STATES = 27


def _errors(response, status: int = 400) -> dict[str, list[str]]:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    assert list(body) == ["errors"]
    errors = body["errors"]
    assert errors and all(
        isinstance(messages, list) and messages and all(isinstance(m, str) and m for m in messages)
        for messages in errors.values()
    ), errors
    return errors


def _checkpoint(client: Client) -> Checkpoint:
    response = client.get(CHECKPOINT)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    key = log_key()
    return open_checkpoint(
        response.content.decode("utf-8"), key.verifier, origin=f"{key.name}/{KEY_LOG_PATH}"
    )


def _leaves(client: Client, start: int, end: int) -> list[str]:
    response = client.get(LEAVES, {"start": start, "end": end})
    assert response.status_code == 200, response.content[:300]
    body = response.json()
    assert [leaf["index"] for leaf in body["leaves"]] == list(range(start, end))
    assert (body["start"], body["end"]) == (start, end)
    return [leaf["data"] for leaf in body["leaves"]]


def _hashes(leaves: list[str]) -> list[bytes]:
    return [merkle.leaf_hash(data.encode("utf-8")) for data in leaves]


def _path(response) -> list[bytes]:
    assert response.status_code == 200, response.content[:300]
    return [bytes.fromhex(node) for node in response.json()["path"]]


def _rotate(authority_keys: dict[str, AuthorityKeys], code: str = "DE") -> AuthorityKeys:
    new = generate_authority_keys()
    certificate = make_key_certificate(
        new,
        scheme="eci",
        member_state=code,
        authority=f"Competent authority {code}",
        previous=authority_keys[code],
    )
    authority_key_register(certificate=certificate.document, actor_label="x")
    return new


# --- the list of authorities ----------------------------------------------------------------


def test_the_list_names_every_member_states_authority_with_its_current_key(
    client, authority_keys
) -> None:
    response = client.get(AUTHORITIES)
    assert response.status_code == 200
    body = response.json()
    assert body["scheme"] == "eci" and body["key_log_origin_path"] == KEY_LOG_PATH
    listed = {a["member_state"]: a for a in body["authorities"]}
    assert len(body["authorities"]) == MEMBER_STATES
    assert set(listed) == set(scheme("eci").member_state_codes())
    for code, keys in authority_keys.items():
        key = listed[code]["key"]
        assert set(key) == {
            "sequence",
            "fingerprint",
            "sealing_public_key",
            "signing_public_key",
            "registered_at",
        }
        assert key["sequence"] == 1
        assert key["sealing_public_key"] == encode_key(keys.sealing_public_key)
        assert key["signing_public_key"] == encode_key(keys.signing_public_key)
        assert (
            key["fingerprint"]
            == make_key_certificate(
                keys, scheme="eci", member_state=code, authority="any"
            ).fingerprint
        )
        assert len(key["registered_at"]) == 20 and key["registered_at"].endswith("Z")
        assert listed[code]["name"] == f"Competent authority {code}"


def test_the_list_is_a_public_read_open_to_any_origin(client, authority_keys) -> None:
    response = client.get(AUTHORITIES)
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Cache-Control"].startswith("public, max-age=")


def test_an_unknown_scheme_is_refused_in_the_errors_shape(client, authority_keys) -> None:
    assert list(_errors(client.get(AUTHORITIES, {"scheme": "nope"}))) == ["scheme"]


def test_an_authority_with_only_a_recorded_designation_is_listed_without_a_key(client) -> None:
    keys = generate_authority_keys()
    certificate = make_key_certificate(keys, scheme="eci", member_state="DE", authority="BVA")
    authority_expect_key(
        scheme_code="eci",
        member_state="DE",
        fingerprint=certificate.fingerprint,
        name="Bundesverwaltungsamt",
        actor_label="registrar",
    )
    body = client.get(AUTHORITIES).json()
    assert body["authorities"] == [
        {"member_state": "DE", "name": "Bundesverwaltungsamt", "key": None}
    ]


def test_after_a_rotation_the_list_shows_the_new_key(client, authority_keys) -> None:
    new = _rotate(authority_keys)
    listed = {a["member_state"]: a["key"] for a in client.get(AUTHORITIES).json()["authorities"]}
    assert listed["DE"]["sequence"] == 2
    assert listed["DE"]["signing_public_key"] == encode_key(new.signing_public_key)
    assert listed["FR"]["sequence"] == 1


# --- the checkpoint -------------------------------------------------------------------------


def test_the_checkpoint_is_signed_by_the_log_key_and_covers_every_key(
    client, authority_keys
) -> None:
    checkpoint = _checkpoint(client)
    assert checkpoint.size == MEMBER_STATES
    assert checkpoint.root != merkle.EMPTY_ROOT


def test_the_checkpoint_is_refused_for_another_logs_origin(client, authority_keys) -> None:
    note = client.get(CHECKPOINT).content.decode("utf-8")
    key = log_key()
    with pytest.raises(NoteError):
        open_checkpoint(note, key.verifier, origin=f"{key.name}/clean-air")


def test_an_empty_key_log_has_a_valid_checkpoint_of_size_zero(client) -> None:
    checkpoint = _checkpoint(client)
    assert (checkpoint.size, checkpoint.root) == (0, merkle.EMPTY_ROOT)
    assert client.get(LEAVES).json() == {"start": 0, "end": 0, "tree_size": 0, "leaves": []}


# --- the leaves -----------------------------------------------------------------------------


def test_the_leaves_reproduce_the_checkpoints_root(client, authority_keys) -> None:
    checkpoint = _checkpoint(client)
    leaves = _leaves(client, 0, MEMBER_STATES)
    assert merkle.root_from_leaves(_hashes(leaves)) == checkpoint.root
    assert client.get(LEAVES, {"start": 0, "end": 27}).json()["tree_size"] == MEMBER_STATES


def test_the_leaves_are_an_honest_key_history_of_the_listed_keys(client, authority_keys) -> None:
    new = _rotate(authority_keys)
    leaves = _leaves(client, 0, MEMBER_STATES + 1)
    history = check_key_history(leaves)
    assert history.problems == [] and history.legacy == []
    listed = {a["member_state"]: a["key"] for a in client.get(AUTHORITIES).json()["authorities"]}
    for code in authority_keys:
        current = history.current("eci", code)
        assert current is not None and current.fingerprint == listed[code]["fingerprint"]
    last = parse_key_log_entry(leaves[-1])
    assert last.signing_public_key == encode_key(new.signing_public_key)
    assert last.previous_signing_key == encode_key(authority_keys["DE"].signing_public_key)


def test_the_leaves_are_served_page_by_page_in_index_order(client, authority_keys) -> None:
    whole = _leaves(client, 0, MEMBER_STATES)
    assert _leaves(client, 0, 10) + _leaves(client, 10, 20) + _leaves(client, 20, 27) == whole
    assert _leaves(client, 5, 5) == []
    assert client.get(LEAVES).json()["leaves"] == [
        {"index": i, "data": d} for i, d in enumerate(whole)
    ]


@pytest.mark.parametrize(
    "query",
    [
        {"start": 5, "end": 4},
        {"start": 0, "end": 28},
        {"start": 28},
        {"start": -1, "end": 3},
        {"start": 0, "end": -1},
        {"start": 30, "end": 30},
    ],
    ids=[
        "start_after_end",
        "end_past_size",
        "start_past_size",
        "negative_start",
        "negative_end",
        "both_past_size",
    ],
)
def test_a_leaf_range_outside_the_log_is_refused_in_the_errors_shape(
    client, authority_keys, query: dict[str, int]
) -> None:
    _errors(client.get(LEAVES, query))


@pytest.mark.parametrize("query", [{"start": "x"}, {"end": "1.5"}], ids=["start", "end"])
def test_a_leaf_range_that_is_not_numbers_is_refused_in_the_errors_shape(
    client, authority_keys, query: dict[str, str]
) -> None:
    _errors(client.get(LEAVES, query), 422)


# --- proofs ---------------------------------------------------------------------------------


@pytest.fixture
def rotated_log(client, authority_keys) -> tuple[Checkpoint, Checkpoint, list[bytes]]:
    """The log before and after one rotation (27 then 28 entries), with its leaf hashes."""
    before = _checkpoint(client)
    _rotate(authority_keys)
    after = _checkpoint(client)
    assert (before.size, after.size) == (MEMBER_STATES, MEMBER_STATES + 1)
    hashes = _hashes(_leaves(client, 0, after.size))
    assert merkle.root_from_leaves(hashes) == after.root
    assert merkle.root_from_leaves(hashes[: before.size]) == before.root
    return before, after, hashes


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 16, 27, 28])
def test_every_entry_has_an_inclusion_proof_that_verifies(client, rotated_log, size: int) -> None:
    _before, _after, hashes = rotated_log
    root = merkle.root_from_leaves(hashes[:size])
    for index in range(size):
        path = _path(client.get(INCLUSION, {"index": index, "size": size}))
        assert merkle.verify_inclusion(hashes[index], index, size, path, root), (index, size)
        # The same proof for a neighbour's leaf proves nothing.
        other = hashes[(index + 1) % len(hashes)]
        if size > 1:
            assert not merkle.verify_inclusion(other, index, size, path, root)


def test_the_rotation_is_included_under_the_signed_checkpoint(client, rotated_log) -> None:
    _before, after, hashes = rotated_log
    index = after.size - 1
    path = _path(client.get(INCLUSION, {"index": index, "size": after.size}))
    assert merkle.verify_inclusion(hashes[index], index, after.size, path, after.root)


def test_the_log_after_the_rotation_is_consistent_with_the_one_before(client, rotated_log) -> None:
    before, after, _hashes = rotated_log
    path = _path(client.get(CONSISTENCY, {"from": before.size, "to": after.size}))
    assert merkle.verify_consistency(before.size, after.size, before.root, after.root, path)
    # A log rewritten under the old checkpoint would not be.
    forged = merkle.node_hash(before.root, before.root)
    assert not merkle.verify_consistency(before.size, after.size, forged, after.root, path)


@pytest.mark.parametrize(
    ("old", "new"),
    [(0, 28), (1, 28), (1, 2), (2, 5), (3, 27), (5, 8), (8, 16), (16, 28), (27, 27), (28, 28)],
)
def test_consistency_proofs_between_sizes_verify(client, rotated_log, old: int, new: int) -> None:
    _before, _after, hashes = rotated_log
    old_root = merkle.root_from_leaves(hashes[:old])
    new_root = merkle.root_from_leaves(hashes[:new])
    path = _path(client.get(CONSISTENCY, {"from": old, "to": new}))
    assert merkle.verify_consistency(old, new, old_root, new_root, path)


@pytest.mark.parametrize(
    "query",
    [
        {"index": 28, "size": 28},
        {"index": 3, "size": 2},
        {"index": 0, "size": 29},
        {"index": 0, "size": 0},
        {"index": -1, "size": 5},
        {"index": 0, "size": -1},
    ],
    ids=[
        "index_is_size",
        "index_past_size",
        "size_past_log",
        "empty",
        "negative_index",
        "negative_size",
    ],
)
def test_an_inclusion_proof_outside_the_log_is_refused_in_the_errors_shape(
    client, rotated_log, query: dict[str, int]
) -> None:
    _errors(client.get(INCLUSION, query))


@pytest.mark.parametrize(
    "query",
    [
        {"from": 5, "to": 4},
        {"from": 0, "to": 29},
        {"from": 29, "to": 29},
    ],
    ids=["from_after_to", "to_past_log", "both_past_log"],
)
def test_a_consistency_proof_outside_the_log_is_refused_in_the_errors_shape(
    client, rotated_log, query: dict[str, int]
) -> None:
    _errors(client.get(CONSISTENCY, query))


@pytest.mark.parametrize(
    ("path", "query"),
    [
        (INCLUSION, {"index": 0}),
        (INCLUSION, {"size": 1}),
        (INCLUSION, {"index": "a", "size": 1}),
        (CONSISTENCY, {"from": 0}),
        (CONSISTENCY, {"from": "1e3", "to": 2000}),
        (CONSISTENCY, {"from": -1, "to": 5}),
    ],
    ids=[
        "no_size",
        "no_index",
        "index_not_a_number",
        "no_to",
        "from_not_a_number",
        "negative_from",
    ],
)
def test_a_proof_asked_for_without_its_numbers_is_refused_in_the_errors_shape(
    client, authority_keys, path: str, query: dict[str, object]
) -> None:
    _errors(client.get(path, query), 422)


def test_no_proof_is_served_from_an_empty_key_log(client) -> None:
    _errors(client.get(INCLUSION, {"index": 0, "size": 1}))
    _errors(client.get(CONSISTENCY, {"from": 0, "to": 1}))
    assert _path(client.get(CONSISTENCY, {"from": 0, "to": 0})) == []


# --- the contract ---------------------------------------------------------------------------


def test_the_openapi_document_lists_the_five_key_endpoints(client) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (AUTHORITIES, CHECKPOINT, LEAVES, INCLUSION, CONSISTENCY):
        assert "get" in paths.get(path, {}), path
    assert "text/plain" in paths[CHECKPOINT]["get"]["responses"]["200"]["content"]


def test_the_checkpoint_text_names_the_key_logs_origin_its_size_and_its_root(
    client, authority_keys
) -> None:
    text = client.get(CHECKPOINT).content.decode("utf-8")
    origin, size, root = text.split("\n")[:3]
    assert (origin, int(size)) == (f"{log_key().name}/{KEY_LOG_PATH}", MEMBER_STATES)
    assert base64.b64decode(root, validate=True) == _checkpoint(client).root


@pytest.mark.parametrize("path", [AUTHORITIES, CHECKPOINT, LEAVES])
def test_head_answers_like_get_without_a_body(client, authority_keys, path: str) -> None:
    get = client.get(path)
    head = client.head(path)
    assert head.status_code == 200 == get.status_code
    assert head.content == b""
    assert head["Content-Type"] == get["Content-Type"]
