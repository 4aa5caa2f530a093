"""What an official paper form says: Annex III of Regulation (EU) 2019/788, in one language.

One builder for every Member State, never a template per state: Part A or Part B and the
accepted documents come from the scheme's data, the columns are the fields the online form
asks of that Member State (``fields_for``, the same order and the same translated labels), and
the pre-completed part (Annex III, points 1 to 8) comes from the initiative. The wording is the
Annex's, translated like every other string of the platform.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from quorum.core.errors import NotFound
from quorum.core.i18n import member_state_name
from quorum.core.local_forms import local_date
from quorum.initiatives.models import Initiative, OrganiserMember
from quorum.initiatives.selectors import (
    initiative_get_public,
    initiative_partners,
    initiative_public_organisers,
)
from quorum.initiatives.services.partners import partner_named
from quorum.rules import Scheme, scheme
from quorum.rules.model import Part
from quorum.signing.fields import fields_for
from quorum.signing.labels import FIELD_LABELS

#: Forms are handed out from registration (once the collection period is fixed) to its end.
PAPER_STATUSES = (Initiative.Status.REGISTERED, Initiative.Status.COLLECTING)
#: The two columns every form has after the fields: the day of signing and the signature.
DATE, SIGNATURE = "date", "signature"


class PaperFormsUnavailable(NotFound):
    """No forms for an initiative that is not, or no longer, collecting."""

    code = "paper_forms_unavailable"

    def __init__(self) -> None:
        super().__init__(_("This initiative is not collecting statements of support."))


class UnknownLanguage(ValueError):
    """A language that is not one of the site's 24."""


@dataclass(frozen=True)
class Item:
    """One pre-completed line of the form: its label and what the organisers fill in."""

    label: str
    value: str


@dataclass(frozen=True)
class Column:
    """One column of the signature rows: a field of the statement, the date or the signature."""

    name: str
    label: str


@dataclass(frozen=True)
class PaperForm:
    """Every text of one form, in ``language``; ``text_language`` is that of the initiative's
    own title and objectives (its organisers' language when not translated)."""

    language: str
    text_language: str
    member_state: str
    part: Part
    title: str
    part_note: str
    mandatory: str
    organisers_heading: str
    items: tuple[Item, ...]
    signatories_heading: str
    declaration: str
    columns: tuple[Column, ...]
    footnotes: tuple[str, ...]
    privacy_heading: str
    privacy: tuple[str, ...]
    online_note: str
    online_url: str
    #: The footer before the page number, and "Page {page} of {pages}" with those two marks.
    footer: str
    page_label: str
    document_title: str


def paper_forms_available(initiative: Initiative, *, today: date) -> bool:
    """Registered or collecting, with a collection period that has not ended: a form must
    print the period's dates (Annex III, point 3), and one signed after its end is void."""
    return (
        initiative.status in PAPER_STATUSES
        and initiative.collection_start is not None
        and initiative.collection_end is not None
        and today <= initiative.collection_end
    )


def paper_form_initiative(*, slug: str, today: date | None = None) -> Initiative:
    """The public initiative whose forms may be printed; NotFound otherwise (draft, unknown,
    closed: the same answer as for any page that is not there)."""
    initiative = initiative_get_public(slug=slug)
    if not paper_forms_available(initiative, today=today or timezone.localdate()):
        raise PaperFormsUnavailable()
    return initiative


def register_address(initiative: Initiative, *, language: str, base_url: str) -> str:
    """The initiative in its scheme's public register (the scheme's data says where, from the
    registration number); the initiative's own page here for a number of another form, or a
    scheme without a register."""
    register = scheme(initiative.scheme).register
    if register is not None:
        address = register.initiative_address(initiative.registration_number, language=language)
        if address is not None:
            return address
    return _initiative_page(initiative, base_url=base_url)


def _initiative_page(initiative: Initiative, *, base_url: str) -> str:
    return base_url.rstrip("/") + reverse("initiatives:detail", args=[initiative.slug])


