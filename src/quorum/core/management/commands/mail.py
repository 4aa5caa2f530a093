from __future__ import annotations

from typing import Any

from django.core.mail import EmailMessage
from django.core.management.base import BaseCommand, CommandError, CommandParser

from quorum.core.mail import mail_send_due, outbox_waiting


class Command(BaseCommand):
    help = (
        "The outbox of mail to staff: send what is due now (also done after each change and "
        "by `quorum periodic`), show how much waits, or send a test message to check "
        "QUORUM_EMAIL_URL."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("send", help="send every message that is due; exit 1 if one failed")
        sub.add_parser("status", help="how many messages wait in the outbox")
        test = sub.add_parser("test", help="send one message now, bypassing the outbox")
        test.add_argument("to", help="the address to send it to")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "status":
            self.stdout.write(f"{outbox_waiting()} messages wait in the outbox")
        elif action == "send":
            run = mail_send_due(limit=10_000)
            self.stdout.write(
                f"sent {run.sent}, not sent {run.failed}, dropped {run.dropped}; "
                f"{outbox_waiting()} wait"
            )
            if run.failed:
                raise CommandError("the mail server did not take every message; see the log")
        else:
            message = EmailMessage(
                subject="Quorum: a test message",
                body="This message checks that Quorum can send mail (quorum mail test).",
                to=[options["to"]],
            )
            try:
                message.send()
            except Exception as exc:
                raise CommandError(f"the mail server refused: {type(exc).__name__}: {exc}") from exc
            self.stdout.write("sent")
