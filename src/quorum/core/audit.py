"""Writing the audit log: every service that changes state calls `audit_log` once."""

from __future__ import annotations

from typing import Any, TypeAlias

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser, User
from django.db import models

from quorum.core.models import AuditEntry

#: Who acts in a service: a signed-in user (request.user), an anonymous visitor, or nobody
#: (a command or a scheduled job, which name themselves with ``actor_label``).
Actor: TypeAlias = AbstractBaseUser | AnonymousUser | None


def audit_log(
    *,
    action: str,
    subject: models.Model | None = None,
    actor: Actor = None,
    actor_label: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    user = actor if isinstance(actor, User) and actor.is_authenticated else None
    return AuditEntry.objects.create(
        action=action,
        actor=user,
        actor_label=actor_label,
        subject_type=subject._meta.label_lower if subject is not None else "",
        subject_id=str(subject.pk) if subject is not None else "",
        data=data or {},
    )