def _contacts_address(initiative: Initiative, *, language: str, base_url: str) -> str:
    """Where the national authorities' and data protection authorities' contact details are:
    the register's page for them, or (a scheme without a register) the initiative's page."""
    register = scheme(initiative.scheme).register
    if register is not None:
        return register.data_protection_url.format(language=language)
    return _initiative_page(initiative, base_url=base_url)


def online_form_address(
    initiative: Initiative, member_state: str, *, via: object, base_url: str
) -> str:
    """The online form for nationals of ``member_state``, with ``?via=`` when ``via`` is one of
    the initiative's partners (anything else is left out, as the signing pages ignore it).

    No ``?lang=``: the signing pages speak the reader's own language (their browser's), which
    on a phone that scans the code is the better guess."""
    address = base_url.rstrip("/") + reverse(
        "signing:form", args=[initiative.slug, member_state.lower()]
    )
    code = partner_named(via, initiative_partners(initiative))
    if code:
        address += "?" + urlencode({"via": code})
    return address


def _contact_persons(initiative: Initiative) -> str:
    """Annex III, point 7: the representative's and the substitute's names and addresses, as
    the Commission's register publishes them (Annex II, footnote 2)."""
    contacts = (OrganiserMember.Role.REPRESENTATIVE, OrganiserMember.Role.SUBSTITUTE)
    return "; ".join(
        f"{member.full_name} ({member.email})"
        for member in initiative_public_organisers(initiative)
        if member.role in contacts
    )


def _period(initiative: Initiative, language: str) -> str:
    start, end = initiative.collection_start, initiative.collection_end
    if start is None or end is None:
        return ""
    return f"{local_date(start, language=language)} – {local_date(end, language=language)}"


def _part_note(part: Part) -> str:
    if part == "A":
        return _(
            "(for Member States that do not require the provision of a personal identification "
            "number/personal identification document number)"
        )
    return _(
        "(for Member States that require the provision of a personal identification "
        "number/personal identification document number)"
    )


def _citizens_of(rules: Scheme, member_state: str) -> str:
    """Point 1: the Member State, and for Part B the numbers and documents it accepts (the
    Annex refers to the Commission's website for them; the rules data holds that list)."""
    name = member_state_name(member_state)
    if rules.part(member_state) == "A":
        return name
    documents = "; ".join(document.label for document in rules.id_documents(member_state))
    return f"{name}. {_('One of these numbers or documents must be provided:')} {documents}"


def _columns(rules: Scheme, member_state: str) -> tuple[Column, ...]:
    fields = [Column(name, str(FIELD_LABELS[name])) for name in fields_for(rules, member_state)]
    return (*fields, Column(DATE, _("Date")), Column(SIGNATURE, _("Signature")))


def _footnotes(rules: Scheme, member_state: str) -> tuple[str, ...]:
    """The Annex's footnote on the residence column, where the rules data has one."""
    note = rules.residence_note(member_state)
    if note is None:
        return ()
    if member_state == "DE":
        # The same sentence as the online form's, in the reader's language.
        return (
            _(
                "German nationals residing outside Germany can support only if they have "
                "registered their current permanent residence at their responsible German "
                "diplomatic representation abroad."
            ),
        )
    return (note.text,)


