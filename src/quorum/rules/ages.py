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


def birthday(birth: date, years: int) -> date:
    """The day a person born on ``birth`` turns ``years``: 1 March for 29 February in a
    common year, as :func:`age_on` counts."""
    birth = as_date(birth, "date_of_birth")
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:  # 29 February in a common year
        return date(birth.year + years, 3, 1)


def first_day_old_enough(rules: tuple[AgeRule, ...], birth: date, on: date) -> date:
    """The first day, from ``on``, on which a person born on ``birth`` may support: old
    enough under the rule in force that day. A later rule that lowers the age may bring the
    day forward, one that raises it may push it back; the rules' dates are searched for that.
    """
    birth = as_date(birth, "date_of_birth")
    on = as_date(on, "on")
    candidates = {max(on, birthday(birth, rule_on(rules, on).age))}
    for rule in rules:
        if rule.valid_from > on:
            candidates.add(max(rule.valid_from, birthday(birth, rule.age)))
    for day in sorted(candidates):
        if age_on(birth, day) >= rule_on(rules, day).age:
            return day
    # The last rule holds for ever, so its own candidate (or the first one, when it is already
    # in force on ``on``) always fits: the loop has returned.
    raise AssertionError("no day found")  # pragma: no cover


def check_age(min_age: int, birth: date, on: date) -> str | None:
    """None if a person born on ``birth`` is at least ``min_age`` on ``on``, else a reason."""
    birth = as_date(birth, "date_of_birth")
    on = as_date(on, "on")
    if birth > on:
        return BIRTH_IN_FUTURE
    if age_on(birth, on) < min_age:
        return TOO_YOUNG
    return None
