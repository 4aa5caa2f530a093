"""The sequencer: new statements become leaves, the log grows, a checkpoint is signed.

Every ~second it takes each initiative's statements without an index, in id order, assigns
consecutive leaf indices, appends their leaf hashes to the Merkle log (O(log n) per leaf),
adds them to the per-Member-State and per-partner counts and signs a checkpoint — all in one transaction,
so a checkpoint, its counts and its leaves never disagree. Counting is this batch: there is
no per-signature update of a shared row (the e-petitions lesson).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass

from django.db import connection
from django.db.models import F

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
        Checkpoint.objects.create(initiative_id=initiative_id, size=new_size, root=root, note=note)
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
