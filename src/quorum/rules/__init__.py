"""The legal rules of citizens' initiative schemes, as sourced data. Pure Python.

``scheme("eci")`` gives the rules of the European citizens' initiative (Regulation (EU)
2019/788) from ``rules/data/eci.json``: Member States, Annex I thresholds by registration
date, Annex II text limits, Annex III field sets and ID document types with validators,
minimum ages by date, deadlines and the success rule. Every value carries its source
(:class:`~quorum.rules.model.Source`).

This package imports nothing of Django and nothing else of the project.
"""

from __future__ import annotations

from quorum.rules.dates import add_months, add_working_days, is_working_day, subtract_working_days
from quorum.rules.errors import (
    DataFileError,
    OutOfScopeError,
    RulesError,
    UnknownMemberStateError,
    UnknownSchemeError,
)
from quorum.rules.i18n import N_
from quorum.rules.model import (
    AgeRule,
    Document,
    IdCheck,
    IdDocumentType,
    MemberState,
    MemberStateRules,
    OrganiserGroupRule,
    Period,
    ResidenceNote,
    Source,
    SuccessRule,
    TextLimit,
    ThresholdTable,
    Verdict,
)
from quorum.rules.scheme import Scheme, scheme

__all__ = [
    "N_",
    "AgeRule",
    "DataFileError",
    "Document",
    "IdCheck",
    "IdDocumentType",
    "MemberState",
    "MemberStateRules",
    "OrganiserGroupRule",
    "OutOfScopeError",
    "Period",
    "ResidenceNote",
    "RulesError",
    "Scheme",
    "Source",
    "SuccessRule",
    "TextLimit",
    "ThresholdTable",
    "UnknownMemberStateError",
    "UnknownSchemeError",
    "Verdict",
    "add_months",
    "add_working_days",
    "is_working_day",
    "scheme",
    "subtract_working_days",
]
