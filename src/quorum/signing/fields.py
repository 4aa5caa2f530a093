"""The fields of a statement of support, as the signatory fills them in (Annex III).

Pure: no Django. Field names are the API's, with residence nested one level ("residence.city").
Which fields a signatory gives is a legal rule and comes from the scheme's data
(``Scheme.required_fields``); this module only says how the platform presents each one:
its place on the form, its length limit and its autocomplete purpose.
"""

from __future__ import annotations

from dataclasses import dataclass

from quorum.rules import Scheme


@dataclass(frozen=True)
class FieldSpec:
    name: str
    max_length: int
    autocomplete: str


# In the order the form shows them: names, then what tells two people of that name apart.
FIELD_SPECS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec("first_names", 100, "given-name"),
        FieldSpec("family_names", 100, "family-name"),
        FieldSpec("date_of_birth", 10, "bday"),
        FieldSpec("residence.street", 150, "street-address"),
        FieldSpec("residence.postal_code", 12, "postal-code"),
        FieldSpec("residence.city", 100, "address-level2"),
        FieldSpec("residence.country", 100, "country-name"),
        FieldSpec("id_type", 40, "off"),
        FieldSpec("id_number", 40, "off"),
    )
}
#: Every field the platform can present; a scheme's data may name no other.
ALL_FIELDS = frozenset(FIELD_SPECS)
_FORM_ORDER = {name: position for position, name in enumerate(FIELD_SPECS)}


def fields_for(rules: Scheme, member_state: str) -> tuple[str, ...]:
    """The fields a national of ``member_state`` gives under ``rules``, in form order."""
    return tuple(sorted(rules.required_fields(member_state), key=_FORM_ORDER.__getitem__))


def flatten(data: dict[str, object]) -> dict[str, object]:
    """{"residence": {"city": "x"}} → {"residence.city": "x"}; other keys unchanged."""
    flat: dict[str, object] = {}
    for key, value in data.items():
        if key == "residence" and isinstance(value, dict):
            for inner, inner_value in value.items():
                flat[f"residence.{inner}"] = inner_value
        else:
            flat[key] = value
    return flat
