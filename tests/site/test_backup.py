"""`quorum backup` and `quorum restore`: a consistent copy of a live instance, put back whole.

The log is built through the API and the sequencer; after a restore, the public auditor
(reading the restored site through Django's test client) proves the restored log consistent
with every checkpoint published before the backup. Each test runs on SQLite and on PostgreSQL
(`DATABASE_URL`); on PostgreSQL the backup is a pg_dump and the restore a pg_restore into the
test database.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import tarfile
import threading
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django.test import Client

from quorum.initiatives.models import Initiative
from quorum.ledger.intake import stop_intake_writer
from quorum.ledger.locking import SequencerLock
from quorum.ledger.models import Checkpoint, Statement
from quorum.ledger.sequencer import sequence_all
from quorum.proofs import merkle
from quorum.proofs.auditor import audit
from quorum.rules import add_months
from quorum.signing.ratelimit import reset_rate_store
from quorum.signing.replay import reset_replay_store
from quorum.updates import keys as updates_keys

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor == "postgresql"
        and not (shutil.which("pg_dump") and shutil.which("pg_restore")),
        reason="pg_dump and pg_restore are not installed (Debian: postgresql-client)",
    ),
]

SLUG = "clean-air"
API = f"/api/v1/initiatives/{SLUG}"
BASE = "http://testserver"
MEMBER = "database.pgdump" if connection.vendor == "postgresql" else "database.sqlite3"


@pytest.fixture
def open_intake(collecting_initiative, authority_keys, settings):
    settings.QUORUM_POW = False
    settings.QUORUM_RATE_BURST = 1000
    settings.QUORUM_RATE_SUSTAINED = 1000
    return collecting_initiative


def sign(client: Client, body: dict) -> str:
    response = client.post(
        f"{API}/statements", data=json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 201, response.content
    return response.json()["receipt"]


def published(client: Client) -> str:
    return client.get(f"{API}/checkpoint").content.decode()


def fetch_from(client: Client):
    def fetch(url: str) -> bytes:
        parts = urlsplit(url)
        response = client.get(parts.path + ("?" + parts.query if parts.query else ""))
        if response.status_code != 200:
            raise OSError(f"{response.status_code} for {url}")
        return response.content

    return fetch


def quiesce() -> None:
    """Stop what keeps connections of its own, as stopping the server would."""
    stop_intake_writer()
    reset_rate_store()
    reset_replay_store()
    connections.close_all()


def backup(path: Path, *options: str) -> str:
    out = StringIO()
    call_command("backup", str(path), *options, stdout=out)
    return out.getvalue()


def restore(path: Path, *options: str) -> str:
    quiesce()
    out = StringIO()
    call_command("restore", str(path), *options, stdout=out)
    return out.getvalue()


def members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        found = {}
        for info in tar.getmembers():
            handle = tar.extractfile(info)
            assert handle is not None
            with handle:
                found[info.name] = handle.read()
        return found


def test_a_backup_taken_while_statements_are_written_and_sequenced_is_one_consistent_moment(
    open_intake, polish_citizen, german_citizen, tmp_path
) -> None:
    started, stop = threading.Event(), threading.Event()
    written: list[int] = []
    failures: list[BaseException] = []

    def write() -> None:
        client = Client()
        try:
            while not stop.is_set():
                for body in (polish_citizen, german_citizen, polish_citizen):
                    sign(client, body)
                sequence_all()
                written.append(3)
                if len(written) >= 2:
                    started.set()
        except BaseException as exc:  # reported by the test below
            failures.append(exc)
            started.set()
        finally:
            connections.close_all()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert started.wait(60)
        backup(tmp_path / "live.quorum")
        during = len(written)
        while len(written) < during + 2 and writer.is_alive():
            stop.wait(0.05)
    finally:
        stop.set()
        writer.join(60)
    assert not failures, failures
    assert len(written) > during  # writes went on around the backup

    if connection.vendor != "sqlite":
        restore(tmp_path / "live.quorum")
        rows = list(Statement.objects.values_list("leaf_index", "leaf_hash"))
        state = [(c.size, bytes(c.root)) for c in Checkpoint.objects.order_by("-size")[:1]]
    else:
        copy = tmp_path / "copy.sqlite3"
        copy.write_bytes(members(tmp_path / "live.quorum")["database.sqlite3"])
        database = sqlite3.connect(copy)
        try:
            assert database.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            rows = database.execute("SELECT leaf_index, leaf_hash FROM ledger_statement").fetchall()
            state = database.execute(
                "SELECT size, root FROM ledger_checkpoint ORDER BY size DESC LIMIT 1"
            ).fetchall()
            log_state = database.execute("SELECT size, root FROM ledger_logstate").fetchall()
            assert [(s, bytes(r)) for s, r in log_state] == [(s, bytes(r)) for s, r in state]
        finally:
            database.close()
    # The newest checkpoint covers exactly the sequenced statements of the copy and its root
    # is the root of their leaves (no half-written batch, no torn page); statements stored
    # but not yet sequenced at that moment wait for the sequencer, as in the live database.
    [(size, root)] = state
    sequenced = sorted((index, leaf) for index, leaf in rows if index is not None)
    assert size > 0 and size % 3 == 0
    assert [index for index, _ in sequenced] == list(range(size))
    assert merkle.root_from_leaves(bytes(leaf) for _, leaf in sequenced) == bytes(root)
    assert len(rows) - len(sequenced) < 3


def test_after_a_restore_the_auditor_proves_the_log_consistent_with_every_earlier_checkpoint(
    open_intake, client, polish_citizen, german_citizen, tmp_path
) -> None:
    before = []
    for body in (polish_citizen, german_citizen):
        for _ in range(4):
            sign(client, body)
        sequence_all()
        before.append(published(client))
    kept = set(Statement.objects.values_list("leaf_hash", flat=True))
    out = backup(tmp_path / "b.quorum")
    assert f"{SLUG}: log size 8, root" in out
    for _ in range(3):
        sign(client, polish_citizen)
    sequence_all()
    after = published(client)

    told = restore(tmp_path / "b.quorum")

    assert f"{SLUG}: log size 8, root" in told
    assert "statements acknowledged after it are lost" in told
    assert {bytes(h) for h in Statement.objects.values_list("leaf_hash", flat=True)} == {
        bytes(h) for h in kept
    }
    fetch = fetch_from(client)
    for note in before:
        report = audit(BASE, SLUG, previous=note, fetch=fetch)
        assert report.ok, report.findings
        assert report.size == 8
    # A checkpoint published after the backup is not in the restored log: an auditor who
    # saved it sees a log that shrank, and says so.
    report = audit(BASE, SLUG, previous=after, fetch=fetch)
    assert not report.ok
    # The restored instance takes statements again and its log grows from the backup's.
    sign(client, german_citizen)
    sequence_all()
    report = audit(BASE, SLUG, previous=before[-1], fetch=fetch)
    assert report.ok, report.findings
    assert report.size == 9


def test_a_backup_is_private_holds_the_keys_a_restore_needs_and_nothing_else(
    open_intake, client, polish_citizen, tmp_path
) -> None:
    os.umask(0o022)  # as for a process not started by `quorum`
    try:
        sign(client, polish_citizen)
        sequence_all()
        demo_keys = Path(settings.DATA_DIR) / "demo-keys"
        demo_keys.mkdir(exist_ok=True)
        (demo_keys / "de.key").write_text("not for backups")
        updates_keys.seal("made-once@example.org")  # the updates key exists once it is used
        backup(tmp_path / "with.quorum")
        out = backup(tmp_path / "without.quorum", "--no-keys")
    finally:
        os.umask(0o077)
    assert (tmp_path / "with.quorum").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "without.quorum").stat().st_mode & 0o777 == 0o600
    assert sorted(os.listdir(tmp_path)) == ["with.quorum", "without.quorum"]  # no leftovers
    content = members(tmp_path / "with.quorum")
    assert set(content) == {"quorum-backup.json", MEMBER, "log-key", "secret-key", "updates-key"}
    assert content["log-key"] == (Path(settings.DATA_DIR) / "log-key").read_bytes()
    assert content["updates-key"] == (Path(settings.DATA_DIR) / "updates-key").read_bytes()
    assert set(members(tmp_path / "without.quorum")) == {"quorum-backup.json", MEMBER}
    assert "without keys" in out
    manifest = json.loads(content["quorum-backup.json"])
    assert manifest["format"] == "quorum-backup"
    assert manifest["vendor"] == connection.vendor
    assert manifest["logs"][0]["slug"] == SLUG and manifest["logs"][0]["size"] == 1


def test_a_backup_never_replaces_an_existing_file_unless_forced(open_intake, tmp_path) -> None:
    target = tmp_path / "b.quorum"
    target.write_bytes(b"an older backup")
    with pytest.raises(CommandError, match="exists: choose a new name, or --force"):
        backup(target)
    assert target.read_bytes() == b"an older backup"
    assert sorted(os.listdir(tmp_path)) == ["b.quorum"]
    backup(target, "--force")
    assert "quorum-backup.json" in members(target)
    assert target.stat().st_mode & 0o777 == 0o600


def _tar(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return path


def _manifest(**changes: object) -> bytes:
    manifest = {
        "format": "quorum-backup",
        "version": 1,
        "vendor": connection.vendor,
        "created": "2026-01-01T00:00:00+00:00",
        "logs": [],
        "keys": [],
    }
    return json.dumps({**manifest, **changes}).encode()


def _not_quorum_sqlite(tmp_path: Path) -> bytes:
    path = tmp_path / "other.sqlite3"
    other = sqlite3.connect(path)
    other.execute("CREATE TABLE notes (body TEXT)")
    other.commit()
    other.close()
    return path.read_bytes()


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda tmp: tmp / "missing.quorum", "does not exist"),
        (lambda tmp: tmp, "is a directory"),
        (lambda tmp: _write(tmp / "x", b"\x00garbage" * 200), "not a Quorum backup"),
        (lambda tmp: _tar(tmp / "x", {"hello.txt": b"hi"}), "not a Quorum backup"),
        (lambda tmp: _tar(tmp / "x", {"quorum-backup.json": b"{not json"}), "not a Quorum"),
        (
            lambda tmp: _tar(tmp / "x", {"quorum-backup.json": _manifest(version=99)}),
            "format version 99",
        ),
        (
            lambda tmp: _tar(
                tmp / "x",
                {
                    "quorum-backup.json": _manifest(
                        vendor="postgresql" if connection.vendor == "sqlite" else "sqlite"
                    )
                },
            ),
            "this instance uses",
        ),
        (lambda tmp: _tar(tmp / "x", {"quorum-backup.json": _manifest()}), "holds no database"),
        (
            lambda tmp: _tar(tmp / "x", {"quorum-backup.json": _manifest(), MEMBER: b"junk" * 99}),
            r"damaged|failed|cannot be opened",
        ),
        (
            lambda tmp: _tar(tmp / "x", {"quorum-backup.json": _manifest(keys=["authority.key"])}),
            "unknown key file",
        ),
    ],
)
def test_a_restore_refuses_what_is_not_a_quorum_backup_with_a_clear_error_and_changes_nothing(
    open_intake, client, polish_citizen, tmp_path, make, error
) -> None:
    sign(client, polish_citizen)
    sequence_all()
    path = make(tmp_path)
    with pytest.raises(CommandError, match=error):
        restore(path)
    assert Statement.objects.count() == 1
    assert Checkpoint.objects.filter(size=1).exists()
    assert not [p for p in Path(settings.DATA_DIR).iterdir() if "restore" in p.name]


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


@pytest.mark.skipif(connection.vendor != "sqlite", reason="a SQLite database of another program")
def test_a_restore_refuses_a_sqlite_database_that_is_not_quorums(open_intake, tmp_path) -> None:
    path = _tar(
        tmp_path / "x", {"quorum-backup.json": _manifest(), MEMBER: _not_quorum_sqlite(tmp_path)}
    )
    with pytest.raises(CommandError, match="not Quorum's"):
        restore(path)
    assert Initiative.objects.filter(slug=SLUG).exists()


def test_a_restore_refuses_a_backup_whose_logs_were_changed(
    open_intake, client, polish_citizen, tmp_path
) -> None:
    sign(client, polish_citizen)
    sequence_all()
    backup(tmp_path / "b.quorum")
    content = members(tmp_path / "b.quorum")
    manifest = json.loads(content["quorum-backup.json"])
    manifest["logs"][0]["size"] = 2
    content["quorum-backup.json"] = json.dumps(manifest).encode()
    _tar(tmp_path / "changed.quorum", content)
    with pytest.raises(CommandError, match="its logs differ"):
        restore(tmp_path / "changed.quorum")


def test_a_restore_refuses_while_a_sequencer_holds_the_lock(
    open_intake, client, polish_citizen, tmp_path
) -> None:
    sign(client, polish_citizen)
    sequence_all()
    backup(tmp_path / "b.quorum")
    sign(client, polish_citizen)
    held, done = threading.Event(), threading.Event()

    def sequencer() -> None:  # another process's lock: its own connection, its own lock file
        lock = SequencerLock()
        try:
            assert lock.try_acquire()
            held.set()
            done.wait(60)
        finally:
            lock.release()
            connections.close_all()

    thread = threading.Thread(target=sequencer)
    thread.start()
    try:
        assert held.wait(30)
        with pytest.raises(
            CommandError, match=r"a sequencer is running.*stop every Quorum process"
        ):
            restore(tmp_path / "b.quorum")
    finally:
        done.set()
        thread.join(30)
    assert Statement.objects.count() == 2


def test_a_restore_refuses_a_log_key_other_than_the_one_in_place(
    open_intake, client, polish_citizen, tmp_path
) -> None:
    sign(client, polish_citizen)
    sequence_all()
    backup(tmp_path / "b.quorum")
    content = members(tmp_path / "b.quorum")
    content["log-key"] = b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
    _tar(tmp_path / "other-key.quorum", content)
    with pytest.raises(CommandError, match="differs from the backup's log-key"):
        restore(tmp_path / "other-key.quorum")
    assert Statement.objects.count() == 1


def test_a_restore_refuses_an_updates_key_other_than_the_one_in_place(
    open_intake, client, polish_citizen, tmp_path
) -> None:
    sign(client, polish_citizen)
    sequence_all()
    updates_keys.seal("made-once@example.org")
    backup(tmp_path / "b.quorum")
    content = members(tmp_path / "b.quorum")
    content["updates-key"] = b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
    _tar(tmp_path / "other-updates-key.quorum", content)
    with pytest.raises(CommandError, match="differs from the backup's updates-key"):
        restore(tmp_path / "other-updates-key.quorum")
    assert Statement.objects.count() == 1


def test_a_restore_keeps_this_instances_secret_key_when_it_differs(
    open_intake, client, polish_citizen, tmp_path
) -> None:
    sign(client, polish_citizen)
    sequence_all()
    backup(tmp_path / "b.quorum")
    content = members(tmp_path / "b.quorum")
    content["secret-key"] = b"another-secret-key-of-another-instance\n"
    _tar(tmp_path / "other-secret.quorum", content)
    secret = Path(settings.DATA_DIR) / "secret-key"
    mine = secret.read_bytes()
    told = restore(tmp_path / "other-secret.quorum")
    assert "kept this instance's secret-key" in told
    assert secret.read_bytes() == mine


def test_a_restore_puts_back_a_missing_log_key_with_mode_0600(
    open_intake, client, polish_citizen, tmp_path
) -> None:
    sign(client, polish_citizen)
    sequence_all()
    backup(tmp_path / "b.quorum")
    key = Path(settings.DATA_DIR) / "log-key"
    original = key.read_bytes()
    key.rename(tmp_path / "log-key.moved")
    try:
        told = restore(tmp_path / "b.quorum")
        assert "put back log-key" in told
        assert key.read_bytes() == original
        assert key.stat().st_mode & 0o777 == 0o600
    finally:
        if not key.exists():
            (tmp_path / "log-key.moved").rename(key)


def test_a_backup_made_after_a_purge_holds_none_of_the_purged_ciphertexts(
    open_intake, client, polish_citizen, today, tmp_path
) -> None:
    for name in ("Qxbackupcanaryone", "Qxbackupcanarytwo"):
        sign(client, {**polish_citizen, "first_names": name})
    sequence_all()
    sealed = [bytes(c) for c in Statement.objects.values_list("ciphertext", flat=True)]

    def spellings(ciphertext: bytes) -> list[bytes]:  # raw (SQLite), hex text (pg_dump's COPY)
        return [ciphertext[:48], ciphertext[:48].hex().encode()]

    backup(tmp_path / "before.quorum")
    raw = (tmp_path / "before.quorum").read_bytes()
    assert all(any(s in raw for s in spellings(c)) for c in sealed)  # the search can see them

    Initiative.objects.filter(pk=open_intake.pk).update(collection_start=add_months(today, -22))
    call_command("purge", stdout=StringIO())
    backup(tmp_path / "after.quorum")
    raw = (tmp_path / "after.quorum").read_bytes()
    for ciphertext in sealed:
        for spelling in spellings(ciphertext):
            assert spelling not in raw
    assert b"Qxbackupcanary" not in raw
    # The log is still all there, and verifiable.
    assert (
        json.loads(members(tmp_path / "after.quorum")["quorum-backup.json"])["logs"][0]["size"] == 2
    )


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's own database file")
def test_a_restore_refuses_while_another_process_has_the_sqlite_database_open(
    open_intake, client, polish_citizen, tmp_path
) -> None:
    sign(client, polish_citizen)
    sequence_all()
    backup(tmp_path / "b.quorum")
    sign(client, polish_citizen)
    quiesce()
    other = sqlite3.connect(str(connection.settings_dict["NAME"]))  # a server without sequencer
    try:
        other.execute("SELECT COUNT(*) FROM ledger_statement").fetchall()
        with pytest.raises(CommandError, match="the database is in use"):
            restore(tmp_path / "b.quorum")
    finally:
        other.close()
    assert Statement.objects.count() == 2
    assert not [p for p in Path(settings.DATA_DIR).iterdir() if "restore" in p.name]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite needs no client program")
def test_a_backup_on_postgresql_without_pg_dump_says_what_to_install(
    open_intake, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr("quorum.site.backup.shutil.which", lambda name: None)
    with pytest.raises(CommandError, match=r"pg_dump is not installed.*postgresql-client"):
        backup(tmp_path / "b.quorum")
    assert os.listdir(tmp_path) == []
