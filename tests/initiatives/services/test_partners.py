"""Coalition partners: codes the organisers give out, each change with its audit entry."""

from __future__ import annotations

import string

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from quorum.core.errors import Invalid
from quorum.core.models import AuditEntry
from quorum.initiatives.models import Partner
from quorum.initiatives.selectors import initiative_partners
from quorum.initiatives.services import partner_add, partner_remove
from quorum.initiatives.services.partners import partner_code_normalised

pytestmark = pytest.mark.django_db

CODE_ALPHABET = string.ascii_lowercase + string.digits + "-"


@given(
    st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?", fullmatch=True),
    st.sampled_from(["", " ", "  "]),
)
def test_a_code_of_lower_case_letters_digits_and_inner_hyphens_is_kept_as_it_is(
    code: str, padding: str
) -> None:
    assert partner_code_normalised(padding + code + padding) == code
    assert partner_code_normalised(code.upper()) == code


@given(st.text(max_size=40))
def test_anything_else_is_no_code(text: str) -> None:
    code = text.strip(" ").lower()
    well_formed = (
        0 < len(code) <= 32
        and all(ch in CODE_ALPHABET for ch in code)
        and not code.startswith("-")
        and not code.endswith("-")
    )
    assert (partner_code_normalised(text) is not None) == well_formed


@pytest.mark.parametrize(
    "text", ["", "-edri", "edri-", "ed ri", "edri\n", "é", "a" * 33, "ed_ri", "ed/ri", "\x00"]
)
def test_malformed_codes_are_no_code(text: str) -> None:
    assert partner_code_normalised(text) is None


def test_a_partner_is_added_with_its_audit_entry(collecting_initiative) -> None:
    partner = partner_add(
        initiative=collecting_initiative, code=" EDRi ", name="European Digital Rights"
    )
    assert (partner.code, partner.name) == ("edri", "European Digital Rights")
    assert initiative_partners(collecting_initiative) == {"edri": "European Digital Rights"}
    entry = AuditEntry.objects.get(action="quorum.initiative.partner_added")
    assert entry.data == {"code": "edri", "name": "European Digital Rights"}


def test_the_same_code_again_renames_the_partner_and_an_unchanged_name_writes_nothing(
    collecting_initiative,
) -> None:
    partner_add(initiative=collecting_initiative, code="edri", name="EDRi")
    partner_add(initiative=collecting_initiative, code="edri", name="European Digital Rights")
    partner_add(initiative=collecting_initiative, code="edri", name="European Digital Rights")
    assert Partner.objects.count() == 1
    assert initiative_partners(collecting_initiative) == {"edri": "European Digital Rights"}
    actions = list(AuditEntry.objects.order_by("id").values_list("action", flat=True))
    assert [a for a in actions if "partner" in a] == [
        "quorum.initiative.partner_added",
        "quorum.initiative.partner_renamed",
    ]


@pytest.mark.parametrize(
    ("code", "name", "field"),
    [
        ("ed ri", "EDRi", "code"),
        ("edri", "", "name"),
        ("edri", "   ", "name"),
        ("edri", "x" * 101, "name"),
        ("edri", "EDRi\nand friends", "name"),
        ("edri", "EDRi\x07", "name"),
    ],
)
def test_a_malformed_code_or_name_is_refused_with_a_translated_reason_and_changes_nothing(
    collecting_initiative, code: str, name: str, field: str
) -> None:
    with pytest.raises(Invalid) as refused:
        partner_add(initiative=collecting_initiative, code=code, name=name)
    with translation.override("de"):
        messages = refused.value.messages()
    assert list(messages) == [field]
    english = {
        "code": "Enter a code of 1 to 32",
        "name": "Enter the partner's name",
    }[field]
    assert not any(english in str(message) for message in messages[field])
    assert not Partner.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="quorum.initiative.partner").exists()


def test_an_initiative_takes_at_most_100_partners_but_may_still_rename_them(
    collecting_initiative,
) -> None:
    Partner.objects.bulk_create(
        Partner(initiative=collecting_initiative, code=f"p{n}", name=f"Partner {n}")
        for n in range(100)
    )
    with pytest.raises(Invalid) as refused:
        partner_add(initiative=collecting_initiative, code="one-more", name="One more")
    assert "at most 100 partners" in str(refused.value.messages()["code"][0])
    assert Partner.objects.count() == 100
    partner_add(initiative=collecting_initiative, code="p7", name="Renamed")
    assert initiative_partners(collecting_initiative)["p7"] == "Renamed"


def test_a_removed_partner_is_gone_with_its_audit_entry_and_an_unknown_one_is_no_change(
    collecting_initiative,
) -> None:
    partner_add(initiative=collecting_initiative, code="edri", name="EDRi")
    assert partner_remove(initiative=collecting_initiative, code="EDRI") is True
    assert initiative_partners(collecting_initiative) == {}
    assert partner_remove(initiative=collecting_initiative, code="edri") is False
    assert partner_remove(initiative=collecting_initiative, code="not a code") is False
    assert AuditEntry.objects.filter(action="quorum.initiative.partner_removed").count() == 1


def test_the_same_code_belongs_to_each_initiative_on_its_own(collecting_initiative) -> None:
    from quorum.initiatives.services import initiative_create

    other = initiative_create(
        slug="other",
        title={"en": "Other"},
        objectives={"en": "Other."},
        language="en",
    )
    partner_add(initiative=collecting_initiative, code="edri", name="EDRi")
    partner_add(initiative=other, code="edri", name="Another EDRi")
    assert initiative_partners(collecting_initiative) == {"edri": "EDRi"}
    assert initiative_partners(other) == {"edri": "Another EDRi"}
