"""`quorum authorities`: list, hand on a key certificate, add staff — never type a key."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from quorum.authorities.models import Authority, AuthorityKey
from quorum.authorities.services import authority_expect_key
from quorum.core.models import AuditEntry
from quorum.proofs.crypto import generate_authority_keys
from quorum.proofs.key_certificate import format_fingerprint, make_key_certificate

pytestmark = pytest.mark.django_db


def _certificate(tmp_path: Path, code: str = "FR", *, designate: bool = True) -> Path:
    certificate = make_key_certificate(
        generate_authority_keys(), scheme="eci", member_state=code, authority="Ministère"
    )
    if designate:
        authority_expect_key(
            scheme_code="eci",
            member_state=code,
            fingerprint=certificate.fingerprint,
            name="Ministère de l'Intérieur",
            actor_label="registrar",
        )
    path = tmp_path / f"{code}.json"
    path.write_text(certificate.to_json(), encoding="utf-8")
    return path


def test_an_operator_hands_on_a_key_certificate_that_matches_the_designation(tmp_path) -> None:
    path = _certificate(tmp_path)
    out = StringIO()
    call_command("authorities", "import-key", str(path), stdout=out)
    key = Authority.objects.select_related("current_key").get(member_state="FR").current_key
    assert key is not None and format_fingerprint(key.fingerprint) in out.getvalue()
    assert AuditEntry.objects.filter(action="quorum.authority.key_registered").count() == 1
    listing = StringIO()
    call_command("authorities", "list", stdout=listing)
    assert f"FR\tMinistère\tkey 1\t{format_fingerprint(key.fingerprint)}" in listing.getvalue()


def test_a_key_certificate_without_a_recorded_designation_is_refused(tmp_path) -> None:
    path = _certificate(tmp_path, designate=False)
    with pytest.raises(CommandError) as refused:
        call_command("authorities", "import-key", str(path))
    assert refused.value.returncode == 1
    assert not AuthorityKey.objects.exists()


@pytest.mark.parametrize(
    "content", [b"", b"not json", b"[]", b'{"key_certificate": {}}', b"{" * 100_000]
)
def test_a_file_that_is_not_a_key_certificate_is_refused_and_nothing_changes(
    tmp_path, content: bytes
) -> None:
    path = tmp_path / "k.json"
    path.write_bytes(content)
    with pytest.raises(CommandError) as refused:
        call_command("authorities", "import-key", str(path))
    assert refused.value.returncode == 1
    assert not AuthorityKey.objects.exists()


def test_a_missing_file_is_one_sentence(tmp_path) -> None:
    with pytest.raises(CommandError, match="cannot read"):
        call_command("authorities", "import-key", str(tmp_path / "nope.json"))


def test_there_is_no_command_that_takes_raw_keys() -> None:
    public = generate_authority_keys().public_part()
    with pytest.raises(CommandError):
        call_command(
            "authorities",
            "set-keys",
            "FR",
            "--sealing-key",
            public["sealing_public_key"],
            "--signing-key",
            public["signing_public_key"],
        )
    assert not Authority.objects.exists()


def test_a_certificate_for_an_unknown_member_state_is_refused(tmp_path) -> None:
    certificate = make_key_certificate(
        generate_authority_keys(), scheme="eci", member_state="UK", authority="Home Office"
    )
    path = tmp_path / "uk.json"
    path.write_text(json.dumps(certificate.document))
    with pytest.raises(CommandError, match="Unknown Member State"):
        call_command("authorities", "import-key", str(path))
