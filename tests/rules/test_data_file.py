"""The data file itself: every value has a source; every [U] item is flagged uncertain."""

from __future__ import annotations

from typing import Any

from quorum.rules.loader import data_path


def _sources(node: Any, path: str = "") -> dict[str, dict[str, Any]]:
    """Every source object in the file, by its path."""
    found: dict[str, dict[str, Any]] = {}
    if isinstance(node, dict):
        if "doc" in node and "at" in node:
            found[path] = node
        for key, value in node.items():
            found.update(_sources(value, f"{path}.{key}" if path else key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.update(_sources(value, f"{path}[{i}]"))
    return found


def test_the_file_is_utf8_json_for_the_eci_scheme(raw_eci):
    assert raw_eci["scheme"] == "eci"
    assert raw_eci["format"] == 1
    assert raw_eci["version"]
    assert data_path("eci").read_bytes().decode("utf-8")


def test_every_member_state_table_row_age_part_and_document_has_a_source(raw_eci):
    for state in raw_eci["member_states"]:
        assert "source" in state, state["code"]
    for table in raw_eci["threshold_tables"]:
        for key in ("source", "seats_source", "validity_source"):
            assert key in table, (table["name"], key)
    for code, ages in raw_eci["min_ages"].items():
        for rule in ages:
            assert "source" in rule, code
    for code, state in raw_eci["annex_iii"]["member_states"].items():
        assert "source" in state, code
        if state["part"] == "B":
            assert "source" in state["id_documents"], code
            for document in state["id_documents"]["items"]:
                assert "source" in document, (code, document["code"])
    for part in raw_eci["annex_iii"]["parts"].values():
        assert "source" in part
    for note in raw_eci["annex_iii"]["residence_notes"].values():
        assert "source" in note
    for name, period in raw_eci["deadlines"].items():
        assert "source" in period, name
    assert "source" in raw_eci["success"]
    assert "member_states_source" in raw_eci["success"]
    assert "source" in raw_eci["organiser_group"]
    assert "source" in raw_eci["applies_from"]


def test_every_source_cites_a_known_document_with_a_pinpoint(raw_eci):
    documents = raw_eci["documents"]
    for path, source in _sources(raw_eci).items():
        assert source["doc"] in documents, path
        assert source["at"].strip(), path
    for key, document in documents.items():
        assert document["citation"].strip(), key
        assert document["short"].strip(), key


# Every item the reference note (reference/eci-rules.md) tags [U] that this file encodes:
# - Slovakia and Finland, Part A (section 2.2: "the table row was cut off");
# - Slovakia, Finland and Sweden, minimum age 18 (section 3: "SK, FI, SE assumed 18, [U]");
# - Sweden: the Commission's own row (label, age, eID) was not read (section 2.2).
EXPECTED_UNCERTAIN = {
    "annex_iii.member_states.SK.source",
    "annex_iii.member_states.FI.source",
    "min_ages.SK[0].source",
    "min_ages.FI[0].source",
    "min_ages.SE[0].source",
    "annex_iii.member_states.SE.id_documents.source",
}


def test_exactly_the_reference_s_uncertain_items_are_flagged(raw_eci):
    flagged = {path for path, source in _sources(raw_eci).items() if source.get("uncertain")}
    assert flagged == EXPECTED_UNCERTAIN


def test_uncertain_items_explain_themselves(raw_eci):
    for path, source in _sources(raw_eci).items():
        if source.get("uncertain"):
            assert "[U]" in source.get("note", ""), path


def test_the_uncertain_flags_reach_the_member_state_rules(eci):
    from datetime import date

    flagged = {
        s.code: s.uncertain for s in eci.member_states(registered=date(2025, 1, 1)) if s.uncertain
    }
    assert flagged == {
        "SK": ("part", "min_age"),
        "FI": ("part", "min_age"),
        "SE": ("min_age", "id_documents"),
    }
    sweden = eci.member_state("SE", registered=date(2025, 1, 1))
    assert sweden.sources["id_documents"].uncertain
    assert not sweden.sources["part"].uncertain  # Part B is [V] via the Swedish authority


def test_format_only_documents_say_so_in_the_file(raw_eci):
    for code, state in raw_eci["annex_iii"]["member_states"].items():
        for document in state.get("id_documents", {}).get("items", []):
            if document["validator"] == "format":
                assert document["check"].startswith("format only"), (code, document["code"])
