"""The coalition partners of an initiative: their codes, added and removed by its organisers.

A statement signed through a partner's link (``?via=<code>``) carries the code in its public
leaf: anyone who recounts the leaves recounts the partners too. That is also why codes are few
and chosen by the organisers only: a code given to a single person would say, in public, which
leaf is theirs. A removed partner's statements keep its code (the log is append-only), so
adding the code again brings that partner back with them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from quorum.core.audit import Actor, audit_log
from quorum.core.text import has_control_characters
from quorum.initiatives.models import Initiative, Partner
from quorum.initiatives.services.checks import InvalidRequest

CODE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?", re.ASCII)
MAX_PARTNERS = 100
MAX_NAME_LENGTH = 100

CODE_INVALID = _(
    "Enter a code of 1 to 32 lower-case letters, digits and hyphens, e.g. edri or reclaim-2027."
)
NAME_INVALID = _("Enter the partner's name, in at most 100 characters on one line.")


def partner_code_normalised(text: object) -> str | None:
    """The code as stored (lower case, no surrounding spaces), or None if ``text`` is not one."""
    if not isinstance(text, str):
        return None
    code = text.strip(" ").lower()
    # fullmatch: a pattern's "$" would let a trailing newline through.
    return code if CODE.fullmatch(code) else None


def partner_named(via: object, partners: Mapping[str, object]) -> str:
    """The code of the partner among ``partners`` (keyed by code) that ``via`` names, or ""
    when it names none: an unknown, removed or malformed code is ignored, never an error."""
    code = partner_code_normalised(via)
    return code if code is not None and code in partners else ""


@transaction.atomic
def partner_add(
    *, initiative: Initiative, code: str, name: str, actor: Actor = None, actor_label: str = ""
) -> Partner:
    """Add a partner, or rename the one with this code; refused with the reasons otherwise."""
    normalised = partner_code_normalised(code)
    name = name.strip()
    errors: dict[str, list[Any]] = {}
    if normalised is None:
        errors["code"] = [CODE_INVALID]
    if not name or len(name) > MAX_NAME_LENGTH or has_control_characters(name):
        errors["name"] = [NAME_INVALID]
    # Locked, so that two organisers adding at once cannot pass the limit together.
    Initiative.objects.select_for_update().filter(pk=initiative.pk).exists()
    existing = Partner.objects.filter(initiative=initiative, code=normalised).first()
    if existing is None and Partner.objects.filter(initiative=initiative).count() >= MAX_PARTNERS:
        errors.setdefault("code", []).append(_("An initiative may have at most 100 partners."))
    if errors:
        raise InvalidRequest(errors)
    assert normalised is not None
    if existing is not None:
        if existing.name == name:
            return existing
        existing.name = name
        existing.save(update_fields=["name"])
        action, partner = "quorum.initiative.partner_renamed", existing
    else:
        partner = Partner.objects.create(initiative=initiative, code=normalised, name=name)
        action = "quorum.initiative.partner_added"
    audit_log(
        action=action,
        subject=initiative,
        actor=actor,
        actor_label=actor_label,
        data={"code": normalised, "name": name},
    )
    return partner


@transaction.atomic
def partner_remove(
    *, initiative: Initiative, code: str, actor: Actor = None, actor_label: str = ""
) -> bool:
    """Stop taking statements through the code's links; those already signed keep their code
    in the log, and in the counts."""
    normalised = partner_code_normalised(code) or code.strip()
    deleted, _rows = Partner.objects.filter(initiative=initiative, code=normalised).delete()
    if deleted:
        audit_log(
            action="quorum.initiative.partner_removed",
            subject=initiative,
            actor=actor,
            actor_label=actor_label,
            data={"code": normalised},
        )
    return bool(deleted)
