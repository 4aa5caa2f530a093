"""One shape for errors on back-office pages: field → translated messages ("__all__" for the page)."""

from __future__ import annotations

from django import forms

from quorum.core.errors import DomainError

Errors = dict[str, list[str]]


def form_errors(form: forms.Form) -> Errors:
    return {field: [str(message) for message in found] for field, found in form.errors.items()}


def domain_errors(exc: DomainError) -> Errors:
    errors = getattr(exc, "errors", None)
    if errors:
        return {field: [str(reason) for reason in reasons] for field, reasons in errors.items()}
    return {"__all__": [str(exc.message)]}
