"""The public face of a scheme: ``scheme("eci")`` and its questions.

A :class:`Scheme` answers from its validated data file; it holds no state besides that
data and is safe to share between threads.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import cache

from quorum.rules import ages, ids, thresholds
from quorum.rules import success as success_rules
from quorum.rules.dates import as_date
from quorum.rules.deadlines import Deadlines
from quorum.rules.errors import RulesError, UnknownMemberStateError, UnknownSchemeError
from quorum.rules.loader import load_scheme
from quorum.rules.model import (
    AgeRule,
    Document,
    IdCheck,
    IdDocumentType,
    MemberStateRules,
    OrganiserGroupRule,
    Part,
    Period,
    RegisterRule,
    ResidenceNote,
    SchemeData,
    Source,
    SuccessRule,
    TextLimit,
    ThresholdTable,
    Verdict,
)


class Scheme:
    """The rules of one scheme (``eci``), as data with sources."""

    def __init__(self, data: SchemeData) -> None:
        self._data = data
        self._codes = tuple(state.code for state in data.member_states)
        self._states = {state.code: state for state in data.member_states}
        self._deadlines = Deadlines(data.periods)

    def __repr__(self) -> str:
        return f"<Scheme {self.code} {self.version}>"

    # -- identity ------------------------------------------------------------------------

    @property
    def code(self) -> str:
        return self._data.code

    @property
    def version(self) -> str:
        return self._data.version

    @property
    def title(self) -> str:
        return self._data.title

    @property
    def applies_from(self) -> date:
        """The first registration date the scheme's rules cover."""
        return self._data.applies_from

    @property
    def documents(self) -> Mapping[str, Document]:
        """Every document a source may cite, by key."""
        return self._data.documents

    @property
    def data(self) -> SchemeData:
        return self._data

    @property
    def register(self) -> RegisterRule | None:
        """The scheme's public register of initiatives, if it has one (the ECI's is the
        Commission's); a national scheme without one shows its initiatives here."""
        return self._data.register

    # -- Member States ---------------------------------------------------------------------

    def member_state_codes(self) -> tuple[str, ...]:
        """The Member State codes in the EU protocol order."""
        return self._codes

    def _check_code(self, code: object) -> str:
        if not isinstance(code, str) or code not in self._states:
            raise UnknownMemberStateError(f"unknown Member State code {code!r}")
        return code

    def member_states(self, registered: date) -> list[MemberStateRules]:
        """Every Member State with the rules for an initiative registered on ``registered``."""
        table = self.threshold_table(registered)
        return [self._rules(code, table, as_date(registered)) for code in self._codes]

    def member_state(self, code: str, registered: date) -> MemberStateRules:
        """One Member State's rules for an initiative registered on ``registered``."""
        code = self._check_code(code)
        return self._rules(code, self.threshold_table(registered), as_date(registered))

    def _rules(self, code: str, table: ThresholdTable, registered: date) -> MemberStateRules:
        data = self._data
        state = self._states[code]
        part, part_source = data.state_parts[code]
        age = ages.rule_on(data.ages[code], registered)
        note = data.residence_notes.get(code)
        sources: dict[str, Source] = {
            "name": state.source,
            "seats": table.seats_source,
            "threshold": table.source,
            "part": part_source,
            "required_fields": data.parts[part].source,
            "min_age": age.source,
        }
        if code in data.id_documents_sources:
            sources["id_documents"] = data.id_documents_sources[code]
        if note is not None:
            sources["residence_note"] = note.source
        return MemberStateRules(
            code=code,
            name=state.name,
            seats=table.seats[code],
            threshold=table.thresholds[code],
            part=part,
            min_age=age.age,
            id_documents=data.id_documents[code],
            required_fields=data.parts[part].fields,
            sources=sources,
            uncertain=tuple(name for name, source in sources.items() if source.uncertain),
            residence_note=note,
            table=table.name,
        )

    # -- Annex I ---------------------------------------------------------------------------

    def threshold_table(self, registered: date) -> ThresholdTable:
        """The Annex I table for an initiative registered on ``registered``.

        Raises :class:`OutOfScopeError` for a registration before the scheme applies.
        """
        return thresholds.table_on(self._data.tables, registered)

    def threshold_tables(self) -> tuple[ThresholdTable, ...]:
        return self._data.tables

    # -- Annex II --------------------------------------------------------------------------

    def text_limits(self) -> dict[str, TextLimit]:
        """How long the title, the objectives and the annex of a request may be, by name."""
        return dict(self._data.text_limits)

    def text_limit(self, name: str) -> TextLimit:
        """The Annex II limit of ``"title"``, ``"objectives"`` or ``"annex"``."""
        try:
            return self._data.text_limits[name]
        except (KeyError, TypeError):
            raise RulesError(f"unknown Annex II text {name!r}") from None

    # -- Annex III -------------------------------------------------------------------------

    def part(self, code: str) -> Part:
        """``"A"`` (residence and date of birth) or ``"B"`` (an ID number)."""
        return self._data.state_parts[self._check_code(code)][0]

    def required_fields(self, code: str) -> tuple[str, ...]:
        """The fields a national of ``code`` gives, named as in the API."""
        return self._data.parts[self.part(code)].fields

    def id_documents(self, code: str) -> tuple[IdDocumentType, ...]:
        """The ID number / document types accepted from nationals of ``code`` (Part B)."""
        return self._data.id_documents[self._check_code(code)]

    def residence_note(self, code: str) -> ResidenceNote | None:
        """The Annex III footnote on the residence field (only Germany has one)."""
        return self._data.residence_notes.get(self._check_code(code))

    def _id_document(self, code: str, id_type: object) -> IdDocumentType | None:
        for document in self.id_documents(code):
            if document.code == id_type:
                return document
        return None

    def check_id(self, code: str, id_type: str, number: str) -> IdCheck:
        """Check an ID number of type ``id_type`` for a national of ``code``.

        Raises :class:`UnknownMemberStateError` for an unknown ``code``. Never raises for
        ``id_type`` or ``number``: an unaccepted type or a bad number gives
        ``IdCheck(valid=False, reason=...)``.
        """
        document = self._id_document(code, id_type)
        if document is None:
            return ids.invalid(ids.UNKNOWN_TYPE)
        return ids.check_number(document, number)

    # -- ages ------------------------------------------------------------------------------

    def age_rules(self, code: str) -> tuple[AgeRule, ...]:
        return self._data.ages[self._check_code(code)]

    def min_age(self, code: str, on: date) -> int:
        """The minimum age to support an initiative as a national of ``code`` on ``on``."""
        return ages.rule_on(self.age_rules(code), on).age

    def age_checkable(self, code: str, id_type: str | None = None) -> bool:
        """True when the data a national of ``code`` gives shows the date of birth.

        Part A: always (the date of birth is a field). Part B: when ``id_type`` is a number
        that encodes the date of birth (a few individual numbers still carry none).
        """
        if self.part(code) == "A":
            return True
        document = self._id_document(code, id_type)
        return document is not None and document.age_from_number

    def check_age(
        self,
        code: str,
        *,
        on: date,
        date_of_birth: date | None = None,
        id_type: str | None = None,
        id_number: str | None = None,
    ) -> str | None:
        """None if old enough on ``on`` or if the age cannot be checked, else a reason.

        The date of birth is ``date_of_birth`` if given, else the one encoded in a valid
        ``id_number`` of type ``id_type``. An invalid number gives None here: report it
        with :meth:`check_id`. A signing date before the scheme applies raises
        :class:`OutOfScopeError`.
        """
        minimum = self.min_age(code, on)
        birth = date_of_birth
        if birth is None and id_type is not None and id_number is not None:
            birth = self.check_id(code, id_type, id_number).birth_date
        if birth is None:
            return None
        return ages.check_age(minimum, birth, on)

    # -- deadlines -------------------------------------------------------------------------

    def periods(self) -> dict[str, Period]:
        """Every legal time limit of the scheme, by name, with its source."""
        return dict(self._data.periods)

    def registration_answer_due(self, requested: date, *, partial: bool = False) -> date:
        return self._deadlines.registration_answer_due(requested, partial=partial)

    def latest_collection_start(self, registered: date) -> date:
        return self._deadlines.latest_collection_start(registered)

    def latest_start_announcement(self, start: date) -> date:
        return self._deadlines.latest_start_announcement(start)

    @property
    def announcement_working_days(self) -> int:
        """How many working days ahead a collection start or early end is announced (Art. 8(1))."""
        return self._deadlines.announcement_days()

    def earliest_announced_date(self, announced: date) -> date:
        return self._deadlines.earliest_announced_date(announced)

    def collection_end(self, start: date) -> date:
        return self._deadlines.collection_end(start)

    def submission_to_authorities_due(self, end: date) -> date:
        return self._deadlines.submission_to_authorities_due(end)

    def verification_due(self, received: date) -> date:
        return self._deadlines.verification_due(received)

    def submission_to_commission_due(self, last_certificate: date) -> date:
        return self._deadlines.submission_to_commission_due(last_certificate)

    def meeting_due(self, submitted: date) -> date:
        return self._deadlines.meeting_due(submitted)

    def hearing_due(self, submitted: date) -> date:
        return self._deadlines.hearing_due(submitted)

    def communication_due(self, published: date) -> date:
        return self._deadlines.communication_due(published)

    def retention_end(
        self,
        collection_start: date,
        submitted: date | None = None,
        withdrawn: date | None = None,
        legal_hold_until: date | None = None,
    ) -> date:
        return self._deadlines.retention_end(
            collection_start,
            submitted=submitted,
            withdrawn=withdrawn,
            legal_hold_until=legal_hold_until,
        )

    def authority_copy_end(self, certificate_date: date) -> date:
        return self._deadlines.authority_copy_end(certificate_date)

    def deadline_table(
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
        """Every deadline computable from what is known, by name (see ``Deadlines.table``)."""
        return self._deadlines.table(
            registered,
            collection_start,
            collection_end,
            submitted,
            requested=requested,
            partial=partial,
            received=received,
            last_certificate=last_certificate,
            published=published,
            withdrawn=withdrawn,
            legal_hold_until=legal_hold_until,
        )

    #: ``deadlines(...)`` is the same as ``deadline_table(...)``.
    deadlines = deadline_table

    # -- success and organisers ------------------------------------------------------------

    @property
    def success_rule(self) -> SuccessRule:
        return self._data.success

    @property
    def organiser_group(self) -> OrganiserGroupRule:
        return self._data.organisers

    def success(self, certified: Mapping[str, int], registered: date) -> Verdict:
        """Judge certified counts per Member State (Art. 3(1)) with the table in force on
        ``registered``. Unknown codes raise :class:`UnknownMemberStateError`."""
        return success_rules.judge(
            certified,
            member_codes=self._codes,
            table=self.threshold_table(registered),
            rule=self._data.success,
        )


def scheme(code: str) -> Scheme:
    """The scheme ``code`` (e.g. ``"eci"``). Unknown code: :class:`UnknownSchemeError`."""
    if not isinstance(code, str):
        raise UnknownSchemeError(f"unknown scheme {code!r}")
    return _scheme(code)


@cache
def _scheme(code: str) -> Scheme:
    return Scheme(load_scheme(code))
