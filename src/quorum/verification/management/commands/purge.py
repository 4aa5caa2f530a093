from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from quorum.verification.services import purge_expired


class Command(BaseCommand):
    help = (
        "Destroy the sealed statements whose retention has ended (Art. 19: one month after "
        "submission to the Commission or 21 months after the start of collection, whichever is "
        "earlier; one month after a withdrawal; a legal hold postpones it to one month after the "
        "final decision). Leaves and checkpoints stay verifiable. Runs from `quorum periodic`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="say what would be destroyed, destroy nothing"
        )

    def handle(self, *args: Any, dry_run: bool, **options: Any) -> None:
        done = purge_expired(dry_run=dry_run)
        verb = "would destroy" if dry_run else "destroyed"
        for slug, end, count in done:
            self.stdout.write(
                f"{slug}: {verb} {count} sealed statements (retention ended {end.isoformat()})"
            )
        if not done:
            self.stdout.write("nothing to destroy")
