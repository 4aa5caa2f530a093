"""C2SP signed notes (Ed25519) and transparency-log checkpoints.

- https://c2sp.org/signed-note — text, a blank line, then ``— <name> base64(keyid||sig)`` lines.
- https://c2sp.org/tlog-checkpoint — the text is origin, tree size, base64 root hash, then
  optional extension lines.

Interoperable with Go's ``golang.org/x/mod/sumdb/note`` (its published example verifies here),
so a Quorum log can be checked with tools nobody at Quorum wrote. Pure: imports only
``quorum.proofs.crypto`` and the standard library.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass

from quorum.proofs import crypto

__all__ = [
    "ALG_ED25519",
    "MAX_SIGNATURES",
    "Checkpoint",
    "NoteError",
    "format_checkpoint",
    "key_id",
    "open_checkpoint",
    "parse_checkpoint",
    "parse_verifier_key",
    "sign_note",
    "verifier_key",
    "verify_note",
]

ALG_ED25519 = 0x01
# The spec asks verifiers to accept at least 16 signatures and to cap them; Go caps at 100.
MAX_SIGNATURES = 100
# Checkpoint sizes are uint64 in every other implementation.
_MAX_TREE_SIZE = 2**64 - 1

_SIGNATURE_PREFIX = "\u2014 "  # em dash, space
_HEX8 = re.compile(r"[0-9a-fA-F]{8}")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")


class NoteError(ValueError):
    """A note, verifier key or checkpoint is malformed or does not verify."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()


# --- keys ----------------------------------------------------------------------------------


def key_id(name: str, public_key: bytes) -> bytes:
    """First 4 bytes of SHA-256(name || 0x0A || 0x01 || public key)."""
    _check_public_key(public_key)
    return crypto.sha256(_utf8(name) + b"\n" + bytes([ALG_ED25519]) + bytes(public_key))[:4]


def verifier_key(name: str, public_key: bytes) -> str:
    """``<name>+<key id hex>+<base64(0x01 || public key)>``, the form Go's tools read."""
    _check_name(name)
    _check_public_key(public_key)
    encoded = crypto.encode_key(bytes([ALG_ED25519]) + bytes(public_key))
    return f"{name}+{key_id(name, public_key).hex()}+{encoded}"


def parse_verifier_key(text: str) -> tuple[str, bytes]:
    """Return ``(name, public_key)``; the stated key id must match the computed one."""
    if not isinstance(text, str):
        raise NoteError("a verifier key must be text")
    # Split at the first two '+' only: base64 may itself contain '+'.
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise NoteError("a verifier key reads <name>+<key id>+<key>")
    name, hex_id, encoded = parts
    _check_name(name)
    if not _HEX8.fullmatch(hex_id):
        raise NoteError("a verifier key's id must be 8 hex digits")
    raw = _b64decode(encoded, "verifier key")
    if len(raw) != 1 + crypto.KEY_LENGTH or raw[0] != ALG_ED25519:
        raise NoteError("a verifier key must hold 0x01 and a 32-byte Ed25519 public key")
    public_key = raw[1:]
    if key_id(name, public_key) != bytes.fromhex(hex_id):
        raise NoteError("the verifier key's id does not match its name and key")
    return name, public_key


# --- notes ---------------------------------------------------------------------------------


def sign_note(text: str, name: str, seed: bytes) -> str:
    """Sign ``text`` (which must end in a newline) and return the signed note."""
    _check_note_text(text)
    _check_name(name)
    if not isinstance(seed, bytes | bytearray) or len(seed) != crypto.KEY_LENGTH:
        raise NoteError("a signing seed must be 32 bytes")
    public_key = crypto.signing_public_key(bytes(seed))
    signature = crypto.sign(bytes(seed), text.encode("utf-8"))
    blob = base64.b64encode(key_id(name, public_key) + signature).decode("ascii")
    return f"{text}\n{_SIGNATURE_PREFIX}{name} {blob}\n"


def verify_note(note: str | bytes, verifier: str) -> str:
    """Return the note's text if ``verifier``'s key signed it, else raise ``NoteError``.

    Signatures by other keys are ignored, as the spec requires (witness cosignatures, key
    rotation), but every line must still be well formed. A signature line that claims our
    key (same name and id) and fails makes the whole note invalid.
    """
    name, public_key = parse_verifier_key(verifier)
    wanted_id = key_id(name, public_key)
    text, lines = _split_note(_note_str(note))
    message = text.encode("utf-8")
    verified = False
    for line_name, line_id, signature in (_parse_signature_line(line) for line in lines):
        if line_name != name or line_id != wanted_id:
            continue
        if not crypto.verify(public_key, message, signature):
            raise NoteError(f"invalid signature for key {name}+{wanted_id.hex()}")
        verified = True
    if not verified:
        raise NoteError(f"the note has no signature by key {name}+{wanted_id.hex()}")
    return text