def paper_form(
    initiative: Initiative, member_state: str, *, language: str, via: object, base_url: str
) -> PaperForm:
    """Every text of the form for nationals of ``member_state``, in ``language``.

    Raises ``UnknownMemberStateError`` (from the rules) for a code the scheme does not have and
    :class:`UnknownLanguage` for a language the site does not speak.
    """
    if language not in dict(settings.LANGUAGES):
        raise UnknownLanguage(f"unknown language {language!r}")
    rules = scheme(initiative.scheme)
    part = rules.part(member_state)
    text_language = language if initiative.has_language(language) else initiative.language
    with translation.override(language):
        items = (
            Item(
                _("All signatories on this form are citizens of:"),
                _citizens_of(rules, member_state),
            ),
            Item(_("European Commission registration number:"), initiative.registration_number),
            Item(
                _("Dates of start and end of the collection period:"), _period(initiative, language)
            ),
            Item(
                _("Web address of this initiative in the European Commission's register:"),
                register_address(initiative, language=language, base_url=base_url),
            ),
            Item(_("Title of this initiative:"), initiative.text("title", language)),
            Item(_("Objectives of the initiative:"), initiative.text("objectives", language)),
            Item(
                _("Names and email addresses of registered contact persons:"),
                _contact_persons(initiative),
            ),
            Item(
                _("Website of this initiative (if any):"),
                initiative.website or _initiative_page(initiative, base_url=base_url),
            ),
        )
        privacy = [
            _(
                "In accordance with Regulation (EU) 2016/679 (the General Data Protection "
                "Regulation), your personal data provided on this form will only be used for the "
                "support of the initiative and made available to the competent national "
                "authorities for the purpose of verification and certification. You are entitled "
                "to request from the group of organisers of this initiative access to, "
                "rectification of, erasure and restriction of processing of your personal data. "
                "Your data will be stored by the group of organisers for a maximum retention "
                "period of one month after the submission of the initiative to the European "
                "Commission or 21 months after the beginning of the collection period, whichever "
                "is the earlier. It might be retained beyond these time limits in the case of "
                "administrative or legal proceedings, for a maximum of one month after the date "
                "of conclusion of these proceedings. Without prejudice to any other "
                "administrative or judicial remedy, you have the right to lodge at any time a "
                "complaint with a data protection authority, in particular in the Member State of "
                "your habitual residence, place of work or place of the alleged infringement if "
                "you consider that your data is unlawfully processed. The representative of the "
                "group of organisers of the initiative or, where appropriate, the legal entity "
                "created by it, is the controller within the meaning of the General Data "
                "Protection Regulation and can be contacted using the details provided on this "
                "form. The contact details of the data protection officer (if any) are available "
                "at the web address of this initiative in the European Commission's register, as "
                "provided in point 4 of this form. The contact details of the national authority "
                "which will receive and process your personal data and the contact details of the "
                "national data protection authorities can be consulted at: %(url)s"
            )
            % {"url": _contacts_address(initiative, language=language, base_url=base_url)}
        ]
        if initiative.collection_start is not None:
            # The same latest date as the online form's privacy statement gives.
            latest = rules.retention_end(initiative.collection_start)
            privacy.append(
                _(
                    "For this initiative that is at the latest on %(date)s, unless legal "
                    "proceedings require otherwise."
                )
                % {"date": local_date(latest, language=language)}
            )
        title = _("Statement of support form — Part %(part)s") % {"part": part}
        state = member_state_name(member_state)
        return PaperForm(
            language=language,
            text_language=text_language,
            member_state=member_state,
            part=part,
            title=title,
            part_note=_part_note(part),
            mandatory=_("All fields on this form are mandatory."),
            organisers_heading=_("To be pre-completed by the group of organisers:"),
            items=items,
            signatories_heading=_("To be completed by the signatories in capital letters:"),
            declaration=_(
                "I hereby certify that the information that I have provided in this form is "
                "correct and that I have not already supported this initiative."
            ),
            columns=_columns(rules, member_state),
            footnotes=_footnotes(rules, member_state),
            privacy_heading=_("Privacy statement"),
            privacy=tuple(privacy),
            online_note=_("Sign online instead: scan the code or type this address."),
            online_url=online_form_address(initiative, member_state, via=via, base_url=base_url),
            footer=f"{initiative.registration_number} · {state}",
            page_label=_("Page %(page)s of %(pages)s") % {"page": "{page}", "pages": "{pages}"},
            document_title=f"{title} · {state} · {initiative.text('title', language)}",
        )
