"""The sequencer: new statements become leaves, the log grows, a checkpoint is signed.

Every ~second it takes each initiative's statements without an index, in id order, assigns
consecutive leaf indices, appends their leaf hashes to the Merkle log (O(log n) per leaf),
adds them to the per-Member-State and per-partner counts and signs a checkpoint — all in one transaction,
so a checkpoint, its counts and its leaves never disagree. Counting is this batch: there is
no per-signature update of a shared row (the e-petitions lesson).

Each checkpoint keeps the counts at its size, and the latest checkpoint of each UTC hour and
of each UTC day is marked (``last_of_hour``, ``last_of_day``): the count over time
(``ledger.selectors.count_series``) is read from those, each point a checkpoint anyone can
check against the log.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import F, Model

from quorum.core.log_key import log_key, log_origin
from quorum.core.volatile import write_transaction
from quorum.initiatives.models import Initiative
from quorum.ledger.models import (
    Checkpoint,
    LogState,
    MemberStateCount,
    PartnerCount,
    Statement,
)
from quorum.ledger.selectors import INTERVALS, Interval, series_period
from quorum.ledger.store import DatabaseNodeStore
from quorum.proofs import merkle
from quorum.proofs.signed_note import format_checkpoint, sign_note

logger = logging.getLogger(__name__)

# Each batch is one transaction, and on SQLite it holds the one write lock that the intake
# writer needs: at ~25 µs per leaf, 2,000 leaves keep it for about 50 ms
# (bench/sequencer_rate.py), and the writer's next batch goes in between two of them.
BATCH_SIZE = 2_000
# Between two full batches, so that the writers queued for the lock (SQLiteWriteQueue) get it
# before the next batch takes it again.
BATCH_PAUSE_SECONDS = 0.01


@dataclass(frozen=True)
class Sequenced:
    initiative_id: int
    appended: int
    size: int


def initiatives_needing_work() -> list[tuple[int, str]]:
    pending = set(
        Statement.objects.filter(leaf_index__isnull=True)
        .values_list("initiative_id", flat=True)
        .distinct()
    )
    unsigned = set(
        Initiative.objects.exclude(status=Initiative.Status.DRAFT)
        .exclude(pk__in=Checkpoint.objects.values("initiative_id"))
        .values_list("pk", flat=True)
    )
    wanted = pending | unsigned
    return list(Initiative.objects.filter(pk__in=wanted).order_by("pk").values_list("pk", "slug"))


def _assign_indices(pairs: list[tuple[int, int]]) -> None:
    """(leaf index, statement id) pairs in one executemany: the ORM's bulk_update builds a CASE
    per row and costs ~30 times more (bench/sequencer_rate.py)."""
    if not pairs:
        return
    table = connection.ops.quote_name(Statement._meta.db_table)
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET leaf_index = %s WHERE id = %s", pairs)


def _add_counts(
    initiative_id: int,
    model: type[MemberStateCount] | type[PartnerCount],
    key: str,
    values: list[str],
) -> None:
    """Add a batch's statements to one kind of count: one UPDATE per value, not per statement."""
    for value, added in Counter(values).items():
        updated = model.objects.filter(initiative_id=initiative_id, **{key: value}).update(
            count=F("count") + added
        )
        if not updated:
            model.objects.create(initiative_id=initiative_id, count=added, **{key: value})


def counts_document(
    by_member_state: Mapping[str, int], by_partner: Mapping[str, int]
) -> dict[str, dict[str, int]]:
    """A checkpoint's ``counts``: codes with at least one statement, in order."""
    return {
        "by_member_state": {code: n for code, n in sorted(by_member_state.items()) if n > 0},
        "by_partner": {code: n for code, n in sorted(by_partner.items()) if code and n > 0},
    }


def _counts_now(initiative_id: int) -> dict[str, dict[str, int]]:
    """The counts as this batch leaves them: read back from the rows it has just updated
    (at most one per Member State and per partner), so a checkpoint's counts are exactly
    those the counts endpoint serves with it."""
    return counts_document(
        dict(
            MemberStateCount.objects.filter(initiative_id=initiative_id).values_list(
                "member_state", "count"
            )
        ),
        dict(
            PartnerCount.objects.filter(initiative_id=initiative_id).values_list("partner", "count")
        ),
    )


def _unmark_previous(initiative_id: int, size: int, signed_at: datetime) -> None:
    """The checkpoint before the one just signed (always of the log's previous size) stops
    being the last of its hour, and of its day, if it is in the same one: one row each time,
    by the unique index."""
    for interval in INTERVALS:
        flag = f"last_of_{interval}"
        Checkpoint.objects.filter(
            initiative_id=initiative_id,
            size=size,
            created_at__gte=series_period(signed_at, interval),
            **{flag: True},
        ).update(**{flag: False})


