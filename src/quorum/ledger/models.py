from __future__ import annotations

from django.db import models

from quorum.initiatives.models import Initiative


class Statement(models.Model):
    """One sealed statement of support: a leaf of its initiative's log.

    Holds no IP address and no hash of identity data. `ciphertext` is destroyed at the end
    of retention; `ciphertext_sha256` stays so the leaf can still be recomputed by anyone.
    """

    initiative = models.ForeignKey(Initiative, on_delete=models.PROTECT, related_name="+")
    member_state = models.CharField(max_length=2)
    ciphertext = models.BinaryField(null=True)
    ciphertext_sha256 = models.BinaryField(max_length=32)
    leaf_hash = models.BinaryField(max_length=32)
    # Whole seconds: a finer public timestamp would make it easier to tie a leaf to a person.
    received_at = models.DateTimeField()
    # Assigned by the sequencer, consecutive from 0 per initiative.
    leaf_index = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["initiative", "leaf_index"], name="statement_leaf_index_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["leaf_hash"], name="statement_leaf_hash"),
            models.Index(fields=["initiative", "leaf_index"], name="statement_initiative_index"),
        ]

    def __str__(self) -> str:
        return f"statement {self.pk} of initiative {self.initiative_id}"
