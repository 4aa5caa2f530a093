"""The organisers' updates page: counts, preview, a test to oneself, send — and no address."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from quorum.core.models import AuditEntry
from quorum.updates.models import Update

from .conftest import OURS

pytestmark = pytest.mark.django_db
PAGE = f"/manage/initiatives/{OURS}/updates/"
CANARY = "canary.backoffice.91c2@example.org"


def subscribe(inbox, address: str) -> None:
    client = Client()
    answer = client.post(
        f"/api/v1/initiatives/{OURS}/subscriptions",
        data=json.dumps({"email": address}),
        content_type="application/json",
    )
    assert answer.status_code == 202
    link = next(word for word in inbox.messages[-1].get_content().split() if "/confirm/" in word)
    assert client.post("/" + link.split("/", 3)[3]).status_code == 302


@pytest.fixture
def collecting(ours):
    from quorum.initiatives.models import Initiative

    Initiative.objects.filter(pk=ours.pk).update(status=Initiative.Status.COLLECTING)
    ours.refresh_from_db()
    return ours


def test_an_organiser_previews_tests_and_sends_an_update_without_seeing_an_address(
    collecting, organiser_alice, signed_in, inbox
) -> None:
    subscribe(inbox, CANARY)
    alice = signed_in(organiser_alice)

    page = alice.get(PAGE)
    assert page.status_code == 200
    assert "confirmed-count" in page.content.decode()
    preview = alice.post(PAGE, {"subject": "Halfway", "body": "Thank you!", "action": "preview"})
    assert "update-preview" in preview.content.decode()
    assert 'value="send"' in preview.content.decode()

    alice.post(PAGE, {"subject": "Halfway", "body": "Thank you!", "action": "test"})
    assert inbox.recipients[-1] == [organiser_alice.email]
    assert not Update.objects.exists(), "a test is not an update"

    sent = alice.post(PAGE, {"subject": "Halfway", "body": "Thank you!", "action": "send"})
    assert sent.status_code == 302
    update = Update.objects.get()
    assert update.recipients == 1
    entry = AuditEntry.objects.get(action="quorum.updates.update_queued")
    assert entry.actor == organiser_alice
    for answer in (page, preview, alice.get(PAGE)):
        assert CANARY not in answer.content.decode()


def test_an_update_without_a_subject_is_refused_and_keeps_the_text(
    collecting, organiser_alice, signed_in
) -> None:
    refused = signed_in(organiser_alice).post(
        PAGE, {"subject": "", "body": "Kept text", "action": "send"}
    )

    assert refused.status_code == 422
    assert "Kept text" in refused.content.decode()
    assert not Update.objects.exists()
