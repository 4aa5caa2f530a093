"""The demo data set: one initiative collecting today. Loading it twice changes nothing."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from django.contrib.auth.models import User
from django.utils import timezone

from quorum.accounts.roles import user_create
from quorum.authorities.selectors import authority_list
from quorum.authorities.services import authority_expect_key, authority_key_register
from quorum.core.audit import audit_log
from quorum.core.models import AuditEntry
from quorum.initiatives.models import Initiative, OrganiserMember
from quorum.initiatives.services import initiative_create
from quorum.proofs.crypto import generate_authority_keys, write_key_file
from quorum.proofs.key_certificate import make_key_certificate
from quorum.rules import scheme

DEMO_SLUG = "ban-biometric-mass-surveillance"

DEMO_TITLE = {
    "en": "Demo: Ban biometric mass surveillance in public spaces",
    "de": "Demo: Biometrische Massenüberwachung im öffentlichen Raum verbieten",
    "fr": "Démo : Interdire la surveillance biométrique de masse dans l'espace public",
}
DEMO_OBJECTIVES = {
    "en": (
        "This is a demonstration initiative. We ask the European Commission to propose a legal act "
        "that bans the indiscriminate or arbitrarily targeted use of biometric data in public "
        "spaces that can lead to mass surveillance, in line with the rights to privacy and data "
        "protection of the Charter of Fundamental Rights."
    ),
    "de": (
        "Dies ist eine Demonstrationsinitiative. Wir fordern die Europäische Kommission auf, einen "
        "Rechtsakt vorzuschlagen, der die unterschiedslose oder willkürlich gezielte Verwendung "
        "biometrischer Daten im öffentlichen Raum verbietet, die zu Massenüberwachung führen kann, "
        "im Einklang mit den Rechten auf Privatsphäre und Datenschutz der Grundrechtecharta."
    ),
    "fr": (
        "Ceci est une initiative de démonstration. Nous demandons à la Commission européenne de "
        "proposer un acte juridique interdisant l'utilisation indiscriminée ou arbitrairement ciblée "
        "de données biométriques dans l'espace public pouvant conduire à une surveillance de masse, "
        "conformément aux droits à la vie privée et à la protection des données de la Charte des "
        "droits fondamentaux."
    ),
}


@dataclass(frozen=True)
class DemoResult:
    initiative: Initiative
    created: bool


# The group of organisers (Art. 5(1)): seven citizens of voting age living in seven Member
# States, a representative and a substitute among them. Names are made up ("Example" in each
# member's language); the addresses are in .invalid, which no mail server accepts.
DEMO_GROUP: tuple[tuple[str, str, str], ...] = (
    ("Demo Organiser", "DE", OrganiserMember.Role.REPRESENTATIVE),
    ("Marie Exemple", "FR", OrganiserMember.Role.SUBSTITUTE),
    ("Jan Przykład", "PL", OrganiserMember.Role.MEMBER),
    ("Giulia Esempio", "IT", OrganiserMember.Role.MEMBER),
    ("Lucía Ejemplo", "ES", OrganiserMember.Role.MEMBER),
    ("Sanne Voorbeeld", "NL", OrganiserMember.Role.MEMBER),
    ("Ioana Exemplu", "RO", OrganiserMember.Role.MEMBER),
)
DEMO_REPRESENTATIVE = DEMO_GROUP[0][0]


@dataclass(frozen=True)
class DemoHistory:
    """The days of the demo initiative's life so far, each before the next."""

    created: date
    registration_requested: date
    registered: date
    start_announced: date
    collection_start: date
    collection_end: date


def demo_dates(today: date) -> tuple[date, date, date]:
    """Registration, start and end such that collection is open today."""
    start = today - timedelta(days=14)
    registered = start - timedelta(days=60)
    end = scheme("eci").collection_end(start)
    return registered, start, end


def demo_history(today: date) -> DemoHistory:
    """A plausible past: drafted, asked for registration, registered within the two months
    the Commission has (Art. 6(3)), start announced more than ten working days ahead (Art.
    8(1)), collecting for two weeks."""
    registered, start, end = demo_dates(today)
    return DemoHistory(
        created=registered - timedelta(days=70),
        registration_requested=registered - timedelta(days=56),
        registered=registered,
        start_announced=start - timedelta(days=21),
        collection_start=start,
        collection_end=end,
    )


def _at_noon(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(12)))


def demo_load(*, today: date) -> DemoResult:
    existing = Initiative.objects.filter(slug=DEMO_SLUG).first()
    if existing is not None:
        return DemoResult(initiative=existing, created=False)
    history = demo_history(today)
    initiative = initiative_create(
        slug=DEMO_SLUG,
        title=DEMO_TITLE,
        objectives=DEMO_OBJECTIVES,
        language="en",
        status=Initiative.Status.COLLECTING,
        registration_number=f"ECI({history.registered.year})000001",
        registration_date=history.registered,
        collection_start=history.collection_start,
        collection_end=history.collection_end,
        actor_label="demo",
    )
    # Seed data: the demo starts in the middle of an initiative's life, so its days are set
    # here, not lived through. Without them the public timeline said "Created" today, after
    # a registration two months ago.
    Initiative.objects.filter(pk=initiative.pk).update(
        registration_requested_on=history.registration_requested,
        start_announced_on=history.start_announced,
        created_at=_at_noon(history.created),
    )
    _demo_timeline(initiative, history)
    _demo_group(initiative, confirmed=_at_noon(history.created))
    initiative.refresh_from_db()
    return DemoResult(initiative=initiative, created=True)


