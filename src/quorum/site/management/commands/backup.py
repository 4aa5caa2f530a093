from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from quorum.site.backup import BackupError, backup_create


class Command(BaseCommand):
    help = (
        "Write a consistent copy of the running instance to FILE (mode 0600; refused if FILE "
        "exists): the database (SQLite's online backup, or pg_dump for PostgreSQL) and the data "
        "directory's log key and secret key. A backup with keys is secret; its ciphertexts "
        "must be destroyed by their retention deadline like the database's."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the backup file to write")
        parser.add_argument("--force", action="store_true", help="replace FILE if it exists")
        parser.add_argument(
            "--no-keys",
            action="store_true",
            help="leave the log key and the secret key out (back them up apart)",
        )

    def handle(self, *args: Any, file: Path, force: bool, no_keys: bool, **options: Any) -> None:
        try:
            result = backup_create(path=file, force=force, keys=not no_keys)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"wrote {result.path} ({result.size_bytes} bytes, {result.vendor}, {result.created})"
        )
        for head in result.logs:
            self.stdout.write(f"{head.slug}: log size {head.size}, root {head.root}")
        if result.keys:
            self.stdout.write(f"with {', '.join(result.keys)}: keep this file secret")
        else:
            self.stdout.write("without keys: keep the log key apart, or restores start a new log")
