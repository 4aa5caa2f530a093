from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from quorum.rules import RulesError, scheme

UNCERTAIN_MARK = "?"


def _parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--registered must be a date as YYYY-MM-DD; got {value!r}") from exc


class Command(BaseCommand):
    help = "Show the rules of a scheme (Member State table) or check an ID number against them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scheme", default="eci", help="scheme code (default eci)")
        sub = parser.add_subparsers(dest="action", required=True)
        show = sub.add_parser("show", help="the Member State table in force on a registration date")
        show.add_argument("--registered", help="registration date YYYY-MM-DD (default today)")
        show.add_argument("--format", choices=["table", "json"], default="table")
        check = sub.add_parser("check-id", help="check an ID number: exit 0 if valid, 1 if not")
        check.add_argument("member_state", help="Member State code, e.g. PL (EL for Greece)")
        check.add_argument("id_type", help="ID type code, e.g. pesel")
        check.add_argument("number", help="the number to check")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            rules = scheme(options["scheme"])
            if options["action"] == "show":
                self._show(rules, options)
            else:
                self._check_id(rules, options)
        except RulesError as exc:
            raise CommandError(str(exc)) from exc

    def _show(self, rules: Any, options: dict[str, Any]) -> None:
        registered = (
            _parse_date(options["registered"]) if options["registered"] else timezone.localdate()
        )
        states = rules.member_states(registered=registered)
        if options["format"] == "json":
            self.stdout.write(
                json.dumps([ms.as_dict() for ms in states], ensure_ascii=False, indent=2)
            )
            return
        table = rules.threshold_table(registered=registered)
        self.stdout.write(
            f"Scheme {rules.code}, registered {registered.isoformat()}: "
            f"Annex I {table.name} table, {table.total_seats} seats"
        )
        header = (
            f"{'code':<5}{'name':<13}{'seats':>6}{'threshold':>11}  part  {'age':>4}  id documents"
        )
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        any_uncertain = False
        for ms in states:
            marks = {
                field: UNCERTAIN_MARK if field in ms.uncertain else "" for field in ms.as_dict()
            }
            any_uncertain = any_uncertain or bool(ms.uncertain)
            documents = ", ".join(doc.code for doc in ms.id_documents) or "-"
            self.stdout.write(
                f"{ms.code:<5}{ms.name:<13}{ms.seats:>6}{ms.threshold:>11}  "
                f"{ms.part + marks['part']:<4}  {str(ms.min_age) + marks['min_age']:>4}  "
                f"{documents}{marks['id_documents']}"
            )
        total = sum(ms.threshold for ms in states)
        self.stdout.write(
            f"{len(states)} Member States, {table.total_seats} seats, thresholds sum {total}"
        )
        if any_uncertain:
            self.stdout.write(
                f"{UNCERTAIN_MARK} = uncertain: not confirmed in a primary source (see the data file)"
            )

    def _check_id(self, rules: Any, options: dict[str, Any]) -> None:
        code = options["member_state"].upper()
        result = rules.check_id(code, options["id_type"], options["number"])
        if result.valid:
            self.stdout.write(f"valid {code} {options['id_type']}: {result.compact}")
            return
        raise CommandError(f"not valid: {result.reason}", returncode=1)
