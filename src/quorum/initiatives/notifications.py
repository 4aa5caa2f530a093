"""Telling the people who run an initiative that a step waits for them, by e-mail.

Each function is called by the service that makes the change, inside its transaction (the
outbox of ``quorum.core.mail`` sends after the commit). Organisers are written to in their
initiative's language; registrars, who serve every initiative, in the site's default one.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import User
from django.utils.translation import gettext

from quorum.accounts.roles import REGISTRAR
from quorum.core.i18n import member_state_name
from quorum.core.local_forms import local_number
from quorum.core.mail import mail_queue_each, site_link
from quorum.initiatives.models import Initiative


def _title(initiative: Initiative, language: str) -> str:
    return initiative.text("title", language)


def _organisers(initiative: Initiative) -> list[str]:
    return list(
        initiative.organisers.filter(confirmed_at__isnull=False).values_list("email", flat=True)
    )


def _registrars() -> list[str]:
    return list(
        User.objects.filter(groups__name=REGISTRAR, is_active=True).values_list("email", flat=True)
    )


def notify_registration_requested(initiative: Initiative) -> int:
    language = settings.LANGUAGE_CODE
    title = _title(initiative, language)
    return mail_queue_each(
        to=_registrars(),
        language=language,
        subject=lambda: gettext("A registration request waits: “%(title)s”") % {"title": title},
        body=lambda: (
            gettext(
                "The organisers of “%(title)s” have requested its registration. Examine the "
                "request in the back office:\n\n%(link)s"
            )
            % {"title": title, "link": site_link("backoffice:registrar-detail", initiative.slug)}
        ),
    )


def notify_registration_decided(initiative: Initiative) -> int:
    language = initiative.language
    title = _title(initiative, language)
    return mail_queue_each(
        to=_organisers(initiative),
        language=language,
        subject=lambda: gettext("The registrar has decided on “%(title)s”") % {"title": title},
        body=lambda: (
            gettext(
                "The registrar has decided on the registration request of “%(title)s”. Its status "
                "is now: %(status)s. The decision and its reasons are in the back office:"
                "\n\n%(link)s"
            )
            % {
                "title": title,
                "status": initiative.get_status_display(),
                "link": site_link("backoffice:organiser-dashboard", initiative.slug),
            }
        ),
    )


def notify_certificate_accepted(
    initiative: Initiative, *, member_state: str, valid_statements: int
) -> int:
    language = initiative.language
    title = _title(initiative, language)
    return mail_queue_each(
        to=_organisers(initiative),
        language=language,
        subject=lambda: gettext("A certificate for “%(title)s”") % {"title": title},
        body=lambda: (
            gettext(
                "The competent authority of %(state)s has certified %(count)s valid statements "
                "of support for “%(title)s”. The certified counts are in the back office:"
                "\n\n%(link)s"
            )
            % {
                "state": member_state_name(member_state),
                "count": local_number(valid_statements),
                "title": title,
                "link": site_link("backoffice:organiser-dashboard", initiative.slug),
            }
        ),
    )
