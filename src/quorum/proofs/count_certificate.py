"""The certificate an authority signs: its count of valid statements (Annex VI, Art. 12(5)).

A certificate file is ``{"certificate": {...}, "signature": "<base64>"}``; the signature is
Ed25519 over :func:`certificate_payload_bytes` of the ``certificate`` object: canonical JSON
(sorted keys, no spaces, UTF-8, non-ASCII characters as themselves).

:func:`parse_certificate` reads a document strictly into a :class:`CountCertificate`: anything
that is not a well-formed certificate raises :class:`CertificateFormatError` naming what is
wrong, and nothing else is ever raised. It needs no key: :func:`verify_certificate` is the
check of the signature against the authority's registered signing key, and whether the counts
fit the log is the platform's check.

Pure: imports only ``quorum.proofs.crypto`` and the standard library.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime
import json
import re
from typing import Any

from quorum.proofs import crypto

__all__ = [
    "CERTIFICATE_FIELDS",
    "FORMAT",
    "METHODS",
    "CertificateFormatError",
    "CountCertificate",
    "certificate_payload_bytes",
    "parse_certificate",
    "sign_certificate",
    "verify_certificate",
]

FORMAT = "quorum-certificate-v1"

#: The keys of the ``certificate`` object, all required, no others.
CERTIFICATE_FIELDS = frozenset(
    {
        "format",
        "scheme",
        "initiative",
        "member_state",
        "authority_signing_key",
        "checkpoint",
        "statements_in_batch",
        "valid_statements",
        "valid_online",
        "valid_paper",
        "method",
        "sample_size",
        "date",
    }
)
_DOCUMENT_KEYS = frozenset({"certificate", "signature"})
_INITIATIVE_KEYS = frozenset({"slug", "registration_number"})
_CHECKPOINT_KEYS = frozenset({"origin", "size", "root"})
#: Every statement of the batch checked, or a random sample of them (``sample_size``).
METHODS = frozenset({"full", "sample"})

# A certificate names what its batch named, so it is read with the batch header's rules
# (quorum.proofs.batch): a certificate the toolkit makes from a good batch always parses.
_SLUG = re.compile(r"[-a-zA-Z0-9_]{1,200}", re.ASCII)
_MEMBER_STATE = re.compile(r"[A-Z]{2}", re.ASCII)
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_MAX_TREE_SIZE = 2**64 - 1
_ROOT_LENGTH = 32  # a SHA-256 Merkle tree hash


class CertificateFormatError(ValueError):
    """Not a well-formed ``quorum-certificate-v1`` document; the message says what is wrong.

    ``field`` is the key of the ``certificate`` object at fault (``"checkpoint"`` for
    ``checkpoint.root``), ``"signature"`` for the signature, ``""`` for the document as a
    whole (not an object, keys missing or unknown).
    """

    def __init__(self, message: str, *, field: str = "") -> None:
        self.field = field
        super().__init__(message)


@dataclasses.dataclass(frozen=True, slots=True)
class CountCertificate:
    """A well-formed certificate, its signature not yet checked (:func:`verify_certificate`)."""

    scheme: str
    initiative_slug: str
    registration_number: str
    member_state: str
    authority_signing_key: bytes
    checkpoint_origin: str
    checkpoint_size: int
    checkpoint_root: bytes
    statements_in_batch: int
    valid_statements: int
    valid_online: int
    valid_paper: int
    method: str
    #: How many statements the sample checked; None when every statement was checked.
    sample_size: int | None
    date: datetime.date
    signature: bytes
    #: The document as JSON values, a copy made at parsing: what the platform stores, so
    #: that anyone can check the signature again.
    document: dict[str, Any] = dataclasses.field(repr=False, compare=False)

    @property
    def payload(self) -> bytes:
        """The bytes the signature is over."""
        return certificate_payload_bytes(self.document["certificate"])


def certificate_payload_bytes(cert: dict[str, Any]) -> bytes:
    """The exact bytes that are signed: canonical JSON of the ``certificate`` object."""
    return json.dumps(
        cert, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def sign_certificate(cert: dict[str, Any], signing_seed: bytes) -> dict[str, Any]:
    """``{"certificate": cert, "signature": base64}``, signed with the authority's seed."""
    signature = crypto.sign(signing_seed, certificate_payload_bytes(cert))
    return {"certificate": cert, "signature": base64.b64encode(signature).decode("ascii")}


