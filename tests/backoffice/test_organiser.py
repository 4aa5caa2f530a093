"""Organisers through the web: a draft, the group, registration, the start, the dashboard."""

from __future__ import annotations

import datetime
import json
import re
from datetime import timedelta

import pytest
from django.test import Client

from quorum.initiatives.models import Initiative, OrganiserMember, ProgressReport, Sponsor
from quorum.ledger.sequencer import sequence_all
from quorum.rules import add_working_days

from .conftest import make_initiative, registered_fields

Status = Initiative.Status
LINK = re.compile(r"http://testserver(/manage/join/[-\w]+/)")

# (role, nationality and residence) of the six members Alice invites.
MEMBERS = [
    (OrganiserMember.Role.SUBSTITUTE, "FR"),
    (OrganiserMember.Role.MEMBER, "PL"),
    (OrganiserMember.Role.MEMBER, "IT"),
    (OrganiserMember.Role.MEMBER, "ES"),
    (OrganiserMember.Role.MEMBER, "NL"),
    (OrganiserMember.Role.MEMBER, "BE"),
]


@pytest.mark.django_db
def test_a_group_drafts_confirms_itself_is_registered_and_announces_the_start(
    organiser_alice, registrar, make_user, signed_in, today
) -> None:
    alice = signed_in(organiser_alice)
    draft_page = alice.get("/manage/initiatives/new/")
    assert draft_page.status_code == 200
    assert (
        "The title may have at most 100 characters. "
        "The objectives may have at most 1,100 characters, not counting spaces. "
        "The annex may have at most 5,000 characters, not counting spaces."
    ) in draft_page.content.decode()
    response = alice.post(
        "/manage/initiatives/new/",
        {
            "slug": "open-data",
            "language": "en",
            "title": "Open data for all",
            "objectives": "Public data should be open.",
            "annex": "",
            "treaty_basis": "Article 16 TFEU",
            "full_name": "Alice Example",
            "nationality": "DE",
            "residence": "DE",
            "declares_voting_age": "on",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/manage/initiatives/open-data/"
    initiative = Initiative.objects.get(slug="open-data")
    assert initiative.status == Status.DRAFT

    links = []
    for n, (role, code) in enumerate(MEMBERS):
        response = alice.post(
            "/manage/initiatives/open-data/invite/",
            {
                "full_name": f"Member {n}",
                "email": f"member{n}@example.eu",
                "nationality": code,
                "residence": code,
                "role": role,
            },
        )
        assert response.status_code == 200
        found = LINK.findall(response.content.decode())
        assert len(found) == 1
        links.append(found[0])
    # Shown once: only a hash is stored, and the dashboard never shows a link again.
    dashboard = alice.get("/manage/initiatives/open-data/").content.decode()
    assert not any(link in dashboard for link in links)
    assert "/manage/join/" not in dashboard

    for n, link in enumerate(links):
        member = signed_in(make_user(f"member-{n}"))
        assert member.get(link).status_code == 200
        response = member.post(link)
        assert response.status_code == 302
        assert response["Location"] == "/manage/initiatives/open-data/"
        assert member.get(response["Location"]).status_code == 200  # a member now
    # A link works once.
    assert signed_in(make_user("latecomer")).post(links[0]).status_code == 400

    response = alice.post("/manage/initiatives/open-data/request-registration/")
    assert response.status_code == 302
    initiative.refresh_from_db()
    assert initiative.status == Status.REGISTRATION_REQUESTED

    response = signed_in(registrar).post(
        "/manage/registrar/open-data/decide/", {"decision": "registered"}
    )
    assert response.status_code == 302
    initiative.refresh_from_db()
    assert initiative.status == Status.REGISTERED and initiative.registration_number

    # Too soon: the start must be announced ten working days ahead; the page says so, at the field.
    response = alice.post(
        "/manage/initiatives/open-data/start/", {"date": (today + timedelta(days=1)).isoformat()}
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert (
        '<a href="#id_date">The start must be announced at least 10 working days ahead.</a>' in page
    )
    initiative.refresh_from_db()
    assert initiative.collection_start is None

    start = add_working_days(today, 10)
    response = alice.post("/manage/initiatives/open-data/start/", {"date": start.isoformat()})
    assert response.status_code == 302
    initiative.refresh_from_db()
    assert initiative.collection_start == start
    assert initiative.start_announced_on == today


@pytest.fixture
def collecting(organiser_alice, today, data_dir) -> Initiative:
    return make_initiative(
        "clean-air",
        organiser=organiser_alice,
        status=Status.COLLECTING,
        **registered_fields(today),
    )


def sign(body: dict) -> None:
    response = Client().post(
        "/api/v1/initiatives/clean-air/statements",
        data=json.dumps(body),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content


@pytest.mark.django_db(transaction=True)
def test_the_dashboard_shows_counts_the_chart_and_the_embed_snippet_and_takes_reports(
    collecting,
    authority_keys,
    settings,
    signed_in,
    organiser_alice,
    german_citizen,
    polish_citizen,
    today,
) -> None:
    settings.QUORUM_POW = False
    settings.QUORUM_RATE_BURST = 1000
    sign(german_citizen)
    sign(polish_citizen)
    sequence_all()
    alice = signed_in(organiser_alice)
    page = alice.get("/manage/initiatives/clean-air/").content.decode()
    assert "2 statements received" in page
    assert '<svg class="growth-chart"' in page and "<polyline" in page
    # One day of checkpoints is one point, drawn where its count is (tests/ledger/test_charts.py).
    assert re.search(r'<circle cx="[\d.]+" cy="[\d.]+"', page)
    # The embed snippet points at the live counter, escaped for display.
    assert "&lt;iframe src=&quot;http://testserver/i/clean-air/counter/&quot;" in page
    assert Client().get("/i/clean-air/counter/").status_code == 200

    response = alice.post(
        "/manage/initiatives/clean-air/sponsors/",
        {"name": "Clean Air Foundation", "amount_eur": "1200.00", "received_on": today.isoformat()},
    )
    assert response.status_code == 302
    assert Sponsor.objects.get().name == "Clean Air Foundation"
    assert "Clean Air Foundation" in Client().get("/i/clean-air/").content.decode()

    response = alice.post("/manage/initiatives/clean-air/report/", {"DE": "10", "PL": ""})
    assert response.status_code == 302
    report = ProgressReport.objects.get()
    assert report.online_count == 2  # from the log, not declared
    assert report.paper_counts == {"DE": 10}


@pytest.mark.django_db
def test_a_negative_sponsor_amount_is_refused_and_nothing_is_declared(
    collecting, signed_in, organiser_alice, today
) -> None:
    response = signed_in(organiser_alice).post(
        "/manage/initiatives/clean-air/sponsors/",
        {"name": "X", "amount_eur": "-5", "received_on": today.isoformat()},
    )
    assert response.status_code == 422
    assert '<a href="#id_amount_eur">' in response.content.decode()
    assert not Sponsor.objects.exists()


START = datetime.datetime(2026, 3, 2, 8, 0, 0, tzinfo=datetime.UTC)


@pytest.mark.django_db
def test_withdrawing_needs_a_fresh_code_and_then_withdraws(
    collecting, login, organiser_alice, code, cast_password, time_machine
) -> None:
    time_machine.move_to(START, tick=False)
    alice = Client()
    login(alice, organiser_alice)
    time_machine.shift(timedelta(minutes=11))
    response = alice.post("/manage/initiatives/clean-air/withdraw/")
    assert response.status_code == 302
    assert (
        response["Location"]
        == "/account/reauth/?next=%2Fmanage%2Finitiatives%2Fclean-air%2Fwithdraw%2F"
    )
    collecting.refresh_from_db()
    assert collecting.status == Status.COLLECTING

    response = alice.post(
        "/account/reauth/",
        {
            "password": cast_password,
            "code": code(organiser_alice),
            "next": "/manage/initiatives/clean-air/",
        },
    )
    assert response.status_code == 302
    response = alice.post("/manage/initiatives/clean-air/withdraw/")
    assert response.status_code == 302
    assert response["Location"] == "/manage/initiatives/clean-air/"
    collecting.refresh_from_db()
    assert collecting.status == Status.WITHDRAWN
