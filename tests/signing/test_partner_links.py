"""A partner's link (``?via=<code>``): kept through every step, in the leaf, never a refusal."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest

from quorum.initiatives.services import embed_origin_add, partner_add, partner_remove
from quorum.ledger.models import Statement
from quorum.proofs.leaves import (
    PARTNER_LEAF_VERSION,
    format_received_at,
    leaf_data,
    statement_leaf_hash,
)
from quorum.signing.selectors import forget_intake_targets

pytestmark = pytest.mark.django_db(transaction=True)

START = "/i/clean-air/sign/"
FORM = "/i/clean-air/sign/pl/"
NOTE = 'id="partner-note"'


@pytest.fixture
def ready(collecting_initiative, authority_keys, settings):
    settings.QUORUM_POW = False
    partner_add(initiative=collecting_initiative, code="edri", name="European Digital Rights")
    forget_intake_targets()
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


def hidden_fields(html: str) -> dict[str, str]:
    return {
        unescape(name): unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)
    }


def sign(client, address: str) -> Statement:
    """Review, then confirm, at ``address``, as the form and the review page post."""
    review = client.post(address, {**polish_form(), "step": "review"})
    assert review.status_code == 200
    done = client.post(address, {**hidden_fields(review.content.decode()), "confirm": "yes"})
    assert done.status_code == 200, done.content.decode()[:2000]
    return Statement.objects.get()


def leaf_of(statement: Statement, partner: str) -> bytes:
    return statement_leaf_hash(
        initiative="clean-air",
        member_state=statement.member_state,
        received_at=format_received_at(statement.received_at),
        ciphertext_sha256=bytes(statement.ciphertext_sha256),
        partner=partner,
    )


def test_choosing_the_nationality_keeps_the_partners_code_in_the_address(client, ready) -> None:
    page = client.get(START + "?via=edri").content.decode()
    assert '<input type="hidden" name="via" value="edri">' in page
    answer = client.get(START + "?nationality=PL&via=edri")
    assert answer.status_code == 302
    assert answer["Location"] == FORM + "?via=edri"


def test_the_form_and_the_review_say_whose_link_it_is_and_what_is_public(client, ready) -> None:
    form = client.get(FORM + "?via=edri").content.decode()
    assert NOTE in form and "European Digital Rights" in form and "“edri”" in form
    review = client.post(FORM + "?via=edri", {**polish_form(), "step": "review"})
    assert NOTE in review.content.decode()
    assert NOTE not in client.get(FORM).content.decode()


def test_the_note_is_in_the_language_of_the_page(client, ready) -> None:
    form = client.get(FORM + "?via=edri", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "European Digital Rights" in form
    assert "You came here through the link" not in form


def test_a_statement_signed_through_the_link_carries_the_code_in_its_public_leaf(
    client, ready
) -> None:
    statement = sign(client, FORM + "?via=EDRI")
    assert statement.partner == "edri"
    assert bytes(statement.leaf_hash) == leaf_of(statement, "edri")
    assert bytes(statement.leaf_hash) != leaf_of(statement, "")
    data = leaf_data(
        initiative="clean-air",
        member_state="PL",
        received_at=format_received_at(statement.received_at),
        ciphertext_sha256=bytes(statement.ciphertext_sha256),
        partner="edri",
    )
    assert data.startswith(PARTNER_LEAF_VERSION.encode())


@pytest.mark.parametrize(
    "via",
    ["unknown", "edri%0A", "edri%00", "ed%20ri", "%C3%A9dri", "x" * 5000, "edri&via=other", ""],
)
def test_an_unknown_or_malformed_code_is_ignored_and_the_statement_is_taken_as_any_other(
    client, ready, via: str
) -> None:
    form = client.get(FORM + "?via=" + via)
    assert form.status_code == 200
    assert NOTE not in form.content.decode()
    statement = sign(client, FORM + "?via=" + via)
    assert statement.partner == ""
    assert bytes(statement.leaf_hash) == leaf_of(statement, "")


def test_a_removed_partners_link_still_signs_but_without_the_code(client, ready) -> None:
    partner_remove(initiative=ready, code="edri")
    forget_intake_targets()
    assert NOTE not in client.get(FORM + "?via=edri").content.decode()
    assert sign(client, FORM + "?via=edri").partner == ""


def test_the_framed_form_keeps_the_code_with_the_language(client, ready) -> None:
    embed_origin_add(initiative=ready, origin="https://campaign.example.org")
    answer = client.get("/i/clean-air/embed/sign/?nationality=PL&lang=fr&via=edri")
    assert answer.status_code == 302
    assert answer["Location"] == "/i/clean-air/embed/sign/pl/?lang=fr&via=edri"
    headers = {"HTTP_SEC_FETCH_SITE": "same-origin", "HTTP_SEC_FETCH_DEST": "iframe"}
    address = answer["Location"]
    review = client.post(address, {**polish_form(), "step": "review"}, **headers)
    assert NOTE in review.content.decode()
    fields = hidden_fields(review.content.decode())
    client.post(address, {**fields, "confirm": "yes"}, **headers)
    assert Statement.objects.get().partner == "edri"


def api_post(client, body: dict[str, object]):
    return client.post(
        "/api/v1/initiatives/clean-air/statements",
        data=json.dumps(body),
        content_type="application/json",
    )


def test_the_api_takes_the_code_in_via_and_puts_it_in_the_leaf(
    client, ready, polish_citizen
) -> None:
    answer = api_post(client, {**polish_citizen, "via": "edri"})
    assert answer.status_code == 201, answer.content
    statement = Statement.objects.get()
    assert statement.partner == "edri"
    assert answer.json()["receipt"] == leaf_of(statement, "edri").hex()


@pytest.mark.parametrize("via", ["unknown", "EDRI\n", "", "x" * 5000, None])
def test_the_api_ignores_an_unknown_code(client, ready, polish_citizen, via: str) -> None:
    answer = api_post(client, {**polish_citizen, "via": via})
    assert answer.status_code == 201, answer.content
    statement = Statement.objects.get()
    assert statement.partner == ""
    assert answer.json()["receipt"] == leaf_of(statement, "").hex()


@pytest.mark.parametrize("via", [7, ["edri"], {"code": "edri"}])
def test_the_api_refuses_a_via_that_is_not_text_with_a_reason_and_stores_nothing(
    client, ready, polish_citizen, via: object
) -> None:
    answer = api_post(client, {**polish_citizen, "via": via})
    assert answer.status_code in (400, 422), answer.content
    assert "via" in answer.content.decode()
    assert not Statement.objects.exists()
