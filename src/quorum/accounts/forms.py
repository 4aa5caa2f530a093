"""Forms of the sign-in pages: they parse and check shape; views check credentials."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.password_validation import (
    password_validators_help_text_html,
    validate_password,
)
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from quorum.accounts import totp
from quorum.core.text import SingleLineField

# Longer input is refused before any hashing: no scrypt on megabytes.
PASSWORD_MAX_LENGTH = 1024

CODE_HELP = _("The 6-digit code your authenticator app shows now.")
CODE_INVALID = _("Enter the 6 digits your authenticator app shows, for example 123456.")


def _password_field(label: Any, autocomplete: str, help_text: Any = "") -> forms.CharField:
    # Passwords keep every character: they are hashed, never shown or exported, and refusing
    # some would lock out whoever already chose one with them.
    return forms.CharField(
        label=label,
        strip=False,
        max_length=PASSWORD_MAX_LENGTH,
        help_text=help_text,
        widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}),
    )


class CodeField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Authenticator code"))
        kwargs.setdefault("help_text", CODE_HELP)
        super().__init__(
            max_length=20,
            widget=forms.TextInput(
                attrs={
                    "autocomplete": "one-time-code",
                    "inputmode": "numeric",
                    "size": "8",
                    "spellcheck": "false",
                    "class": "code-input",
                }
            ),
            **kwargs,
        )

    def clean(self, value: Any) -> str:
        code = totp.normalise_code(super().clean(value))
        if not totp.CODE_PATTERN.match(code):
            raise ValidationError(CODE_INVALID, code="invalid_code")
        return code


class LoginForm(forms.Form):
    username = SingleLineField(
        label=_("Username"),
        max_length=150,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "username",
                "autocapitalize": "none",
                "spellcheck": "false",
            }
        ),
    )
    password = _password_field(_("Password"), "current-password")


class CodeForm(forms.Form):
    code = CodeField()


class ReauthForm(forms.Form):
    password = _password_field(_("Password"), "current-password")
    code = CodeField()


class PasswordChangeForm(forms.Form):
    current_password = _password_field(_("Current password"), "current-password")
    new_password1 = _password_field(_("New password"), "new-password")
    new_password2 = _password_field(_("New password again"), "new-password")
    code = CodeField()

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)
        # Built per request: the validators' help text in the reader's language.
        self.fields["new_password1"].help_text = password_validators_help_text_html()

    def clean_new_password2(self) -> str:
        first = self.cleaned_data.get("new_password1")
        second = self.cleaned_data["new_password2"]
        if first is not None and first != second:
            raise ValidationError(_("The two new passwords are not the same."), code="mismatch")
        if first is not None:
            validate_password(second, user=self.user)
        return second
