"""The signing pages through Django's test client (the browser tests drive the real thing)."""

from __future__ import annotations

import re

import pytest

from quorum.initiatives.models import Initiative
from quorum.ledger.models import Statement
from quorum.signing.selectors import forget_intake_targets

pytestmark = pytest.mark.django_db(transaction=True)

START = "/i/clean-air/sign/"


@pytest.fixture
def ready(collecting_initiative, authority_keys, settings):
    settings.QUORUM_POW = False
    return authority_keys


def polish_form(**changes: str) -> dict[str, str]:
    form = {
        "first_names": "Zofia",
        "family_names": "Kowalska",
        "id_type": "pesel",
        "id_number": "44051401359",
        "privacy_read": "yes",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def german_form(**changes: str) -> dict[str, str]:
    form = {
        "first_names": "Anna",
        "family_names": "Schmidt",
        "date_of_birth": "1990-04-23",
        "residence.street": "Hauptstraße 1",
        "residence.postal_code": "10115",
        "residence.city": "Berlin",
        "residence.country": "Deutschland",
        "privacy_read": "yes",
    }
    form.update(changes)
    return form


def test_the_initiative_page_invites_to_sign(client, ready) -> None:
    assert START in client.get("/i/clean-air/").content.decode()


def test_the_first_step_asks_for_the_nationality_among_27_member_states(client, ready) -> None:
    html = client.get(START).content.decode()
    assert len(re.findall(r'<option value="[A-Z]{2}">', html)) == 27
    assert client.get(START, {"nationality": "PL"})["Location"] == "/i/clean-air/sign/pl/"


def test_an_unknown_nationality_is_asked_again_with_a_reason(client, ready) -> None:
    response = client.get(START, {"nationality": "XX"})
    assert response.status_code == 400
    assert "error-summary" in response.content.decode()


def test_a_part_b_form_asks_for_names_and_an_accepted_document_only(client, ready) -> None:
    html = client.get(f"{START}pl/").content.decode()
    names = set(re.findall(r'name="([a-z_.]+)"', html)) - {
        "csrfmiddlewaretoken",
        "language",
        "next",
        "altcha",
        "viewport",
    }
    assert names == {"first_names", "family_names", "id_type", "id_number", "privacy_read"}
    assert '<option value="pesel"' in html
    assert "I hereby certify that the information that I have provided is correct" in html
    assert "21 months after the beginning of the collection period" in html


def test_a_part_a_form_asks_for_residence_and_date_of_birth(client, ready) -> None:
    html = client.get(f"{START}de/").content.decode()
    names = set(re.findall(r'name="([a-z_.]+)"', html)) - {
        "csrfmiddlewaretoken",
        "language",
        "next",
        "altcha",
        "viewport",
    }
    assert names == {
        "first_names",
        "family_names",
        "date_of_birth",
        "residence.street",
        "residence.postal_code",
        "residence.city",
        "residence.country",
        "privacy_read",
    }
    assert "German nationals residing outside Germany" in html


def test_signing_through_the_form_stores_one_statement_and_shows_the_receipt(client, ready) -> None:
    response = client.post(f"{START}pl/", polish_form())
    assert response.status_code == 200
    html = response.content.decode()
    receipt = re.search(r'id="receipt">([0-9a-f]{64})<', html).group(1)
    assert bytes(Statement.objects.get().leaf_hash).hex() == receipt
    assert response["Cache-Control"] == "no-store"
    assert "Zofia" not in html  # the receipt page repeats nothing personal


def test_a_german_citizen_signs_with_residence(client, ready) -> None:
    assert client.post(f"{START}de/", german_form()).status_code == 200
    assert Statement.objects.get().member_state == "DE"


def test_errors_are_summarised_with_links_to_their_fields_and_nothing_is_stored(
    client, ready
) -> None:
    response = client.post(f"{START}pl/", polish_form(id_number="44051401358", family_names=""))
    assert response.status_code == 422
    html = response.content.decode()
    assert 'class="error-summary"' in html
    assert 'href="#field-id-number"' in html and 'href="#field-family-names"' in html
    assert 'id="field-id-number"' in html and 'aria-invalid="true"' in html
    assert 'value="Zofia"' in html  # what was typed stays
    assert Statement.objects.count() == 0


def test_the_privacy_statement_must_be_confirmed_and_other_errors_show_at_once(
    client, ready
) -> None:
    response = client.post(f"{START}pl/", polish_form(privacy_read=None, id_number="1"))
    html = response.content.decode()
    assert response.status_code == 422
    assert 'href="#field-privacy-read"' in html and 'href="#field-id-number"' in html
    assert Statement.objects.count() == 0


def test_form_errors_are_translated(client, ready) -> None:
    response = client.post(f"{START}pl/", polish_form(family_names=""), HTTP_ACCEPT_LANGUAGE="de")
    html = response.content.decode()
    assert '<html lang="de"' in html
    assert "This field is required." not in html


@pytest.mark.parametrize("path", ["xx/", "PL/", "uk/"])
def test_unknown_or_misspelled_member_states_are_not_found(client, ready, path: str) -> None:
    assert client.get(f"{START}{path}").status_code == 404


def test_a_closed_initiative_shows_no_form_and_refuses_statements(client, ready) -> None:
    Initiative.objects.update(status=Initiative.Status.COLLECTION_CLOSED)
    forget_intake_targets()
    html = client.get(f"{START}pl/").content.decode()
    assert "not collecting" in html
    assert client.post(f"{START}pl/", polish_form()).status_code == 409
    assert Statement.objects.count() == 0


def test_a_rate_limited_signatory_is_told_when_to_come_back(client, ready, settings) -> None:
    settings.QUORUM_RATE_BURST = 1
    assert client.post(f"{START}pl/", polish_form()).status_code == 200
    response = client.post(f"{START}pl/", polish_form())
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_ORIGIN": "https://evil.example"},
        {"HTTP_ORIGIN": "null"},
        {"HTTP_SEC_FETCH_SITE": "cross-site", "HTTP_ORIGIN": "http://testserver"},
        {"HTTP_SEC_FETCH_SITE": "same-site"},
    ],
    ids=["other origin", "opaque origin", "fetch metadata says cross-site", "a sibling site"],
)
def test_the_form_refuses_a_post_the_browser_says_comes_from_another_site(
    ready, headers: dict[str, str]
) -> None:
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post(f"{START}pl/", polish_form(), **headers)
    assert response.status_code == 403
    assert Statement.objects.count() == 0
    # The refusal says what to do, with every page's headers; in the signatory's language.
    assert "reload the page and send it again" in response.content.decode()
    assert "Content-Security-Policy" in response.headers
    german = strict.post(f"{START}pl/", polish_form(), HTTP_ACCEPT_LANGUAGE="de", **headers)
    assert german.status_code == 403 and 'lang="de"' in german.content.decode()


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_ORIGIN": "http://testserver"},
        {"HTTP_SEC_FETCH_SITE": "same-origin", "HTTP_ORIGIN": "http://testserver"},
        {"HTTP_SEC_FETCH_SITE": "none"},
        {},
    ],
    ids=["own origin", "fetch metadata says same origin", "typed by the person", "no browser"],
)
def test_the_form_takes_a_post_from_its_own_page_without_any_cookie(
    ready, headers: dict[str, str]
) -> None:
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post(f"{START}pl/", polish_form(), **headers)
    assert response.status_code == 200, response.content[:300]
    assert not response.cookies
    assert Statement.objects.count() == 1


def test_the_form_needs_proof_of_work_when_it_is_on(client, ready, settings) -> None:
    settings.QUORUM_POW = True
    html = client.get(f"{START}pl/").content.decode()
    assert 'data-pow-scope="statement:clean-air"' in html
    assert "quorum/pow.js" in html
    response = client.post(f"{START}pl/", polish_form())
    assert response.status_code == 422
    assert Statement.objects.count() == 0


def test_fields_declare_their_purpose_for_assistive_technology(client, ready) -> None:
    # WCAG 2.1 1.3.5: inputs about the user say what they are.
    html = client.get(f"{START}de/").content.decode()
    for purpose in ("given-name", "family-name", "bday", "postal-code", "address-level2"):
        assert f'autocomplete="{purpose}"' in html


def test_the_form_shows_the_fingerprint_of_the_key_the_statement_will_be_sealed_to(
    client, ready
) -> None:
    from quorum.authorities.models import Authority
    from quorum.proofs.key_certificate import format_fingerprint

    key = Authority.objects.select_related("current_key").get(member_state="PL").current_key
    page = client.get(f"{START}pl/").content.decode()
    assert format_fingerprint(key.fingerprint) in page
    assert "/api/v1/authorities" in page
