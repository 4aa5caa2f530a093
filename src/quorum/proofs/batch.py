"""The batch an authority downloads: one initiative's whole log, its own statements sealed.

Format ``quorum-batch-v3``: JSON Lines, UTF-8, every line one JSON object ending in a newline.

- Line 1, the header::

    {"format":"quorum-batch-v3","scheme":"eci",
     "initiative":{"slug":…,"registration_number":…,"registration_date":"YYYY-MM-DD","title":…},
     "member_state":"PL","log_key":"<signed-note verifier key>",
     "checkpoint":"<signed checkpoint note>","tree_size":N,"created_at":"YYYY-MM-DDTHH:MM:SSZ",
     "sealing_keys":{"1":"<base64 X25519 public key>",…}}

  ``sealing_keys`` are the keys of the batch's authority that its statements are sealed to,
  by their number in the authority's key history (the public key log).

- Then exactly one line per leaf of the log at that checkpoint, in index order 0..N-1, for
  *every* Member State (the leaves are public), so that the authority recomputes the root
  itself and sees which leaves are its own::

    {"i":0,"ms":"PL","p":"edri","t":"2025-03-01T10:00:00Z",
     "d":"<SHA-256 of the ciphertext, hex>","c":"<base64 ciphertext>","k":1}

  ``"c"`` and ``"k"`` (the number of the sealing key in the header) are present on the lines
  of the batch's own Member State and on no other line. ``"p"`` is the code of the coalition
  partner the statement was signed through (1 to 32 of ``a-z``, ``0-9`` and ``-``), present
  only on the lines that have one: it is part of the leaf (``quorum-statement-v2``), so the
  root cannot be recomputed without it.

``quorum-batch-v2`` is the same format without ``"p"`` (written before partners existed):
``read_batch`` still reads it, and refuses a ``"p"`` in it.

``read_batch`` parses strictly: any malformed line raises :class:`BatchFormatError` naming
the line, and nothing else is ever raised for bad content (I/O errors stay ``OSError``).
It checks the syntax of each line only; whether the leaves reproduce the checkpoint (indices
consecutive, count, root) is the verifier's job (``quorum.toolkit``).

Pure: standard library only. The platform's export and the offline toolkit share it.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple, TextIO, TypeGuard

__all__ = [
    "FORMAT",
    "FORMAT_V2",
    "MAX_LINE_LENGTH",
    "BatchEntry",
    "BatchFormatError",
    "BatchHeader",
    "BatchInitiative",
    "entry_line",
    "header_line",
    "read_batch",
    "write_batch",
]

FORMAT = "quorum-batch-v3"
#: The previous format, read still: the same lines without partner codes.
FORMAT_V2 = "quorum-batch-v2"
_READABLE_FORMATS = (FORMAT_V2, FORMAT)
#: No line comes near this (a statement is a few hundred bytes); longer ones are refused
#: before they are parsed, so a hostile file cannot make the reader hold gigabytes.
MAX_LINE_LENGTH = 1 << 20
_MAX_TREE_SIZE = 2**64 - 1

_MEMBER_STATE = re.compile(r"[A-Z]{2}", re.ASCII)
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", re.ASCII)
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_HEX64 = re.compile(r"[0-9a-f]{64}", re.ASCII)
_SLUG = re.compile(r"[-a-zA-Z0-9_]{1,200}", re.ASCII)  # Django's SlugField alphabet
_PARTNER = re.compile(r"[a-z0-9-]{1,32}", re.ASCII)  # a coalition partner's code

_HEADER_KEYS = frozenset(
    {
        "format",
        "scheme",
        "initiative",
        "member_state",
        "log_key",
        "checkpoint",
        "tree_size",
        "created_at",
        "sealing_keys",
    }
)
_INITIATIVE_KEYS = frozenset({"slug", "registration_number", "registration_date", "title"})
_ENTRY_KEYS = frozenset({"i", "ms", "t", "d"})
_OWN_ENTRY_KEYS = _ENTRY_KEYS | {"c", "k"}
_KEY_NUMBER = re.compile(r"[1-9][0-9]{0,8}", re.ASCII)
_BASE64_KEY = re.compile(r"[A-Za-z0-9+/]{43}=", re.ASCII)


class BatchFormatError(ValueError):
    """The batch is not a well-formed batch; ``line`` is 1-based (0: unknown)."""

    def __init__(self, message: str, *, line: int = 0) -> None:
        self.line = line
        self.reason = message
        super().__init__(f"line {line}: {message}" if line else message)


@dataclass(frozen=True, slots=True)
class BatchInitiative:
    slug: str
    registration_number: str
    registration_date: str
    title: str


@dataclass(frozen=True, slots=True)
class BatchHeader:
    scheme: str
    initiative: BatchInitiative
    member_state: str
    log_key: str
    checkpoint: str
    tree_size: int
    created_at: str
    #: number in the authority's key history → base64 X25519 public key
    sealing_keys: dict[int, str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "scheme": self.scheme,
            "initiative": {
                "slug": self.initiative.slug,
                "registration_number": self.initiative.registration_number,
                "registration_date": self.initiative.registration_date,
                "title": self.initiative.title,
            },
            "member_state": self.member_state,
            "log_key": self.log_key,
            "checkpoint": self.checkpoint,
            "tree_size": self.tree_size,
            "created_at": self.created_at,
            "sealing_keys": {str(number): key for number, key in sorted(self.sealing_keys.items())},
        }


class BatchEntry(NamedTuple):
    """One leaf: ``ciphertext`` and ``key`` are set on the batch's own Member State's lines only;
    ``partner`` is the coalition partner's code, or "" (last, so positional callers keep working).
    """

    # The leaf's place in the tree; mypy refuses a field that shadows tuple.index, renaming it
    # would change the toolkit's interface.
    index: int  # type: ignore[assignment]
    member_state: str
    received_at: str
    ciphertext_sha256: bytes
    ciphertext: bytes | None = None
    key: int | None = None
    partner: str = ""


# --- writing -------------------------------------------------------------------------------


def _dumps(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def header_line(header: BatchHeader) -> str:
    """The header's line, newline included; ``BatchFormatError`` if a field is malformed."""
    document = header.as_dict()
    _parse_header(document, line=1)  # one set of rules for writer and reader
    return _dumps(document) + "\n"


