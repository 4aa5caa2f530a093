"""Key certificates: how an authority's keys reach the platform, and its public key history.

An authority makes a key certificate on its own (possibly air-gapped) laptop with the offline
toolkit. The file is ``{"key_certificate": {...}, "signature": b64[, "rotation_signature": b64]}``:

- ``key_certificate`` names the scheme, the Member State, the authority, the new X25519 sealing
  and Ed25519 signing public keys, ``previous_signing_key`` (null for the first key) and when it
  was made;
- ``signature`` is made with the *new* signing key (proof that its holder made the certificate);
- ``rotation_signature``, present exactly when ``previous_signing_key`` is set, is made with the
  authority's *current* signing key: nobody can change a key without the current one.

Both sign ``DOMAIN`` followed by the canonical JSON of ``key_certificate`` (sorted keys, no
spaces, UTF-8), so that no other document signed with an authority key (a count certificate)
can ever pass for a key certificate.

The platform appends every accepted key to a public key log (RFC 9162 leaves, C2SP checkpoints);
:func:`key_log_entry_bytes` is the one encoding of such a leaf, and :func:`check_key_history`
the one reading of the rules that anyone (the auditor, the toolkit) applies to the whole log.

Pure: imports only ``quorum.proofs.crypto`` and the standard library.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from quorum.proofs import crypto

__all__ = [
    "DOMAIN",
    "ENTRY_FORMAT",
    "FORMAT",
    "KEY_LOG_PATH",
    "KeyCertificate",
    "KeyCertificateError",
    "KeyHistory",
    "KeyLogEntry",
    "check_key_history",
    "fingerprint",
    "format_fingerprint",
    "key_log_entry_bytes",
    "make_key_certificate",
    "normalise_fingerprint",
    "parse_key_certificate",
    "parse_key_log_entry",
]

FORMAT = "quorum-key-certificate-v1"
ENTRY_FORMAT = "quorum-key-log-entry-v1"
DOMAIN = b"quorum-key-certificate-v1\n"
_FINGERPRINT_DOMAIN = b"quorum-authority-keys-v1\n"
#: The key log's checkpoints have the origin "<log key name>/authorities/keys": the "/" keeps
#: it apart from every initiative's log, whose origin ends in a slug.
KEY_LOG_PATH = "authorities/keys"

_FIELDS = frozenset(
    {
        "format",
        "scheme",
        "member_state",
        "authority",
        "sealing_public_key",
        "signing_public_key",
        "previous_signing_key",
        "created_at",
    }
)
_ENTRY_FIELDS = frozenset({"format", "scheme", "member_state", "fingerprint", "registered_at"})
_ENTRY_FIELDS_ALL = _ENTRY_FIELDS | {"certificate", "legacy_keys"}
_SCHEME = re.compile(r"[a-z][a-z0-9-]{0,19}", re.ASCII)
_MEMBER_STATE = re.compile(r"[A-Z]{2}", re.ASCII)
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", re.ASCII)
_HEX64 = re.compile(r"[0-9a-f]{64}", re.ASCII)
_MAX_NAME = 200
_MAX_DOCUMENT_BYTES = 16 * 1024


class KeyCertificateError(ValueError):
    """The document is not a well-formed, correctly signed key certificate (or log entry)."""


@dataclass(frozen=True)
class KeyCertificate:
    scheme: str
    member_state: str
    authority: str
    sealing_public_key: str
    signing_public_key: str
    previous_signing_key: str | None
    created_at: str
    document: dict[str, Any] = field(repr=False, compare=False)

    @property
    def fingerprint(self) -> str:
        return fingerprint(
            scheme=self.scheme,
            member_state=self.member_state,
            sealing_public_key=self.sealing_public_key,
            signing_public_key=self.signing_public_key,
        )

    @property
    def is_rotation(self) -> bool:
        return self.previous_signing_key is not None

    def to_json(self) -> str:
        return json.dumps(self.document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


# --- fingerprints --------------------------------------------------------------------------


def fingerprint(
    *, scheme: str, member_state: str, sealing_public_key: str, signing_public_key: str
) -> str:
    """SHA-256 (hex) of one authority's key set, bound to its scheme and Member State.

    This is what a Member State communicates with its designation of the competent authority,
    and what an authority compares by eye: one value for both keys.
    """
    text = f"{scheme}\n{member_state}\n{sealing_public_key}\n{signing_public_key}\n"
    return hashlib.sha256(_FINGERPRINT_DOMAIN + text.encode("ascii")).hexdigest()


def format_fingerprint(value: str) -> str:
    """Groups of four hex digits: easier to read aloud and to compare by eye."""
    return " ".join(value[i : i + 4] for i in range(0, len(value), 4))


def normalise_fingerprint(text: str) -> str | None:
    """The 64 lower-case hex digits of a fingerprint as a person may type it, or None."""
    if not isinstance(text, str) or len(text) > 200:
        return None
    compact = re.sub(r"[\s:.-]", "", text).lower()
    return compact if _HEX64.fullmatch(compact) else None


# --- certificates --------------------------------------------------------------------------


def _canonical(value: dict[str, Any]) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _signed_bytes(body: dict[str, Any]) -> bytes:
    return DOMAIN + _canonical(body)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_key_certificate(
    keys: crypto.AuthorityKeys,
    *,
    scheme: str,
    member_state: str,
    authority: str,
    previous: crypto.AuthorityKeys | None = None,
    created_at: str | None = None,
) -> KeyCertificate:
    """Certify ``keys`` for one authority; a rotation when ``previous`` (the current keys) is given."""
    if previous is not None and previous.signing_public_key == keys.signing_public_key:
        raise KeyCertificateError("the new keys are the current keys: make new keys to rotate")
    body = {
        "format": FORMAT,
        "scheme": scheme,
        "member_state": member_state,
        "authority": authority,
        "sealing_public_key": crypto.encode_key(keys.sealing_public_key),
        "signing_public_key": crypto.encode_key(keys.signing_public_key),
        "previous_signing_key": (
            crypto.encode_key(previous.signing_public_key) if previous is not None else None
        ),
        "created_at": created_at or _now(),
    }
    _check_body(body)
    message = _signed_bytes(body)
    document: dict[str, Any] = {
        "key_certificate": body,
        "signature": _b64(crypto.sign(keys.signing_seed, message)),
    }
    if previous is not None:
        document["rotation_signature"] = _b64(crypto.sign(previous.signing_seed, message))
    return parse_key_certificate(document)


def _check_text(value: object, what: str, pattern: re.Pattern[str] | None = None) -> str:
    if not isinstance(value, str):
        raise KeyCertificateError(f"{what} must be text")
    if pattern is not None and not pattern.fullmatch(value):
        raise KeyCertificateError(f"{what} is malformed")
    return value


def _check_key(value: object, what: str) -> str:
    text = _check_text(value, what)
    try:
        crypto.decode_key(text)
    except crypto.CryptoError as exc:
        raise KeyCertificateError(f"{what}: {exc}") from exc
    if text != text.strip():
        raise KeyCertificateError(f"{what} is not canonical base64")
    return text


def _check_body(body: object) -> dict[str, Any]:
    if not isinstance(body, dict) or set(body) != _FIELDS:
        raise KeyCertificateError(
            "the key certificate must have exactly the fields " + ", ".join(sorted(_FIELDS))
        )
    if body["format"] != FORMAT:
        raise KeyCertificateError(f"the format is not {FORMAT}")
    _check_text(body["scheme"], "scheme", _SCHEME)
    _check_text(body["member_state"], "member_state", _MEMBER_STATE)
    name = _check_text(body["authority"], "authority")
    if not 0 < len(name) <= _MAX_NAME or not name.strip():
        raise KeyCertificateError(f"the authority's name must have 1 to {_MAX_NAME} characters")
    if any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in name):
        raise KeyCertificateError("the authority's name contains control characters")
    if any(0xD800 <= ord(ch) < 0xE000 for ch in name):
        # JSON can spell a lone surrogate and json.loads returns it, but UTF-8 cannot hold
        # one: the signed bytes could not be made, and that must be a refusal, not a crash.
        raise KeyCertificateError("the authority's name contains lone surrogates")
    _check_key(body["sealing_public_key"], "sealing_public_key")
    _check_key(body["signing_public_key"], "signing_public_key")
    if body["previous_signing_key"] is not None:
        _check_key(body["previous_signing_key"], "previous_signing_key")
        if body["previous_signing_key"] == body["signing_public_key"]:
            raise KeyCertificateError("a rotation must bring a new signing key")
    created = _check_text(body["created_at"], "created_at", _TIMESTAMP)
    try:
        datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError as exc:
        raise KeyCertificateError("created_at is not a real moment") from exc
    return body


def _signature(value: object, what: str) -> bytes:
    text = _check_text(value, what)
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise KeyCertificateError(f"{what} is not base64") from exc
    if len(raw) != crypto.SIGNATURE_LENGTH or _b64(raw) != text:
        raise KeyCertificateError(f"{what} is malformed")
    return raw


def parse_key_certificate(document: object) -> KeyCertificate:
    """Check the form and both signatures of a key certificate; raises KeyCertificateError.

    Whether the platform accepts it (the recorded fingerprint, the current key) is the
    platform's check; this one needs nothing but the document.
    """
    if isinstance(document, str | bytes):
        try:
            raw = document.encode("utf-8") if isinstance(document, str) else document
        except UnicodeEncodeError as exc:  # a lone surrogate
            raise KeyCertificateError("the key certificate is not UTF-8 text") from exc
        if len(raw) > _MAX_DOCUMENT_BYTES:
            raise KeyCertificateError("the key certificate is too large")
        try:
            document = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise KeyCertificateError("the key certificate is not JSON") from exc
    if not isinstance(document, dict):
        raise KeyCertificateError("the key certificate must be a JSON object")
    body = _check_body(document.get("key_certificate"))
    rotation = body["previous_signing_key"] is not None
    expected = {"key_certificate", "signature"} | ({"rotation_signature"} if rotation else set())
    if set(document) != expected:
        raise KeyCertificateError(
            "a rotation needs a rotation_signature by the current key"
            if rotation
            else "a first key certificate has exactly key_certificate and signature"
        )
    message = _signed_bytes(body)
    new_key = crypto.decode_key(body["signing_public_key"])
    if not crypto.verify(new_key, message, _signature(document["signature"], "signature")):
        raise KeyCertificateError("the signature is not made with the certificate's signing key")
    if rotation:
        previous = crypto.decode_key(body["previous_signing_key"])
        signature = _signature(document["rotation_signature"], "rotation_signature")
        if not crypto.verify(previous, message, signature):
            raise KeyCertificateError("the rotation is not signed with the previous signing key")
    canonical = {name: document[name] for name in sorted(expected)}
    return KeyCertificate(
        scheme=body["scheme"],
        member_state=body["member_state"],
        authority=body["authority"],
        sealing_public_key=body["sealing_public_key"],
        signing_public_key=body["signing_public_key"],
        previous_signing_key=body["previous_signing_key"],
        created_at=body["created_at"],
        document=json.loads(_canonical(canonical)),
    )


# --- the key log ---------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyLogEntry:
    """One leaf of the key log: a key set an authority registered, and when."""

    scheme: str
    member_state: str
    fingerprint: str
    registered_at: str
    sealing_public_key: str
    signing_public_key: str
    previous_signing_key: str | None
    certificate: KeyCertificate | None  # None: registered before key certificates existed

    @property
    def authority(self) -> tuple[str, str]:
        return self.scheme, self.member_state


def key_log_entry_bytes(
    certificate: KeyCertificate | None,
    *,
    registered_at: str,
    legacy_keys: tuple[str, str, str, str] | None = None,
) -> bytes:
    """The exact bytes of a key-log leaf (hashed with RFC 9162's leaf prefix).

    ``legacy_keys`` (scheme, Member State, sealing key, signing key) is only for keys that a
    platform held before key certificates existed: the log says so instead of hiding them.
    """
    if (certificate is None) == (legacy_keys is None):
        raise KeyCertificateError("a key-log entry holds a certificate or legacy keys")
    if certificate is not None:
        scheme, member_state = certificate.scheme, certificate.member_state
        print_ = certificate.fingerprint
        extra: dict[str, Any] = {"certificate": certificate.document}
    else:
        assert legacy_keys is not None
        scheme, member_state, sealing, signing = legacy_keys
        print_ = fingerprint(
            scheme=scheme,
            member_state=member_state,
            sealing_public_key=sealing,
            signing_public_key=signing,
        )
        extra = {"legacy_keys": {"sealing_public_key": sealing, "signing_public_key": signing}}
    return _canonical(
        {
            "format": ENTRY_FORMAT,
            "scheme": scheme,
            "member_state": member_state,
            "fingerprint": print_,
            "registered_at": registered_at,
            **extra,
        }
    )


def parse_key_log_entry(data: bytes | str | dict[str, Any]) -> KeyLogEntry:
    """Read one key-log leaf, checking its certificate's signatures; raises KeyCertificateError."""
    if isinstance(data, bytes | str):
        try:
            value = json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise KeyCertificateError("the entry is not JSON") from exc
    else:
        value = data
    if not isinstance(value, dict) or not _ENTRY_FIELDS <= set(value) <= _ENTRY_FIELDS_ALL:
        raise KeyCertificateError("the entry's fields are wrong")
    if ("certificate" in value) == ("legacy_keys" in value):
        raise KeyCertificateError("an entry holds a certificate or legacy keys")
    if value["format"] != ENTRY_FORMAT:
        raise KeyCertificateError(f"the entry's format is not {ENTRY_FORMAT}")
    registered_at = _check_text(value["registered_at"], "registered_at", _TIMESTAMP)
    scheme = _check_text(value["scheme"], "scheme", _SCHEME)
    member_state = _check_text(value["member_state"], "member_state", _MEMBER_STATE)
    certificate: KeyCertificate | None = None
    if "certificate" in value:
        certificate = parse_key_certificate(value["certificate"])
        if (certificate.scheme, certificate.member_state) != (scheme, member_state):
            raise KeyCertificateError("the entry and its certificate name other authorities")
        sealing, signing = certificate.sealing_public_key, certificate.signing_public_key
        previous = certificate.previous_signing_key
    else:
        legacy = value["legacy_keys"]
        if not isinstance(legacy, dict) or set(legacy) != {
            "sealing_public_key",
            "signing_public_key",
        }:
            raise KeyCertificateError("the entry's legacy keys are malformed")
        sealing = _check_key(legacy["sealing_public_key"], "sealing_public_key")
        signing = _check_key(legacy["signing_public_key"], "signing_public_key")
        previous = None
    expected = fingerprint(
        scheme=scheme,
        member_state=member_state,
        sealing_public_key=sealing,
        signing_public_key=signing,
    )
    if value["fingerprint"] != expected:
        raise KeyCertificateError("the entry's fingerprint does not match its keys")
    return KeyLogEntry(
        scheme=scheme,
        member_state=member_state,
        fingerprint=expected,
        registered_at=registered_at,
        sealing_public_key=sealing,
        signing_public_key=signing,
        previous_signing_key=previous,
        certificate=certificate,
    )


@dataclass
class KeyHistory:
    """What the whole key log says: each authority's keys in order, and what is wrong with it."""

    keys: dict[tuple[str, str], list[KeyLogEntry]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    legacy: list[tuple[str, str]] = field(default_factory=list)

    def current(self, scheme: str, member_state: str) -> KeyLogEntry | None:
        entries = self.keys.get((scheme, member_state))
        return entries[-1] if entries else None

    def sealing_keys(self, scheme: str, member_state: str) -> list[str]:
        return [e.sealing_public_key for e in self.keys.get((scheme, member_state), [])]


def check_key_history(leaves: Iterable[bytes | str | dict[str, Any]]) -> KeyHistory:
    """Apply the key rules to the key log's leaves, in index order.

    An authority's first entry has no previous key; every later one is a rotation signed by
    the key before it; no key ever comes back. Keys registered before key certificates existed
    may only open the log, as the first entry of their authority.
    """
    history = KeyHistory()
    seen: set[str] = set()
    certified_yet = False
    for index, leaf in enumerate(leaves):
        try:
            entry = parse_key_log_entry(leaf)
        except KeyCertificateError as exc:
            history.problems.append(f"key log entry {index} is invalid: {exc}")
            continue
        previous = history.keys.get(entry.authority, [])
        where = f"key log entry {index} ({entry.scheme}:{entry.member_state})"
        if entry.certificate is None:
            if certified_yet or previous:
                history.problems.append(
                    f"{where} holds unsigned keys after the log began to hold certificates"
                )
                continue
            history.legacy.append(entry.authority)
        else:
            certified_yet = True
            if not previous and entry.previous_signing_key is not None:
                history.problems.append(f"{where} rotates from a key the log never held")
                continue
            if previous and entry.previous_signing_key != previous[-1].signing_public_key:
                history.problems.append(
                    f"{where} is not signed by the authority's current key: a key was changed "
                    "without the authority"
                )
                continue
        if entry.sealing_public_key in seen or entry.signing_public_key in seen:
            history.problems.append(f"{where} brings back a key that the log already held")
            continue
        seen.update((entry.sealing_public_key, entry.signing_public_key))
        history.keys.setdefault(entry.authority, []).append(entry)
    return history
