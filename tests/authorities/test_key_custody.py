"""Only the authority controls its keys: the ceremony, rotations, and every forgery refused."""

from __future__ import annotations

import json

import pytest

from quorum.authorities.models import Authority, AuthorityKey, KeyLogLeaf
from quorum.authorities.services import authority_expect_key, authority_key_register
from quorum.core.errors import DomainError
from quorum.core.models import AuditEntry
from quorum.proofs.crypto import generate_authority_keys
from quorum.proofs.key_certificate import make_key_certificate, parse_key_log_entry

pytestmark = pytest.mark.django_db


def _designate(registrar, code: str, keys, name: str = "Bundesverwaltungsamt") -> str:
    certificate = make_key_certificate(keys, scheme="eci", member_state=code, authority=name)
    authority_expect_key(
        scheme_code="eci",
        member_state=code,
        fingerprint=certificate.fingerprint,
        name=name,
        designation="Note verbale of 3 March 2026",
        actor=registrar,
    )
    return certificate.fingerprint


def _first_key(registrar, operator, code: str = "DE"):
    keys = generate_authority_keys()
    _designate(registrar, code, keys)
    certificate = make_key_certificate(
        keys, scheme="eci", member_state=code, authority="Bundesverwaltungsamt"
    )
    authority_key_register(certificate=certificate.document, actor=operator)
    return keys


def _key_of(code: str) -> AuthorityKey | None:
    return Authority.objects.select_related("current_key").get(member_state=code).current_key


def test_a_first_key_matching_the_designations_fingerprint_is_registered_and_logged(
    registrar, operator
) -> None:
    keys = generate_authority_keys()
    fingerprint = _designate(registrar, "DE", keys)
    certificate = make_key_certificate(
        keys, scheme="eci", member_state="DE", authority="Bundesverwaltungsamt"
    )
    key = authority_key_register(certificate=certificate.document, actor=operator)
    assert (key.sequence, key.fingerprint) == (1, fingerprint)
    assert _key_of("DE") == key
    leaf = KeyLogLeaf.objects.get()
    entry = parse_key_log_entry(leaf.data)
    assert (leaf.index, entry.member_state, entry.fingerprint) == (0, "DE", fingerprint)
    assert AuditEntry.objects.filter(action="quorum.authority.key_registered").count() == 1


def test_a_first_key_is_refused_before_the_registrar_recorded_a_designation(operator) -> None:
    keys = generate_authority_keys()
    certificate = make_key_certificate(keys, scheme="eci", member_state="DE", authority="X")
    with pytest.raises(DomainError):
        authority_key_register(certificate=certificate.document, actor=operator)
    assert not AuthorityKey.objects.exists()


def test_a_first_key_with_another_fingerprint_than_the_designation_is_refused(
    registrar, operator
) -> None:
    _designate(registrar, "DE", generate_authority_keys())
    other = make_key_certificate(
        generate_authority_keys(), scheme="eci", member_state="DE", authority="X"
    )
    with pytest.raises(DomainError) as refused:
        authority_key_register(certificate=other.document, actor=operator)
    assert refused.value.code == "fingerprint_mismatch"
    assert _key_of("DE") is None and not KeyLogLeaf.objects.exists()


def test_the_registrar_alone_cannot_register_a_key(registrar) -> None:
    keys = generate_authority_keys()
    _designate(registrar, "DE", keys)
    certificate = make_key_certificate(keys, scheme="eci", member_state="DE", authority="X")
    with pytest.raises(DomainError) as refused:
        authority_key_register(certificate=certificate.document, actor=registrar)
    assert refused.value.code == "registrar_cannot_register_keys"
    assert _key_of("DE") is None


def test_the_operator_alone_cannot_record_a_designation(operator) -> None:
    keys = generate_authority_keys()
    certificate = make_key_certificate(keys, scheme="eci", member_state="DE", authority="X")
    with pytest.raises(DomainError) as refused:
        authority_expect_key(
            scheme_code="eci",
            member_state="DE",
            fingerprint=certificate.fingerprint,
            name="X",
            actor=operator,
        )
    assert refused.value.code == "registrar_only"
    assert not Authority.objects.exists()


def test_whoever_recorded_the_fingerprint_cannot_also_hand_on_the_key(make_user) -> None:
    both = make_user("both", roles=("registrar", "operator"))
    keys = generate_authority_keys()
    _designate(both, "DE", keys)
    certificate = make_key_certificate(keys, scheme="eci", member_state="DE", authority="X")
    with pytest.raises(DomainError):
        authority_key_register(certificate=certificate.document, actor=both)
    assert _key_of("DE") is None