def entry_line(entry: BatchEntry, *, own_member_state: str) -> str:
    """One leaf's line, newline included; ``BatchFormatError`` if the entry is malformed."""
    document: dict[str, Any] = {"i": entry.index, "ms": entry.member_state}
    if entry.partner != "":  # present only when there is one; "" is no partner, not a code
        document["p"] = entry.partner
    document |= {
        "t": entry.received_at,
        "d": entry.ciphertext_sha256.hex()
        if isinstance(entry.ciphertext_sha256, bytes | bytearray)
        else entry.ciphertext_sha256,
    }
    if entry.ciphertext is not None:
        if not isinstance(entry.ciphertext, bytes | bytearray):
            raise BatchFormatError(f"entry {entry.index!r}: the ciphertext must be bytes")
        document["c"] = base64.b64encode(entry.ciphertext).decode("ascii")
        document["k"] = entry.key
    _parse_entry(document, own_member_state, line=0)
    return _dumps(document) + "\n"


def write_batch(out: TextIO, header: BatchHeader, entries: Iterable[BatchEntry]) -> int:
    """Write a whole batch; return the number of entries written.

    Refuses (``BatchFormatError``) anything ``read_batch`` would refuse, indices that do not
    run 0..N-1, and a count other than ``header.tree_size``. The check of the count comes at
    the end, so write to a temporary file and rename it only on success.
    """
    out.write(header_line(header))
    expected = 0
    for entry in entries:
        if entry.index != expected:
            raise BatchFormatError(f"entry {entry.index!r} written where {expected} was due")
        own = entry.member_state == header.member_state
        if own and entry.ciphertext is not None and entry.key not in header.sealing_keys:
            raise BatchFormatError(f"entry {entry.index}: its key is not in the header")
        out.write(entry_line(entry, own_member_state=header.member_state))
        expected += 1
    if expected != header.tree_size:
        raise BatchFormatError(f"{expected} entries written for a tree of {header.tree_size}")
    return expected


# --- reading -------------------------------------------------------------------------------


