"""The signing form framed by a campaign's site: who may frame it, and that it still signs."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quorum.core.models import AuditEntry
from quorum.initiatives.models import EmbedOrigin
from quorum.initiatives.services import InvalidRequest, embed_origin_add, embed_origin_remove
from quorum.initiatives.services.embedding import origin_normalised
from quorum.ledger.models import Statement

pytestmark = pytest.mark.django_db(transaction=True)

START = "/i/clean-air/embed/sign/"
FORM = "/i/clean-air/embed/sign/pl/"
CAMPAIGN = "https://campaign.example.org"


@pytest.fixture
def ready(collecting_initiative, authority_keys, settings):
    settings.QUORUM_POW = False
    return collecting_initiative


def polish_form(**changes: str) -> dict[str, str]:
    return {
        "first_names": "Zofia",
        "family_names": "Kowalska",
        "id_type": "pesel",
        "id_number": "44051401359",
        "privacy_read": "yes",
        **changes,
    }


def frame_ancestors(response) -> str:
    policy = response["Content-Security-Policy"]
    return re.search(r"frame-ancestors ([^;]*)", policy).group(1)


def test_without_a_list_no_other_site_may_frame_the_signing_form(client, ready) -> None:
    answer = client.get(START)
    assert answer.status_code == 200
    assert frame_ancestors(answer) == "'self'", "only the organisers' preview"
    assert answer["X-Frame-Options"] == "SAMEORIGIN"


def test_only_the_listed_origins_may_frame_the_signing_form(client, ready) -> None:
    embed_origin_add(initiative=ready, origin="https://Campaign.Example.org/")
    embed_origin_add(initiative=ready, origin="https://partner.example.net:8443")
    for url in (START, FORM):
        answer = client.get(url)
        assert answer.status_code == 200
        assert frame_ancestors(answer) == f"'self' {CAMPAIGN} https://partner.example.net:8443"
        assert "X-Frame-Options" not in answer
    assert frame_ancestors(client.get("/i/clean-air/sign/")) == "'none'", "the site's own page"
    assert frame_ancestors(client.get("/i/clean-air/")) == "'none'"


def test_the_framed_form_is_the_signing_form_without_the_sites_frame(client, ready) -> None:
    embed_origin_add(initiative=ready, origin=CAMPAIGN)
    html = client.get(FORM + "?lang=de").content.decode()
    assert 'lang="de"' in html and "Unterstützungsbekundung" in html
    assert "quorum/embed.js" in html
    assert "language-switcher" not in html and "govuk-footer" not in html
    assert 'name="first_names"' in html


def test_a_statement_signed_in_the_frame_is_reviewed_sealed_and_receipted(client, ready) -> None:
    embed_origin_add(initiative=ready, origin=CAMPAIGN)
    headers = {"HTTP_SEC_FETCH_SITE": "same-origin", "HTTP_SEC_FETCH_DEST": "iframe"}
    review = client.post(FORM + "?lang=pl", {**polish_form(), "step": "review"}, **headers)
    assert review.status_code == 200
    assert Statement.objects.count() == 0, "nothing is stored before the review is confirmed"
    assert "review-form" in review.content.decode()
    assert frame_ancestors(review) == f"'self' {CAMPAIGN}"
    done = client.post(FORM + "?lang=pl", {**polish_form(), "confirm": "yes"}, **headers)
    assert done.status_code == 200, done.content.decode()[:2000]
    assert Statement.objects.count() == 1
    assert re.search(r'id="receipt"[^>]*>\s*[0-9a-f]{64}', done.content.decode())
    assert frame_ancestors(done) == f"'self' {CAMPAIGN}"
    assert done["Content-Language"] == "pl"


def test_a_post_from_another_site_is_refused_in_the_frame_too(client, ready) -> None:
    embed_origin_add(initiative=ready, origin=CAMPAIGN)
    answer = client.post(
        FORM, {**polish_form(), "confirm": "yes"}, HTTP_SEC_FETCH_SITE="cross-site"
    )
    assert answer.status_code == 403
    assert Statement.objects.count() == 0


def test_choosing_the_nationality_without_javascript_stays_in_the_frame(client, ready) -> None:
    answer = client.get(START + "?nationality=PL&lang=fr")
    assert answer.status_code == 302
    assert answer["Location"] == FORM + "?lang=fr"


def test_adding_and_removing_an_origin_is_audited_and_idempotent(ready) -> None:
    embed_origin_add(initiative=ready, origin=CAMPAIGN)
    embed_origin_add(initiative=ready, origin=CAMPAIGN + "/")
    assert list(EmbedOrigin.objects.values_list("origin", flat=True)) == [CAMPAIGN]
    assert embed_origin_remove(initiative=ready, origin=CAMPAIGN)
    assert not embed_origin_remove(initiative=ready, origin=CAMPAIGN)
    actions = list(
        AuditEntry.objects.filter(action__startswith="quorum.initiative.embed_origin").values_list(
            "action", flat=True
        )
    )
    assert actions == [
        "quorum.initiative.embed_origin_added",
        "quorum.initiative.embed_origin_removed",
    ]


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "campaign.example.org",
        "http://campaign.example.org",
        "https://campaign.example.org/sign",
        "https://campaign.example.org?x=1",
        "https://user@campaign.example.org",
        "https://campaign.example.org:99999",
        "javascript:alert(1)",
        "https://*.example.org",
        "https://exa mple.org",
        "https://example.org\n",
        "https://example.org; script-src *",
        "'self'",
        "*",
    ],
)
def test_what_is_not_an_https_origin_is_refused_with_a_reason(ready, typed: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        embed_origin_add(initiative=ready, origin=typed)
    assert "origin" in refused.value.messages()
    assert not EmbedOrigin.objects.exists()


@given(st.text(max_size=60))
def test_a_normalised_origin_can_never_break_out_of_the_policy(text: str) -> None:
    origin = origin_normalised(text)
    if origin is not None:
        assert re.fullmatch(r"https?://[a-z0-9.\-\[\]:]+", origin)
        assert origin_normalised(origin) == origin


def test_localhost_may_use_plain_http_for_a_try_out() -> None:
    assert origin_normalised("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"
    assert origin_normalised("HTTPS://Example.ORG:443") == "https://example.org"