def sequence_initiative(
    initiative_id: int, slug: str, *, batch_size: int = BATCH_SIZE
) -> Sequenced | None:
    """Append up to `batch_size` new statements; None if there was nothing to do."""
    with write_transaction():
        state, _ = LogState.objects.select_for_update().get_or_create(
            initiative_id=initiative_id, defaults={"size": 0, "root": merkle.EMPTY_ROOT}
        )
        # Tuples, not model instances: building 2,000 models took most of a batch's time.
        pending: list[tuple[int, str, bytes | memoryview, str]] = list(
            Statement.objects.filter(initiative_id=initiative_id, leaf_index__isnull=True)
            .order_by("id")
            .values_list("id", "member_state", "leaf_hash", "partner")[:batch_size]
        )
        has_checkpoint = Checkpoint.objects.filter(initiative_id=initiative_id).exists()
        if not pending and has_checkpoint:
            return None
        size = state.size
        _assign_indices([(size + offset, row[0]) for offset, row in enumerate(pending)])
        store = DatabaseNodeStore(initiative_id)
        merkle.append(store, size, [bytes(row[2]) for row in pending])
        new_size = size + len(pending)
        _add_counts(initiative_id, MemberStateCount, "member_state", [row[1] for row in pending])
        _add_counts(initiative_id, PartnerCount, "partner", [row[3] for row in pending if row[3]])
        root = merkle.root(store, new_size)
        key = log_key()
        note = sign_note(format_checkpoint(log_origin(slug), new_size, root), key.name, key.seed)
        signed = Checkpoint.objects.create(
            initiative_id=initiative_id,
            size=new_size,
            root=root,
            note=note,
            counts=_counts_now(initiative_id),
            last_of_hour=True,
            last_of_day=True,
        )
        if has_checkpoint:
            _unmark_previous(initiative_id, size, signed.created_at)
        state.size = new_size
        state.root = root
        state.save(update_fields=["size", "root", "updated_at"])
    return Sequenced(initiative_id=initiative_id, appended=len(pending), size=new_size)


def sequence_all(*, batch_size: int = BATCH_SIZE) -> list[Sequenced]:
    """One round over every initiative with work; repeats an initiative until it is caught up."""
    done: list[Sequenced] = []
    for initiative_id, slug in initiatives_needing_work():
        while True:
            result = sequence_initiative(initiative_id, slug, batch_size=batch_size)
            if result is None:
                break
            done.append(result)
            if result.appended < batch_size:
                break
            time.sleep(BATCH_PAUSE_SECONDS)
    return done


# --- checkpoints signed before they kept their counts ---------------------------------------

#: Rows read or written at a time by the fill below: no cursor stays open across a write
#: (SQLite's cursors do not isolate a read from the same connection's writes).
FILL_CHUNK = 2_000


def checkpoint_counts_fill(*, statement_model: type[Model], checkpoint_model: type[Model]) -> int:
    """Give every checkpoint the counts at its size, recounted from the statements with a
    lower leaf index, and mark the last checkpoint of each UTC hour and day; returns how many
    checkpoints it wrote. For the checkpoints signed before they kept their counts (the
    migration that added them calls this with its historical models).

    One pass over each log's statements and checkpoints in order, in pages: O(statements +
    checkpoints) time, and memory for one page.
    """
    filled = 0
    initiatives = (
        checkpoint_model._default_manager.order_by("initiative_id")
        .values_list("initiative_id", flat=True)
        .distinct()
    )
    for initiative_id in list(initiatives):
        filled += _fill_initiative(statement_model, checkpoint_model, initiative_id)
    return filled


def _pages(rows: Any, key: str) -> Iterator[tuple[Any, ...]]:
    """Every row of ``rows`` (values_list, ``key`` first, never negative) in ``key`` order, a
    page at a time."""
    after = -1
    while True:
        page = list(rows.filter(**{f"{key}__gt": after}).order_by(key)[:FILL_CHUNK])
        yield from page
        if len(page) < FILL_CHUNK:
            return
        after = page[-1][0]


def _fill_initiative(
    statement_model: type[Model], checkpoint_model: type[Model], initiative_id: int
) -> int:
    leaves = _pages(
        statement_model._default_manager.filter(initiative_id=initiative_id).values_list(
            "leaf_index", "member_state", "partner"
        ),
        "leaf_index",
    )
    checkpoints = _pages(
        checkpoint_model._default_manager.filter(initiative_id=initiative_id).values_list(
            "size", "pk", "created_at"
        ),
        "size",
    )
    by_member_state: Counter[str] = Counter()
    by_partner: Counter[str] = Counter()
    leaf = next(leaves, None)
    # (pk, counts, created_at) of each checkpoint, written once the next one's hour is known.
    waiting: list[tuple[int, dict[str, dict[str, int]], datetime]] = []
    filled = 0
    for size, pk, created_at in checkpoints:
        while leaf is not None and leaf[0] < size:
            by_member_state[leaf[1]] += 1
            by_partner[leaf[2]] += 1
            leaf = next(leaves, None)
        waiting.append((pk, counts_document(by_member_state, by_partner), created_at))
        if len(waiting) > FILL_CHUNK:
            filled += _write_filled(checkpoint_model, waiting[:-1], next_at=created_at)
            waiting = waiting[-1:]
    return filled + _write_filled(checkpoint_model, waiting, next_at=None)


def _write_filled(
    checkpoint_model: type[Model],
    rows: list[tuple[int, dict[str, dict[str, int]], datetime]],
    *,
    next_at: datetime | None,
) -> int:
    """Write consecutive checkpoints' counts and flags; ``next_at``: when the checkpoint after
    the last of them was signed (None: there is none)."""
    if not rows:
        return 0
    following = [at for _pk, _counts, at in rows[1:]] + [next_at]
    checkpoint_model._default_manager.bulk_update(
        [
            checkpoint_model(
                pk=pk,
                counts=counts,
                **{f"last_of_{interval}": _last_of(at, later, interval) for interval in INTERVALS},
            )
            for (pk, counts, at), later in zip(rows, following, strict=True)
        ],
        ["counts", *(f"last_of_{interval}" for interval in INTERVALS)],
    )
    return len(rows)


def _last_of(at: datetime, later: datetime | None, interval: Interval) -> bool:
    """The sequencer's rule: a checkpoint is the last of its hour (day) unless the next one is
    in the same hour (day) or, with a clock set back, in an earlier one."""
    return later is None or series_period(at, interval) < series_period(later, interval)
