"""What a signatory types never reaches a sealed statement with a control character in it."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from quorum.core.text import has_control_characters
from quorum.rules import scheme
from quorum.signing.validation import validate_fields

GERMAN = {
    "first_names": "Anna",
    "family_names": "Schmidt",
    "date_of_birth": "1990-04-23",
    "residence.street": "Hauptstraße 1",
    "residence.postal_code": "10115",
    "residence.city": "Berlin",
    "residence.country": "Deutschland",
}
_part = st.text(max_size=10)
_refused = st.one_of(
    st.characters(categories=["Cc", "Cs"]),
    st.sampled_from("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029"),
)
with_control = st.tuples(_part, _refused, _part).map(lambda parts: f"A{''.join(parts)}a")


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(set(GERMAN) - {"date_of_birth"})), value=with_control)
def test_a_statement_field_with_a_control_character_is_refused_or_cleaned_of_it(
    name: str, value: str
) -> None:
    checked = validate_fields(scheme("eci"), "DE", {**GERMAN, name: value}, today=date(2026, 12, 1))
    if name not in checked.errors:
        # White space of any kind (tab, NEL, the separators …) becomes one space; all else is
        # refused with the field's own reason.
        assert not has_control_characters(checked.values[name])
