"""What an ID number of each document type looks like, derived from its rules data.

Pure: no Django, no network. The data file gives each :class:`IdDocumentType` its format
``patterns`` (anchored regular expressions of a small shape: character classes and literal
characters, each with an optional ``{n}`` or ``{n,m}``), ``min_length``/``max_length`` and,
where one exists, a checksum ``validator``. From those, :func:`id_format` says the format in
parts ("2 letters, then 6 digits") for the signing form to put into words, with an example
that the document's own check accepts — so that a hint never shows a number the form would
then refuse.

Each form gets an example. That of a checksum-validated number is found by a deterministic
search (the same example on every run); when none is found, there is no example and the hint
gives that form alone.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from quorum.rules.ids import CHECKSUMS, check_number
from quorum.rules.model import IdDocumentType

Kind = Literal["digits", "letters", "letters_or_digits", "symbol"]

_ATOM = re.compile(r"\[(?P<klass>[^\]]+)\]|(?P<literal>[A-Za-z0-9])")
_QUANTIFIER = re.compile(r"\{(?P<low>[0-9]+)(?:,(?P<high>[0-9]+))?\}")
_DIGITS = frozenset("0123456789")
_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")

#: How many candidates the example search tries for a checksum-validated number.
SEARCH_TRIES = 20_000


@dataclass(frozen=True, slots=True)
class Part:
    """A run of characters of one kind: ``low`` to ``high`` of them (equal when fixed)."""

    kind: Kind
    low: int
    high: int
    #: For a ``symbol``, the character itself ("+").
    symbol: str = ""


@dataclass(frozen=True, slots=True)
class Atom:
    members: str  # the characters this position may hold, in order
    low: int
    high: int


@dataclass(frozen=True, slots=True)
class IdFormat:
    """The accepted forms of one document type's number, and an example the check accepts."""

    code: str
    #: One tuple of parts per pattern of the data file, in its order.
    alternatives: tuple[tuple[Part, ...], ...]
    #: An example of each form (None where none was found).
    examples: tuple[str | None, ...]

    @property
    def example(self) -> str | None:
        """The example of the first form: the one a hint of a single line shows."""
        return self.examples[0] if self.examples else None


class UnsupportedPattern(ValueError):
    """A pattern outside the small shape this module reads (the data file's test catches it)."""


def _class_members(body: str) -> str:
    members: list[str] = []
    index = 0
    while index < len(body):
        if index + 2 < len(body) and body[index + 1] == "-":
            start, end = body[index], body[index + 2]
            members.extend(chr(code) for code in range(ord(start), ord(end) + 1))
            index += 3
        else:
            members.append(body[index])
            index += 1
    return "".join(members)


def parse_pattern(pattern: str) -> tuple[Atom, ...]:
    """``^[A-Z]{2}[0-9]{6}$`` → the atoms of the pattern. Raises UnsupportedPattern."""
    if not (pattern.startswith("^") and pattern.endswith("$")):
        raise UnsupportedPattern(pattern)
    body = pattern[1:-1]
    atoms: list[Atom] = []
    position = 0
    while position < len(body):
        match = _ATOM.match(body, position)
        if match is None:
            raise UnsupportedPattern(pattern)
        members = _class_members(match["klass"]) if match["klass"] is not None else match["literal"]
        position = match.end()
        low = high = 1
        quantifier = _QUANTIFIER.match(body, position)
        if quantifier is not None:
            low = int(quantifier["low"])
            high = int(quantifier["high"]) if quantifier["high"] is not None else low
            position = quantifier.end()
        if not members or high < low:
            raise UnsupportedPattern(pattern)
        atoms.append(Atom(members=members, low=low, high=high))
    return tuple(atoms)


def _kind(members: str) -> Kind:
    chars = set(members)
    if chars <= _DIGITS:
        return "digits"
    if chars <= _LETTERS:
        return "letters"
    if chars <= _DIGITS | _LETTERS:
        return "letters_or_digits"
    if len(chars) == 1:
        return "symbol"
    raise UnsupportedPattern(members)


