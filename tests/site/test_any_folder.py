"""Commands work from any folder: the data directory does not follow the current folder, an
unset-up database is one sentence, and the auditor needs no data directory or secret at all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.own_database]


def _quorum(args: list[str], cwd: Path, home: Path) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("QUORUM_", "DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS", "XDG_"))
    }
    env["HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "quorum.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_command_outside_the_checkout_leaves_the_folder_alone_and_asks_for_migrate(
    tmp_path: Path,
) -> None:
    folder, home = tmp_path / "elsewhere", tmp_path / "home"
    folder.mkdir()
    home.mkdir()
    result = _quorum(["users", "list"], folder, home)
    assert result.returncode == 1
    assert "run `quorum migrate`" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(folder.iterdir()) == []
    assert (home / ".local" / "share" / "quorum").is_dir()


def test_the_auditor_writes_nothing_anywhere(tmp_path: Path) -> None:
    folder, home = tmp_path / "elsewhere", tmp_path / "home"
    folder.mkdir()
    home.mkdir()
    result = _quorum(["audit", "http://127.0.0.1:9/", "some-initiative", "--quiet"], folder, home)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "verdict: FAILED" in result.stdout
    assert list(folder.iterdir()) == [] and list(home.iterdir()) == []
