"""What the app processes share about submissions when there is no Redis.

Both tables hold keyed hashes (HMACs), never an address, a name or a solution in clear, and
every row is forgotten once ``expires_at`` has passed (swept as the stores go, and by
``quorum periodic``).
"""

from __future__ import annotations

from django.db import models


class SingleUseClaim(models.Model):
    """The claim on one proof-of-work solution (see :mod:`quorum.signing.replay`)."""

    # HMAC(k, solution id)
    slot = models.CharField(max_length=64, primary_key=True)
    # HMAC(k, solution id || content digest): which submission holds the claim
    content_tag = models.CharField(max_length=64)
    # The statement's public leaf hash once it is stored; empty while pending.
    receipt = models.CharField(max_length=64, blank=True, default="")
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        state = "stored" if self.receipt else "pending"
        return f"{self.slot[:12]}… {state} until {self.expires_at:%Y-%m-%d %H:%M:%S}"


class RateLog(models.Model):
    """The recent allowed hits of one client at one scope (see :mod:`quorum.signing.ratelimit`)."""

    # HMAC(daily key, scope || address group)
    key = models.CharField(max_length=64, primary_key=True)
    # {window name: [[POSIX time, hits], …]}: the allowed hits still within each window
    hits = models.JSONField(default=dict)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key[:12]}… until {self.expires_at:%Y-%m-%d %H:%M:%S}"
