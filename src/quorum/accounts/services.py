"""Writes about staff users' credentials: enrolling and resetting the second factor, passwords.

Role services (``user_create``, ``user_set_roles``) live in ``roles``. Each service writes
one audit entry and never a password, a code or a TOTP secret.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp import devices_for_user
from django_otp.plugins.otp_totp.models import TOTPDevice

from quorum.accounts import totp
from quorum.core.audit import Actor, audit_log
from quorum.core.errors import Conflict


@transaction.atomic
def totp_device_confirm(*, user: User, key: str, step: int) -> TOTPDevice:
    """Store ``user``'s first TOTP device, confirmed by a code of time step ``step``.

    The step is recorded as used, so the code that confirmed the device cannot also sign in.
    Raises ``Conflict`` if the user already has a confirmed device (two tabs enrolling).
    """
    User.objects.select_for_update().filter(pk=user.pk).first()  # one enrolment at a time
    if TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists():
        raise Conflict(_("A second factor is already set up for this account."))
    device = TOTPDevice.objects.create(
        user=user,
        name="default",
        key=key,
        step=totp.STEP,
        digits=totp.DIGITS,
        tolerance=totp.TOLERANCE,
        confirmed=True,
        last_t=step,
        last_used_at=timezone.now(),
    )
    audit_log(
        action="quorum.account.2fa_enrolled",
        subject=user,
        actor=user,
        data={"username": user.username},
    )
    return device


@transaction.atomic
def user_reset_2fa(*, user: User, actor: Actor = None, actor_label: str = "") -> int:
    """Remove every second-factor device of ``user`` (operator recovery); returns how many.

    The user's open sessions stop being verified and are ended at their next request; the
    next sign-in asks them to enrol again.
    """
    devices = list(devices_for_user(user, confirmed=None))
    for device in devices:
        device.delete()
    audit_log(
        action="quorum.account.2fa_reset",
        subject=user,
        actor=actor,
        actor_label=actor_label,
        data={"username": user.username, "devices_removed": len(devices)},
    )
    return len(devices)


@transaction.atomic
def user_change_password(*, user: User, new_password: str, actor: Actor = None) -> User:
    """Set a new password (Django's validators apply; raises ``ValidationError``)."""
    validate_password(new_password, user=user)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    audit_log(
        action="quorum.account.password_changed",
        subject=user,
        actor=actor,
        data={"username": user.username},
    )
    return user
