from __future__ import annotations

from django.db.models import QuerySet

from quorum.authorities.models import Authority


def authority_list(*, scheme: str) -> QuerySet[Authority]:
    return Authority.objects.filter(scheme=scheme)


def authority_sealing_keys(*, scheme: str) -> dict[str, str]:
    """Member State → base64 sealing public key, for every authority that has registered one."""
    return dict(
        Authority.objects.filter(scheme=scheme)
        .exclude(sealing_public_key="")
        .values_list("member_state", "sealing_public_key")
    )


def authorities_of_staff(user: object) -> QuerySet[Authority]:
    if not getattr(user, "is_authenticated", False):
        return Authority.objects.none()
    return Authority.objects.filter(staff__user=user)
