"""E-mail updates with their own consent: double opt-in, one-click unsubscribe, destruction,
and no way to tie an address to a statement — against a real SMTP server (``inbox``)."""

from __future__ import annotations

import json
import logging
import re
import threading
from datetime import UTC, date, datetime, timedelta
from email.message import Message
from urllib.parse import urlsplit

import pytest
from django.db import connection, connections
from django.test import Client, override_settings

from quorum.core.models import AuditEntry
from quorum.initiatives.models import Initiative
from quorum.updates import keys
from quorum.updates.models import Subscriber, SubscriptionTally, Update
from quorum.updates.selectors import addresses_destroyed_on, subscription_counts
from quorum.updates.services import (
    subscribers_destroy_due,
    update_create,
    update_send_batch,
    updates_send_due,
)

pytestmark = pytest.mark.django_db
BASE = "https://quorum.example.eu"
CANARY = "canary.updates.7f3a@example.org"
SUBSCRIPTIONS = "/api/v1/initiatives/clean-air/subscriptions"


@pytest.fixture(autouse=True)
def _site_address():
    with override_settings(QUORUM_BASE_URL=BASE):
        yield


def ask(client: Client, email: str = CANARY, language: str = "de"):
    return client.post(
        SUBSCRIPTIONS,
        data=json.dumps({"email": email, "language": language}),
        content_type="application/json",
    )


def body(message: Message) -> str:
    return str(message.get_content())  # type: ignore[attr-defined]


def path_of(link: str) -> str:
    assert link.startswith(BASE), link
    return urlsplit(link).path


def confirmation_path(message: Message) -> str:
    found = re.search(rf"{re.escape(BASE)}/i/clean-air/updates/confirm/[0-9a-f]+/", body(message))
    assert found, body(message)
    return path_of(found.group(0))


def subscribe(client: Client, inbox, email: str = CANARY) -> None:
    assert ask(client, email).status_code == 202
    path = confirmation_path(inbox.messages[-1])
    assert client.post(path).status_code == 302