def _demo_timeline(initiative: Initiative, history: DemoHistory) -> None:
    """The public timeline of the days in ``history``, in their order."""
    AuditEntry.objects.filter(
        action="quorum.initiative.created",
        subject_type="initiatives.initiative",
        subject_id=str(initiative.pk),
    ).update(created_at=_at_noon(history.created))
    for action, day in (
        ("quorum.initiative.registration_requested", history.registration_requested),
        ("quorum.initiative.registered", history.registered),
        ("quorum.initiative.collection_start_set", history.start_announced),
        ("quorum.initiative.collection_opened", history.collection_start),
    ):
        entry = audit_log(
            action=action, subject=initiative, actor_label="demo", data={"demo": True}
        )
        AuditEntry.objects.filter(pk=entry.pk).update(created_at=_at_noon(day))


def _demo_group(initiative: Initiative, *, confirmed: datetime) -> None:
    for full_name, residence, role in DEMO_GROUP:
        OrganiserMember.objects.create(
            initiative=initiative,
            full_name=full_name,
            email="organiser@demo.invalid"
            if role == OrganiserMember.Role.REPRESENTATIVE
            else f"{residence.lower()}.organiser@demo.invalid",
            nationality=residence,
            residence=residence,
            declares_voting_age=True,
            role=role,
            confirmed_at=confirmed,
        )


DEMO_PASSPHRASE = b"demo"


@dataclass(frozen=True)
class DemoKeys:
    directory: Path
    created: tuple[str, ...]
    kept: tuple[str, ...]


def demo_authorities(*, data_dir: Path) -> DemoKeys:
    """One demo authority per Member State, its private keys only in demo-keys/<MS>.key.

    Goes through the same ceremony as a real authority: the key file and a key certificate
    are made as the toolkit makes them, the "registrar" records the certificate's fingerprint
    as a designation would carry it, and the "operator" hands the certificate on. The key
    files are what the offline authority toolkit opens (passphrase "demo"). An authority that
    already has a key keeps it: only the authority (here, its key file) could change it.
    """
    directory = data_dir / "demo-keys"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    registered = {a.member_state: a for a in authority_list(scheme="eci")}
    created: list[str] = []
    kept: list[str] = []
    for code in scheme("eci").member_state_codes():
        path = directory / f"{code}.key"
        authority = registered.get(code)
        if authority is not None and authority.has_keys:
            kept.append(code)
            continue
        keys = generate_authority_keys()
        write_key_file(
            path,
            keys,
            DEMO_PASSPHRASE,
            label=f"Demo authority {code} (eci)",
            strength="interactive",
            overwrite=True,
        )
        name = f"Demo competent authority ({code})"
        certificate = make_key_certificate(keys, scheme="eci", member_state=code, authority=name)
        authority_expect_key(
            scheme_code="eci",
            member_state=code,
            fingerprint=certificate.fingerprint,
            name=name,
            designation="Demo designation",
            actor_label="demo registrar",
        )
        authority_key_register(certificate=certificate.document, actor_label="demo operator")
        created.append(code)
    return DemoKeys(directory=directory, created=tuple(created), kept=tuple(kept))


DEMO_ORGANISER = "demo-organiser"


@dataclass(frozen=True)
class DemoOrganiser:
    username: str
    password: str
    created: bool


def demo_organiser(*, initiative: Initiative, data_dir: Path) -> DemoOrganiser:
    """A back-office account that represents the demo initiative's organisers.

    Its password is generated once and kept in the data directory (0600), so that every run of
    the demo can print it; the authenticator app is set up at the first sign-in, as for anyone.
    """
    path = data_dir / "demo-organiser-password"
    user = User.objects.filter(username=DEMO_ORGANISER).first()
    if user is not None and path.exists():
        return DemoOrganiser(DEMO_ORGANISER, path.read_text(encoding="ascii").strip(), False)
    password = secrets.token_urlsafe(12)
    if user is None:
        user = user_create(
            username=DEMO_ORGANISER,
            email="organiser@demo.invalid",
            password=password,
            actor_label="demo",
        )
    else:
        user.set_password(password)
        user.save(update_fields=["password"])
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(password + "\n")
    # The account is the group's representative, whom demo_load seeded without an account.
    # A demo set up before the group was seeded gets its representative here.
    if not initiative.organisers.filter(user=user).exists():
        representative = initiative.organisers.filter(
            full_name=DEMO_REPRESENTATIVE, user__isnull=True
        ).first()
        if representative is not None:
            representative.user = user
            representative.save(update_fields=["user"])
        else:
            OrganiserMember.objects.create(
                initiative=initiative,
                user=user,
                full_name=DEMO_REPRESENTATIVE,
                email="organiser@demo.invalid",
                nationality="DE",
                residence="DE",
                declares_voting_age=True,
                role=OrganiserMember.Role.REPRESENTATIVE,
                confirmed_at=timezone.now(),
            )
    return DemoOrganiser(DEMO_ORGANISER, password, True)
