"""Open and check one statement of support, in memory only.

A :class:`Checker` holds the authority's sealing key and the rules of its Member State. For
each ciphertext it answers with a :class:`Checked`: a reason if the statement is invalid,
and keyed digests of the person's identity for the duplicate and register checks done
later over the whole batch. Nothing it returns holds personal data in the clear: the
identity digests are BLAKE2b keyed with a secret that lives only as long as one run.

The plaintext is canonical JSON padded with spaces (the platform's ``signing.content``)::

    {"v":1,"scheme":"eci","initiative":{"slug","registration_number"},"nationality":"PL",
     "signed_on":"YYYY-MM-DD","received_at":"YYYY-MM-DDTHH:MM:SSZ","language":"pl",
     "fields":{"first_names","family_names", Part A: "date_of_birth","residence.*";
               Part B: "id_type","id_number"}}

The toolkit parses it itself: it must not import the platform's signing code.
Runs in worker processes too: everything here is picklable or rebuilt per process.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

import nacl.exceptions
import nacl.public

from quorum.rules import OutOfScopeError, RulesError, scheme
from quorum.rules import ages as rule_ages
from quorum.rules import ids as rule_ids

__all__ = [
    "CANNOT_DECRYPT",
    "DUPLICATE",
    "INVALID_BIRTH_DATE",
    "INVALID_ID",
    "MALFORMED",
    "MISSING_FIELD",
    "NOT_IN_REGISTER",
    "OTHER_INITIATIVE",
    "OUT_OF_SCOPE",
    "REASONS",
    "UNDER_AGE",
    "WRONG_ENTRY",
    "WRONG_NATIONALITY",
    "CheckContext",
    "Checked",
    "Checker",
    "check_many",
    "normalise_name",
    "register_keys_for_row",
]

CONTENT_VERSION = 1

# Why a statement is invalid. Fixed English phrases: they are the report's categories.
CANNOT_DECRYPT = "cannot be decrypted"
MALFORMED = "malformed statement"
OTHER_INITIATIVE = "belongs to another initiative"
WRONG_ENTRY = "does not match its log entry"
WRONG_NATIONALITY = "wrong nationality"
MISSING_FIELD = "missing required field"
INVALID_ID = "invalid ID number"
INVALID_BIRTH_DATE = "invalid date of birth"
UNDER_AGE = "under age"
OUT_OF_SCOPE = "signing date outside the rules"
NOT_IN_REGISTER = "not in the population register"
DUPLICATE = "duplicate"

#: Every reason, in the order a statement meets the checks.
REASONS = (
    CANNOT_DECRYPT,
    MALFORMED,
    OTHER_INITIATIVE,
    WRONG_ENTRY,
    WRONG_NATIONALITY,
    MISSING_FIELD,
    INVALID_ID,
    INVALID_BIRTH_DATE,
    UNDER_AGE,
    OUT_OF_SCOPE,
    NOT_IN_REGISTER,
    DUPLICATE,
)

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_NAME_FIELDS = ("first_names", "family_names")


@dataclass(frozen=True)
class CheckContext:
    """What a checker needs; picklable, so it can be handed to worker processes."""

    scheme: str
    member_state: str
    slug: str
    registration_number: str
    #: number of the key in the authority's key history → its X25519 private key
    sealing_private_keys: dict[int, bytes] = field(repr=False)
    person_secret: bytes = field(repr=False)


class Checked(NamedTuple):
    """The verdict on one statement. No personal data in the clear."""

    # The statement's leaf index; mypy refuses a field that shadows tuple.index, renaming it
    # would change the toolkit's interface.
    index: int  # type: ignore[assignment]
    reason: str | None  # None: valid so far (register and duplicates come later)
    detail: str | None = None  # a fixed rule sentence or a field name, never a value
    person: bytes | None = None  # keyed digest for the duplicate check
    register: tuple[bytes, ...] = ()  # keyed digests to look up in the register
    age_checked: bool = True


def normalise_name(value: str) -> str:
    """NFKC, case-folded, runs of white space collapsed: "  Anna  MARIA " → "anna maria"."""
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())


def _digest(secret: bytes, text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), key=secret, digest_size=16).digest()


def _part_a_identity(first: str, family: str, born: date) -> str:
    return f"A\x00{normalise_name(first)}\x00{normalise_name(family)}\x00{born.isoformat()}"


def _register_number(number: str) -> str:
    return f"R\x00{number}"


class Checker:
    """Decrypts and checks statements for one authority. Build one per process."""

    def __init__(self, context: CheckContext) -> None:
        self.context = context
        self._boxes = {
            number: nacl.public.SealedBox(nacl.public.PrivateKey(private))
            for number, private in context.sealing_private_keys.items()
        }
        self._rules = scheme(context.scheme)
        self._part = self._rules.part(context.member_state)
        self._required = self._rules.required_fields(context.member_state)
        self._initiative = {
            "slug": context.slug,
            "registration_number": context.registration_number,
        }

    def check(self, index: int, received_at: str, ciphertext: bytes, key: int = 1) -> Checked:
        box = self._boxes.get(key)
        if box is None:
            return Checked(index, CANNOT_DECRYPT)
        try:
            plaintext = box.decrypt(ciphertext)
        except (nacl.exceptions.CryptoError, TypeError, ValueError):
            return Checked(index, CANNOT_DECRYPT)
        try:
            content = json.loads(plaintext.decode("utf-8"))
        except (ValueError, RecursionError):
            return Checked(index, MALFORMED, "not JSON")
        return self._check_content(index, received_at, content)

    def _check_content(self, index: int, received_at: str, content: Any) -> Checked:
        if not isinstance(content, dict) or content.get("v") != CONTENT_VERSION:
            return Checked(index, MALFORMED, "unknown statement version")
        if content.get("scheme") != self.context.scheme:
            return Checked(index, OTHER_INITIATIVE, "scheme")
        initiative = content.get("initiative")
        if not isinstance(initiative, dict) or any(
            initiative.get(key) != value for key, value in self._initiative.items()
        ):
            return Checked(index, OTHER_INITIATIVE, "initiative")
        if content.get("received_at") != received_at:
            return Checked(index, WRONG_ENTRY, "received_at")
        if content.get("nationality") != self.context.member_state:
            return Checked(index, WRONG_NATIONALITY)
        signed_on = _parse_day(content.get("signed_on"))
        if signed_on is None:
            return Checked(index, MALFORMED, "signed_on")
        fields = content.get("fields")
        if not isinstance(fields, dict):
            return Checked(index, MALFORMED, "fields")
        for name in self._required:
            value = fields.get(name)
            if not isinstance(value, str) or not value.strip():
                return Checked(index, MISSING_FIELD, name)
        try:
            if self._part == "B":
                return self._check_part_b(index, fields, signed_on)
            return self._check_part_a(index, fields, signed_on)
        except OutOfScopeError:
            return Checked(index, OUT_OF_SCOPE, "signed_on")
        except RulesError:
            return Checked(index, MALFORMED, "rules")

    def _age(self, index: int, born: date, signed_on: date) -> Checked | None:
        reason = self._rules.check_age(self.context.member_state, on=signed_on, date_of_birth=born)
        if reason == rule_ages.TOO_YOUNG:
            return Checked(index, UNDER_AGE)
        if reason is not None:
            return Checked(index, INVALID_BIRTH_DATE, reason)
        return None

    def _check_part_b(self, index: int, fields: dict[str, Any], signed_on: date) -> Checked:
        ms = self.context.member_state
        id_type, number = fields["id_type"], fields["id_number"]
        result = self._rules.check_id(ms, id_type, number)
        if not result.valid or result.compact is None:
            return Checked(index, INVALID_ID, result.reason)
        if result.birth_date is not None:
            too_young = self._age(index, result.birth_date, signed_on)
            if too_young is not None:
                return too_young
        else:
            # The age is checked only where the number carries the date of birth.
            self._rules.min_age(ms, signed_on)  # still refuse a date outside the rules
        secret = self.context.person_secret
        numbers = {result.compact, rule_ids.normalise(number)}
        return Checked(
            index,
            None,
            person=_digest(secret, f"B\x00{id_type}\x00{result.compact}"),
            register=tuple(sorted(_digest(secret, _register_number(n)) for n in numbers)),
            age_checked=result.birth_date is not None,
        )

    def _check_part_a(self, index: int, fields: dict[str, Any], signed_on: date) -> Checked:
        born = _parse_day(fields["date_of_birth"])
        if born is None:
            return Checked(index, INVALID_BIRTH_DATE, "not a date")
        too_young = self._age(index, born, signed_on)
        if too_young is not None:
            return too_young
        person = _digest(
            self.context.person_secret,
            _part_a_identity(fields["first_names"], fields["family_names"], born),
        )
        return Checked(index, None, person=person, register=(person,))


def _parse_day(value: object) -> date | None:
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def register_keys_for_row(
    context: CheckContext,
    *,
    id_number: str,
    first_names: str,
    family_names: str,
    date_of_birth: str,
) -> tuple[set[bytes], str | None]:
    """The keyed digests under which a register row matches statements, or an error.

    Part B states match by ID number: the number as written (separators removed, upper
    case) and, for each ID type of the state that accepts it, its canonical form. Part A
    states match by normalised first names, family names and date of birth.
    """
    rules = scheme(context.scheme)
    ms = context.member_state
    secret = context.person_secret
    if rules.part(ms) == "B":
        if not id_number.strip():
            return set(), "id_number is empty"
        numbers = {rule_ids.normalise(id_number.strip())}
        for document in rules.id_documents(ms):
            result = rules.check_id(ms, document.code, id_number)
            if result.valid and result.compact:
                numbers.add(result.compact)
        return {_digest(secret, _register_number(n)) for n in numbers}, None
    if not (first_names.strip() and family_names.strip() and date_of_birth.strip()):
        return set(), "first_names, family_names and date_of_birth are all needed (Part A)"
    born = _parse_day(date_of_birth.strip())
    if born is None:
        return set(), "date_of_birth must be YYYY-MM-DD"
    return {_digest(secret, _part_a_identity(first_names, family_names, born))}, None


# --- worker processes ----------------------------------------------------------------------

_worker: Checker | None = None


def init_worker(context: CheckContext) -> None:
    """Process-pool initializer: one checker per worker process."""
    global _worker
    _worker = Checker(context)


def check_many(items: Iterable[tuple[int, str, bytes, int]]) -> list[Checked]:
    """Check a chunk in a worker process (after :func:`init_worker`)."""
    if _worker is None:  # pragma: no cover - a pool without its initializer
        raise RuntimeError("the worker has no checker")
    check = _worker.check
    return [check(*item) for item in items]