def test_a_subscriber_confirms_receives_an_update_and_unsubscribes_with_one_click(
    client: Client, collecting_initiative: Initiative, inbox
) -> None:
    answer = ask(client)
    assert answer.status_code == 202
    assert answer.json() == {"status": "confirmation_sent"}
    (confirmation,) = inbox.messages
    assert inbox.recipients == [[CANARY]]
    assert "Saubere Luft für alle" in confirmation["Subject"]
    assert not Subscriber.objects.exists(), "stored before the person confirmed"

    path = confirmation_path(confirmation)
    shown = client.get(path)
    assert shown.status_code == 200
    assert not Subscriber.objects.exists(), "a GET (a mail scanner) confirmed"
    confirmed = client.post(path)
    assert confirmed.status_code == 302
    assert Subscriber.objects.count() == 1
    manage = client.get(confirmed["Location"])
    assert CANARY in manage.content.decode()
    assert manage["Cache-Control"] == "no-store"

    update = update_create(
        initiative=collecting_initiative, subject="We passed 100,000", body="Thank you all."
    )
    assert updates_send_due() == 1
    message = inbox.messages[-1]
    assert inbox.recipients[-1] == [CANARY]
    assert message["Subject"] == "We passed 100,000"
    assert "Thank you all." in body(message)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = path_of(message["List-Unsubscribe"].strip().strip("<>"))
    update.refresh_from_db()
    assert (update.sent, update.finished_at is not None) == (1, True)

    # RFC 8058: the mail client POSTs, with no cookie and no CSRF token.
    one_click = Client(enforce_csrf_checks=True).post(
        unsubscribe,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert one_click.status_code == 200
    assert not Subscriber.objects.exists()
    assert subscription_counts(collecting_initiative).unsubscribed == 1
    assert Client().post(unsubscribe).status_code == 200, "a second click must not fail"


def test_the_answer_is_the_same_whether_or_not_the_address_is_known(
    client: Client, collecting_initiative: Initiative, inbox
) -> None:
    first = ask(client, "new@example.org")
    subscribe(client, inbox, CANARY)
    known = ask(client, CANARY)

    assert (first.status_code, first.content) == (known.status_code, known.content)


@pytest.mark.django_db(transaction=True)
def test_an_address_gets_one_confirmation_mail_however_many_ask_at_once(
    collecting_initiative: Initiative, inbox
) -> None:
    answers: list[int] = []

    def ask_once() -> None:
        try:
            answers.append(ask(Client()).status_code)
        finally:
            # Django's test client keeps each thread's connection: give it back to the pool,
            # or PostgreSQL's pool runs dry for the tests that follow.
            connections.close_all()

    # Fewer at once than PostgreSQL's pool holds (QUORUM_DATABASE_POOL_MAX_SIZE, 20).
    threads = [threading.Thread(target=ask_once) for _ in range(15)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert answers == [202] * 15
    assert inbox.recipients == [[CANARY]]


def test_a_changed_or_foreign_confirmation_link_is_refused_and_stores_nothing(
    client: Client, collecting_initiative: Initiative, inbox
) -> None:
    ask(client)
    path = confirmation_path(inbox.messages[0])
    token = path.rstrip("/").rsplit("/", 1)[1]
    changed = token[:-2] + ("00" if token[-2:] != "00" else "11")

    for bad in (changed, "zz", "0" * 200):
        response = client.post(f"/i/clean-air/updates/confirm/{bad}/")
        assert response.status_code == 422
        assert "not valid or has expired" in response.content.decode()
    assert client.get(f"/i/clean-air/updates/confirm/{changed}/").status_code == 400
    assert not Subscriber.objects.exists()


def test_an_expired_confirmation_link_is_refused(
    client: Client, collecting_initiative: Initiative, inbox, time_machine
) -> None:
    ask(client)
    path = confirmation_path(inbox.messages[0])
    time_machine.move_to(datetime.now(tz=UTC) + timedelta(hours=49))

    assert client.post(path).status_code == 422
    assert not Subscriber.objects.exists()


@pytest.mark.parametrize(
    "email", ["", "not-an-address", "a@b", "x" * 300 + "@example.org", "a\x00b@example.org"]
)
def test_an_address_that_cannot_receive_mail_is_refused_with_a_reason(
    client: Client, collecting_initiative: Initiative, inbox, email: str
) -> None:
    response = ask(client, email)

    assert response.status_code == 422
    assert response.json()["errors"]["email"]
    assert inbox.messages == []


def test_the_page_asks_for_consent_and_keeps_what_was_typed(
    client: Client, collecting_initiative: Initiative, inbox
) -> None:
    refused = client.post("/i/clean-air/updates/", {"email": CANARY})
    assert refused.status_code == 422
    assert f'value="{CANARY}"' in refused.content.decode()
    assert inbox.messages == []

    asked = client.post("/i/clean-air/updates/", {"email": CANARY, "consent": "yes"})
    assert asked.status_code == 200
    assert inbox.recipients == [[CANARY]]


def test_the_pages_set_no_cookie_and_refuse_a_form_sent_from_another_site(
    client: Client, collecting_initiative: Initiative, inbox
) -> None:
    page = client.get("/i/clean-air/updates/")
    assert page.cookies == {}, "like the signing pages: no cookie, so no CSRF token"
    data = {"email": CANARY, "consent": "yes"}
    for headers in ({"HTTP_SEC_FETCH_SITE": "cross-site"}, {"HTTP_ORIGIN": "https://evil.example"}):
        refused = client.post("/i/clean-air/updates/", data, **headers)
        assert refused.status_code == 403
    assert inbox.messages == []
    asked = client.post("/i/clean-air/updates/", data, HTTP_SEC_FETCH_SITE="same-origin")
    assert asked.status_code == 200
    assert asked.cookies == {}
    assert inbox.recipients == [[CANARY]]


def test_the_address_store_has_nothing_that_ties_an_address_to_a_statement() -> None:
    fields = {field.name: field for field in Subscriber._meta.get_fields()}

    assert set(fields) == {
        "id",
        "initiative",
        "address_box",
        "address_index",
        "language",
        "confirmed_on",
    }
    assert fields["id"].get_internal_type() == "UUIDField", "a counter would follow the order"
    assert fields["confirmed_on"].get_internal_type() == "DateField", "no time finer than a day"


@pytest.mark.django_db(transaction=True)
@override_settings(QUORUM_POW=False, QUORUM_RATE_BURST=1000)
def test_a_canary_address_appears_nowhere_in_the_database_or_the_logs(
    client: Client,
    collecting_initiative: Initiative,
    authority_keys,
    german_citizen,
    inbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    signed = client.post(
        "/api/v1/initiatives/clean-air/statements",
        data=json.dumps(german_citizen),
        content_type="application/json",
    )
    assert signed.status_code == 201
    subscribe(client, inbox)
    update_create(initiative=collecting_initiative, subject="News", body="Hello.")
    updates_send_due()
    assert inbox.recipients[-1] == [CANARY]

    canary = CANARY.encode()
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')
            for row in cursor.fetchall():
                for value in row:
                    raw = bytes(value) if isinstance(value, memoryview | bytes) else str(value)
                    text = raw if isinstance(raw, bytes) else raw.encode()
                    assert canary not in text, f"the address is readable in {table}"
    # The test's own SMTP server logs whom it received for; Quorum's loggers must not.
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("mail.log")]
    assert ours, "nothing was logged at all: the check would prove nothing"
    assert not [line for line in ours if CANARY in line]


def test_organisers_see_counts_and_never_an_address(
    client: Client, collecting_initiative: Initiative, inbox
) -> None:
    subscribe(client, inbox)
    ask(client, "other@example.org")

    counts = subscription_counts(collecting_initiative)
    assert (counts.requested, counts.confirmed, counts.unsubscribed) == (2, 1, 0)
    update = update_create(initiative=collecting_initiative, subject="News", body="Hello.")
    (entry,) = AuditEntry.objects.filter(action="quorum.updates.update_queued")
    assert entry.data == {"update": update.pk, "subject": "News", "recipients": 1}
    assert CANARY not in json.dumps(entry.data)


def test_an_update_goes_out_in_bounded_batches_and_a_failed_server_pauses_it(
    client: Client, collecting_initiative: Initiative, inbox
) -> None:
    for number in range(5):
        subscribe(client, inbox, f"person{number}@example.org")
    update = update_create(initiative=collecting_initiative, subject="News", body="Hello.")

    assert update_send_batch(update=update, batch=2) == 2
    with inbox.down():
        assert updates_send_due() == 0
    update.refresh_from_db()
    assert (update.sent, update.finished_at) == (2, None)
    assert updates_send_due() == 3
    update.refresh_from_db()
    assert update.sent == 5 and update.finished_at is not None
    delivered = [r[0] for r in inbox.recipients if r[0].startswith("person")]
    assert len(delivered) == 5 + 5 and len(set(delivered)) == 5, (
        "one update each, plus the confirmations"
    )


def test_addresses_are_destroyed_on_their_date_after_the_initiative_ended(
    client: Client, collecting_initiative: Initiative, inbox
) -> None:
    subscribe(client, inbox)
    assert addresses_destroyed_on(collecting_initiative) is None
    Initiative.objects.filter(pk=collecting_initiative.pk).update(
        status=Initiative.Status.WITHDRAWN, withdrawn_on=date(2027, 1, 10)
    )
    collecting_initiative.refresh_from_db()
    due = addresses_destroyed_on(collecting_initiative)
    assert due == date(2027, 4, 10)

    assert subscribers_destroy_due(today=due - timedelta(days=1)) == []
    assert Subscriber.objects.count() == 1
    assert subscribers_destroy_due(today=due) == [("clean-air", 1)]
    assert not Subscriber.objects.exists()
    assert AuditEntry.objects.filter(action="quorum.updates.addresses_destroyed").exists()


def test_an_ended_initiative_takes_no_new_subscriber(
    client: Client, collecting_initiative: Initiative, inbox
) -> None:
    ask(client)
    Initiative.objects.filter(pk=collecting_initiative.pk).update(status=Initiative.Status.ANSWERED)

    assert ask(client, "late@example.org").status_code == 409
    assert client.post(confirmation_path(inbox.messages[0])).status_code == 409
    assert not Subscriber.objects.exists()


def test_the_manage_and_unsubscribe_links_need_their_own_token(
    client: Client, collecting_initiative: Initiative, inbox
) -> None:
    subscribe(client, inbox)
    subscriber = Subscriber.objects.get()
    manage_token = keys.link_token("manage", str(subscriber.pk))

    assert (
        client.get(f"/i/clean-air/updates/manage/{subscriber.pk}/{manage_token}/").status_code
        == 200
    )
    assert (
        client.get(f"/i/clean-air/updates/manage/{subscriber.pk}/x{manage_token}/").status_code
        == 404
    )
    # A manage token does not unsubscribe, nor the other way round.
    client.post(f"/i/clean-air/updates/unsubscribe/{subscriber.pk}/{manage_token}/")
    assert Subscriber.objects.exists()
    deleted = client.post(f"/i/clean-air/updates/manage/{subscriber.pk}/{manage_token}/")
    assert deleted.status_code == 200
    assert not Subscriber.objects.exists()
    assert SubscriptionTally.objects.get().unsubscribed == 1
    assert not Update.objects.exists()
