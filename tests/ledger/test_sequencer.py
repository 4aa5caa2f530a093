"""The sequencer: consecutive leaf indices, batched counts, signed checkpoints, one at a time."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

import pytest
from django.db import connection, connections

from quorum.core.log_key import log_key
from quorum.ledger.locking import SequencerLock
from quorum.ledger.models import (
    Checkpoint,
    LogNode,
    MemberStateCount,
    PartnerCount,
    Statement,
)
from quorum.ledger.sequencer import sequence_all
from quorum.proofs import merkle
from quorum.proofs.signed_note import open_checkpoint

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def add_statements(write_leaves) -> Callable[..., list[bytes]]:
    """``add_statements(initiative, count, member_state="PL", partner="")``: ``count`` ledger
    rows as the intake writes them (the shared ``write_leaves``); their leaf hashes."""

    def add(initiative, count: int, member_state: str = "PL", partner: str = "") -> list[bytes]:
        return write_leaves(initiative, [(member_state, partner)] * count)

    return add


def test_a_collecting_initiative_gets_a_signed_empty_checkpoint(collecting_initiative) -> None:
    sequence_all()
    checkpoint = Checkpoint.objects.get()
    opened = open_checkpoint(
        checkpoint.note, log_key().verifier, origin="quorum.localhost/clean-air"
    )
    assert (opened.size, opened.root) == (0, merkle.EMPTY_ROOT)


def test_statements_become_consecutive_leaves_in_id_order(
    collecting_initiative, add_statements
) -> None:
    leaves = add_statements(collecting_initiative, 5)
    sequence_all()
    indexed = list(Statement.objects.order_by("id").values_list("leaf_index", flat=True))
    assert indexed == [0, 1, 2, 3, 4]
    latest = Checkpoint.objects.order_by("-size").first()
    opened = open_checkpoint(latest.note, log_key().verifier, origin="quorum.localhost/clean-air")
    assert opened.size == 5
    assert opened.root == merkle.root_from_leaves(leaves)


def test_counts_are_added_per_batch_per_member_state(collecting_initiative, add_statements) -> None:
    add_statements(collecting_initiative, 3, "PL")
    add_statements(collecting_initiative, 2, "DE")
    sequence_all()
    add_statements(collecting_initiative, 1, "PL")
    sequence_all()
    counts = dict(MemberStateCount.objects.values_list("member_state", "count"))
    assert counts == {"PL": 4, "DE": 2}


def test_counts_per_partner_are_added_per_batch_and_equal_the_leaves(
    collecting_initiative, add_statements
) -> None:
    from quorum.ledger.selectors import initiative_counts

    add_statements(collecting_initiative, 3, "PL", partner="edri")
    add_statements(collecting_initiative, 2, "DE")
    sequence_all()
    add_statements(collecting_initiative, 1, "DE", partner="edri")
    add_statements(collecting_initiative, 2, "PL", partner="reclaim-2027")
    sequence_all()
    assert dict(PartnerCount.objects.values_list("partner", "count")) == {
        "edri": 4,
        "reclaim-2027": 2,
    }
    counts = initiative_counts(collecting_initiative)
    assert counts.by_partner == {"edri": 4, "reclaim-2027": 2}
    assert counts.without_partner == 2
    in_leaves = Statement.objects.exclude(partner="").values_list("partner", flat=True)
    assert sorted(in_leaves) == ["edri"] * 4 + ["reclaim-2027"] * 2


def test_a_round_without_new_statements_signs_nothing_new(
    collecting_initiative, add_statements
) -> None:
    add_statements(collecting_initiative, 2)
    sequence_all()
    before = Checkpoint.objects.count()
    assert sequence_all() == []
    assert Checkpoint.objects.count() == before


def test_a_large_backlog_is_taken_in_batches_until_caught_up(
    collecting_initiative, add_statements
) -> None:
    leaves = add_statements(collecting_initiative, 10)
    results = sequence_all(batch_size=3)
    assert [r.size for r in results if r.appended] == [3, 6, 9, 10]
    sizes = sorted(Checkpoint.objects.values_list("size", flat=True))
    assert sizes[-4:] == [3, 6, 9, 10]
    assert bytes(Checkpoint.objects.get(size=10).root) == merkle.root_from_leaves(leaves)


def test_the_log_stores_at_most_two_nodes_per_leaf(collecting_initiative, add_statements) -> None:
    add_statements(collecting_initiative, 100)
    sequence_all(batch_size=7)
    assert LogNode.objects.count() <= 200


def test_two_sequencers_at_once_never_reuse_an_index_nor_leave_a_gap(
    collecting_initiative, add_statements
) -> None:
    stop = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            while not stop.is_set():
                sequence_all(batch_size=5)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    sequencers = [threading.Thread(target=run) for _ in range(2)]
    for thread in sequencers:
        thread.start()
    total = 0
    for _ in range(12):
        add_statements(collecting_initiative, 7)
        total += 7
    # Let them catch up, then stop.
    for _ in range(200):
        if not Statement.objects.filter(leaf_index__isnull=True).exists():
            break
        threading.Event().wait(0.05)
    stop.set()
    for thread in sequencers:
        thread.join(30)
    assert not errors, errors
    indices = sorted(Statement.objects.values_list("leaf_index", flat=True))
    assert indices == list(range(total))
    latest = Checkpoint.objects.order_by("-size").first()
    assert latest.size == total
    leaves = [
        bytes(h)
        for h in Statement.objects.order_by("leaf_index").values_list("leaf_hash", flat=True)
    ]
    assert bytes(latest.root) == merkle.root_from_leaves(leaves)


def test_only_one_sequencer_holds_the_lock(data_dir) -> None:
    first = SequencerLock()
    assert first.try_acquire()
    result: list[bool] = []

    def other() -> None:
        # Another thread has its own database connection, as another process would.
        second = SequencerLock()
        result.append(second.try_acquire())
        second.release()
        connections.close_all()

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert result == [False]
    first.release()
    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert result == [False, True]


def test_the_sequencer_endpoint_data_matches_the_database(
    client, collecting_initiative, add_statements
) -> None:
    add_statements(collecting_initiative, 3)
    sequence_all()
    counts = client.get("/api/v1/initiatives/clean-air/counts").json()
    assert counts["total"] == counts["checkpoint_size"] == 3
    assert counts["by_member_state"]["PL"] == {
        "count": 3,
        "threshold": 38160,
        "reached": False,
        "paper_declared": 0,
        "reached_with_paper": False,
    }
    assert json.loads(json.dumps(counts))["states_reached"] == 0
