from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Initiative(models.Model):
    """One proposal with its collection, under one scheme."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        REGISTRATION_REQUESTED = "registration_requested", _("Registration requested")
        REGISTERED = "registered", _("Registered")
        REFUSED = "refused", _("Registration refused")
        COLLECTING = "collecting", _("Collecting")
        COLLECTION_CLOSED = "collection_closed", _("Collection closed")
        VERIFICATION = "verification", _("Under verification")
        VERIFIED = "verified", _("Verified")
        SUBMITTED = "submitted", _("Submitted to the Commission")
        ANSWERED = "answered", _("Answered")
        UNSUCCESSFUL = "unsuccessful", _("Unsuccessful")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    slug = models.SlugField(max_length=80, unique=True)
    scheme = models.CharField(max_length=20, default="eci")
    registration_number = models.CharField(max_length=40, blank=True, default="")
    registration_date = models.DateField(null=True, blank=True)
    # The language the organisers wrote in; other languages are translations of it.
    language = models.CharField(max_length=8, default="en")
    # Organiser-written text per language: {"en": "...", "de": "..."}.
    title = models.JSONField(default=dict)
    objectives = models.JSONField(default=dict)
    website = models.URLField(blank=True, default="")
    collection_start = models.DateField(null=True, blank=True)
    # Stored, not derived: extensions (e.g. the COVID-era regulation) move it.
    collection_end = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.DRAFT)
    # Registration (Art. 6, Annex II).
    annex = models.JSONField(default=dict, blank=True)
    treaty_basis = models.TextField(blank=True, default="")
    registration_requested_on = models.DateField(null=True, blank=True)
    partially_registered = models.BooleanField(default=False)
    decision_reasons = models.TextField(blank=True, default="")
    # Collection (Art. 8).
    start_announced_on = models.DateField(null=True, blank=True)
    stopped_early_on = models.DateField(null=True, blank=True)
    withdrawn_on = models.DateField(null=True, blank=True)
    # After collection (Art. 12–15).
    verification_requested_on = models.DateField(null=True, blank=True)
    verified_on = models.DateField(null=True, blank=True)
    submitted_on = models.DateField(null=True, blank=True)
    published_on = models.DateField(null=True, blank=True)
    meeting_on = models.DateField(null=True, blank=True)
    meeting_url = models.URLField(blank=True, default="")
    hearing_on = models.DateField(null=True, blank=True)
    hearing_url = models.URLField(blank=True, default="")
    communication_on = models.DateField(null=True, blank=True)
    communication_url = models.URLField(blank=True, default="")
    # Art. 19(7): statements are kept until one month after the final decision.
    legal_hold = models.BooleanField(default=False)
    legal_hold_decided_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-registration_date", "slug"]
        constraints = [
            models.UniqueConstraint(
                fields=["registration_number"],
                condition=~models.Q(registration_number=""),
                name="initiative_registration_number_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(collection_end__isnull=True)
                | models.Q(collection_start__isnull=True)
                | models.Q(collection_end__gte=models.F("collection_start")),
                name="initiative_collection_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.slug

    def text(self, field: str, language: str) -> str:
        """The organisers' text in `language`, else in their own language."""
        values: dict[str, str] = getattr(self, field)
        base = language.split("-")[0]
        return values.get(language) or values.get(base) or values.get(self.language) or ""

    def has_language(self, language: str) -> bool:
        return language in self.title or language.split("-")[0] in self.title

    def languages(self) -> list[str]:
        return sorted(self.title)


class OrganiserMember(models.Model):
    """A member of the group of organisers (Art. 5): invited, then confirmed by link."""

    class Role(models.TextChoices):
        REPRESENTATIVE = "representative", _("Representative")
        SUBSTITUTE = "substitute", _("Substitute")
        MEMBER = "member", _("Member")

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="organisers")
    full_name = models.CharField(max_length=200)
    email = models.EmailField()
    nationality = models.CharField(max_length=2)
    residence = models.CharField(max_length=2)
    is_mep = models.BooleanField(default=False)
    declares_voting_age = models.BooleanField(default=False)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="organiser_memberships",
    )
    # SHA-256 of the invitation token: the token itself is shown once, to whoever invites.
    invitation_hash = models.CharField(max_length=64, blank=True, default="", db_index=True)
    invited_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["initiative", "user"],
                condition=models.Q(user__isnull=False),
                name="organiser_once_per_initiative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.get_role_display()})"


class Sponsor(models.Model):
    """Support or funding over EUR 500 from one sponsor (recital 29), published."""

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="sponsors")
    name = models.CharField(max_length=200)
    amount_eur = models.DecimalField(max_digits=12, decimal_places=2)
    received_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["received_on", "id"]

    def __str__(self) -> str:
        return f"{self.name}: EUR {self.amount_eur}"


class ProgressReport(models.Model):
    """The organisers' two-monthly report (Art. 9(7)): online count from the log, paper declared."""

    initiative = models.ForeignKey(
        Initiative, on_delete=models.CASCADE, related_name="progress_reports"
    )
    reported_on = models.DateField()
    online_count = models.BigIntegerField()
    # Member State → statements collected on paper, as declared by the organisers.
    paper_counts = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["reported_on", "id"]

    def __str__(self) -> str:
        return f"report of {self.reported_on}"


class Extension(models.Model):
    """A published extension of the collection period, with its legal basis."""

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="extensions")
    previous_end = models.DateField()
    new_end = models.DateField()
    legal_basis = models.TextField()
    recorded_on = models.DateField()

    class Meta:
        ordering = ["recorded_on", "id"]

    def __str__(self) -> str:
        return f"{self.previous_end} → {self.new_end}"


class EmbedOrigin(models.Model):
    """A site the organisers let frame the initiative's signing form (frame-ancestors)."""

    initiative = models.ForeignKey(
        Initiative, on_delete=models.CASCADE, related_name="embed_origins"
    )
    #: scheme://host[:port], lower case, as browsers compare it.
    origin = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["origin"]
        constraints = [
            models.UniqueConstraint(
                fields=["initiative", "origin"], name="embed_origin_unique_per_initiative"
            )
        ]

    def __str__(self) -> str:
        return self.origin


class Partner(models.Model):
    """A coalition partner of the initiative: its code goes into the public leaf of every
    statement signed through its link, so that its count is as verifiable as a Member State's."""

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="partners")
    #: Lower-case letters, digits and inner hyphens, 1 to 32: safe in an address and a leaf line.
    code = models.CharField(max_length=32)
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["initiative", "code"], name="partner_code_unique_per_initiative"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.name})"
