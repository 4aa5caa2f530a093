"""The people a step waits for are told by e-mail: registrars of a request, organisers of the
decision and of each certificate, each authority's staff of its batch."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.test import override_settings

from quorum.authorities.models import Authority, AuthorityStaff
from quorum.core.mail import mail_send_due
from quorum.initiatives import services
from quorum.initiatives.models import Initiative, OrganiserMember
from quorum.ledger.sequencer import sequence_all
from quorum.verification.services import verification_request

RESIDENCES = ["DE", "FR", "IT", "ES", "PL", "NL", "BE"]
BASE = "https://quorum.example.eu"


def _confirmed_group(initiative: Initiative) -> None:
    from django.contrib.auth.models import User

    for number, residence in enumerate(RESIDENCES):
        role = (
            OrganiserMember.Role.REPRESENTATIVE
            if number == 0
            else OrganiserMember.Role.SUBSTITUTE
            if number == 1
            else OrganiserMember.Role.MEMBER
        )
        invitation = services.organiser_invite(
            initiative=initiative,
            full_name=f"Member {number}",
            email=f"member{number}@example.eu",
            nationality=residence,
            residence=residence,
            role=role,
        )
        services.organiser_confirm(
            token=invitation.token, user=User.objects.create_user(f"member{number}")
        )


@pytest.fixture
def requested(db) -> Initiative:
    draft = services.initiative_create(
        slug="right-to-repair",
        title={"de": "Ein Recht auf Reparatur", "en": "A right to repair"},
        objectives={"de": "Jeder darf reparieren.", "en": "Everyone may repair."},
        language="de",
    )
    _confirmed_group(draft)
    mail_send_due()
    mail.outbox.clear()
    return draft


def _sent() -> list[mail.EmailMessage]:
    mail_send_due()
    return list(mail.outbox)


@override_settings(QUORUM_BASE_URL=BASE)
def test_every_registrar_is_told_of_a_registration_request_with_its_link(
    requested: Initiative, registrar, operator
) -> None:
    services.initiative_request_registration(initiative=requested)

    (message,) = _sent()
    assert message.to == [registrar.email]
    assert "A right to repair" in message.subject
    assert f"{BASE}/manage/registrar/right-to-repair/" in message.body


@override_settings(QUORUM_BASE_URL=BASE)
def test_the_organisers_are_told_of_the_decision_in_their_initiatives_language(
    requested: Initiative, registrar
) -> None:
    services.initiative_request_registration(initiative=requested)
    mail_send_due()
    mail.outbox.clear()

    services.initiative_decide_registration(initiative=requested, decision="registered")

    messages = _sent()
    assert sorted(m.to[0] for m in messages) == [f"member{n}@example.eu" for n in range(7)]
    assert "Ein Recht auf Reparatur" in messages[0].subject
    assert "Registriert" in messages[0].body or "registriert" in messages[0].body
    assert f"{BASE}/manage/initiatives/right-to-repair/" in messages[0].body


def test_a_refusal_is_told_too_and_nobody_unconfirmed_is_written_to(
    requested: Initiative,
) -> None:
    services.initiative_request_registration(initiative=requested)
    OrganiserMember.objects.filter(email="member6@example.eu").update(confirmed_at=None)
    mail_send_due()
    mail.outbox.clear()

    services.initiative_decide_registration(
        initiative=requested, decision="refused", reasons="Outside the Commission's powers."
    )

    recipients = {m.to[0] for m in _sent()}
    assert len(recipients) == 6
    assert "member6@example.eu" not in recipients


def test_a_request_that_is_refused_as_incomplete_tells_nobody(db, registrar) -> None:
    draft = services.initiative_create(
        slug="alone", title={"en": "Alone"}, objectives={"en": "x"}, language="en"
    )
    with pytest.raises(services.InvalidRequest):
        services.initiative_request_registration(initiative=draft)

    assert _sent() == []


@pytest.mark.django_db(transaction=True)
@override_settings(QUORUM_BASE_URL=BASE, QUORUM_POW=False, QUORUM_RATE_BURST=1000)
def test_each_authoritys_staff_is_told_of_its_own_batch(
    client,
    collecting_initiative,
    authority_keys,
    polish_citizen,
    german_citizen,
    today,
    authority_staff_de,
) -> None:
    AuthorityStaff.objects.create(
        authority=Authority.objects.get(member_state="DE"), user=authority_staff_de
    )
    for body in (polish_citizen, german_citizen, {**german_citizen, "first_names": "Jonas"}):
        response = client.post(
            "/api/v1/initiatives/clean-air/statements",
            data=json.dumps(body),
            content_type="application/json",
        )
        assert response.status_code == 201, response.content
    sequence_all()
    Initiative.objects.filter(pk=collecting_initiative.pk).update(
        collection_end=today - timedelta(days=1)
    )
    services.initiatives_advance_by_date(today=today)
    collecting_initiative.refresh_from_db()

    with override_settings(QUORUM_EMAIL_SEND_ON_COMMIT=False):
        verification_request(initiative=collecting_initiative)
    (message,) = _sent()

    assert message.to == [authority_staff_de.email]
    assert "2 statements are for Germany" in message.body
    assert f"{BASE}/manage/authority/DE/" in message.body
