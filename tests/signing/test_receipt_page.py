"""The page right after signing, through Django's test client: what it offers beyond the
receipt (the browser tests in tests/browser/test_receipt_page.py drive it for real)."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

FORM = "/i/clean-air/sign/pl/"
POLISH = {
    "first_names": "Zofia",
    "family_names": "Kowalska",
    "id_type": "pesel",
    "id_number": "44051401359",
    "privacy_read": "yes",
}


@pytest.fixture
def signed(client, collecting_initiative, authority_keys, settings) -> tuple[str, str]:
    """The receipt page's HTML (a POST without the review marker is sealed at once) and its
    receipt."""
    settings.QUORUM_POW = False
    html = client.post(FORM, POLISH).content.decode()
    receipt = re.search(r'id="receipt">([0-9a-f]{64})<', html).group(1)
    return html, receipt


def test_the_page_checks_itself_with_the_same_public_addresses_as_the_check_page(
    signed,
) -> None:
    html, receipt = signed
    assert re.search(rf'<div data-receipt-check data-receipt="{receipt}"', html)
    assert 'data-proof-url="/api/v1/initiatives/clean-air/proof/inclusion"' in html
    assert 'data-checkpoint-url="/api/v1/initiatives/clean-air/checkpoint"' in html
    assert 'data-log-key-url="/api/v1/log-key"' in html
    assert 'id="receipt-status" aria-live="polite" data-state="pending"' in html
    # Without JavaScript the link still works; the buttons that need it start hidden.
    assert f'href="/i/clean-air/receipt/?receipt={receipt}"' in html
    assert re.search(r"<div[^>]*data-receipt-actions hidden", html)
    assert re.search(r"<div[^>]*data-share-actions hidden", html)
    assert re.search(r"<script(?![^>]*\bsrc=)", html) is None


def test_the_share_step_offers_the_initiative_page_and_never_the_receipt(signed) -> None:
    html, receipt = signed
    page = "http://testserver/i/clean-air/"
    share = html.split('aria-labelledby="share-heading"', 1)[1].split("</section>", 1)[0]
    assert f'data-url="{page}"' in share and f'value="{page}"' in share
    mailto = unescape(re.search(r'href="(mailto:[^"]+)"', share).group(1))
    asked = parse_qs(urlsplit(mailto).query)
    assert page in asked["body"][0] and asked["subject"]
    assert receipt not in share
    assert "Zofia" not in html and "Kowalska" not in html


def test_the_counts_with_a_bar_per_member_state_follow_the_share_step(signed) -> None:
    html, _ = signed
    assert html.index('id="share-heading"') < html.index('id="live-counts"')
    assert html.index('id="live-counts"') < html.index('id="updates-heading"')
    assert re.search(r'<tr data-member-state="PL">.*?<progress', html, re.S)


def test_the_words_of_the_log_wait_under_technical_details(signed) -> None:
    html, _ = signed
    before, technical = html.split('class="govuk-details"', 1)
    for jargon in ("Leaf index", "Checkpoint size", "Merkle"):
        assert jargon not in before and jargon in technical
