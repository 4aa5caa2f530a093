"""The intake writer: rows committed in batches, each decided with what must go in with it."""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from quorum.ledger.intake import IntakeRow, IntakeUnavailable, IntakeWriter
from quorum.ledger.models import Statement

pytestmark = pytest.mark.django_db(transaction=True)  # the writer commits on its own thread


class Refused(Exception):
    pass


class OddTicketsRefused:
    """Admits even tickets; refuses odd ones. Counts the batches it decides."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    def admit_many(self, tickets: Sequence[Any]) -> list[BaseException | None]:
        self.batches.append(list(tickets))
        return [Refused(ticket) if ticket % 2 else None for ticket in tickets]


class Broken:
    def admit_many(self, tickets: Sequence[Any]) -> list[BaseException | None]:
        raise RuntimeError("the admission's table cannot be written")


def row(initiative_id: int, n: int) -> IntakeRow:
    ciphertext = os.urandom(96)
    return IntakeRow(
        initiative_id=initiative_id,
        member_state="PL",
        ciphertext=ciphertext,
        ciphertext_sha256=hashlib.sha256(ciphertext).digest(),
        leaf_hash=hashlib.sha256(b"leaf %d" % n).digest(),
        received_at=datetime(2026, 12, 1, 12, 0, n, tzinfo=UTC),
    )


def write_all(writer: IntakeWriter, writes: list[dict[str, Any]]) -> list[BaseException | None]:
    """All writes at once from one event loop (so they share batches); each one's outcome."""

    async def at_once() -> list[Any]:
        return await asyncio.gather(*(writer.write(**w) for w in writes), return_exceptions=True)

    # asyncio.run in a thread of its own: the test's thread may already run a loop.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, at_once()).result()


@pytest.fixture
def writer():
    writer = IntakeWriter(max_batch=256, max_wait=0.05)
    yield writer
    writer.stop()


def test_a_refused_ticket_keeps_its_row_out_and_the_rest_of_the_batch_goes_in(
    writer, collecting_initiative
) -> None:
    admission = OddTicketsRefused()
    rows = [row(collecting_initiative.pk, n) for n in range(6)]

    outcomes = write_all(
        writer, [{"row": r, "admission": admission, "ticket": n} for n, r in enumerate(rows)]
    )

    assert [type(o) for o in outcomes] == [type(None), Refused] * 3
    stored = set(Statement.objects.values_list("leaf_hash", flat=True))
    assert {bytes(h) for h in stored} == {rows[n].leaf_hash for n in (0, 2, 4)}
    assert sorted(t for batch in admission.batches for t in batch) == list(range(6))
    assert len(admission.batches) < 6  # decided for a batch at a time, not one by one


def test_a_ticket_alone_is_decided_and_stores_no_row(writer, collecting_initiative) -> None:
    admission = OddTicketsRefused()

    outcomes = write_all(
        writer,
        [
            {"row": None, "admission": admission, "ticket": 2},
            {"row": None, "admission": admission, "ticket": 3},
        ],
    )

    assert outcomes[0] is None
    assert isinstance(outcomes[1], Refused)
    assert Statement.objects.count() == 0


def test_an_admission_that_fails_fails_its_whole_batch_and_stores_nothing(
    writer, collecting_initiative
) -> None:
    rows = [row(collecting_initiative.pk, n) for n in range(4)]
    writes: list[dict[str, Any]] = [{"row": rows[0]}, {"row": rows[1]}]
    writes += [{"row": r, "admission": Broken(), "ticket": n} for n, r in enumerate(rows[2:])]

    outcomes = write_all(writer, writes)

    assert all(isinstance(o, IntakeUnavailable) for o in outcomes), outcomes
    assert Statement.objects.count() == 0
    # The next batch has a fresh connection and goes in.
    assert write_all(writer, [{"row": rows[0]}]) == [None]
    assert Statement.objects.count() == 1


def test_a_batch_is_stored_with_one_insert_per_five_hundred_rows(
    writer, collecting_initiative
) -> None:
    """Each statement the database runs inside the write lock may wait for the GIL in a busy
    process: a batch is one INSERT (or one per 500 rows), not one a row."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from quorum.ledger.intake import _Write

    rows = [row(collecting_initiative.pk, n % 60) for n in range(1_201)]
    with CaptureQueriesContext(connection) as queries:  # its commit, called on this thread
        refusals = writer._commit([_Write(r, None, None) for r in rows])

    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert refusals == [None] * len(rows)
    assert len(inserts) == 3
    stored = set(Statement.objects.values_list("leaf_hash", "ciphertext_sha256"))
    assert {(bytes(r.leaf_hash), bytes(r.ciphertext_sha256)) for r in rows} == {
        (bytes(leaf), bytes(digest)) for leaf, digest in stored
    }