def describe(atoms: tuple[Atom, ...]) -> tuple[Part, ...]:
    """The atoms as runs a person reads: neighbours of one kind are one run."""
    parts: list[Part] = []
    for atom in atoms:
        kind = _kind(atom.members)
        symbol = atom.members if kind == "symbol" else ""
        if parts and parts[-1].kind == kind and kind != "symbol":
            last = parts.pop()
            parts.append(Part(kind, last.low + atom.low, last.high + atom.high))
        else:
            parts.append(Part(kind, atom.low, atom.high, symbol))
    return tuple(parts)


def _plain_example(atoms: tuple[Atom, ...]) -> str:
    # Digits count up (1234…), letters go through the alphabet (AB…), as official specimens do.
    out: list[str] = []
    digit, letter = 0, 0
    for atom in atoms:
        for _ in range(atom.high):
            if set(atom.members) <= _DIGITS and len(atom.members) == 10:
                out.append("1234567890"[digit % 10])
                digit += 1
            elif set(atom.members) <= _LETTERS and len(atom.members) == 26:
                out.append(_sorted_letters[letter % 26])
                letter += 1
            else:
                out.append(atom.members[0])
    return "".join(out)


_sorted_letters = "".join(sorted(_LETTERS))


def _random_candidate(atoms: tuple[Atom, ...], chance: random.Random) -> str:
    return "".join(
        chance.choice(atom.members)
        for atom in atoms
        for _ in range(chance.randint(atom.low, atom.high))
    )


def _accepted(document: IdDocumentType, candidate: str) -> bool:
    # Valid as typed; the check may still store it in a canonical spelling (Sweden's 12 digits).
    return check_number(document, candidate).valid


#: The years of birth an example number may carry: an adult's, not someone born in 1856.
PLAUSIBLE_BIRTH_YEARS = range(1940, 2001)


def _plausible(document: IdDocumentType, candidate: str) -> bool:
    result = check_number(document, candidate)
    if not result.valid:
        return False
    if not document.age_from_number:
        return True
    return result.birth_date is not None and result.birth_date.year in PLAUSIBLE_BIRTH_YEARS


def _example(document: IdDocumentType, atoms: tuple[Atom, ...], index: int) -> str | None:
    plain = _plain_example(atoms)
    if _accepted(document, plain):
        return plain
    if document.validator not in CHECKSUMS:
        return None
    # Seeded by the type and form, so that the page shows the same example every time.
    chance = random.Random(f"{document.code}:{document.validator}:{index}")
    fallback: str | None = None  # valid, but of an unlikely birth year (Sweden's "+" is 100+)
    for _ in range(SEARCH_TRIES):
        candidate = _random_candidate(atoms, chance)
        if not re.fullmatch(document.patterns[index], candidate):
            continue
        if _plausible(document, candidate):
            return candidate
        if fallback is None and check_number(document, candidate).valid:
            fallback = candidate
    return fallback


@lru_cache(maxsize=128)
def id_format(document: IdDocumentType) -> IdFormat:
    """The forms and examples for ``document``. Raises UnsupportedPattern for a pattern of
    another shape (every pattern of the shipped data is read: a test says so)."""
    parsed = tuple(parse_pattern(pattern) for pattern in document.patterns)
    examples = tuple(_example(document, atoms, index) for index, atoms in enumerate(parsed))
    return IdFormat(
        code=document.code,
        alternatives=tuple(describe(atoms) for atoms in parsed),
        examples=examples,
    )


def matching_documents(
    documents: tuple[IdDocumentType, ...], number: str
) -> tuple[IdDocumentType, ...]:
    """The documents among ``documents`` whose check accepts ``number``."""
    return tuple(document for document in documents if check_number(document, number).valid)