def verify_certificate(certificate: object, signing_public_key: bytes) -> bool:
    """True only if ``certificate`` is well-formed and signed by ``signing_public_key``.

    ``certificate`` is a :class:`CountCertificate` or a document, which is parsed first. The
    certificate must also name that same key as its ``authority_signing_key``. Never raises:
    anything malformed is simply not valid.
    """
    if not isinstance(certificate, CountCertificate):
        try:
            certificate = parse_certificate(certificate)
        except CertificateFormatError:
            return False
    if not isinstance(signing_public_key, bytes | bytearray):
        return False
    key = bytes(signing_public_key)
    if certificate.authority_signing_key != key:
        return False
    return crypto.verify(key, certificate.payload, certificate.signature)


# --- reading -------------------------------------------------------------------------------


def parse_certificate(document: object) -> CountCertificate:
    """Read a certificate document (JSON values, as ``json.loads`` gives them) strictly.

    Checks the form and the rules a certificate holds on its own (a valid count no larger
    than the batch, a sample size exactly when sampled and no larger than the batch), in
    the order of the fields; raises :class:`CertificateFormatError` at the first fault,
    never anything else.
    """
    if not isinstance(document, dict):
        raise CertificateFormatError("a certificate must be a JSON object")
    body = document.get("certificate")
    if not isinstance(body, dict):
        raise CertificateFormatError("the document has no certificate object")
    # The signature first: a document with none is not signed, whatever else it holds.
    signature = _base64(document.get("signature"), "signature", crypto.SIGNATURE_LENGTH)
    _require_keys(document, _DOCUMENT_KEYS, "the document")
    _require(body.get("format") == FORMAT, f"format must be {FORMAT}", "format")
    _require_keys(body, CERTIFICATE_FIELDS, "the certificate")
    scheme = _text(body["scheme"], "scheme", _SLUG)
    initiative = _object(body["initiative"], "initiative", _INITIATIVE_KEYS)
    slug = _text(initiative["slug"], "initiative.slug", _SLUG)
    registration_number = _text(initiative["registration_number"], "initiative.registration_number")
    member_state = _text(body["member_state"], "member_state", _MEMBER_STATE)
    signing_key = _base64(body["authority_signing_key"], "authority_signing_key", crypto.KEY_LENGTH)
    checkpoint = _object(body["checkpoint"], "checkpoint", _CHECKPOINT_KEYS)
    origin = _text(checkpoint["origin"], "checkpoint.origin")
    size = _count(checkpoint["size"], "checkpoint.size")
    root = _base64(checkpoint["root"], "checkpoint.root", _ROOT_LENGTH)
    in_batch = _count(body["statements_in_batch"], "statements_in_batch")
    valid = _count(body["valid_statements"], "valid_statements", in_batch, "statements_in_batch")
    # Each a count, and no more: the platform counts valid_statements only, and a count
    # changed after signing is the signature's to refuse.
    online = _count(body["valid_online"], "valid_online")
    paper = _count(body["valid_paper"], "valid_paper")
    method = body["method"]
    _require(
        isinstance(method, str) and method in METHODS, "method must be full or sample", "method"
    )
    sample_size = body["sample_size"]
    if method == "full":
        _require(sample_size is None, "sample_size must be null when method is full", "sample_size")
    else:
        _require(
            type(sample_size) is int,
            "sample_size must be a count when method is sample",
            "sample_size",
        )
        sample_size = _count(sample_size, "sample_size", in_batch, "statements_in_batch")
    return CountCertificate(
        scheme=scheme,
        initiative_slug=slug,
        registration_number=registration_number,
        member_state=member_state,
        authority_signing_key=signing_key,
        checkpoint_origin=origin,
        checkpoint_size=size,
        checkpoint_root=root,
        statements_in_batch=in_batch,
        valid_statements=valid,
        valid_online=online,
        valid_paper=paper,
        method=method,
        sample_size=sample_size,
        date=_day(body["date"]),
        signature=signature,
        # Every value is checked to be plain JSON by now, so the copy cannot fail.
        document=json.loads(json.dumps(document, ensure_ascii=False, allow_nan=False)),
    )


