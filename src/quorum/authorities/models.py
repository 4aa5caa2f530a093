from __future__ import annotations

from django.db import models


class Authority(models.Model):
    """The competent authority of one Member State for one scheme, known by its public keys.

    The platform never holds the private halves: statements are sealed to `sealing_public_key`
    and certificates are checked against `signing_public_key`.
    """

    scheme = models.CharField(max_length=20, default="eci")
    member_state = models.CharField(max_length=2)
    name = models.CharField(max_length=200)
    # Standard base64 of the 32-byte X25519 and Ed25519 public keys.
    sealing_public_key = models.CharField(max_length=64, blank=True, default="")
    signing_public_key = models.CharField(max_length=64, blank=True, default="")
    keys_updated_at = models.DateTimeField(null=True, blank=True)
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
        return bool(self.sealing_public_key and self.signing_public_key)


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
