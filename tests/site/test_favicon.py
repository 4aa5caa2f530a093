"""The icon: an SVG of our own under static, linked from every page; ``/favicon.ico`` leads to it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

ICON = "/static/quorum/favicon.svg"


def test_favicon_ico_is_not_a_404_but_the_way_to_the_svg_icon() -> None:
    response = Client().get("/favicon.ico")

    assert response.status_code == 302
    assert response["Location"] == ICON
    assert "max-age=" in response["Cache-Control"]
    assert not response.cookies


@pytest.mark.django_db  # closing the response closes the request, and its connections
def test_the_icon_is_served_from_our_own_static_files_as_svg() -> None:
    response = Client().get("/favicon.ico", follow=True)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    try:
        assert b"".join(response.streaming_content).startswith(b"<svg")
    finally:
        response.close()


def test_the_icon_is_a_small_svg_in_quorums_own_colours() -> None:
    path = finders.find("quorum/favicon.svg")
    assert path is not None
    text = Path(path).read_text(encoding="utf-8")
    root = ET.fromstring(text)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert len(text) < 1024
    assert "#0b4f9c" in text  # the header's --accent
    assert "http" not in text.replace("http://www.w3.org/2000/svg", "")  # nothing from elsewhere


@pytest.mark.django_db
def test_the_pages_link_the_icon(collecting_initiative) -> None:
    for path in ("/", "/i/clean-air/", "/account/login/"):
        page = Client().get(path).content.decode()
        assert f'<link rel="icon" href="{ICON}" type="image/svg+xml">' in page, path
