"""An initiative's texts: the draft the organisers start, the translations the registrar adds."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from quorum.core.audit import Actor, audit_log
from quorum.initiatives.models import Initiative
from quorum.initiatives.services.checks import (
    InvalidRequest,
    check_characters,
    check_texts,
    too_long_message,
)
from quorum.initiatives.services.transitions import Status, initiative_lock
from quorum.rules import Scheme, scheme


def _new_initiative_rules() -> Scheme:
    """The rules of a new initiative: it is under the model's default scheme."""
    return scheme(Initiative._meta.get_field("scheme").get_default())


def draft_text_limits() -> list[str]:
    """The Annex II limits on a new draft's texts, as the sentences that refuse a text over one."""
    return [too_long_message(limit) for limit in _new_initiative_rules().text_limits().values()]


@transaction.atomic
def initiative_create(
    *,
    slug: str,
    title: dict[str, str],
    objectives: dict[str, str],
    language: str,
    status: str = Status.DRAFT,
    registration_number: str = "",
    registration_date: date | None = None,
    collection_start: date | None = None,
    collection_end: date | None = None,
    website: str = "",
    annex: dict[str, str] | None = None,
    treaty_basis: str = "",
    actor: Actor = None,
    actor_label: str = "",
) -> Initiative:
    errors = check_texts(
        _new_initiative_rules(),
        title.get(language, ""),
        objectives.get(language, ""),
        (annex or {}).get(language, ""),
    )
    check_characters(errors, "language", language, *title, *objectives, *(annex or {}))
    check_characters(errors, "title", *title.values())
    check_characters(errors, "objectives", *objectives.values(), multiline=True)
    check_characters(errors, "annex", *(annex or {}).values(), multiline=True)
    check_characters(errors, "treaty_basis", treaty_basis)
    check_characters(errors, "registration_number", registration_number)
    check_characters(errors, "website", website)
    if Initiative.objects.filter(slug=slug).exists():
        errors.setdefault("slug", []).append(_("This short name is taken."))
    if errors:
        raise InvalidRequest(errors)
    initiative = Initiative(
        slug=slug,
        title=title,
        objectives=objectives,
        annex=annex or {},
        treaty_basis=treaty_basis,
        language=language,
        status=status,
        registration_number=registration_number,
        registration_date=registration_date,
        collection_start=collection_start,
        collection_end=collection_end,
        website=website,
    )
    try:
        initiative.full_clean()
    except ValidationError as exc:
        # What the model refuses (a slug outside its alphabet, a too-long value) is bad input
        # like the rest: one error per field, never a traceback.
        raise InvalidRequest(
            {field: [str(m) for m in messages] for field, messages in exc.message_dict.items()}
        ) from exc
    initiative.save()
    audit_log(
        action="quorum.initiative.created",
        subject=initiative,
        actor=actor,
        actor_label=actor_label,
        data={"status": status},
    )
    return initiative


@transaction.atomic
def initiative_add_translation(
    *,
    initiative: Initiative,
    language: str,
    title: str,
    objectives: str,
    actor: Actor = None,
    actor_label: str = "",
) -> Initiative:
    errors = check_texts(scheme(initiative.scheme), title, objectives)
    check_characters(errors, "language", language)
    check_characters(errors, "title", title)
    check_characters(errors, "objectives", objectives, multiline=True)
    if errors:
        raise InvalidRequest(errors)
    initiative = initiative_lock(initiative)
    initiative.title = {**initiative.title, language: title}
    initiative.objectives = {**initiative.objectives, language: objectives}
    initiative.save(update_fields=["title", "objectives", "updated_at"])
    audit_log(
        action="quorum.initiative.translation_added",
        subject=initiative,
        actor=actor,
        actor_label=actor_label,
        data={"language": language},
    )
    return initiative
