"""quorum-authority check-certificate, and the certificate the toolkit writes.

The format itself (payload, signing, strict reading) is tested in
tests/proofs/test_count_certificate.py.
"""

from __future__ import annotations

import base64
import json
from datetime import date

from quorum.proofs.count_certificate import parse_certificate, sign_certificate
from quorum.proofs.crypto import encode_key, generate_authority_keys

KEYS = generate_authority_keys()


def _cert(**changes):
    cert = {
        "format": "quorum-certificate-v1",
        "scheme": "eci",
        "initiative": {"slug": "clean-air", "registration_number": "ECI(2025)000007"},
        "member_state": "PL",
        "authority_signing_key": encode_key(KEYS.signing_public_key),
        "checkpoint": {
            "origin": "quorum.test/clean-air",
            "size": 3,
            "root": base64.b64encode(bytes(32)).decode(),
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


def test_check_certificate_command(tmp_path, run_cli):
    path = tmp_path / "certificate.json"
    path.write_text(json.dumps(sign_certificate(_cert(), KEYS.signing_seed)))
    code, out, _ = run_cli(
        "check-certificate", str(path), "--signing-key", encode_key(KEYS.signing_public_key)
    )
    assert code == 0 and "valid signature" in out
    assert "PL certifies 2 valid statements for ECI(2025)000007 on 2025-06-30." in out
    other = generate_authority_keys()
    code, out, _ = run_cli(
        "check-certificate", str(path), "--signing-key", encode_key(other.signing_public_key)
    )
    assert code == 1 and "INVALID" in out and "not a certificate signed by this key" in out


def test_check_certificate_names_what_is_wrong_with_a_malformed_certificate(tmp_path, run_cli):
    path = tmp_path / "certificate.json"
    path.write_text(json.dumps(sign_certificate(_cert(date="30.06.2025"), KEYS.signing_seed)))
    code, out, _ = run_cli(
        "check-certificate", str(path), "--signing-key", encode_key(KEYS.signing_public_key)
    )
    assert code == 1
    assert "INVALID — not a well-formed certificate: date must be YYYY-MM-DD" in out


def test_check_certificate_refuses_deeply_nested_json_as_not_a_certificate(tmp_path, run_cli):
    path = tmp_path / "certificate.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    code, _, err = run_cli(
        "check-certificate", str(path), "--signing-key", encode_key(KEYS.signing_public_key)
    )
    assert code != 0 and "is not a JSON certificate" in err


def test_the_certificate_the_toolkit_writes_reads_back_as_its_report_says(world):
    statements = [
        world.part_b("Anna", "Nowak", world.pesel(date(1980, 1, 1), serial=n)) for n in range(3)
    ]
    code, out = world.verify(world.batch("PL", statements))
    assert code == 0
    report = world.report_of(out)
    document = json.loads((out / "certificate.json").read_text(encoding="utf-8"))
    parsed = parse_certificate(document)
    assert (parsed.member_state, parsed.initiative_slug) == ("PL", "clean-air")
    assert parsed.statements_in_batch == report["statements_in_batch"] == 3
    assert parsed.valid_statements == report["valid_statements"]
    assert (parsed.method, parsed.sample_size) == (report["method"], report["sample_size"])
    assert parsed.checkpoint_size == report["checkpoint"]["size"]
    assert parsed.checkpoint_root == base64.b64decode(report["checkpoint"]["root"])
    assert parsed.date == date(2025, 6, 30)
    assert parsed.authority_signing_key == world.keys["PL"].signing_public_key
