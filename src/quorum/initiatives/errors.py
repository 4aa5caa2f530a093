"""Errors about initiatives that more than one room raises."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from quorum.core.errors import NotFound


class InitiativeNotFound(NotFound):
    """No initiative by that name, or not one the public may see: the same answer for both."""

    def __init__(self) -> None:
        super().__init__(_("No such initiative."))
