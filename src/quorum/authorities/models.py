from __future__ import annotations

from django.db import models


class Authority(models.Model):
    """The competent authority of one Member State for one scheme, known by its public keys.

    The platform never holds the private halves: statements are sealed to the current key's
    sealing half and certificates are checked against its signing half. Keys arrive only as
    key certificates made by the authority (`AuthorityKey`); the first must match the
    fingerprint that the registrar recorded from the Member State's designation.
    """

    scheme = models.CharField(max_length=20, default="eci")
    member_state = models.CharField(max_length=2)
    name = models.CharField(max_length=200)
    current_key = models.OneToOneField(
        "AuthorityKey", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The second channel: what the Member State communicated with its designation, recorded
    # by the registrar. A first key is accepted only if its fingerprint is this one.
    expected_fingerprint = models.CharField(max_length=64, blank=True, default="")
    designation = models.CharField(max_length=300, blank=True, default="")
    expected_recorded_by = models.ForeignKey(
        "auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    expected_recorded_label = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["scheme", "member_state"]
        constraints = [
            models.UniqueConstraint(
                fields=["scheme", "member_state"], name="authority_one_per_state"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scheme}:{self.member_state} {self.name}"

    @property
    def has_keys(self) -> bool:
        return self.current_key_id is not None


class AuthorityKey(models.Model):
    """One key set an authority registered; the history only grows.

    Statements name the key they were sealed to, so a batch can tell the authority which of
    its keys opens each one.
    """

    authority = models.ForeignKey(Authority, on_delete=models.PROTECT, related_name="keys")
    sequence = models.PositiveIntegerField()
    # Standard base64 of the 32-byte X25519 and Ed25519 public keys.
    sealing_public_key = models.CharField(max_length=64, unique=True)
    signing_public_key = models.CharField(max_length=64, unique=True)
    previous_signing_key = models.CharField(max_length=64, blank=True, default="")
    fingerprint = models.CharField(max_length=64)
    # The key certificate as the authority's toolkit made it; empty for keys registered
    # before key certificates existed (the key log says so).
    certificate = models.TextField(blank=True, default="")
    registered_at = models.DateTimeField()

    class Meta:
        ordering = ["authority", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["authority", "sequence"], name="authority_key_sequence_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"key {self.sequence} of {self.authority}"


class KeyLogLeaf(models.Model):
    """One entry of the public key log: every key and every change, append-only."""

    index = models.BigIntegerField(unique=True)
    key = models.OneToOneField(AuthorityKey, on_delete=models.PROTECT, related_name="log_leaf")
    data = models.TextField()  # the canonical JSON that the leaf hash covers
    leaf_hash = models.BinaryField(max_length=32)

    class Meta:
        ordering = ["index"]

    def __str__(self) -> str:
        return f"key log leaf {self.index}"


class KeyLogCheckpoint(models.Model):
    """A signed tree head of the key log (C2SP checkpoint), as published."""

    size = models.BigIntegerField(unique=True)
    root = models.BinaryField(max_length=32)
    note = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-size"]

    def __str__(self) -> str:
        return f"key log checkpoint {self.size}"


class AuthorityStaff(models.Model):
    """A person who works for one authority: downloads its batches, uploads its certificates."""

    authority = models.ForeignKey(Authority, on_delete=models.CASCADE, related_name="staff")
    user = models.ForeignKey(
        "auth.User", on_delete=models.CASCADE, related_name="authority_memberships"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["authority", "user"], name="authority_staff_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user} at {self.authority}"
