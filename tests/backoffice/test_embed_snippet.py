"""The embed snippet an organiser copies is one inert iframe, whatever the title says."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest

from quorum.initiatives.models import Initiative

from .conftest import make_initiative, registered_fields

# Breaks out of the attribute, then of the element, then tries a script and a second frame.
HOSTILE_TITLE = 'Air" onload="alert(1)"><script>alert(2)</script><iframe src=\'//evil.example\''


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
    page = signed_in(organiser_alice).get("/manage/initiatives/clean-air/").content.decode()
    shown = re.search(r'<textarea id="embed-snippet"[^>]*>(.*?)</textarea>', page, re.S)
    assert shown is not None
    # The text area shows the snippet as text; what the organiser copies is its unescaped value.
    snippet = html.unescape(shown.group(1))

    elements = Elements()
    elements.feed(snippet)
    elements.close()
    assert elements.started == [
        (
            "iframe",
            {
                "src": "http://testserver/i/clean-air/counter/",
                "title": HOSTILE_TITLE,
                "width": "320",
                "height": "120",
                "loading": "lazy",
            },
        )
    ]
    assert elements.ended == ["iframe"]
    assert "".join(elements.text) == ""
    assert "<script>alert(2)" not in page
