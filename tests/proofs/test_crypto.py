"""quorum.proofs.crypto: sealing, signing, key encodings and key files."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quorum.proofs import crypto
from quorum.proofs.crypto import CryptoError

PASSPHRASE = b"correct horse battery staple"


@pytest.fixture(scope="module")
def keys() -> crypto.AuthorityKeys:
    return crypto.generate_authority_keys()


@pytest.fixture(scope="module")
def key_file(tmp_path_factory, keys) -> Path:
    path = tmp_path_factory.mktemp("keys") / "authority.key"
    crypto.write_key_file(path, keys, PASSPHRASE, label="BE test", strength="interactive")
    return path


def _rewrite(source: Path, target: Path, change) -> Path:
    document = json.loads(source.read_text())
    change(document)
    target.write_text(json.dumps(document))
    return target


def _flip_b64(value: str) -> str:
    raw = bytearray(base64.b64decode(value))
    raw[len(raw) // 2] ^= 1
    return base64.b64encode(bytes(raw)).decode()


# --- sealing -------------------------------------------------------------------------------


_PAIR = crypto.generate_sealing_keys()


@given(st.binary(max_size=2048))
def test_a_sealed_message_opens_with_the_private_key(plaintext) -> None:
    ciphertext = crypto.seal(_PAIR.public_key, plaintext)
    assert len(ciphertext) == len(plaintext) + 48
    assert crypto.open_sealed(_PAIR.private_key, ciphertext) == plaintext


def test_sealing_twice_gives_different_ciphertexts() -> None:
    assert crypto.seal(_PAIR.public_key, b"x") != crypto.seal(_PAIR.public_key, b"x")


def test_opening_with_the_wrong_key_fails() -> None:
    ciphertext = crypto.seal(_PAIR.public_key, b"statement")
    other = crypto.generate_sealing_keys()
    with pytest.raises(CryptoError):
        crypto.open_sealed(other.private_key, ciphertext)


def test_opening_a_damaged_or_truncated_ciphertext_fails() -> None:
    ciphertext = bytearray(crypto.seal(_PAIR.public_key, b"statement"))
    ciphertext[-1] ^= 1
    with pytest.raises(CryptoError):
        crypto.open_sealed(_PAIR.private_key, bytes(ciphertext))
    with pytest.raises(CryptoError):
        crypto.open_sealed(_PAIR.private_key, b"short")


def test_sealing_keys_must_be_32_bytes() -> None:
    with pytest.raises(CryptoError):
        crypto.seal(b"\x01" * 31, b"x")
    with pytest.raises(CryptoError):
        crypto.open_sealed(b"\x01" * 33, b"x" * 64)


def test_the_sealing_public_key_derives_from_the_private_key() -> None:
    assert crypto.sealing_public_key(_PAIR.private_key) == _PAIR.public_key


def test_private_keys_stay_out_of_reprs(keys) -> None:
    assert crypto.encode_key(keys.sealing_private_key) not in repr(keys)
    assert repr(keys.sealing_private_key) not in repr(keys)
    assert repr(keys.signing_seed) not in repr(keys)
    assert repr(_PAIR.private_key) not in repr(_PAIR)


# --- signing -------------------------------------------------------------------------------


def test_a_signature_verifies_and_a_changed_message_or_signature_does_not() -> None:
    seed, public = crypto.generate_signing_key()
    signature = crypto.sign(seed, b"certificate")
    assert len(seed) == len(public) == 32 and len(signature) == 64
    assert crypto.verify(public, b"certificate", signature)
    assert not crypto.verify(public, b"certificatE", signature)
    assert not crypto.verify(public, b"certificate", bytes([signature[0] ^ 1]) + signature[1:])
    assert not crypto.verify(crypto.generate_signing_key()[1], b"certificate", signature)


def test_ed25519_matches_rfc_8032_test_1() -> None:
    seed = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    public = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    expected = bytes.fromhex(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    )
    assert crypto.signing_public_key(seed) == public
    assert crypto.sign(seed, b"") == expected
    assert crypto.verify(public, b"", expected)


@pytest.mark.parametrize(
    ("public", "message", "signature"),
    [
        (b"\x00" * 31, b"m", b"\x00" * 64),
        (b"\x00" * 32, b"m", b"\x00" * 63),
        (b"\x00" * 32, b"m", b"\x00" * 64),
        (b"\xff" * 32, b"m", b"\x00" * 64),
        ("text", b"m", b"\x00" * 64),
        (b"\x00" * 32, "m", b"\x00" * 64),
        (None, None, None),
    ],
)
def test_verify_never_raises_on_bad_input(public, message, signature) -> None:
    assert crypto.verify(public, message, signature) is False


def test_sign_refuses_a_seed_of_the_wrong_length() -> None:
    with pytest.raises(CryptoError):
        crypto.sign(b"\x00" * 64, b"m")


# --- encodings -----------------------------------------------------------------------------


def test_keys_round_trip_through_standard_base64() -> None:
    key = bytes(range(32))
    text = crypto.encode_key(key)
    assert text == base64.b64encode(key).decode()
    assert crypto.decode_key(text) == key
    assert crypto.decode_key(f"  {text}\n") == key


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (base64.b64encode(b"\x00" * 31).decode(), "32 bytes, got 31"),
        (base64.b64encode(b"\x00" * 33).decode(), "32 bytes, got 33"),
        ("", "32 bytes, got 0"),
        ("not base64!", "not valid base64"),
        (base64.b64encode(b"\x00" * 32).decode().rstrip("="), "not valid base64"),
        (base64.urlsafe_b64encode(b"\xff" * 32).decode(), "not valid base64"),
        ("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=", "not canonical"),
        ("ключ", "not valid base64"),
    ],
)
def test_decode_key_rejects_wrong_lengths_and_bad_base64(text, reason) -> None:
    with pytest.raises(CryptoError, match=reason):
        crypto.decode_key(text)


def test_decode_key_checks_the_requested_length() -> None:
    assert crypto.decode_key(crypto.encode_key(b"\x01" * 64), length=64) == b"\x01" * 64
    with pytest.raises(CryptoError):
        crypto.decode_key(b"AAAA")  # type: ignore[arg-type]


def test_sha256_is_sha256() -> None:
    assert crypto.sha256(b"abc").hex() == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


# --- key files -----------------------------------------------------------------------------


def test_a_key_file_round_trips(key_file, keys) -> None:
    assert crypto.read_key_file(key_file, PASSPHRASE) == keys


def test_a_key_file_is_readable_by_its_owner_only(key_file) -> None:
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_a_key_file_has_the_documented_shape(key_file, keys) -> None:
    document = json.loads(key_file.read_text())
    assert set(document) == {
        "format",
        "kdf",
        "opslimit",
        "memlimit",
        "salt",
        "nonce",
        "box",
        "public",
        "label",
    }
    assert document["format"] == "quorum-keyfile-v1" and document["kdf"] == "argon2id"
    assert document["public"] == keys.public_part()
    text = key_file.read_text()
    for secret in (keys.sealing_private_key, keys.signing_seed):
        assert crypto.encode_key(secret) not in text


def test_the_public_part_is_readable_without_the_passphrase(key_file, keys) -> None:
    assert crypto.read_key_file_public(key_file) == {
        "label": "BE test",
        "sealing_public_key": crypto.encode_key(keys.sealing_public_key),
        "signing_public_key": crypto.encode_key(keys.signing_public_key),
    }


def test_a_wrong_passphrase_fails_cleanly(key_file) -> None:
    with pytest.raises(CryptoError, match="wrong passphrase or damaged key file"):
        crypto.read_key_file(key_file, b"Correct horse battery staple")


@pytest.mark.parametrize("field", ["box", "nonce", "salt"])
def test_a_tampered_key_file_fails(key_file, tmp_path, field) -> None:
    def damage(document):
        document[field] = _flip_b64(document[field])

    damaged = _rewrite(key_file, tmp_path / "damaged.key", damage)
    with pytest.raises(CryptoError, match="wrong passphrase or damaged key file"):
        crypto.read_key_file(damaged, PASSPHRASE)


def test_a_swapped_public_part_is_detected_when_the_file_is_opened(key_file, tmp_path) -> None:
    other = crypto.generate_authority_keys()

    def swap(document):
        document["public"] = other.public_part()

    swapped = _rewrite(key_file, tmp_path / "swapped.key", swap)
    with pytest.raises(CryptoError):
        crypto.read_key_file(swapped, PASSPHRASE)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(format="other"), "not a quorum-keyfile-v1"),
        (lambda d: d.update(kdf="scrypt"), "unsupported key derivation"),
        (lambda d: d.update(memlimit=2**50), "out of range"),
        (lambda d: d.update(opslimit=1), "out of range"),
        (lambda d: d.update(opslimit="2"), "out of range"),
        (lambda d: d.pop("box"), "wrong passphrase or damaged"),
        (lambda d: d.update(box="!!"), "wrong passphrase or damaged"),
    ],
)
def test_a_malformed_key_file_is_refused(key_file, tmp_path, change, message) -> None:
    bad = _rewrite(key_file, tmp_path / "bad.key", change)
    with pytest.raises(CryptoError, match=message):
        crypto.read_key_file(bad, PASSPHRASE)


def test_a_file_that_is_not_json_is_refused(tmp_path) -> None:
    path = tmp_path / "junk.key"
    path.write_bytes(b"\x00\x01 not json")
    with pytest.raises(CryptoError, match="not JSON"):
        crypto.read_key_file(path, PASSPHRASE)
    with pytest.raises(CryptoError):
        crypto.read_key_file_public(path)


def test_an_existing_key_file_is_not_overwritten_by_default(key_file, keys, tmp_path) -> None:
    path = tmp_path / "again.key"
    path.write_bytes(key_file.read_bytes())
    with pytest.raises(CryptoError, match="refusing to overwrite"):
        crypto.write_key_file(path, keys, PASSPHRASE, strength="interactive")
    crypto.write_key_file(path, keys, b"new", strength="interactive", overwrite=True)
    assert crypto.read_key_file(path, b"new") == keys


def test_writing_leaves_no_temporary_files_and_honours_no_umask(keys, tmp_path) -> None:
    old_umask = os.umask(0)
    try:
        crypto.write_key_file(tmp_path / "k.key", keys, PASSPHRASE, strength="interactive")
    finally:
        os.umask(old_umask)
    assert [p.name for p in tmp_path.iterdir()] == ["k.key"]
    assert stat.S_IMODE((tmp_path / "k.key").stat().st_mode) == 0o600


def test_write_refuses_an_empty_passphrase_an_unknown_strength_and_mismatched_keys(
    keys, tmp_path
) -> None:
    path = tmp_path / "k.key"
    with pytest.raises(CryptoError):
        crypto.write_key_file(path, keys, b"", strength="interactive")
    with pytest.raises(CryptoError):
        crypto.write_key_file(path, keys, PASSPHRASE, strength="weak")  # type: ignore[arg-type]
    other = crypto.generate_authority_keys()
    mixed = crypto.AuthorityKeys(
        sealing_public_key=other.sealing_public_key,
        signing_public_key=keys.signing_public_key,
        sealing_private_key=keys.sealing_private_key,
        signing_seed=keys.signing_seed,
    )
    with pytest.raises(CryptoError):
        crypto.write_key_file(path, mixed, PASSPHRASE, strength="interactive")
    assert not path.exists()


def test_generated_authority_keys_are_32_byte_matching_pairs(keys) -> None:
    assert all(
        len(k) == 32
        for k in (
            keys.sealing_private_key,
            keys.sealing_public_key,
            keys.signing_seed,
            keys.signing_public_key,
        )
    )
    assert crypto.sealing_public_key(keys.sealing_private_key) == keys.sealing_public_key
    assert crypto.signing_public_key(keys.signing_seed) == keys.signing_public_key
