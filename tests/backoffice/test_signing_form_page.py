"""The organisers' page for the signing form on their own site: sites, code, preview."""

from __future__ import annotations

from html import unescape

import pytest

from quorum.initiatives.models import EmbedOrigin

from .conftest import OURS

pytestmark = pytest.mark.django_db
PAGE = f"/manage/initiatives/{OURS}/signing-form/"


def test_an_organiser_lists_a_site_gets_the_code_and_removes_the_site(
    ours, organiser_alice, signed_in
) -> None:
    alice = signed_in(organiser_alice)
    page = alice.get(PAGE).content.decode()
    assert "embed-origins-none" in page
    added = alice.post(PAGE, {"origin": "https://campaign.example.org", "action": "add"})
    assert added.status_code == 302
    assert list(EmbedOrigin.objects.values_list("origin", flat=True)) == [
        "https://campaign.example.org"
    ]
    page = alice.get(PAGE + "?embed_language=el").content.decode()
    assert "<code>https://campaign.example.org</code>" in page
    snippet = unescape(page.split('id="signing-form-snippet"', 1)[1].split("</textarea>", 1)[0])
    assert f'/i/{OURS}/embed/sign/?lang=el"' in snippet
    assert 'e.origin !== "http://testserver"' in snippet
    assert "<script>" not in page.split('id="signing-form-snippet"', 1)[1].split("</textarea>")[0]
    assert f'src="/i/{OURS}/embed/sign/?lang=el"' in page, "the preview"
    removed = alice.post(PAGE, {"origin": "https://campaign.example.org", "action": "remove"})
    assert removed.status_code == 302
    assert not EmbedOrigin.objects.exists()


def test_a_site_address_with_a_path_is_refused_with_the_reason_and_kept_in_the_box(
    ours, organiser_alice, signed_in
) -> None:
    alice = signed_in(organiser_alice)
    refused = alice.post(PAGE, {"origin": "https://campaign.example.org/sign", "action": "add"})
    assert refused.status_code == 422
    html = refused.content.decode()
    assert "without a path" in html
    assert 'value="https://campaign.example.org/sign"' in html
    assert not EmbedOrigin.objects.exists()


def test_a_title_with_markup_cannot_break_out_of_the_snippet(
    ours, organiser_alice, signed_in
) -> None:
    ours.title = {"en": '"><script>alert(1)</script>'}
    ours.save(update_fields=["title"])
    html = signed_in(organiser_alice).get(PAGE).content.decode()
    snippet = unescape(html.split('id="signing-form-snippet"', 1)[1].split("</textarea>", 1)[0])
    assert "<script>alert(1)" not in snippet
    assert "&lt;script&gt;alert(1)" in snippet
