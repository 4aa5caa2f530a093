"""Count certificates (quorum.proofs.count_certificate), with no database: the canonical
payload, signing, the strict reading into a CountCertificate, and the signature check."""

from __future__ import annotations

import base64
import copy
import json
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quorum.proofs.count_certificate import (
    CERTIFICATE_FIELDS,
    FORMAT,
    CertificateFormatError,
    CountCertificate,
    certificate_payload_bytes,
    parse_certificate,
    sign_certificate,
    verify_certificate,
)
from quorum.proofs.crypto import encode_key, generate_authority_keys, sign

# Fixed keys: generating keys per example would only slow the property tests down.
KEYS = generate_authority_keys()
OTHER = generate_authority_keys()
ROOT = bytes(range(32))


def _cert(**changes: Any) -> dict[str, Any]:
    cert: dict[str, Any] = {
        "format": FORMAT,
        "scheme": "eci",
        "initiative": {"slug": "clean-air", "registration_number": "ECI(2025)000007"},
        "member_state": "PL",
        "authority_signing_key": encode_key(KEYS.signing_public_key),
        "checkpoint": {
            "origin": "quorum.test/clean-air",
            "size": 3,
            "root": base64.b64encode(ROOT).decode(),
        },
        "statements_in_batch": 2,
        "valid_statements": 2,
        "valid_online": 2,
        "valid_paper": 0,
        "method": "full",
        "sample_size": None,
        "date": "2025-06-30",
    }
    cert.update(changes)
    return cert


def _signed(**changes: Any) -> dict[str, Any]:
    return sign_certificate(_cert(**changes), KEYS.signing_seed)


def _refused(document: object, *names: str) -> CertificateFormatError:
    """Refused with a message naming every one of ``names``."""
    with pytest.raises(CertificateFormatError) as caught:
        parse_certificate(document)
    for name in names:
        assert name in str(caught.value), (name, str(caught.value))
    return caught.value


# --- signing -------------------------------------------------------------------------------


def test_payload_is_canonical_json() -> None:
    payload = certificate_payload_bytes({"b": 1, "a": {"ž": "é", "c": None}})
    assert payload == '{"a":{"c":null,"ž":"é"},"b":1}'.encode()


def test_signature_is_ed25519_over_the_payload() -> None:
    document = _signed()
    expected = sign(KEYS.signing_seed, certificate_payload_bytes(_cert()))
    assert base64.b64decode(document["signature"]) == expected
    assert verify_certificate(document, KEYS.signing_public_key)
    # A round trip through a file, as the platform receives it.
    assert verify_certificate(json.loads(json.dumps(document, indent=2)), KEYS.signing_public_key)


def test_other_keys_and_changes_do_not_verify() -> None:
    document = _signed()
    assert not verify_certificate(document, OTHER.signing_public_key)
    # Signed by the other key but claiming ours.
    assert not verify_certificate(
        sign_certificate(_cert(), OTHER.signing_seed), KEYS.signing_public_key
    )
    for change in ({"valid_statements": 1}, {"member_state": "DE"}, {"date": "2025-07-01"}):
        tampered = {**document, "certificate": {**document["certificate"], **change}}
        assert parse_certificate(tampered)  # still well-formed: the signature refuses it
        assert not verify_certificate(tampered, KEYS.signing_public_key)


def test_a_parsed_certificate_verifies_like_its_document() -> None:
    parsed = parse_certificate(_signed())
    assert verify_certificate(parsed, KEYS.signing_public_key)
    assert not verify_certificate(parsed, OTHER.signing_public_key)


@pytest.mark.parametrize(
    "document",
    [
        None,
        [],
        {},
        {"certificate": {}, "signature": ""},
        {"certificate": _cert(), "signature": "!!"},
        {"certificate": _cert(), "signature": 5},
        {"certificate": "x", "signature": "AA=="},
        {"certificate": _cert(), "signature": "AA==", "extra": 1},
        {"certificate": _cert(format="other"), "signature": "AA=="},
        {"certificate": {**_cert(), "extra": 1}, "signature": "AA=="},
        {"certificate": _cert(valid_statements=float("nan")), "signature": "AA=="},
    ],
)
def test_malformed_documents_are_just_invalid(document: object) -> None:
    assert verify_certificate(document, KEYS.signing_public_key) is False


def test_a_malformed_key_is_just_invalid() -> None:
    document = _signed()
    assert verify_certificate(document, b"short") is False
    assert verify_certificate(document, "text") is False  # type: ignore[arg-type]


