"""The live counts section the ledger adds to the initiative page."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from django.utils import translation

from quorum.initiatives.models import Initiative
from quorum.initiatives.services import initiative_create
from quorum.ledger.sequencer import sequence_all
from quorum.rules import scheme

pytestmark = pytest.mark.django_db(transaction=True)

PAGE = "/i/clean-air/"


@pytest.fixture
def ready(collecting_initiative, authority_keys, settings):
    settings.QUORUM_POW = False
    settings.QUORUM_RATE_BURST = 1000
    return collecting_initiative


def sign(client, body: dict) -> str:
    response = client.post(
        "/api/v1/initiatives/clean-air/statements",
        data=json.dumps(body),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return response.json()["receipt"]


def section(html: str) -> str:
    found = re.search(r'<section class="live-counts".*?</section>', html, re.S)
    assert found, "no counts section on the page"
    return found.group(0)


def member_state_row(html: str, code: str) -> str:
    found = re.search(rf'<tr data-member-state="{code}">.*?</tr>', html, re.S)
    assert found, f"no row for {code}"
    return found.group(0)


def cells(row: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]


def visible_reached_mark(row: str) -> str:
    mark = re.search(r"<span[^>]*data-reached-(yes|no)(?![^>]*hidden)[^>]*>", row)
    assert mark
    return mark.group(1)


def test_the_page_shows_the_counts_of_the_log_after_sequencing(
    client, ready, polish_citizen, german_citizen
) -> None:
    for _ in range(3):
        sign(client, polish_citizen)
    sign(client, german_citizen)
    before = section(client.get(PAGE).content.decode())
    assert re.search(r"<span class=\"big\" data-total>0</span> of 1,000,000", before)

    sequence_all()
    html = section(client.get(PAGE).content.decode())

    assert re.search(r"<span class=\"big\" data-total>4</span> of 1,000,000 statements", html)
    assert re.search(r"data-states-reached>0</span> of 7 Member States", html)
    poland = member_state_row(html, "PL")
    assert "Poland" in poland
    assert cells(poland)[:2] == ["3", "38,160"]
    assert '<progress max="38160" value="3"' in poland
    assert visible_reached_mark(poland) == "no"
    assert cells(member_state_row(html, "DE"))[:2] == ["1", "69,120"]
    assert cells(member_state_row(html, "MT"))[:2] == ["0", "4,320"]
    assert len(re.findall(r"<tr data-member-state=", html)) == 27
    # Statements received, not certified; where to check one's own and the raw checkpoint.
    assert "<em>received</em>" in html and "national authorities verify" in html
    assert 'href="/i/clean-air/receipt/"' in html
    assert 'href="/api/v1/initiatives/clean-air/checkpoint"' in html
    assert 'data-counts-url="/api/v1/initiatives/clean-air/counts"' in html


def test_the_section_names_the_page_its_pictures_are_redrawn_from_and_their_parts(
    client, ready, polish_citizen
) -> None:
    """counts.js swaps in the map and chart of the initiative page's newer copy: each picture
    is a [data-picture] and the parts it swaps are [data-redrawn], in the same order on every
    copy; before the first checkpoint the chart's picture is there, empty."""
    empty = section(client.get(PAGE).content.decode())
    assert 'data-pictures-url="/i/clean-air/"' in empty
    assert re.search(r'<div data-picture="chart">\s*</div>', empty)

    sign(client, polish_citizen)
    sequence_all()
    html = section(client.get(PAGE).content.decode())

    pictures = re.findall(r'data-picture="([a-z]+)"', html)
    assert pictures == ["map", "chart"]
    parts = re.findall(r'<(svg|tbody)[^>]*data-redrawn="([a-z-]+)"', html)
    assert parts == [("svg", "map"), ("svg", "chart"), ("tbody", "chart-numbers")]