def read_batch(inp: TextIO) -> tuple[BatchHeader, Iterator[BatchEntry]]:
    """Parse the header now and return it with a lazy iterator over the entries.

    The iterator raises ``BatchFormatError`` (with the line number) at the first malformed
    line. Open ``inp`` with ``encoding="utf-8", errors="surrogateescape"`` so that undecodable
    bytes are reported with their exact line; with strict decoding they are a format error
    too, named by the line being read when the decoder met them.
    """
    text = _read_line(inp, 1)
    if text is None:
        raise BatchFormatError("the file is empty: no batch header", line=1)
    document = _loads(text, 1)
    header = _parse_header(document, line=1)
    return header, _entries(inp, header, partners=document["format"] != FORMAT_V2)


def _entries(inp: TextIO, header: BatchHeader, *, partners: bool) -> Iterator[BatchEntry]:
    number = 1
    own, keys = header.member_state, header.sealing_keys
    while True:
        number += 1
        text = _read_line(inp, number)
        if text is None:
            return
        entry = _parse_entry(_loads(text, number), own, line=number, partners=partners)
        if entry.key is not None and entry.key not in keys:
            raise BatchFormatError(
                f"the leaf's sealing key {entry.key} is not among the header's sealing_keys",
                line=number,
            )
        yield entry


def _read_line(inp: TextIO, number: int) -> str | None:
    try:
        text = inp.readline(MAX_LINE_LENGTH + 1)
    except UnicodeDecodeError as exc:
        raise BatchFormatError("the batch is not valid UTF-8", line=number) from exc
    except ValueError as exc:  # e.g. reading a closed file: still never a bare exception
        raise BatchFormatError(f"cannot read: {exc}", line=number) from exc
    if not text:
        return None
    if len(text) > MAX_LINE_LENGTH:
        raise BatchFormatError(f"the line is longer than {MAX_LINE_LENGTH} characters", line=number)
    if not text.isascii():
        # Opened with errors="surrogateescape", undecodable bytes arrive as lone surrogates:
        # name their exact line. (With strict decoding the error comes per decoded chunk.)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise BatchFormatError("the line is not valid UTF-8", line=number) from exc
    if text.endswith("\n"):
        text = text[:-1]
    if not text.strip():
        raise BatchFormatError("an empty line", line=number)
    return text


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise ValueError("a key appears twice in one object")
    return document


def _loads(text: str, line: int) -> dict[str, Any]:
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError) as exc:
        raise BatchFormatError(f"not a JSON object ({exc})", line=line) from exc
    if not isinstance(value, dict):
        raise BatchFormatError("not a JSON object", line=line)
    return value


def _require(condition: bool, message: str, line: int) -> None:
    if not condition:
        raise BatchFormatError(message, line=line)


def _is_text(value: object, pattern: re.Pattern[str] | None = None) -> TypeGuard[str]:
    if not isinstance(value, str):
        return False
    return pattern is None or pattern.fullmatch(value) is not None


def _single_line(value: object) -> bool:
    return isinstance(value, str) and bool(value) and not any(ch < " " for ch in value)


def _parse_header(document: dict[str, Any], *, line: int) -> BatchHeader:
    _require(
        document.get("format") in _READABLE_FORMATS,
        f"not a {FORMAT} batch (nor a {FORMAT_V2} one)",
        line,
    )
    keys = set(document)
    _require(keys == _HEADER_KEYS, _key_message("the header", keys, _HEADER_KEYS), line)
    initiative = document["initiative"]
    _require(isinstance(initiative, dict), "initiative must be an object", line)
    init_keys = set(initiative)
    _require(
        init_keys == _INITIATIVE_KEYS,
        _key_message("initiative", init_keys, _INITIATIVE_KEYS),
        line,
    )
    _require(_is_text(document["scheme"], _SLUG), "scheme must be a code", line)
    _require(_is_text(initiative["slug"], _SLUG), "initiative.slug is not a slug", line)
    for name in ("registration_number", "title"):
        _require(_single_line(initiative[name]), f"initiative.{name} must be one line", line)
    _require(
        _is_text(initiative["registration_date"], _DAY),
        "initiative.registration_date must be YYYY-MM-DD",
        line,
    )
    _require(
        _is_text(document["member_state"], _MEMBER_STATE),
        "member_state must be two capital letters",
        line,
    )
    _require(_single_line(document["log_key"]), "log_key must be one line of text", line)
    _require(
        isinstance(document["checkpoint"], str) and bool(document["checkpoint"]),
        "checkpoint must be the signed note's text",
        line,
    )
    size = document["tree_size"]
    _require(
        type(size) is int and 0 <= size <= _MAX_TREE_SIZE,
        "tree_size must be a non-negative integer",
        line,
    )
    _require(
        _is_text(document["created_at"], _TIMESTAMP),
        "created_at must be YYYY-MM-DDTHH:MM:SSZ",
        line,
    )
    sealing_keys = document["sealing_keys"]
    _require(
        isinstance(sealing_keys, dict)
        and len(sealing_keys) <= 1000
        and all(
            _is_text(number, _KEY_NUMBER) and _is_text(key, _BASE64_KEY)
            for number, key in sealing_keys.items()
        ),
        "sealing_keys must map key numbers to base64 public keys",
        line,
    )
    return BatchHeader(
        scheme=document["scheme"],
        initiative=BatchInitiative(
            slug=initiative["slug"],
            registration_number=initiative["registration_number"],
            registration_date=initiative["registration_date"],
            title=initiative["title"],
        ),
        member_state=document["member_state"],
        log_key=document["log_key"],
        checkpoint=document["checkpoint"],
        tree_size=size,
        created_at=document["created_at"],
        sealing_keys={int(number): key for number, key in sealing_keys.items()},
    )


