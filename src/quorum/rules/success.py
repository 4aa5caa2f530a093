"""Art. 3(1): is an initiative successful on its certified counts?

Successful when the total is at least ``min_total`` (1,000,000) **and** at least
``min_member_states`` (7, one quarter of the Member States) have a count at or over their
Annex I threshold, from the table of the registration date. A count equal to the threshold
reaches it. Member States missing from the input count as zero.
"""

from __future__ import annotations

from collections.abc import Mapping

from quorum.rules.errors import RulesError, UnknownMemberStateError
from quorum.rules.i18n import N_
from quorum.rules.model import SuccessRule, ThresholdTable, Verdict

TOTAL_TOO_LOW = N_("The total number of certified statements of support is below the minimum.")
TOO_FEW_MEMBER_STATES = N_(
    "Too few Member States reached their minimum number of statements of support."
)

#: Every reason a :class:`Verdict` may carry.
REASONS: tuple[str, ...] = (TOTAL_TOO_LOW, TOO_FEW_MEMBER_STATES)


def judge(
    certified: Mapping[str, int],
    *,
    member_codes: tuple[str, ...],
    table: ThresholdTable,
    rule: SuccessRule,
) -> Verdict:
    """Judge certified counts per Member State against ``table`` and ``rule``.

    Raises :class:`UnknownMemberStateError` for a code that is not a Member State and
    :class:`RulesError` for a count that is not a non-negative int.
    """
    if not isinstance(certified, Mapping):
        raise RulesError("certified must be a mapping of Member State code to count")
    unknown = sorted(str(code) for code in certified if code not in member_codes)
    if unknown:
        raise UnknownMemberStateError(f"unknown Member State code(s): {', '.join(unknown)}")
    for code, count in certified.items():
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise RulesError(f"the count for {code} must be a non-negative int, not {count!r}")

    by_member_state: dict[str, tuple[int, int, bool]] = {}
    reached: list[str] = []
    total = 0
    for code in member_codes:
        count = certified.get(code, 0)
        threshold = table.thresholds[code]
        at_or_over = count >= threshold
        by_member_state[code] = (count, threshold, at_or_over)
        if at_or_over:
            reached.append(code)
        total += count

    reasons: list[str] = []
    if total < rule.min_total:
        reasons.append(TOTAL_TOO_LOW)
    if len(reached) < rule.min_member_states:
        reasons.append(TOO_FEW_MEMBER_STATES)
    return Verdict(
        successful=not reasons,
        total=total,
        states_reached=tuple(reached),
        by_member_state=by_member_state,
        reasons=tuple(reasons),
    )
