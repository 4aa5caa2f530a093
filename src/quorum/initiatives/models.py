from __future__ import annotations

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
