"""`quorum initiative …`: every lifecycle action of the web interface, for operators and scripts.

It lives in ``site`` because it reaches every room an initiative has: its lifecycle
(``initiatives``) and its e-mail updates (``updates``), which ``initiatives`` may not know.

Each subcommand calls the same service as the web; errors are printed with their reasons and
exit with status 1.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from quorum.core.errors import DomainError, Invalid
from quorum.core.text import cli_multi_line, cli_single_line
from quorum.initiatives import services
from quorum.initiatives.models import Initiative
from quorum.initiatives.selectors import (
    initiative_deadlines,
    initiative_embed_origins,
)
from quorum.ledger.selectors import initiative_counts, partner_rows
from quorum.rules import scheme
from quorum.signing.paper import (
    FontMissing,
    PaperFormsUnavailable,
    online_form_address,
    paper_form_pdf,
    paper_forms_available,
)
from quorum.updates import services as updates
from quorum.updates.selectors import addresses_destroyed_on, subscription_counts

ACTOR = "cli"


Options = dict[str, Any]
Write = Callable[[str], None]


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"expected a date as YYYY-MM-DD, got {value!r}") from exc


def _initiative(options: Options) -> Initiative:
    slug = options["slug"]
    try:
        return Initiative.objects.get(slug=slug)
    except Initiative.DoesNotExist as exc:
        raise CommandError(f"no initiative {slug!r}", returncode=1) from exc


def _common(options: Options) -> dict[str, Any]:
    """What every service on one initiative takes from the command line."""
    return {"initiative": _initiative(options), "actor_label": ACTOR}


def _status(write: Write, initiative: Initiative) -> None:
    write(f"{initiative.slug}: {initiative.status}")


# --- one function per action -----------------------------------------------------------------


def list_initiatives(options: Options, write: Write) -> None:
    for initiative in Initiative.objects.order_by("slug"):
        write(f"{initiative.slug}\t{initiative.status}\t{initiative.registration_number}")


def show(options: Options, write: Write) -> None:
    initiative = _initiative(options)
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
    }
    deadlines = {name: day.isoformat() for name, day in initiative_deadlines(initiative).items()}
    if options["format"] == "json":
        write(json.dumps({**facts, "deadlines": deadlines}, indent=2))
        return
    for key, value in facts.items():
        write(f"{key}: {value}")
    for name, day in deadlines.items():
        write(f"  {name}: {day}")


def advance(options: Options, write: Write) -> None:
    for slug, before, after in services.initiatives_advance_by_date():
        write(f"{slug}: {before} → {after}")


def create(options: Options, write: Write) -> None:
    language = options["language"]
    created = services.initiative_create(
        slug=options["slug"],
        language=language,
        title={language: options["title"]},
        objectives={language: options["objectives"]},
        annex={language: options["annex"]} if options["annex"] else {},
        treaty_basis=options["treaty_basis"],
        actor_label=ACTOR,
    )
    _status(write, created)


def invite(options: Options, write: Write) -> None:
    invitation = services.organiser_invite(
        **_common(options),
        full_name=options["name"],
        email=options["email"],
        nationality=options["nationality"].upper(),
        residence=options["residence"].upper(),
        role=options["role"],
        is_mep=options["mep"],
    )
    # Shown once: only its hash is stored.
    write(invitation.token)


def confirm(options: Options, write: Write) -> None:
    user = User.objects.filter(username=options["user"]).first()
    if user is None:
        raise CommandError(f"no user {options['user']!r}", returncode=1)
    member = services.organiser_confirm(token=options["token"], user=user)
    write(f"{member.initiative.slug}: {user.username} confirmed as {member.role}")


def request_registration(options: Options, write: Write) -> None:
    _status(write, services.initiative_request_registration(**_common(options)))


def register(options: Options, write: Write) -> None:
    decision = "partially_registered" if options["partial"] else "registered"
    registered = services.initiative_decide_registration(
        **_common(options),
        decision=decision,
        registration_number=options["number"],
        reasons=options["reasons"],
    )
    _status(write, registered)


def refuse(options: Options, write: Write) -> None:
    refused = services.initiative_decide_registration(
        **_common(options), decision="refused", reasons=options["reasons"]
    )
    _status(write, refused)


def translate(options: Options, write: Write) -> None:
    translated = services.initiative_add_translation(
        **_common(options),
        language=options["language"],
        title=options["title"],
        objectives=options["objectives"],
    )
    _status(write, translated)


def set_start(options: Options, write: Write) -> None:
    common = _common(options)
    started = services.initiative_set_collection_start(**common, start=_date(options["date"]))
    _status(write, started)


def extend(options: Options, write: Write) -> None:
    common = _common(options)
    extended = services.initiative_record_extension(
        **common, new_end=_date(options["until"]), legal_basis=options["legal_basis"]
    )
    _status(write, extended)


def stop_collection(options: Options, write: Write) -> None:
    common = _common(options)
    end = _date(options["end"]) if options["end"] else None
    _status(write, services.initiative_stop_collection(**common, end=end))


def withdraw(options: Options, write: Write) -> None:
    _status(write, services.initiative_withdraw(**_common(options)))


def submit(options: Options, write: Write) -> None:
    _status(write, services.initiative_submit_to_commission(**_common(options)))


def record(options: Options, write: Write) -> None:
    common = _common(options)
    recorded = services.initiative_record_follow_up(
        **common, step=options["step"], on=_date(options["date"]), url=options["url"]
    )
    _status(write, recorded)


def report(options: Options, write: Write) -> None:
    common = _common(options)
    paper: dict[str, int] = {}
    for item in options["paper"]:
        code, _, count = item.partition("=")
        if not count.isdigit():
            raise CommandError(f"--paper takes MS=N, got {item!r}", returncode=1)
        paper[code.upper()] = int(count)
    services.progress_report_file(**common, online_count=options["online"], paper_counts=paper)
    _status(write, common["initiative"])


def legal_hold(options: Options, write: Write) -> None:
    common = _common(options)
    decided = _date(options["final_decision"]) if options["final_decision"] else None
    held = services.initiative_set_legal_hold(**common, held=decided is None, decided_on=decided)
    _status(write, held)


def add_sponsor(options: Options, write: Write) -> None:
    common = _common(options)
    try:
        amount = Decimal(options["amount"])
    except InvalidOperation as exc:
        raise CommandError(f"not an amount: {options['amount']!r}", returncode=1) from exc
    services.sponsor_add(
        **common, name=options["name"], amount_eur=amount, received_on=_date(options["date"])
    )
    _status(write, common["initiative"])


def update_send(options: Options, write: Write) -> None:
    common = _common(options)
    try:
        body = Path(options["body_file"]).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read {options['body_file']}: {exc}", returncode=1) from exc
    if options["test_to"]:
        updates.update_test(
            initiative=common["initiative"],
            subject=options["subject"],
            body=body,
            to=options["test_to"],
        )
        write(f"test message sent to {options['test_to']}")
        return
    update = updates.update_create(subject=options["subject"], body=body, **common)
    write(f"update {update.pk}: {update.recipients} recipients")
    while updates.update_send_batch(update=update):
        write(f"  sent {update.sent} of {update.recipients}")
    write(f"update {update.pk}: sent to {update.sent} of {update.recipients}")


def update_counts(options: Options, write: Write) -> None:
    initiative = _initiative(options)
    counts = subscription_counts(initiative)
    write(
        f"{initiative.slug}: {counts.requested} asked, {counts.confirmed} confirmed, "
        f"{counts.unsubscribed} unsubscribed"
    )
    destroyed_on = addresses_destroyed_on(initiative)
    if destroyed_on is not None:
        write(f"  addresses destroyed on {destroyed_on.isoformat()}")


def embed_origin(options: Options, write: Write) -> None:
    """The sites that may frame the signing form: add, list, remove."""
    common = _common(options)
    initiative = common["initiative"]
    what = options["embed_action"]
    if what == "add":
        added = services.embed_origin_add(**common, origin=options["origin"] or "")
        write(f"{initiative.slug}: {added.origin} may frame /i/{initiative.slug}/embed/sign/")
    elif what == "remove":
        if not services.embed_origin_remove(**common, origin=options["origin"] or ""):
            raise CommandError(f"{options['origin']!r} is not listed", returncode=1)
        write(f"{initiative.slug}: {options['origin']} removed")
    origins = initiative_embed_origins(initiative)
    if what == "list" or not origins:
        write("\n".join(origins) if origins else f"{initiative.slug}: no site may frame the form")


def partner(options: Options, write: Write) -> None:
    """The coalition partners: add (or rename), list with their counts, remove."""
    common = _common(options)
    initiative = common["initiative"]
    what, code = options["partner_action"], options["code"] or ""
    if what == "add":
        if not options["name"]:
            raise CommandError("partner add needs --name NAME", returncode=2)
        added = services.partner_add(**common, code=code, name=options["name"])
        write(f"{initiative.slug}: partner {added.code} ({added.name}) signs through")
        write(f"  /i/{initiative.slug}/sign/?via={added.code}")
        return
    if what == "remove":
        if not services.partner_remove(**common, code=code):
            raise CommandError(f"{code!r} is not a partner of {initiative.slug}", returncode=1)
        write(f"{initiative.slug}: partner {code} removed; its statements keep their code")
        return
    counts = initiative_counts(initiative)
    rows = partner_rows(initiative, counts.by_partner)
    if not rows:
        write(f"{initiative.slug}: no partners")
        return
    for row in rows:
        write(f"{row.code}\t{'(removed)' if row.removed else row.name}\t{row.count}")
    write(f"(no partner)\t\t{counts.without_partner}")


def paper_form(options: Options, write: Write) -> None:
    """The Annex III form of one Member State as a PDF file, as ``/i/<slug>/paper/<ms>.pdf``
    serves it."""
    initiative = _initiative(options)
    code = options["member_state"].upper()
    if code not in scheme(initiative.scheme).member_state_codes():
        raise CommandError(f"no Member State {options['member_state']!r}", returncode=1)
    if not paper_forms_available(initiative, today=timezone.localdate()):
        raise PaperFormsUnavailable()
    base_url = options["base_url"] or settings.QUORUM_BASE_URL
    if not base_url.startswith(("https://", "http://")):
        raise CommandError(f"--base-url must start with https://, got {base_url!r}", returncode=2)
    try:
        pdf = paper_form_pdf(
            initiative, code, language=options["lang"], via=options["via"], base_url=base_url
        )
    except FontMissing as exc:
        raise CommandError(str(exc), returncode=1) from exc
    out = Path(options["out"])
    try:
        out.write_bytes(pdf)
    except OSError as exc:
        raise CommandError(f"cannot write {out}: {exc}", returncode=1) from exc
    write(f"{initiative.slug}: the paper form for {code} in {options['lang']} is in {out}")
    qr = online_form_address(initiative, code, via=options["via"], base_url=base_url)
    write(f"  its QR code leads to {qr}")


ACTIONS: dict[str, Callable[[Options, Write], None]] = {
    "list": list_initiatives,
    "show": show,
    "advance": advance,
    "create": create,
    "invite": invite,
    "confirm": confirm,
    "request-registration": request_registration,
    "register": register,
    "refuse": refuse,
    "translate": translate,
    "set-start": set_start,
    "extend": extend,
    "stop-collection": stop_collection,
    "withdraw": withdraw,
    "submit": submit,
    "record": record,
    "report": report,
    "legal-hold": legal_hold,
    "add-sponsor": add_sponsor,
    "update-send": update_send,
    "update-counts": update_counts,
    "embed-origin": embed_origin,
    "partner": partner,
    "paper-form": paper_form,
}


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
            "--number",
            default="",
            type=cli_single_line,
            help="registration number, e.g. ECI(2026)000003",
        )
        register.add_argument(
            "--partial", action="store_true", help="register it partially (give --reasons)"
        )
        register.add_argument("--reasons", default="", type=cli_multi_line)
        refuse = sub.add_parser("refuse", help="the registrar refuses registration")
        refuse.add_argument("slug")
        refuse.add_argument("--reasons", required=True, type=cli_multi_line)
        start = sub.add_parser("set-start", help="the organisers choose the collection start date")
        start.add_argument("slug")
        start.add_argument("date")
        extend = sub.add_parser("extend", help="the registrar records an extension of collection")
        extend.add_argument("slug")
        extend.add_argument("--until", required=True)
        extend.add_argument("--legal-basis", required=True, type=cli_single_line)
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
        follow.add_argument("--url", default="", type=cli_single_line)
        sponsor = sub.add_parser("add-sponsor", help="declare support or funding over EUR 500")
        sponsor.add_argument("slug")
        sponsor.add_argument("--name", required=True, type=cli_single_line)
        sponsor.add_argument("--amount", required=True, help="in euro, e.g. 1250.00")
        sponsor.add_argument("--date", required=True)
        sub.add_parser(
            "advance", help="open and close collections whose dates have come (run daily)"
        )
        create = sub.add_parser("create", help="the organisers start a draft")
        create.add_argument("slug")
        create.add_argument("--language", required=True, type=cli_single_line)
        create.add_argument("--title", required=True, type=cli_single_line)
        create.add_argument("--objectives", required=True, type=cli_multi_line)
        create.add_argument("--annex", default="", type=cli_multi_line)
        create.add_argument("--treaty-basis", default="", type=cli_single_line)
        invite = sub.add_parser(
            "invite", help="invite a member of the group of organisers; prints the token"
        )
        invite.add_argument("slug")
        invite.add_argument("--name", required=True, type=cli_single_line)
        invite.add_argument("--email", required=True, type=cli_single_line)
        invite.add_argument("--nationality", required=True)
        invite.add_argument("--residence", required=True)
        invite.add_argument(
            "--role", choices=["representative", "substitute", "member"], default="member"
        )
        invite.add_argument(
            "--mep", action="store_true", help="a Member of the European Parliament"
        )
        confirm = sub.add_parser("confirm", help="a user accepts an invitation token")
        confirm.add_argument("token")
        confirm.add_argument("--user", required=True, help="the username accepting it")
        translate = sub.add_parser(
            "translate", help="the registrar adds a translation of title and objectives"
        )
        translate.add_argument("slug")
        translate.add_argument("--language", required=True, type=cli_single_line)
        translate.add_argument("--title", required=True, type=cli_single_line)
        translate.add_argument("--objectives", required=True, type=cli_multi_line)
        report = sub.add_parser("report", help="file the two-monthly progress report")
        report.add_argument("slug")
        report.add_argument(
            "--online", type=int, required=True, help="statements received online (the log size)"
        )
        report.add_argument(
            "--paper",
            action="append",
            default=[],
            metavar="MS=N",
            help="paper statements, e.g. DE=120",
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

        send = sub.add_parser(
            "update-send",
            help="send an e-mail update to every subscriber (the audit log says to how many)",
        )
        send.add_argument("slug")
        send.add_argument("--subject", required=True, type=cli_single_line)
        send.add_argument("--body-file", required=True, help="the message, plain UTF-8 text")
        send.add_argument(
            "--test-to", default="", metavar="ADDRESS", help="send it only to this address"
        )
        counts = sub.add_parser("update-counts", help="how many asked, confirmed, unsubscribed")
        counts.add_argument("slug")

        embed = sub.add_parser(
            "embed-origin", help="the sites that may frame the signing form (add, list, remove)"
        )
        embed.add_argument("embed_action", choices=["add", "list", "remove"])
        embed.add_argument("slug")
        embed.add_argument("origin", nargs="?", help="https://campaign.example.org")

        partners = sub.add_parser(
            "partner", help="coalition partners and their signing links (add, list, remove)"
        )
        partners.add_argument("partner_action", choices=["add", "list", "remove"])
        partners.add_argument("slug")
        partners.add_argument("code", nargs="?", help="e.g. edri: lower-case letters, digits, -")
        partners.add_argument(
            "--name", type=cli_single_line, default="", help="shown to signatories"
        )

        paper = sub.add_parser(
            "paper-form", help="the Annex III paper form of one Member State, as a PDF file"
        )
        paper.add_argument("slug")
        paper.add_argument("member_state", metavar="MS", help="e.g. DE")
        paper.add_argument(
            "--lang", required=True, choices=[code for code, _name in settings.LANGUAGES]
        )
        paper.add_argument(
            "--via", default="", help="a partner's code for the QR code (ignored if unknown)"
        )
        paper.add_argument("--out", required=True, metavar="FILE")
        paper.add_argument(
            "--base-url",
            default="",
            metavar="URL",
            help="where the form's addresses lead (default: QUORUM_BASE_URL)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            ACTIONS[options["action"]](options, self.stdout.write)
        except DomainError as exc:
            details = exc.messages() if isinstance(exc, Invalid) else {}
            lines = [str(exc.message)] + [
                f"  {field}: {' '.join(reasons)}" for field, reasons in details.items()
            ]
            raise CommandError("\n".join(lines), returncode=1) from exc
