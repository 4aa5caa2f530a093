"""The plaintext of a statement, exactly as the authority will decrypt it.

Canonical JSON (sorted keys, no spaces, UTF-8) so that the same statement always has one
spelling; padded with trailing spaces to a multiple of PAD_TO bytes so that the ciphertext's
length says little about the length of a name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

CONTENT_VERSION = 1
PAD_TO = 256


@dataclass(frozen=True)
class StatementContent:
    scheme: str
    initiative_slug: str
    registration_number: str
    nationality: str
    signed_on: str
    received_at: str
    language: str
    fields: dict[str, str]

    def as_dict(self) -> dict[str, object]:
        return {
            "v": CONTENT_VERSION,
            "scheme": self.scheme,
            "initiative": {
                "slug": self.initiative_slug,
                "registration_number": self.registration_number,
            },
            "nationality": self.nationality,
            "signed_on": self.signed_on,
            "received_at": self.received_at,
            "language": self.language,
            "fields": dict(sorted(self.fields.items())),
        }


def canonical_json(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def statement_plaintext(content: StatementContent) -> bytes:
    body = canonical_json(content.as_dict())
    padding = -len(body) % PAD_TO
    return body + b" " * padding


def parse_statement_plaintext(plaintext: bytes) -> dict[str, object]:
    """The authority's side: trailing padding is JSON whitespace, so a plain parse suffices."""
    value = json.loads(plaintext.decode("utf-8"))
    if not isinstance(value, dict) or value.get("v") != CONTENT_VERSION:
        raise ValueError("not a Quorum statement of a known version")
    return value
