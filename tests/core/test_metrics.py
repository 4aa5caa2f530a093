"""The platform's metrics: counted by outcome, never by client, and one set for all processes."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from quorum.core import metrics
from quorum.core.errors import DomainError, Invalid, NotFound, TooManyRequests


def samples() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def refused(reason: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return ("quorum_statements_refused_total", (("reason", reason),))


ACCEPTED = ("quorum_statements_accepted_total", ())


class Odd(DomainError):
    code = "made_up_by_someone"


@metrics.counted_intake
async def intake(outcome: BaseException | None) -> str:
    if outcome is not None:
        raise outcome
    return "receipt"


def call(outcome: BaseException | None) -> str:
    """``intake(outcome)`` on an event loop of its own thread, whatever loop this one holds."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(intake(outcome))).result()


def run(outcome: BaseException | None) -> str | None:
    try:
        return call(outcome)
    except BaseException:
        return None


def test_the_intake_is_counted_as_accepted_or_refused_by_the_code_of_its_error() -> None:
    before = samples()
    assert run(None) == "receipt"
    run(Invalid("no", {"id_number": ["bad"]}))
    run(TooManyRequests("slow down", retry_after=3))
    run(TooManyRequests("slow down", retry_after=3))
    run(NotFound("no such initiative"))
    after = samples()

    def delta(key) -> float:
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert delta(ACCEPTED) == 1
    assert delta(refused("invalid")) == 1
    assert delta(refused("rate_limited")) == 2
    assert delta(refused("not_found")) == 1
    assert delta(("quorum_rate_limit_refusals_total", (("limit", "statement"),))) == 2
    assert delta(("quorum_intake_seconds_count", (("outcome", "rate_limited"),))) == 2


def test_an_error_code_not_known_counts_as_other_and_no_domain_error_as_error() -> None:
    before = samples()
    with pytest.raises(Odd):
        call(Odd("odd"))
    with pytest.raises(ZeroDivisionError):
        call(ZeroDivisionError())
    after = samples()
    assert after[refused("other")] - before[refused("other")] == 1
    assert after[refused("error")] - before[refused("error")] == 1
    assert not any("made_up_by_someone" in str(key) for key in after)


def test_a_cancelled_intake_is_not_counted() -> None:
    before = samples()
    with pytest.raises(asyncio.CancelledError):
        call(asyncio.CancelledError())
    after = samples()
    counted = ("quorum_intake_seconds_count",)
    assert sum(v for k, v in after.items() if k[0] in counted) == sum(
        v for k, v in before.items() if k[0] in counted
    )


def test_the_refusal_reasons_are_a_fixed_set_of_codes() -> None:
    assert {"invalid", "rate_limited", "not_collecting", "not_found", "unavailable"} <= (
        metrics.REASONS
    )
    assert all(reason.isidentifier() and reason.islower() for reason in metrics.OUTCOMES)


def test_the_intake_keeps_its_answer_when_a_metric_cannot_be_written(monkeypatch) -> None:
    class Broken:
        def observe(self, amount: float) -> None:
            raise OSError("no space left on device")

    monkeypatch.setattr(metrics._metrics, "intake_by", dict.fromkeys(metrics.OUTCOMES, Broken()))
    assert call(None) == "receipt"
    with pytest.raises(NotFound):
        call(NotFound("gone"))


def test_a_group_calls_batches_are_observed_once_each_under_its_name() -> None:
    before = samples()
    metrics.observe_batch("quorum-test-group", 3)
    metrics.observe_batch("quorum-test-group", 40)
    after = samples()
    labels = (("group", "quorum-test-group"),)
    assert (
        after[("quorum_group_call_batch_size_count", labels)]
        - before.get(("quorum_group_call_batch_size_count", labels), 0)
        == 2
    )
    assert (
        after[("quorum_group_call_batch_size_sum", labels)]
        - before.get(("quorum_group_call_batch_size_sum", labels), 0)
        == 43
    )
    assert after[("quorum_group_call_batch_size_bucket", (*labels, ("le", "4.0")))] >= 1


