"""Subscribing (double opt-in), unsubscribing, and sending the organisers' updates.

A request to subscribe stores nothing: the confirmation link carries the address, sealed
under the updates key, with the initiative, the language and an expiry. Only when the person
opens it from their mailbox is a row written. The confirmation mail is sent straight away, not
through the staff outbox: an outbox row would keep the address, with the time of the request,
beside the statements; if the mail server is down the person asks again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.core.validators import validate_email
from django.db import close_old_connections, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from quorum.core.audit import Actor, audit_log
from quorum.core.errors import Conflict, Message
from quorum.core.text import CONTROL_CHARACTERS_MESSAGE, has_control_characters
from quorum.initiatives.models import Initiative
from quorum.initiatives.services import InvalidRequest
from quorum.updates import keys
from quorum.updates.models import Subscriber, SubscriptionTally, Update
from quorum.updates.selectors import accepts_subscribers, addresses_destroyed_on

logger = logging.getLogger("quorum.updates")

CONFIRMATION_VALID = timedelta(hours=48)
#: One confirmation mail per address and initiative in this time, however often it is asked for.
REPEAT_AFTER_SECONDS = 10 * 60
#: Confirmation mails one client address may cause per hour (a school, an office share one).
PER_CLIENT_PER_HOUR = 30
BATCH = 50
SUBJECT_MAX = 150
BODY_MAX = 20_000

ADDRESS_INVALID: Message = _("Enter an e-mail address, like name@example.org.")
CONSENT_MISSING: Message = _("Tick the box to agree to receive updates.")


def _address_problem(address: str) -> Message | None:
    if len(address) > 254 or has_control_characters(address):
        return ADDRESS_INVALID
    try:
        validate_email(address)
    except ValidationError:
        return ADDRESS_INVALID
    return None


def _link(viewname: str, *args: object) -> str:
    return settings.QUORUM_BASE_URL + reverse(viewname, args=args)


def _deliver(messages: list[EmailMessage]) -> None:
    """Send now, on one connection; a failure is logged without any address."""
    try:
        with get_connection(fail_silently=False) as connection:
            connection.send_messages(messages)
    except Exception as exc:
        logger.warning("an updates mail was not sent: %s", type(exc).__name__)


def _deliver_soon(messages: list[EmailMessage]) -> None:
    if settings.QUORUM_EMAIL_SEND_ON_COMMIT:
        threading.Thread(target=_deliver, args=(messages,), daemon=True).start()
    else:
        _deliver(messages)


def _tally(initiative: Initiative) -> SubscriptionTally:
    tally, _created = SubscriptionTally.objects.get_or_create(initiative=initiative)
    return tally


def _first_request(key: str, seconds: int) -> bool:
    return bool(cache.add(key, 1, timeout=seconds))


def _client_allows(client_key: str) -> bool:
    key = "quorum:updates:client:" + hashlib.sha256(client_key.encode()).hexdigest()[:32]
    if cache.add(key, 1, timeout=3600):
        return True
    try:
        return int(cache.incr(key)) <= PER_CLIENT_PER_HOUR
    except ValueError:  # expired between the two calls
        return bool(cache.add(key, 1, timeout=3600))


def subscription_request(
    *, initiative: Initiative, address: str, language: str, client_key: str = ""
) -> None:
    """Send a confirmation link to ``address``. Answers the same whether or not the address
    is subscribed already, and whether or not a mail actually goes out."""
    address = address.strip()
    problem = _address_problem(address)
    if problem is not None:
        raise InvalidRequest({"email": [problem]})
    if not accepts_subscribers(initiative):
        raise Conflict(_("This initiative does not send updates any more."))
    if language not in dict(settings.LANGUAGES):
        language = initiative.language
    index = keys.address_index(initiative.pk, address)
    if not _first_request(f"quorum:updates:sent:{index}", REPEAT_AFTER_SECONDS):
        return
    if client_key and not _client_allows(client_key):
        return
    SubscriptionTally.objects.filter(pk=_tally(initiative).pk).update(requested=F("requested") + 1)
    content = json.dumps(
        {
            "i": initiative.pk,
            "e": address,
            "l": language,
            "x": int(time.time() + CONFIRMATION_VALID.total_seconds()),
        }
    )
    token = keys.seal(content).hex()
    link = _link("updates:confirm", initiative.slug, token)
    with translation.override(language):
        title = initiative.text("title", language)
        message = EmailMessage(
            subject=gettext("Confirm: updates about “%(title)s”") % {"title": title},
            body=gettext(
                "Someone, we hope you, asked for e-mail updates about the citizens' "
                "initiative “%(title)s” at this address. To confirm, open this link within "
                "48 hours:\n\n%(link)s\n\nIf it was not you, ignore this message: without "
                "confirmation the address is not kept."
            )
            % {"title": title, "link": link},
            to=[address],
        )
    _deliver_soon([message])


def _token_content(token: str) -> dict[str, Any] | None:
    try:
        box = bytes.fromhex(token)
    except ValueError:
        return None
    text = keys.unseal(box)
    if text is None:
        return None
    content = json.loads(text)
    return content if isinstance(content, dict) else None


def confirmation_initiative_id(token: str) -> int | None:
    """Which initiative a confirmation link is for, if it is one of ours and still valid."""
    content = _token_content(token)
    if content is None or int(content["x"]) < time.time():
        return None
    return int(content["i"])


LINK_INVALID: Message = _(
    "This confirmation link is not valid or has expired. Ask for updates again to get a new one."
)


@transaction.atomic
def subscription_confirm(*, initiative: Initiative, token: str) -> Subscriber:
    """Keep the address sealed in ``token``: a second confirmation changes nothing."""
    content = _token_content(token)
    if content is None or int(content["x"]) < time.time() or content["i"] != initiative.pk:
        raise InvalidRequest({"token": [LINK_INVALID]})
    if not accepts_subscribers(initiative):
        raise Conflict(_("This initiative does not send updates any more."))
    address = str(content["e"])
    index = keys.address_index(initiative.pk, address)
    subscriber, _created = Subscriber.objects.get_or_create(
        initiative=initiative,
        address_index=index,
        defaults={
            "address_box": keys.seal(address),
            "language": str(content["l"]),
            "confirmed_on": timezone.localdate(),
        },
    )
    return subscriber


def subscriber_for_link(*, subscriber_id: str, token: str, purpose: str) -> Subscriber | None:
    if not keys.link_token_matches(purpose, subscriber_id, token):
        return None
    return Subscriber.objects.filter(pk=subscriber_id).first()


@transaction.atomic
def subscriber_remove(*, subscriber: Subscriber) -> None:
    """Unsubscribe: the address is deleted, and only the tally remembers that someone left."""
    initiative = subscriber.initiative
    subscriber.delete()
    SubscriptionTally.objects.filter(pk=_tally(initiative).pk).update(
        unsubscribed=F("unsubscribed") + 1
    )


def update_text_check(subject: str, body: str) -> None:
    errors: dict[str, list[Message]] = {}
    if not subject.strip():
        errors["subject"] = [_("Enter a subject.")]
    elif len(subject) > SUBJECT_MAX or "\n" in subject or "\r" in subject:
        errors["subject"] = [_("A subject is one line of at most 150 characters.")]
    if not body.strip():
        errors["body"] = [_("Write the message.")]
    elif len(body) > BODY_MAX:
        errors["body"] = [_("A message may have at most 20,000 characters.")]
    for name, text, multiline in (("subject", subject, False), ("body", body, True)):
        if has_control_characters(text, multiline=multiline) and name not in errors:
            errors[name] = [CONTROL_CHARACTERS_MESSAGE]
    if errors:
        raise InvalidRequest(errors)


def _footer(initiative: Initiative, subscriber_id: str, language: str) -> tuple[str, str]:
    unsubscribe = _link(
        "updates:unsubscribe",
        initiative.slug,
        subscriber_id,
        keys.link_token("unsubscribe", subscriber_id),
    )
    manage = _link(
        "updates:manage", initiative.slug, subscriber_id, keys.link_token("manage", subscriber_id)
    )
    with translation.override(language):
        footer = gettext(
            "You receive this because you asked for updates about “%(title)s”.\n"
            "Unsubscribe: %(unsubscribe)s\nSee or delete your address: %(manage)s"
        ) % {
            "title": initiative.text("title", language),
            "unsubscribe": unsubscribe,
            "manage": manage,
        }
    return footer, unsubscribe


def _update_message(
    initiative: Initiative, *, subject: str, body: str, to: str, subscriber_id: str, language: str
) -> EmailMessage:
    footer, unsubscribe = _footer(initiative, subscriber_id, language)
    return EmailMessage(
        subject=subject,
        body=f"{body.rstrip()}\n\n-- \n{footer}\n",
        to=[to],
        headers={
            # RFC 8058: a mail client may unsubscribe with one POST, without opening a page.
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


def update_test(*, initiative: Initiative, subject: str, body: str, to: str) -> None:
    """The message as a subscriber would get it, to the organiser's own address only."""
    update_text_check(subject, body)
    if _address_problem(to) is not None:
        raise InvalidRequest({"to": [ADDRESS_INVALID]})
    message = _update_message(
        initiative,
        subject=subject,
        body=body,
        to=to,
        subscriber_id="00000000-0000-0000-0000-000000000000",
        language=initiative.language,
    )
    _deliver([message])


