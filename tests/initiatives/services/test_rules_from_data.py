"""The Annex II text limits and the announcement rule of Art. 8(1) come from the scheme's data.

Each test loads the ECI data with one value changed and shows that the services accept and
refuse by that value, and say it: no limit is a constant of the code.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import translation

from quorum.initiatives import services
from quorum.initiatives.models import Initiative
from quorum.rules import Scheme, add_working_days, scheme
from quorum.rules.loader import data_path, parse_scheme

pytestmark = pytest.mark.django_db
Status = Initiative.Status
TODAY = date(2026, 3, 2)  # a Monday

Change = Callable[[dict[str, Any]], None]


@pytest.fixture
def eci_with(monkeypatch: pytest.MonkeyPatch) -> Callable[[Change], Scheme]:
    """Make ``scheme("eci")`` answer from the packaged data with ``change`` applied."""
    # The package exports a function named like its module: fetch the module itself.
    module = importlib.import_module("quorum.rules.scheme")
    original = module._scheme

    def use(change: Change) -> Scheme:
        raw = json.loads(data_path("eci").read_text(encoding="utf-8"))
        change(raw)
        rules = Scheme(parse_scheme(raw, origin="changed-eci.json"))
        monkeypatch.setattr(
            module, "_scheme", lambda code: rules if code == "eci" else original(code)
        )
        assert scheme("eci") is rules
        return rules

    return use


def limit(name: str, max_characters: int, *, spaces_count: bool) -> Change:
    def change(raw: dict[str, Any]) -> None:
        raw["annex_ii"][name]["max_characters"] = max_characters
        raw["annex_ii"][name]["spaces_count"] = spaces_count

    return change


def announcement(working_days: int) -> Change:
    def change(raw: dict[str, Any]) -> None:
        raw["deadlines"]["start_announcement"]["working_days"] = working_days

    return change


def create(
    slug: str,
    *,
    title: str = "A title",
    objectives: str = "Objectives.",
    annex: str = "",
    **fields: Any,
) -> Initiative:
    return services.initiative_create(
        slug=slug,
        title={"en": title},
        objectives={"en": objectives},
        annex={"en": annex} if annex else None,
        language="en",
        **fields,
    )


def refusal(call: Callable[[], object]) -> dict[str, list[Any]]:
    with pytest.raises(services.InvalidRequest) as refused:
        call()
    return {field: [str(m) for m in messages] for field, messages in refused.value.errors.items()}


# --- Annex II --------------------------------------------------------------------------------


def test_the_eci_limits_read_as_before() -> None:
    errors = refusal(
        lambda: create("long", title="x" * 101, objectives="y" * 1101, annex="z" * 5001)
    )
    assert errors == {
        "title": ["The title may have at most 100 characters."],
        "objectives": ["The objectives may have at most 1,100 characters, not counting spaces."],
        "annex": ["The annex may have at most 5,000 characters, not counting spaces."],
    }
    assert create("fits", title="x" * 100, objectives="y" * 1100, annex="z" * 5000)


def test_the_limits_are_written_as_numbers_are_in_the_readers_language() -> None:
    with translation.override("de"):
        errors = refusal(lambda: create("long", objectives="y" * 1101))
    assert "1.100" in errors["objectives"][0]


def test_a_title_limit_in_the_data_is_the_limit_the_service_keeps(eci_with) -> None:
    eci_with(limit("title", 20, spaces_count=True))
    assert refusal(lambda: create("long", title="x" * 21)) == {
        "title": ["The title may have at most 20 characters."]
    }
    assert refusal(lambda: create("spaced", title="x" * 10 + " " + "x" * 10)) == {
        "title": ["The title may have at most 20 characters."]
    }
    assert create("fits", title="x" * 20)


def test_a_limit_without_spaces_in_the_data_does_not_count_them(eci_with) -> None:
    eci_with(limit("title", 20, spaces_count=False))
    assert create("spaced", title="x" * 10 + "     " + "x" * 10)
    assert refusal(lambda: create("long", title="x" * 21)) == {
        "title": ["The title may have at most 20 characters, not counting spaces."]
    }


def test_the_objectives_and_annex_limits_in_the_data_are_kept(eci_with) -> None:
    def change(raw: dict[str, Any]) -> None:
        limit("objectives", 30, spaces_count=True)(raw)
        limit("annex", 1, spaces_count=False)(raw)

    eci_with(change)
    assert refusal(lambda: create("long", objectives="y" * 15 + " " * 16, annex="z z")) == {
        "objectives": ["The objectives may have at most 30 characters."],
        "annex": ["The annex may have at most 1 character, not counting spaces."],
    }
    assert create("fits", objectives="y" * 30, annex=" z ")


def test_a_translation_and_a_registration_request_keep_the_limits_of_the_data(eci_with) -> None:
    initiative = create("clean-air")
    eci_with(limit("title", 5, spaces_count=True))
    assert refusal(
        lambda: services.initiative_add_translation(
            initiative=initiative, language="de", title="Saubere Luft", objectives="Ja."
        )
    )["title"] == ["The title may have at most 5 characters."]
    errors = refusal(lambda: services.initiative_request_registration(initiative=initiative))
    assert errors["title"] == ["The title may have at most 5 characters."]


def test_the_draft_page_states_the_limits_of_the_data(eci_with) -> None:
    eci_with(limit("annex", 2500, spaces_count=False))
    assert services.draft_text_limits() == [
        "The title may have at most 100 characters.",
        "The objectives may have at most 1,100 characters, not counting spaces.",
        "The annex may have at most 2,500 characters, not counting spaces.",
    ]


# --- Art. 8(1): announced some working days ahead ----------------------------------------------


def registered(slug: str) -> Initiative:
    return create(slug, status=Status.REGISTERED, registration_date=date(2026, 1, 31))


def test_the_start_is_announced_as_many_working_days_ahead_as_the_data_says(eci_with) -> None:
    eci_with(announcement(3))
    initiative = registered("open-data")
    errors = refusal(
        lambda: services.initiative_set_collection_start(
            initiative=initiative, start=add_working_days(TODAY, 3) - timedelta(days=1), today=TODAY
        )
    )
    assert errors == {"start": ["The start must be announced at least 3 working days ahead."]}
    # Ten working days under the ECI's own data, three here.
    initiative = services.initiative_set_collection_start(
        initiative=initiative, start=add_working_days(TODAY, 3), today=TODAY
    )
    assert initiative.collection_start == date(2026, 3, 5)


def test_one_working_day_is_said_in_the_singular(eci_with) -> None:
    eci_with(announcement(1))
    initiative = registered("open-data")
    errors = refusal(
        lambda: services.initiative_set_collection_start(
            initiative=initiative, start=TODAY, today=TODAY
        )
    )
    assert errors == {"start": ["The start must be announced at least 1 working day ahead."]}


def test_an_earlier_end_is_announced_as_many_working_days_ahead_as_the_data_says(
    eci_with,
) -> None:
    eci_with(announcement(3))
    initiative = create(
        "open-data",
        status=Status.COLLECTING,
        registration_date=date(2026, 1, 31),
        collection_start=date(2026, 2, 2),
        collection_end=date(2027, 2, 2),
    )
    errors = refusal(
        lambda: services.initiative_stop_collection(
            initiative=initiative, end=add_working_days(TODAY, 2), today=TODAY
        )
    )
    assert errors == {"end": ["An earlier end must be announced at least 3 working days ahead."]}
    initiative = services.initiative_stop_collection(initiative=initiative, today=TODAY)
    assert initiative.collection_end == add_working_days(TODAY, 3) == date(2026, 3, 5)
