"""An invitation to the group of organisers arrives by e-mail, with its one-time link."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import translation

from quorum.core.mail import mail_send_due
from quorum.core.models import OutgoingMail
from quorum.initiatives import services
from quorum.initiatives.models import Initiative

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft() -> Initiative:
    return services.initiative_create(
        slug="right-to-repair",
        title={"en": "A right to repair"},
        objectives={"en": "Everyone may repair what they own."},
        language="en",
    )


@override_settings(QUORUM_BASE_URL="https://quorum.example.org")
def test_the_invited_member_gets_the_one_time_link_by_email(draft: Initiative) -> None:
    invitation = services.organiser_invite(
        initiative=draft,
        full_name="Ana Lima",
        email="ana@example.eu",
        nationality="PT",
        residence="PT",
    )
    mail_send_due()

    (message,) = mail.outbox
    assert message.to == ["ana@example.eu"]
    assert "A right to repair" in message.subject
    assert f"https://quorum.example.org/manage/join/{invitation.token}/" in message.body
    assert "Ana Lima" in message.body
    assert not OutgoingMail.objects.exists(), "the link outlived its delivery"


def test_the_invitation_is_written_in_the_inviters_language(draft: Initiative) -> None:
    with translation.override("de"):
        services.organiser_invite(
            initiative=draft,
            full_name="Jan",
            email="jan@example.eu",
            nationality="DE",
            residence="DE",
        )
    mail_send_due()

    assert mail.outbox[0].subject.startswith("Einladung")


@pytest.mark.parametrize("email", ["", "not-an-address", "ana@", "a b@example.eu"])
def test_an_invitation_to_an_address_that_cannot_receive_mail_is_refused(
    draft: Initiative, email: str
) -> None:
    with pytest.raises(services.InvalidRequest) as refused:
        services.organiser_invite(
            initiative=draft, full_name="Ana", email=email, nationality="PT", residence="PT"
        )
    assert "email" in refused.value.errors
    assert not OutgoingMail.objects.exists()
    assert not draft.organisers.exists()