@transaction.atomic
def update_create(
    *, initiative: Initiative, subject: str, body: str, actor: Actor = None, actor_label: str = ""
) -> Update:
    """Queue an update to every subscriber; the audit log says who sent what to how many."""
    update_text_check(subject, body)
    if not accepts_subscribers(initiative):
        raise Conflict(_("This initiative does not send updates any more."))
    recipients = Subscriber.objects.filter(initiative=initiative).count()
    update = Update.objects.create(
        initiative=initiative, subject=subject.strip(), body=body, recipients=recipients
    )
    audit_log(
        action="quorum.updates.update_queued",
        subject=initiative,
        actor=actor,
        actor_label=actor_label,
        data={"update": update.pk, "subject": update.subject, "recipients": recipients},
    )
    if settings.QUORUM_EMAIL_SEND_ON_COMMIT:
        transaction.on_commit(_send_updates_in_background)
    return update


def _send_updates_in_background() -> None:
    def run() -> None:
        try:
            updates_send_due()
        finally:
            close_old_connections()

    threading.Thread(target=run, name="quorum-updates", daemon=True).start()


def update_send_batch(*, update: Update, batch: int = BATCH) -> int:
    """Send the next ``batch`` messages of ``update``; how many went out (0 when done)."""
    if update.finished_at is not None:
        return 0
    subscribers = Subscriber.objects.filter(initiative=update.initiative)
    if update.cursor is not None:
        subscribers = subscribers.filter(pk__gt=update.cursor)
    chosen = list(subscribers.order_by("pk")[:batch])
    if not chosen:
        with transaction.atomic():
            Update.objects.filter(pk=update.pk).update(finished_at=timezone.now())
            audit_log(
                action="quorum.updates.update_sent",
                subject=update.initiative,
                actor_label="system",
                data={"update": update.pk, "sent": update.sent},
            )
        update.refresh_from_db()
        return 0
    messages = []
    for subscriber in chosen:
        address = keys.unseal(bytes(subscriber.address_box))
        if address is None:
            continue  # sealed under another key: cannot be read, so cannot be written to
        messages.append(
            _update_message(
                update.initiative,
                subject=update.subject,
                body=update.body,
                to=address,
                subscriber_id=str(subscriber.pk),
                language=subscriber.language,
            )
        )
    # A failure raises: the cursor stays, and the next run sends this batch again.
    with get_connection(fail_silently=False) as connection:
        sent = connection.send_messages(messages) or 0
    Update.objects.filter(pk=update.pk).update(cursor=chosen[-1].pk, sent=F("sent") + sent)
    update.refresh_from_db()
    return sent


