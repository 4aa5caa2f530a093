"""Mail to the people who run an initiative, through an outbox.

A service calls :func:`mail_queue` inside the transaction of the change it tells of. Once that
transaction commits, a short-lived thread of the same process tries to send what is due; what
it cannot send (the mail server is down, slow or refuses) stays in the outbox and is tried
again with a growing delay, by the next commit's thread or by ``quorum periodic`` /
``quorum mail send``. Nothing waits for a mail server but the sender: a statement, a sign-in or
a decision never does.

Only staff get mail here (organisers, registrars, authority staff). Signatories' addresses,
for updates they asked for, are another room's, kept apart from everything else.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import close_old_connections, transaction
from django.urls import reverse
from django.utils import timezone, translation

from quorum.core.models import OutgoingMail

logger = logging.getLogger("quorum.mail")

#: The delay before the n-th retry doubles from one minute up to an hour ...
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)
#: ... and a message the server has refused for this long is dropped, with an error logged.
GIVE_UP_AFTER = timedelta(days=3)
#: While one sender tries a message, no other takes it (longer than the SMTP timeout).
CLAIM = timedelta(minutes=2)
SUBJECT_MAX = 200


@dataclass(frozen=True)
class SendRun:
    sent: int
    failed: int
    dropped: int


def mail_queue(*, to: str, subject: str, body: str) -> OutgoingMail:
    """Put a message in the outbox; it goes out once the caller's transaction commits."""
    message = OutgoingMail.objects.create(
        to=to,
        # A subject is one line: a line break in it would start a header of its own.
        subject=" ".join(subject.split())[:SUBJECT_MAX],
        body=body,
        next_attempt_at=timezone.now(),
    )
    if settings.QUORUM_EMAIL_SEND_ON_COMMIT:
        transaction.on_commit(send_in_background)
    return message


def mail_queue_each(
    *,
    to: Iterable[str],
    language: str,
    subject: Callable[[], str],
    body: Callable[[], str],
) -> int:
    """Queue one message to each distinct address, its words made in ``language``.

    ``subject`` and ``body`` are called with that language active, so that the translated
    strings and the names they interpolate (a Member State, a status) come out in it.
    """
    addresses = sorted({address.strip() for address in to if address and address.strip()})
    if not addresses:
        return 0
    with translation.override(language):
        words = (subject(), body())
    for address in addresses:
        mail_queue(to=address, subject=words[0], body=words[1])
    return len(addresses)


def site_link(viewname: str, *args: object) -> str:
    """The whole address of a page of this site, for a message read outside it."""
    return settings.QUORUM_BASE_URL + reverse(viewname, args=args)


def send_in_background() -> threading.Thread:
    thread = threading.Thread(target=_send_and_close, name="quorum-mail", daemon=True)
    thread.start()
    return thread


def _send_and_close() -> None:
    try:
        mail_send_due()
    except Exception:
        # A thread's exception would only reach stderr; the outbox keeps the message.
        logger.exception("sending the outbox failed; it is tried again later")
    finally:
        close_old_connections()


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt (1, 2, 4 … 60 minutes)."""
    # Capped before multiplying: 2**40 minutes is more than a timedelta can hold.
    return min(FIRST_RETRY * 2 ** min(max(attempts - 1, 0), 6), LONGEST_RETRY)


def _claim(message: OutgoingMail, now: datetime) -> bool:
    """Take the message for this sender, unless another sender took it first."""
    return (
        OutgoingMail.objects.filter(
            pk=message.pk, next_attempt_at=message.next_attempt_at, attempts=message.attempts
        ).update(next_attempt_at=now + CLAIM)
        == 1
    )


def mail_send_due(*, now: datetime | None = None, limit: int = 100) -> SendRun:
    """Send up to ``limit`` messages whose time has come, each at most once."""
    now = now or timezone.now()
    due = list(OutgoingMail.objects.filter(next_attempt_at__lte=now)[:limit])
    sent = failed = dropped = 0
    connection = get_connection(fail_silently=False)
    try:
        for message in due:
            if not _claim(message, now):
                continue
            email = EmailMessage(
                subject=message.subject,
                body=message.body,
                to=[message.to],
                connection=connection,
            )
            try:
                email.send()
            except Exception as exc:  # smtplib's, socket's and SSL's errors alike
                failed += 1
                attempts = message.attempts + 1
                if now - message.created_at >= GIVE_UP_AFTER:
                    dropped += 1
                    message.delete()
                    logger.error(
                        "mail %s dropped after %s attempts over %s: %s",
                        message.pk,
                        attempts,
                        GIVE_UP_AFTER,
                        exc,
                    )
                    continue
                OutgoingMail.objects.filter(pk=message.pk).update(
                    attempts=attempts,
                    next_attempt_at=now + retry_delay(attempts),
                    last_error=f"{type(exc).__name__}: {exc}"[:300],
                )
                logger.warning("mail %s not sent (attempt %s): %s", message.pk, attempts, exc)
                # The server is not taking mail now: the rest waits for the next run.
                break
            else:
                sent += 1
                message.delete()
    finally:
        try:
            connection.close()
        except Exception:
            logger.debug("closing the mail connection failed", exc_info=True)
    return SendRun(sent=sent, failed=failed, dropped=dropped)


def outbox_waiting() -> int:
    """How many messages wait to be sent (for the operator's checks and metrics)."""
    return OutgoingMail.objects.count()
