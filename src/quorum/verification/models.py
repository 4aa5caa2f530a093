from __future__ import annotations

from django.db import models

from quorum.initiatives.models import Initiative


class VerificationRound(models.Model):
    """The log as it stood when collection ended: every batch and certificate refers to it."""

    initiative = models.OneToOneField(Initiative, on_delete=models.PROTECT, related_name="+")
    checkpoint_size = models.BigIntegerField()
    checkpoint_root = models.BinaryField(max_length=32)
    checkpoint_note = models.TextField()
    # Member State → statements of that nationality in the log at close.
    statements = models.JSONField(default=dict)
    requested_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"verification of initiative {self.initiative_id} at size {self.checkpoint_size}"


class Certificate(models.Model):
    """An authority's signed count of valid statements (Annex VI), as uploaded."""

    initiative = models.ForeignKey(Initiative, on_delete=models.PROTECT, related_name="+")
    member_state = models.CharField(max_length=2)
    valid_statements = models.BigIntegerField()
    statements_in_batch = models.BigIntegerField()
    method = models.CharField(max_length=10)
    certified_on = models.DateField()
    # The signed document exactly as received, so anyone can check it again.
    document = models.JSONField()
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["initiative", "member_state"], name="certificate_one_per_state"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member_state}: {self.valid_statements} valid"


class Purge(models.Model):
    """The destruction of an initiative's ciphertexts at the end of retention (Art. 19)."""

    initiative = models.OneToOneField(Initiative, on_delete=models.PROTECT, related_name="+")
    retention_end = models.DateField()
    statements = models.BigIntegerField()
    purged_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"purge of initiative {self.initiative_id}"