# --- reading -------------------------------------------------------------------------------


def test_a_certificate_is_read_into_typed_values() -> None:
    document = _signed(method="sample", sample_size=1, valid_online=1, valid_paper=1)
    parsed = parse_certificate(document)
    assert parsed == CountCertificate(
        scheme="eci",
        initiative_slug="clean-air",
        registration_number="ECI(2025)000007",
        member_state="PL",
        authority_signing_key=KEYS.signing_public_key,
        checkpoint_origin="quorum.test/clean-air",
        checkpoint_size=3,
        checkpoint_root=ROOT,
        statements_in_batch=2,
        valid_statements=2,
        valid_online=1,
        valid_paper=1,
        method="sample",
        sample_size=1,
        date=date(2025, 6, 30),
        signature=base64.b64decode(document["signature"]),
        document=document,
    )
    assert parsed.document == document
    assert parsed.payload == certificate_payload_bytes(document["certificate"])


def test_the_parsed_document_is_a_copy_the_caller_cannot_change() -> None:
    document = _signed()
    parsed = parse_certificate(document)
    document["certificate"]["valid_statements"] = 1
    assert parsed.document["certificate"]["valid_statements"] == 2
    assert verify_certificate(parsed, KEYS.signing_public_key)


@pytest.mark.parametrize(
    ("document", "field", "names"),
    [
        (None, "", ["JSON object"]),
        ([], "", ["JSON object"]),
        ({"signature": "AA=="}, "", ["certificate"]),
        ({"certificate": [], "signature": "AA=="}, "", ["certificate"]),
        ({"certificate": _cert()}, "signature", ["signature"]),
        ({"certificate": _cert(), "signature": 5}, "signature", ["signature"]),
        ({"certificate": _cert(), "signature": "!!"}, "signature", ["signature", "base64"]),
        ({"certificate": _cert(), "signature": "AA=="}, "signature", ["signature", "64 bytes"]),
        ({**_signed(), "extra": 1}, "", ["unknown", "'extra'"]),
    ],
    ids=[
        "none",
        "list",
        "no-certificate",
        "certificate-not-object",
        "no-signature",
        "signature-not-text",
        "signature-not-base64",
        "signature-short",
        "extra-key",
    ],
)
def test_a_malformed_envelope_is_refused_naming_what_is_wrong(
    document: object, field: str, names: list[str]
) -> None:
    assert _refused(document, *names).field == field


def test_a_signature_in_a_second_spelling_of_its_base64_is_refused() -> None:
    document = _signed()
    text = document["signature"]
    # 64 bytes are 86 digits and "==": the last digit carries four bits that must be zero.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    variant = text[:-3] + alphabet[alphabet.index(text[-3]) | 1] + "=="
    assert base64.b64decode(variant) == base64.b64decode(text)
    _refused({**document, "signature": variant}, "signature", "canonical")


def test_missing_and_unknown_fields_are_named() -> None:
    body = _cert()
    del body["date"]
    body["extra"] = 1
    error = _refused({"certificate": body, "signature": _signed()["signature"]}, "date", "extra")
    assert error.field == ""


