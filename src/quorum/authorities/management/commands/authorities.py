from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from quorum.authorities.selectors import authority_list
from quorum.authorities.services import authority_set_keys
from quorum.core.errors import DomainError


class Command(BaseCommand):
    help = "Competent authorities: list them, or register the public keys an authority generated offline."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scheme", default="eci")
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="every authority with its public keys")
        keys = sub.add_parser(
            "set-keys", help="register an authority's public keys (from quorum-authority keygen)"
        )
        keys.add_argument("member_state")
        keys.add_argument("--sealing-key", required=True, help="X25519 public key, base64")
        keys.add_argument("--signing-key", required=True, help="Ed25519 public key, base64")
        keys.add_argument("--name", default=None, help="the authority's name")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            for authority in authority_list(scheme=options["scheme"]):
                self.stdout.write(
                    f"{authority.member_state}\t{authority.name}\t"
                    f"sealing={authority.sealing_public_key or '-'}\tsigning={authority.signing_public_key or '-'}"
                )
            return
        try:
            authority = authority_set_keys(
                scheme_code=options["scheme"],
                member_state=options["member_state"].upper(),
                sealing_public_key=options["sealing_key"].strip(),
                signing_public_key=options["signing_key"].strip(),
                name=options["name"],
                actor_label="cli",
            )
        except DomainError as exc:
            raise CommandError(str(exc.message), returncode=1) from exc
        self.stdout.write(f"{authority.member_state}: keys registered for {authority.name}")
