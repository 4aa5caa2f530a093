"""quorum.proofs.count_certificate: canonical payload, signing and checking."""

from __future__ import annotations

import base64
import json

import pytest

from quorum.proofs.count_certificate import (
    certificate_payload_bytes,
    sign_certificate,
    verify_certificate,
)
from quorum.proofs.crypto import encode_key, generate_authority_keys, sign

KEYS = generate_authority_keys()


def _cert(**changes):
    cert = {
        "format": "quorum-certificate-v1",
        "scheme": "eci",
        "initiative": {"slug": "clean-air", "registration_number": "ECI(2025)000007"},
        "member_state": "PL",
        "authority_signing_key": encode_key(KEYS.signing_public_key),
        "checkpoint": {"origin": "quorum.test/clean-air", "size": 3, "root": "AA=="},
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


def test_payload_is_canonical_json():
    payload = certificate_payload_bytes({"b": 1, "a": {"ž": "é", "c": None}})
    assert payload == '{"a":{"c":null,"ž":"é"},"b":1}'.encode()


def test_signature_is_ed25519_over_the_payload():
    document = sign_certificate(_cert(), KEYS.signing_seed)
    expected = sign(KEYS.signing_seed, certificate_payload_bytes(_cert()))
    assert base64.b64decode(document["signature"]) == expected
    assert verify_certificate(document, KEYS.signing_public_key)
    # A round trip through a file, as the platform receives it.
    assert verify_certificate(json.loads(json.dumps(document, indent=2)), KEYS.signing_public_key)


def test_other_keys_and_changes_do_not_verify():
    other = generate_authority_keys()
    document = sign_certificate(_cert(), KEYS.signing_seed)
    assert not verify_certificate(document, other.signing_public_key)
    # Signed by the other key but claiming ours.
    assert not verify_certificate(
        sign_certificate(_cert(), other.signing_seed), KEYS.signing_public_key
    )
    for change in ({"valid_statements": 3}, {"member_state": "DE"}, {"date": "2025-07-01"}):
        tampered = {**document, "certificate": {**document["certificate"], **change}}
        assert not verify_certificate(tampered, KEYS.signing_public_key)


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
def test_malformed_documents_are_just_invalid(document):
    assert verify_certificate(document, KEYS.signing_public_key) is False


def test_a_malformed_key_is_just_invalid():
    document = sign_certificate(_cert(), KEYS.signing_seed)
    assert verify_certificate(document, b"short") is False
    assert verify_certificate(document, "text") is False  # type: ignore[arg-type]


def test_check_certificate_command(tmp_path, run_cli):
    path = tmp_path / "certificate.json"
    path.write_text(json.dumps(sign_certificate(_cert(), KEYS.signing_seed)))
    code, out, _ = run_cli(
        "check-certificate", str(path), "--signing-key", encode_key(KEYS.signing_public_key)
    )
    assert code == 0 and "valid signature" in out
    other = generate_authority_keys()
    code, out, _ = run_cli(
        "check-certificate", str(path), "--signing-key", encode_key(other.signing_public_key)
    )
    assert code == 1 and "INVALID" in out
