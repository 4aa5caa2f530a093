"""Staff accounts from the command line (operators).

    quorum users create USERNAME --email E [--role registrar|operator ...] [--password-file F]
    quorum users list
    quorum users set-roles USERNAME [--role registrar|operator ...]
    quorum users reset-2fa USERNAME

Every change writes an audit entry with actor "cli". A new user sets up their authenticator
app at their first sign-in; ``reset-2fa`` removes it so they set up a new one.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from quorum.accounts.roles import ROLES, user_create, user_set_roles
from quorum.accounts.selectors import user_list
from quorum.accounts.services import user_reset_2fa
from quorum.core.text import cli_single_line

ACTOR_LABEL = "cli"


def _errors(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(
            f"{field}: {message}"
            for field, messages in exc.message_dict.items()
            for message in messages
        )
    return "; ".join(exc.messages)


class Command(BaseCommand):
    help = (
        "Manage staff accounts: create one (with a platform role), list them, change roles, "
        "or remove a user's second factor so they enrol again at their next sign-in."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

        create = actions.add_parser("create", help="Create a staff user.")
        create.add_argument("username", type=cli_single_line)
        create.add_argument(
            "--email", required=True, type=cli_single_line, help="The user's e-mail address."
        )
        create.add_argument(
            "--role",
            action="append",
            choices=ROLES,
            default=[],
            help="A platform role; repeat for several. None: organiser or authority staff.",
        )
        create.add_argument(
            "--password-file",
            type=Path,
            help="Read the password from this file (first line). Else it is asked for.",
        )

        actions.add_parser("list", help="List users, their roles and whether 2FA is set up.")

        roles = actions.add_parser("set-roles", help="Set a user's platform roles exactly.")
        roles.add_argument("username")
        roles.add_argument("--role", action="append", choices=ROLES, default=[])

        reset = actions.add_parser(
            "reset-2fa", help="Remove a user's authenticator (they enrol again at sign-in)."
        )
        reset.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            self._create(options)
        elif action == "list":
            self._list()
        elif action == "set-roles":
            user = self._user(options["username"])
            user_set_roles(user=user, roles=options["role"], actor_label=ACTOR_LABEL)
            self.stdout.write(
                f"{user.username}: roles {', '.join(sorted(options['role'])) or '(none)'}"
            )
        elif action == "reset-2fa":
            user = self._user(options["username"])
            removed = user_reset_2fa(user=user, actor_label=ACTOR_LABEL)
            self.stdout.write(
                f"{user.username}: {removed} second-factor device(s) removed; "
                "they set up a new one at their next sign-in."
            )

    def _user(self, username: str) -> User:
        try:
            return User.objects.get(username=username)
        except User.DoesNotExist as exc:
            raise CommandError(f"No user named {username!r}.") from exc

    def _password(self, options: dict[str, Any]) -> str:
        path = options.get("password_file")
        if path is not None:
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise CommandError(f"Cannot read {path}: {exc.strerror}") from exc
            lines = text.splitlines()
            return lines[0] if lines else ""
        first = getpass.getpass("Password: ")
        second = getpass.getpass("Password (again): ")
        if first != second:
            raise CommandError("The two passwords are not the same.")
        return first

    def _create(self, options: dict[str, Any]) -> None:
        password = self._password(options)
        try:
            user = user_create(
                username=options["username"],
                email=options["email"],
                password=password,
                roles=options["role"],
                actor_label=ACTOR_LABEL,
            )
        except ValidationError as exc:
            raise CommandError(_errors(exc)) from exc
        roles = ", ".join(sorted(options["role"])) or "(none)"
        self.stdout.write(
            f"Created {user.username} (roles: {roles}). "
            "They set up their authenticator app at their first sign-in."
        )

    def _list(self) -> None:
        rows = user_list()
        header = ("username", "email", "roles", "2fa", "active", "last sign-in")
        table = [
            (
                row["username"],
                row["email"],
                ",".join(row["roles"]) or "-",
                "yes" if row["two_factor"] else "no",
                "yes" if row["active"] else "no",
                row["last_login"].strftime("%Y-%m-%d %H:%M UTC") if row["last_login"] else "-",
            )
            for row in rows
        ]
        widths = [
            max(len(str(cell)) for cell in column) for column in zip(header, *table, strict=False)
        ]
        for line in (header, *table):
            self.stdout.write(
                "  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
            )
