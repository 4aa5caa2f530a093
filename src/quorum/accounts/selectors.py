"""Reads about staff users: their second-factor device, their list for operators."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django_otp.plugins.otp_totp.models import TOTPDevice

from quorum.accounts.roles import ROLES


def totp_device_get(user: Any) -> TOTPDevice | None:
    """The user's confirmed TOTP device (the first, if an operator ever left two)."""
    if user is None or getattr(user, "pk", None) is None:
        return None
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).order_by("pk").first()


def user_list() -> list[dict[str, Any]]:
    """Every user with platform roles and whether a second factor is enrolled, by username."""
    enrolled = set(TOTPDevice.objects.filter(confirmed=True).values_list("user_id", flat=True))
    rows = []
    for user in User.objects.order_by("username").prefetch_related("groups"):
        rows.append(
            {
                "username": user.username,
                "email": user.email,
                "roles": sorted(g.name for g in user.groups.all() if g.name in ROLES),
                "two_factor": user.pk in enrolled,
                "active": user.is_active,
                "last_login": user.last_login,
            }
        )
    return rows
