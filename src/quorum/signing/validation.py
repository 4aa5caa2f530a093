"""Checking what a signatory typed, against the rules of their Member State.

Returns cleaned values and reasons; never raises on input. Reasons are English strings
marked for translation (the rules package's N_, or the messages here), translated by the
caller in the reader's language.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from django.utils.functional import lazy
from django.utils.translation import gettext

from quorum.core.errors import Message
from quorum.core.i18n import member_state_name
from quorum.core.local_forms import local_date
from quorum.rules import N_, Scheme
from quorum.rules import ages as rule_ages
from quorum.rules import ids as rule_ids
from quorum.signing.fields import FIELD_SPECS, fields_for
from quorum.signing.id_hints import wrong_number

REQUIRED = N_("This field is required.")
NOT_TEXT = N_("This field must be text.")
TOO_LONG = N_("This is too long.")
BAD_NAME_CHARACTERS = N_(
    "Use letters only, with spaces, apostrophes, hyphens or full stops where your name has them."
)
BAD_ADDRESS_CHARACTERS = N_("This contains characters that are not allowed here.")
BAD_POSTAL_CODE = N_("Enter a postal code of letters, digits, spaces and hyphens.")
BAD_DATE = N_("Enter a real date as year-month-day, for example 1990-04-23.")
DATE_IN_FUTURE = N_("The date of birth cannot be in the future.")
DATE_TOO_OLD = N_("Enter a date of birth after 1 January 1900.")
UNKNOWN_ID_TYPE = N_("Choose one of the document types accepted for your nationality.")
PRIVACY_NOT_CONFIRMED = N_("Confirm that you have read the privacy statement.")
UNKNOWN_FIELD = N_("This field is not part of the statement for your nationality.")

# Apostrophes (straight, right and left quotes, modifier letter), hyphens, and the full stop.
NAME_PUNCTUATION = frozenset("'\u2019\u02bc\u2018-\u2010\u2011.")
ADDRESS_PUNCTUATION = NAME_PUNCTUATION | frozenset(',/#()&\u00b0\u00ba\u00aa:;"')
POSTAL_CODE = re.compile(r"[0-9A-Za-z][0-9A-Za-z \-]{0,11}")
EARLIEST_BIRTH = date(1900, 1, 1)


@dataclass
class Checked:
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[Message]] = field(default_factory=dict)
    birth_date: date | None = None

    def fail(self, name: str, reason: Message) -> None:
        self.errors.setdefault(name, []).append(reason)


def _text(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    # NFC so that "é" typed two ways is one spelling for the authority's duplicate check.
    return " ".join(unicodedata.normalize("NFC", value).split())


def _allowed(value: str, punctuation: frozenset[str], *, digits: bool) -> bool:
    for char in value:
        category = unicodedata.category(char)
        if category[0] in ("L", "M") or char == " " or char in punctuation:
            continue
        if digits and category == "Nd":
            continue
        # Control, format (bidi overrides), surrogates, symbols: refused.
        return False
    return True


def check_name(value: str) -> str | None:
    if not _allowed(value, NAME_PUNCTUATION, digits=False):
        return BAD_NAME_CHARACTERS
    if not any(unicodedata.category(char)[0] == "L" for char in value):
        return BAD_NAME_CHARACTERS
    return None


def check_address_part(value: str) -> str | None:
    if not _allowed(value, ADDRESS_PUNCTUATION, digits=True):
        return BAD_ADDRESS_CHARACTERS
    return None


def check_postal_code(value: str) -> str | None:
    return None if POSTAL_CODE.fullmatch(value) else BAD_POSTAL_CODE


def parse_birth_date(value: str, *, today: date) -> tuple[date | None, str | None]:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return None, BAD_DATE
    try:
        born = date.fromisoformat(value)
    except ValueError:
        return None, BAD_DATE
    if born > today:
        return None, DATE_IN_FUTURE
    if born < EARLIEST_BIRTH:
        return None, DATE_TOO_OLD
    return born, None


def _too_young_text(member_state: str, minimum: int, first_day: date) -> str:
    return gettext(
        "You must be at least %(age)s years old to support an initiative as a national of "
        "this Member State (%(state)s). You may sign from %(date)s."
    ) % {"age": minimum, "state": member_state_name(member_state), "date": local_date(first_day)}


#: Rendered when read, in the reader's language: the minimum age and the first day to sign.
too_young_message = lazy(_too_young_text, str)


def age_refusal(rules: Scheme, member_state: str, *, born: date, today: date) -> Message | None:
    """None when old enough; else the refusal with the age and the first day, as a message."""
    reason = rules.check_age(member_state, on=today, date_of_birth=born)
    if reason != rule_ages.TOO_YOUNG:
        return reason
    first_day = rule_ages.first_day_old_enough(rules.age_rules(member_state), born, today)
    minimum = rules.min_age(member_state, first_day)
    return too_young_message(member_state, minimum, first_day)


FIELD_CHECKS = {
    "first_names": check_name,
    "family_names": check_name,
    "residence.street": check_address_part,
    "residence.city": check_address_part,
    "residence.country": check_address_part,
    "residence.postal_code": check_postal_code,
}


def validate_fields(
    rules: Scheme, member_state: str, data: dict[str, object], *, today: date
) -> Checked:
    """Check `data` (flat field names) for a signatory of `member_state`, signing `today`."""
    checked = Checked()
    wanted = fields_for(rules, member_state)
    for name in sorted(set(data) - set(wanted)):
        checked.fail(name, UNKNOWN_FIELD)
    for name in wanted:
        raw = data.get(name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            checked.fail(name, REQUIRED)
            continue
        value = _text(raw)
        if value is None:
            checked.fail(name, NOT_TEXT)
            continue
        if len(value) > FIELD_SPECS[name].max_length:
            checked.fail(name, TOO_LONG)
            continue
        reason = FIELD_CHECKS[name](value) if name in FIELD_CHECKS else None
        if reason:
            checked.fail(name, reason)
            continue
        checked.values[name] = value
    if "date_of_birth" in checked.values:
        born, reason = parse_birth_date(checked.values["date_of_birth"], today=today)
        if reason or born is None:
            checked.fail("date_of_birth", reason or BAD_DATE)
            del checked.values["date_of_birth"]
        else:
            checked.birth_date = born
            too_young = age_refusal(rules, member_state, born=born, today=today)
            if too_young:
                checked.fail("date_of_birth", too_young)
    if "id_type" in checked.values:
        _check_id(rules, member_state, checked, today=today)
    return checked


#: The reasons that mean "not the form of this type": answered with the form it has.
_WRONG_FORM = frozenset({rule_ids.TOO_SHORT, rule_ids.TOO_LONG, rule_ids.BAD_FORMAT})


def _check_id(rules: Scheme, member_state: str, checked: Checked, *, today: date) -> None:
    id_type = checked.values["id_type"]
    documents = rules.member_state(member_state, registered=today).id_documents
    chosen = next((doc for doc in documents if doc.code == id_type), None)
    if chosen is None:
        checked.fail("id_type", UNKNOWN_ID_TYPE)
        return
    number = checked.values.get("id_number")
    if number is None:
        return
    result = rules.check_id(member_state, id_type, number)
    if not result.valid:
        if result.reason in _WRONG_FORM:
            # Say the form this type's numbers have, and which other type the number fits.
            others = tuple(doc for doc in documents if doc is not chosen)
            checked.fail("id_number", wrong_number(chosen, others, number))
        else:
            checked.fail("id_number", result.reason or BAD_ADDRESS_CHARACTERS)
        return
    checked.values["id_number"] = result.compact or number
    if result.birth_date is not None:
        checked.birth_date = result.birth_date
        # The birth date the number holds, not the number again: one validation is enough.
        too_young = age_refusal(rules, member_state, born=result.birth_date, today=today)
        if too_young:
            checked.fail("id_number", too_young)
