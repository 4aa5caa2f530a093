"""Whether this process can take statements now: the checks behind ``/readyz``, and the gauges
a scrape of ``/metrics`` reads from the database.

Each check answers ``ok`` or says in a fixed phrase what is wrong: no number, name, key or
address, since a load balancer's health checks are seldom private.

- **database**: it takes writes. PostgreSQL: not a standby in recovery, not read-only. SQLite:
  the write lock can be taken within ``WRITE_LOCK_WAIT_SECONDS`` (and is released at once;
  nothing is written).
- **sequencer**: the oldest statement still waiting for its leaf index came in less than
  ``QUORUM_READY_MAX_SEQUENCER_LAG_SECONDS`` ago. Statements are durable before the sequencer
  reaches them, but counts, receipts' proofs and checkpoints wait for it.
- **keys**: every initiative collecting today has at least one authority of its scheme with a
  registered sealing key; without one every statement would be refused. With no initiative
  collecting there is nothing to check.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from prometheus_client import Metric
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from quorum.authorities.models import Authority
from quorum.initiatives.models import Initiative
from quorum.ledger.selectors import checkpoint_newest_at, sequencer_backlog

#: How long the SQLite check waits for the write lock that the intake writer and the sequencer
#: take in turn (each for milliseconds): longer means the database is stuck, not busy.
WRITE_LOCK_WAIT_SECONDS = 2.0

OK = "ok"


@dataclass(frozen=True)
class Readiness:
    checks: dict[str, str]

    @property
    def ready(self) -> bool:
        return all(state == OK for state in self.checks.values())


def readiness(*, now: datetime | None = None) -> Readiness:
    """The three checks, each on its own: one failing does not hide another."""
    moment = now or datetime.now(UTC)
    return Readiness(
        checks={
            "database": _guarded(_database_writable),
            "sequencer": _guarded(lambda: _sequencer_keeps_up(moment)),
            "keys": _guarded(lambda: _keys_present(moment)),
        }
    )


def _guarded(check: Callable[[], str]) -> str:
    try:
        return check()
    except DatabaseError:
        return "database unreachable"


def _database_writable() -> str:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_is_in_recovery(), current_setting('transaction_read_only')")
            in_recovery, read_only = cursor.fetchone()
        if in_recovery:
            return "database is a standby in recovery"
        if read_only == "on":
            return "database is read-only"
        return OK
    if connection.vendor == "sqlite":
        if connection.in_atomic_block:
            return OK  # a caller's transaction (a test's) holds it already
        with _sqlite_busy_timeout(WRITE_LOCK_WAIT_SECONDS):
            try:
                # BEGIN IMMEDIATE (settings: transaction_mode) takes the write lock; nothing is
                # written, and the lock is given back by the COMMIT at once.
                with transaction.atomic():
                    pass
            except DatabaseError:
                return "database is not writable"
        return OK
    return OK


@contextlib.contextmanager
def _sqlite_busy_timeout(seconds: float) -> Iterator[None]:
    """This connection waits at most ``seconds`` for SQLite's write lock, then as before."""
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        previous = int(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")
    try:
        yield
    finally:
        if connection.connection is not None:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA busy_timeout = {previous}")


def _sequencer_keeps_up(now: datetime) -> str:
    oldest = sequencer_backlog().oldest_received_at
    if oldest is None:
        return OK
    if (now - oldest).total_seconds() >= settings.QUORUM_READY_MAX_SEQUENCER_LAG_SECONDS:
        return "sequencer is behind"
    return OK


def _keys_present(now: datetime) -> str:
    today = timezone.localdate(now)
    collecting = set(
        Initiative.objects.filter(
            status=Initiative.Status.COLLECTING,
            collection_start__lte=today,
            collection_end__gte=today,
        ).values_list("scheme", flat=True)
    )
    if not collecting:
        return OK
    keyed = set(
        Authority.objects.filter(scheme__in=collecting, current_key__isnull=False).values_list(
            "scheme", flat=True
        )
    )
    if collecting - keyed:
        return "no authority key for a collecting initiative"
    return OK


class LedgerCollector(Collector):
    """Gauges read from the database at each scrape, the same whichever process answers it."""

    def collect(self) -> Iterator[Metric]:
        now = time.time()
        try:
            backlog = sequencer_backlog()
            newest = checkpoint_newest_at()
        except DatabaseError:
            return
        waiting = GaugeMetricFamily(
            "quorum_sequencer_backlog",
            "Statements stored but not yet appended to their log by the sequencer.",
        )
        waiting.add_metric([], backlog.waiting)
        lag = GaugeMetricFamily(
            "quorum_sequencer_lag_seconds",
            "Age of the oldest statement still waiting for the sequencer (0 when none waits).",
        )
        oldest = backlog.oldest_received_at
        lag.add_metric([], max(0.0, now - oldest.timestamp()) if oldest else 0.0)
        yield waiting
        yield lag
        if newest is not None:
            age = GaugeMetricFamily(
                "quorum_checkpoint_age_seconds",
                "Seconds since the newest checkpoint of any log was signed (new ones come only "
                "with new statements).",
            )
            age.add_metric([], max(0.0, now - newest.timestamp()))
            yield age
