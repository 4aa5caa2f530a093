"""Sealing, signing, key encodings and password-protected key files.

Pure module: it imports nothing of Django or of the rest of Quorum, because the offline
authority toolkit runs it on an air-gapped laptop with no database and no settings.

- Statements are sealed to an authority's X25519 key (libsodium sealed box): anyone can seal,
  only the holder of the private key can open, and the sealer keeps no way to open.
- Checkpoints and certificates are signed with Ed25519; keys are kept as 32-byte seeds.
- Public keys travel as standard base64 strings.
- An authority's private keys rest in a key file: JSON, the private part encrypted with
  XSalsa20-Poly1305 (``nacl.secret.SecretBox``) under a key derived from a passphrase by
  Argon2id.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import nacl.exceptions
import nacl.public
import nacl.pwhash.argon2id as argon2id
import nacl.secret
import nacl.signing

__all__ = [
    "KEYFILE_FORMAT",
    "KEY_LENGTH",
    "SIGNATURE_LENGTH",
    "AuthorityKeys",
    "CryptoError",
    "KdfStrength",
    "SealingKeyPair",
    "decode_key",
    "encode_key",
    "generate_authority_keys",
    "generate_sealing_keys",
    "generate_signing_key",
    "open_sealed",
    "read_key_file",
    "read_key_file_public",
    "seal",
    "sealing_public_key",
    "sha256",
    "sign",
    "signing_public_key",
    "verify",
    "write_key_file",
]

KEY_LENGTH = 32
SIGNATURE_LENGTH = 64
KEYFILE_FORMAT = "quorum-keyfile-v1"

KdfStrength = Literal["interactive", "moderate", "sensitive"]

# libsodium's named Argon2id cost levels; "interactive" takes ~50 ms and 64 MiB, "sensitive"
# ~several seconds and 1 GiB.
_KDF_LIMITS: dict[str, tuple[int, int]] = {
    "interactive": (argon2id.OPSLIMIT_INTERACTIVE, argon2id.MEMLIMIT_INTERACTIVE),
    "moderate": (argon2id.OPSLIMIT_MODERATE, argon2id.MEMLIMIT_MODERATE),
    "sensitive": (argon2id.OPSLIMIT_SENSITIVE, argon2id.MEMLIMIT_SENSITIVE),
}
# A key file states its own cost; a hostile or corrupt file must not make us allocate
# terabytes or spin for hours, nor accept costs weaker than libsodium's interactive level.
_OPSLIMIT_RANGE = (argon2id.OPSLIMIT_INTERACTIVE, argon2id.OPSLIMIT_SENSITIVE)
_MEMLIMIT_RANGE = (argon2id.MEMLIMIT_INTERACTIVE, argon2id.MEMLIMIT_SENSITIVE)
# A key file is a few hundred bytes; refuse to slurp anything absurdly larger.
_KEYFILE_MAX_BYTES = 64 * 1024
_WRONG_PASSPHRASE = "wrong passphrase or damaged key file"


class CryptoError(Exception):
    """A key, ciphertext, signature or key file could not be used."""


# --- hashing and encodings -----------------------------------------------------------------


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def encode_key(key: bytes) -> str:
    """Standard base64 (RFC 4648 §4, padded): the one text form of a public key."""
    return base64.b64encode(key).decode("ascii")


def decode_key(text: str, *, length: int = KEY_LENGTH) -> bytes:
    """Decode a base64 key of exactly ``length`` bytes; surrounding whitespace is ignored."""
    if not isinstance(text, str):
        raise CryptoError("a key must be given as a base64 text string")
    stripped = text.strip()
    try:
        raw = base64.b64decode(stripped.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise CryptoError("the key is not valid base64") from exc
    # One key, one spelling: reject variants whose unused padding bits are set.
    if encode_key(raw) != stripped:
        raise CryptoError("the key is not canonical base64")
    if len(raw) != length:
        raise CryptoError(f"the key must be {length} bytes, got {len(raw)}")
    return raw


def _require_key(key: bytes, what: str, length: int = KEY_LENGTH) -> None:
    if not isinstance(key, bytes | bytearray) or len(key) != length:
        raise CryptoError(f"{what} must be {length} bytes")


# --- sealing (X25519 sealed boxes) ---------------------------------------------------------


@dataclass(frozen=True)
class SealingKeyPair:
    public_key: bytes
    private_key: bytes = field(repr=False)


def generate_sealing_keys() -> SealingKeyPair:
    private = nacl.public.PrivateKey.generate()
    return SealingKeyPair(public_key=bytes(private.public_key), private_key=bytes(private))


def sealing_public_key(private_key: bytes) -> bytes:
    _require_key(private_key, "a sealing private key")
    return bytes(nacl.public.PrivateKey(bytes(private_key)).public_key)


def seal(public_key: bytes, plaintext: bytes) -> bytes:
    """Encrypt to ``public_key`` with a fresh ephemeral key; 48 bytes longer than plaintext."""
    _require_key(public_key, "a sealing public key")
    box = nacl.public.SealedBox(nacl.public.PublicKey(bytes(public_key)))
    return box.encrypt(plaintext)


def open_sealed(private_key: bytes, ciphertext: bytes) -> bytes:
    _require_key(private_key, "a sealing private key")
    box = nacl.public.SealedBox(nacl.public.PrivateKey(bytes(private_key)))
    try:
        return box.decrypt(ciphertext)
    except (nacl.exceptions.CryptoError, TypeError, ValueError) as exc:
        raise CryptoError("cannot open: wrong key or damaged ciphertext") from exc


# --- signing (Ed25519) ---------------------------------------------------------------------


def generate_signing_key() -> tuple[bytes, bytes]:
    """Return ``(seed, public_key)``, both 32 bytes."""
    key = nacl.signing.SigningKey.generate()
    return bytes(key), bytes(key.verify_key)


def signing_public_key(seed: bytes) -> bytes:
    _require_key(seed, "a signing seed")
    return bytes(nacl.signing.SigningKey(bytes(seed)).verify_key)


def sign(private_seed: bytes, message: bytes) -> bytes:
    """Detached 64-byte Ed25519 signature (RFC 8032, deterministic)."""
    _require_key(private_seed, "a signing seed")
    return nacl.signing.SigningKey(bytes(private_seed)).sign(message).signature


def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """True only for a valid signature; any malformed input is simply not valid."""
    if not all(isinstance(v, bytes | bytearray) for v in (public_key, message, signature)):
        return False
    if len(public_key) != KEY_LENGTH or len(signature) != SIGNATURE_LENGTH:
        return False
    try:
        nacl.signing.VerifyKey(bytes(public_key)).verify(bytes(message), bytes(signature))
    except (nacl.exceptions.CryptoError, TypeError, ValueError):
        return False
    return True


# --- authority keys ------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthorityKeys:
    """The two key pairs of one authority: it opens statements and signs certificates."""

    sealing_public_key: bytes
    signing_public_key: bytes
    sealing_private_key: bytes = field(repr=False)
    signing_seed: bytes = field(repr=False)

    def public_part(self) -> dict[str, str]:
        return {
            "sealing_public_key": encode_key(self.sealing_public_key),
            "signing_public_key": encode_key(self.signing_public_key),
        }


def generate_authority_keys() -> AuthorityKeys:
    sealing = generate_sealing_keys()
    seed, public = generate_signing_key()
    return AuthorityKeys(
        sealing_public_key=sealing.public_key,
        signing_public_key=public,
        sealing_private_key=sealing.private_key,
        signing_seed=seed,
    )


def _check_authority_keys(keys: AuthorityKeys) -> None:
    """Private and public halves must belong together, or a key file would lie."""
    if sealing_public_key(keys.sealing_private_key) != keys.sealing_public_key:
        raise CryptoError("the sealing public key does not match the private key")
    if signing_public_key(keys.signing_seed) != keys.signing_public_key:
        raise CryptoError("the signing public key does not match the seed")


# --- key files -----------------------------------------------------------------------------


def write_key_file(
    path: str | os.PathLike[str],
    keys: AuthorityKeys,
    passphrase: bytes,
    *,
    label: str = "",
    strength: KdfStrength = "moderate",
    overwrite: bool = False,
) -> None:
    """Write ``keys`` to ``path`` (mode 0o600), atomically, encrypted under ``passphrase``.

    Refuses to replace an existing file unless ``overwrite``: a clobbered private key would
    make every statement sealed to it unreadable.
    """
    if not isinstance(passphrase, bytes) or not passphrase:
        raise CryptoError("the passphrase must be non-empty bytes")
    if strength not in _KDF_LIMITS:
        raise CryptoError(f"unknown key-file strength {strength!r}")
    if not isinstance(label, str):
        raise CryptoError("the label must be text")
    _check_authority_keys(keys)
    target = Path(path)
    if target.exists() and not overwrite:
        raise CryptoError(f"{target} exists; refusing to overwrite a key file")
    document = _seal_key_document(keys, passphrase, label=label, strength=strength)
    _write_atomically(target, (json.dumps(document, indent=2) + "\n").encode("utf-8"))


def read_key_file(path: str | os.PathLike[str], passphrase: bytes) -> AuthorityKeys:
    """Decrypt a key file; ``CryptoError`` if the passphrase is wrong or the file damaged.

    File-system errors (missing file, no permission) propagate as ``OSError``.
    """
    if not isinstance(passphrase, bytes):
        raise CryptoError("the passphrase must be bytes")
    document = _load_key_document(Path(path))
    opslimit, memlimit = _kdf_limits(document)
    try:
        salt = base64.b64decode(document["salt"], validate=True)
        nonce = base64.b64decode(document["nonce"], validate=True)
        box = base64.b64decode(document["box"], validate=True)
        key = argon2id.kdf(
            nacl.secret.SecretBox.KEY_SIZE, passphrase, salt, opslimit=opslimit, memlimit=memlimit
        )
        plaintext = nacl.secret.SecretBox(key).decrypt(box, nonce)
        private = json.loads(plaintext)
        keys = AuthorityKeys(
            sealing_public_key=decode_key(document["public"]["sealing_public_key"]),
            signing_public_key=decode_key(document["public"]["signing_public_key"]),
            sealing_private_key=decode_key(private["sealing_private_key"]),
            signing_seed=decode_key(private["signing_seed"]),
        )
        # The public part sits outside the box, unauthenticated: check it against the keys.
        _check_authority_keys(keys)
    except (
        nacl.exceptions.CryptoError,
        binascii.Error,
        CryptoError,
        KeyError,
        TypeError,
        ValueError,
    ) as exc:
        raise CryptoError(_WRONG_PASSPHRASE) from exc
    return keys


def read_key_file_public(path: str | os.PathLike[str]) -> dict[str, str]:
    """The public keys and label, no passphrase needed.

    Unauthenticated until ``read_key_file`` succeeds: fine for display, not for trust.
    """
    document = _load_key_document(Path(path))
    public = document.get("public")
    label = document.get("label", "")
    if not isinstance(public, dict) or not isinstance(label, str):
        raise CryptoError("the key file's public part is damaged")
    result = {"label": label}
    for name in ("sealing_public_key", "signing_public_key"):
        value = public.get(name)
        if not isinstance(value, str):
            raise CryptoError("a key must be given as a base64 text string")
        decode_key(value)  # raises CryptoError with the reason
        result[name] = value
    return result


def _seal_key_document(
    keys: AuthorityKeys, passphrase: bytes, *, label: str, strength: str
) -> dict[str, Any]:
    opslimit, memlimit = _KDF_LIMITS[strength]
    salt = secrets.token_bytes(argon2id.SALTBYTES)
    nonce = secrets.token_bytes(nacl.secret.SecretBox.NONCE_SIZE)
    key = argon2id.kdf(
        nacl.secret.SecretBox.KEY_SIZE, passphrase, salt, opslimit=opslimit, memlimit=memlimit
    )
    private = json.dumps(
        {
            "sealing_private_key": encode_key(keys.sealing_private_key),
            "signing_seed": encode_key(keys.signing_seed),
        }
    ).encode("utf-8")
    box = nacl.secret.SecretBox(key).encrypt(private, nonce).ciphertext
    return {
        "format": KEYFILE_FORMAT,
        "kdf": "argon2id",
        "opslimit": opslimit,
        "memlimit": memlimit,
        "salt": encode_key(salt),
        "nonce": encode_key(nonce),
        "box": encode_key(box),
        "public": keys.public_part(),
        "label": label,
    }


def _load_key_document(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        raw = handle.read(_KEYFILE_MAX_BYTES + 1)
    if len(raw) > _KEYFILE_MAX_BYTES:
        raise CryptoError(f"{path} is too large to be a key file")
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise CryptoError(f"{path} is not a key file (not JSON)") from exc
    if not isinstance(document, dict) or document.get("format") != KEYFILE_FORMAT:
        raise CryptoError(f"{path} is not a {KEYFILE_FORMAT} key file")
    if document.get("kdf") != "argon2id":
        raise CryptoError(f"{path} uses an unsupported key derivation")
    return document


def _kdf_limits(document: dict[str, Any]) -> tuple[int, int]:
    return (
        _kdf_limit(document.get("opslimit"), _OPSLIMIT_RANGE),
        _kdf_limit(document.get("memlimit"), _MEMLIMIT_RANGE),
    )


def _kdf_limit(value: object, bounds: tuple[int, int]) -> int:
    low, high = bounds
    if type(value) is not int or not low <= value <= high:
        raise CryptoError("the key file's Argon2id limits are out of range")
    return value


def _write_atomically(target: Path, data: bytes) -> None:
    """Temp file in the same directory, fsync, rename, fsync the directory."""
    directory = target.parent
    temp = directory / f".{target.name}.{secrets.token_hex(8)}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            if hasattr(os, "fchmod"):  # the umask may only narrow 0o600; make it exact anyway
                os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; not possible on every platform (e.g. Windows).
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
