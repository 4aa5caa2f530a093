"""One shape for errors on back-office pages: field → translated messages ("__all__" for the page)."""

from __future__ import annotations

from django import forms

Errors = dict[str, list[str]]


def form_errors(form: forms.Form) -> Errors:
    return {field: [str(message) for message in found] for field, found in form.errors.items()}