def test_a_member_state_at_its_minimum_is_marked_reached_in_words(
    client, ready, ledger_rows
) -> None:
    threshold = scheme("eci").threshold_table(registered=ready.registration_date).thresholds["MT"]
    ledger_rows(ready, "MT", threshold)
    ledger_rows(ready, "PL", 5)
    sequence_all()

    html = section(client.get(PAGE).content.decode())

    malta = member_state_row(html, "MT")
    assert visible_reached_mark(malta) == "yes"
    assert "Reached" in malta
    assert cells(malta)[:2] == ["4,320", "4,320"]
    assert visible_reached_mark(member_state_row(html, "PL")) == "no"
    assert re.search(r"data-states-reached>1</span> of 7 Member States", html)
    assert re.search(r"data-total>4,325</span>", html)


def test_the_time_left_is_given_in_days_until_the_end_of_collection(client, ready, today) -> None:
    html = section(client.get(PAGE).content.decode())
    days = (ready.collection_end - today).days
    assert f"in {days} days." in html

    Initiative.objects.filter(pk=ready.pk).update(collection_end=today)
    assert "Collection closes at the end of today" in section(client.get(PAGE).content.decode())


def test_a_closed_collection_keeps_its_counts_and_says_it_ended(client, today) -> None:
    start = today - timedelta(days=400)
    initiative_create(
        slug="closed",
        title={"en": "Closed"},
        objectives={"en": "x"},
        language="en",
        status=Initiative.Status.COLLECTION_CLOSED,
        registration_date=start - timedelta(days=30),
        collection_start=start,
        collection_end=start + timedelta(days=364),
    )
    html = section(client.get("/i/closed/").content.decode())
    assert "Collection ended on" in html
    assert len(re.findall(r"<tr data-member-state=", html)) == 27


@pytest.mark.parametrize("starts_in", [None, 5])
def test_no_counts_section_before_the_collection_starts(client, today, starts_in) -> None:
    start = None if starts_in is None else today + timedelta(days=starts_in)
    initiative_create(
        slug="soon",
        title={"en": "Soon"},
        objectives={"en": "x"},
        language="en",
        status=Initiative.Status.REGISTERED if start is None else Initiative.Status.COLLECTING,
        registration_date=date(2025, 1, 15),
        collection_start=start,
        collection_end=None if start is None else start + timedelta(days=364),
    )
    response = client.get("/i/soon/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "live-counts" not in html
    assert "counts.js" not in html


def test_the_refresh_interval_is_the_sequencer_interval_but_at_least_a_second(
    client, ready, settings
) -> None:
    settings.QUORUM_SEQUENCER_INTERVAL = 2.5
    assert 'data-interval="2.5"' in client.get(PAGE).content.decode()
    settings.QUORUM_SEQUENCER_INTERVAL = 0.2
    assert 'data-interval="1"' in client.get(PAGE).content.decode()


def test_the_section_follows_the_readers_language(
    client, ready, polish_citizen, ledger_rows
) -> None:
    for _ in range(3):
        sign(client, polish_citizen)
    ledger_rows(ready, "PL", 38_157)  # with the 3 signed: 38,160, the minimum
    sequence_all()

    html = client.get(PAGE, HTTP_ACCEPT_LANGUAGE="de").content.decode()

    assert '<html lang="de"' in html
    counts = section(html)
    with translation.override("de"):
        caption = translation.gettext("Statements received per Member State")
        poland = translation.gettext("Poland")
        reached = translation.gettext("Reached")
    assert (
        f'<caption class="govuk-table__caption govuk-table__caption--m">{caption}</caption>'
        in counts
    )
    row = member_state_row(counts, "PL")
    assert poland in row and reached in row
    assert cells(row)[:2] == ["38.160", "38.160"]  # German digit grouping


def test_the_section_is_script_free_markup_but_for_its_own_file(client, ready) -> None:
    html = section(client.get(PAGE).content.decode())
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/quorum/counts.js" defer>']
    assert " style=" not in html and " on" + "click=" not in html
    assert 'aria-live="polite" data-total-live' in html
    assert html.count("aria-live") == 1
