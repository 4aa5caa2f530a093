"""Lifecycle time limits of an initiative, computed from the scheme's periods.

Conventions (see :mod:`quorum.rules.dates`):

- "within N months of X" is due on ``add_months(X, N)``: the same calendar day N months
  later, clamped to the month end. That day is the last day on which the act is in time.
- Working days are Monday to Friday; public holidays are not modelled.
- Collection end: the ECI register shows a 12-month collection as running to the same
  calendar day 12 months later (e.g. 2024/000007: 31/07/2024 - 31/07/2025, C-TRACK), so
  ``collection_end(start)`` is ``add_months(start, 12)`` and is the **last day** of
  collection, inclusive: a collection starting 2025-03-10 ends on 2026-03-10. The end
  date the Commission publishes prevails (extensions, early ends); store it per initiative.
- Retention (Art. 19): every clause is a "not later than" limit, so the earliest applies;
  a legal hold can only push the end later.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from quorum.rules.dates import add_months, add_working_days, as_date, subtract_working_days
from quorum.rules.errors import RulesError
from quorum.rules.model import Period

#: The period names a scheme data file must define.
PERIOD_NAMES: tuple[str, ...] = (
    "registration_answer",
    "registration_answer_partial",
    "collection_start_latest",
    "start_announcement",
    "collection_period",
    "submission_to_authorities",
    "verification",
    "submission_to_commission",
    "meeting",
    "hearing",
    "communication",
    "retention_after_submission",
    "retention_after_start",
    "retention_after_withdrawal",
    "retention_after_legal_decision",
    "authority_copy",
)

#: Periods counted in working days; all others are counted in months.
WORKING_DAY_PERIODS: frozenset[str] = frozenset({"start_announcement"})


def _optional(value: date | None, name: str) -> date | None:
    return None if value is None else as_date(value, name)


class Deadlines:
    """Date arithmetic for one scheme's periods."""

    def __init__(self, periods: Mapping[str, Period]) -> None:
        self._periods = periods

    def period(self, name: str) -> Period:
        try:
            return self._periods[name]
        except KeyError:
            raise RulesError(f"unknown period {name!r}") from None

    def _months(self, name: str) -> int:
        months = self.period(name).months
        if months is None:  # pragma: no cover - the loader guarantees it
            raise RulesError(f"period {name!r} is not counted in months")
        return months

    def _after(self, name: str, start: date, what: str) -> date:
        return add_months(as_date(start, what), self._months(name))

    # -- registration and collection ---------------------------------------------------

    def registration_answer_due(self, requested: date, *, partial: bool = False) -> date:
        """The Commission's decision on a registration request (Art. 6(2); 6(4) partial)."""
        name = "registration_answer_partial" if partial else "registration_answer"
        return self._after(name, requested, "requested")

    def latest_collection_start(self, registered: date) -> date:
        """The latest start of the collection (Art. 8(1))."""
        return self._after("collection_start_latest", registered, "registered")

    def announcement_days(self) -> int:
        """How many working days ahead a collection start or early end is announced."""
        days = self.period("start_announcement").working_days
        if days is None:  # pragma: no cover - the loader guarantees it
            raise RulesError("start_announcement is not counted in working days")
        return days

    def latest_start_announcement(self, start: date) -> date:
        """The last day to tell the Commission the start date: 10 working days before."""
        return subtract_working_days(as_date(start, "start"), self.announcement_days())

    def earliest_announced_date(self, announced: date) -> date:
        """The earliest collection start, or early end, that can be announced on ``announced``.

        Art. 8(1): both are announced at least 10 working days ahead.
        """
        return add_working_days(as_date(announced, "announced"), self.announcement_days())

    def collection_end(self, start: date) -> date:
        """The last day of a full collection period, inclusive (see the module notes)."""
        return self._after("collection_period", start, "start")

    # -- verification and submission ---------------------------------------------------

    def submission_to_authorities_due(self, end: date) -> date:
        """Submission of the statements to the authorities (Art. 12(2))."""
        return self._after("submission_to_authorities", end, "end")

    def verification_due(self, received: date) -> date:
        """An authority's certificate, from receipt of all statements (Art. 12(4))."""
        return self._after("verification", received, "received")

    def submission_to_commission_due(self, last_certificate: date) -> date:
        """Submission of the initiative to the Commission (Art. 13)."""
        return self._after("submission_to_commission", last_certificate, "last_certificate")

    def meeting_due(self, submitted: date) -> date:
        """The organisers' meeting with the Commission (Art. 15(1))."""
        return self._after("meeting", submitted, "submitted")

    def hearing_due(self, submitted: date) -> date:
        """The public hearing at the European Parliament (Art. 14(2))."""
        return self._after("hearing", submitted, "submitted")

    def communication_due(self, published: date) -> date:
        """The Commission's communication, from publication under Art. 14(1) (Art. 15(2))."""
        return self._after("communication", published, "published")

    # -- retention -----------------------------------------------------------------------

    def retention_end(
        self,
        collection_start: date,
        submitted: date | None = None,
        withdrawn: date | None = None,
        legal_hold_until: date | None = None,
    ) -> date:
        """The day by which statements and copies must be destroyed (Art. 19(5), 19(7)).

        ``min(start + 21 months, submitted + 1 month, withdrawn + 1 month)`` over the
        clauses that apply; a withdrawal counts only if made on or after the collection
        start (before it nothing was collected, and the withdrawal date itself is
        returned). ``legal_hold_until`` is the date of the final decision concluding
        legal or administrative proceedings: the end is then at least that date + 1 month.
        While proceedings are pending there is no end; the caller must not purge.
        """
        start = as_date(collection_start, "collection_start")
        submitted = _optional(submitted, "submitted")
        withdrawn = _optional(withdrawn, "withdrawn")
        decision = _optional(legal_hold_until, "legal_hold_until")

        if withdrawn is not None and withdrawn < start:
            end = withdrawn
        else:
            candidates = [add_months(start, self._months("retention_after_start"))]
            if submitted is not None:
                candidates.append(add_months(submitted, self._months("retention_after_submission")))
            if withdrawn is not None:
                candidates.append(add_months(withdrawn, self._months("retention_after_withdrawal")))
            end = min(candidates)
        if decision is not None:
            end = max(end, add_months(decision, self._months("retention_after_legal_decision")))
        return end

    def authority_copy_end(self, certificate_date: date) -> date:
        """An authority destroys its copies by this day (Art. 19(6))."""
        return self._after("authority_copy", certificate_date, "certificate_date")

    # -- all at once -----------------------------------------------------------------------

    def table(
        self,
        registered: date | None = None,
        collection_start: date | None = None,
        collection_end: date | None = None,
        submitted: date | None = None,
        *,
        requested: date | None = None,
        partial: bool = False,
        received: date | None = None,
        last_certificate: date | None = None,
        published: date | None = None,
        withdrawn: date | None = None,
        legal_hold_until: date | None = None,
    ) -> dict[str, date]:
        """Every deadline that can be computed from what is known, by name.

        ``collection_end`` is the published end date; without it the end of a full
        12-month period is used. ``authority_copy_end`` is computed from
        ``last_certificate``: the latest day by which any authority must destroy its copy.
        """
        out: dict[str, date] = {}
        if requested is not None:
            out["registration_answer_due"] = self.registration_answer_due(
                requested, partial=partial
            )
        if registered is not None:
            out["latest_collection_start"] = self.latest_collection_start(registered)
        if collection_start is not None:
            out["latest_start_announcement"] = self.latest_start_announcement(collection_start)
        end = _optional(collection_end, "collection_end")
        if end is None and collection_start is not None:
            end = self.collection_end(collection_start)
        if end is not None:
            out["collection_end"] = end
            out["submission_to_authorities_due"] = self.submission_to_authorities_due(end)
        if received is not None:
            out["verification_due"] = self.verification_due(received)
        if last_certificate is not None:
            out["submission_to_commission_due"] = self.submission_to_commission_due(
                last_certificate
            )
            out["authority_copy_end"] = self.authority_copy_end(last_certificate)
        if submitted is not None:
            out["meeting_due"] = self.meeting_due(submitted)
            out["hearing_due"] = self.hearing_due(submitted)
        if published is not None:
            out["communication_due"] = self.communication_due(published)
        if collection_start is not None:
            out["retention_end"] = self.retention_end(
                collection_start,
                submitted=submitted,
                withdrawn=withdrawn,
                legal_hold_until=legal_hold_until,
            )
        return out
