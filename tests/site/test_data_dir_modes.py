"""Nobody but the user running Quorum can read its data directory: real processes, real files."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# The files looked at are the embedded SQLite database's, whatever the run's database.
pytestmark = pytest.mark.own_database


def modes(root: Path) -> dict[str, str]:
    """Every path under ``root`` (``root`` too) whose mode lets group or others in."""
    found = {}
    for path in [root, *root.rglob("*")]:
        mode = path.lstat().st_mode
        if not stat.S_ISLNK(mode) and mode & 0o077:
            found[str(path.relative_to(root))] = oct(stat.S_IMODE(mode))
    return found


def run(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "QUORUM_DATA_DIR": str(data_dir)}
    env.pop("DATABASE_URL", None)  # the files to look at are SQLite's
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_after_the_demo_set_up_and_a_sequencer_round_nothing_is_readable_by_others(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    # Without the start-up check, which would repair what it finds: the files must be made
    # private when they are made.
    run(data_dir, "-m", "quorum.cli", "demo", "--no-serve", "--skip-checks")
    run(data_dir, "-m", "quorum.cli", "sequencer", "--once", "--skip-checks")
    names = {str(path.relative_to(data_dir)) for path in data_dir.rglob("*")}
    assert {"quorum.sqlite3", "secret-key", "log-key", "sequencer.lock", "demo-keys/PL.key"} <= (
        names
    )
    assert modes(data_dir) == {}


def test_without_the_quorum_command_the_files_are_private_all_the_same(tmp_path: Path) -> None:
    """A test run or an application server imports the settings with its own umask (022)."""
    data_dir = tmp_path / "data"
    script = textwrap.dedent(
        """
        import os, sys
        os.umask(0o022)
        os.environ["DJANGO_SETTINGS_MODULE"] = "quorum.settings"
        import django
        django.setup()
        from django.core.management import call_command
        from django.db import connection
        from quorum.core.log_key import log_key
        from quorum.ledger.locking import SequencerLock

        call_command("migrate", verbosity=0)
        log_key()
        assert SequencerLock().try_acquire()
        with connection.cursor() as cursor:  # WAL and shared memory exist while it is open
            cursor.execute("CREATE TABLE probe (x)")
            cursor.execute("INSERT INTO probe VALUES (1)")
        names = sorted(os.listdir(sys.argv[1]))
        assert "quorum.sqlite3-wal" in names and "quorum.sqlite3-shm" in names, names
        for name in names:
            mode = os.lstat(os.path.join(sys.argv[1], name)).st_mode
            assert not mode & 0o077, (name, oct(mode))
        """
    )
    run(data_dir, "-c", script, str(data_dir))
    assert modes(data_dir) == {}


def test_quorum_check_repairs_a_file_made_readable_and_says_so(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = run(data_dir, "-m", "quorum.cli", "check")
    assert "quorum.W001" not in first.stderr + first.stdout
    (data_dir / "secret-key").chmod(0o644)
    data_dir.chmod(0o755)

    second = run(data_dir, "-m", "quorum.cli", "check")
    assert "quorum.W001" in second.stderr, second.stderr
    assert "secret-key" in second.stderr
    assert modes(data_dir) == {}
