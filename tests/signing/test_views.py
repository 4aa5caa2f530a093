"""The signing pages through Django's test client (the browser tests drive the real thing)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from html import unescape

import pytest

from quorum.initiatives.models import Initiative
from quorum.ledger.models import Statement
from quorum.signing.selectors import forget_intake_targets

pytestmark = pytest.mark.django_db(transaction=True)

START = "/i/clean-air/sign/"
NOT_FIELDS = {
    "csrfmiddlewaretoken",
    "language",
    "next",
    "altcha",
    "viewport",
    "nationality",
    "step",
}


@pytest.fixture
def ready(collecting_initiative, authority_keys, settings):
    settings.QUORUM_POW = False
    return authority_keys


def polish_form(**changes: str | None) -> dict[str, str]:
    form: dict[str, str | None] = {
        "first_names": "Zofia",
        "family_names": "Kowalska",
        "id_type": "pesel",
        "id_number": "44051401359",
        "privacy_read": "yes",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def german_form(**changes: str | None) -> dict[str, str]:
    form: dict[str, str | None] = {
        "first_names": "Anna",
        "family_names": "Schmidt",
        "date_of_birth.day": "17",
        "date_of_birth.month": "3",
        "date_of_birth.year": "1979",
        "residence.street": "Hauptstraße 1",
        "residence.postal_code": "10115",
        "residence.city": "Berlin",
        "residence.country": "Deutschland",
        "privacy_read": "yes",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def review(form: dict[str, str]) -> dict[str, str]:
    return {**form, "step": "review"}


def hidden_fields(html: str) -> dict[str, str]:
    return {
        unescape(name): unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)
    }


def field_names(html: str) -> set[str]:
    return set(re.findall(r'name="([a-z_.]+)"', html)) - NOT_FIELDS


# --- the first step ---------------------------------------------------------------------------


def test_the_initiative_page_invites_to_sign(client, ready) -> None:
    assert START in client.get("/i/clean-air/").content.decode()


def test_the_first_step_asks_for_the_nationality_among_27_member_states(client, ready) -> None:
    html = client.get(START).content.decode()
    assert len(re.findall(r'<option value="[A-Z]{2}">', html)) == 27
    assert client.get(START, {"nationality": "PL"})["Location"] == "/i/clean-air/sign/pl/"


def test_an_unknown_nationality_is_asked_again_with_a_reason(client, ready) -> None:
    response = client.get(START, {"nationality": "XX"})
    assert response.status_code == 400
    assert 'class="govuk-error-summary"' in response.content.decode()


def test_the_start_page_says_what_is_needed_and_for_each_member_state_before_any_field(
    client, ready
) -> None:
    html = client.get(START).content.decode()
    needed = html.index('id="what-you-need"')
    assert needed < html.index('id="field-nationality"')
    assert "It takes about a minute." in html
    # Each state's needs from the rules: Romania's documents, Germany's address.
    assert re.search(r"<strong>Romania</strong>: the number of one of these: [^<]*Carte", html)
    assert "<strong>Germany</strong>: address and date of birth" in html


def test_with_proof_of_work_on_the_need_for_javascript_is_said_at_the_top(
    client, ready, settings
) -> None:
    settings.QUORUM_POW = True
    for path in (START, f"{START}de/"):
        html = client.get(path).content.decode()
        warning = html.index('id="javascript-needed"')
        assert html.index("<noscript>") < warning < html.index('id="field-nationality"')
        assert "without JavaScript you can fill in the form but not send it" in html
        assert "it needs JavaScript" in html


def test_without_proof_of_work_nothing_says_javascript_is_needed(client, ready) -> None:
    html = client.get(START).content.decode()
    assert 'id="javascript-needed"' not in html and "needs JavaScript" not in html


# --- the form -------------------------------------------------------------------------------


def test_the_form_page_keeps_the_nationality_choice_above_the_form(client, ready) -> None:
    html = client.get(f"{START}pl/").content.decode()
    assert '<option value="PL" selected>' in html
    assert html.index('id="field-nationality"') < html.index('id="signing-form-area"')
    assert 'data-form-url="/i/clean-air/sign/"' in html  # where signing.js fetches forms
    assert "quorum/signing.js" in html


def test_a_part_b_form_asks_for_names_and_an_accepted_document_only(client, ready) -> None:
    html = client.get(f"{START}pl/").content.decode()
    assert field_names(html) == {
        "first_names",
        "family_names",
        "id_type",
        "id_number",
        "privacy_read",
    }
    assert '<option value="pesel"' in html
    assert "I hereby certify that the information that I have provided is correct" in html
    assert "21 months after the beginning of the collection period" in html


def test_a_part_a_form_asks_for_residence_and_the_date_of_birth_in_three_parts(
    client, ready
) -> None:
    html = client.get(f"{START}de/").content.decode()
    assert field_names(html) == {
        "first_names",
        "family_names",
        "date_of_birth.day",
        "date_of_birth.month",
        "date_of_birth.year",
        "residence.street",
        "residence.postal_code",
        "residence.city",
        "residence.country",
        "privacy_read",
    }
    assert "German nationals residing outside Germany" in html
    assert html.count('inputmode="numeric"') == 3
    assert "For example 17 3 1979" in html


@pytest.mark.parametrize(
    ("language", "order", "example"),
    [
        ("en", ["day", "month", "year"], "17 3 1979"),
        ("de", ["day", "month", "year"], "17 3 1979"),
        ("hu", ["year", "month", "day"], "1979 3 17"),
        ("lt", ["year", "month", "day"], "1979 3 17"),
        ("sv", ["year", "month", "day"], "1979 3 17"),
    ],
)
def test_the_date_parts_come_in_the_order_the_language_writes_dates(
    client, ready, language: str, order: list[str], example: str
) -> None:
    html = client.get(f"{START}de/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert re.findall(r'name="date_of_birth\.(day|month|year)"', html) == order
    assert example in html


def test_the_privacy_confirmation_is_a_checkbox_with_its_label_beside_it(client, ready) -> None:
    html = client.get(f"{START}pl/").content.decode()
    item = re.search(r'<div class="govuk-checkboxes__item">(.*?)</div>', html, re.S).group(1)
    assert 'class="govuk-checkboxes__input"' in item and 'id="field-privacy-read"' in item
    assert 'class="govuk-label govuk-checkboxes__label" for="field-privacy-read"' in item


def test_fields_declare_their_purpose_for_assistive_technology(client, ready) -> None:
    # WCAG 2.1 1.3.5: inputs about the user say what they are.
    html = client.get(f"{START}de/").content.decode()
    for purpose in ("given-name", "family-name", "bday-day", "bday-month", "bday-year"):
        assert f'autocomplete="{purpose}"' in html
    for purpose in ("postal-code", "address-level2"):
        assert f'autocomplete="{purpose}"' in html


def test_every_document_type_has_its_hint_and_example_under_the_number(client, ready) -> None:
    html = client.get(f"{START}ro/").content.decode()
    hints = dict(re.findall(r'<li data-id-type="([a-z_]+)">([^<]*)</li>', html))
    assert set(hints) == {"id_card", "passport", "cnp"}
    assert "2 letters and 6 digits, for example AB123456" in hints["id_card"]
    assert "8 to 9 digits, for example 123456789" in hints["passport"]
    assert "13 digits, for example " in hints["cnp"]
    assert 'aria-describedby="field-id-number-hint"' in html


def test_the_form_shows_the_fingerprint_of_the_key_the_statement_will_be_sealed_to(
    client, ready
) -> None:
    from quorum.authorities.models import Authority
    from quorum.proofs.key_certificate import format_fingerprint

    key = Authority.objects.select_related("current_key").get(member_state="PL").current_key
    page = client.get(f"{START}pl/").content.decode()
    assert format_fingerprint(key.fingerprint) in page
    assert "/api/v1/authorities" in page


@pytest.mark.parametrize("path", ["xx/", "PL/", "uk/"])
def test_unknown_or_misspelled_member_states_are_not_found(client, ready, path: str) -> None:
    assert client.get(f"{START}{path}").status_code == 404


# --- the review step ------------------------------------------------------------------------


def test_the_review_step_shows_what_was_typed_in_words_and_stores_nothing(client, ready) -> None:
    response = client.post(f"{START}de/", review(german_form()))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Check your statement before you submit it" in html
    assert re.search(r'data-review="date_of_birth">17 March 1979<', html)
    assert re.search(r'data-review="nationality">Germany<', html)
    assert re.search(r'data-review="residence.street">Hauptstraße 1<', html)
    assert response["Cache-Control"] == "no-store"
    assert Statement.objects.count() == 0


def test_the_review_step_says_the_date_in_the_language_of_the_page(client, ready) -> None:
    html = client.post(
        f"{START}de/", review(german_form()), HTTP_ACCEPT_LANGUAGE="de"
    ).content.decode()
    assert re.search(r'data-review="date_of_birth">17\. März 1979<', html)
    assert re.search(r'data-review="nationality">Deutschland<', html)


def test_the_review_names_the_chosen_document_type(client, ready) -> None:
    html = client.post(f"{START}pl/", review(polish_form())).content.decode()
    assert re.search(r'data-review="id_type">[^<]*PESEL', html)
    assert re.search(r'data-review="id_number">44051401359<', html)


def test_the_review_carries_every_value_in_hidden_fields_posted_to_the_same_address(
    client, ready
) -> None:
    form = german_form()
    html = client.post(f"{START}de/", review(form)).content.decode()
    assert hidden_fields(html) == {**form, "altcha": ""}
    assert re.search(
        r'<form method="post" novalidate data-pow-scope="[^"]+" id="review-form">', html
    )
    assert 'name="confirm" value="yes"' in html


def test_confirming_the_review_seals_the_statement_and_shows_the_receipt(client, ready) -> None:
    html = client.post(f"{START}de/", review(german_form())).content.decode()
    response = client.post(f"{START}de/", {**hidden_fields(html), "confirm": "yes"})
    assert response.status_code == 200
    receipt = re.search(r'id="receipt">([0-9a-f]{64})<', response.content.decode()).group(1)
    statement = Statement.objects.get()
    assert bytes(statement.leaf_hash).hex() == receipt and statement.member_state == "DE"
    assert response["Cache-Control"] == "no-store"


def test_the_date_from_three_parts_is_sealed_as_an_iso_date(client, ready) -> None:
    from quorum.proofs.crypto import open_sealed
    from quorum.signing.content import parse_statement_plaintext

    html = client.post(f"{START}de/", review(german_form())).content.decode()
    client.post(f"{START}de/", {**hidden_fields(html), "confirm": "yes"})
    ciphertext = bytes(Statement.objects.get().ciphertext)
    sealed = parse_statement_plaintext(open_sealed(ready["DE"].sealing_private_key, ciphertext))
    assert sealed["fields"]["date_of_birth"] == "1979-03-17"


def test_change_on_the_review_returns_to_the_form_with_every_value(client, ready) -> None:
    html = client.post(f"{START}de/", review(german_form())).content.decode()
    response = client.post(f"{START}de/", {**hidden_fields(html), "change": "residence.city"})
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="statement-form"' in page and "govuk-error-summary" not in page
    assert (
        'value="Berlin" required autocomplete="address-level2" maxlength="100" spellcheck="false" autofocus'
        in page
    )
    for value in ('value="Anna"', 'value="17"', 'value="3"', 'value="1979"', 'value="10115"'):
        assert value in page
    assert 'id="field-privacy-read" name="privacy_read" value="yes" required checked' in page
    assert Statement.objects.count() == 0


def test_a_review_with_errors_returns_to_the_form_with_every_value(client, ready) -> None:
    response = client.post(f"{START}pl/", review(polish_form(id_number="44051401358")))
    assert response.status_code == 422
    html = response.content.decode()
    assert 'href="#field-id-number"' in html and 'value="Zofia"' in html
    assert "Check your statement before you submit it" not in html


def test_the_review_needs_the_anti_abuse_check_when_proof_of_work_is_on(
    client, ready, settings
) -> None:
    settings.QUORUM_POW = True
    response = client.post(f"{START}pl/", review(polish_form()))
    assert response.status_code == 422
    html = unescape(response.content.decode())
    assert "The anti-abuse check needs JavaScript" in html and 'href="#field-altcha"' in html
    assert 'value="Zofia"' in html


def test_with_proof_of_work_the_solution_goes_through_the_review_to_the_seal(
    client, ready, settings, pow_payload
) -> None:
    settings.QUORUM_POW = True
    solution = pow_payload("statement:clean-air")
    html = client.post(f"{START}pl/", review(polish_form(altcha=solution))).content.decode()
    assert hidden_fields(html)["altcha"] == solution
    response = client.post(f"{START}pl/", {**hidden_fields(html), "confirm": "yes"})
    assert response.status_code == 200 and Statement.objects.count() == 1


def test_a_used_anti_abuse_check_at_confirmation_keeps_the_review_and_asks_for_a_new_one(
    client, ready, settings, pow_payload
) -> None:
    settings.QUORUM_POW = True
    solution = pow_payload("statement:clean-air")
    html = client.post(f"{START}pl/", review(polish_form(altcha=solution))).content.decode()
    client.post(f"{START}pl/", {**hidden_fields(html), "confirm": "yes"})
    # The same solution again, for another person's values: refused, nothing lost.
    values = {**hidden_fields(html), "first_names": "Ewa", "confirm": "yes"}
    response = client.post(f"{START}pl/", values)
    assert response.status_code == 422
    page = response.content.decode()
    assert "Check your statement before you submit it" in page
    assert hidden_fields(page)["altcha"] == ""  # the page solves a new one
    assert hidden_fields(page)["first_names"] == "Ewa"
    assert Statement.objects.count() == 1


def test_a_rate_limited_confirmation_keeps_the_review_says_when_to_retry_and_retries(
    client, ready, settings
) -> None:
    settings.QUORUM_RATE_BURST = 1
    assert client.post(f"{START}pl/", polish_form()).status_code == 200
    html = client.post(f"{START}pl/", review(polish_form(first_names="Ewa"))).content.decode()
    values = {**hidden_fields(html), "confirm": "yes"}
    response = client.post(f"{START}pl/", values)
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    page = response.content.decode()
    assert "Please try again in" in page and "Everything you typed is kept below." in page
    kept = hidden_fields(page)
    assert {k: kept[k] for k in polish_form()} == polish_form(first_names="Ewa")
    assert Statement.objects.count() == 1
    settings.QUORUM_RATE_BURST = 10
    assert client.post(f"{START}pl/", {**kept, "confirm": "yes"}).status_code == 200
    assert Statement.objects.count() == 2


# --- submitting -----------------------------------------------------------------------------


def test_a_post_without_the_review_marker_is_submitted_at_once(client, ready) -> None:
    response = client.post(f"{START}pl/", polish_form())
    assert response.status_code == 200
    html = response.content.decode()
    receipt = re.search(r'id="receipt">([0-9a-f]{64})<', html).group(1)
    assert bytes(Statement.objects.get().leaf_hash).hex() == receipt
    assert response["Cache-Control"] == "no-store"
    assert "Zofia" not in html  # the receipt page repeats nothing personal


def test_an_iso_date_of_birth_is_still_accepted_in_one_field(client, ready) -> None:
    form = german_form(**{f"date_of_birth.{p}": None for p in ("day", "month", "year")})
    assert client.post(f"{START}de/", {**form, "date_of_birth": "1979-03-17"}).status_code == 200
    assert Statement.objects.get().member_state == "DE"


def test_errors_are_summarised_with_links_to_their_fields_and_nothing_is_stored(
    client, ready
) -> None:
    response = client.post(f"{START}pl/", polish_form(id_number="44051401358", family_names=""))
    assert response.status_code == 422
    html = response.content.decode()
    assert 'class="govuk-error-summary"' in html
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


@pytest.mark.parametrize(
    ("parts", "message", "target"),
    [
        (("", "", ""), "Enter your date of birth: the day, the month and the year.", "day"),
        (("17", "", "1979"), "Your date of birth must include the month.", "month"),
        (("31", "2", "1979"), "Your date of birth must be a real date", "day"),
        (("17", "13", "1979"), "Enter the month as a number from 1 to 12.", "month"),
        (("17", "3", "79"), "Enter the year in full, with four digits", "year"),
        (("17031979", "", ""), "Enter the day as a number from 1 to 31.", "day"),
    ],
    ids=["nothing", "no month", "31 February", "month 13", "two-digit year", "all in the day"],
)
def test_a_wrong_date_of_birth_is_refused_on_the_date_field_with_the_part_to_fix(
    client, ready, parts: tuple[str, str, str], message: str, target: str
) -> None:
    day, month, year = parts
    form = german_form(
        **{"date_of_birth.day": day, "date_of_birth.month": month, "date_of_birth.year": year}
    )
    response = client.post(f"{START}de/", review(form))
    assert response.status_code == 422
    html = response.content.decode()
    assert message in html
    assert f'href="#field-date-of-birth-{target}">Date of birth: ' in html
    assert re.search(rf'id="field-date-of-birth-{target}"[^>]*aria-invalid="true"', html)
    if day:
        assert f'value="{day}"' in html
    assert Statement.objects.count() == 0


def test_an_age_refusal_says_the_minimum_age_and_the_first_day_to_sign(client, ready) -> None:
    today = date.today()
    born = date(today.year - 15, 1, 1) + timedelta(days=400)  # 14 years and some months old
    form = german_form(
        **{
            "date_of_birth.day": str(born.day),
            "date_of_birth.month": str(born.month),
            "date_of_birth.year": str(born.year),
        }
    )
    html = unescape(client.post(f"{START}de/", review(form)).content.decode())
    sixteen = born.replace(year=born.year + 16)
    from quorum.core.local_forms import local_date

    assert "You must be at least 16 years old" in html and "(Germany)" in html
    assert f"You may sign from {local_date(sixteen, language='en')}." in html


def test_a_number_of_another_accepted_type_is_named_with_the_fix(client, ready) -> None:
    from quorum.rules import scheme
    from quorum.rules.id_hints import id_format

    cnp = next(d for d in scheme("eci").id_documents("RO") if d.code == "cnp")
    form = polish_form(id_type="id_card", id_number=id_format(cnp).example)
    html = unescape(client.post(f"{START}ro/", review(form)).content.decode())
    assert "This is not the number of a “Carte de identitate” (2 letters and 6 digits" in html
    assert "but it is a valid “Cod Numeric Personal”: choose that type above." in html


def test_a_number_of_the_wrong_length_says_the_form_its_type_has(client, ready) -> None:
    html = unescape(
        client.post(
            f"{START}ro/", review(polish_form(id_type="cnp", id_number="123"))
        ).content.decode()
    )
    assert "The number of a “Cod Numeric Personal” is 13 digits, for example" in html


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
    response = client.post(f"{START}pl/", polish_form(first_names="Ewa"))
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert 'value="Ewa"' in response.content.decode()  # on the form, every value kept


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


def test_personal_data_never_goes_into_an_address(client, ready) -> None:
    # Every form that carries typed values posts; only the nationality choice is a GET.
    for html in (
        client.get(f"{START}de/").content.decode(),
        client.post(f"{START}de/", review(german_form())).content.decode(),
    ):
        for form in re.findall(r"<form[^>]*>", html):
            if 'id="nationality-form"' in form or "language-switcher" in form:
                continue
            assert 'method="post"' in form, form
