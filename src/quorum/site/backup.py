"""Backups that can be restored: `quorum backup FILE` and `quorum restore FILE`.

A backup is one uncompressed tar file, mode 0600, holding:

- ``quorum-backup.json``: what the file is (format, version, database vendor, when it was
  made) and the head of every initiative's log at that moment (size and root of its latest
  signed checkpoint), so that a restore can show that it put back exactly that;
- the database as one consistent copy taken while Quorum runs: SQLite's online backup API
  (one read transaction, so writers go on and the copy is one moment), or for PostgreSQL
  ``pg_dump --format=custom`` under a snapshot exported from the transaction that read the
  log heads;
- the data directory's ``log-key``, ``secret-key`` and ``updates-key`` when Quorum uses them
  (not when QUORUM_LOG_KEY / QUORUM_SECRET_KEY / QUORUM_UPDATES_KEY come from the
  environment), unless left out on purpose: without the log key a restored instance would
  sign its next checkpoints with a new key, and every auditor who pinned the old one would
  refuse them; without the updates key no stored subscriber address can be read (nor sent
  to). A backup with keys is a secret.

Never in a backup: the demo's authority keys (``demo-keys/``: the server holds no
authority's private key, the demo's are a convenience for trying it out), the demo
organiser's password, ``sequencer.lock``, the metrics directory, the static files, SQLite's
-wal and -shm files (the copy is one self-contained file) and the test databases.

It is uncompressed because nearly all of it is ciphertext, which does not compress; and
because, like the database, it can be searched for a purged ciphertext (none is left after
a purge, as the tests check).

A restore goes only into a stopped instance (the sequencer lock is taken for its length and
on SQLite the database must be free to leave WAL mode), checks the file before anything is
changed (a Quorum backup of this vendor, an intact database with Quorum's tables, no
migration this version does not know, keys that do not contradict the ones in place) and
keeps the database it replaces aside until the restored one has been opened and read.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.migrations.loader import MigrationLoader

from quorum.core.datadir import PRIVATE_FILE_MODE, open_private_file
from quorum.core.env import env_optional
from quorum.ledger.locking import SequencerLock
from quorum.proofs.crypto import CryptoError, decode_key

BACKUP_FORMAT = "quorum-backup"
BACKUP_VERSION = 1
MANIFEST = "quorum-backup.json"
DATABASE_MEMBERS = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
#: Data-directory files a restored instance needs, and the variable that replaces each one.
KEY_FILES = {
    "log-key": "QUORUM_LOG_KEY",
    "secret-key": "QUORUM_SECRET_KEY",
    "updates-key": "QUORUM_UPDATES_KEY",
}
#: A different key of these in the data directory is refused, not kept: the log's would start
#: a new log, the updates key's would leave every stored address unreadable.
KEYS_THAT_MUST_MATCH = ("log-key", "updates-key")
#: Tables without which a database is not Quorum's.
REQUIRED_TABLES = ("django_migrations", "initiatives_initiative", "ledger_statement")
#: Waiting for a lock held by a process that should not be running is an error, not a hang.
LOCK_TIMEOUT_SECONDS = 10
_CHUNK = 1 << 20

_LOG_HEADS = (
    "SELECT i.slug, c.size, c.root FROM ledger_checkpoint c "
    "JOIN initiatives_initiative i ON i.id = c.initiative_id "
    "WHERE c.size = (SELECT MAX(c2.size) FROM ledger_checkpoint c2 "
    "WHERE c2.initiative_id = c.initiative_id) ORDER BY i.slug"
)


class BackupError(Exception):
    """A backup or restore that cannot be done; nothing has been changed unless it says so."""


@dataclass(frozen=True)
class LogHead:
    """An initiative's latest signed checkpoint: its size and root (base64, as in the note)."""

    slug: str
    size: int
    root: str


@dataclass(frozen=True)
class BackupResult:
    path: Path
    vendor: str
    created: str
    logs: list[LogHead]
    keys: list[str]
    size_bytes: int


@dataclass(frozen=True)
class RestoreResult:
    vendor: str
    created: str
    logs: list[LogHead]
    keys_written: list[str]
    #: Keys of the backup's that differ from this instance's own, which stay (the secret key).
    keys_kept: list[str]
    migrations_missing: int


# ---------------------------------------------------------------------------------------
# Backup