#: One malformed value per field and the names its message must hold; each is refused for
#: that field (``CertificateFormatError.field``, the key of the certificate it belongs to).
MALFORMED = [
    ("format", "quorum-certificate-v2", ["format"]),
    ("scheme", 5, ["scheme"]),
    ("scheme", "e ci", ["scheme"]),
    ("initiative", "clean-air", ["initiative"]),
    ("initiative", {"slug": "clean-air"}, ["initiative", "registration_number"]),
    ("initiative", {"slug": "clean air", "registration_number": "x"}, ["initiative.slug"]),
    ("initiative", {"slug": "a", "registration_number": ""}, ["initiative.registration_number"]),
    ("initiative", {"slug": "a", "registration_number": "a\nb"}, ["registration_number"]),
    ("initiative", {"slug": "a", "registration_number": "\ud800"}, ["registration_number"]),
    ("member_state", "pl", ["member_state"]),
    ("member_state", None, ["member_state"]),
    ("authority_signing_key", "AA==", ["authority_signing_key", "32 bytes"]),
    ("authority_signing_key", 1, ["authority_signing_key"]),
    ("checkpoint", None, ["checkpoint"]),
    ("checkpoint", {"origin": "o", "size": 3}, ["checkpoint", "root"]),
    ("checkpoint", {"origin": "", "size": 3, "root": "AA=="}, ["checkpoint.origin"]),
    ("checkpoint", {"origin": "o", "size": -1, "root": "AA=="}, ["checkpoint.size"]),
    ("checkpoint", {"origin": "o", "size": 2**64, "root": "AA=="}, ["checkpoint.size"]),
    ("checkpoint", {"origin": "o", "size": 3, "root": "AA=="}, ["checkpoint.root", "32 bytes"]),
    ("checkpoint", {"origin": "o", "size": 3, "root": "A A="}, ["checkpoint.root", "base64"]),
    ("statements_in_batch", -1, ["statements_in_batch"]),
    ("statements_in_batch", True, ["statements_in_batch"]),
    ("statements_in_batch", 2.0, ["statements_in_batch"]),
    ("statements_in_batch", "2", ["statements_in_batch"]),
    ("valid_statements", 3, ["valid_statements", "statements_in_batch"]),
    ("valid_statements", -1, ["valid_statements"]),
    ("valid_statements", False, ["valid_statements"]),
    ("valid_statements", None, ["valid_statements"]),
    ("valid_online", True, ["valid_online"]),
    ("valid_online", -2, ["valid_online"]),
    ("valid_paper", 0.0, ["valid_paper"]),
    ("method", "partial", ["method"]),
    ("method", ["full"], ["method"]),
    ("method", None, ["method"]),
    ("sample_size", 1, ["sample_size", "full"]),
    ("date", "30.06.2025", ["date"]),
    ("date", "2025-02-30", ["date"]),
    ("date", "20250630", ["date"]),
    ("date", 20250630, ["date"]),
    ("date", None, ["date"]),
]


@pytest.mark.parametrize(("name", "value", "names"), MALFORMED)
def test_each_malformed_field_is_refused_and_named(name: str, value: object, names: list[str]):
    # Signed after the change: refused for its form, not because its signature is stale.
    # A body the signature cannot even be made over (a lone surrogate) goes with any.
    try:
        document = _signed(**{name: value})
    except UnicodeEncodeError:
        document = {"certificate": _cert(**{name: value}), "signature": _signed()["signature"]}
    assert _refused(document, *names).field == name


def test_a_batch_smaller_than_the_valid_count_is_refused_naming_both() -> None:
    error = _refused(_signed(statements_in_batch=1), "valid_statements", "statements_in_batch")
    assert error.field == "valid_statements"  # where the rule is checked: the second field


def test_a_sample_needs_a_sample_size_no_larger_than_the_batch() -> None:
    _refused(_signed(method="sample"), "sample_size")
    _refused(_signed(method="sample", sample_size=3), "sample_size", "statements_in_batch")
    assert parse_certificate(_signed(method="sample", sample_size=2)).sample_size == 2


def test_zero_statements_and_zero_valid_is_a_certificate() -> None:
    # A Member State none of whose nationals signed still certifies its (empty) batch.
    parsed = parse_certificate(_signed(statements_in_batch=0, valid_statements=0, valid_online=0))
    assert (parsed.statements_in_batch, parsed.valid_statements) == (0, 0)


def test_a_dict_with_keys_that_are_not_text_is_refused_not_a_crash() -> None:
    body: dict[Any, Any] = {**_cert(), 1: "one", None: "none"}
    _refused({"certificate": body, "signature": _signed()["signature"]}, "unknown")
    _refused({"certificate": _cert(), "signature": _signed()["signature"], 2: 0}, "unknown")


# --- properties -----------------------------------------------------------------------------

# Every text, lone surrogates included (JSON can spell them and json.loads returns them).
# Built from a list of characters: st.text leaves surrogates out whatever its alphabet says.
ANY_TEXT = st.lists(
    st.characters(exclude_categories=()) | st.characters(categories=["Cs"]), max_size=20
).map("".join)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(ANY_TEXT, inner, max_size=5),
    max_leaves=20,
)
# Values that pass the form of some field, so that the rules between fields are exercised.
PLAUSIBLE = st.sampled_from(
    [
        FORMAT,
        "eci",
        "PL",
        "full",
        "sample",
        "2025-06-30",
        0,
        1,
        2,
        3,
        None,
        encode_key(KEYS.signing_public_key),
        base64.b64encode(ROOT).decode(),
        {"slug": "clean-air", "registration_number": "ECI(2025)000007"},
        {"origin": "o", "size": 3, "root": base64.b64encode(ROOT).decode()},
    ]
)