def test_a_group_call_observes_its_batches(transactional_db) -> None:
    from quorum.core.group_call import GroupCall

    before = samples()
    group = GroupCall(
        lambda items: [item * 2 for item in items], name="quorum-test-doubler", max_batch=8
    )
    try:
        assert [group.call(n) for n in range(3)] == [0, 2, 4]
    finally:
        group.stop()
    after = samples()
    key = ("quorum_group_call_batch_size_count", (("group", "quorum-test-doubler"),))
    assert after[key] - before.get(key, 0) == 3


def test_sign_in_refusals_are_counted_apart_from_statements() -> None:
    before = samples()
    metrics.sign_in_rate_limited()
    after = samples()
    key = ("quorum_rate_limit_refusals_total", (("limit", "sign_in"),))
    assert after[key] - before[key] == 1


# Multiprocess mode, each in a fresh interpreter: it changes prometheus-client for good.

SCRIPT = textwrap.dedent(
    """
    import asyncio, os, sys
    from pathlib import Path
    os.environ["DJANGO_SETTINGS_MODULE"] = "quorum.settings"
    import django
    django.setup()
    from quorum.core import metrics

    @metrics.counted_intake
    async def intake():
        return "receipt"

    root = Path(sys.argv[1])
    directory = metrics.share_between_processes(root)
    print("DIR", directory)
    children = []
    for n in range(3):
        pid = os.fork()
        if pid == 0:
            for _ in range(n + 1):
                asyncio.run(intake())
            metrics.observe_batch("quorum-intake-writer", 5)
            os._exit(0)
        children.append(pid)
    for pid in children:
        os.waitpid(pid, 0)
    sys.stdout.write(metrics.exposition().decode())
    """
)


def _run_script(root: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != metrics.MULTIPROCESS_ENV}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, str(root)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _values(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    body = "\n".join(line for line in text.splitlines() if not line.startswith("DIR "))
    for family in text_string_to_metric_families(body + "\n"):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_the_counts_of_forked_workers_are_summed_in_one_scrape(tmp_path: Path) -> None:
    root = tmp_path / "metrics"
    stale = root / "serve-999999999"  # a server that no longer runs
    stale.mkdir(parents=True)
    (stale / "counter_1.db").write_bytes(b"")
    result = _run_script(root)
    assert result.returncode == 0, result.stderr
    found = _values(result.stdout)
    assert found[ACCEPTED] == 1 + 2 + 3
    assert found[("quorum_group_call_batch_size_count", (("group", "quorum-intake-writer"),))] == 3
    directory = Path(result.stdout.splitlines()[0].removeprefix("DIR "))
    assert directory.parent == root
    assert directory.name.startswith("serve-")
    assert not stale.exists()
    assert oct(directory.stat().st_mode & 0o777) == oct(0o700)
    # One file per process and kind: three workers wrote histograms.
    assert len(list(directory.glob("histogram_*.db"))) >= 3


def test_an_operators_own_multiprocess_directory_is_kept(tmp_path: Path) -> None:
    own = tmp_path / "own"
    own.mkdir()
    (own / "keep-me").write_text("x")
    result = _run_script(tmp_path / "metrics", **{metrics.MULTIPROCESS_ENV: str(own)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"DIR {own}"
    assert (own / "keep-me").exists()
    assert _values(result.stdout)[ACCEPTED] == 6
    metrics.stop_sharing(own)
    assert own.exists()


def test_stop_sharing_removes_the_servers_directory(tmp_path: Path) -> None:
    directory = tmp_path / "serve-123"
    directory.mkdir()
    (directory / "counter_123.db").write_bytes(b"")
    metrics.stop_sharing(directory)
    assert not directory.exists()
