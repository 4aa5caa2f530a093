"""`audit` as a Django command too (`call_command("audit", …)`); the `quorum` script runs the
pure command line in quorum.proofs.audit_cli directly, without Django or a secret key."""

from __future__ import annotations

import argparse
from typing import Any, TextIO, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser

from quorum.proofs import audit_cli


class Command(BaseCommand):
    help = audit_cli.build_parser().description or ""
    requires_system_checks: list[str] = []  # an auditor needs no database

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("args", nargs=argparse.REMAINDER)

    def handle(self, *args: str, **options: Any) -> None:
        # The wrappers' own streams: Django's OutputWrapper would add a newline to each write.
        # django-stubs do not declare OutputWrapper._out, the TextIO it was made with.
        stdout, stderr = cast(TextIO, self.stdout._out), cast(TextIO, self.stderr._out)
        status = audit_cli.run(list(args), stdout, stderr)
        if status != audit_cli.EXIT_OK:
            raise CommandError(f"the audit ended with status {status}", returncode=status)