def _outcome(document: object) -> CountCertificate | CertificateFormatError:
    """A certificate or CertificateFormatError: any other exception fails the test."""
    try:
        parsed = parse_certificate(document)
    except CertificateFormatError as exc:
        assert str(exc)
        return exc
    assert isinstance(parsed, CountCertificate)
    return parsed


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSONISH)
def test_any_json_value_is_parsed_or_refused_never_a_crash(value: object) -> None:
    _outcome(value)
    _outcome({"certificate": value, "signature": value})
    _outcome({"certificate": value, "signature": _signed()["signature"]})
    assert verify_certificate(value, KEYS.signing_public_key) is False


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(sorted(CERTIFICATE_FIELDS)), JSONISH | PLAUSIBLE))
def test_any_body_with_the_right_field_names_is_parsed_or_refused_never_a_crash(
    values: dict[str, object],
) -> None:
    document = {"certificate": {**_cert(), **values}, "signature": _signed()["signature"]}
    _outcome(document)
    assert isinstance(verify_certificate(document, KEYS.signing_public_key), bool)


PATHS = [(name,) for name in sorted(CERTIFICATE_FIELDS)] + [
    ("initiative", "slug"),
    ("initiative", "registration_number"),
    ("checkpoint", "origin"),
    ("checkpoint", "size"),
    ("checkpoint", "root"),
]


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(PATHS), value=JSONISH | PLAUSIBLE)
def test_a_value_replaced_is_read_back_or_refused_naming_its_field(
    path: tuple[str, ...], value: object
) -> None:
    document = copy.deepcopy(_signed())
    place = document["certificate"]
    for step in path[:-1]:
        place = place[step]
    place[path[-1]] = value
    outcome = _outcome(document)
    if isinstance(outcome, CertificateFormatError):
        assert ".".join(path) in str(outcome), str(outcome)
    else:
        assert outcome.document == document


SLUGS = st.from_regex(r"[-a-zA-Z0-9_]{1,40}", fullmatch=True)
LINES = st.text(
    st.characters(exclude_categories=["Cs"], min_codepoint=0x20), min_size=1, max_size=40
)


@st.composite
def certificates(draw: st.DrawFn) -> dict[str, Any]:
    """The certificate the toolkit writes, for any batch it could have verified."""
    size = draw(st.integers(0, 2**64 - 1))
    in_batch = draw(st.integers(0, min(size, 10**12)))
    valid = draw(st.integers(0, in_batch))
    sampled = in_batch > 0 and draw(st.booleans())
    return _cert(
        scheme=draw(SLUGS),
        initiative={"slug": draw(SLUGS), "registration_number": draw(LINES)},
        member_state=draw(st.from_regex(r"[A-Z]{2}", fullmatch=True)),
        checkpoint={
            "origin": draw(LINES),
            "size": size,
            "root": base64.b64encode(draw(st.binary(min_size=32, max_size=32))).decode(),
        },
        statements_in_batch=in_batch,
        valid_statements=valid,
        valid_online=valid,
        valid_paper=0,
        method="sample" if sampled else "full",
        sample_size=draw(st.integers(0, in_batch - 1)) if sampled else None,
        date=draw(st.dates(date(2020, 1, 1), date(2100, 12, 31))).isoformat(),
    )


@settings(max_examples=200, deadline=None)
@given(certificates())
def test_a_signed_certificate_reads_back_the_values_it_was_signed_with(
    body: dict[str, Any],
) -> None:
    # Through a file, as the platform and the toolkit receive it.
    document = json.loads(json.dumps(sign_certificate(body, KEYS.signing_seed), indent=2))
    parsed = parse_certificate(document)
    assert (parsed.scheme, parsed.initiative_slug, parsed.registration_number) == (
        body["scheme"],
        body["initiative"]["slug"],
        body["initiative"]["registration_number"],
    )
    assert parsed.member_state == body["member_state"]
    assert parsed.checkpoint_origin == body["checkpoint"]["origin"]
    assert parsed.checkpoint_size == body["checkpoint"]["size"]
    assert parsed.checkpoint_root == base64.b64decode(body["checkpoint"]["root"])
    assert (parsed.statements_in_batch, parsed.valid_statements) == (
        body["statements_in_batch"],
        body["valid_statements"],
    )
    assert (parsed.method, parsed.sample_size) == (body["method"], body["sample_size"])
    assert parsed.date.isoformat() == body["date"]
    assert parsed.document == document
    assert verify_certificate(parsed, KEYS.signing_public_key)