def backup_create(*, path: Path, force: bool = False, keys: bool = True) -> BackupResult:
    """Write a backup of the running instance to ``path`` (atomically, mode 0600)."""
    path = path.expanduser().absolute()
    if path.exists() and not force:
        raise BackupError(f"{path} exists: choose a new name, or --force to replace it")
    if path.is_dir():
        raise BackupError(f"{path} is a directory")
    if not path.parent.is_dir():
        raise BackupError(f"{path.parent} is not a directory")
    vendor = _vendor()
    # Beside the target, so that the finished file is renamed into place on one file system.
    work = Path(tempfile.mkdtemp(prefix=".quorum-backup-", dir=path.parent))
    try:
        database = work / DATABASE_MEMBERS[vendor]
        snapshot = _sqlite_snapshot if vendor == "sqlite" else _postgres_dump
        logs = snapshot(database)
        key_files = _key_files() if keys else {}
        created = datetime.now(UTC).replace(microsecond=0).isoformat()
        manifest = {
            "format": BACKUP_FORMAT,
            "version": BACKUP_VERSION,
            "vendor": vendor,
            "created": created,
            "logs": [head.__dict__ for head in logs],
            "keys": sorted(key_files),
        }
        archive = work / "backup.tar"
        with os.fdopen(open_private_file(archive, os.O_WRONLY | os.O_EXCL), "wb") as handle:
            with tarfile.open(fileobj=handle, mode="w", format=tarfile.PAX_FORMAT) as tar:
                _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=2).encode() + b"\n")
                _add_file(tar, database.name, database)
                for name, content in sorted(key_files.items()):
                    _add_bytes(tar, name, content)
            handle.flush()
            os.fsync(handle.fileno())
        size = archive.stat().st_size
        if force:
            os.replace(archive, path)
        else:
            try:
                os.link(archive, path)  # fails if the name was taken meanwhile
            except FileExistsError:
                raise BackupError(
                    f"{path} exists: choose a new name, or --force to replace it"
                ) from None
        _fsync_directory(path.parent)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return BackupResult(
        path=path,
        vendor=vendor,
        created=created,
        logs=logs,
        keys=sorted(key_files),
        size_bytes=size,
    )


def _vendor() -> str:
    if connection.vendor not in DATABASE_MEMBERS:
        raise BackupError(f"backups of a {connection.vendor} database are not supported")
    return connection.vendor


def _sqlite_snapshot(target: Path) -> list[LogHead]:
    connection.ensure_connection()
    source = connection.connection
    copy = sqlite3.connect(target)
    try:
        # One step: the whole copy is read in one read transaction, one moment of the
        # database; in WAL mode the writers are not held up meanwhile.
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal
        if copy.execute("PRAGMA quick_check").fetchone() != ("ok",):
            raise BackupError("the copy of the database failed SQLite's check")
        return _log_heads(copy.execute(_LOG_HEADS).fetchall())
    finally:
        copy.close()


def _postgres_dump(target: Path) -> list[LogHead]:
    pg_dump = _client("pg_dump")
    with transaction.atomic(), connection.cursor() as cursor:
        # The log heads and the dump see one snapshot: the dump is taken under the
        # snapshot this transaction exports, and the transaction lasts until it is done.
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        cursor.execute(_LOG_HEADS)
        logs = _log_heads(cursor.fetchall())
        _run(
            [
                pg_dump,
                "--format=custom",
                "--compress=0",
                f"--snapshot={snapshot}",
                f"--file={target}",
            ],
            what="pg_dump",
        )
    return logs


def _key_files() -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for name, variable in KEY_FILES.items():
        path = Path(settings.DATA_DIR) / name
        if not env_optional(variable) and path.is_file():
            found[name] = path.read_bytes()
    return found


def _add_bytes(tar: tarfile.TarFile, name: str, content: bytes) -> None:
    info = _member(name, len(content))
    tar.addfile(info, io.BytesIO(content))


def _add_file(tar: tarfile.TarFile, name: str, path: Path) -> None:
    with path.open("rb") as handle:
        tar.addfile(_member(name, path.stat().st_size), handle)


