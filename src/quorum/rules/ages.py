"""Minimum age to support an initiative, per Member State and signing date.

The rule (Art. 2(1) of Regulation (EU) 2019/788): the age that entitles a citizen to vote
in European Parliament elections; a Member State may set 16. Ages change over time
(Germany 16 from 2023-01-01, Belgium 16 from 2023-05-01), so each Member State has a
dated list of :class:`~quorum.rules.model.AgeRule`.

A person born on 29 February reaches an age on 1 March in common years.
"""

from __future__ import annotations

from datetime import date

from quorum.rules.dates import as_date
from quorum.rules.errors import OutOfScopeError
from quorum.rules.i18n import N_
from quorum.rules.model import AgeRule

TOO_YOUNG = N_(
    "You are below the minimum age to support an initiative as a national of this Member State."
)
BIRTH_IN_FUTURE = N_("The date of birth cannot be in the future.")

#: Every reason :func:`check_age` may return.
REASONS: tuple[str, ...] = (TOO_YOUNG, BIRTH_IN_FUTURE)


def rule_on(rules: tuple[AgeRule, ...], on: date) -> AgeRule:
    """The rule in force on ``on``: the last one whose ``valid_from`` is not after it."""
    on = as_date(on, "on")
    current: AgeRule | None = None
    for rule in rules:
        if rule.valid_from <= on:
            current = rule
        else:
            break
    if current is None:
        first = rules[0].valid_from.isoformat() if rules else "?"
        raise OutOfScopeError(f"no minimum age is encoded before {first} (asked for {on})")
    return current


def age_on(birth: date, on: date) -> int:
    """Completed years of a person born on ``birth``, on the day ``on``."""
    birth = as_date(birth, "date_of_birth")
    on = as_date(on, "on")
    years = on.year - birth.year
    if (on.month, on.day) < (birth.month, birth.day):
        years -= 1
    return years


def check_age(min_age: int, birth: date, on: date) -> str | None:
    """None if a person born on ``birth`` is at least ``min_age`` on ``on``, else a reason."""
    birth = as_date(birth, "date_of_birth")
    on = as_date(on, "on")
    if birth > on:
        return BIRTH_IN_FUTURE
    if age_on(birth, on) < min_age:
        return TOO_YOUNG
    return None
