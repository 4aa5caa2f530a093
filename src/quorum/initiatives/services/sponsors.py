"""Transparency: the support and funding over EUR 500 per sponsor that the organisers declare."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from quorum.core.audit import Actor, audit_log
from quorum.initiatives.models import Initiative, Sponsor
from quorum.initiatives.services.checks import InvalidRequest, check_characters


@transaction.atomic
def sponsor_add(
    *,
    initiative: Initiative,
    name: str,
    amount_eur: Decimal,
    received_on: date,
    actor: Actor = None,
    actor_label: str = "",
) -> Sponsor:
    errors: dict[str, list[Any]] = {}
    if not name.strip():
        errors["name"] = [_("Enter the sponsor's name.")]
    check_characters(errors, "name", name)
    if amount_eur <= 0:
        errors["amount_eur"] = [_("Enter an amount in euro.")]
    if received_on > timezone.localdate():
        errors["received_on"] = [_("The date cannot be in the future.")]
    if errors:
        raise InvalidRequest(errors)
    sponsor = Sponsor.objects.create(
        initiative=initiative, name=name.strip(), amount_eur=amount_eur, received_on=received_on
    )
    audit_log(
        action="quorum.initiative.sponsor_declared",
        subject=initiative,
        actor=actor,
        actor_label=actor_label,
        data={"sponsor": sponsor.pk, "amount_eur": str(amount_eur)},
    )
    return sponsor
