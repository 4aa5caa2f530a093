"""The registrar's and the authorities' pages: CSP-safe, labelled, error links that land."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from quorum.initiatives.models import Initiative

from .conftest import make_initiative, registered_fields

pytestmark = pytest.mark.django_db

Status = Initiative.Status


class Page(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.label_for: set[str] = set()
        self.controls: list[tuple[str, str]] = []  # (tag, id) of fields a person fills in
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
        kind = a.get("type", "")
        if tag in ("select", "textarea") or (
            tag == "input" and kind not in ("hidden", "submit", "button")
        ):
            self.controls.append((kind or tag, a.get("id") or ""))
            if kind == "radio" and self.fieldsets and "legend" in self.fieldsets[-1]:
                self.in_fieldset_with_legend.add(a.get("id") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "fieldset" and self.fieldsets:
            self.fieldsets.pop()


def check(html: str) -> Page:
    page = Page(html)
    assert page.inline == [], "inline script, style or event handler"
    for kind, control_id in page.controls:
        assert control_id, f"a {kind} without an id"
        assert control_id in page.label_for, f"no label for #{control_id}"
        if kind == "radio":
            assert control_id in page.in_fieldset_with_legend
    for target in page.fragment_links:
        assert target in page.ids, f"a link to #{target}, which is not on the page"
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
