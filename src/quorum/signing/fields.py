"""The fields of a statement of support, as the signatory fills them in (Annex III).

Pure: no Django. Field names are the API's, with residence nested one level ("residence.city").
"""

from __future__ import annotations

from dataclasses import dataclass

PART_A_FIELDS = (
    "first_names",
    "family_names",
    "date_of_birth",
    "residence.street",
    "residence.postal_code",
    "residence.city",
    "residence.country",
)
PART_B_FIELDS = ("first_names", "family_names", "id_type", "id_number")
ALL_FIELDS = frozenset(PART_A_FIELDS) | frozenset(PART_B_FIELDS)


@dataclass(frozen=True)
class FieldSpec:
    name: str
    max_length: int
    autocomplete: str


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


def fields_for_part(part: str) -> tuple[str, ...]:
    return PART_A_FIELDS if part == "A" else PART_B_FIELDS


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
