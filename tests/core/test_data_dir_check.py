"""The start-up check of the data directory: it finds what others may read, says so, fixes it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from django.core.checks import Error, Warning, run_checks

from quorum.core.checks import data_directory_is_private


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def private_dir(data_dir: Path) -> Path:
    data_dir.chmod(0o700)
    (data_dir / "secret-key").write_text("s")
    (data_dir / "secret-key").chmod(0o600)
    (data_dir / "demo-keys").mkdir(mode=0o700)
    (data_dir / "demo-keys" / "PL.key").write_text("{}")
    (data_dir / "demo-keys" / "PL.key").chmod(0o600)
    return data_dir


def test_a_private_data_directory_passes_in_silence(private_dir: Path) -> None:
    assert data_directory_is_private() == []


def test_a_file_made_readable_by_others_is_reported_and_made_private(private_dir: Path) -> None:
    (private_dir / "secret-key").chmod(0o644)
    (private_dir / "demo-keys").chmod(0o755)
    (private_dir / "quorum.sqlite3-wal").write_bytes(b"")
    (private_dir / "quorum.sqlite3-wal").chmod(0o664)

    [warning] = data_directory_is_private()
    assert isinstance(warning, Warning)
    assert warning.id == "quorum.W001"
    assert "3 path(s)" in warning.msg
    for name in ("secret-key", "demo-keys", "quorum.sqlite3-wal"):
        assert name in warning.msg
    assert mode(private_dir / "secret-key") == 0o600
    assert mode(private_dir / "quorum.sqlite3-wal") == 0o600
    assert mode(private_dir / "demo-keys") == 0o700
    assert data_directory_is_private() == []  # said once, then quiet


def test_the_check_is_registered_for_every_start(private_dir: Path) -> None:
    (private_dir / "demo-keys" / "PL.key").chmod(0o640)
    found = [message.id for message in run_checks(include_deployment_checks=False)]
    assert "quorum.W001" in found


def test_a_link_is_not_followed_out_of_the_data_directory(private_dir: Path, tmp_path_factory):
    outside = tmp_path_factory.mktemp("elsewhere") / "shared.txt"
    outside.write_text("not ours to change")
    outside.chmod(0o644)
    (private_dir / "link").symlink_to(outside)
    assert data_directory_is_private() == []
    assert mode(outside) == 0o644


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_a_file_of_another_user_is_an_error_and_left_alone(private_dir: Path) -> None:
    foreign = private_dir / "foreign"
    foreign.write_text("x")
    foreign.chmod(0o644)
    os.chown(foreign, 65534, 65534)
    [error] = data_directory_is_private()
    assert isinstance(error, Error)  # an error stops `quorum serve`
    assert error.id == "quorum.E001"
    assert "foreign" in error.msg
    assert mode(foreign) == 0o644


def test_a_shared_directory_is_an_error_not_made_private(private_dir: Path) -> None:
    shared = private_dir / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # as /tmp: chmod 0700 would lock every other user out
    [error] = data_directory_is_private()
    assert error.id == "quorum.E001"
    assert mode(shared) == 0o1777
