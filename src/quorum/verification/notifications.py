"""Telling each competent authority's staff, by e-mail, that a batch waits for them."""

from __future__ import annotations

import functools

from django.conf import settings
from django.utils.translation import gettext

from quorum.authorities.models import AuthorityStaff
from quorum.core.i18n import member_state_name
from quorum.core.local_forms import local_number
from quorum.core.mail import mail_queue_each, site_link
from quorum.initiatives.models import Initiative


def _batch_waits(title: str, member_state: str, count: int) -> str:
    return gettext(
        "The organisers of “%(title)s” have asked for its statements of support to be "
        "verified. %(count)s statements are for %(state)s. Export the batch in the back "
        "office:\n\n%(link)s"
    ) % {
        "title": title,
        "count": local_number(count),
        "state": member_state_name(member_state),
        "link": site_link("backoffice:authority-home", member_state),
    }


def notify_verification_requested(initiative: Initiative, statements: dict[str, int]) -> int:
    """One message to the staff of each Member State's authority that has statements."""
    language = settings.LANGUAGE_CODE
    title = initiative.text("title", language)
    sent = 0
    for member_state, count in sorted(statements.items()):
        staff = AuthorityStaff.objects.filter(
            authority__scheme=initiative.scheme,
            authority__member_state=member_state,
            user__is_active=True,
        ).values_list("user__email", flat=True)
        sent += mail_queue_each(
            to=staff,
            language=language,
            subject=lambda: (
                gettext("Statements of support to verify: “%(title)s”") % {"title": title}
            ),
            body=functools.partial(_batch_waits, title, member_state, count),
        )
    return sent
