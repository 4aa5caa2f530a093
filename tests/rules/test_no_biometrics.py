"""No scheme ever asks a signatory for a photo, a fingerprint or any other biometric datum.

Every field a Member State requires (Annex III Part A or B) and every ID document it accepts
is read from the rules data of every scheme; none may name a biometric or take a file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace

import pytest

from quorum.rules import DataFileError, IdDocumentType, Scheme, scheme
from quorum.rules.loader import FIELD_NAMES, available_schemes, data_path, load_text
from quorum.signing.fields import FIELD_SPECS

# Matched at the start of every word: "fingerprint", "faceImage", "photos", not "surface".
BIOMETRIC = re.compile(
    r"photo|image|picture|portrait|selfie|face|facial|finger|thumb|palm|iris|retina|eye|"
    r"voice|speech|dna|gait|vein|biometric|handwrit|scan|video|camera|capture|upload|file|"
    r"blob|attachment|jpe?g|png",
    re.IGNORECASE,
)
# What a field may be: a line of text the signatory types.
TEXT_ONLY = re.compile(r"[a-z_]+(\.[a-z_]+)?")


def words(text: str) -> list[str]:
    """``residence.postal_code`` → ["residence", "postal", "code"]."""
    return [w for w in re.split(r"[\W_]+", text) if w]


def biometric(text: str) -> bool:
    return any(BIOMETRIC.match(word) for word in words(text))


def things_asked(rules: Scheme) -> Iterator[tuple[str, str]]:
    """(where, text) for every field name and every ID document a signatory may be asked for."""
    data = rules.data
    for part, rule in data.parts.items():
        for name in rule.fields:
            yield f"{rules.code} part {part} field", name
    for code in rules.member_state_codes():
        for name in rules.required_fields(code):
            yield f"{rules.code} {code} field", name
        for document in rules.id_documents(code):
            for attribute in ("code", "label", "label_en", "validator"):
                yield (
                    f"{rules.code} {code} {document.code}.{attribute}",
                    getattr(document, attribute),
                )


@pytest.mark.parametrize("code", available_schemes())
def test_no_field_or_id_document_of_any_scheme_is_biometric(code: str) -> None:
    found = [(where, text) for where, text in things_asked(scheme(code)) if biometric(text)]
    assert found == []


@pytest.mark.parametrize("code", available_schemes())
def test_every_field_of_every_member_state_is_a_short_line_of_text(code: str) -> None:
    rules = scheme(code)
    for code_ in rules.member_state_codes():
        for name in rules.required_fields(code_):
            assert TEXT_ONLY.fullmatch(name), name
            assert name in FIELD_NAMES
            # The form and the API take it as text of bounded length, never as a file.
            assert 0 < FIELD_SPECS[name].max_length <= 200, name
            assert not biometric(FIELD_SPECS[name].autocomplete), name
        for document in rules.id_documents(code_):
            assert document.max_length <= 64
            assert all(p.startswith("^") and p.endswith("$") for p in document.patterns)


@pytest.mark.parametrize("code", available_schemes())
def test_the_raw_data_file_has_no_biometric_key_anywhere(code: str) -> None:
    raw = json.loads(data_path(code).read_text(encoding="utf-8"))

    def keys(node: object, path: str = "") -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                yield f"{path}.{key}"
                yield from keys(value, f"{path}.{key}")
        elif isinstance(node, list):
            for item in node:
                yield from keys(item, path)

    assert [path for path in keys(raw) if biometric(path.rsplit(".", 1)[-1])] == []


def test_the_check_finds_a_biometric_field_or_document_when_there_is_one(eci, raw_eci) -> None:
    # The guard above must be able to fail: a doctored scheme is caught.
    for text in ("face_image", "fingerprint", "signature-image", "Photo ID", "voiceSample"):
        assert biometric(text), text
    for text in ("residence.postal_code", "Numer ewidencyjny PESEL", "surface", "profile"):
        assert not biometric(text), text
    data = eci.data
    pl = data.id_documents["PL"]
    doctored = replace(
        data,
        id_documents={
            **data.id_documents,
            "PL": (
                *pl,
                IdDocumentType(
                    code="iris", label="Iris scan", validator="format", age_from_number=False
                ),
            ),
        },
    )
    found = [where for where, text in things_asked(Scheme(doctored)) if biometric(text)]
    assert found, "a document called 'Iris scan' went unnoticed"

    raw_eci["annex_iii"]["parts"]["A"]["fields"].append("photo")
    with pytest.raises(DataFileError, match="unknown"):
        load_text(json.dumps(raw_eci))
