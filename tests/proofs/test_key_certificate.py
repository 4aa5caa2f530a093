"""Key certificates and the key log's rules (quorum.proofs.key_certificate), with no database.

The signatures in the hand-made documents here are computed by the tests themselves (domain,
then canonical JSON), so that a document refused for its form is refused for its form and not
because its signature happens to be stale.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quorum.proofs import crypto
from quorum.proofs import key_certificate as kc
from quorum.proofs.crypto import AuthorityKeys, generate_authority_keys

CREATED = "2026-03-03T09:30:00Z"
REGISTERED = "2026-03-04T10:00:00Z"
NAME = "Bundesverwaltungsamt"

# Fixed keys for the property tests: generating keys per example would only slow them down.
KEYS_A = generate_authority_keys()
KEYS_B = generate_authority_keys()
KEYS_C = generate_authority_keys()


def _first(keys: AuthorityKeys = KEYS_A, **overrides: Any) -> kc.KeyCertificate:
    arguments: dict[str, Any] = {
        "scheme": "eci",
        "member_state": "DE",
        "authority": NAME,
        "created_at": CREATED,
    }
    arguments.update(overrides)
    return kc.make_key_certificate(keys, **arguments)


def _rotation(
    keys: AuthorityKeys = KEYS_B, previous: AuthorityKeys = KEYS_A, **overrides: Any
) -> kc.KeyCertificate:
    return _first(keys, previous=previous, **overrides)


def _canonical(body: dict[str, Any]) -> bytes:
    """The canonical JSON of a body, written out here independently of the module."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _sign(seed: bytes, message: bytes) -> str:
    return base64.b64encode(crypto.sign(seed, message)).decode("ascii")


def _signed(
    body: dict[str, Any],
    keys: AuthorityKeys,
    previous: AuthorityKeys | None = None,
    *,
    domain: bytes = kc.DOMAIN,
) -> dict[str, Any]:
    """A document whose signatures over ``body`` are correct, whatever ``body`` says."""
    message = domain + _canonical(body)
    document: dict[str, Any] = {
        "key_certificate": body,
        "signature": _sign(keys.signing_seed, message),
    }
    if previous is not None:
        document["rotation_signature"] = _sign(previous.signing_seed, message)
    return document


def _body(keys: AuthorityKeys = KEYS_A, previous: AuthorityKeys | None = None) -> dict[str, Any]:
    return {
        "format": kc.FORMAT,
        "scheme": "eci",
        "member_state": "DE",
        "authority": NAME,
        "sealing_public_key": crypto.encode_key(keys.sealing_public_key),
        "signing_public_key": crypto.encode_key(keys.signing_public_key),
        "previous_signing_key": (
            crypto.encode_key(previous.signing_public_key) if previous is not None else None
        ),
        "created_at": CREATED,
    }


def _with(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**body, **changes}


def _refused(document: object, match: str | None = None) -> str:
    with pytest.raises(kc.KeyCertificateError, match=match) as refused:
        kc.parse_key_certificate(document)
    return str(refused.value)