def _require(condition: bool, message: str, field: str) -> None:
    if not condition:
        raise CertificateFormatError(message, field=field)


def _require_keys(value: dict[Any, Any], wanted: frozenset[str], what: str) -> None:
    keys = set(value)
    if keys == wanted:
        return
    parts = []
    if missing := sorted(wanted - keys):
        parts.append("lacks " + ", ".join(missing))
    if extra := sorted(repr(key) for key in keys - wanted):
        # Quoted and escaped: the toolkit prints the message on the authority's terminal.
        more = f" and {len(extra) - 3} more" if len(extra) > 3 else ""
        parts.append("has unknown " + ", ".join(extra[:3]) + more)
    field = what if what in CERTIFICATE_FIELDS else ""
    raise CertificateFormatError(f"{what} {' and '.join(parts)}", field=field)


def _object(value: object, name: str, wanted: frozenset[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CertificateFormatError(f"{name} must be an object", field=name)
    _require_keys(value, wanted, name)
    return value


def _text(value: object, name: str, pattern: re.Pattern[str] | None = None) -> str:
    field = _field_of(name)
    if not isinstance(value, str) or not value or any(ch < " " for ch in value):
        raise CertificateFormatError(f"{name} must be one line of text", field=field)
    if pattern is not None and pattern.fullmatch(value) is None:
        raise CertificateFormatError(f"{name} is malformed", field=field)
    try:
        value.encode("utf-8")  # json.loads gives lone surrogates, which cannot be signed
    except UnicodeEncodeError as exc:
        raise CertificateFormatError(f"{name} is not UTF-8 text", field=field) from exc
    return value


def _count(value: object, name: str, maximum: int = _MAX_TREE_SIZE, bound: str = "") -> int:
    # JSON has one kind of number; a count is an integer: true is not 1, and 3.0 is not 3.
    field = _field_of(name)
    if type(value) is not int or value < 0:
        raise CertificateFormatError(f"{name} must be a non-negative integer", field=field)
    if value > maximum:
        raise CertificateFormatError(f"{name} must be at most {bound or maximum}", field=field)
    return value


def _base64(value: object, name: str, length: int) -> bytes:
    field = _field_of(name)
    if not isinstance(value, str):
        raise CertificateFormatError(f"{name} must be base64 text", field=field)
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise CertificateFormatError(f"{name} is not valid base64", field=field) from exc
    # One value, one spelling: the unused padding bits must be zero.
    if base64.b64encode(raw).decode("ascii") != value:
        raise CertificateFormatError(f"{name} is not canonical base64", field=field)
    if len(raw) != length:
        raise CertificateFormatError(f"{name} must be {length} bytes, not {len(raw)}", field=field)
    return raw


def _day(value: object) -> datetime.date:
    if not isinstance(value, str) or _DAY.fullmatch(value) is None:
        raise CertificateFormatError("date must be YYYY-MM-DD", field="date")
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise CertificateFormatError("date is not a real day", field="date") from exc


def _field_of(name: str) -> str:
    """The certificate's key a dotted name is part of: checkpoint.root is in checkpoint."""
    return name.split(".", 1)[0]
