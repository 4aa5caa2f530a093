from __future__ import annotations

import re
from datetime import date

import pytest

from quorum.initiatives.models import Initiative
from quorum.initiatives.services import initiative_create

pytestmark = pytest.mark.django_db


def _thresholds(html: str) -> dict[str, str]:
    rows = re.findall(
        r'<th scope="row"[^>]*>([^<]+)</th>\s*<td[^>]*>\d+</td>\s*<td[^>]*>([^<]+)</td>',
        html,
    )
    return dict(rows)


def test_the_register_lists_public_initiatives_and_hides_drafts(
    client, collecting_initiative
) -> None:
    initiative_create(
        slug="secret-draft", title={"en": "A draft"}, objectives={"en": "x"}, language="en"
    )
    html = client.get("/").content.decode()
    assert "Clean air for everyone" in html
    assert "A draft" not in html


def test_an_initiative_page_shows_its_text_and_the_thresholds_of_its_registration_date(
    client, collecting_initiative
) -> None:
    html = client.get("/i/clean-air/").content.decode()
    assert "We ask for cleaner air." in html
    thresholds = _thresholds(html)
    assert len(thresholds) == 27
    assert thresholds["Germany"] == "69,120"
    assert thresholds["Malta"] == "4,320"


def test_an_initiative_registered_in_2022_keeps_the_705_seat_thresholds(client) -> None:
    initiative_create(
        slug="older",
        title={"en": "Older initiative"},
        objectives={"en": "x"},
        language="en",
        status=Initiative.Status.REGISTERED,
        registration_date=date(2022, 1, 1),
    )
    thresholds = _thresholds(client.get("/i/older/").content.decode())
    assert thresholds["Germany"] == "67,680"


