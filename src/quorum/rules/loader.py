"""Load and validate a scheme data file (``rules/data/<code>.json``), once.

The file is checked strictly: unknown keys, missing sources, wrong types, thresholds that
are not seats x total seats, gaps between Annex I tables, ages out of date order, unknown
validators... all raise :class:`~quorum.rules.errors.DataFileError` naming the place in the
file. A scheme that loads is internally consistent.
"""

from __future__ import annotations

import json
import math
import re
import string
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from datetime import date, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn, TypeVar, cast

from quorum.rules.deadlines import PERIOD_NAMES, WORKING_DAY_PERIODS
from quorum.rules.errors import DataFileError, UnknownSchemeError
from quorum.rules.ids import extracts_birth_date, known_validator
from quorum.rules.model import (
    AgeRule,
    Document,
    IdDocumentType,
    MemberState,
    OrganiserGroupRule,
    Part,
    PartRule,
    Period,
    RegisterRule,
    ResidenceNote,
    SchemeData,
    Source,
    SuccessRule,
    TextLimit,
    ThresholdTable,
    WithdrawnState,
)

FORMAT_VERSION = 1

#: The texts of a registration request whose length Annex II limits.
TEXT_LIMIT_NAMES: tuple[str, ...] = ("title", "objectives", "annex")

#: Field names a Part may require (the names used by the forms and the API).
FIELD_NAMES: frozenset[str] = frozenset(
    {
        "first_names",
        "family_names",
        "date_of_birth",
        "residence.street",
        "residence.postal_code",
        "residence.city",
        "residence.country",
        "id_type",
        "id_number",
    }
)

_SCHEME_CODE = re.compile(r"[a-z][a-z0-9_]{0,31}", re.ASCII)
_STATE_CODE = re.compile(r"[A-Z]{2}", re.ASCII)
_TYPE_CODE = re.compile(r"[a-z][a-z0-9_]{0,39}", re.ASCII)

T = TypeVar("T")


def _fail(path: str, message: str) -> NoReturn:
    raise DataFileError(f"{path}: {message}")


def _keys(
    obj: object, path: str, required: AbstractSet[str], optional: AbstractSet[str] = frozenset()
) -> dict[str, Any]:
    if not isinstance(obj, dict):
        _fail(path, f"expected an object, got {type(obj).__name__}")
    missing = required - obj.keys()
    if missing:
        _fail(path, f"missing key(s): {', '.join(sorted(missing))}")
    extra = obj.keys() - required - optional
    if extra:
        _fail(path, f"unknown key(s): {', '.join(sorted(extra))}")
    return obj


def _str(obj: object, path: str) -> str:
    if not isinstance(obj, str) or not obj.strip():
        _fail(path, "expected a non-empty string")
    return obj


def _opt_str(obj: object, path: str) -> str | None:
    return None if obj is None else _str(obj, path)


def _int(obj: object, path: str, low: int = 0, high: int | None = None) -> int:
    if not isinstance(obj, int) or isinstance(obj, bool):
        _fail(path, "expected an integer")
    if obj < low or (high is not None and obj > high):
        _fail(path, f"{obj} is out of range [{low}, {high if high is not None else '...'}]")
    return obj


def _bool(obj: object, path: str) -> bool:
    if not isinstance(obj, bool):
        _fail(path, "expected true or false")
    return obj


def _date(obj: object, path: str) -> date:
    text = _str(obj, path)
    try:
        return date.fromisoformat(text)
    except ValueError:
        _fail(path, f"{text!r} is not an ISO date (YYYY-MM-DD)")


def _list(obj: object, path: str, item: Callable[[object, str], T]) -> list[T]:
    if not isinstance(obj, list):
        _fail(path, "expected a list")
    return [item(value, f"{path}[{i}]") for i, value in enumerate(obj)]


