"""Input parsing for the back office. Forms only parse and check types: rules live in services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from quorum.core.i18n import MEMBER_STATE_NAMES
from quorum.core.text import EmailAddressField, LinkField, MultiLineField, SingleLineField
from quorum.initiatives.models import OrganiserMember

MEMBER_STATES = [("", _("Choose…")), *MEMBER_STATE_NAMES.items()]


class DraftForm(forms.Form):
    slug = forms.SlugField(label=_("Short name for the web address"), max_length=60)
    language = forms.ChoiceField(label=_("Language of the text"), choices=settings.LANGUAGES)
    title = SingleLineField(label=_("Title"), max_length=300)
    objectives = MultiLineField(label=_("Objectives"), max_length=4000)
    annex = MultiLineField(label=_("Annex (optional)"), required=False, max_length=12000)
    treaty_basis = SingleLineField(
        label=_("Provisions of the Treaties considered relevant"), required=False, max_length=2000
    )
    full_name = SingleLineField(label=_("Your full name"), max_length=200)
    nationality = forms.ChoiceField(label=_("Your nationality"), choices=MEMBER_STATES)
    residence = forms.ChoiceField(label=_("Your Member State of residence"), choices=MEMBER_STATES)
    declares_voting_age = forms.BooleanField(
        label=_("I am old enough to vote in European Parliament elections.")
    )


class InviteForm(forms.Form):
    full_name = SingleLineField(label=_("Full name"), max_length=200)
    email = EmailAddressField(label=_("E-mail address"))
    nationality = forms.ChoiceField(label=_("Nationality"), choices=MEMBER_STATES)
    residence = forms.ChoiceField(label=_("Member State of residence"), choices=MEMBER_STATES)
    role = forms.ChoiceField(label=_("Role"), choices=OrganiserMember.Role.choices)
    is_mep = forms.BooleanField(label=_("Member of the European Parliament"), required=False)


class DateForm(forms.Form):
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))


class SponsorForm(forms.Form):
    name = SingleLineField(label=_("Sponsor"), max_length=200)
    amount_eur = forms.DecimalField(
        label=_("Amount (EUR)"), max_digits=12, decimal_places=2, min_value=0
    )
    received_on = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))


class PaperCountsForm(forms.Form):
    """One whole number per Member State: statements collected on paper so far."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for code, name in MEMBER_STATE_NAMES.items():
            self.fields[code] = forms.IntegerField(
                label=name, min_value=0, max_value=10_000_000, required=False
            )


class DecisionForm(forms.Form):
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


class TranslationForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    title = SingleLineField(label=_("Title"), max_length=300)
    objectives = MultiLineField(label=_("Objectives"), max_length=4000)


class ExtensionForm(forms.Form):
    new_end = forms.DateField(
        label=_("New last day of collection"), widget=forms.DateInput(attrs={"type": "date"})
    )
    legal_basis = SingleLineField(label=_("Legal basis"), max_length=500)


class FollowUpForm(forms.Form):
    step = forms.ChoiceField(
        label=_("Step"),
        choices=[
            ("meeting", _("Meeting with the Commission")),
            ("hearing", _("Public hearing at the European Parliament")),
            ("communication", _("The Commission's communication")),
        ],
    )
    on = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    url = LinkField(label=_("Link"), required=False, assume_scheme="https")


class CertificateUploadForm(forms.Form):
    certificate = forms.FileField(label=_("Certificate file (certificate.json)"))
