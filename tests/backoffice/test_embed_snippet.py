"""The embed snippet an organiser copies is one inert iframe, whatever the title says, in the
language the organiser chose for the counter."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest
from django.conf import settings as django_settings
from hypothesis import given, settings
from hypothesis import strategies as st

from quorum.backoffice.organiser import embed_language_choice
from quorum.initiatives.models import Initiative

from .conftest import make_initiative, registered_fields

# Breaks out of the attribute, then of the element, then tries a script and a second frame.
HOSTILE_TITLE = 'Air" onload="alert(1)"><script>alert(2)</script><iframe src=\'//evil.example\''
DASHBOARD = "/manage/initiatives/clean-air/"
LANGUAGES = [code for code, _ in django_settings.LANGUAGES]


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.started: list[tuple[str, dict[str, str | None]]] = []
        self.ended: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.started.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        self.ended.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def snippet_of(page: str) -> str:
    """What the organiser copies: the text area's value, unescaped as a browser shows it."""
    shown = re.search(r'<textarea[^>]*\bid="embed-snippet"[^>]*>(.*?)</textarea>', page, re.S)
    assert shown is not None, "no embed snippet on the dashboard"
    return html.unescape(shown.group(1))


def parsed(snippet: str) -> Elements:
    elements = Elements()
    elements.feed(snippet)
    elements.close()
    return elements


@pytest.fixture
def collecting_initiative(organiser_alice, today, data_dir) -> Initiative:
    return make_initiative(
        "clean-air",
        organiser=organiser_alice,
        status=Initiative.Status.COLLECTING,
        **registered_fields(today),
    )


@pytest.mark.django_db
def test_a_title_with_quotes_and_markup_gives_exactly_one_iframe_and_no_script(
    organiser_alice, signed_in, today, data_dir
) -> None:
    make_initiative(
        "clean-air",
        organiser=organiser_alice,
        status=Initiative.Status.COLLECTING,
        title=HOSTILE_TITLE,
        **registered_fields(today),
    )
    page = signed_in(organiser_alice).get(DASHBOARD).content.decode()
    elements = parsed(snippet_of(page))

    assert elements.started == [
        (
            "iframe",
            {
                "src": "http://testserver/i/clean-air/counter/",
                "title": HOSTILE_TITLE,
                "width": "100%",
                "height": "200",
                "loading": "lazy",
                "style": "max-width: 480px; border: 0",
            },
        )
    ]
    assert elements.ended == ["iframe"]
    assert "".join(elements.text) == ""
    assert "<script>alert(2)" not in page


@pytest.mark.django_db
def test_the_dashboard_offers_every_language_for_the_counter_and_each_visitors_own_first(
    collecting_initiative, organiser_alice, signed_in
) -> None:
    page = signed_in(organiser_alice).get(DASHBOARD).content.decode()
    select = re.search(r'<select[^>]*name="embed_language"[^>]*>(.*?)</select>', page, re.S)
    assert select is not None
    values = re.findall(r'<option value="([^"]*)"', select.group(1))

    assert values == ["", *LANGUAGES]
    assert re.search(r'<option value=""\s+selected>', select.group(1))


@pytest.mark.django_db
def test_choosing_a_language_puts_it_into_the_counters_address_and_the_preview(
    collecting_initiative, organiser_alice, signed_in
) -> None:
    page = signed_in(organiser_alice).get(DASHBOARD, {"embed_language": "el"}).content.decode()
    (_iframe, attributes), *_ = parsed(snippet_of(page)).started

    assert attributes["src"] == "http://testserver/i/clean-air/counter/?lang=el"
    assert '<option value="el" lang="el" selected>' in page
    assert 'class="quorum-embed-preview" src="/i/clean-air/counter/?lang=el"' in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    "typed", ["xx", "EN-gb", "<script>", "d\u0000e", "de" * 500, "", " "], ids=repr
)
def test_a_language_that_is_not_one_of_the_sites_gives_the_snippet_for_each_visitor(
    collecting_initiative, organiser_alice, signed_in, typed
) -> None:
    response = signed_in(organiser_alice).get(DASHBOARD, {"embed_language": typed})

    assert response.status_code == 200
    (_iframe, attributes), *_ = parsed(snippet_of(response.content.decode())).started
    assert attributes["src"] == "http://testserver/i/clean-air/counter/"


@pytest.mark.django_db
def test_a_language_code_in_capitals_or_with_spaces_is_still_that_language(
    collecting_initiative, organiser_alice, signed_in
) -> None:
    page = signed_in(organiser_alice).get(DASHBOARD, {"embed_language": " DE "}).content.decode()
    (_iframe, attributes), *_ = parsed(snippet_of(page)).started

    assert attributes["src"] == "http://testserver/i/clean-air/counter/?lang=de"


@given(st.text(max_size=40))
@settings(max_examples=200, deadline=None)
def test_the_language_choice_is_one_of_the_sites_languages_or_none(typed: str) -> None:
    chosen = embed_language_choice(typed)

    assert chosen == "" or chosen in LANGUAGES
