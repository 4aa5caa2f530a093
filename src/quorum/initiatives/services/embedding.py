"""The sites that may frame an initiative's signing form: added and removed by its organisers."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from quorum.core.audit import Actor, audit_log
from quorum.initiatives.models import EmbedOrigin, Initiative
from quorum.initiatives.services.checks import InvalidRequest

#: Plain http only for a campaign site tried out on one's own machine.
LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")
HOST = re.compile(
    r"^(\[[0-9a-f:]+\]|[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*)$"
)
MAX_ORIGINS = 20

ORIGIN_INVALID = _(
    "Enter the address of a site as https://example.org (or with its port), without a path."
)


def origin_normalised(text: str) -> str | None:
    """``scheme://host[:port]`` as a browser writes an origin, or None if ``text`` is not one."""
    text = text.strip(" ")  # a control character is refused, not trimmed away
    if not text or len(text) > 200 or any(ord(c) < 33 or ord(c) > 126 for c in text):
        return None
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        return None
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    if not HOST.match(host):
        return None
    scheme = parts.scheme.lower()
    if scheme != "https" and not (scheme == "http" and host in LOCAL_HOSTS):
        return None
    default = {"https": 443, "http": 80}[scheme]
    return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")


@transaction.atomic
def embed_origin_add(
    *, initiative: Initiative, origin: str, actor: Actor = None, actor_label: str = ""
) -> EmbedOrigin:
    normalised = origin_normalised(origin)
    errors: dict[str, list[Any]] = {}
    if normalised is None:
        errors["origin"] = [ORIGIN_INVALID]
    elif EmbedOrigin.objects.filter(initiative=initiative).count() >= MAX_ORIGINS:
        errors["origin"] = [_("An initiative may list at most 20 sites.")]
    if errors:
        raise InvalidRequest(errors)
    assert normalised is not None
    added, created = EmbedOrigin.objects.get_or_create(initiative=initiative, origin=normalised)
    if created:
        audit_log(
            action="quorum.initiative.embed_origin_added",
            subject=initiative,
            actor=actor,
            actor_label=actor_label,
            data={"origin": normalised},
        )
    return added


@transaction.atomic
def embed_origin_remove(
    *, initiative: Initiative, origin: str, actor: Actor = None, actor_label: str = ""
) -> bool:
    normalised = origin_normalised(origin) or origin.strip()
    deleted, _rows = EmbedOrigin.objects.filter(initiative=initiative, origin=normalised).delete()
    if deleted:
        audit_log(
            action="quorum.initiative.embed_origin_removed",
            subject=initiative,
            actor=actor,
            actor_label=actor_label,
            data={"origin": normalised},
        )
    return bool(deleted)
