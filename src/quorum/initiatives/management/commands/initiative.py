"""`quorum initiative …`: every lifecycle action of the web interface, for operators and scripts.

Each subcommand calls the same service as the web; errors are printed with their reasons and
exit with status 1.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from quorum.core.errors import DomainError
from quorum.initiatives import services
from quorum.initiatives.models import Initiative
from quorum.initiatives.selectors import initiative_deadlines

ACTOR = "cli"


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"expected a date as YYYY-MM-DD, got {value!r}") from exc


class Command(BaseCommand):
    help = "Lifecycle actions on an initiative (the same services as the web interface)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="all initiatives with their status")
        show = sub.add_parser("show", help="one initiative with its dates and deadlines")
        show.add_argument("slug")
        show.add_argument("--format", choices=["text", "json"], default="text")
        for name, text in (
            ("request-registration", "the organisers ask for registration"),
            ("withdraw", "the organisers withdraw the initiative (before submission)"),
            ("submit", "the organisers submit the verified initiative to the Commission"),
        ):
            sub.add_parser(name, help=text).add_argument("slug")
        register = sub.add_parser("register", help="the registrar registers the initiative")
        register.add_argument("slug")
        register.add_argument(
            "--number", default="", help="registration number, e.g. ECI(2026)000003"
        )
        register.add_argument(
            "--partial", action="store_true", help="register it partially (give --reasons)"
        )
        register.add_argument("--reasons", default="")
        refuse = sub.add_parser("refuse", help="the registrar refuses registration")
        refuse.add_argument("slug")
        refuse.add_argument("--reasons", required=True)
        start = sub.add_parser("set-start", help="the organisers choose the collection start date")
        start.add_argument("slug")
        start.add_argument("date")
        extend = sub.add_parser("extend", help="the registrar records an extension of collection")
        extend.add_argument("slug")
        extend.add_argument("--until", required=True)
        extend.add_argument("--legal-basis", required=True)
        stop = sub.add_parser("stop-collection", help="the organisers end collection early")
        stop.add_argument("slug")
        stop.add_argument(
            "--end", default=None, help="new last day (default: ten working days from today)"
        )
        follow = sub.add_parser(
            "record", help="the registrar records the meeting, hearing or communication"
        )
        follow.add_argument("slug")
        follow.add_argument("step", choices=["meeting", "hearing", "communication"])
        follow.add_argument("date")
        follow.add_argument("--url", default="")
        sponsor = sub.add_parser("add-sponsor", help="declare support or funding over EUR 500")
        sponsor.add_argument("slug")
        sponsor.add_argument("--name", required=True)
        sponsor.add_argument("--amount", required=True, help="in euro, e.g. 1250.00")
        sponsor.add_argument("--date", required=True)
        sub.add_parser(
            "advance", help="open and close collections whose dates have come (run daily)"
        )
        hold = sub.add_parser(
            "legal-hold", help="hold the statements for legal proceedings (Art. 19(7)), or lift it"
        )
        hold.add_argument("slug")
        group = hold.add_mutually_exclusive_group(required=True)
        group.add_argument(
            "--on", action="store_true", help="proceedings are pending: destroy nothing"
        )
        group.add_argument(
            "--final-decision",
            metavar="DATE",
            help="date of the final decision: destroy a month later",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "list":
                for initiative in Initiative.objects.order_by("slug"):
                    self.stdout.write(
                        f"{initiative.slug}\t{initiative.status}\t{initiative.registration_number}"
                    )
                return
            if action == "advance":
                for slug, before, after in services.initiatives_advance_by_date():
                    self.stdout.write(f"{slug}: {before} → {after}")
                return
            initiative = self._initiative(options["slug"])
            if action == "show":
                self._show(initiative, options["format"])
                return
            result = self._act(action, initiative, options)
        except DomainError as exc:
            details = getattr(exc, "errors", {})
            lines = [str(exc.message)] + [
                f"  {field}: {' '.join(map(str, reasons))}" for field, reasons in details.items()
            ]
            raise CommandError("\n".join(lines), returncode=1) from exc
        self.stdout.write(f"{result.slug}: {result.status}")

    def _initiative(self, slug: str) -> Initiative:
        try:
            return Initiative.objects.get(slug=slug)
        except Initiative.DoesNotExist as exc:
            raise CommandError(f"no initiative {slug!r}", returncode=1) from exc

    def _act(self, action: str, initiative: Initiative, options: dict[str, Any]) -> Initiative:
        common = {"initiative": initiative, "actor_label": ACTOR}
        if action == "request-registration":
            return services.initiative_request_registration(**common)
        if action == "register":
            decision = "partially_registered" if options["partial"] else "registered"
            return services.initiative_decide_registration(
                **common,
                decision=decision,
                registration_number=options["number"],
                reasons=options["reasons"],
            )
        if action == "refuse":
            return services.initiative_decide_registration(
                **common, decision="refused", reasons=options["reasons"]
            )
        if action == "set-start":
            return services.initiative_set_collection_start(**common, start=_date(options["date"]))
        if action == "extend":
            return services.initiative_record_extension(
                **common, new_end=_date(options["until"]), legal_basis=options["legal_basis"]
            )
        if action == "stop-collection":
            end = _date(options["end"]) if options["end"] else None
            return services.initiative_stop_collection(**common, end=end)
        if action == "withdraw":
            return services.initiative_withdraw(**common)
        if action == "submit":
            return services.initiative_submit_to_commission(**common)
        if action == "record":
            return services.initiative_record_follow_up(
                **common, step=options["step"], on=_date(options["date"]), url=options["url"]
            )
        if action == "legal-hold":
            decided = _date(options["final_decision"]) if options["final_decision"] else None
            return services.initiative_set_legal_hold(
                **common, held=decided is None, decided_on=decided
            )
        if action == "add-sponsor":
            try:
                amount = Decimal(options["amount"])
            except InvalidOperation as exc:
                raise CommandError(f"not an amount: {options['amount']!r}", returncode=1) from exc
            services.sponsor_add(
                **common,
                name=options["name"],
                amount_eur=amount,
                received_on=_date(options["date"]),
            )
            return initiative
        raise CommandError(f"unknown action {action}")

    def _show(self, initiative: Initiative, output: str) -> None:
        facts = {
            "slug": initiative.slug,
            "status": initiative.status,
            "registration_number": initiative.registration_number,
            "registration_date": initiative.registration_date.isoformat()
            if initiative.registration_date
            else None,
            "collection_start": initiative.collection_start.isoformat()
            if initiative.collection_start
            else None,
            "collection_end": initiative.collection_end.isoformat()
            if initiative.collection_end
            else None,
            "deadlines": {
                name: day.isoformat() for name, day in initiative_deadlines(initiative).items()
            },
        }
        if output == "json":
            self.stdout.write(json.dumps(facts, indent=2))
            return
        for key, value in facts.items():
            if key == "deadlines":
                for name, day in value.items():
                    self.stdout.write(f"  {name}: {day}")
            else:
                self.stdout.write(f"{key}: {value}")
