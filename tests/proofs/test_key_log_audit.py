"""The key log audited from the outside: a key changed without its authority is caught however
it was changed, and a signed rotation during a collection is flagged."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from quorum.authorities.models import Authority, AuthorityKey, KeyLogCheckpoint, KeyLogLeaf
from quorum.authorities.services import authority_key_register, key_log_ensure_checkpoint
from quorum.core.log_key import log_key
from quorum.proofs import merkle
from quorum.proofs.auditor import FetchError, audit
from quorum.proofs.crypto import encode_key, generate_authority_keys
from quorum.proofs.key_certificate import key_log_entry_bytes, make_key_certificate
from quorum.proofs.key_log_audit import audit_key_log

pytestmark = pytest.mark.django_db

BASE = "http://testserver"
API = f"{BASE}/api/v1"


@pytest.fixture
def fetch(client):
    def get(url: str) -> bytes:
        parts = urlsplit(url)
        response = client.get(parts.path + (f"?{parts.query}" if parts.query else ""))
        if response.status_code != 200:
            raise FetchError(f"HTTP {response.status_code}")
        return response.content

    return get


def _audit(fetch):
    return audit_key_log(API, log_key().verifier, fetch)


def _current(code: str) -> AuthorityKey:
    return Authority.objects.select_related("current_key").get(member_state=code).current_key


def test_an_honest_key_log_passes(authority_keys, fetch) -> None:
    result = _audit(fetch)
    assert result.ok, result.findings
    assert result.size == 27 and result.history.current("eci", "DE") is not None


def test_a_sealing_key_swapped_in_the_database_is_detected(authority_keys, fetch) -> None:
    AuthorityKey.objects.filter(pk=_current("DE").pk).update(
        sealing_public_key=encode_key(generate_authority_keys().sealing_public_key)
    )
    result = _audit(fetch)
    assert not result.ok
    assert any("DE publishes as current is not the last one" in f for f in result.findings)


def test_a_key_row_slipped_in_beside_the_log_is_detected(authority_keys, fetch) -> None:
    authority = Authority.objects.get(member_state="FR")
    rogue = generate_authority_keys().public_part()
    key = AuthorityKey.objects.create(
        authority=authority,
        sequence=2,
        fingerprint="0" * 64,
        registered_at=_current("FR").registered_at,
        **rogue,
    )
    Authority.objects.filter(pk=authority.pk).update(current_key=key)
    result = _audit(fetch)
    assert any("eci:FR publishes as current is not the last one" in f for f in result.findings)


def test_an_altered_key_log_entry_is_detected(authority_keys, fetch) -> None:
    leaf = KeyLogLeaf.objects.get(index=3)
    KeyLogLeaf.objects.filter(pk=leaf.pk).update(data=leaf.data.replace('"eci"', '"eco"', 1))
    result = _audit(fetch)
    assert any("do not reproduce its checkpoint" in f for f in result.findings)


def test_a_rotation_the_platform_logged_without_the_authoritys_signature_is_detected(
    authority_keys, fetch
) -> None:
    # The platform itself lies: it appends an entry rotating DE's key with a key it made, signs
    # the key log with its own log key, and publishes the new key as current.
    attacker = generate_authority_keys()
    forged = make_key_certificate(
        attacker,
        scheme="eci",
        member_state="DE",
        authority="Evil",
        previous=generate_authority_keys(),
    )
    authority = Authority.objects.get(member_state="DE")
    key = AuthorityKey.objects.create(
        authority=authority,
        sequence=2,
        fingerprint=forged.fingerprint,
        registered_at=_current("DE").registered_at,
        sealing_public_key=forged.sealing_public_key,
        signing_public_key=forged.signing_public_key,
    )
    data = key_log_entry_bytes(forged, registered_at="2026-06-01T00:00:00Z")
    KeyLogLeaf.objects.create(
        index=27, key=key, data=data.decode(), leaf_hash=merkle.leaf_hash(data)
    )
    Authority.objects.filter(pk=authority.pk).update(current_key=key)
    KeyLogCheckpoint.objects.all().delete()
    key_log_ensure_checkpoint()
    result = _audit(fetch)
    assert any("not signed by the authority's current key" in f for f in result.findings)


def test_a_signed_rotation_during_the_collection_is_flagged_but_passes(
    authority_keys, collecting_initiative, fetch
) -> None:
    from quorum.ledger.sequencer import sequence_all

    sequence_all()
    rotation = make_key_certificate(
        generate_authority_keys(),
        scheme="eci",
        member_state="AT",
        authority="BMI",
        previous=authority_keys["AT"],
    )
    authority_key_register(certificate=rotation.document, actor_label="test")
    report = audit(BASE, collecting_initiative.slug, fetch=fetch)
    assert report.ok, report.findings
    assert any(note.startswith("FLAG: the key of AT's authority changed") for note in report.notes)


def test_a_key_log_that_only_grew_since_the_saved_checkpoint_passes(authority_keys, fetch) -> None:
    saved = _audit(fetch).checkpoint
    rotation = make_key_certificate(
        generate_authority_keys(),
        scheme="eci",
        member_state="AT",
        authority="BMI",
        previous=authority_keys["AT"],
    )
    authority_key_register(certificate=rotation.document, actor_label="test")
    result = audit_key_log(API, log_key().verifier, fetch, previous=saved)
    assert result.ok, result.findings
    assert result.size == 28


def test_a_key_log_rewritten_since_the_saved_checkpoint_is_detected(authority_keys, fetch) -> None:
    saved = _audit(fetch).checkpoint
    # The platform drops DE's entry and re-signs the shorter history with its own log key.
    leaf = KeyLogLeaf.objects.get(index=26)
    authority = leaf.key.authority
    Authority.objects.filter(pk=authority.pk).update(current_key=None)
    leaf.delete()
    KeyLogCheckpoint.objects.all().delete()
    key_log_ensure_checkpoint()
    result = audit_key_log(API, log_key().verifier, fetch, previous=saved)
    assert any("shrank from 27 to 26" in f for f in result.findings)