class _Parser:
    def __init__(self, raw: object, origin: str) -> None:
        self.raw = raw
        self.origin = origin
        self.documents: dict[str, Document] = {}

    def path(self, *parts: object) -> str:
        return self.origin + ":" + ".".join(str(p) for p in parts)

    # -- sources -----------------------------------------------------------------------

    def source(self, obj: object, path: str) -> Source:
        obj = _keys(obj, path, {"doc", "at"}, {"uncertain", "note"})
        key = _str(obj["doc"], path + ".doc")
        document = self.documents.get(key)
        if document is None:
            _fail(path + ".doc", f"unknown document {key!r}")
        at = _str(obj["at"], path + ".at")
        return Source(
            key=key,
            citation=f"{document.short}, {at}",
            uncertain=_bool(obj.get("uncertain", False), path + ".uncertain"),
            url=document.url,
            note=_opt_str(obj.get("note"), path + ".note"),
        )

    def document(self, key: str, obj: object, path: str) -> Document:
        obj = _keys(obj, path, {"short", "citation", "url", "reference_keys"})
        return Document(
            key=key,
            short=_str(obj["short"], path + ".short"),
            citation=_str(obj["citation"], path + ".citation"),
            url=_opt_str(obj["url"], path + ".url"),
            reference_keys=tuple(_list(obj["reference_keys"], path + ".reference_keys", _str)),
        )

    # -- the whole file ------------------------------------------------------------------

    def parse(self) -> SchemeData:
        top = _keys(
            self.raw,
            self.origin,
            {
                "format",
                "scheme",
                "version",
                "title",
                "applies_from",
                "documents",
                "member_states",
                "threshold_tables",
                "annex_ii",
                "annex_iii",
                "min_ages",
                "deadlines",
                "success",
                "organiser_group",
            },
            {"notes", "register"},
        )
        if top["format"] != FORMAT_VERSION:
            _fail(self.path("format"), f"expected format {FORMAT_VERSION}, got {top['format']!r}")
        code = _str(top["scheme"], self.path("scheme"))
        if not _SCHEME_CODE.fullmatch(code):
            _fail(self.path("scheme"), f"{code!r} is not a scheme code")

        documents = top["documents"]
        if not isinstance(documents, dict) or not documents:
            _fail(self.path("documents"), "expected a non-empty object")
        for key, value in documents.items():
            self.documents[key] = self.document(key, value, self.path("documents", key))

        applies = _keys(top["applies_from"], self.path("applies_from"), {"date", "source"})
        applies_from = _date(applies["date"], self.path("applies_from", "date"))
        applies_source = self.source(applies["source"], self.path("applies_from", "source"))

        states = self.member_states(top["member_states"])
        codes = tuple(s.code for s in states)
        tables = self.tables(top["threshold_tables"], codes, applies_from)
        text_limits = self.annex_ii(top["annex_ii"])
        parts, state_parts, id_docs, id_docs_sources, notes = self.annex_iii(
            top["annex_iii"], codes
        )
        ages = self.ages(top["min_ages"], codes, applies_from)
        periods = self.periods(top["deadlines"])
        success = self.success(top["success"], len(codes))
        organisers = self.organisers(top["organiser_group"])
        register = self.register(top["register"]) if "register" in top else None
        return SchemeData(
            code=code,
            version=_str(top["version"], self.path("version")),
            title=_str(top["title"], self.path("title")),
            applies_from=applies_from,
            applies_from_source=applies_source,
            documents=MappingProxyType(dict(self.documents)),
            member_states=states,
            tables=tables,
            parts=MappingProxyType(parts),
            state_parts=MappingProxyType(state_parts),
            id_documents=MappingProxyType(id_docs),
            id_documents_sources=MappingProxyType(id_docs_sources),
            residence_notes=MappingProxyType(notes),
            text_limits=MappingProxyType(text_limits),
            ages=MappingProxyType(ages),
            periods=MappingProxyType(periods),
            success=success,
            organisers=organisers,
            register=register,
            notes=tuple(_list(top.get("notes", []), self.path("notes"), _str)),
        )

    # -- sections ------------------------------------------------------------------------

    def member_states(self, obj: object) -> tuple[MemberState, ...]:
        path = self.path("member_states")
        if not isinstance(obj, list) or not obj:
            _fail(path, "expected a non-empty list")
        states: list[MemberState] = []
        for i, item in enumerate(obj):
            p = f"{path}[{i}]"
            item = _keys(item, p, {"code", "name", "source"})
            code = _str(item["code"], p + ".code")
            if not _STATE_CODE.fullmatch(code):
                _fail(p + ".code", f"{code!r} is not a two-letter upper-case code")
            if any(s.code == code for s in states):
                _fail(p + ".code", f"duplicate Member State {code}")
            states.append(
                MemberState(
                    code=code,
                    name=_str(item["name"], p + ".name"),
                    source=self.source(item["source"], p + ".source"),
                )
            )
        return tuple(states)

    def _per_state_ints(self, obj: object, path: str, codes: tuple[str, ...]) -> dict[str, int]:
        if not isinstance(obj, dict):
            _fail(path, "expected an object keyed by Member State code")
        if set(obj) != set(codes):
            diff = sorted(set(obj) ^ set(codes))
            _fail(path, f"must list exactly the Member States; differs on {', '.join(diff)}")
        return {code: _int(obj[code], f"{path}.{code}", low=1) for code in codes}

    def tables(
        self, obj: object, codes: tuple[str, ...], applies_from: date
    ) -> tuple[ThresholdTable, ...]:
        path = self.path("threshold_tables")
        if not isinstance(obj, list) or not obj:
            _fail(path, "expected a non-empty list")
        tables: list[ThresholdTable] = []
        for i, item in enumerate(obj):
            p = f"{path}[{i}]"
            item = _keys(
                item,
                p,
                {
                    "name",
                    "total_seats",
                    "valid_from",
                    "valid_until",
                    "source",
                    "seats_source",
                    "validity_source",
                    "seats",
                    "thresholds",
                },
                {"withdrawn"},
            )
            total = _int(item["total_seats"], p + ".total_seats", low=1)
            seats = self._per_state_ints(item["seats"], p + ".seats", codes)
            thresholds = self._per_state_ints(item["thresholds"], p + ".thresholds", codes)
            for code in codes:
                if thresholds[code] != seats[code] * total:
                    _fail(
                        f"{p}.thresholds.{code}",
                        f"{thresholds[code]} != seats {seats[code]} x {total} total seats",
                    )
            withdrawn = tuple(
                self.withdrawn(w, f"{p}.withdrawn[{j}]", total, codes)
                for j, w in enumerate(_list(item.get("withdrawn", []), p + ".withdrawn", _id))
            )
            seat_sum = sum(seats.values()) + sum(w.seats for w in withdrawn)
            if seat_sum != total:
                _fail(p + ".seats", f"seats add up to {seat_sum}, not total_seats {total}")
            valid_from = _date(item["valid_from"], p + ".valid_from")
            valid_until = (
                None
                if item["valid_until"] is None
                else _date(item["valid_until"], p + ".valid_until")
            )
            if valid_until is not None and valid_until < valid_from:
                _fail(p + ".valid_until", "is before valid_from")
            if tables:
                previous = tables[-1]
                if (
                    previous.valid_until is None
                    or previous.valid_until + timedelta(days=1) != valid_from
                ):
                    _fail(p + ".valid_from", "must start the day after the previous table ends")
            elif valid_from != applies_from:
                _fail(p + ".valid_from", f"the first table must start on {applies_from}")
            tables.append(
                ThresholdTable(
                    name=_str(item["name"], p + ".name"),
                    total_seats=total,
                    seats=MappingProxyType(seats),
                    thresholds=MappingProxyType(thresholds),
                    valid_from=valid_from,
                    valid_until=valid_until,
                    source=self.source(item["source"], p + ".source"),
                    seats_source=self.source(item["seats_source"], p + ".seats_source"),
                    validity_source=self.source(item["validity_source"], p + ".validity_source"),
                    withdrawn=withdrawn,
                )
            )
        if tables[-1].valid_until is not None:
            _fail(f"{path}[{len(tables) - 1}].valid_until", "the last table must be open (null)")
        return tuple(tables)

    def withdrawn(
        self, obj: object, path: str, total: int, codes: tuple[str, ...]
    ) -> WithdrawnState:
        obj = _keys(obj, path, {"code", "name", "seats", "threshold"}, {"note"})
        code = _str(obj["code"], path + ".code")
        if code in codes:
            _fail(path + ".code", f"{code} is a current Member State")
        seats = _int(obj["seats"], path + ".seats", low=1)
        threshold = _int(obj["threshold"], path + ".threshold", low=1)
        if threshold != seats * total:
            _fail(path + ".threshold", f"{threshold} != seats {seats} x {total} total seats")
        _opt_str(obj.get("note"), path + ".note")
        return WithdrawnState(
            code=code, name=_str(obj["name"], path + ".name"), seats=seats, threshold=threshold
        )

    def annex_ii(self, obj: object) -> dict[str, TextLimit]:
        path = self.path("annex_ii")
        obj = _keys(obj, path, set(TEXT_LIMIT_NAMES))
        limits: dict[str, TextLimit] = {}
        for name in TEXT_LIMIT_NAMES:
            p = f"{path}.{name}"
            item = _keys(obj[name], p, {"max_characters", "spaces_count", "source"})
            limits[name] = TextLimit(
                name=name,
                max_characters=_int(item["max_characters"], p + ".max_characters", low=1),
                spaces_count=_bool(item["spaces_count"], p + ".spaces_count"),
                source=self.source(item["source"], p + ".source"),
            )
        return limits

    def annex_iii(
        self, obj: object, codes: tuple[str, ...]
    ) -> tuple[
        dict[str, PartRule],
        dict[str, tuple[Part, Source]],
        dict[str, tuple[IdDocumentType, ...]],
        dict[str, Source],
        dict[str, ResidenceNote],
    ]:
        path = self.path("annex_iii")
        obj = _keys(obj, path, {"parts", "residence_notes", "member_states"})
        raw_parts = _keys(obj["parts"], path + ".parts", {"A", "B"})
        parts: dict[str, PartRule] = {}
        for name in ("A", "B"):
            p = f"{path}.parts.{name}"
            item = _keys(raw_parts[name], p, {"fields", "source"})
            fields = tuple(_list(item["fields"], p + ".fields", _str))
            unknown = [f for f in fields if f not in FIELD_NAMES]
            if unknown or not fields or len(set(fields)) != len(fields):
                _fail(p + ".fields", f"unknown, duplicate or no field names: {unknown}")
            parts[name] = PartRule(part=name, fields=fields, source=self.source(item["source"], p))

        raw_notes = obj["residence_notes"]
        if not isinstance(raw_notes, dict):
            _fail(path + ".residence_notes", "expected an object")
        notes: dict[str, ResidenceNote] = {}
        for code, item in raw_notes.items():
            p = f"{path}.residence_notes.{code}"
            if code not in codes:
                _fail(p, f"unknown Member State {code!r}")
            item = _keys(item, p, {"text", "source"})
            notes[code] = ResidenceNote(
                text=_str(item["text"], p + ".text"),
                source=self.source(item["source"], p + ".source"),
            )

        raw_states = obj["member_states"]
        if not isinstance(raw_states, dict) or set(raw_states) != set(codes):
            _fail(path + ".member_states", "must list exactly the Member States")
        state_parts: dict[str, tuple[Part, Source]] = {}
        id_docs: dict[str, tuple[IdDocumentType, ...]] = {}
        id_docs_sources: dict[str, Source] = {}
        for code in codes:
            p = f"{path}.member_states.{code}"
            item = _keys(raw_states[code], p, {"part", "source"}, {"id_documents"})
            part = item["part"]
            if part not in ("A", "B"):
                _fail(p + ".part", f"expected 'A' or 'B', got {part!r}")
            state_parts[code] = (cast(Part, part), self.source(item["source"], p + ".source"))
            if part == "A":
                if "id_documents" in item:
                    _fail(p + ".id_documents", "a Part A Member State takes no ID documents")
                id_docs[code] = ()
                continue
            if "id_documents" not in item:
                _fail(p, "a Part B Member State needs id_documents")
            block = _keys(item["id_documents"], p + ".id_documents", {"source", "items"})
            id_docs_sources[code] = self.source(block["source"], p + ".id_documents.source")
            documents = tuple(
                self.id_document(d, f"{p}.id_documents.items[{j}]")
                for j, d in enumerate(_list(block["items"], p + ".id_documents.items", _id))
            )
            if not documents:
                _fail(p + ".id_documents.items", "a Part B Member State needs at least one")
            type_codes = [d.code for d in documents]
            if len(set(type_codes)) != len(type_codes):
                _fail(p + ".id_documents.items", f"duplicate type codes {type_codes}")
            id_docs[code] = documents
        for code in notes:
            if state_parts[code][0] != "A":
                _fail(f"{path}.residence_notes.{code}", "residence notes belong to Part A")
        return parts, state_parts, id_docs, id_docs_sources, notes

    def id_document(self, obj: object, path: str) -> IdDocumentType:
        obj = _keys(
            obj,
            path,
            {
                "code",
                "label",
                "label_en",
                "validator",
                "age_from_number",
                "min_length",
                "max_length",
                "patterns",
                "check",
                "source",
            },
            {"note"},
        )
        code = _str(obj["code"], path + ".code")
        if not _TYPE_CODE.fullmatch(code):
            _fail(path + ".code", f"{code!r} is not a lower-case type code")
        validator = _str(obj["validator"], path + ".validator")
        if not known_validator(validator):
            _fail(path + ".validator", f"unknown validator {validator!r}")
        age_from_number = _bool(obj["age_from_number"], path + ".age_from_number")
        if age_from_number and not extracts_birth_date(validator):
            _fail(path + ".age_from_number", f"{validator} does not extract a date of birth")
        min_length = _int(obj["min_length"], path + ".min_length", low=1, high=64)
        max_length = _int(obj["max_length"], path + ".max_length", low=min_length, high=64)
        patterns = tuple(_list(obj["patterns"], path + ".patterns", _str))
        for j, pattern in enumerate(patterns):
            try:
                re.compile(pattern, re.ASCII)
            except re.error as exc:
                _fail(f"{path}.patterns[{j}]", f"not a regular expression: {exc}")
            if not (pattern.startswith("^") and pattern.endswith("$")):
                _fail(f"{path}.patterns[{j}]", "patterns must be anchored with ^...$")
        if validator == "format" and not patterns:
            _fail(path + ".patterns", "a format-only check needs at least one pattern")
        return IdDocumentType(
            code=code,
            label=_str(obj["label"], path + ".label"),
            validator=validator,
            age_from_number=age_from_number,
            label_en=_str(obj["label_en"], path + ".label_en"),
            min_length=min_length,
            max_length=max_length,
            patterns=patterns,
            check=_str(obj["check"], path + ".check"),
            source=self.source(obj["source"], path + ".source"),
            note=_opt_str(obj.get("note"), path + ".note"),
        )

    def ages(
        self, obj: object, codes: tuple[str, ...], applies_from: date
    ) -> dict[str, tuple[AgeRule, ...]]:
        path = self.path("min_ages")
        if not isinstance(obj, dict) or set(obj) != set(codes):
            _fail(path, "must list exactly the Member States")
        ages: dict[str, tuple[AgeRule, ...]] = {}
        for code in codes:
            p = f"{path}.{code}"
            rules: list[AgeRule] = []
            for j, item in enumerate(_list(obj[code], p, _id)):
                q = f"{p}[{j}]"
                item = _keys(item, q, {"from", "age", "source"})
                rule = AgeRule(
                    valid_from=_date(item["from"], q + ".from"),
                    age=_int(item["age"], q + ".age", low=14, high=21),
                    source=self.source(item["source"], q + ".source"),
                )
                if rules and rule.valid_from <= rules[-1].valid_from:
                    _fail(q + ".from", "age rules must be in strictly increasing date order")
                if not rules and rule.valid_from != applies_from:
                    _fail(q + ".from", f"the first age rule must start on {applies_from}")
                rules.append(rule)
            if not rules:
                _fail(p, "needs at least one age rule")
            ages[code] = tuple(rules)
        return ages

    def periods(self, obj: object) -> dict[str, Period]:
        path = self.path("deadlines")
        if not isinstance(obj, dict) or set(obj) != set(PERIOD_NAMES):
            got = sorted(obj) if isinstance(obj, dict) else obj
            _fail(path, f"must define exactly {sorted(PERIOD_NAMES)}, got {got}")
        periods: dict[str, Period] = {}
        for name in PERIOD_NAMES:
            p = f"{path}.{name}"
            unit = "working_days" if name in WORKING_DAY_PERIODS else "months"
            item = _keys(obj[name], p, {unit, "counted_from", "source"}, {"note"})
            amount = _int(item[unit], f"{p}.{unit}", low=1, high=120)
            periods[name] = Period(
                name=name,
                months=amount if unit == "months" else None,
                working_days=amount if unit == "working_days" else None,
                counted_from=_str(item["counted_from"], p + ".counted_from"),
                source=self.source(item["source"], p + ".source"),
                note=_opt_str(item.get("note"), p + ".note"),
            )
        return periods

    def success(self, obj: object, n_states: int) -> SuccessRule:
        path = self.path("success")
        obj = _keys(obj, path, {"min_total", "source", "min_member_states", "member_states_source"})
        min_states = _int(obj["min_member_states"], path + ".min_member_states", 1, n_states)
        if min_states != math.ceil(n_states / 4):
            _fail(
                path + ".min_member_states",
                f"Art. 3(1) asks for one quarter of the Member States: ceil({n_states} / 4)",
            )
        return SuccessRule(
            min_total=_int(obj["min_total"], path + ".min_total", low=1),
            min_member_states=min_states,
            source=self.source(obj["source"], path + ".source"),
            member_states_source=self.source(
                obj["member_states_source"], path + ".member_states_source"
            ),
        )

    def organisers(self, obj: object) -> OrganiserGroupRule:
        path = self.path("organiser_group")
        obj = _keys(
            obj,
            path,
            {"min_members", "min_member_states_of_residence", "source"},
            {"note"},
        )
        return OrganiserGroupRule(
            min_members=_int(obj["min_members"], path + ".min_members", low=1),
            min_member_states_of_residence=_int(
                obj["min_member_states_of_residence"],
                path + ".min_member_states_of_residence",
                low=1,
            ),
            source=self.source(obj["source"], path + ".source"),
            note=_opt_str(obj.get("note"), path + ".note"),
        )

    def register(self, obj: object) -> RegisterRule:
        path = self.path("register")
        obj = _keys(
            obj,
            path,
            {"number_pattern", "number_format", "initiative_url", "data_protection_url", "source"},
        )
        text = _str(obj["number_pattern"], path + ".number_pattern")
        try:
            pattern = re.compile(text, re.ASCII)
        except re.error as exc:
            _fail(path + ".number_pattern", f"not a regular expression: {exc}")
        groups = set(pattern.groupindex)
        if groups != {"year", "serial"}:
            _fail(path + ".number_pattern", "expected the groups year and serial")
        number_format = _str(obj["number_format"], path + ".number_format")
        _check_number_format(number_format, pattern, path + ".number_format")
        initiative_url = _str(obj["initiative_url"], path + ".initiative_url")
        _check_placeholders(initiative_url, groups | {"language"}, path + ".initiative_url")
        data_protection_url = _str(obj["data_protection_url"], path + ".data_protection_url")
        _check_placeholders(data_protection_url, {"language"}, path + ".data_protection_url")
        return RegisterRule(
            number_pattern=pattern,
            number_format=number_format,
            initiative_url=initiative_url,
            data_protection_url=data_protection_url,
            source=self.source(obj["source"], path + ".source"),
        )


