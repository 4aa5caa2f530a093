"""The receipt check page: counted, not yet, unknown, malformed, unverifiable — never a 500."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from quorum.core.log_key import LogKey
from quorum.initiatives.models import Initiative
from quorum.initiatives.services import initiative_create
from quorum.ledger import views
from quorum.ledger.models import Checkpoint, LogNode
from quorum.ledger.sequencer import sequence_all
from quorum.proofs.crypto import generate_signing_key, signing_public_key

# The intake writer commits on its own connection, so these tests use real transactions.
pytestmark = pytest.mark.django_db(transaction=True)

PAGE = "/i/clean-air/receipt/"
COUNTED = "Your statement is counted."
PENDING = "Your statement is being added to the public count — this takes a few seconds."
NOT_FOUND = "This receipt is not in the public count of this initiative."
INVALID = "This is not a valid receipt: a receipt is 64 hexadecimal digits (0 to 9 and a to f)."
UNVERIFIED = "We could not confirm that your statement is counted"


@pytest.fixture
def ready(collecting_initiative, authority_keys, settings):
    settings.QUORUM_POW = False
    settings.QUORUM_RATE_BURST = 1000
    return collecting_initiative


def sign(client, body: dict, slug: str = "clean-air") -> str:
    response = client.post(
        f"/api/v1/initiatives/{slug}/statements",
        data=json.dumps(body),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return response.json()["receipt"]


def check(client, receipt: str, page: str = PAGE):
    response = client.get(page, {"receipt": receipt})
    return response, response.content.decode()


def outcome(html: str) -> str | None:
    found = re.search(r'id="server-result"[^>]*data-outcome="([a-z_]+)"', html)
    return found.group(1) if found else None


def test_a_sequenced_receipt_is_counted_with_its_entry_and_member_state_only(
    client, ready, polish_citizen, german_citizen
) -> None:
    receipts = [sign(client, polish_citizen), sign(client, german_citizen)]
    receipts.append(sign(client, polish_citizen))
    sequence_all()

    response, html = check(client, receipts[1])

    assert response.status_code == 200
    assert outcome(html) == "counted"
    assert 'id="receipt-status" aria-live="polite" data-state="counted"' in html
    assert COUNTED in html
    assert re.search(
        r'Member State</dt>\s*<dd class="govuk-summary-list__value">Germany</dd>', html
    )
    # The log's words only under "Technical details": the entry, the size, the signed root.
    technical = html.split('class="govuk-details"', 1)[1]
    assert "Leaf index" not in html.split('class="govuk-details"', 1)[0]
    assert re.search(r'data-technical="leaf-index">1</dd>', technical)
    assert re.search(r'data-technical="tree-size">3</dd>', technical)
    assert re.search(r'data-technical="root">[0-9a-f]{64}</code>', technical)
    assert "http://testserver/i/clean-air/receipt/?receipt=" + receipts[1] in html
    assert "Poland" not in html  # nothing about the other entries
    assert "private" in response["Cache-Control"] and "no-store" in response["Cache-Control"]


def test_a_receipt_is_accepted_with_spaces_and_capitals(client, ready, polish_citizen) -> None:
    receipt = sign(client, polish_citizen)
    sequence_all()
    pasted = " ".join(receipt[i : i + 16] for i in range(0, 64, 16)).upper()
    response, html = check(client, f"  {pasted}\n")
    assert response.status_code == 200
    assert outcome(html) == "counted"
    assert f'value="{receipt}"' in html


def test_a_receipt_signed_after_the_last_checkpoint_is_not_in_the_log_yet(
    client, ready, polish_citizen
) -> None:
    sign(client, polish_citizen)
    sequence_all()
    late = sign(client, polish_citizen)

    response, html = check(client, late)

    assert response.status_code == 200
    assert outcome(html) == "pending"
    assert PENDING in html
    sequence_all()
    assert outcome(check(client, late)[1]) == "counted"


def test_a_receipt_before_any_checkpoint_is_not_in_the_log_yet(
    client, ready, polish_citizen
) -> None:
    receipt = sign(client, polish_citizen)
    assert not Checkpoint.objects.exists()
    assert outcome(check(client, receipt)[1]) == "pending"


def test_an_unknown_receipt_is_not_found(client, ready, polish_citizen) -> None:
    sign(client, polish_citizen)
    sequence_all()
    response, html = check(client, "ab" * 32)
    assert response.status_code == 200
    assert outcome(html) == "not_found"
    assert NOT_FOUND in html


@pytest.mark.parametrize(
    "receipt",
    ["", "   ", "xyz", "ab" * 31, "ab" * 33, "g" * 64, "0x" + "ab" * 31, "<script>", "\x00" * 64],
)
def test_a_malformed_receipt_is_a_400_with_an_error_linked_to_the_field(
    client, ready, receipt
) -> None:
    response, html = check(client, receipt)
    assert response.status_code == 400
    assert 'id="error-summary"' in html and 'href="#field-receipt"' in html
    assert 'aria-invalid="true"' in html
    assert outcome(html) is None
    assert "<script>" not in html.split("<body", 1)[1].replace(
        '<script src="/static/quorum/receipt.js" defer></script>', ""
    )
    if receipt.strip():
        assert INVALID in html
    else:
        assert "Paste your receipt" in html


def test_the_receipt_of_another_initiative_is_not_found_here(
    client, ready, polish_citizen, today
) -> None:
    initiative_create(
        slug="other",
        title={"en": "Another initiative"},
        objectives={"en": "x"},
        language="en",
        status=Initiative.Status.COLLECTING,
        registration_number="ECI(2025)000008",
        registration_date=ready.registration_date,
        collection_start=ready.collection_start,
        collection_end=ready.collection_end,
    )
    sign(client, polish_citizen)
    theirs = sign(client, polish_citizen, slug="other")
    sequence_all()

    assert outcome(check(client, theirs)[1]) == "not_found"
    assert outcome(check(client, theirs, page="/i/other/receipt/")[1]) == "counted"


def test_a_checkpoint_that_does_not_verify_with_the_log_key_is_reported_not_trusted(
    client, ready, polish_citizen, monkeypatch, settings
) -> None:
    receipt = sign(client, polish_citizen)
    sequence_all()
    seed, _ = generate_signing_key()
    impostor = LogKey(name=settings.QUORUM_ORIGIN, public_key=signing_public_key(seed), seed=seed)
    monkeypatch.setattr(views, "log_key", lambda: impostor)

    response, html = check(client, receipt)

    assert response.status_code == 200
    assert outcome(html) == "unverified"
    assert UNVERIFIED in html
    assert f">{COUNTED}<" not in html


def test_a_rewritten_checkpoint_or_log_node_is_reported_not_trusted(
    client, ready, polish_citizen
) -> None:
    receipts = [sign(client, polish_citizen) for _ in range(3)]
    sequence_all()
    checkpoint = Checkpoint.objects.order_by("-size").first()
    original = checkpoint.note
    lines = original.split("\n")
    lines[1] = "2"  # the signed size, changed after signing
    Checkpoint.objects.filter(pk=checkpoint.pk).update(note="\n".join(lines))
    assert outcome(check(client, receipts[0])[1]) == "unverified"

    Checkpoint.objects.filter(pk=checkpoint.pk).update(note=original)
    assert outcome(check(client, receipts[0])[1]) == "counted"
    node = LogNode.objects.filter(position=1).first()  # level 0, index 1: leaf 0's sibling
    LogNode.objects.filter(pk=node.pk).update(hash=bytes(32))
    assert outcome(check(client, receipts[0])[1]) == "unverified"


def test_the_page_carries_the_browser_check_without_inline_script(client, ready) -> None:
    response = client.get(PAGE)
    html = response.content.decode()
    assert response.status_code == 200
    assert '<script src="/static/quorum/receipt.js" defer></script>' in html
    assert 'data-proof-url="/api/v1/initiatives/clean-air/proof/inclusion"' in html
    assert 'data-checkpoint-url="/api/v1/initiatives/clean-air/checkpoint"' in html
    assert 'data-log-key-url="/api/v1/log-key"' in html
    assert 'aria-live="polite"' in html
    assert '<label class="govuk-label govuk-label--s" for="field-receipt">' in html
    assert re.search(r"<script(?![^>]*\bsrc=)", html) is None
    assert " style=" not in html and " onclick=" not in html
    assert outcome(html) is None


def test_no_such_initiative_is_a_404(client, ready) -> None:
    assert client.get("/i/nope/receipt/", {"receipt": "ab" * 32}).status_code == 404
    initiative_create(slug="draft", title={"en": "d"}, objectives={"en": "x"}, language="en")
    assert client.get("/i/draft/receipt/").status_code == 404


@hypothesis_settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    raw=st.text(max_size=200)
    | st.sampled_from(["%ff%fe", "%00", "%", "a" * 64 + "%00", "&receipt=", "A" * 10_000])
    | st.text(alphabet="0123456789abcdefABCDEF \n", min_size=60, max_size=70)
)
def test_no_receipt_parameter_makes_a_500(client, ready, raw: str) -> None:
    for url in (f"{PAGE}?receipt={quote(raw)}", f"{PAGE}?receipt={raw}"):
        try:
            response = client.get(url)
        except UnicodeError:  # the test client itself cannot send it
            continue
        assert response.status_code in (200, 400), (raw, response.status_code)
