from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command


def _show(*args: str) -> str:
    out = StringIO()
    call_command("rules", "show", *args, stdout=out)
    return out.getvalue()


def test_rules_show_as_json_for_2025_gives_the_720_seat_table() -> None:
    states = json.loads(_show("--registered", "2025-01-01", "--format", "json"))
    assert len(states) == 27
    assert sum(ms["seats"] for ms in states) == 720
    by_code = {ms["code"]: ms for ms in states}
    assert by_code["DE"]["threshold"] == 69_120
    assert by_code["EL"]["name"] == "Greece"
    for ms in states:
        assert {
            "code",
            "name",
            "seats",
            "threshold",
            "part",
            "min_age",
            "id_documents",
            "sources",
        } <= set(ms)
        assert ms["part"] in ("A", "B")


def test_rules_show_for_2022_gives_the_705_seat_table() -> None:
    states = json.loads(_show("--registered", "2022-01-01", "--format", "json"))
    assert sum(ms["seats"] for ms in states) == 705
    assert {ms["code"]: ms["threshold"] for ms in states}["DE"] == 67_680


def test_rules_show_as_a_table_marks_uncertain_values() -> None:
    table = _show("--registered", "2025-01-01")
    assert "720 seats" in table
    assert "uncertain" in table
    finland = next(line for line in table.splitlines() if line.startswith("FI "))
    assert "A?" in finland


def test_a_bad_registration_date_is_refused_with_a_reason() -> None:
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        _show("--registered", "2025-13-01")
    with pytest.raises(CommandError):
        _show("--registered", "2019-06-01")


def test_check_id_accepts_a_valid_pesel_and_refuses_a_wrong_check_digit() -> None:
    out = StringIO()
    call_command("rules", "check-id", "PL", "pesel", "44051401359", stdout=out)
    assert "valid" in out.getvalue()
    with pytest.raises(CommandError) as refused:
        call_command("rules", "check-id", "PL", "pesel", "44051401358")
    assert refused.value.returncode == 1


def test_the_console_script_exits_1_with_a_reason_for_an_invalid_number(tmp_path) -> None:
    env = {"QUORUM_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    quorum = [sys.executable, "-m", "quorum.cli"]
    ok = subprocess.run(
        [*quorum, "rules", "check-id", "PL", "pesel", "44051401359"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run(
        [*quorum, "rules", "check-id", "PL", "pesel", "123"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1
    assert "not valid" in bad.stderr