def _check_number_format(number_format: str, pattern: re.Pattern[str], path: str) -> None:
    """A format whose numbers the pattern reads back: the first of a year, and a later one."""
    for year, serial in ((2026, 1), (1999, 42)):
        try:
            number = number_format.format(year=year, serial=serial)
        except (KeyError, IndexError, ValueError) as exc:
            _fail(path, f"expected a format of year and serial: {exc!r}")
        match = pattern.fullmatch(number)
        if match is None or (int(match["year"]), int(match["serial"])) != (year, serial):
            _fail(path, f"the number_pattern does not read {number!r} back as {year}, {serial}")


def _check_placeholders(url: str, expected: set[str], path: str) -> None:
    """An https address whose ``{placeholders}`` are exactly ``expected``."""
    if not url.startswith("https://"):
        _fail(path, "expected an https:// address")
    try:
        found = {name for _, name, _, _ in string.Formatter().parse(url) if name is not None}
    except ValueError as exc:
        _fail(path, f"malformed placeholders: {exc}")
    if found != expected:
        _fail(path, f"expected the placeholders {sorted(expected)}, got {sorted(found)}")


def _id(obj: object, path: str) -> object:
    return obj


def parse_scheme(raw: object, origin: str = "<data>") -> SchemeData:
    """Validate already-decoded JSON and build the scheme's data. Raises DataFileError."""
    return _Parser(raw, origin).parse()


