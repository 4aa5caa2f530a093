"""Organisers and authorities find where to sign in from the public header, in their language."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

LINK = '<a class="sign-in-link" href="/account/login/">{}</a>'
TEXTS = {
    "en": "Sign in for organisers and authorities",
    "de": "Anmeldung für Organisatoren und Behörden",
    "el": "Σύνδεση για διοργανωτές και αρχές",
    "bg": "Вход за организатори и органи",
    "fr": "Connexion des organisateurs et des autorités",
}


@pytest.mark.parametrize("language", sorted(TEXTS))
def test_the_initiative_page_links_the_back_office_sign_in_in_the_readers_language(
    collecting_initiative, language: str
) -> None:
    response = Client().get("/i/clean-air/", HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 200
    assert LINK.format(TEXTS[language]) in response.content.decode()


def test_the_link_leads_to_the_sign_in_form(collecting_initiative) -> None:
    response = Client().get("/account/login/")
    assert response.status_code == 200
    assert 'name="password"' in response.content.decode()


def test_a_signed_in_organiser_sees_their_account_instead(
    collecting_initiative, organiser_alice, login
) -> None:
    client = Client()
    login(client, organiser_alice)

    page = client.get("/i/clean-air/").content.decode()

    assert 'class="sign-in-link"' not in page
    assert "Sign out" in page


def test_the_link_sets_no_cookie_on_the_public_page(collecting_initiative) -> None:
    response = Client().get("/i/clean-air/")
    assert not response.cookies
