"""Control characters never enter an initiative: not through the services, not by command."""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quorum.core.text import CONTROL_CHARACTERS_MESSAGE
from quorum.initiatives.models import Initiative, OrganiserMember, Sponsor
from quorum.initiatives.services import (
    InvalidRequest,
    initiative_add_translation,
    initiative_create,
    initiative_decide_registration,
    initiative_record_extension,
    organiser_invite,
    sponsor_add,
)

pytestmark = pytest.mark.django_db

SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
REFUSED = str(CONTROL_CHARACTERS_MESSAGE)

# A control character somewhere inside text that starts and ends with a letter, so that no
# door could drop it by stripping white space.
_part = st.text(max_size=20)
with_control = st.tuples(_part, st.characters(categories=["Cc"]), _part).map(
    lambda parts: f"T{''.join(parts)}t"
)
# In paragraphs, line feed and tab are text; every other control character is refused.
paragraphs_with_control = st.tuples(
    _part, st.characters(categories=["Cc"], exclude_characters="\t\n\r"), _part
).map(lambda parts: f"T{''.join(parts)}t")


def reasons(error: InvalidRequest, field: str) -> list[str]:
    return [str(reason) for reason in error.errors.get(field, [])]


@pytest.fixture
def draft() -> Initiative:
    return initiative_create(
        slug="open-data", title={"en": "Open data"}, objectives={"en": "Open it."}, language="en"
    )


@SETTINGS
@given(title=with_control)
def test_the_service_refuses_a_title_with_a_control_character(title: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        initiative_create(
            slug="clean-air", title={"en": title}, objectives={"en": "Clean air."}, language="en"
        )
    assert REFUSED in reasons(refused.value, "title")
    assert not Initiative.objects.exists()


@SETTINGS
@given(objectives=paragraphs_with_control, other_language_title=with_control)
def test_the_service_refuses_control_characters_in_paragraphs_and_in_every_language(
    objectives: str, other_language_title: str
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        initiative_create(
            slug="clean-air",
            title={"en": "Clean air", "de": other_language_title},
            objectives={"en": objectives},
            language="en",
        )
    assert REFUSED in reasons(refused.value, "objectives")
    assert REFUSED in reasons(refused.value, "title")
    assert not Initiative.objects.exists()


def test_paragraphs_keep_their_line_breaks_and_tabs() -> None:
    initiative = initiative_create(
        slug="clean-air",
        title={"en": "Clean air"},
        objectives={"en": "We ask:\r\n\t1. cleaner air;\n\t2. fewer cars."},
        annex={"en": "First.\n\nSecond."},
        language="en",
    )
    assert initiative.objectives["en"] == "We ask:\r\n\t1. cleaner air;\n\t2. fewer cars."


@SETTINGS
@given(title=with_control, objectives=paragraphs_with_control)
def test_the_service_refuses_a_translation_with_control_characters(
    draft: Initiative, title: str, objectives: str
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        initiative_add_translation(
            initiative=draft, language="de", title=title, objectives=objectives
        )
    assert REFUSED in reasons(refused.value, "title")
    assert REFUSED in reasons(refused.value, "objectives")
    draft.refresh_from_db()
    assert draft.title == {"en": "Open data"}


def test_a_right_to_left_override_is_refused_in_a_title_and_kept_in_objectives() -> None:
    # An unterminated override in a title reverses whatever is printed after it.
    with pytest.raises(InvalidRequest) as refused:
        initiative_create(
            slug="clean-air",
            title={"en": "Clean air\u202e"},
            objectives={"en": "Quoted: \u202bשלום\u202c."},
            language="en",
        )
    assert reasons(refused.value, "title") == [REFUSED]
    assert "objectives" not in refused.value.errors


def test_the_other_services_that_take_text_refuse_control_characters(
    draft: Initiative, today: date
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        organiser_invite(
            initiative=draft,
            full_name="Anna\x1b[8m Schmidt",
            email='"a\x07"@example.eu',
            nationality="DE",
            residence="DE",
        )
    assert reasons(refused.value, "full_name") == [REFUSED]
    assert reasons(refused.value, "email") == [REFUSED]
    assert not OrganiserMember.objects.exists()

    with pytest.raises(InvalidRequest) as refused:
        sponsor_add(initiative=draft, name="Fund\x00", amount_eur=1000, received_on=today)
    assert reasons(refused.value, "name") == [REFUSED]
    assert not Sponsor.objects.exists()

    Initiative.objects.filter(pk=draft.pk).update(status=Initiative.Status.REGISTRATION_REQUESTED)
    draft.refresh_from_db()
    with pytest.raises(InvalidRequest) as refused:
        initiative_decide_registration(
            initiative=draft,
            decision="refused",
            reasons="Outside the\x1b[2J powers.",
        )
    assert reasons(refused.value, "reasons") == [REFUSED]
    with pytest.raises(InvalidRequest) as refused:
        initiative_decide_registration(
            initiative=draft, decision="registered", registration_number="ECI(2026)\x1b000001"
        )
    assert reasons(refused.value, "registration_number") == [REFUSED]
    draft.refresh_from_db()
    assert draft.status == Initiative.Status.REGISTRATION_REQUESTED

    Initiative.objects.filter(pk=draft.pk).update(
        status=Initiative.Status.COLLECTING,
        collection_start=date(2026, 1, 1),
        collection_end=date(2027, 1, 1),
    )
    draft.refresh_from_db()
    with pytest.raises(InvalidRequest) as refused:
        initiative_record_extension(
            initiative=draft, new_end=date(2027, 6, 1), legal_basis="Regulation\x85 2020/1042"
        )
    assert reasons(refused.value, "legal_basis") == [REFUSED]
    draft.refresh_from_db()
    assert draft.collection_end == date(2027, 1, 1)


def run(*args: str) -> str:
    out = StringIO()
    call_command("initiative", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@SETTINGS
@given(title=with_control)
def test_the_command_refuses_a_title_with_a_control_character(title: str) -> None:
    with pytest.raises(CommandError, match="Remove control characters"):
        run("create", "clean-air", "--language", "en", "--title", title, "--objectives", "x")
    assert not Initiative.objects.exists()


@SETTINGS
@given(title=with_control, objectives=paragraphs_with_control)
def test_the_command_refuses_a_translation_with_control_characters(
    draft: Initiative, title: str, objectives: str
) -> None:
    with pytest.raises(CommandError, match="Remove control characters"):
        run("translate", "open-data", "--language", "de", "--title", title, "--objectives", "x")
    with pytest.raises(CommandError, match="Remove control characters"):
        run(
            "translate", "open-data", "--language", "de", "--title", "T", "--objectives", objectives
        )
    draft.refresh_from_db()
    assert draft.title == {"en": "Open data"}


def test_the_command_keeps_line_breaks_in_objectives() -> None:
    assert run(
        "create",
        "clean-air",
        "--language",
        "en",
        "--title",
        "Clean air",
        "--objectives",
        "First.\nSecond.",
    ).strip() == ("clean-air: draft")
    assert Initiative.objects.get().objectives == {"en": "First.\nSecond."}
