"""Input parsing for the back office. Forms only parse and check types: rules live in services."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from quorum.core.i18n import MEMBER_STATE_NAMES
from quorum.initiatives.models import OrganiserMember

MEMBER_STATES = [("", _("Choose…")), *MEMBER_STATE_NAMES.items()]


class DraftForm(forms.Form):
    slug = forms.SlugField(label=_("Short name for the web address"), max_length=60)
    language = forms.ChoiceField(label=_("Language of the text"), choices=settings.LANGUAGES)
    title = forms.CharField(label=_("Title"), max_length=300)
    objectives = forms.CharField(label=_("Objectives"), widget=forms.Textarea, max_length=4000)
    annex = forms.CharField(
        label=_("Annex (optional)"), widget=forms.Textarea, required=False, max_length=12000
    )
    treaty_basis = forms.CharField(
        label=_("Provisions of the Treaties considered relevant"), required=False, max_length=2000
    )
    full_name = forms.CharField(label=_("Your full name"), max_length=200)
    nationality = forms.ChoiceField(label=_("Your nationality"), choices=MEMBER_STATES)
    residence = forms.ChoiceField(label=_("Your Member State of residence"), choices=MEMBER_STATES)
    declares_voting_age = forms.BooleanField(
        label=_("I am old enough to vote in European Parliament elections.")
    )


class InviteForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=200)
    email = forms.EmailField(label=_("E-mail address"))
    nationality = forms.ChoiceField(label=_("Nationality"), choices=MEMBER_STATES)
    residence = forms.ChoiceField(label=_("Member State of residence"), choices=MEMBER_STATES)
    role = forms.ChoiceField(label=_("Role"), choices=OrganiserMember.Role.choices)
    is_mep = forms.BooleanField(label=_("Member of the European Parliament"), required=False)


class DateForm(forms.Form):
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))


class SponsorForm(forms.Form):
    name = forms.CharField(label=_("Sponsor"), max_length=200)
    amount_eur = forms.DecimalField(
        label=_("Amount (EUR)"), max_digits=12, decimal_places=2, min_value=0
    )
    received_on = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))


class PaperCountsForm(forms.Form):
    """One whole number per Member State: statements collected on paper so far."""

    def __init__(self, *args: object, **kwargs: object) -> None:
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
    registration_number = forms.CharField(
        label=_("Registration number"), max_length=40, required=False
    )
    reasons = forms.CharField(
        label=_("Reasons"), widget=forms.Textarea, required=False, max_length=5000
    )


class TranslationForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    title = forms.CharField(label=_("Title"), max_length=300)
    objectives = forms.CharField(label=_("Objectives"), widget=forms.Textarea, max_length=4000)


class ExtensionForm(forms.Form):
    new_end = forms.DateField(
        label=_("New last day of collection"), widget=forms.DateInput(attrs={"type": "date"})
    )
    legal_basis = forms.CharField(label=_("Legal basis"), max_length=500)


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
    url = forms.URLField(label=_("Link"), required=False, assume_scheme="https")


class CertificateUploadForm(forms.Form):
    certificate = forms.FileField(label=_("Certificate file (certificate.json)"))