def test_the_reviews_attack_an_operator_key_swapped_in_during_collection_is_refused(
    registrar, operator
) -> None:
    real = _first_key(registrar, operator)
    before = _key_of("DE")
    attacker = generate_authority_keys()
    # As a first key (no rotation signature) …
    first = make_key_certificate(attacker, scheme="eci", member_state="DE", authority="Evil")
    # … as a rotation signed by the attacker's own key instead of the current one …
    fake_rotation = make_key_certificate(
        attacker,
        scheme="eci",
        member_state="DE",
        authority="Evil",
        previous=generate_authority_keys(),
    )
    for certificate in (first, fake_rotation):
        with pytest.raises(DomainError) as refused:
            authority_key_register(certificate=certificate.document, actor=operator)
        assert refused.value.code == "not_signed_by_current_key"
    # … and by re-opening the designation.
    with pytest.raises(DomainError):
        authority_expect_key(
            scheme_code="eci",
            member_state="DE",
            fingerprint=first.fingerprint,
            name="Evil",
            actor=registrar,
        )
    assert _key_of("DE") == before
    assert (
        before is not None and before.sealing_public_key == real.public_part()["sealing_public_key"]
    )
    assert KeyLogLeaf.objects.count() == 1


def test_a_rotation_signed_with_the_current_key_replaces_it_and_is_logged(
    registrar, operator
) -> None:
    current = _first_key(registrar, operator)
    new = generate_authority_keys()
    rotation = make_key_certificate(
        new, scheme="eci", member_state="DE", authority="Bundesverwaltungsamt", previous=current
    )
    key = authority_key_register(certificate=rotation.document, actor_label="authority staff")
    assert key.sequence == 2 and _key_of("DE") == key
    entries = [parse_key_log_entry(leaf.data) for leaf in KeyLogLeaf.objects.order_by("index")]
    assert [e.previous_signing_key for e in entries] == [
        None,
        current.public_part()["signing_public_key"],
    ]
    assert AuditEntry.objects.filter(action="quorum.authority.key_rotated").count() == 1


def test_a_rotation_signed_by_another_authoritys_key_is_refused(registrar, operator) -> None:
    _first_key(registrar, operator, "DE")
    french = _first_key(registrar, operator, "FR")
    forged = make_key_certificate(
        generate_authority_keys(), scheme="eci", member_state="DE", authority="X", previous=french
    )
    with pytest.raises(DomainError):
        authority_key_register(certificate=forged.document, actor=operator)
    assert _key_of("DE").sequence == 1


def test_a_rotation_signed_by_a_revoked_key_or_replayed_is_refused(registrar, operator) -> None:
    first = _first_key(registrar, operator)
    second = generate_authority_keys()
    rotation = make_key_certificate(
        second, scheme="eci", member_state="DE", authority="Amt", previous=first
    )
    authority_key_register(certificate=rotation.document, actor=operator)
    # The first key is revoked now: a thief of it cannot rotate.
    stolen = make_key_certificate(
        generate_authority_keys(), scheme="eci", member_state="DE", authority="X", previous=first
    )
    with pytest.raises(DomainError):
        authority_key_register(certificate=stolen.document, actor=operator)
    # Replaying the accepted rotation changes nothing either.
    with pytest.raises(DomainError):
        authority_key_register(certificate=rotation.document, actor=operator)
    assert _key_of("DE").sequence == 2
    assert KeyLogLeaf.objects.count() == 2


def test_a_key_never_comes_back(registrar, operator) -> None:
    first = _first_key(registrar, operator)
    second = generate_authority_keys()
    authority_key_register(
        certificate=make_key_certificate(
            second, scheme="eci", member_state="DE", authority="Amt", previous=first
        ).document,
        actor=operator,
    )
    back = make_key_certificate(
        first, scheme="eci", member_state="DE", authority="Amt", previous=second
    )
    with pytest.raises(DomainError) as refused:
        authority_key_register(certificate=back.document, actor=operator)
    assert refused.value.code == "key_reused"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d["key_certificate"].update(member_state="FR"),
        lambda d: d["key_certificate"].update(authority="Someone else"),
        lambda d: d.update(signature=d["signature"][:-4] + "AAA="),
        lambda d: d.pop("signature"),
        lambda d: d.update(extra=1),
        lambda d: d["key_certificate"].update(format="quorum-key-certificate-v0"),
    ],
)
def test_a_tampered_certificate_is_refused_and_nothing_changes(registrar, operator, tamper) -> None:
    keys = generate_authority_keys()
    _designate(registrar, "DE", keys)
    document = json.loads(
        json.dumps(
            make_key_certificate(keys, scheme="eci", member_state="DE", authority="Amt").document
        )
    )
    tamper(document)
    with pytest.raises(DomainError):
        authority_key_register(certificate=document, actor=operator)
    assert not AuthorityKey.objects.exists() and not KeyLogLeaf.objects.exists()


@pytest.mark.parametrize("name", ["Amt\u202e", "Amt\u2028Evil", "\u2066Amt"])
def test_an_authority_name_that_would_reorder_a_line_is_refused(
    registrar, operator, name: str
) -> None:
    keys = generate_authority_keys()
    _designate(registrar, "DE", keys)
    certificate = make_key_certificate(keys, scheme="eci", member_state="DE", authority=name)
    with pytest.raises(DomainError):
        authority_key_register(certificate=certificate.document, actor=operator)
    assert not AuthorityKey.objects.exists()
