"""Structured logs (QUORUM_LOG_FORMAT=json): one JSON object per line, and nothing more."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

from quorum.core.log_format import JsonFormatter


def record(
    message: str, *args: object, exc_info=None, extra: dict | None = None
) -> logging.LogRecord:
    return logging.getLogger("quorum.test").makeRecord(
        "quorum.test", logging.WARNING, __file__, 1, message, args, exc_info, extra=extra
    )


def test_a_record_is_one_line_of_json_with_time_level_logger_and_message() -> None:
    line = JsonFormatter().format(record("batch of %d failed\nsecond line", 3))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "quorum.test"
    assert entry["message"] == "batch of 3 failed\nsecond line"
    assert entry["time"].endswith("+00:00")
    assert set(entry) == {"time", "level", "logger", "message"}


def test_an_exception_is_written_as_its_traceback_text() -> None:
    try:
        raise RuntimeError("the disk is full")
    except RuntimeError:
        entry = json.loads(JsonFormatter().format(record("failed", exc_info=sys.exc_info())))
    assert "Traceback" in entry["exception"]
    assert "RuntimeError: the disk is full" in entry["exception"]


def test_the_extra_attributes_of_a_record_are_never_written() -> None:
    # Django puts the request (headers, body, client address) into django.request's records.
    class Request:
        META = {"REMOTE_ADDR": "198.51.100.23"}

        def __repr__(self) -> str:
            return "<request from 198.51.100.23 with body Qxcanary>"

    line = JsonFormatter().format(
        record("Unprocessable Content: /api/", extra={"request": Request(), "status_code": 422})
    )
    assert "198.51.100.23" not in line
    assert "Qxcanary" not in line
    assert "status_code" not in line


def _log_in_a_process(log_format: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUORUM_LOG")}
    env.update(QUORUM_LOG_FORMAT=log_format, DJANGO_SETTINGS_MODULE="quorum.settings")
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, logging; django.setup(); "
            "logging.getLogger('quorum.test').warning('sequencer %s behind', 'fell')",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_quorum_log_format_json_makes_the_console_log_json() -> None:
    result = _log_in_a_process("json")
    assert result.returncode == 0, result.stderr
    entry = json.loads(result.stderr.strip().splitlines()[-1])
    assert entry["message"] == "sequencer fell behind"
    assert entry["logger"] == "quorum.test"


def test_quorum_log_format_text_is_the_plain_line() -> None:
    result = _log_in_a_process("text")
    assert result.returncode == 0, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.endswith("WARNING quorum.test sequencer fell behind")


def test_an_unknown_log_format_stops_the_process_naming_the_setting() -> None:
    result = _log_in_a_process("yaml")
    assert result.returncode != 0
    assert "QUORUM_LOG_FORMAT must be one of text, json" in result.stderr
