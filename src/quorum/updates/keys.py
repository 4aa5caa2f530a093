"""The updates key: it encrypts subscribers' addresses at rest and keys every token and index.

Taken from QUORUM_UPDATES_KEY (standard base64 of 32 bytes; or QUORUM_UPDATES_KEY_FILE), else
generated once into QUORUM_DATA_DIR/updates-key with mode 0600. The web servers hold it, so
that they can send; the organisers never get it, and nothing shows an address to them. From
the one key three are derived (BLAKE2b with a personalisation each), so that the box, the
address index and the link tokens never share a key.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os

import nacl.exceptions
import nacl.secret
import nacl.utils
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from quorum.core.env import EnvError, env_optional

KEY_BYTES = 32


def _decode(text: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except ValueError as exc:
        raise EnvError("must be standard base64 of 32 bytes") from exc
    if len(raw) != KEY_BYTES:
        raise EnvError(f"must be 32 bytes; got {len(raw)}")
    return raw


def _key_from_file() -> bytes:
    path = settings.DATA_DIR / "updates-key"
    if not path.exists():
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: read that one
        else:
            with os.fdopen(descriptor, "w", encoding="ascii") as handle:
                handle.write(base64.b64encode(nacl.utils.random(KEY_BYTES)).decode() + "\n")
                handle.flush()
                os.fsync(handle.fileno())
    return _decode(path.read_text(encoding="ascii"))


@functools.cache
def _root_key() -> bytes:
    try:
        configured = env_optional("QUORUM_UPDATES_KEY")
        return _decode(configured) if configured else _key_from_file()
    except EnvError as exc:
        raise ImproperlyConfigured(f"QUORUM_UPDATES_KEY: {exc}") from exc


def _derived(purpose: bytes) -> bytes:
    return hashlib.blake2b(_root_key(), digest_size=KEY_BYTES, person=purpose).digest()


def seal(text: str) -> bytes:
    """Encrypt ``text`` (an address, a token's content) under the box key."""
    return bytes(nacl.secret.SecretBox(_derived(b"quorum-upd-box")).encrypt(text.encode()))


def unseal(box: bytes) -> str | None:
    """The text in ``box``, or None if it was not sealed under this key or was changed."""
    try:
        return nacl.secret.SecretBox(_derived(b"quorum-upd-box")).decrypt(box).decode()
    except (nacl.exceptions.CryptoError, UnicodeDecodeError, ValueError, TypeError):
        return None


def address_index(initiative_id: int, address: str) -> str:
    """A keyed hash that finds one initiative's subscriber by address (for a second request
    or a deletion), and that nobody without the key can test guesses against."""
    message = f"{initiative_id}:{normalise_address(address)}".encode()
    return hmac.new(_derived(b"quorum-upd-index"), message, hashlib.sha256).hexdigest()


def link_token(purpose: str, identifier: str) -> str:
    """The token of a subscriber's own link (unsubscribe, manage): derived, never stored."""
    message = f"{purpose}:{identifier}".encode()
    digest = hmac.new(_derived(b"quorum-upd-link"), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


def link_token_matches(purpose: str, identifier: str, token: str) -> bool:
    return hmac.compare_digest(link_token(purpose, identifier), token)


def normalise_address(address: str) -> str:
    """One spelling per mailbox for the index: the domain is case-insensitive (RFC 5321)."""
    local, _, domain = address.strip().rpartition("@")
    return f"{local}@{domain.lower()}"


def forget_key() -> None:
    """For tests that change the key."""
    _root_key.cache_clear()
