"""Validators for personal identification numbers and document numbers (Annex III, Part B).

Two kinds of check, named by ``IdDocumentType.validator``:

- ``"stdnum.<module>"``: the number has a public check-digit algorithm, implemented by
  python-stdnum; where the number encodes the date of birth it is returned as
  ``IdCheck.birth_date`` so that the age can be checked.
- ``"format"``: passports and most identity cards have no public checksum; the number is
  checked against the format patterns of the data file only.

Every check first normalises the input: spaces, dots, hyphens and slashes are removed and
letters upper-cased. Only ASCII letters, digits and ``+`` (the Swedish separator for people
aged 100 or more) may remain.

:func:`check_number` never raises, whatever the input: it answers with an
:class:`~quorum.rules.model.IdCheck` whose ``reason`` is one of :data:`REASONS`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from types import MappingProxyType

from stdnum.be import nn as be_nn
from stdnum.bg import egn as bg_egn
from stdnum.ee import ik as ee_ik
from stdnum.es import dni as es_dni
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
    ValidationError,
)
from stdnum.hr import oib as hr_oib
from stdnum.lt import asmens as lt_asmens
from stdnum.lv import pvn as lv_pvn
from stdnum.pl import pesel as pl_pesel
from stdnum.pt import cc as pt_cc
from stdnum.ro import cnp as ro_cnp
from stdnum.se import personnummer as se_personnummer
from stdnum.si import emso as si_emso

from quorum.rules.i18n import N_
from quorum.rules.model import IdCheck, IdDocumentType

EMPTY = N_("Please enter the number.")
TOO_SHORT = N_("This number is too short.")
TOO_LONG = N_("This number is too long.")
BAD_CHARACTERS = N_("This number contains characters that are not allowed.")
BAD_FORMAT = N_("This number does not have the format of the chosen document.")
CHECK_DIGIT = N_("The check digit is wrong.")
BAD_COMPONENT = N_("A part of this number, such as the date of birth, is not valid.")
INVALID = N_("This number is not valid.")
UNKNOWN_TYPE = N_("This type of document is not accepted for this Member State.")

#: Every reason :func:`check_number` may return.
REASONS: tuple[str, ...] = (
    EMPTY,
    TOO_SHORT,
    TOO_LONG,
    BAD_CHARACTERS,
    BAD_FORMAT,
    CHECK_DIGIT,
    BAD_COMPONENT,
    INVALID,
    UNKNOWN_TYPE,
)

#: Input longer than this is rejected before any other work (no number is near it).
MAX_INPUT_LENGTH = 256

_SEPARATORS = str.maketrans("", "", " .-/")
_ALLOWED = re.compile(r"[0-9A-Za-z+]*", re.ASCII)


@dataclass(frozen=True, slots=True)
class Checksum:
    """A python-stdnum validator: ``validate`` returns the compact number or raises
    a ``stdnum.exceptions.ValidationError``; ``birth_date`` (if any) extracts the date of
    birth from a valid number, or returns None when this number does not carry one."""

    validate: Callable[[str], str]
    birth_date: Callable[[str], date | None] | None = None
    canonical: Callable[[str, date | None], str] | None = None


def _lv_birth_date(number: str) -> date | None:
    # Personal codes issued from 1 July 2017 start with 32 and carry no date of birth.
    return None if number.startswith("32") else lv_pvn.get_birth_date(number)


def _lt_birth_date(number: str) -> date | None:
    # Numbers starting with 9 are exceptional numbers without a date of birth.
    return None if number.startswith("9") else ee_ik.get_birth_date(number)


def _se_canonical(number: str, birth: date | None) -> str:
    # Always YYYYMMDDNNNN, so that 10- and 12-digit spellings of one number compare equal.
    digits = number.replace("-", "").replace("+", "")
    if birth is None:  # pragma: no cover - validate() already parsed the date
        return digits
    return f"{birth:%Y%m%d}{digits[-4:]}"


#: The checksum validators a data file may name, by ``IdDocumentType.validator``.
CHECKSUMS: Mapping[str, Checksum] = MappingProxyType(
    {
        "stdnum.be.nn": Checksum(be_nn.validate, be_nn.get_birth_date),
        "stdnum.bg.egn": Checksum(bg_egn.validate, bg_egn.get_birth_date),
        "stdnum.ee.ik": Checksum(ee_ik.validate, ee_ik.get_birth_date),
        "stdnum.es.dni": Checksum(es_dni.validate),
        "stdnum.hr.oib": Checksum(hr_oib.validate),
        "stdnum.lt.asmens": Checksum(lt_asmens.validate, _lt_birth_date),
        "stdnum.lv.pvn": Checksum(lv_pvn.validate, _lv_birth_date),
        "stdnum.pl.pesel": Checksum(pl_pesel.validate, pl_pesel.get_birth_date),
        "stdnum.pt.cc": Checksum(pt_cc.validate),
        "stdnum.ro.cnp": Checksum(ro_cnp.validate, ro_cnp.get_birth_date),
        "stdnum.se.personnummer": Checksum(
            se_personnummer.validate, se_personnummer.get_birth_date, _se_canonical
        ),
        "stdnum.si.emso": Checksum(si_emso.validate, si_emso.get_birth_date),
    }
)

#: The validator name for a format-only check.
FORMAT_ONLY = "format"


def known_validator(name: str) -> bool:
    return name == FORMAT_ONLY or name in CHECKSUMS


def extracts_birth_date(name: str) -> bool:
    checksum = CHECKSUMS.get(name)
    return checksum is not None and checksum.birth_date is not None


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.ASCII)


def normalise(number: str) -> str:
    """Strip spaces, dots, hyphens and slashes; upper-case. No validation."""
    return number.translate(_SEPARATORS).upper()


def invalid(reason: str) -> IdCheck:
    return IdCheck(valid=False, reason=reason, compact=None, birth_date=None)


def check_number(document: IdDocumentType, number: object) -> IdCheck:
    """Check ``number`` against ``document``. Never raises."""
    try:
        return _check(document, number)
    except Exception:  # the contract is "never raise": any surprise is an invalid number
        return invalid(INVALID)


def _check(document: IdDocumentType, number: object) -> IdCheck:
    if not isinstance(number, str):
        return invalid(EMPTY if number is None else INVALID)
    if len(number) > MAX_INPUT_LENGTH:
        return invalid(TOO_LONG)
    stripped = number.translate(_SEPARATORS)
    if not _ALLOWED.fullmatch(stripped):
        return invalid(BAD_CHARACTERS)
    compact = stripped.upper()
    if not compact:
        return invalid(EMPTY)
    if len(compact) < document.min_length:
        return invalid(TOO_SHORT)
    if len(compact) > document.max_length:
        return invalid(TOO_LONG)
    if document.patterns and not any(_compiled(p).fullmatch(compact) for p in document.patterns):
        return invalid(BAD_FORMAT)
    checksum = CHECKSUMS.get(document.validator)
    if checksum is None:
        if document.validator != FORMAT_ONLY:
            return invalid(INVALID)  # unknown validator: the loader rejects this earlier
        return IdCheck(valid=True, reason=None, compact=compact, birth_date=None)
    try:
        validated = checksum.validate(compact)
    except InvalidChecksum:
        return invalid(CHECK_DIGIT)
    except InvalidComponent:
        return invalid(BAD_COMPONENT)
    except (InvalidFormat, InvalidLength):
        return invalid(BAD_FORMAT)
    except ValidationError:
        return invalid(INVALID)
    birth = None
    if checksum.birth_date is not None:
        try:
            birth = checksum.birth_date(validated)
        except (ValidationError, ValueError):
            birth = None
    if checksum.canonical is not None:
        validated = checksum.canonical(validated, birth)
    if not document.age_from_number:
        birth = None
    return IdCheck(valid=True, reason=None, compact=validated, birth_date=birth)