def _non_canonical(encoded: str) -> str:
    """The same bytes with an unused padding bit set: decodes leniently, is not canonical."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = len(encoded.rstrip("=")) - 1
    value = alphabet.index(encoded[last])
    assert value & 1 == 0, "a canonical encoding has its unused bits clear"
    spoiled = encoded[:last] + alphabet[value | 1] + encoded[last + 1 :]
    assert base64.b64decode(spoiled) == base64.b64decode(encoded)
    return spoiled


# --- a first certificate and fingerprints ---------------------------------------------------


def test_a_first_certificate_parses_back_to_what_it_certifies() -> None:
    certificate = _first()
    parsed = kc.parse_key_certificate(certificate.document)
    assert parsed == certificate
    assert (parsed.scheme, parsed.member_state, parsed.authority) == ("eci", "DE", NAME)
    assert parsed.sealing_public_key == crypto.encode_key(KEYS_A.sealing_public_key)
    assert parsed.signing_public_key == crypto.encode_key(KEYS_A.signing_public_key)
    assert parsed.previous_signing_key is None and not parsed.is_rotation
    assert parsed.created_at == CREATED
    assert set(parsed.document) == {"key_certificate", "signature"}


def test_a_certificate_parses_back_from_the_json_file_the_toolkit_writes() -> None:
    certificate = _first()
    text = certificate.to_json()
    assert kc.parse_key_certificate(text) == certificate
    assert kc.parse_key_certificate(text.encode("utf-8")) == certificate


def test_a_certificate_made_without_a_moment_is_dated_now_in_utc() -> None:
    certificate = kc.make_key_certificate(KEYS_A, scheme="eci", member_state="DE", authority=NAME)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", certificate.created_at)


def test_the_fingerprint_is_64_hex_digits_and_the_same_every_time() -> None:
    certificate = _first()
    again = _first(created_at="2027-01-01T00:00:00Z", authority="Another name")
    assert re.fullmatch(r"[0-9a-f]{64}", certificate.fingerprint)
    assert certificate.fingerprint == again.fingerprint
    assert certificate.fingerprint == kc.fingerprint(
        scheme="eci",
        member_state="DE",
        sealing_public_key=crypto.encode_key(KEYS_A.sealing_public_key),
        signing_public_key=crypto.encode_key(KEYS_A.signing_public_key),
    )


@pytest.mark.parametrize(
    "change",
    [
        {"scheme": "nci"},
        {"member_state": "FR"},
        {"sealing_public_key": crypto.encode_key(KEYS_B.sealing_public_key)},
        {"signing_public_key": crypto.encode_key(KEYS_B.signing_public_key)},
    ],
    ids=["scheme", "member_state", "sealing_key", "signing_key"],
)
def test_the_fingerprint_changes_when_any_part_of_the_key_set_changes(
    change: dict[str, str],
) -> None:
    parts = {
        "scheme": "eci",
        "member_state": "DE",
        "sealing_public_key": crypto.encode_key(KEYS_A.sealing_public_key),
        "signing_public_key": crypto.encode_key(KEYS_A.signing_public_key),
    }
    assert kc.fingerprint(**parts) != kc.fingerprint(**{**parts, **change})


def test_swapping_the_two_keys_gives_another_fingerprint() -> None:
    sealing = crypto.encode_key(KEYS_A.sealing_public_key)
    signing = crypto.encode_key(KEYS_A.signing_public_key)
    assert kc.fingerprint(
        scheme="eci", member_state="DE", sealing_public_key=sealing, signing_public_key=signing
    ) != kc.fingerprint(
        scheme="eci", member_state="DE", sealing_public_key=signing, signing_public_key=sealing
    )


def test_a_formatted_fingerprint_is_sixteen_groups_of_four_and_reads_back() -> None:
    value = _first().fingerprint
    shown = kc.format_fingerprint(value)
    assert re.fullmatch(r"([0-9a-f]{4} ){15}[0-9a-f]{4}", shown)
    assert kc.normalise_fingerprint(shown) == value


@pytest.mark.parametrize(
    "spell",
    [
        lambda v: v,
        lambda v: v.upper(),
        lambda v: ":".join(v[i : i + 2] for i in range(0, 64, 2)),
        lambda v: " ".join(v[i : i + 4] for i in range(0, 64, 4)).upper(),
        lambda v: f"  {v[:32]}\n{v[32:]}\t",
        lambda v: "-".join(v[i : i + 8] for i in range(0, 64, 8)),
    ],
    ids=["plain", "upper", "colons", "groups_upper", "whitespace", "dashes"],
)
def test_a_fingerprint_typed_with_spaces_colons_or_capitals_is_understood(spell) -> None:
    value = _first().fingerprint
    assert kc.normalise_fingerprint(spell(value)) == value


@pytest.mark.parametrize(
    "spell",
    [
        lambda v: v[:63],
        lambda v: v + "0",
        lambda v: v[:63] + "g",
        lambda v: v[:63] + "é",
        lambda v: "0x" + v,
        lambda v: v[:32] + "_" + v[32:],
        lambda v: "",
        lambda v: " " * 300 + v,
    ],
    ids=["63_digits", "65_digits", "not_hex", "accent", "0x", "underscore", "empty", "too_long"],
)
def test_anything_but_64_hex_digits_is_not_a_fingerprint(spell) -> None:
    assert kc.normalise_fingerprint(spell(_first().fingerprint)) is None


def test_a_fingerprint_that_is_not_text_is_not_a_fingerprint() -> None:
    assert kc.normalise_fingerprint(b"0" * 64) is None  # type: ignore[arg-type]
    assert kc.normalise_fingerprint(None) is None  # type: ignore[arg-type]


# --- rotations ------------------------------------------------------------------------------


def test_a_rotation_signed_by_the_previous_key_parses_back() -> None:
    certificate = _rotation()
    parsed = kc.parse_key_certificate(certificate.document)
    assert parsed == certificate and parsed.is_rotation
    assert parsed.previous_signing_key == crypto.encode_key(KEYS_A.signing_public_key)
    assert parsed.signing_public_key == crypto.encode_key(KEYS_B.signing_public_key)
    assert set(parsed.document) == {"key_certificate", "signature", "rotation_signature"}


def test_a_rotation_to_the_current_keys_cannot_be_made() -> None:
    with pytest.raises(kc.KeyCertificateError):
        _rotation(keys=KEYS_A, previous=KEYS_A)


def test_a_rotation_without_a_rotation_signature_is_refused() -> None:
    document = copy.deepcopy(_rotation().document)
    del document["rotation_signature"]
    _refused(document, "rotation_signature")


def test_a_first_certificate_with_a_rotation_signature_is_refused() -> None:
    document = copy.deepcopy(_first().document)
    document["rotation_signature"] = _rotation().document["rotation_signature"]
    _refused(document)


def test_a_rotation_signed_by_a_third_key_is_refused() -> None:
    document = _signed(_body(KEYS_B, previous=KEYS_A), KEYS_B, previous=KEYS_C)
    _refused(document, "previous signing key")


def test_a_rotation_whose_previous_key_is_its_own_key_is_refused() -> None:
    body = _with(_body(KEYS_B), previous_signing_key=crypto.encode_key(KEYS_B.signing_public_key))
    _refused(_signed(body, KEYS_B, previous=KEYS_B))


def test_a_certificate_signed_by_another_key_than_the_one_it_brings_is_refused() -> None:
    _refused(_signed(_body(KEYS_A), KEYS_C), "signature")


def test_the_hand_made_signatures_of_these_tests_are_the_modules_own() -> None:
    # Without this the refusals around it could be the tests' own mistake.
    assert kc.parse_key_certificate(_signed(_body(KEYS_A), KEYS_A)) == _first()
    rotation = _signed(_body(KEYS_B, previous=KEYS_A), KEYS_B, previous=KEYS_A)
    assert kc.parse_key_certificate(rotation) == _rotation()


# --- tampering ------------------------------------------------------------------------------

TAMPERED_FIELDS = {
    "scheme": "nci",
    "member_state": "FR",
    "authority": "Bundesverwaltungsamt (forged)",
    "sealing_public_key": crypto.encode_key(KEYS_C.sealing_public_key),
    "signing_public_key": crypto.encode_key(KEYS_C.signing_public_key),
    "previous_signing_key": crypto.encode_key(KEYS_C.signing_public_key),
    "created_at": "2026-03-03T09:30:01Z",
}


@pytest.mark.parametrize("name", sorted(TAMPERED_FIELDS))
@pytest.mark.parametrize("make", [_first, _rotation], ids=["first", "rotation"])
def test_a_certificate_whose_body_was_changed_after_signing_is_refused(make, name: str) -> None:
    document = copy.deepcopy(make().document)
    document["key_certificate"][name] = TAMPERED_FIELDS[name]
    _refused(document)


@pytest.mark.parametrize("name", ["signature", "rotation_signature"])
def test_a_signature_with_one_bit_flipped_is_refused(name: str) -> None:
    document = copy.deepcopy(_rotation().document)
    raw = bytearray(base64.b64decode(document[name]))
    raw[7] ^= 0x01
    document[name] = base64.b64encode(bytes(raw)).decode("ascii")
    _refused(document, "signature|signed")


def test_a_signature_over_the_body_without_the_domain_does_not_verify() -> None:
    _refused(_signed(_body(KEYS_A), KEYS_A, domain=b""), "signature")


def test_a_rotation_signature_over_the_body_without_the_domain_does_not_verify() -> None:
    body = _body(KEYS_B, previous=KEYS_A)
    document = _signed(body, KEYS_B, previous=KEYS_A)
    document["rotation_signature"] = _sign(KEYS_A.signing_seed, _canonical(body))
    _refused(document, "rotation")


def test_a_signature_under_another_documents_domain_does_not_verify() -> None:
    _refused(_signed(_body(KEYS_A), KEYS_A, domain=b"quorum-certificate-v1\n"), "signature")


# --- form -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(kc._FIELDS))
def test_a_certificate_missing_a_field_is_refused(name: str) -> None:
    body = _body(KEYS_A)
    del body[name]
    _refused(_signed(body, KEYS_A), "exactly the fields")


def test_a_certificate_with_an_extra_field_is_refused() -> None:
    _refused(_signed(_with(_body(KEYS_A), comment="hello"), KEYS_A), "exactly the fields")


@pytest.mark.parametrize(
    "document",
    [
        lambda d: {**d, "comment": "hello"},
        lambda d: {"key_certificate": d["key_certificate"]},
        lambda d: {"signature": d["signature"]},
        lambda d: {},
    ],
    ids=["extra", "no_signature", "no_body", "empty"],
)
def test_a_document_with_other_top_level_fields_is_refused(document) -> None:
    _refused(document(copy.deepcopy(_first().document)))


@pytest.mark.parametrize("document", [None, 0, [], "[]", b"null", "not json", b"\xff\xfe"])
def test_something_that_is_not_a_json_object_is_refused(document: object) -> None:
    _refused(document)


def test_a_document_larger_than_a_certificate_can_be_is_refused_before_it_is_read() -> None:
    _refused(" " * (16 * 1024 + 1), "too large")


@pytest.mark.parametrize(
    "change",
    [
        {"format": "quorum-key-certificate-v2"},
        {"scheme": "ECI"},
        {"scheme": ""},
        {"scheme": 1},
        {"member_state": "de"},
        {"member_state": "DEU"},
        {"member_state": None},
        {"created_at": 1772530200},
    ],
    ids=str,
)
def test_a_certificate_with_a_malformed_field_is_refused(change: dict[str, Any]) -> None:
    _refused(_signed(_with(_body(KEYS_A), **change), KEYS_A))


@pytest.mark.parametrize("name", ["sealing_public_key", "signing_public_key"])
def test_a_key_in_non_canonical_base64_is_refused(name: str) -> None:
    body = _body(KEYS_A)
    body[name] = _non_canonical(body[name])
    # The signing key must still verify the signature for the refusal to be about the form.
    _refused(_signed(body, KEYS_A), "canonical")


def test_a_previous_key_in_non_canonical_base64_is_refused() -> None:
    body = _body(KEYS_B, previous=KEYS_A)
    body["previous_signing_key"] = _non_canonical(body["previous_signing_key"])
    _refused(_signed(body, KEYS_B, previous=KEYS_A), "canonical")


@pytest.mark.parametrize("spell", [" {}", "{} ", "{}\n", "\t{}"], ids=repr)
def test_a_key_with_whitespace_around_it_is_refused(spell: str) -> None:
    body = _body(KEYS_A)
    body["sealing_public_key"] = spell.format(body["sealing_public_key"])
    _refused(_signed(body, KEYS_A), "canonical")


@pytest.mark.parametrize(
    "value",
    [crypto.encode_key(b"\x01" * 31), crypto.encode_key(b"\x01" * 33), "not base64!", 32],
    ids=["short", "long", "garbage", "number"],
)
def test_a_key_of_the_wrong_size_or_kind_is_refused(value: object) -> None:
    _refused(_signed(_with(_body(KEYS_A), sealing_public_key=value), KEYS_A))


@pytest.mark.parametrize("name", ["signature", "rotation_signature"])
def test_a_signature_in_non_canonical_base64_is_refused(name: str) -> None:
    document = copy.deepcopy(_rotation().document)
    document[name] = _non_canonical(document[name])
    _refused(document, "malformed")


@pytest.mark.parametrize(
    "value",
    ["", "!!!!", base64.b64encode(b"\x00" * 63).decode(), 7, None, "é" * 88],
    ids=["empty", "not_base64", "63_bytes", "number", "null", "not_ascii"],
)
def test_a_signature_that_is_not_64_bytes_of_base64_is_refused(value: object) -> None:
    document = copy.deepcopy(_first().document)
    document["signature"] = value
    _refused(document)


@pytest.mark.parametrize(
    "moment",
    [
        "2026-02-30T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-00-10T00:00:00Z",
        "2026-01-01T24:00:00Z",
        "2026-01-01T23:60:00Z",
        "0000-01-01T00:00:00Z",
        "2026-01-01 00:00:00Z",
        "2026-01-01T00:00:00+00:00",
        "2026-01-01T00:00:00.5Z",
        "2026-01-01T00:00:00z",
        "２０２６-01-01T00:00:00Z",
        "2026-01-01",
    ],
)
def test_a_created_at_that_is_not_a_real_utc_moment_is_refused(moment: str) -> None:
    _refused(_signed(_with(_body(KEYS_A), created_at=moment), KEYS_A), "created_at")


def test_a_leap_day_is_a_real_moment() -> None:
    body = _with(_body(KEYS_A), created_at="2028-02-29T23:59:59Z")
    assert kc.parse_key_certificate(_signed(body, KEYS_A)).created_at == "2028-02-29T23:59:59Z"


@pytest.mark.parametrize(
    "name",
    [
        "Amt\x1b[2J",
        "Amt\n",
        "Amt\tA",
        "\x00",
        "Amt\x7f",
        "Amt\x85",
        "Amt\x9f",
        "",
        "   ",
        "A" * 201,
    ],
    ids=["escape", "newline", "tab", "nul", "del", "c1_nel", "c1_last", "empty", "blank", "201"],
)
def test_an_authority_name_with_control_characters_empty_or_too_long_is_refused(
    name: str,
) -> None:
    _refused(_signed(_with(_body(KEYS_A), authority=name), KEYS_A), "authority")
    with pytest.raises(kc.KeyCertificateError):
        _first(authority=name)


@pytest.mark.parametrize("name", ["\ud800", "Amt \udfff"], ids=["high", "low"])
def test_an_authority_name_with_a_lone_surrogate_is_refused_not_a_crash(name: str) -> None:
    # JSON can spell a lone surrogate ("\ud800") and json.loads gives it back: the signed
    # bytes cannot be made from it, so it must be refused like any other bad name.
    body = _with(_body(KEYS_A), authority=name)
    signature = _sign(KEYS_A.signing_seed, b"anything")
    document = {"key_certificate": body, "signature": signature}
    _refused(document, "authority")
    _refused(json.dumps(document), "authority")
    _refused(json.dumps(document).encode("ascii"), "authority")
    with pytest.raises(kc.KeyCertificateError):
        _first(authority=name)


def test_a_document_given_as_text_with_a_lone_surrogate_is_refused_not_a_crash() -> None:
    _refused("\ud800")
    _refused(_first().to_json().replace(NAME, "\udc00"))


@pytest.mark.parametrize(
    "name", ["A" * 200, "Ministère de l'Intérieur", "Υπουργείο Εσωτερικών", "\u00a0Amt"]
)
def test_an_authority_name_of_up_to_200_printable_characters_is_accepted(name: str) -> None:
    assert kc.parse_key_certificate(_signed(_with(_body(KEYS_A), authority=name), KEYS_A))


# --- properties -----------------------------------------------------------------------------

# Every text, lone surrogates included (JSON can spell them and json.loads returns them).
# Built from a list of characters: st.text leaves surrogates out whatever its alphabet says.
ANY_TEXT = st.lists(
    st.characters(exclude_categories=()) | st.characters(categories=["Cs"]), max_size=20
).map("".join)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(ANY_TEXT, inner, max_size=5),
    max_leaves=20,
)
FIRST = _first()
ROTATION = _rotation()
# Values that pass the form of some field, so that the signatures are what must refuse them.
PLAUSIBLE = st.sampled_from(
    [
        kc.FORMAT,
        "eci",
        "nci",
        "DE",
        "FR",
        NAME,
        "Another authority",
        "2026-03-03T09:30:01Z",
        CREATED,
        *(
            crypto.encode_key(key)
            for keys in (KEYS_A, KEYS_B, KEYS_C)
            for key in (keys.sealing_public_key, keys.signing_public_key)
        ),
        FIRST.document["signature"],
        ROTATION.document["signature"],
        ROTATION.document["rotation_signature"],
        None,
    ]
)


def _parse_or_refuse(document: object) -> None:
    """Either a key certificate or KeyCertificateError: any other exception fails the test."""
    try:
        parsed = kc.parse_key_certificate(document)
    except kc.KeyCertificateError:
        return
    assert isinstance(parsed, kc.KeyCertificate)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSONISH)
def test_any_json_value_is_parsed_or_refused_never_a_crash(value: object) -> None:
    _parse_or_refuse(value)
    _parse_or_refuse({"key_certificate": value, "signature": value})
    _parse_or_refuse(json.dumps(value))


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(kc._FIELDS)), JSONISH | PLAUSIBLE, max_size=3))
def test_any_body_with_the_right_field_names_is_parsed_or_refused_never_a_crash(
    values: dict[str, object],
) -> None:
    body = {**_body(KEYS_A), **values}
    _parse_or_refuse({"key_certificate": body, "signature": FIRST.document["signature"]})
    _parse_or_refuse(_signed_or_none(body))


def _signed_or_none(body: dict[str, Any]) -> object:
    # A body the tests cannot even encode (a lone surrogate) is sent unsigned.
    try:
        return _signed(body, KEYS_A)
    except UnicodeEncodeError:
        return {"key_certificate": body, "signature": FIRST.document["signature"]}


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_are_parsed_or_refused_never_a_crash(raw: bytes) -> None:
    _parse_or_refuse(raw)
    _parse_or_refuse(FIRST.to_json().encode("utf-8")[: len(raw)] + raw)


PATHS = [("signature",), ("rotation_signature",)] + [("key_certificate", n) for n in kc._FIELDS]


@settings(max_examples=500, deadline=None)
@given(
    which=st.sampled_from([FIRST, ROTATION]),
    path=st.sampled_from(sorted(PATHS)),
    value=JSONISH | PLAUSIBLE,
)
def test_a_certificate_with_one_value_replaced_is_accepted_only_if_nothing_changed(
    which: kc.KeyCertificate, path: tuple[str, ...], value: object
) -> None:
    document = copy.deepcopy(which.document)
    parent = document if len(path) == 1 else document[path[0]]
    missing = object()
    original = parent.get(path[-1], missing)
    parent[path[-1]] = value
    try:
        parsed = kc.parse_key_certificate(document)
    except kc.KeyCertificateError:
        assert original is missing or value != original
    else:
        assert original is not missing and value == original
        assert parsed == which


# --- the key log ----------------------------------------------------------------------------

DE_1, DE_2, FR_1, THIRD = (generate_authority_keys() for _ in range(4))


def _cert(
    keys: AuthorityKeys, member_state: str = "DE", previous: AuthorityKeys | None = None
) -> kc.KeyCertificate:
    return kc.make_key_certificate(
        keys,
        scheme="eci",
        member_state=member_state,
        authority=f"Authority {member_state}",
        previous=previous,
        created_at=CREATED,
    )


def _leaf(certificate: kc.KeyCertificate, at: str = REGISTERED) -> bytes:
    return kc.key_log_entry_bytes(certificate, registered_at=at)


def _legacy(keys: AuthorityKeys, member_state: str) -> bytes:
    return kc.key_log_entry_bytes(
        None,
        registered_at=REGISTERED,
        legacy_keys=(
            "eci",
            member_state,
            crypto.encode_key(keys.sealing_public_key),
            crypto.encode_key(keys.signing_public_key),
        ),
    )


def _one_problem(history: kc.KeyHistory, index: int, words: str) -> None:
    assert len(history.problems) == 1, history.problems
    assert history.problems[0].startswith(f"key log entry {index} "), history.problems
    assert words in history.problems[0], history.problems


def test_an_honest_history_with_a_rotation_has_no_problems() -> None:
    rotation = _cert(DE_2, previous=DE_1)
    history = kc.check_key_history([_leaf(_cert(DE_1)), _leaf(_cert(FR_1, "FR")), _leaf(rotation)])
    assert history.problems == [] and history.legacy == []
    current = history.current("eci", "DE")
    assert current is not None
    assert current.signing_public_key == crypto.encode_key(DE_2.signing_public_key)
    assert current.fingerprint == rotation.fingerprint and current.certificate == rotation
    assert [e.fingerprint for e in history.keys[("eci", "DE")]] == [
        _cert(DE_1).fingerprint,
        rotation.fingerprint,
    ]
    assert history.current("eci", "FR").fingerprint == _cert(FR_1, "FR").fingerprint
    assert history.current("eci", "IT") is None
    assert history.sealing_keys("eci", "DE") == [
        crypto.encode_key(DE_1.sealing_public_key),
        crypto.encode_key(DE_2.sealing_public_key),
    ]


def test_the_leaves_may_be_given_as_bytes_text_or_parsed_json() -> None:
    leaf = _leaf(_cert(DE_1))
    for form in (leaf, leaf.decode("utf-8"), json.loads(leaf)):
        history = kc.check_key_history([form])
        assert history.problems == [] and history.current("eci", "DE") is not None


def test_a_key_log_leaf_is_canonical_json_naming_the_certificates_fingerprint() -> None:
    certificate = _cert(DE_1)
    leaf = _leaf(certificate)
    value = json.loads(leaf)
    assert leaf == _canonical(value)
    assert value["format"] == kc.ENTRY_FORMAT
    assert value["fingerprint"] == certificate.fingerprint
    assert value["certificate"] == certificate.document
    assert kc.parse_key_log_entry(leaf).certificate == certificate


def test_an_empty_key_log_is_an_honest_one() -> None:
    history = kc.check_key_history([])
    assert history.problems == [] and history.keys == {} and history.legacy == []


def test_a_rotation_not_from_the_authoritys_current_key_is_a_problem() -> None:
    # A correctly signed rotation, but from a key that is not DE's: whoever holds THIRD
    # (an operator, say) tried to replace the authority's key.
    history = kc.check_key_history([_leaf(_cert(DE_1)), _leaf(_cert(DE_2, previous=THIRD))])
    _one_problem(history, 1, "not signed by the authority's current key")
    assert history.current("eci", "DE").signing_public_key == crypto.encode_key(
        DE_1.signing_public_key
    )


def test_a_rotation_from_an_older_key_of_the_same_authority_is_a_problem() -> None:
    third = generate_authority_keys()
    history = kc.check_key_history(
        [
            _leaf(_cert(DE_1)),
            _leaf(_cert(DE_2, previous=DE_1)),
            _leaf(_cert(third, previous=DE_1)),
        ]
    )
    _one_problem(history, 2, "not signed by the authority's current key")


def test_a_first_entry_that_rotates_from_a_key_the_log_never_held_is_a_problem() -> None:
    history = kc.check_key_history([_leaf(_cert(DE_2, previous=DE_1))])
    _one_problem(history, 0, "never held")
    assert history.current("eci", "DE") is None


def test_a_second_first_key_for_the_same_authority_is_a_problem() -> None:
    history = kc.check_key_history([_leaf(_cert(DE_1)), _leaf(_cert(DE_2))])
    _one_problem(history, 1, "not signed by the authority's current key")


def test_a_key_brought_back_by_a_signed_rotation_is_a_problem() -> None:
    history = kc.check_key_history(
        [
            _leaf(_cert(DE_1)),
            _leaf(_cert(DE_2, previous=DE_1)),
            _leaf(_cert(DE_1, previous=DE_2)),
        ]
    )
    _one_problem(history, 2, "brings back")
    assert history.current("eci", "DE").signing_public_key == crypto.encode_key(
        DE_2.signing_public_key
    )


def test_another_authoritys_keys_brought_in_are_a_problem() -> None:
    history = kc.check_key_history([_leaf(_cert(DE_1)), _leaf(_cert(DE_1, "FR"))])
    _one_problem(history, 1, "brings back")
    assert history.current("eci", "FR") is None


def test_the_same_entry_twice_is_a_problem() -> None:
    leaf = _leaf(_cert(DE_1))
    _one_problem(kc.check_key_history([leaf, leaf]), 1, "not signed by the authority's current key")


def _entry(**changes: Any) -> bytes:
    value = json.loads(_leaf(_cert(DE_2, previous=DE_1)))
    value.update(changes)
    # ASCII-escaped, so that a lone surrogate travels as JSON spells it.
    return json.dumps(value).encode("ascii")


@pytest.mark.parametrize(
    "leaf",
    [
        b"not json",
        b"\xff\xfe",
        b"[]",
        b"{}",
        "\ud800",
        b'{"certificate": {}}',
        _entry(fingerprint="0" * 64),
        _entry(fingerprint=_cert(DE_1).fingerprint),
        _entry(member_state="FR"),
        _entry(format="quorum-key-log-entry-v2"),
        _entry(registered_at="yesterday"),
        _entry(extra=1),
        _entry(legacy_keys={}),
        _entry(
            certificate={**_cert(DE_1).document, "signature": _rotation().document["signature"]}
        ),
        _entry(certificate={**_cert(DE_1).document, "key_certificate": {"authority": "x"}}),
        _entry(
            certificate={
                **_cert(DE_1).document,
                "key_certificate": _with(_body(DE_1), authority="\ud800"),
            }
        ),
    ],
    ids=[
        "garbage",
        "not_utf8",
        "list",
        "empty",
        "surrogate",
        "only_certificate",
        "wrong_fingerprint",
        "fingerprint_of_another_key",
        "other_member_state",
        "format",
        "registered_at",
        "extra_field",
        "certificate_and_legacy",
        "bad_signature",
        "bad_certificate",
        "surrogate_in_certificate",
    ],
)
def test_an_invalid_leaf_is_reported_and_the_rest_of_the_log_still_read(leaf: object) -> None:
    history = kc.check_key_history([_leaf(_cert(DE_1)), leaf, _leaf(_cert(FR_1, "FR"))])
    _one_problem(history, 1, "is invalid")
    assert history.current("eci", "DE") is not None and history.current("eci", "FR") is not None


def test_legacy_entries_may_open_the_log_and_are_listed_as_legacy() -> None:
    history = kc.check_key_history(
        [_legacy(DE_1, "DE"), _legacy(FR_1, "FR"), _leaf(_cert(DE_2, previous=DE_1))]
    )
    assert history.problems == []
    assert history.legacy == [("eci", "DE"), ("eci", "FR")]
    assert history.current("eci", "FR").certificate is None
    assert history.current("eci", "DE").signing_public_key == crypto.encode_key(
        DE_2.signing_public_key
    )


def test_a_legacy_entry_after_a_certified_one_is_a_problem() -> None:
    history = kc.check_key_history([_leaf(_cert(DE_1)), _legacy(FR_1, "FR")])
    _one_problem(history, 1, "unsigned keys after the log began to hold certificates")
    assert history.legacy == [] and history.current("eci", "FR") is None


def test_a_legacy_entry_as_an_authoritys_second_entry_is_a_problem() -> None:
    history = kc.check_key_history([_legacy(DE_1, "DE"), _legacy(DE_2, "DE")])
    _one_problem(history, 1, "unsigned keys")
    assert history.legacy == [("eci", "DE")]
    assert history.current("eci", "DE").signing_public_key == crypto.encode_key(
        DE_1.signing_public_key
    )


def test_a_legacy_entry_with_a_wrong_fingerprint_is_invalid() -> None:
    value = json.loads(_legacy(DE_1, "DE"))
    value["fingerprint"] = "0" * 64
    _one_problem(kc.check_key_history([_canonical(value)]), 0, "is invalid")


def test_a_log_entry_holds_a_certificate_or_legacy_keys_never_both_nor_neither() -> None:
    keys = ("eci", "DE", "a", "b")
    with pytest.raises(kc.KeyCertificateError):
        kc.key_log_entry_bytes(None, registered_at=REGISTERED)
    with pytest.raises(kc.KeyCertificateError):
        kc.key_log_entry_bytes(_cert(DE_1), registered_at=REGISTERED, legacy_keys=keys)
