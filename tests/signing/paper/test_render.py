"""The sheet: A4, both sides of one sheet whatever the texts, in any script."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quorum.initiatives.models import Initiative
from quorum.rules import scheme
from quorum.signing.paper import paper_form, paper_form_pdf
from quorum.signing.paper.content import Item
from quorum.signing.paper.render import render

pytestmark = pytest.mark.django_db

A4_PORTRAIT = (595.28, 841.89)
A4_LANDSCAPE = (841.89, 595.28)


def longest_texts(initiative: Initiative) -> Initiative:
    """The longest title and objectives Annex II allows (100 characters; 1,100 without spaces)."""
    rules = scheme("eci")
    title = ("Ω" * 99 + "Ж")[: rules.text_limit("title").max_characters]
    word = "Objectives"  # ten letters
    count = rules.text_limit("objectives").max_characters // len(word) - 1
    initiative.title = {"en": title}
    initiative.objectives = {"en": " ".join([word] * count + ["LASTWORD"])}
    initiative.save()
    return initiative


def sizes_of(form) -> list[tuple[float, float]]:
    return [(round(w, 2), round(h, 2)) for w, h in form.sizes]


def test_part_b_is_portrait_and_part_a_landscape_on_two_a4_pages(
    collecting_initiative, read_pdf, base_url
) -> None:
    for code, size in (("PL", A4_PORTRAIT), ("DE", A4_LANDSCAPE)):
        pdf = paper_form_pdf(collecting_initiative, code, language="en", base_url=base_url)
        assert sizes_of(read_pdf(pdf)) == [size, size]


def test_the_longest_texts_the_law_allows_still_fit_on_one_sheet(
    collecting_initiative, read_pdf, base_url
) -> None:
    initiative = longest_texts(collecting_initiative)
    for code in ("DE", "PL"):
        form = read_pdf(paper_form_pdf(initiative, code, language="bg", base_url=base_url))
        assert form.pages == 2
        assert form.says(initiative.title["en"]) and form.says("LASTWORD")
        assert form.codes == [f"{base_url}/i/clean-air/sign/{code.lower()}/"]


def test_texts_beyond_the_limits_run_off_the_page_rather_than_onto_a_third(
    collecting_initiative, read_pdf, base_url
) -> None:
    collecting_initiative.objectives = {"en": "Far too long. " * 900}
    collecting_initiative.save()
    pdf = paper_form_pdf(collecting_initiative, "DE", language="en", base_url=base_url)
    assert read_pdf(pdf).pages == 2


def test_the_back_repeats_the_declaration_above_more_rows(
    collecting_initiative, read_pdf, base_url
) -> None:
    form = read_pdf(paper_form_pdf(collecting_initiative, "PL", language="en", base_url=base_url))
    assert form.compact.count("Ihereby certify".replace(" ", "")) == 2


def test_the_same_form_is_the_same_file(collecting_initiative, base_url) -> None:
    def draw() -> bytes:
        return paper_form_pdf(collecting_initiative, "EL", language="el", base_url=base_url)

    assert draw() == draw()


def test_germanys_residence_column_carries_the_footnotes_mark(
    collecting_initiative, read_pdf, base_url
) -> None:
    form = read_pdf(paper_form_pdf(collecting_initiative, "DE", language="en", base_url=base_url))
    assert form.says("Street and number *") and form.says("* German nationals residing outside")
    other = read_pdf(paper_form_pdf(collecting_initiative, "NL", language="en", base_url=base_url))
    assert not other.says("Street and number *")


def test_letters_the_typeface_lacks_do_not_stop_the_form(
    collecting_initiative, read_pdf, base_url
) -> None:
    collecting_initiative.title = {"en": "Clean air 清洁空气 🌍 for everyone"}
    collecting_initiative.save()
    form = read_pdf(paper_form_pdf(collecting_initiative, "FR", language="fr", base_url=base_url))
    assert form.pages == 2 and form.says("for everyone")


@settings(max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    title=st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=120),
    objectives=st.text(st.characters(exclude_categories=("Cs",)), max_size=1500),
)
def test_any_texts_give_one_sheet(collecting_initiative, read_pdf, title, objectives) -> None:
    form = paper_form(
        collecting_initiative, "SE", language="sv", via="", base_url="https://q.example.eu"
    )
    items = list(form.items)
    items[4], items[5] = Item(items[4].label, title), Item(items[5].label, objectives)
    assert read_pdf(render(replace(form, items=tuple(items)))).pages == 2
