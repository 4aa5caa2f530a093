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
    # The coalition partner's code it was signed through ("" for none): part of the public
    # leaf, and nothing else about the signatory is linked to it. A default in the database
    # too: a process of the previous release, still running while this one is deployed,
    # inserts rows without the column.
    partner = models.CharField(max_length=32, default="", db_default="", blank=True)
    ciphertext = models.BinaryField(null=True)
    ciphertext_sha256 = models.BinaryField(max_length=32)
    leaf_hash = models.BinaryField(max_length=32)
    # Whole seconds: a finer public timestamp would make it easier to tie a leaf to a person.
    received_at = models.DateTimeField()
    # Assigned by the sequencer, consecutive from 0 per initiative.
    leaf_index = models.BigIntegerField(null=True, blank=True)
    # The authority key the ciphertext is sealed to: the batch tells the authority which of
    # its keys opens it. Null only for statements of a key no longer on record.
    sealing_key = models.ForeignKey(
        "authorities.AuthorityKey", on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["initiative", "leaf_index"], name="statement_leaf_index_unique"
            ),
        ]
        indexes = [
            # A receipt is looked up within its initiative: one index serves both conditions.
            models.Index(fields=["initiative", "leaf_hash"], name="statement_receipt"),
            models.Index(fields=["initiative", "leaf_index"], name="statement_initiative_index"),
        ]

    def __str__(self) -> str:
        return f"statement {self.pk} of initiative {self.initiative_id}"


class LogState(models.Model):
    """The head of one initiative's log: how many leaves are in it, and the latest checkpoint."""

    initiative = models.OneToOneField(Initiative, on_delete=models.PROTECT, related_name="+")
    size = models.BigIntegerField(default=0)
    root = models.BinaryField(max_length=32)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"log of initiative {self.initiative_id}: {self.size} leaves"


class LogNode(models.Model):
    """A complete subtree hash: never changes once written (RFC 9162 tree, quorum.proofs.merkle).

    `position` packs (level, index) as level << 56 | index, so a proof's nodes are one
    `position IN (...)` query.
    """

    initiative = models.ForeignKey(Initiative, on_delete=models.PROTECT, related_name="+")
    position = models.BigIntegerField()
    hash = models.BinaryField(max_length=32)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["initiative", "position"], name="log_node_unique"),
        ]

    def __str__(self) -> str:
        return f"node {self.position} of initiative {self.initiative_id}"


class Checkpoint(models.Model):
    """A signed tree head in C2SP checkpoint format, as published, with the counts at its size."""

    initiative = models.ForeignKey(Initiative, on_delete=models.PROTECT, related_name="+")
    size = models.BigIntegerField()
    root = models.BinaryField(max_length=32)
    note = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    # The counts of the log at this size, written by the sequencer in the checkpoint's own
    # transaction: {"by_member_state": {code: n}, "by_partner": {code: n}}, only codes with
    # some. Null only on a checkpoint signed by a sequencer of an earlier release while the
    # upgrade was under way (such a checkpoint is never an hour's last, below).
    counts = models.JSONField(null=True, blank=True)
    # True on the latest checkpoint of its UTC hour (of its UTC day), and so on the latest of
    # all: the sequencer clears the previous checkpoint's flags when it signs another in the
    # same hour (day). The count over time reads these few rows through partial indexes
    # instead of grouping every checkpoint of the log (one a second while people sign). False
    # in the database too: a sequencer of the earlier release, still running while this one
    # is deployed, inserts rows without the columns.
    last_of_hour = models.BooleanField(default=False, db_default=False)
    last_of_day = models.BooleanField(default=False, db_default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["initiative", "size"], name="checkpoint_one_per_size"),
        ]
        indexes = [
            models.Index(fields=["initiative", "-size"], name="checkpoint_latest"),
            models.Index(
                fields=["initiative", "size"],
                condition=models.Q(last_of_hour=True),
                name="checkpoint_hourly",
            ),
            models.Index(
                fields=["initiative", "size"],
                condition=models.Q(last_of_day=True),
                name="checkpoint_daily",
            ),
        ]

    def __str__(self) -> str:
        return f"checkpoint {self.size} of initiative {self.initiative_id}"


class MemberStateCount(models.Model):
    """Statements per Member State in the log, as of the latest checkpoint.

    Updated once per sequencer batch, never once per statement.
    """

    initiative = models.ForeignKey(Initiative, on_delete=models.PROTECT, related_name="+")
    member_state = models.CharField(max_length=2)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["initiative", "member_state"], name="member_state_count_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member_state}: {self.count}"


class PartnerCount(models.Model):
    """Statements per coalition partner in the log, as of the latest checkpoint; only codes
    that brought at least one (the rest of the log is the count with no partner).

    Updated once per sequencer batch, with the Member States' counts.
    """

    initiative = models.ForeignKey(Initiative, on_delete=models.PROTECT, related_name="+")
    partner = models.CharField(max_length=32)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["initiative", "partner"], name="partner_count_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.partner}: {self.count}"
