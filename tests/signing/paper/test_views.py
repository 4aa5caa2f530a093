"""``GET /i/<slug>/paper/<ms>.pdf``: the form for anyone, 404 for what has none, never a 500."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quorum.initiatives.models import Initiative

pytestmark = pytest.mark.django_db

FORM = "/i/clean-air/paper/{}.pdf"


@pytest.fixture(autouse=True)
def _base_url(settings, base_url) -> None:
    settings.QUORUM_BASE_URL = base_url


def test_the_form_is_a_pdf_named_after_initiative_state_and_language(
    client, with_partner, read_pdf, base_url
) -> None:
    answer = client.get(FORM.format("el"), {"lang": "el", "via": "edri"})
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/pdf"
    assert answer["Content-Disposition"] == 'inline; filename="clean-air-el-el.pdf"'
    assert answer["Content-Language"] == "el"
    assert "public" in answer["Cache-Control"] and "max-age=3600" in answer["Cache-Control"]
    form = read_pdf(answer.content)
    assert form.pages == 2 and form.says("ECI(2025)000007") and form.says("Ελλάδα")
    assert form.codes == [f"{base_url}/i/clean-air/sign/el/?via=edri"]


def test_an_unknown_partner_is_left_out_of_the_code(client, with_partner, read_pdf, base_url):
    answer = client.get(FORM.format("pl"), {"lang": "pl", "via": "nobody"})
    assert read_pdf(answer.content).codes == [f"{base_url}/i/clean-air/sign/pl/"]


def test_the_addresses_come_from_the_settings_not_from_the_host(
    client, collecting_initiative, read_pdf, base_url
) -> None:
    answer = client.get(FORM.format("de"), {"lang": "de"}, HTTP_HOST="localhost")
    assert read_pdf(answer.content).codes == [f"{base_url}/i/clean-air/sign/de/"]


def test_without_a_language_in_the_address_the_readers_own_is_used_privately(
    client, collecting_initiative, read_pdf
) -> None:
    for query in ({}, {"lang": "xx"}, {"lang": ""}):
        answer = client.get(FORM.format("bg"), query, HTTP_ACCEPT_LANGUAGE="bg")
        assert answer.status_code == 200
        assert answer["Content-Disposition"] == 'inline; filename="clean-air-bg-bg.pdf"'
        assert answer["Cache-Control"].startswith("private")
        assert read_pdf(answer.content).says("България")


def test_an_unchanged_form_is_confirmed_without_a_body(client, collecting_initiative) -> None:
    first = client.get(FORM.format("fi"), {"lang": "fi"})
    again = client.get(FORM.format("fi"), {"lang": "fi"}, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b""


@pytest.mark.parametrize("state", ["xx", "uk", "DE", "De", "d", "de.x", "%00", "deu"])
def test_an_unknown_member_state_is_not_found(client, collecting_initiative, state) -> None:
    assert client.get(FORM.format(state), {"lang": "en"}).status_code == 404


def test_an_unknown_initiative_is_not_found(client, collecting_initiative) -> None:
    assert client.get("/i/no-such/paper/de.pdf").status_code == 404


@pytest.mark.parametrize(
    "status",
    [Initiative.Status.DRAFT, Initiative.Status.COLLECTION_CLOSED, Initiative.Status.WITHDRAWN],
)
def test_no_form_for_a_draft_or_a_closed_collection(client, collecting_initiative, status) -> None:
    collecting_initiative.status = status
    collecting_initiative.save()
    answer = client.get(FORM.format("de"), HTTP_ACCEPT_LANGUAGE="de")
    assert answer.status_code == 404
    assert answer["Content-Type"].startswith("text/html")


def test_after_the_end_of_collection_the_page_says_why_in_the_readers_language(
    client, collecting_initiative, today
) -> None:
    collecting_initiative.collection_end = today - timedelta(days=1)
    collecting_initiative.save()
    answer = client.get(FORM.format("de"), {"lang": "fr"}, HTTP_ACCEPT_LANGUAGE="de")
    assert answer.status_code == 404
    assert "Für diese Initiative werden keine Unterstützungsbekundungen" in answer.content.decode()


def test_a_registered_initiative_with_its_dates_has_forms_before_collection_starts(
    client, collecting_initiative, today
) -> None:
    collecting_initiative.status = Initiative.Status.REGISTERED
    collecting_initiative.collection_start = today + timedelta(days=20)
    collecting_initiative.collection_end = today + timedelta(days=385)
    collecting_initiative.save()
    assert client.get(FORM.format("lu"), {"lang": "fr"}).status_code == 200


def test_only_reading_is_allowed(client, collecting_initiative) -> None:
    assert client.post(FORM.format("de"), {"lang": "en"}).status_code == 405
    assert client.head(FORM.format("de"), {"lang": "en"}).status_code == 200


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lang=st.text(max_size=40), via=st.text(max_size=80))
def test_no_query_gives_a_500(client, collecting_initiative, lang: str, via: str) -> None:
    answer = client.get(FORM.format("cy"), {"lang": lang, "via": via})
    assert answer.status_code == 200 and answer["Content-Type"] == "application/pdf"


def test_a_crowd_asking_for_one_form_in_any_disguise_costs_one_drawing(
    client, with_partner, monkeypatch
) -> None:
    from quorum.signing.paper import views

    drawn: list[tuple[str, str]] = []
    real = views.paper_form_pdf

    def counted(initiative, code, **options):
        drawn.append((code, options["via"]))
        return real(initiative, code, **options)

    monkeypatch.setattr(views, "paper_form_pdf", counted)
    bodies = {
        client.get(f"/i/clean-air/paper/pl.pdf?lang=pl&via={via}").content
        for via in ["", "unknown", "x" * 300, "%00", "nobody", "EDRI ", "edri"]
    }
    assert drawn == [("PL", ""), ("PL", "edri")]
    assert len(bodies) == 2
