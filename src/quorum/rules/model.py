"""Immutable value types of the rules package.

Every type here is a frozen dataclass. Scheme data is built once by
:mod:`quorum.rules.loader` from a scheme's data file; its shared mappings (tables, scheme
data) are read-only views (:class:`types.MappingProxyType`). Results built per call
(``MemberStateRules.sources``, ``Verdict.by_member_state``) are plain dicts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

Part = Literal["A", "B"]


@dataclass(frozen=True, slots=True)
class Source:
    """Where a value comes from.

    ``key`` names a document of the data file's ``documents`` table (e.g.
    ``"REG-2019-788"``); ``citation`` is the human-readable pinpoint (e.g.
    ``"Reg. (EU) 2019/788, Art. 8(1)"``); ``uncertain`` is True where the reference note
    marks the value [U] (not found in a primary source, or sources conflict).
    """

    key: str
    citation: str
    uncertain: bool = False
    url: str | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "citation": self.citation,
            "uncertain": self.uncertain,
            "url": self.url,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class Document:
    """A legal act, official page or other document that values cite."""

    key: str
    short: str
    citation: str
    url: str | None
    reference_keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MemberState:
    """A Member State of the scheme by its EU code (``EL`` for Greece)."""

    code: str
    name: str
    source: Source


@dataclass(frozen=True, slots=True)
class IdDocumentType:
    """One personal identification number or document type a Part B state accepts.

    ``code`` is stable (stored with statements); ``label`` is the native label the
    Commission prints; ``validator`` names the check that applies: ``"stdnum.<module>"``
    (a python-stdnum checksum validator) or ``"format"`` (format only: no public
    checksum). ``age_from_number`` is True where the number encodes the date of birth.
    """

    code: str
    label: str
    validator: str
    age_from_number: bool
    label_en: str = ""
    min_length: int = 1
    max_length: int = 64
    patterns: tuple[str, ...] = ()
    check: str = ""
    source: Source | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "label": self.label,
            "label_en": self.label_en,
            "validator": self.validator,
            "age_from_number": self.age_from_number,
            "min_length": self.min_length,
            "max_length": self.max_length,
            "patterns": list(self.patterns),
            "check": self.check,
            "source": self.source.as_dict() if self.source else None,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class WithdrawnState:
    """A row of an Annex I table for a state that has since left the Union (the UK)."""

    code: str
    name: str
    seats: int
    threshold: int


@dataclass(frozen=True, slots=True)
class ThresholdTable:
    """One version of Annex I, selected by the initiative's registration date.

    ``valid_from`` and ``valid_until`` are registration dates, both inclusive;
    ``valid_until`` is None for the table currently in force.
    """

    name: str
    total_seats: int
    seats: Mapping[str, int]
    thresholds: Mapping[str, int]
    valid_from: date
    valid_until: date | None
    source: Source
    seats_source: Source
    validity_source: Source
    withdrawn: tuple[WithdrawnState, ...] = ()

    def applies_to(self, registered: date) -> bool:
        if registered < self.valid_from:
            return False
        return self.valid_until is None or registered <= self.valid_until

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "total_seats": self.total_seats,
            "valid_from": self.valid_from.isoformat(),
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "seats": dict(self.seats),
            "thresholds": dict(self.thresholds),
            "withdrawn": [
                {"code": w.code, "name": w.name, "seats": w.seats, "threshold": w.threshold}
                for w in self.withdrawn
            ],
            "source": self.source.as_dict(),
            "seats_source": self.seats_source.as_dict(),
            "validity_source": self.validity_source.as_dict(),
        }


@dataclass(frozen=True, slots=True)
class AgeRule:
    """The minimum age to support an initiative, from ``valid_from`` (a signing date) on."""

    valid_from: date
    age: int
    source: Source


@dataclass(frozen=True, slots=True)
class PartRule:
    """Annex III, Part A or Part B: the fields a signatory of that part gives."""

    part: Part
    fields: tuple[str, ...]
    source: Source


@dataclass(frozen=True, slots=True)
class TextLimit:
    """Annex II: how long one text of a registration request may be.

    ``name`` is ``"title"``, ``"objectives"`` or ``"annex"``. Where ``spaces_count`` is
    False the limit is "without spaces": white space of any kind is not counted.
    """

    name: str
    max_characters: int
    spaces_count: bool
    source: Source

    def length(self, text: str) -> int:
        """The length of ``text`` as this limit counts it."""
        if self.spaces_count:
            return len(text)
        return sum(1 for char in text if not char.isspace())

    def allows(self, text: str) -> bool:
        return self.length(text) <= self.max_characters

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "max_characters": self.max_characters,
            "spaces_count": self.spaces_count,
            "source": self.source.as_dict(),
        }


@dataclass(frozen=True, slots=True)
class Period:
    """A legal time limit: a number of months or of working days, with its source."""

    name: str
    months: int | None
    working_days: int | None
    counted_from: str
    source: Source
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "months": self.months,
            "working_days": self.working_days,
            "counted_from": self.counted_from,
            "source": self.source.as_dict(),
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class SuccessRule:
    """Art. 3(1): the total and the number of Member States at their Annex I minimum."""

    min_total: int
    min_member_states: int
    source: Source
    member_states_source: Source


@dataclass(frozen=True, slots=True)
class OrganiserGroupRule:
    """Art. 5(1): the size and spread of the group of organisers."""

    min_members: int
    min_member_states_of_residence: int
    source: Source
    note: str | None = None


@dataclass(frozen=True, slots=True)
class RegisterRule:
    """Where the scheme's public register shows an initiative, by its registration number
    (Annex III, point 4), and the page of the national authorities' and the data protection
    authorities' contact details that the paper form's privacy statement names."""

    #: A registration number of the register's form; its named groups fill ``initiative_url``.
    number_pattern: re.Pattern[str]
    #: The number of a ``year`` and a ``serial`` counted within it: the pattern reads it back.
    number_format: str
    #: With ``{language}`` and the pattern's groups (``{year}``, ``{serial}``).
    initiative_url: str
    #: With ``{language}``.
    data_protection_url: str
    source: Source

    def next_number(self, year: int, numbers: Iterable[str]) -> str | None:
        """The number after the highest of ``year`` among ``numbers`` (numbers of other forms
        are not counted), the year's first when it has none, or None once its serials are
        used up."""
        serials = [
            int(match["serial"])
            for number in numbers
            if (match := self.number_pattern.fullmatch(number)) and int(match["year"]) == year
        ]
        number = self.number_format.format(year=year, serial=max(serials, default=0) + 1)
        return number if self.number_pattern.fullmatch(number) else None

    def initiative_address(self, registration_number: str, *, language: str) -> str | None:
        """The initiative's page in the register, or None for a number of another form."""
        match = self.number_pattern.fullmatch(registration_number)
        if match is None:
            return None
        return self.initiative_url.format(language=language, **match.groupdict())


