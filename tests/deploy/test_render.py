"""deploy/render.py: every placeholder given, nothing else, and lists one line per item."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "deploy"))

import render

TEMPLATE = "upstream quorum {\n    server @UPSTREAM@;\n    keepalive 16;\n}\nlisten @LISTEN@;\n"


def test_each_placeholder_is_replaced_by_its_value():
    site = render.render(TEMPLATE, {"UPSTREAM": "127.0.0.1:8000", "LISTEN": "443"})
    assert (
        site == "upstream quorum {\n    server 127.0.0.1:8000;\n    keepalive 16;\n}\nlisten 443;\n"
    )


def test_a_value_with_commas_repeats_its_line_once_per_item():
    site = render.render(TEMPLATE, {"UPSTREAM": "10.0.0.11:8000, 10.0.0.12:8000", "LISTEN": "443"})
    assert "    server 10.0.0.11:8000;\n    server 10.0.0.12:8000;\n    keepalive 16;\n" in site


def test_a_list_must_be_alone_on_its_line():
    with pytest.raises(ValueError, match="not alone on its line"):
        render.render("listen @A@ @B@;\n", {"A": "1,2", "B": "x"})


@pytest.mark.parametrize("value", ["", "a,", "a,,b", "a;b", "a{", "a\nb"])
def test_an_empty_item_or_a_character_that_would_break_nginx_is_refused(value):
    with pytest.raises(ValueError, match="may not be empty"):
        render.render(TEMPLATE, {"UPSTREAM": value, "LISTEN": "443"})


def test_a_missing_or_an_unknown_name_stops_the_rendering():
    with pytest.raises(ValueError, match="missing: LISTEN; not in the template: LISTN"):
        render.render(TEMPLATE, {"UPSTREAM": "a", "LISTN": "443"})
