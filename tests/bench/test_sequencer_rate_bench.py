"""`bench/sequencer_rate.py`, small and on SQLite: the real sequencer builds the log, in one go
or chunk by chunk, and every inclusion proof it times verifies against the signed root. No
timing is judged."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.own_database]

LAST_LINE = re.compile(r"wall time (?P<seconds>[\d,]+) s")


def test_the_sequencer_bench_sequences_every_row_and_its_proofs_verify(run_bench) -> None:
    stdout, _ = run_bench("sequencer_rate.py", "-n", "3000", "--proofs", "20", last_line=LAST_LINE)
    assert "sequence_all(): 3000 leaves in 2 batches" in stdout, stdout[-4000:]
    assert "-- log of 3,000 leaves" in stdout, stdout[-4000:]
    assert "failed verification: 0" in stdout, stdout[-4000:]


def test_the_chunked_load_measures_the_log_on_the_way_and_at_the_end(run_bench) -> None:
    stdout, _ = run_bench(
        "sequencer_rate.py",
        *("-n", "5000", "--chunk", "2500", "--measure-at", "2500", "--proofs", "20"),
        last_line=LAST_LINE,
    )
    assert "-- log of 2,500 leaves" in stdout, stdout[-4000:]
    assert "-- log of 5,000 leaves" in stdout, stdout[-4000:]
    assert "chunked load: 5,000 leaves" in stdout, stdout[-4000:]
    assert stdout.count("failed verification: 0") == 2, stdout[-4000:]
