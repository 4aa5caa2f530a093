from __future__ import annotations

import re
from datetime import date

import pytest

from quorum.initiatives.models import Initiative
from quorum.initiatives.services import initiative_create

pytestmark = pytest.mark.django_db


def _thresholds(html: str) -> dict[str, str]:
    rows = re.findall(
        r'<th scope="row">([^<]+)</th>\s*<td class="num">\d+</td>\s*<td class="num">([^<]+)</td>',
        html,
    )
    return dict(rows)


def test_the_register_lists_public_initiatives_and_hides_drafts(
    client, collecting_initiative
) -> None:
    initiative_create(
        slug="secret-draft", title={"en": "A draft"}, objectives={"en": "x"}, language="en"
    )
    html = client.get("/").content.decode()
    assert "Clean air for everyone" in html
    assert "A draft" not in html


def test_an_initiative_page_shows_its_text_and_the_thresholds_of_its_registration_date(
    client, collecting_initiative
) -> None:
    html = client.get("/i/clean-air/").content.decode()
    assert "We ask for cleaner air." in html
    thresholds = _thresholds(html)
    assert len(thresholds) == 27
    assert thresholds["Germany"] == "69,120"
    assert thresholds["Malta"] == "4,320"


def test_an_initiative_registered_in_2022_keeps_the_705_seat_thresholds(client) -> None:
    initiative_create(
        slug="older",
        title={"en": "Older initiative"},
        objectives={"en": "x"},
        language="en",
        status=Initiative.Status.REGISTERED,
        registration_date=date(2022, 1, 1),
    )
    thresholds = _thresholds(client.get("/i/older/").content.decode())
    assert thresholds["Germany"] == "67,680"


def test_the_page_follows_the_readers_language(client, collecting_initiative) -> None:
    html = client.get("/i/clean-air/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert '<html lang="de"' in html
    assert "Saubere Luft für alle" in html
    assert "Deutschland" in _thresholds(html)
    assert _thresholds(html)["Deutschland"] == "69.120"


def test_a_language_without_a_translation_falls_back_to_the_organisers_text(
    client, collecting_initiative
) -> None:
    html = client.get("/i/clean-air/", HTTP_ACCEPT_LANGUAGE="pl").content.decode()
    assert "Clean air for everyone" in html
    assert 'lang="en"' in html


@pytest.mark.parametrize("slug", ["missing", "secret-draft"])
def test_unknown_and_draft_initiatives_are_not_found(client, slug: str) -> None:
    initiative_create(
        slug="secret-draft", title={"en": "A draft"}, objectives={"en": "x"}, language="en"
    )
    assert client.get(f"/i/{slug}/").status_code == 404
