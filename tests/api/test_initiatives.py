from __future__ import annotations

import pytest

from quorum.initiatives.services import initiative_create

pytestmark = pytest.mark.django_db


def test_the_register_lists_public_initiatives_with_dates_and_deadlines(
    client, collecting_initiative
) -> None:
    initiative_create(slug="a-draft", title={"en": "Draft"}, objectives={"en": "x"}, language="en")
    body = client.get("/api/v1/initiatives").json()
    assert [i["slug"] for i in body] == ["clean-air"]
    entry = body[0]
    assert entry["status"] == "collecting"
    assert entry["registration_date"] == "2025-01-15"
    assert entry["collection_end"] == collecting_initiative.collection_end.isoformat()
    assert entry["deadlines"]["latest_collection_start"] == "2025-07-15"
    assert "retention_end" in entry["deadlines"]


def test_one_initiative_in_the_readers_language(client, collecting_initiative) -> None:
    body = client.get("/api/v1/initiatives/clean-air", HTTP_ACCEPT_LANGUAGE="de").json()
    assert body["title"] == "Saubere Luft für alle"
    assert body["title_translations"]["fr"] == "De l'air pur pour tous"
    assert set(body) >= {
        "status",
        "registration_date",
        "collection_start",
        "collection_end",
        "deadlines",
    }


def test_search_and_filter(client, collecting_initiative) -> None:
    assert [i["slug"] for i in client.get("/api/v1/initiatives", {"q": "air"}).json()] == [
        "clean-air"
    ]
    assert client.get("/api/v1/initiatives", {"q": "nothing-like-it"}).json() == []
    assert client.get("/api/v1/initiatives", {"status": "answered"}).json() == []


def test_drafts_and_unknown_initiatives_are_not_found(client) -> None:
    initiative_create(slug="a-draft", title={"en": "Draft"}, objectives={"en": "x"}, language="en")
    assert client.get("/api/v1/initiatives/a-draft").status_code == 404
    assert client.get("/api/v1/initiatives/missing").status_code == 404
