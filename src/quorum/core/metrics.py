"""The platform's own metrics, in Prometheus's text format (prometheus-client).

What is counted is how the platform is doing, never who uses it: statements accepted, and
refused by the stable code of their domain error; how long the intake took; how many calls
each group call answered at once; rate-limit refusals. No label holds an address, an
initiative's content, a name or any other value a client chose: a refusal's reason is one of
``REASONS``, whatever the error says, and a group call is named in code.

``quorum serve`` runs several processes (granian's workers, the sequencer). Each writes its
counts to memory-mapped files of its own in a private directory (prometheus-client's
multiprocess mode, :func:`share_between_processes`), and a scrape of any worker adds up the
files of all. Without it (a test run, ``runserver``) the counts are this process's.

An update on the hot path costs one or two microseconds: the children of each label are made
once and kept, so a statement only adds to a float (in multiprocess mode, in a mapped file).
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator
from pathlib import Path
from typing import Any, Final, ParamSpec, TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    Metric,
    generate_latest,
    values,
)
from prometheus_client.core import CounterMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from quorum.core.datadir import make_private_directory
from quorum.core.errors import DomainError

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

#: The environment variable prometheus-client reads for its multiprocess directory.
MULTIPROCESS_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE: Final = CONTENT_TYPE_LATEST

#: Why a statement was refused: the ``code`` of its domain error. Any other code counts as
#: ``other`` and an exception that is no domain error as ``error``, so that no label value can
#: come from a request.
REASONS: Final = frozenset(
    {
        "invalid",  # a field, the nationality or the proof of work refused (422)
        "rate_limited",  # too many statements from one client (429)
        "not_collecting",  # the initiative is not collecting today (409)
        "not_found",  # no such public initiative (404)
        "unavailable",  # the intake or a shared store failed; fail closed (503)
        "bad_request",
        "conflict",
    }
)

#: What became of a statement: a receipt, or one of the reasons.
OUTCOMES: Final = frozenset({"accepted", "other", "error", *REASONS})
INTAKE_HISTOGRAM: Final = "quorum_intake_seconds"

#: Seconds, from a statement's arrival at the intake service to its receipt or refusal:
#: a group commit takes milliseconds, a slow disk or a locked database seconds.
INTAKE_BUCKETS: Final = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
#: Calls per batch of a group call: powers of two up to the intake's largest batch setting.
BATCH_BUCKETS: Final = tuple(float(2**n) for n in range(14))


class _Metrics:
    """Every metric of this process, with the label children the hot path uses made ahead.

    A statement costs one histogram observation (two additions): the counts of statements
    accepted and refused by reason are the histogram's counts, given their own names at each
    scrape (:class:`_StatementCounts`).
    """

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.intake_seconds = Histogram(
            INTAKE_HISTOGRAM,
            "Time the intake service took for a statement, until its receipt or refusal, "
            "by outcome: accepted, or the reason it was refused.",
            ["outcome"],
            buckets=INTAKE_BUCKETS,
            registry=registry,
        )
        self.batch_size = Histogram(
            "quorum_group_call_batch_size",
            "Calls answered together by one batch of a group call (group commit).",
            ["group"],
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self.sign_in_refusals = Counter(
            "quorum_sign_in_throttled",
            "Staff sign-in attempts refused by the throttle (per username or per client).",
            registry=registry,
        )
        self.intake_by = {outcome: self.intake_seconds.labels(outcome) for outcome in OUTCOMES}
        self.batches: dict[str, Histogram] = {}

    def batch(self, group: str) -> Histogram:
        child = self.batches.get(group)
        if child is None:
            child = self.batches[group] = self.batch_size.labels(group)
        return child


class _StatementCounts(Collector):
    """The intake histogram as it is, and its counts under the names an operator looks for:
    ``quorum_statements_accepted_total``, ``quorum_statements_refused_total{reason}`` and
    ``quorum_rate_limit_refusals_total{limit}`` (statements from the histogram, staff sign-in
    from its counter)."""

    def __init__(self, source: Collector) -> None:
        self._source = source

    def collect(self) -> Iterator[Metric]:
        accepted = CounterMetricFamily(
            "quorum_statements_accepted",
            "Statements answered with a receipt (a resubmission of the same form included).",
        )
        refused = CounterMetricFamily(
            "quorum_statements_refused",
            "Statements refused, by the code of the refusal.",
            labels=["reason"],
        )
        limited = CounterMetricFamily(
            "quorum_rate_limit_refusals",
            "Requests refused by a rate limit: statements per client, staff sign-in attempts.",
            labels=["limit"],
        )
        counts = dict.fromkeys(OUTCOMES, 0.0)
        sign_in = 0.0
        for family in self._source.collect():
            if family.name == INTAKE_HISTOGRAM:
                for sample in family.samples:
                    if sample.name == INTAKE_HISTOGRAM + "_count":
                        outcome = sample.labels.get("outcome", "")
                        if outcome in counts:
                            counts[outcome] += sample.value
            elif family.name == "quorum_sign_in_throttled":
                for sample in family.samples:
                    if sample.name == "quorum_sign_in_throttled_total":
                        sign_in += sample.value
            yield family
        accepted.add_metric([], counts.pop("accepted"))
        for reason in sorted(counts):
            refused.add_metric([reason], counts[reason])
        limited.add_metric(["statement"], counts["rate_limited"])
        limited.add_metric(["sign_in"], sign_in)
        yield from (accepted, refused, limited)


def multiprocess() -> bool:
    """Whether this process writes its counts to the shared directory of ``quorum serve``."""
    return bool(getattr(values.ValueClass, "_multiprocess", False))


# Registered only when counting for this process alone: in multiprocess mode a scrape reads
# the files (a registered metric would be counted twice).
_registry = CollectorRegistry(auto_describe=True)
_metrics = _Metrics(None if multiprocess() else _registry)


def counted_intake(
    function: Callable[P, Awaitable[R]],
) -> Callable[P, Coroutine[Any, Any, R]]:
    """Count and time each call of the intake service: accepted, or refused by reason."""

    @functools.wraps(function)
    async def counted(*args: P.args, **kwargs: P.kwargs) -> R:
        start = time.perf_counter()
        try:
            result = await function(*args, **kwargs)
        except DomainError as exc:
            _observe(exc.code if exc.code in REASONS else "other", start)
            raise
        except Exception:
            _observe("error", start)
            raise
        _observe("accepted", start)
        return result

    return counted


# A metric that cannot be written (its file gone, the disk full) must never change an answer
# nor stop a group call's thread: it is lost, and logged once per process.


def _observe(outcome: str, start: float) -> None:
    try:
        _metrics.intake_by[outcome].observe(time.perf_counter() - start)
    except Exception:
        _lost()


def observe_batch(group: str, size: int) -> None:
    """One batch of the group call named ``group`` answered ``size`` calls."""
    try:
        _metrics.batch(group).observe(size)
    except Exception:
        _lost()


def sign_in_rate_limited() -> None:
    """A staff sign-in attempt was refused by the throttle."""
    try:
        _metrics.sign_in_refusals.inc()
    except Exception:
        _lost()


@functools.cache
def _lost() -> None:
    logger.exception("could not update a metric; later failures are not logged")


def exposition(extra: Iterable[Collector] = ()) -> bytes:
    """Every process's metrics, and those of ``extra`` (read at this scrape), as text."""
    registry = CollectorRegistry(auto_describe=False)
    source: Collector = _registry
    if multiprocess():
        source = CollectorRegistry(auto_describe=False)
        MultiProcessCollector(source)
    registry.register(_StatementCounts(source))
    for collector in extra:
        registry.register(collector)
    return generate_latest(registry)


