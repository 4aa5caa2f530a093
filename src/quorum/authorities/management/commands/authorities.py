from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from quorum.authorities.selectors import authority_list
from quorum.authorities.services import authority_key_register, authority_staff_add
from quorum.core.errors import DomainError
from quorum.proofs.key_certificate import format_fingerprint

MAX_KEY_CERTIFICATE_BYTES = 16 * 1024


class Command(BaseCommand):
    help = (
        "Competent authorities: list them with their key fingerprints, hand on a key certificate "
        "that an authority made with quorum-authority, or let a user act for an authority."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scheme", default="eci")
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="every authority with its current key and fingerprint")
        keys = sub.add_parser(
            "import-key",
            help="register a key certificate (from quorum-authority key-certificate): accepted "
            "only if it matches the fingerprint the registrar recorded, or is a rotation signed "
            "with the current key",
        )
        keys.add_argument("certificate", type=Path, metavar="KEY_CERTIFICATE")
        staff = sub.add_parser(
            "add-staff",
            help="let a user act for an authority (download batches, upload certificates)",
        )
        staff.add_argument("member_state")
        staff.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "list":
            self._list(options["scheme"])
        elif action == "add-staff":
            self._add_staff(options)
        else:
            self._import_key(options["certificate"])

    def _list(self, scheme_code: str) -> None:
        for authority in authority_list(scheme=scheme_code):
            key = authority.current_key
            if key is not None:
                state = f"key {key.sequence}\t{format_fingerprint(key.fingerprint)}"
            elif authority.expected_fingerprint:
                state = f"awaiting key\t{format_fingerprint(authority.expected_fingerprint)}"
            else:
                state = "no key\t-"
            self.stdout.write(f"{authority.member_state}\t{authority.name}\t{state}")

    def _add_staff(self, options: dict[str, Any]) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no user {options['username']!r}", returncode=1)
        try:
            authority_staff_add(
                scheme_code=options["scheme"],
                member_state=options["member_state"].upper(),
                user=user,
                actor_label="cli",
            )
        except DomainError as exc:
            raise CommandError(str(exc.message), returncode=1) from exc
        self.stdout.write(
            f"{user.username} now acts for the authority of {options['member_state'].upper()}"
        )

    def _import_key(self, path: Path) -> None:
        try:
            raw = path.read_bytes()[: MAX_KEY_CERTIFICATE_BYTES + 1]
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror or exc}", returncode=1) from exc
        if len(raw) > MAX_KEY_CERTIFICATE_BYTES:
            raise CommandError(f"{path} is too large for a key certificate", returncode=1)
        try:
            document = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise CommandError(f"{path} is not a JSON key certificate", returncode=1) from exc
        try:
            key = authority_key_register(certificate=document, actor_label="cli")
        except DomainError as exc:
            raise CommandError(str(exc.message), returncode=1) from exc
        self.stdout.write(
            f"{key.authority.member_state}: key {key.sequence} registered for "
            f"{key.authority.name} (fingerprint {format_fingerprint(key.fingerprint)})"
        )
