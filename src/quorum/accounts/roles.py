"""Platform roles: who may register initiatives (registrar) and who runs the platform (operator).

Both are Django Groups with these names, created when first given. Organisers and authority
staff are not roles here: they are memberships owned by ``initiatives`` (OrganiserMembership)
and ``authorities`` (AuthorityStaff), which ask their own questions about a user.

Every role needs a second factor: there is no role without one, because nobody is
authenticated without one (see ``quorum.accounts.session``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from quorum.core.audit import Actor, audit_log
from quorum.core.text import CONTROL_CHARACTERS_MESSAGE, has_control_characters

REGISTRAR: Final = "registrar"
OPERATOR: Final = "operator"
ROLES: Final = (REGISTRAR, OPERATOR)

_CACHE_ATTRIBUTE = "_quorum_roles"


def user_roles(user: Any) -> frozenset[str]:
    """The platform roles of ``user`` (empty for anonymous or inactive users)."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return frozenset()
    cached = getattr(user, _CACHE_ATTRIBUTE, None)
    if cached is None:
        cached = frozenset(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        setattr(user, _CACHE_ATTRIBUTE, cached)
    return cached


def has_role(user: Any, role: str) -> bool:
    return role in user_roles(user)


def is_registrar(user: Any) -> bool:
    return has_role(user, REGISTRAR)


def is_operator(user: Any) -> bool:
    return has_role(user, OPERATOR)


def _checked_roles(roles: Iterable[str]) -> frozenset[str]:
    wanted = frozenset(roles)
    unknown = sorted(wanted - set(ROLES))
    if unknown:
        raise ValidationError(
            {
                "roles": [
                    _("Unknown role: %(role)s. Roles are: %(roles)s.")
                    % {"role": role, "roles": ", ".join(ROLES)}
                    for role in unknown
                ]
            }
        )
    return wanted


def _apply_roles(user: User, wanted: frozenset[str]) -> tuple[list[str], list[str]]:
    current = frozenset(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
    added = sorted(wanted - current)
    removed = sorted(current - wanted)
    for name in added:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    if removed:
        user.groups.remove(*Group.objects.filter(name__in=removed))
    if hasattr(user, _CACHE_ATTRIBUTE):
        delattr(user, _CACHE_ATTRIBUTE)
    return added, removed


@transaction.atomic
def user_create(
    *,
    username: str,
    email: str,
    password: str,
    roles: Iterable[str] = (),
    actor: Actor = None,
    actor_label: str = "",
) -> User:
    """A new staff user with ``roles``; the password must pass Django's validators.

    Raises ``ValidationError`` (a dict of field → messages) and creates nothing when the
    username is taken or malformed, the e-mail address is malformed, the password is weak, or
    a role is unknown. One audit entry, ``quorum.account.created``; never the password.
    """
    wanted = _checked_roles(roles)
    user = User(username=username, email=email)
    errors: dict[str, list[str]] = {}
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    # Django's e-mail check lets a quoted local part hold control characters.
    if "email" not in errors and has_control_characters(email):
        errors["email"] = [str(CONTROL_CHARACTERS_MESSAGE)]
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:  # the same username, created at the same moment
        raise ValidationError(
            {"username": [_("A user with that username already exists.")]}
        ) from exc
    _apply_roles(user, wanted)
    audit_log(
        action="quorum.account.created",
        subject=user,
        actor=actor,
        actor_label=actor_label,
        data={"username": user.username, "roles": sorted(wanted)},
    )
    return user


@transaction.atomic
def user_set_roles(
    *, user: User, roles: Iterable[str], actor: Actor = None, actor_label: str = ""
) -> User:
    """Make ``user``'s platform roles exactly ``roles`` (other groups are left alone).

    One audit entry, ``quorum.account.roles_changed``, when something changed.
    """
    wanted = _checked_roles(roles)
    added, removed = _apply_roles(user, wanted)
    if added or removed:
        audit_log(
            action="quorum.account.roles_changed",
            subject=user,
            actor=actor,
            actor_label=actor_label,
            data={"username": user.username, "added": added, "removed": removed},
        )
    return user