# Directories of ``quorum serve`` processes are named after the serving process, so that two
# servers on one data directory never share one, and one left by a killed server is removed.
_DIRECTORY_PREFIX: Final = "serve-"


def share_between_processes(root: Path) -> Path:
    """Before the server's processes start: make their counts one set, in a fresh directory.

    Creates ``root/serve-<pid>`` (0700), removes the directories of servers that no longer run,
    and switches this process (and the workers it forks, and the processes it starts with its
    environment) to the multiprocess mode. Metrics already made are made again in that mode.
    An operator's own ``PROMETHEUS_MULTIPROC_DIR`` is kept as it is.
    """
    global _metrics
    configured = os.environ.get(MULTIPROCESS_ENV)
    if configured:
        directory = Path(configured)
    else:
        make_private_directory(root)
        _remove_stale(root)
        directory = root / f"{_DIRECTORY_PREFIX}{os.getpid()}"
        shutil.rmtree(directory, ignore_errors=True)
        make_private_directory(directory)
        os.environ[MULTIPROCESS_ENV] = str(directory)
    if not multiprocess():
        values.ValueClass = values.MultiProcessValue()
        _metrics = _Metrics(None)
    return directory


def stop_sharing(directory: Path) -> None:
    """After the server's processes ended: remove the directory :func:`share_between_processes`
    made (never an operator's own)."""
    if directory.name.startswith(_DIRECTORY_PREFIX):
        shutil.rmtree(directory, ignore_errors=True)


def _remove_stale(root: Path) -> None:
    for entry in root.iterdir():
        if not entry.name.startswith(_DIRECTORY_PREFIX):
            continue
        try:
            pid = int(entry.name.removeprefix(_DIRECTORY_PREFIX))
        except ValueError:
            continue
        if pid != os.getpid() and not _running(pid):
            shutil.rmtree(entry, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: not ours to judge
    return True
