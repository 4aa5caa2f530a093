"""Domain errors: each carries a message translated for whoever reads it."""

from __future__ import annotations

from django.utils.functional import Promise


class DomainError(Exception):
    """A request that the rules refuse. `message` is translatable; `code` is stable."""

    code = "domain_error"

    def __init__(self, message: str | Promise, *, code: str | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        if code is not None:
            self.code = code


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"
