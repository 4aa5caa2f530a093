"""The loader validates the data file and fails loudly on a malformed one."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quorum.rules import DataFileError, RulesError, UnknownSchemeError, scheme
from quorum.rules.loader import available_schemes, load_scheme, load_text, parse_scheme


def test_the_packaged_eci_file_loads_once(raw_eci):
    assert available_schemes() == ("eci",)
    assert load_scheme("eci") is load_scheme("eci")
    assert scheme("eci") is scheme("eci")
    assert parse_scheme(raw_eci).code == "eci"


@pytest.mark.parametrize("code", ["nope", "ECI", "../eci", "", "eci.json", None, 7, ["eci"]])
def test_an_unknown_scheme_is_a_rules_error(code):
    with pytest.raises(UnknownSchemeError):
        scheme(code)  # type: ignore[arg-type]
    assert issubclass(UnknownSchemeError, RulesError)


def _break(raw: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    broken = copy.deepcopy(raw)
    node: Any = broken
    keys = path.split("/")
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node[key]
    last = keys[-1]
    if value is _DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return broken


_DELETE = object()

BREAKAGES = [
    ("format", 2, "expected format 1"),
    ("surprise", 1, "unknown key"),
    ("member_states/0/source", _DELETE, "missing key"),
    ("member_states/0/source/doc", "NOPE", "unknown document"),
    ("member_states/1/code", "BE", "duplicate"),
    ("threshold_tables/2/thresholds/DE", 69_121, "seats 96 x 720"),
    ("threshold_tables/2/seats/DE", 97, "seats 97 x 720"),
    ("threshold_tables/0/withdrawn", [], "add up to 678"),
    ("threshold_tables/1/valid_from", "2020-02-02", "day after the previous table"),
    ("threshold_tables/2/valid_until", "2030-01-01", "must be open"),
    ("threshold_tables/0/valid_from", "2019-01-01", "first table must start"),
    ("threshold_tables/2/source", _DELETE, "missing key"),
    ("threshold_tables/2/thresholds/XX", 1, "exactly the Member States"),
    ("annex_ii/annex", _DELETE, "missing key"),
    ("annex_ii/title/max_characters", "100", "expected an integer"),
    ("annex_ii/objectives/max_characters", 0, "out of range"),
    ("annex_ii/objectives/spaces_count", "no", "true or false"),
    ("annex_ii/title/source", _DELETE, "missing key"),
    ("annex_ii/title/source/doc", "NOPE", "unknown document"),
    (
        "annex_iii/member_states/PL/id_documents/items/0/validator",
        "stdnum.xx.nope",
        "unknown validator",
    ),
    ("annex_iii/member_states/IT/id_documents/items/0/age_from_number", True, "does not extract"),
    ("annex_iii/member_states/IT/id_documents/items/0/patterns", ["[A-Z"], "not a regular"),
    ("annex_iii/member_states/IT/id_documents/items/0/patterns", [], "needs at least one pattern"),
    ("annex_iii/member_states/IT/id_documents/items/0/source", _DELETE, "missing key"),
    ("annex_iii/member_states/PL/part", "C", "expected 'A' or 'B'"),
    ("annex_iii/member_states/DE/part", "B", "needs id_documents"),
    ("annex_iii/parts/A/fields", ["first_names", "shoe_size"], "unknown"),
    ("min_ages/DE/1/from", "2019-06-01", "increasing date order"),
    ("min_ages/DE/0/age", 99, "out of range"),
    ("min_ages/DE", [], "at least one age rule"),
    ("deadlines/meeting", _DELETE, "must define exactly"),
    ("deadlines/meeting/months", 0, "out of range"),
    ("deadlines/start_announcement/working_days", "ten", "expected an integer"),
    ("success/min_member_states", 6, "one quarter"),
    ("success/source/uncertain", "maybe", "true or false"),
    ("organiser_group/min_members", True, "expected an integer"),
    ("register/number_pattern", "ECI([0-9]{4}", "not a regular expression"),
    ("register/number_pattern", "ECI\\((?P<year>[0-9]{4})\\)[0-9]{6}", "groups year and serial"),
    ("register/number_format", _DELETE, "missing key"),
    ("register/number_format", "ECI({year:04d}){number:06d}", "format of year and serial"),
    ("register/number_format", "ECI({year:04d}){serial:05d}", "does not read"),
    ("register/number_format", "ECI({year}){serial:06d", "format of year and serial"),
    ("register/number_format", "ECI({year:04d})", "does not read"),
    ("register/initiative_url", "https://r.eu/{year}_{language}", "placeholders"),
    ("register/initiative_url", "https://r.eu/{year}/{serial}/{nope}_{language}", "placeholders"),
    ("register/initiative_url", "http://r.eu/{year}/{serial}_{language}", "https://"),
    ("register/data_protection_url", "https://r.eu/data-protection", "placeholders"),
    ("register/data_protection_url", "https://r.eu/{language", "malformed placeholders"),
    ("register/source", _DELETE, "missing key"),
    ("register/surprise", 1, "unknown key"),
]


@pytest.mark.parametrize(("path", "value", "message"), BREAKAGES)
def test_a_malformed_file_fails_loudly_naming_the_place(raw_eci, path, value, message):
    broken = _break(raw_eci, path, value)
    with pytest.raises(DataFileError, match=message) as info:
        load_text(json.dumps(broken), origin="eci.json")
    assert "eci.json:" in str(info.value)


def test_invalid_json_is_a_data_file_error():
    with pytest.raises(DataFileError, match="not valid JSON"):
        load_text("{", origin="eci.json")
    with pytest.raises(DataFileError, match="expected an object"):
        load_text("[]", origin="eci.json")


def test_the_register_is_optional_and_a_scheme_without_one_has_none(raw_eci):
    without = _break(raw_eci, "register", _DELETE)
    assert load_text(json.dumps(without), origin="eci.json").register is None
    register = load_text(json.dumps(raw_eci), origin="eci.json").register
    assert register is not None
    assert register.initiative_address("ECI(2026)000042", language="pl") == (
        "https://citizens-initiative.europa.eu/initiatives/details/2026/000042_pl"
    )
    assert register.initiative_address("ECI(2026)42", language="pl") is None


@given(
    st.integers(min_value=1000, max_value=9999),
    st.lists(st.integers(min_value=1, max_value=999_998), max_size=5),
)
def test_the_register_s_next_number_follows_the_highest_serial_of_its_year(
    year: int, serials: list[int]
) -> None:
    register = scheme("eci").register
    assert register is not None
    numbers = [f"ECI({year}){serial:06d}" for serial in serials]
    others = [f"ECI({year + 1})999999", f"ECI({year}){10**6}", f"{year}/7", ""]

    number = register.next_number(year, numbers + others)

    assert number == f"ECI({year}){max(serials, default=0) + 1:06d}"
    assert register.initiative_address(number, language="en") is not None


def test_the_register_has_no_number_left_after_the_year_s_last_serial() -> None:
    register = scheme("eci").register
    assert register is not None
    assert register.next_number(2026, ["ECI(2026)999999"]) is None
    assert register.next_number(2027, ["ECI(2026)999999"]) == "ECI(2027)000001"
