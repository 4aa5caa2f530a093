from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from quorum.authorities.selectors import authority_list
from quorum.authorities.services import authority_set_keys, authority_staff_add
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
        staff = sub.add_parser(
            "add-staff",
            help="let a user act for an authority (download batches, upload certificates)",
        )
        staff.add_argument("member_state")
        staff.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            for authority in authority_list(scheme=options["scheme"]):
                self.stdout.write(
                    f"{authority.member_state}\t{authority.name}\t"
                    f"sealing={authority.sealing_public_key or '-'}\tsigning={authority.signing_public_key or '-'}"
                )
            return
        if options["action"] == "add-staff":
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
