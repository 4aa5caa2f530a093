"""Domain errors: each carries its message, the field it belongs to and its HTTP status.

A service raises; the entry point does not choose a status or a wording. The API maps every
``DomainError`` in one exception handler, pages in one middleware, the back office into its
forms: all three read ``status``, ``retry_after`` and ``messages()`` from here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.utils.functional import Promise
from django.utils.translation import gettext

#: The key of errors that belong to no one field, as in every API error.
GENERAL = "__all__"

Message = str | Promise


class DomainError(Exception):
    """A request that the rules refuse. `message` is translatable; `code` is stable."""

    code = "domain_error"
    status = 400
    #: Seconds after which the same request may succeed; sent as ``Retry-After``.
    retry_after: int | None = None

    def __init__(self, message: Message, *, code: str | None = None, field: str = GENERAL) -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field
        if code is not None:
            self.code = code

    def messages(self) -> dict[str, list[str]]:
        """Field → messages in the active language: the body of every error response."""
        return {self.field: [str(self.message)]}


class BadRequest(DomainError):
    code = "bad_request"


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Conflict(DomainError):
    code = "conflict"
    status = 409


class Invalid(DomainError):
    """Several fields refused at once. `errors`: field → reasons as msgids, translated late."""

    code = "invalid"
    status = 422

    def __init__(self, message: Message, errors: Mapping[str, Sequence[Message]]) -> None:
        super().__init__(message)
        self.errors = {field: list(reasons) for field, reasons in errors.items()}

    def messages(self) -> dict[str, list[str]]:
        # Reasons are kept untranslated so that one error can be shown in any language.
        return {
            field: [gettext(r) if isinstance(r, str) else str(r) for r in reasons]
            for field, reasons in self.errors.items()
        }


class TooManyRequests(DomainError):
    code = "rate_limited"
    status = 429

    def __init__(self, message: Message, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(DomainError):
    """A fault of ours that passes: the same request may succeed a moment later."""

    code = "unavailable"
    status = 503
    retry_after = 1