def _note_str(note: str | bytes) -> str:
    if isinstance(note, bytes | bytearray):
        try:
            return bytes(note).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NoteError("a note must be valid UTF-8") from exc
    if not isinstance(note, str):
        raise NoteError("a note must be text")
    return note


def _split_note(note: str) -> tuple[str, list[str]]:
    _check_no_controls(note, "note")
    _utf8(note)
    # The text ends at the *last* blank line; the text itself may contain blank lines.
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("a signed note needs a blank line before its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block or not block.endswith("\n"):
        raise NoteError("a signed note must end with signature lines, each ending in newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"a note may carry at most {MAX_SIGNATURES} signatures")
    return text, lines


def _parse_signature_line(line: str) -> tuple[str, bytes, bytes]:
    """Return ``(name, key id, signature)`` of one ``— name base64`` line."""
    if not line.startswith(_SIGNATURE_PREFIX):
        raise NoteError("a signature line must start with an em dash and a space")
    name, _, encoded = line[len(_SIGNATURE_PREFIX) :].partition(" ")
    _check_name(name)
    raw = _b64decode(encoded, "signature")
    if len(raw) < 5:
        raise NoteError("a signature must hold a key id and signature bytes")
    return name, raw[:4], raw[4:]


# --- checkpoints ---------------------------------------------------------------------------


def format_checkpoint(origin: str, size: int, root: bytes, extensions: Sequence[str] = ()) -> str:
    """The note text of a checkpoint: origin, size, base64 root, extensions, one per line."""
    if type(size) is not int or not 0 <= size <= _MAX_TREE_SIZE:
        raise NoteError("a tree size must be an integer from 0 to 2**64 - 1")
    if not isinstance(root, bytes | bytearray) or len(root) != 32:
        raise NoteError("a root hash must be 32 bytes")
    if isinstance(extensions, str):
        raise NoteError("extensions must be a sequence of lines, not one string")
    lines = [origin, str(size), base64.b64encode(root).decode("ascii"), *extensions]
    for line in (origin, *extensions):
        _check_checkpoint_line(line)
    return "\n".join(lines) + "\n"


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse checkpoint note text strictly (as returned by ``verify_note``)."""
    if not isinstance(text, str) or not text.endswith("\n"):
        raise NoteError("checkpoint text must end in a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise NoteError("a checkpoint needs an origin, a tree size and a root hash")
    for line in lines:
        _check_checkpoint_line(line)
    origin, size_text, root_text, *extensions = lines
    if not _DECIMAL.fullmatch(size_text) or int(size_text) > _MAX_TREE_SIZE:
        raise NoteError("a checkpoint's tree size must be decimal without leading zeros")
    root = _b64decode(root_text, "root hash")
    if len(root) != 32:
        raise NoteError("a checkpoint's root hash must be 32 bytes")
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


def open_checkpoint(note: str | bytes, verifier: str, *, origin: str) -> Checkpoint:
    """Verify a signed checkpoint and check it is for ``origin``.

    The origin check matters: a key may sign for several logs, and a checkpoint of one log
    must never be accepted for another.
    """
    checkpoint = parse_checkpoint(verify_note(note, verifier))
    if checkpoint.origin != origin:
        raise NoteError(f"the checkpoint is for {checkpoint.origin!r}, not {origin!r}")
    return checkpoint


# --- validation helpers --------------------------------------------------------------------


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates cannot be UTF-8
        raise NoteError("text must be valid UTF-8") from exc


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name:
        raise NoteError("a key name must be non-empty text")
    if "+" in name or any(ch.isspace() or ch < " " for ch in name):
        raise NoteError(f"a key name may not contain spaces, control characters or '+': {name!r}")
    _utf8(name)


def _check_public_key(public_key: bytes) -> None:
    if not isinstance(public_key, bytes | bytearray) or len(public_key) != crypto.KEY_LENGTH:
        raise NoteError("an Ed25519 public key must be 32 bytes")


def _check_no_controls(text: str, what: str) -> None:
    if any(ch < " " and ch != "\n" for ch in text):
        raise NoteError(f"a {what} may not contain control characters other than newline")


def _check_note_text(text: str) -> None:
    if not isinstance(text, str) or not text.endswith("\n"):
        raise NoteError("note text must end in a newline")
    _check_no_controls(text, "note")
    _utf8(text)


def _check_checkpoint_line(line: str) -> None:
    if not isinstance(line, str) or not line:
        raise NoteError("checkpoint lines must be non-empty")
    if any(ch < " " for ch in line):  # includes the newline: one value, one line
        raise NoteError("checkpoint lines may not contain control characters or newlines")
    _utf8(line)


def _b64decode(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise NoteError(f"the {what} is not valid base64") from exc
    if not raw or base64.b64encode(raw).decode("ascii") != text:
        raise NoteError(f"the {what} is not canonical base64")
    return raw
