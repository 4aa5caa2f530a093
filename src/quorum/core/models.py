from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    """One state change: who, when, what (a namespaced action name), on which object.

    Never holds a signatory's personal data; staff identity is kept apart from the public
    timeline so that it can be shown to the registrar only.
    """

    action = models.CharField(max_length=100, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # "system" for periodic jobs, "cli" for operators at the command line, "" for a user.
    actor_label = models.CharField(max_length=100, blank=True, default="")
    subject_type = models.CharField(max_length=50, blank=True, default="")
    subject_id = models.CharField(max_length=80, blank=True, default="", db_index=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action} {self.subject_type}:{self.subject_id}"


class SignInCounter(models.Model):
    """Sign-in attempts of one username or one client in its window, when there is no Redis.

    ``key`` is a keyed hash (HMAC under a key that turns every UTC day), never a username or
    an address; a row is forgotten when ``expires_at`` has passed.
    """

    key = models.CharField(max_length=80, primary_key=True)
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key[:12]}… {self.count} until {self.expires_at:%Y-%m-%d %H:%M:%S}"


class OutgoingMail(models.Model):
    """A message to a member of staff, waiting to be sent: the outbox.

    A service writes it in the same transaction as the state change it tells of, so that no
    message is sent for a change that rolled back and none is lost for one that committed;
    sending happens afterwards, outside any request's transaction, so a mail server that is
    down delays mail and nothing else. The row is deleted once the server has taken it: a
    message may carry a one-time link, which should not outlive its delivery here.
    """

    to = models.CharField(max_length=320)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    # Why the last attempt failed (the SMTP error), for the operator.
    last_error = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["next_attempt_at", "id"]
