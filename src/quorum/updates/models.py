"""E-mail updates, with their own consent (recital 34 of Regulation (EU) 2019/788).

Kept apart from statements (DESIGN.md, invariant 9): this room cannot import the ledger or
signing (an import contract says so), a subscriber row has no statement id and no time finer
than a day, its primary key is random, and it is written only when the person confirms from
their mailbox, so neither its key nor its place in the table follows the order of statements.
The address is encrypted under the updates key (``keys.py``).
"""

from __future__ import annotations

import uuid

from django.db import models

from quorum.initiatives.models import Initiative


class Subscriber(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="+")
    # The address, sealed (XSalsa20-Poly1305) under the updates key.
    address_box = models.BinaryField()
    # A keyed hash of (initiative, address): finds a second request of the same address.
    address_index = models.CharField(max_length=64)
    language = models.CharField(max_length=8)
    confirmed_on = models.DateField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["initiative", "address_index"], name="updates_one_address_per_initiative"
            )
        ]


class SubscriptionTally(models.Model):
    """What organisers may know: how many asked and how many left; never who."""

    initiative = models.OneToOneField(Initiative, on_delete=models.CASCADE, related_name="+")
    requested = models.PositiveIntegerField(default=0)
    unsubscribed = models.PositiveIntegerField(default=0)


class Update(models.Model):
    """A message the organisers send to every subscriber, in bounded batches."""

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="+")
    subject = models.CharField(max_length=150)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    recipients = models.PositiveIntegerField(default=0)
    sent = models.PositiveIntegerField(default=0)
    # The last subscriber (by id) a batch reached: the next batch starts after it.
    cursor = models.UUIDField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
