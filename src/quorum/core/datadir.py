"""The data directory (QUORUM_DATA_DIR) belongs to the user that runs Quorum, and nobody else.

It holds the SQLite database with its -wal and -shm files (staff sessions, TOTP secrets),
the generated secret key, the log key and the demo authorities' key files. The directory is
0700 and everything in it 0600, made so in three ways that do not depend on each other:

- what Quorum writes itself is created with mode 0600 (or 0700 for a directory), and the
  ``quorum`` command sets the umask 077 before anything else (see ``quorum.cli``);
- SQLite creates its files itself, with the mode the umask allows, so every new database
  connection makes the database file private; SQLite gives the -wal and -shm files the mode
  of the database file;
- the system check ``quorum.W001`` (run by ``quorum serve``, ``demo`` and ``check``) finds
  whatever is still readable by others, e.g. a directory made by an older version, says so
  and makes it private.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

PRIVATE_DIRECTORY_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
PRIVATE_UMASK = 0o077
#: Group and other permission bits: none may be set on anything in the data directory.
SHARED_BITS = 0o077

SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def default_data_dir() -> Path:
    """Where Quorum keeps its data when QUORUM_DATA_DIR is not set: the XDG data home."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "quorum"


def make_private_directory(path: Path) -> Path:
    """Create ``path`` (and its parents) if missing; the directory itself gets mode 0700."""
    path.mkdir(mode=PRIVATE_DIRECTORY_MODE, parents=True, exist_ok=True)
    return path


def open_private_file(path: Path, flags: int) -> int:
    """``os.open`` that creates ``path`` with mode 0600 whatever the umask; returns the fd."""
    return os.open(path, flags | os.O_CREAT, PRIVATE_FILE_MODE)


def shared_paths(root: Path) -> list[Path]:
    """``root`` and every directory and file below it that group or others may access.

    Symbolic links are neither followed nor reported: their own mode means nothing.
    """
    found: list[Path] = []
    if _is_shared(root):
        found.append(root)
    for directory, subdirectories, files in os.walk(root):
        for name in sorted(subdirectories) + sorted(files):
            path = Path(directory, name)
            if _is_shared(path):
                found.append(path)
    return found


def _is_shared(path: Path) -> bool:
    try:
        status = path.lstat()
    except FileNotFoundError:
        return False  # gone since it was listed (a -shm file, a temporary file)
    if stat.S_ISLNK(status.st_mode):
        return False
    return bool(status.st_mode & SHARED_BITS)


def make_private(path: Path) -> None:
    """Remove the group and other bits of ``path`` (never following a link).

    Raises ``PermissionError`` for a path that belongs to another user, and for a directory
    with the sticky bit (a shared directory such as /tmp is nobody's data directory).
    """
    status = path.lstat()
    if stat.S_ISLNK(status.st_mode):
        return
    if status.st_uid != os.geteuid():
        raise PermissionError(f"{path} belongs to another user (uid {status.st_uid})")
    if stat.S_ISDIR(status.st_mode) and status.st_mode & stat.S_ISVTX:
        raise PermissionError(f"{path} is a shared directory (sticky bit)")
    os.chmod(path, stat.S_IMODE(status.st_mode) & ~SHARED_BITS)


def make_sqlite_files_private(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created`` receiver: the SQLite database's files are 0600.

    SQLite creates the database file with the mode the umask allows (0644 under the common
    022) and copies that mode to the -wal and -shm files. A process that did not start
    through ``quorum`` (a test run, an application server) has such a umask.
    """
    if connection.vendor != "sqlite":
        return
    name = str(connection.settings_dict.get("NAME") or "")
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    for suffix in SQLITE_SUFFIXES:
        path = Path(name + suffix)
        try:
            if _is_shared(path):
                make_private(path)
        except OSError:
            continue  # the system check names what cannot be changed