@dataclass(frozen=True, slots=True)
class ResidenceNote:
    """A footnote to the Part A residence field (Annex III; only Germany has one)."""

    text: str
    source: Source


@dataclass(frozen=True, slots=True)
class MemberStateRules:
    """Everything a form, a validator or a report needs about one Member State.

    ``seats`` and ``threshold`` come from the Annex I table in force on the registration
    date; ``min_age`` is the age on that same date (see ``Scheme.min_age`` for other
    dates). ``sources`` maps a field name to its source; ``uncertain`` lists the fields
    whose source is flagged [U].
    """

    code: str
    name: str
    seats: int
    threshold: int
    part: Part
    min_age: int
    id_documents: tuple[IdDocumentType, ...]
    required_fields: tuple[str, ...]
    sources: dict[str, Source]
    uncertain: tuple[str, ...]
    residence_note: ResidenceNote | None = None
    table: str = ""

    def id_document(self, code: str) -> IdDocumentType | None:
        for document in self.id_documents:
            if document.code == code:
                return document
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "seats": self.seats,
            "threshold": self.threshold,
            "table": self.table,
            "part": self.part,
            "min_age": self.min_age,
            "required_fields": list(self.required_fields),
            "id_documents": [d.code for d in self.id_documents],
            "residence_note": self.residence_note.text if self.residence_note else None,
            "sources": {name: source.as_dict() for name, source in self.sources.items()},
            "uncertain": list(self.uncertain),
        }


@dataclass(frozen=True, slots=True)
class IdCheck:
    """The answer of an ID number check. Never an exception.

    ``reason`` is None when valid, else one of the fixed English sentences in
    ``quorum.rules.ids.REASONS`` (marked with ``N_`` for translation). ``compact`` is
    the normalised number when valid. ``birth_date`` is set when the number encodes it.
    """

    valid: bool
    reason: str | None
    compact: str | None = None
    birth_date: date | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether certified counts make an initiative successful (Art. 3(1)).

    ``by_member_state`` maps every Member State code to ``(count, threshold, reached)``.
    """

    successful: bool
    total: int
    states_reached: tuple[str, ...]
    by_member_state: dict[str, tuple[int, int, bool]]
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SchemeData:
    """The validated content of one scheme data file (built by the loader)."""

    code: str
    version: str
    title: str
    applies_from: date
    applies_from_source: Source
    documents: Mapping[str, Document]
    member_states: tuple[MemberState, ...]
    tables: tuple[ThresholdTable, ...]
    parts: Mapping[str, PartRule]
    state_parts: Mapping[str, tuple[Part, Source]]
    id_documents: Mapping[str, tuple[IdDocumentType, ...]]
    id_documents_sources: Mapping[str, Source]
    residence_notes: Mapping[str, ResidenceNote]
    text_limits: Mapping[str, TextLimit]
    ages: Mapping[str, tuple[AgeRule, ...]]
    periods: Mapping[str, Period]
    success: SuccessRule
    organisers: OrganiserGroupRule
    register: RegisterRule | None = None
    notes: tuple[str, ...] = field(default=())
