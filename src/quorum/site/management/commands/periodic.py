from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from quorum.accounts import throttle
from quorum.core.mail import mail_send_due
from quorum.initiatives.selectors import progress_reports_overdue
from quorum.initiatives.services import initiatives_advance_by_date
from quorum.signing import ratelimit, replay
from quorum.updates.services import subscribers_destroy_due, updates_send_due
from quorum.verification.services import purge_expired


class Command(BaseCommand):
    help = (
        "The daily chores, safe to run more often (e.g. hourly from cron or a systemd timer): "
        "open and close collections on their dates, destroy statements whose retention ended, "
        "list overdue two-monthly progress reports, and forget expired rate-limit, single-use "
        "and sign-in entries of the database (Redis expires its own), send the mail that "
        "is still waiting in the outbox and the rest of any e-mail update, and destroy "
        "subscribers' addresses whose date has come."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        for slug, before, after in initiatives_advance_by_date():
            self.stdout.write(f"{slug}: {before} → {after}")
        for slug, end, count in purge_expired():
            self.stdout.write(
                f"{slug}: destroyed {count} sealed statements (retention ended {end.isoformat()})"
            )
        for initiative, due in progress_reports_overdue():
            self.stdout.write(
                f"{initiative.slug}: the two-monthly progress report was due on {due.isoformat()}"
            )
        forgotten = ratelimit.purge_expired() + replay.purge_expired() + throttle.purge_expired()
        if forgotten:
            self.stdout.write(
                f"forgot {forgotten} expired rate-limit, single-use and sign-in entries"
            )
        run = mail_send_due()
        if run.sent or run.failed:
            self.stdout.write(f"mail: sent {run.sent}, not sent {run.failed} (tried again later)")
        sent = updates_send_due()
        if sent:
            self.stdout.write(f"updates: sent {sent} messages")
        for slug, count in subscribers_destroy_due():
            self.stdout.write(f"{slug}: destroyed {count} subscribers' addresses")