def updates_send_due(*, batches: int = 100) -> int:
    """Send what waits of every unfinished update, a batch at a time; how many went out."""
    total = 0
    for update in Update.objects.filter(finished_at__isnull=True).order_by("created_at"):
        for _batch in range(batches):
            try:
                sent = update_send_batch(update=update)
            except Exception as exc:
                logger.warning("update %s paused: %s", update.pk, type(exc).__name__)
                return total
            total += sent
            if update.finished_at is not None:
                break
    return total


@transaction.atomic
def subscribers_destroy_due(*, today: date | None = None) -> list[tuple[str, int]]:
    """Delete the addresses of every initiative whose destruction date has come."""
    day = today or timezone.localdate()
    destroyed: list[tuple[str, int]] = []
    initiative_ids = Subscriber.objects.values_list("initiative_id", flat=True).distinct()
    for initiative in Initiative.objects.filter(pk__in=list(initiative_ids)):
        due = addresses_destroyed_on(initiative)
        if due is None or due > day:
            continue
        count, _by_model = Subscriber.objects.filter(initiative=initiative).delete()
        audit_log(
            action="quorum.updates.addresses_destroyed",
            subject=initiative,
            actor_label="system",
            data={"addresses": count, "due": due.isoformat()},
        )
        destroyed.append((initiative.slug, count))
    return destroyed