def _key_message(what: str, keys: set[str], wanted: frozenset[str]) -> str:
    missing, extra = sorted(wanted - keys), sorted(keys - wanted)
    parts = []
    if missing:
        parts.append("lacks " + ", ".join(missing))
    if extra:
        parts.append("has unknown " + ", ".join(extra))
    return f"{what} {' and '.join(parts)}"


def _parse_entry(
    document: dict[str, Any], own: str, *, line: int, partners: bool = True
) -> BatchEntry:
    member_state = document.get("ms")
    if not _is_text(member_state, _MEMBER_STATE):
        raise BatchFormatError("ms must be a Member State code (two letters)", line=line)
    partner = _partner(document, line, partners=partners)
    is_own = member_state == own
    keys = document.keys() - {"p"}
    if keys != (_OWN_ENTRY_KEYS if is_own else _ENTRY_KEYS):
        if is_own and keys >= _ENTRY_KEYS and "c" not in keys:
            raise BatchFormatError(f"a leaf of {own} lacks its ciphertext (c)", line=line)
        if is_own and keys == _ENTRY_KEYS | {"c"}:
            raise BatchFormatError(f"a leaf of {own} lacks its sealing key number (k)", line=line)
        if not is_own and keys >= _ENTRY_KEYS and keys & {"c", "k"}:
            raise BatchFormatError(
                f"a leaf of {member_state} carries a ciphertext; only {own}'s may", line=line
            )
        wanted = _OWN_ENTRY_KEYS if is_own else _ENTRY_KEYS
        raise BatchFormatError(_key_message("the entry", set(keys), wanted), line=line)
    index = document["i"]
    _require(type(index) is int and 0 <= index <= _MAX_TREE_SIZE, "i must be a leaf index", line)
    received_at = document["t"]
    _require(_is_text(received_at, _TIMESTAMP), "t must be YYYY-MM-DDTHH:MM:SSZ", line)
    digest = document["d"]
    _require(_is_text(digest, _HEX64), "d must be 64 lower-case hex digits", line)
    ciphertext = key = None
    if is_own:
        ciphertext = _ciphertext(document["c"], line)
        key = document["k"]
        _require(type(key) is int and 1 <= key < 10**9, "k must be a key number", line)
    return BatchEntry(
        index, member_state, received_at, bytes.fromhex(digest), ciphertext, key, partner
    )


def _partner(document: dict[str, Any], line: int, *, partners: bool) -> str:
    """The entry's partner code, "" when it has none; "p" absent means none, never "" itself."""
    if "p" not in document:
        return ""
    _require(partners, f"a {FORMAT_V2} batch has no partner codes (p)", line)
    partner = document["p"]
    _require(
        _is_text(partner, _PARTNER),
        "p must be a partner code: 1 to 32 lower-case letters, digits and hyphens",
        line,
    )
    return partner


def _ciphertext(value: object, line: int) -> bytes:
    if not isinstance(value, str) or not value:
        raise BatchFormatError("c must be base64 text", line=line)
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise BatchFormatError("c is not valid base64", line=line) from exc
    # One ciphertext, one spelling: padding bits must be zero.
    _require(base64.b64encode(raw).decode("ascii") == value, "c is not canonical base64", line)
    return raw