def _member(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = PRIVATE_FILE_MODE
    info.mtime = int(datetime.now(UTC).timestamp())
    return info


# ---------------------------------------------------------------------------------------
# Restore


def backup_restore(*, path: Path, keep_old: bool = False) -> RestoreResult:
    """Replace this (stopped) instance's database, and missing keys, with the backup's."""
    path = path.expanduser().absolute()
    vendor = _vendor()
    with _open_backup(path) as tar:
        manifest = _manifest(tar, path)
        if manifest["vendor"] != vendor:
            raise BackupError(
                f"{path} is a backup of a {manifest['vendor']} database; this instance uses "
                f"{vendor}: restore it into an instance configured like the one it came from"
            )
        lock = SequencerLock()
        if not lock.try_acquire():
            raise BackupError(
                "a sequencer is running on this database: stop every Quorum process "
                "(quorum serve, quorum sequencer) before a restore"
            )
        try:
            keys, kept = _backup_keys(tar, manifest)
            if vendor == "sqlite":
                _sqlite_restore(tar, path, manifest, keep_old=keep_old)
            else:
                _postgres_restore(tar, path)
        finally:
            lock.release()
    connections.close_all()
    written = _write_keys(keys)
    with connection.cursor() as cursor:
        cursor.execute(_LOG_HEADS)
        logs = _log_heads(cursor.fetchall())
    if logs != _manifest_logs(manifest):
        raise BackupError("the database was restored, but " + _CHANGED.format(path=path))
    return RestoreResult(
        vendor=vendor,
        created=str(manifest["created"]),
        logs=logs,
        keys_written=written,
        keys_kept=kept,
        migrations_missing=len(_unapplied()),
    )


_CHANGED = (
    "{path}: its logs differ from those its description names: the file was changed after "
    "it was written"
)


def _manifest_logs(manifest: dict[str, Any]) -> list[LogHead]:
    try:
        return [LogHead(**head) for head in manifest["logs"]]
    except TypeError:
        raise BackupError("the backup's description of its logs is malformed") from None


class _open_backup:  # noqa: N801 - used as a context manager, like open()
    def __init__(self, path: Path) -> None:
        self.path = path
        self.tar: tarfile.TarFile | None = None

    def __enter__(self) -> tarfile.TarFile:
        try:
            self.tar = tarfile.open(self.path, mode="r:")
        except FileNotFoundError:
            raise BackupError(f"{self.path} does not exist") from None
        except IsADirectoryError:
            raise BackupError(f"{self.path} is a directory") from None
        except (tarfile.TarError, OSError) as exc:
            raise BackupError(
                f"{self.path} is not a Quorum backup (not a tar file: {exc})"
            ) from None
        return self.tar

    def __exit__(self, *exc: object) -> None:
        if self.tar is not None:
            self.tar.close()


def _manifest(tar: tarfile.TarFile, path: Path) -> dict[str, Any]:
    not_ours = f"{path} is not a Quorum backup (no {MANIFEST})"
    try:
        content = _read_member(tar, MANIFEST, limit=1 << 20)
        manifest = json.loads(content)
    except (KeyError, ValueError):
        raise BackupError(not_ours) from None
    if not isinstance(manifest, dict) or manifest.get("format") != BACKUP_FORMAT:
        raise BackupError(not_ours)
    if manifest.get("version") != BACKUP_VERSION:
        raise BackupError(
            f"{path} is a Quorum backup of format version {manifest.get('version')!r}; "
            f"this version of Quorum reads version {BACKUP_VERSION}"
        )
    if manifest.get("vendor") not in DATABASE_MEMBERS or not isinstance(manifest.get("logs"), list):
        raise BackupError(f"{path} is not a Quorum backup (its description is incomplete)")
    _manifest_logs(manifest)
    return manifest


def _read_member(tar: tarfile.TarFile, name: str, *, limit: int) -> bytes:
    info = tar.getmember(name)
    if not info.isfile() or info.size > limit:
        raise KeyError(name)
    handle = tar.extractfile(info)
    if handle is None:
        raise KeyError(name)
    with handle:
        return handle.read()


def _backup_keys(
    tar: tarfile.TarFile, manifest: dict[str, Any]
) -> tuple[dict[str, bytes], list[str]]:
    """The backup's keys to write, and those this instance has otherwise and keeps.

    A different log key is refused: the restored checkpoints are signed with the backup's,
    and a log that changes its key is a new log to every auditor. A different secret key
    stays: it keys only sessions and short-lived counts, and replacing it would sign
    everyone out for nothing.
    """
    keys: dict[str, bytes] = {}
    kept: list[str] = []
    for name in manifest.get("keys", []):
        if name not in KEY_FILES:
            raise BackupError(f"the backup holds an unknown key file {name!r}")
        try:
            content = _read_member(tar, name, limit=4096)
        except KeyError:
            raise BackupError(f"the backup lists {name} but does not hold it") from None
        configured = env_optional(KEY_FILES[name])
        present = Path(settings.DATA_DIR) / name
        if configured:
            if name == "log-key" and not _same_log_key(configured, content):
                raise BackupError(
                    "QUORUM_LOG_KEY is not the log key in the backup: the restored checkpoints "
                    "were signed with the backup's key, and auditors who pinned it would refuse "
                    "every new checkpoint. Set QUORUM_LOG_KEY to the backup's key (or unset it)"
                )
            continue  # the environment's key is used; the file would be ignored
        if not present.exists():
            keys[name] = content
        elif present.read_bytes() == content:
            continue
        elif name in KEYS_THAT_MUST_MATCH:
            raise BackupError(
                f"{present} differs from the backup's {name}: the restored data need the "
                "backup's key. Move it away first if the backup's key is the one to use"
            )
        else:
            kept.append(name)
    return keys, kept


def _same_log_key(configured: str, content: bytes) -> bool:
    try:
        return decode_key(configured) == decode_key(content.decode("ascii"))
    except (CryptoError, UnicodeDecodeError):
        return False


def _write_keys(keys: dict[str, bytes]) -> list[str]:
    for name, content in keys.items():
        path = Path(settings.DATA_DIR) / name
        with os.fdopen(open_private_file(path, os.O_WRONLY | os.O_EXCL), "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
    return sorted(keys)


def _extract_database(tar: tarfile.TarFile, vendor: str, directory: Path) -> Path:
    name = DATABASE_MEMBERS[vendor]
    try:
        info = tar.getmember(name)
        source = tar.extractfile(info) if info.isfile() else None
    except KeyError:
        source = None
    if source is None:
        raise BackupError(f"the backup holds no {name}")
    descriptor, target = tempfile.mkstemp(prefix=".quorum-restore-", dir=directory)
    with source, os.fdopen(descriptor, "wb") as handle:
        shutil.copyfileobj(source, handle, _CHUNK)
        handle.flush()
        os.fsync(handle.fileno())
    return Path(target)


def _sqlite_restore(
    tar: tarfile.TarFile, path: Path, manifest: dict[str, Any], *, keep_old: bool
) -> None:
    database = Path(str(connection.settings_dict["NAME"]))
    restored = _extract_database(tar, "sqlite", database.parent)
    try:
        if _check_sqlite(restored, path) != _manifest_logs(manifest):
            raise BackupError(_CHANGED.format(path=path))
        connections.close_all()
        aside = _set_aside(database)
        try:
            os.replace(restored, database)
            _fsync_directory(database.parent)
            connection.ensure_connection()  # the restored file opens with Quorum's settings
            with connection.cursor() as cursor:
                cursor.execute("SELECT COUNT(*) FROM django_migrations")
        except BaseException:
            connections.close_all()
            if aside is not None:
                os.replace(aside, database)
            raise
        if aside is not None and not keep_old:
            aside.unlink()
    finally:
        restored.unlink(missing_ok=True)


def _check_sqlite(restored: Path, path: Path) -> list[LogHead]:
    try:
        check = sqlite3.connect(f"file:{restored}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"{path}: the database in it cannot be opened ({exc})") from None
    try:
        rows = check.execute("PRAGMA integrity_check").fetchall()
        if rows != [("ok",)]:
            raise BackupError(f"{path}: the database in it is damaged ({rows[0][0]})")
        tables = {row[0] for row in check.execute("SELECT name FROM sqlite_master")}
        _require_tables(tables, path)
        _check_migrations(check.execute("SELECT app, name FROM django_migrations"), path)
        return _log_heads(check.execute(_LOG_HEADS).fetchall())
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path}: the database in it is damaged ({exc})") from None
    finally:
        check.close()


def _require_tables(tables: set[str], path: Path) -> None:
    missing = [table for table in REQUIRED_TABLES if table not in tables]
    if missing:
        raise BackupError(f"{path}: the database in it is not Quorum's (no {', '.join(missing)})")


def _check_migrations(rows: Iterable[tuple[str, ...]], path: Path) -> None:
    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    unknown = sorted(".".join(row) for row in rows if (row[0], row[1]) not in known)
    if unknown:
        raise BackupError(
            f"{path} was made by a newer version of Quorum (migrations unknown here: "
            f"{', '.join(unknown[:5])}): restore it with that version"
        )


def _set_aside(database: Path) -> Path | None:
    """Move the current database away whole (its WAL folded in); None if there is none."""
    if not database.exists():
        return None
    try:
        current = sqlite3.connect(database, timeout=LOCK_TIMEOUT_SECONDS)
        try:
            # Leaving WAL mode needs the database to itself: an error here means that
            # another process still has it open.
            mode = current.execute("PRAGMA journal_mode=DELETE").fetchone()
        finally:
            current.close()
    except sqlite3.Error as exc:
        raise BackupError(
            f"the database is in use ({exc}): stop every Quorum process before a restore"
        ) from None
    if mode != ("delete",):
        raise BackupError("the database is in use: stop every Quorum process before a restore")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = database.with_name(f"{database.name}.before-restore-{stamp}")
    os.replace(database, aside)
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    return aside


def _postgres_restore(tar: tarfile.TarFile, path: Path) -> None:
    pg_restore = _client("pg_restore")
    directory = Path(tempfile.mkdtemp(prefix=".quorum-restore-", dir=settings.DATA_DIR))
    try:
        dump = _extract_database(tar, "postgresql", directory)
        listing = _run([pg_restore, "--list", str(dump)], what="pg_restore --list", path=path)
        tables = set(re.findall(r"^\d+; \d+ \d+ TABLE \S+ (\S+) ", listing, flags=re.MULTILINE))
        _require_tables(tables, path)
        data = _run(
            [pg_restore, "--data-only", "--table=django_migrations", "--file=-", str(dump)],
            what="pg_restore",
            path=path,
        )
        _check_migrations(_copy_rows(data, columns=("app", "name")), path)
        # One transaction: if anything fails, the database is as it was.
        _run(
            [
                pg_restore,
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                f"--dbname={connection.settings_dict['NAME']}",
                str(dump),
            ],
            what="pg_restore",
            path=path,
        )
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _copy_rows(sql: str, *, columns: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The rows of the one ``COPY … FROM stdin`` block in pg_restore's plain output."""
    match = re.search(r"^COPY \S+ \(([^)]*)\) FROM stdin;\n(.*?)^\\\.$", sql, re.M | re.S)
    if match is None:
        return []
    names = [name.strip().strip('"') for name in match.group(1).split(",")]
    positions = [names.index(column) for column in columns]
    rows = []
    for line in match.group(2).splitlines():
        fields = line.split("\t")
        rows.append(tuple(fields[position] for position in positions))
    return rows


# ---------------------------------------------------------------------------------------
# Shared


def _log_heads(rows: Iterable[tuple[Any, ...]]) -> list[LogHead]:
    return [
        LogHead(slug=str(slug), size=int(size), root=base64.b64encode(bytes(root)).decode())
        for slug, size, root in rows
    ]


def _unapplied() -> list[object]:
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return list(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def _client(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not installed: install the PostgreSQL client programs of the server's "
            "major version or newer (Debian and Ubuntu: apt-get install postgresql-client)"
        )
    return found


def _libpq_environment(*, lock_timeout: bool) -> dict[str, str]:
    """The database settings as libpq's variables: no password on a command line."""
    database = connection.settings_dict
    options = database.get("OPTIONS", {})
    environment = dict(os.environ)
    values = {
        "PGHOST": database.get("HOST"),
        "PGPORT": database.get("PORT"),
        "PGUSER": database.get("USER"),
        "PGPASSWORD": database.get("PASSWORD"),
        "PGDATABASE": database.get("NAME"),
        "PGSSLMODE": options.get("sslmode"),
        "PGTARGETSESSIONATTRS": options.get("target_session_attrs"),
        "PGCONNECT_TIMEOUT": options.get("connect_timeout"),
    }
    for variable, value in values.items():
        environment.pop(variable, None)
        if value not in (None, ""):
            environment[variable] = str(value)
    if lock_timeout:
        # A restore that meets a lock held by a process still running fails, not waits.
        environment["PGOPTIONS"] = f"-c lock_timeout={LOCK_TIMEOUT_SECONDS}s"
    return environment


def _run(command: list[str], *, what: str, path: Path | None = None) -> str:
    result = subprocess.run(
        command,
        env=_libpq_environment(lock_timeout=path is not None),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        detail = result.stderr.strip().splitlines()
        where = f"{path}: " if path is not None else ""
        raise BackupError(f"{where}{what} failed: {detail[-1] if detail else result.returncode}")
    return result.stdout


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


__all__ = [
    "BackupError",
    "BackupResult",
    "LogHead",
    "RestoreResult",
    "backup_create",
    "backup_restore",
]
