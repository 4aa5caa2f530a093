"""Input parsing for the back office. Forms only parse and check types: rules live in services.

Every form here is a ``GovukForm``: its widgets carry GOV.UK Frontend's classes, so that the
shared partial (``backoffice/_form_fields.html``) can render ``{{ field }}`` as it is.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from quorum.core.i18n import MEMBER_STATE_NAMES
from quorum.core.text import EmailAddressField, LinkField, MultiLineField, SingleLineField
from quorum.initiatives.models import OrganiserMember

MEMBER_STATES = [("", _("Choose…")), *MEMBER_STATE_NAMES.items()]

# A date typed into a date picker: short enough for a phone, long enough for any locale's form.
DATE_WIDTH = "govuk-input--width-10"


def _govuk_class(widget: forms.Widget) -> tuple[str, str]:
    """GOV.UK Frontend's class for ``widget`` and its error modifier ("" when it has none).

    Check boxes and radios have no error modifier: their form group's red bar says it."""
    if isinstance(widget, forms.CheckboxInput):
        return "govuk-checkboxes__input", ""
    if isinstance(widget, forms.RadioSelect):  # before Select: RadioSelect is a ChoiceWidget
        return "govuk-radios__input", ""
    if isinstance(widget, forms.Select):
        return "govuk-select", "govuk-select--error"
    if isinstance(widget, forms.Textarea):
        return "govuk-textarea", "govuk-textarea--error"
    if isinstance(widget, forms.FileInput):
        return "govuk-file-upload", "govuk-file-upload--error"
    return "govuk-input", "govuk-input--error"


class GovukForm(forms.Form):
    """A form whose widgets wear GOV.UK Frontend's classes, with the error modifier on the
    fields that were refused (Django adds ``aria-invalid`` and points ``aria-describedby`` at
    ``<id>_error``, the id the partial gives the field's error message)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.style_widgets()

    def style_widgets(self) -> None:
        """Give each widget its class (again after fields were added; twice changes nothing).

        ``self.fields`` holds deep copies of the class's fields: this changes this form only."""
        for field in self.fields.values():
            base, _error = _govuk_class(field.widget)
            classes = field.widget.attrs.get("class", "").split()
            if base not in classes:
                field.widget.attrs["class"] = " ".join([base, *classes])

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            field = self.fields.get(name)
            if field is None:
                continue
            _base, error = _govuk_class(field.widget)
            classes = field.widget.attrs.get("class", "").split()
            if error and error not in classes:
                field.widget.attrs["class"] = " ".join([*classes, error])


class AmountField(forms.DecimalField):
    """An amount in euro: a "€" before the box (``prefix``, drawn by the partial), the decimal
    keyboard on phones, and the decimal separator of the page's language accepted ("1250,50" on
    a Polish page, "1250.50" everywhere: a text box keeps what was typed when it is not a
    number, where a number box would send it empty)."""

    prefix = "€"

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget",
            forms.TextInput(
                attrs={
                    "class": "govuk-input--width-10",
                    "inputmode": "decimal",
                    "autocomplete": "off",
                    "spellcheck": "false",
                }
            ),
        )
        kwargs.setdefault("localize", True)
        super().__init__(**kwargs)


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date", "class": DATE_WIDTH})


class DraftForm(GovukForm):
    slug = forms.SlugField(label=_("Short name for the web address"), max_length=60)
    language = forms.ChoiceField(label=_("Language of the text"), choices=settings.LANGUAGES)
    title = SingleLineField(label=_("Title"), max_length=300)
    objectives = MultiLineField(label=_("Objectives"), max_length=4000)
    annex = MultiLineField(label=_("Annex (optional)"), required=False, max_length=12000)
    treaty_basis = SingleLineField(
        label=_("Provisions of the Treaties considered relevant"), required=False, max_length=2000
    )
    # The organiser's own name: the browser may offer it (WCAG 1.3.5, the input's purpose).
    full_name = SingleLineField(
        label=_("Your full name"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    nationality = forms.ChoiceField(label=_("Your nationality"), choices=MEMBER_STATES)
    residence = forms.ChoiceField(label=_("Your Member State of residence"), choices=MEMBER_STATES)
    declares_voting_age = forms.BooleanField(
        label=_("I am old enough to vote in European Parliament elections.")
    )


class InviteForm(GovukForm):
    # Someone else's name and address: the browser must not fill in the organiser's own.
    full_name = SingleLineField(
        label=_("Full name"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    email = EmailAddressField(
        label=_("E-mail address"), widget=forms.EmailInput(attrs={"autocomplete": "off"})
    )
    nationality = forms.ChoiceField(label=_("Nationality"), choices=MEMBER_STATES)
    residence = forms.ChoiceField(label=_("Member State of residence"), choices=MEMBER_STATES)
    role = forms.ChoiceField(label=_("Role"), choices=OrganiserMember.Role.choices)
    is_mep = forms.BooleanField(label=_("Member of the European Parliament"), required=False)


class DateForm(GovukForm):
    date = forms.DateField(label=_("Date"), widget=_date_input())


class SponsorForm(GovukForm):
    name = SingleLineField(label=_("Sponsor"), max_length=200)
    amount_eur = AmountField(label=_("Amount (EUR)"), max_digits=12, decimal_places=2, min_value=0)
    received_on = forms.DateField(label=_("Date"), widget=_date_input())


class PaperCountsForm(GovukForm):
    """One whole number per Member State: statements collected on paper so far."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for code, name in MEMBER_STATE_NAMES.items():
            self.fields[code] = forms.IntegerField(
                label=name,
                min_value=0,
                max_value=10_000_000,
                required=False,
                # A text box with the digits keyboard: a number box would send "12a" empty,
                # and an empty count is a valid "none", so the mistake would pass unseen.
                widget=forms.TextInput(
                    attrs={"class": "govuk-input--width-10", "inputmode": "numeric"}
                ),
            )
        self.style_widgets()


class DecisionForm(GovukForm):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            ("registered", _("Register")),
            ("partially_registered", _("Register partially")),
            ("refused", _("Refuse")),
        ],
        widget=forms.RadioSelect,
    )
    registration_number = SingleLineField(
        label=_("Registration number"), max_length=40, required=False
    )
    reasons = MultiLineField(label=_("Reasons"), required=False, max_length=5000)


class TranslationForm(GovukForm):
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    title = SingleLineField(label=_("Title"), max_length=300)
    objectives = MultiLineField(label=_("Objectives"), max_length=4000)


class ExtensionForm(GovukForm):
    new_end = forms.DateField(label=_("New last day of collection"), widget=_date_input())
    legal_basis = SingleLineField(label=_("Legal basis"), max_length=500)


class FollowUpForm(GovukForm):
    step = forms.ChoiceField(
        label=_("Step"),
        choices=[
            ("meeting", _("Meeting with the Commission")),
            ("hearing", _("Public hearing at the European Parliament")),
            ("communication", _("The Commission's communication")),
        ],
    )
    on = forms.DateField(label=_("Date"), widget=_date_input())
    url = LinkField(label=_("Link"), required=False, assume_scheme="https")


class CertificateUploadForm(GovukForm):
    certificate = forms.FileField(label=_("Certificate file (certificate.json)"))