def load_file(path: Path | str) -> SchemeData:
    """Read, decode and validate one data file (no caching)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{path}: cannot read: {exc}") from exc
    return load_text(text, origin=path.name)


def load_text(text: str, origin: str = "<data>") -> SchemeData:
    try:
        raw: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataFileError(f"{origin}: not valid JSON: {exc}") from exc
    return parse_scheme(raw, origin)


def data_path(code: str) -> Path:
    """The packaged data file of scheme ``code`` (it may not exist)."""
    return Path(str(resources.files("quorum.rules").joinpath("data", f"{code}.json")))


def available_schemes() -> tuple[str, ...]:
    folder = resources.files("quorum.rules").joinpath("data")
    return tuple(
        sorted(
            entry.name.removesuffix(".json")
            for entry in folder.iterdir()
            if entry.name.endswith(".json") and _SCHEME_CODE.fullmatch(entry.name[:-5])
        )
    )


def load_scheme(code: str) -> SchemeData:
    """The validated data of scheme ``code``, loaded once per process."""
    if not isinstance(code, str) or not _SCHEME_CODE.fullmatch(code):
        raise UnknownSchemeError(f"unknown scheme {code!r}")
    return _load_scheme(code)


@cache
def _load_scheme(code: str) -> SchemeData:
    path = data_path(code)
    if not path.is_file():
        raise UnknownSchemeError(f"unknown scheme {code!r}: no data file {path.name}")
    data = load_file(path)
    if data.code != code:
        raise DataFileError(f"{path.name}: declares scheme {data.code!r}, expected {code!r}")
    return data
