"""The back office's pages: CSP-safe, labelled, error links that land, GOV.UK Frontend's controls."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from quorum.backoffice.forms import DraftForm, InviteForm, SponsorForm
from quorum.initiatives.models import Initiative, Sponsor

from .conftest import make_initiative, registered_fields

pytestmark = pytest.mark.django_db

Status = Initiative.Status


class Page(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.label_for: set[str] = set()
        self.controls: list[tuple[str, str]] = []  # (tag, id) of fields a person fills in
        self.control_classes: dict[str, str] = {}  # id → class attribute
        self.described_by: list[str] = []  # every id an aria-describedby names
        self.buttons: list[str] = []  # the class attribute of every button of <main>
        self.in_main = False
        self.in_fieldset_with_legend: set[str] = set()
        self.fieldsets: list[list[str]] = []
        self.fragment_links: list[str] = []
        self.inline: list[str] = []
        self.tables = 0
        self.headers = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "label" and a.get("for"):
            self.label_for.add(a["for"])
        if tag in ("script", "style") or "style" in a or any(k.startswith("on") for k in a):
            self.inline.append(tag)
        if tag == "a" and (a.get("href") or "").startswith("#"):
            self.fragment_links.append(a["href"][1:])
        if tag == "fieldset":
            self.fieldsets.append([])
        if tag == "legend" and self.fieldsets:
            self.fieldsets[-1].append("legend")
        if tag == "table":
            self.tables += 1
        if tag == "th":
            self.headers += 1
        self.described_by.extend((a.get("aria-describedby") or "").split())
        if tag == "main":
            self.in_main = True
        if tag == "button" and self.in_main:
            self.buttons.append(a.get("class") or "")
        kind = a.get("type", "")
        if tag in ("select", "textarea") or (
            tag == "input" and kind not in ("hidden", "submit", "button")
        ):
            self.controls.append((kind or tag, a.get("id") or ""))
            self.control_classes[a.get("id") or ""] = a.get("class") or ""
            if kind == "radio" and self.fieldsets and "legend" in self.fieldsets[-1]:
                self.in_fieldset_with_legend.add(a.get("id") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "main":
            self.in_main = False
        if tag == "fieldset" and self.fieldsets:
            self.fieldsets.pop()


# The GOV.UK Frontend class each kind of control must carry to be drawn at all.
GOVUK_CLASS = {
    "checkbox": "govuk-checkboxes__input",
    "radio": "govuk-radios__input",
    "select": "govuk-select",
    "textarea": "govuk-textarea",
    "file": "govuk-file-upload",
}


def check(html: str) -> Page:
    page = Page(html)
    assert page.inline == [], "inline script, style or event handler"
    for kind, control_id in page.controls:
        assert control_id, f"a {kind} without an id"
        assert control_id in page.label_for, f"no label for #{control_id}"
        if kind == "radio":
            assert control_id in page.in_fieldset_with_legend
        wanted = GOVUK_CLASS.get(kind, "govuk-input")
        assert wanted in page.control_classes[control_id].split(), f"#{control_id} is unstyled"
    for target in page.fragment_links:
        assert target in page.ids, f"a link to #{target}, which is not on the page"
    for target in page.described_by:
        assert target in page.ids, f"aria-describedby names #{target}, which is not on the page"
    for classes in page.buttons:
        assert "govuk-button" in classes.split(), f"a button of the page is unstyled: {classes!r}"
    assert page.headers >= page.tables
    return page


@pytest.fixture
def registrar_client(registrar, signed_in):
    return signed_in(registrar)


@pytest.fixture
def files(organiser_alice, today) -> dict[str, Initiative]:
    return {
        "requested": make_initiative(
            "requested",
            organiser=organiser_alice,
            title="Requested",
            status=Status.REGISTRATION_REQUESTED,
            registration_requested_on=today - timedelta(days=70),
        ),
        "collecting": make_initiative(
            "collecting", title="Collecting", status=Status.COLLECTING, **registered_fields(today)
        ),
        "submitted": make_initiative(
            "submitted",
            title="Submitted",
            status=Status.SUBMITTED,
            submitted_on=today,
            **registered_fields(today, number=8),
        ),
    }


def test_the_registrar_pages_are_csp_safe_and_labelled(registrar_client, files) -> None:
    check(registrar_client.get("/manage/registrar/").content.decode())
    for slug in files:
        response = registrar_client.get(f"/manage/registrar/{slug}/")
        assert response.status_code == 200
        check(response.content.decode())


@pytest.mark.parametrize(
    ("slug", "action", "data"),
    [
        ("requested", "decide", {}),
        ("requested", "decide", {"decision": "partially_registered"}),
        ("requested", "decide", {"decision": "registered", "registration_number": "x" * 41}),
        ("collecting", "translation", {"language": "xx"}),
        ("collecting", "translation", {"language": "de", "title": "T", "objectives": " "}),
        ("collecting", "extension", {"new_end": "2020-01-01", "legal_basis": "x"}),
        ("collecting", "extension", {"new_end": "not a date"}),
        ("submitted", "follow-up", {"step": "communication", "on": "2030-01-01"}),
        ("submitted", "follow-up", {"step": "meeting", "on": "2000-01-01"}),
    ],
)
def test_every_registrar_error_links_to_a_field_on_the_page(
    registrar_client, files, slug: str, action: str, data: dict
) -> None:
    response = registrar_client.post(f"/manage/registrar/{slug}/{action}/", data)
    assert response.status_code == 422
    page = check(response.content.decode())
    assert any(target.startswith("id_") for target in page.fragment_links)


def test_the_authority_page_is_csp_safe_and_its_errors_link_to_the_file_field(
    world, signed_in, authority_staff_de
) -> None:
    client = signed_in(authority_staff_de)
    check(client.get("/manage/authority/DE/").content.decode())
    response = client.post(
        "/manage/authority/DE/certificate/",
        {"certificate": SimpleUploadedFile("certificate.json", b"{}")},
    )
    assert response.status_code == 422
    assert "id_certificate" in check(response.content.decode()).fragment_links


def test_the_back_office_home_and_the_operators_and_designations_pages_use_govuk_controls(
    world, signed_in, registrar, operator
) -> None:
    as_registrar = signed_in(registrar)
    home = as_registrar.get("/manage/").content.decode()
    check(home)
    assert 'class="govuk-list govuk-list--spaced"' in home
    check(as_registrar.get("/manage/designations/").content.decode())
    as_operator = signed_in(operator)
    page = check(as_operator.get("/manage/operator/authorities/").content.decode())
    assert "govuk-file-upload" in page.control_classes["id_certificate_file"]


def test_the_organisers_list_shows_each_status_as_a_coloured_tag(world, signed_in, organiser_alice):
    page = signed_in(organiser_alice).get("/manage/initiatives/").content.decode()
    check(page)
    assert (
        '<strong class="govuk-tag quorum-status quorum-status--verification">'
        "Under verification</strong>"
    ) in page
    assert 'class="govuk-button" href="/manage/initiatives/new/"' in page


def test_the_registrar_sees_statuses_as_tags_and_an_overdue_request_in_red_and_in_words(
    registrar_client, files
) -> None:
    page = registrar_client.get("/manage/registrar/").content.decode()
    assert '<strong class="govuk-tag govuk-tag--red">(overdue)</strong>' in page
    assert "quorum-status--collecting" in page and "quorum-status--submitted" in page


def test_a_refused_draft_marks_each_refused_field_and_its_message_is_read_with_it(
    world, signed_in, organiser_alice
) -> None:
    response = signed_in(organiser_alice).post(
        "/manage/initiatives/new/", {"slug": "not a slug", "language": "en"}
    )
    assert response.status_code == 422
    html = response.content.decode()
    page = check(html)
    assert "govuk-input--error" in page.control_classes["id_slug"].split()
    assert "govuk-select--error" in page.control_classes["id_nationality"].split()
    assert "govuk-textarea--error" in page.control_classes["id_objectives"].split()
    assert "govuk-input--error" not in page.control_classes["id_treaty_basis"].split()
    # The message is tied to its field, and its group is marked.
    slug = re.search(r"<input[^>]*id=\"id_slug\"[^>]*>", html)
    assert slug is not None and 'aria-describedby="id_slug_error"' in slug.group(0)
    assert 'aria-invalid="true"' in slug.group(0)
    assert '<div id="id_slug_error"><p class="govuk-error-message">' in html
    field_links = [target for target in page.fragment_links if target.startswith("id_")]
    assert html.count("govuk-form-group--error") == len(field_links) == 7
    # The voting-age box is a GOV.UK check box with its label beside it.
    assert '<div class="govuk-checkboxes__item">' in html
    assert 'class="govuk-label govuk-checkboxes__label" for="id_declares_voting_age"' in html


def test_the_decision_is_a_group_of_govuk_radios_under_a_legend(registrar_client, files) -> None:
    html = registrar_client.get("/manage/registrar/requested/").content.decode()
    page = check(html)
    radios = [i for kind, i in page.controls if kind == "radio"]
    assert radios == ["id_decision_0", "id_decision_1", "id_decision_2"]
    assert '<div class="govuk-radios" id="id_decision">' in html
    assert 'class="govuk-label govuk-radios__label" for="id_decision_2">Refuse</label>' in html


def test_a_refused_decision_points_the_radio_groups_fieldset_at_its_message(
    registrar_client, files
) -> None:
    response = registrar_client.post("/manage/registrar/requested/decide/", {})
    html = response.content.decode()
    check(html)
    assert '<fieldset class="govuk-fieldset" aria-describedby="id_decision_error">' in html
    assert '<a href="#id_decision">' in html


def test_the_amount_field_is_a_short_decimal_box_after_a_euro_sign():
    html = str(SponsorForm()["amount_eur"])
    assert 'class="govuk-input govuk-input--width-10"' in html
    assert 'inputmode="decimal"' in html and 'type="text"' in html
    # What a number box would have sent empty comes back as typed, with a reason.
    form = SponsorForm({"name": "Fund", "amount_eur": "12 euro", "received_on": "2026-01-01"})
    assert not form.is_valid() and "amount_eur" in form.errors
    assert 'value="12 euro"' in str(form["amount_eur"])
    assert "govuk-input--error" in str(form["amount_eur"])


@pytest.mark.parametrize(
    ("language", "typed", "amount"),
    [("pl", "1250,50", "1250.50"), ("pl", "1250.50", "1250.50"), ("en", "1250.50", "1250.50")],
)
def test_the_amount_takes_the_decimal_separator_of_the_pages_language(
    language: str, typed: str, amount: str
) -> None:
    with translation.override(language):
        form = SponsorForm({"name": "Fund", "amount_eur": typed, "received_on": "2026-01-01"})
        assert form.is_valid(), form.errors
    assert form.cleaned_data["amount_eur"] == Decimal(amount)


def test_a_comma_is_not_a_decimal_separator_on_an_english_page() -> None:
    with translation.override("en"):
        form = SponsorForm({"name": "Fund", "amount_eur": "12,5", "received_on": "2026-01-01"})
        assert not form.is_valid()
    assert "amount_eur" in form.errors


def test_the_dashboard_draws_the_amount_with_its_euro_prefix(
    signed_in, organiser_alice, today
) -> None:
    make_initiative("collecting-one", organiser=organiser_alice)
    Initiative.objects.filter(slug="collecting-one").update(
        status=Status.COLLECTING, **registered_fields(today)
    )
    client = signed_in(organiser_alice)
    html = client.get("/manage/initiatives/collecting-one/").content.decode()
    assert '<div class="govuk-input__prefix" aria-hidden="true">€</div>' in html
    with translation.override("pl"):
        response = client.post(
            "/manage/initiatives/collecting-one/sponsors/",
            {"name": "Fundacja", "amount_eur": "1250,50", "received_on": today.isoformat()},
            headers={"accept-language": "pl"},
        )
    assert response.status_code == 302, response.content.decode()[:500]
    assert Sponsor.objects.get(name="Fundacja").amount_eur == Decimal("1250.50")


def test_the_draft_lets_the_browser_offer_the_organisers_own_name_but_not_in_an_invitation():
    assert 'autocomplete="name"' in str(DraftForm()["full_name"])
    assert 'autocomplete="off"' in str(InviteForm()["full_name"])
    assert 'autocomplete="off"' in str(InviteForm()["email"])
