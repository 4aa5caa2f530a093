"""Official paper forms: Annex III of Regulation (EU) 2019/788 for one Member State, as a PDF.

``paper_form_pdf`` is the whole job; ``content`` says what a form says, ``render`` draws it,
``views`` serves it at ``/i/<slug>/paper/<ms>.pdf`` and ``quorum initiative paper-form``
writes it to a file.
"""

from __future__ import annotations

from quorum.initiatives.models import Initiative
from quorum.signing.paper.content import (
    PaperForm,
    PaperFormsUnavailable,
    UnknownLanguage,
    online_form_address,
    paper_form,
    paper_form_initiative,
    paper_forms_available,
    register_address,
)
from quorum.signing.paper.fonts import FontMissing
from quorum.signing.paper.render import render

__all__ = [
    "FontMissing",
    "PaperForm",
    "PaperFormsUnavailable",
    "UnknownLanguage",
    "online_form_address",
    "paper_form",
    "paper_form_initiative",
    "paper_form_pdf",
    "paper_forms_available",
    "register_address",
]


def paper_form_pdf(
    initiative: Initiative, member_state: str, *, language: str, via: object = "", base_url: str
) -> bytes:
    """The Annex III form for nationals of ``member_state`` (an upper-case code) in
    ``language``, its QR code leading to the online form (through ``via`` when that is one of
    the initiative's partners), every address starting with ``base_url``."""
    form = paper_form(initiative, member_state, language=language, via=via, base_url=base_url)
    return render(form, created=initiative.updated_at)
