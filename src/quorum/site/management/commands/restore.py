from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from quorum.site.backup import BackupError, backup_restore


class Command(BaseCommand):
    help = (
        "Replace this instance's database with a backup made by `quorum backup`, and put back "
        "the keys it holds where none are. Only into a stopped instance; the file is checked "
        "before anything changes. Statements acknowledged after the backup are not in it."
    )
    requires_system_checks: list[str] = []  # the database is about to be replaced

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the backup file")
        parser.add_argument(
            "--keep-old",
            action="store_true",
            help="keep the replaced SQLite database beside the new one (QUORUM_DATA_DIR/"
            "*.before-restore-*); it holds ciphertexts: destroy it by their deadline",
        )

    def handle(self, *args: Any, file: Path, keep_old: bool, **options: Any) -> None:
        try:
            result = backup_restore(path=file, keep_old=keep_old)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"restored the {result.vendor} backup made {result.created}")
        for head in result.logs:
            self.stdout.write(f"{head.slug}: log size {head.size}, root {head.root}")
        if result.keys_written:
            self.stdout.write(f"put back {', '.join(result.keys_written)}")
        for name in result.keys_kept:
            self.stdout.write(f"kept this instance's {name}, which differs from the backup's")
        self.stdout.write(
            "checkpoints published after the backup are not in this log: statements "
            "acknowledged after it are lost, and their receipts no longer verify"
        )
        if result.migrations_missing:
            self.stdout.write(
                f"{result.migrations_missing} migrations to apply: run `quorum migrate`"
            )