def test_the_page_follows_the_readers_language(client, collecting_initiative) -> None:
    html = client.get("/i/clean-air/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert '<html lang="de"' in html
    assert "Saubere Luft für alle" in html
    assert "Deutschland" in _thresholds(html)
    assert _thresholds(html)["Deutschland"] == "69.120"


def test_a_language_without_a_translation_falls_back_to_the_organisers_text(
    client, collecting_initiative
) -> None:
    html = client.get("/i/clean-air/", HTTP_ACCEPT_LANGUAGE="pl").content.decode()
    assert "Clean air for everyone" in html
    assert 'lang="en"' in html


@pytest.mark.parametrize("slug", ["missing", "secret-draft"])
def test_unknown_and_draft_initiatives_are_not_found(client, slug: str) -> None:
    initiative_create(
        slug="secret-draft", title={"en": "A draft"}, objectives={"en": "x"}, language="en"
    )
    assert client.get(f"/i/{slug}/").status_code == 404


def test_the_register_can_be_searched_and_filtered(client, collecting_initiative) -> None:
    assert "Clean air" in client.get("/", {"q": "air"}).content.decode()
    assert "Clean air" not in client.get("/", {"q": "unrelated"}).content.decode()
    assert "Clean air" not in client.get("/", {"status": "answered"}).content.decode()
    assert (
        "Clean air" in client.get("/", {"status": "bogus"}).content.decode()
    )  # ignored, not an error


def test_the_page_shows_sponsors_deadlines_ahead_and_a_timeline_without_staff(
    client, collecting_initiative
) -> None:
    from decimal import Decimal

    from django.contrib.auth.models import User

    from quorum.initiatives.services import sponsor_add

    staff = User.objects.create_user("registrar-jane", first_name="Jane", last_name="Registrar")
    sponsor_add(
        initiative=collecting_initiative,
        name="Clean Air Foundation",
        amount_eur=Decimal("2500"),
        received_on=date(2025, 2, 1),
        actor=staff,
    )
    html = client.get("/i/clean-air/").content.decode()
    assert "Clean Air Foundation" in html and "2,500.00" in html
    assert "End of collection" in html
    assert "Sponsor declared" in html
    assert "registrar-jane" not in html and "Jane" not in html


def test_a_draft_withdrawn_before_asking_for_registration_stays_private(client) -> None:
    from quorum.initiatives.services import initiative_withdraw

    draft = initiative_create(
        slug="second-thoughts",
        title={"en": "Second thoughts"},
        objectives={"en": "x"},
        language="en",
    )
    initiative_withdraw(initiative=draft)
    assert "Second thoughts" not in client.get("/").content.decode()
    assert client.get("/i/second-thoughts/").status_code == 404
    assert client.get("/api/v1/initiatives/second-thoughts").status_code == 404


def test_the_page_names_the_confirmed_organisers_as_the_register_does_and_no_address(
    client, collecting_initiative
) -> None:
    from django.utils import timezone

    from quorum.initiatives.models import OrganiserMember

    def member(name: str, role: str, residence: str, *, confirmed: bool = True) -> None:
        OrganiserMember.objects.create(
            initiative=collecting_initiative,
            full_name=name,
            email=f"{name.split()[0].lower()}.canary@example.org",
            nationality=residence,
            residence=residence,
            role=role,
            confirmed_at=timezone.now() if confirmed else None,
        )

    member("Zeno Member", "member", "IT")
    member("Anna Representative", "representative", "DE")
    member("Pending Invitee", "member", "FR", confirmed=False)
    member("Bruno Substitute", "substitute", "BE")
    html = client.get("/i/clean-air/").content.decode()
    table = html.split('id="organisers"', 1)[1].split("</table>", 1)[0]
    names = re.findall(r'<th scope="row"[^>]*>([^<]+)</th>', table)
    assert names == ["Anna Representative", "Bruno Substitute", "Zeno Member"]
    assert "Germany" in table and "Representative" in table and "Italy" in table
    assert "Pending Invitee" not in html, "an invitation not yet confirmed is not public"
    assert "canary@example.org" not in html
    german = client.get("/i/clean-air/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Deutschland" in german.split('id="organisers"', 1)[1].split("</table>", 1)[0]


@pytest.mark.parametrize(
    ("query", "sign"),
    [
        ("?via=edri", "/i/clean-air/sign/?via=edri"),
        ("?via=EDRI", "/i/clean-air/sign/?via=edri"),
        ("?via=unknown", "/i/clean-air/sign/"),
        ("?via=edri%0A%3Cb%3E", "/i/clean-air/sign/"),
        ("?via=" + "x" * 5000, "/i/clean-air/sign/"),
        ("", "/i/clean-air/sign/"),
    ],
)
def test_a_partners_link_to_the_initiative_page_is_kept_by_its_sign_button(
    client, collecting_initiative, query: str, sign: str
) -> None:
    from quorum.initiatives.services import partner_add

    partner_add(initiative=collecting_initiative, code="edri", name="EDRi")
    response = client.get("/i/clean-air/" + query)
    assert response.status_code == 200
    buttons = re.findall(
        r'class="govuk-button govuk-button--start" href="([^"]+)"', response.content.decode()
    )
    assert buttons == [sign]


def test_the_page_of_a_collecting_initiative_links_the_paper_form_of_every_member_state(
    client, collecting_initiative
) -> None:
    from quorum.initiatives.services import partner_add

    partner_add(initiative=collecting_initiative, code="edri", name="EDRi")
    html = client.get("/i/clean-air/?via=edri", HTTP_ACCEPT_LANGUAGE="el").content.decode()
    links = re.findall(r'href="(/i/clean-air/paper/[^"]+)" type="application/pdf"', html)
    assert len(links) == 27
    assert "/i/clean-air/paper/gr.pdf?lang=el&amp;via=edri" in links or (
        "/i/clean-air/paper/el.pdf?lang=el&amp;via=edri" in links
    )
    plain = client.get("/i/clean-air/").content.decode()
    assert 'href="/i/clean-air/paper/pl.pdf?lang=en" type="application/pdf"' in plain


def test_a_registered_initiative_not_yet_collecting_links_no_paper_form(client, today) -> None:
    initiative_create(
        slug="soon",
        title={"en": "Soon"},
        objectives={"en": "x"},
        language="en",
        status=Initiative.Status.REGISTERED,
        registration_number="ECI(2025)000008",
        registration_date=date(2025, 1, 15),
    )
    assert 'id="paper-forms"' not in client.get("/i/soon/").content.decode()
