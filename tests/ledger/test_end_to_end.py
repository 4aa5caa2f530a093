"""Sign → sequence → every receipt proven in the log; the log only ever grows."""

from __future__ import annotations

import json

import pytest

from quorum.ledger.sequencer import sequence_all
from quorum.proofs import merkle
from quorum.proofs.signed_note import open_checkpoint

pytestmark = pytest.mark.django_db(transaction=True)

API = "/api/v1/initiatives/clean-air"


def sign(client, body: dict) -> str:
    response = client.post(
        f"{API}/statements", data=json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 201, response.content
    return response.json()["receipt"]


def checkpoint(client):
    verifier = client.get("/api/v1/log-key").content.decode().strip()
    note = client.get(f"{API}/checkpoint").content.decode()
    return open_checkpoint(note, verifier, origin="quorum.localhost/clean-air")


def test_every_receipt_is_provably_in_the_log_and_the_log_only_grows(
    client, collecting_initiative, authority_keys, settings, polish_citizen, german_citizen
) -> None:
    settings.QUORUM_POW = False
    settings.QUORUM_RATE_BURST = 1000
    receipts = [sign(client, polish_citizen) for _ in range(7)] + [
        sign(client, german_citizen) for _ in range(4)
    ]
    sequence_all()
    first = checkpoint(client)
    assert first.size == 11
    receipts += [sign(client, polish_citizen) for _ in range(5)]
    sequence_all()
    second = checkpoint(client)
    assert second.size == 16

    for receipt in receipts:
        proof = client.get(f"{API}/proof/inclusion", {"receipt": receipt}).json()
        assert proof["tree_size"] == second.size
        assert merkle.verify_inclusion(
            bytes.fromhex(receipt),
            proof["leaf_index"],
            second.size,
            [bytes.fromhex(h) for h in proof["path"]],
            second.root,
        )
    # An early receipt is also in the older tree.
    old = client.get(f"{API}/proof/inclusion", {"receipt": receipts[0], "size": first.size}).json()
    assert merkle.verify_inclusion(
        bytes.fromhex(receipts[0]),
        old["leaf_index"],
        first.size,
        [bytes.fromhex(h) for h in old["path"]],
        first.root,
    )
    path = client.get(f"{API}/proof/consistency", {"from": first.size, "to": second.size}).json()[
        "path"
    ]
    assert merkle.verify_consistency(
        first.size, second.size, first.root, second.root, [bytes.fromhex(h) for h in path]
    )

    counts = client.get(f"{API}/counts").json()
    assert counts["total"] == 16
    assert counts["by_member_state"]["PL"]["count"] == 12
    assert counts["by_member_state"]["DE"]["count"] == 4
    assert sum(c["count"] for c in counts["by_member_state"].values()) == counts["checkpoint_size"]


def test_public_reads_are_open_to_any_origin_and_cacheable(client, collecting_initiative) -> None:
    sequence_all()
    for path in ("/checkpoint", "/counts", "/leaves"):
        response = client.get(API + path)
        assert response.status_code == 200
        assert response["Access-Control-Allow-Origin"] == "*"
        assert "stale-while-revalidate" in response["Cache-Control"]
        assert response["Cache-Control"].startswith("public, max-age=")


def test_a_receipt_not_in_the_log_gets_404_and_a_malformed_one_422(
    client, collecting_initiative
) -> None:
    sequence_all()
    assert client.get(f"{API}/proof/inclusion", {"receipt": "ab" * 32}).status_code == 404
    assert client.get(f"{API}/proof/inclusion", {"receipt": "xyz"}).status_code == 422
    assert client.get(f"{API}/proof/consistency", {"from": "a", "to": "1"}).status_code == 422
    assert client.get(f"{API}/proof/consistency", {"from": 5, "to": 1}).status_code == 404
    assert client.get("/api/v1/initiatives/nope/counts").status_code == 404
