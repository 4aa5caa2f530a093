"""The certificate an authority signs: its count of valid statements (Annex VI, Art. 12(5)).

A certificate file is ``{"certificate": {...}, "signature": "<base64>"}``; the signature is
Ed25519 over :func:`certificate_payload_bytes` of the ``certificate`` object: canonical JSON
(sorted keys, no spaces, UTF-8, non-ASCII characters as themselves). The platform checks a
certificate with :func:`verify_certificate` and the authority's registered signing key, then
checks the counts against its own log.

Pure: imports only ``quorum.proofs.crypto`` and the standard library.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from quorum.proofs import crypto

__all__ = [
    "CERTIFICATE_FIELDS",
    "FORMAT",
    "certificate_payload_bytes",
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


def certificate_payload_bytes(cert: dict[str, Any]) -> bytes:
    """The exact bytes that are signed: canonical JSON of the ``certificate`` object."""
    return json.dumps(
        cert, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def sign_certificate(cert: dict[str, Any], signing_seed: bytes) -> dict[str, Any]:
    """``{"certificate": cert, "signature": base64}``, signed with the authority's seed."""
    signature = crypto.sign(signing_seed, certificate_payload_bytes(cert))
    return {"certificate": cert, "signature": base64.b64encode(signature).decode("ascii")}


def verify_certificate(doc: dict[str, Any], signing_public_key: bytes) -> bool:
    """True only if ``doc`` is a well-formed certificate signed by ``signing_public_key``.

    Also requires the certificate to name that same key as its ``authority_signing_key`` and
    to be of this format. Never raises: anything malformed is simply not valid. Whether the
    counts make sense (against the log, the batch's Member State) is the caller's check.
    """
    try:
        if not isinstance(doc, dict) or set(doc) != {"certificate", "signature"}:
            return False
        cert, encoded = doc["certificate"], doc["signature"]
        if not isinstance(cert, dict) or not isinstance(encoded, str):
            return False
        if set(cert) != CERTIFICATE_FIELDS or cert.get("format") != FORMAT:
            return False
        if not isinstance(signing_public_key, bytes | bytearray):
            return False
        if cert.get("authority_signing_key") != crypto.encode_key(bytes(signing_public_key)):
            return False
        signature = base64.b64decode(encoded.encode("ascii"), validate=True)
        if base64.b64encode(signature).decode("ascii") != encoded:
            return False
        payload = certificate_payload_bytes(cert)
    except (binascii.Error, UnicodeEncodeError, ValueError, TypeError, RecursionError):
        return False
    return crypto.verify(bytes(signing_public_key), payload, signature)
