"""Errors raised by :mod:`quorum.rules`.

Every error is a :class:`RulesError`, so a caller can catch the whole family at once.
Messages are plain English for developers and operators; they are raised for wrong calls
(unknown codes, dates outside the scheme) or a broken data file, never for a signatory's
input: ID numbers and ages are answered with a reason string instead (see ``ids`` and
``ages``).
"""

from __future__ import annotations


class RulesError(Exception):
    """Base class of every error raised by the rules package."""


class UnknownSchemeError(RulesError):
    """No data file exists for the requested scheme code."""


class UnknownMemberStateError(RulesError):
    """The code is not one of the scheme's Member State codes."""


class OutOfScopeError(RulesError):
    """The date lies outside the period the scheme's rules cover.

    For the ``eci`` scheme: Regulation (EU) 2019/788 applies to initiatives registered
    from 1 January 2020; earlier ones ran under Regulation (EU) No 211/2011, which this
    package does not encode.
    """


class DataFileError(RulesError):
    """A scheme data file is missing, is not valid JSON or breaks the expected layout."""
