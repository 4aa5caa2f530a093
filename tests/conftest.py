"""Shared fixtures: the demo initiative, demo authorities with keys in a temporary folder."""

from __future__ import annotations

import functools
import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from email.policy import default
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from hypothesis import settings as hypothesis_settings

from quorum.proofs.crypto import AuthorityKeys, generate_authority_keys
from quorum.rules import scheme
from quorum.signing.pow import solve_challenge

# Hypothesis times each example against a deadline; on a shared two-core machine that measures
# the neighbours, not the code (performance is measured in bench/, never in unit tests).
hypothesis_settings.register_profile("quorum", deadline=None)
hypothesis_settings.load_profile("quorum")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL (``DATABASE_URL`` set), leave out the tests whose processes use a database
    of their own (the browser tests' servers, the benches …) whatever the run's database: the
    SQLite pass has run exactly them."""
    if not os.environ.get("DATABASE_URL"):
        return
    kept, left_out = [], []
    for item in items:
        own = item.get_closest_marker("browser") or item.get_closest_marker("own_database")
        (left_out if own else kept).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


@pytest.fixture
def today() -> date:
    return timezone.localdate()


@pytest.fixture
def collecting_initiative(db, today: date):
    from quorum.initiatives.models import Initiative
    from quorum.initiatives.services import initiative_create

    start = today - timedelta(days=10)
    return initiative_create(
        slug="clean-air",
        title={
            "en": "Clean air for everyone",
            "de": "Saubere Luft für alle",
            "fr": "De l'air pur pour tous",
        },
        objectives={
            "en": "We ask for cleaner air.",
            "de": "Wir fordern sauberere Luft.",
            "fr": "Nous demandons un air plus pur.",
        },
        language="en",
        status=Initiative.Status.COLLECTING,
        registration_number="ECI(2025)000007",
        registration_date=date(2025, 1, 15),
        collection_start=start,
        collection_end=scheme("eci").collection_end(start),
    )


def register_authority_keys(
    code: str, keys: AuthorityKeys, *, scheme_code: str = "eci", name: str | None = None
):
    """Register ``keys`` for ``code``'s authority the one way there is: the registrar records
    the fingerprint from the designation, then somebody else hands on the key certificate."""
    from quorum.authorities.services import authority_expect_key, authority_key_register
    from quorum.proofs.key_certificate import make_key_certificate
    from quorum.signing.selectors import forget_intake_targets

    name = name or f"Competent authority {code}"
    certificate = make_key_certificate(keys, scheme=scheme_code, member_state=code, authority=name)
    authority_expect_key(
        scheme_code=scheme_code,
        member_state=code,
        fingerprint=certificate.fingerprint,
        name=name,
        actor_label="test registrar",
    )
    key = authority_key_register(certificate=certificate.document, actor_label="test operator")
    forget_intake_targets()
    return key


@pytest.fixture
def register_keys(db) -> Callable[..., object]:
    """``register_keys("DE", keys)``: the key ceremony for one authority (see above)."""
    return register_authority_keys


@pytest.fixture
def authority_keys(db) -> Iterator[dict[str, AuthorityKeys]]:
    """Every Member State's authority registered with fresh keys; private halves kept here."""
    from quorum.signing.selectors import forget_intake_targets

    keys: dict[str, AuthorityKeys] = {}
    for code in scheme("eci").member_state_codes():
        pair = generate_authority_keys()
        register_authority_keys(code, pair)
        keys[code] = pair
    forget_intake_targets()
    yield keys
    forget_intake_targets()


@pytest.fixture
def data_dir(tmp_path: Path, settings) -> Path:
    settings.DATA_DIR = tmp_path
    return tmp_path


@pytest.fixture
def pow_payload(client):
    """A fresh solved proof of work for a scope, fetched from the real challenge endpoint."""

    def make(scope: str) -> str:
        response = client.get("/api/v1/pow/challenge", {"scope": scope})
        assert response.status_code == 200
        return solve_challenge(response.json())

    return make


@pytest.fixture(autouse=True)
def _intake_writer_released():
    """The writer thread holds its own connection; release it so test databases can be dropped."""
    yield
    from quorum.ledger.intake import stop_intake_writer

    stop_intake_writer()


@pytest.fixture(autouse=True)
def _fresh_abuse_stores():
    """Rate-limit and single-use stores start empty in every test."""
    from quorum.signing.ratelimit import reset_rate_store
    from quorum.signing.replay import reset_replay_store

    reset_rate_store()
    reset_replay_store()
    yield
    reset_rate_store()
    reset_replay_store()


@pytest.fixture(autouse=True)
def _updates_key_of_this_tests_data_directory():
    """The updates key is read once per process and kept; each test has its own data
    directory, so a key another test made elsewhere must not stand in for this one's."""
    from quorum.updates.keys import forget_key

    forget_key()
    yield
    forget_key()


@pytest.fixture
def polish_citizen() -> dict:
    return {
        "nationality": "PL",
        "first_names": "Zofia Maria",
        "family_names": "Kowalska-Nowak",
        "id_type": "pesel",
        "id_number": "44051401359",
    }


@pytest.fixture
def german_citizen() -> dict:
    return {
        "nationality": "DE",
        "first_names": "Anna",
        "family_names": "Schmidt",
        "date_of_birth": "1990-04-23",
        "residence": {
            "street": "Hauptstraße 1",
            "postal_code": "10115",
            "city": "Berlin",
            "country": "Deutschland",
        },
    }


# --- The fixed cast of users (moved from tests/core/accounts) -------------------------------
CAST_PASSWORD = "cast password, for tests only"


@functools.cache
def _cast_password_hash() -> str:
    # Hashed once per run with the real hasher (scrypt): creating the cast stays cheap.
    from django.contrib.auth.hashers import make_password

    return make_password(CAST_PASSWORD)


def make_staff(username: str, *, roles: tuple[str, ...] = (), enrolled: bool = True):
    """A user whose password is CAST_PASSWORD, with ``roles`` and (by default) a TOTP device."""
    from django.contrib.auth.models import Group, User
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = User.objects.create(
        username=username, email=f"{username}@example.eu", password=_cast_password_hash()
    )
    for role in roles:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    if enrolled:
        TOTPDevice.objects.create(user=user, name="default", confirmed=True)
    return user


def totp_code(user) -> str:
    """A code the user's device accepts now and has not accepted before (as their app would)."""
    from django_otp.oath import hotp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    assert device is not None, f"{user.username} has no TOTP device"
    now_t = (int(time.time()) - device.t0) // device.step + device.drift
    for t in (now_t, *range(now_t + 1, now_t + device.tolerance + 1)):
        if t > device.last_t:
            return f"{hotp(device.bin_key, t, digits=device.digits):0{device.digits}d}"
    raise AssertionError(
        "every code this device accepts now was used already: move the clock on "
        "(time_machine.shift(30)) before signing this user in again"
    )


def login_two_step(client: Client, user, *, password: str = CAST_PASSWORD) -> None:
    """Sign ``user`` in on ``client`` as a browser would: password, then a TOTP code."""
    response = client.post(
        reverse("accounts:login"), {"username": user.get_username(), "password": password}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == reverse("accounts:verify"), response["Location"]
    response = client.post(reverse("accounts:verify"), {"code": totp_code(user)})
    assert response.status_code == 302, response.content.decode()[:2000]


@pytest.fixture(autouse=True)
def _fresh_sign_in_throttle():
    """Every test starts with no sign-in counts, and chooses the throttle's store afresh.

    The database's counts go with each test's database; with REDIS_URL set, clearing the
    cache empties that Redis database, counts included.
    """
    from django.core.cache import cache

    from quorum.accounts.throttle import reset_throttle_store

    reset_throttle_store()
    cache.clear()
    yield
    reset_throttle_store()
    cache.clear()


@pytest.fixture
def login() -> Callable[..., None]:
    """``login(client, user)``: the real two-step sign-in with a valid TOTP code."""
    return login_two_step


@pytest.fixture
def code() -> Callable[..., str]:
    """``code(user)``: a TOTP code the user's device accepts now."""
    return totp_code


@pytest.fixture
def registrar(db):
    from quorum.accounts.roles import REGISTRAR

    return make_staff("registrar", roles=(REGISTRAR,))


@pytest.fixture
def operator(db):
    from quorum.accounts.roles import OPERATOR

    return make_staff("operator", roles=(OPERATOR,))


@pytest.fixture
def organiser_alice(db):
    return make_staff("organiser-alice")


@pytest.fixture
def organiser_bob(db):
    return make_staff("organiser-bob")


@pytest.fixture
def authority_staff_de(db):
    return make_staff("authority-de")


@pytest.fixture
def authority_staff_fr(db):
    return make_staff("authority-fr")


@pytest.fixture
def anonymous() -> Client:
    """A browser with no session."""
    return Client()


@pytest.fixture
def cast_password() -> str:
    return CAST_PASSWORD


@pytest.fixture
def make_user(db) -> Callable[..., object]:
    """``make_user("name", roles=(...), enrolled=False)``: one more staff user."""
    return make_staff


# --- a real SMTP server on the loopback -------------------------------------------------------


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Inbox:
    port: int
    messages: list[Message] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)

    async def handle_DATA(self, server: object, session: object, envelope) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.original_content, policy=default))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"

    def down(self):
        """Settings under which the mail server does not answer (nothing listens there)."""
        return override_settings(EMAIL_PORT=unused_port())

    def smtp_settings(self):
        return override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=self.port,
            EMAIL_USE_TLS=False,
            EMAIL_USE_SSL=False,
            EMAIL_TIMEOUT=5,
            QUORUM_EMAIL_SEND_ON_COMMIT=False,
        )


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    inbox = Inbox(port=unused_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        with inbox.smtp_settings():
            yield inbox
    finally:
        controller.stop()


def _write_leaves(
    initiative, rows: list[tuple[str, str]], received_at: datetime | None = None
) -> list[bytes]:
    """Ledger rows as the intake writes them, one per (Member State, partner code) in ``rows``
    (the ciphertext is opaque to the ledger); their leaf hashes, in order. Every row's digest
    differs from every earlier row's, however many calls and rows."""
    import hashlib

    from quorum.ledger.models import Statement
    from quorum.proofs.leaves import format_received_at, statement_leaf_hash

    moment = received_at or timezone.now().replace(microsecond=0)
    first = Statement.objects.count()
    statements = []
    for offset, (member_state, partner) in enumerate(rows):
        digest = hashlib.sha256(f"leaf {first + offset}".encode()).digest()
        statements.append(
            Statement(
                initiative=initiative,
                member_state=member_state,
                partner=partner,
                ciphertext=b"sealed",
                ciphertext_sha256=digest,
                leaf_hash=statement_leaf_hash(
                    initiative=initiative.slug,
                    member_state=member_state,
                    received_at=format_received_at(moment),
                    ciphertext_sha256=digest,
                    partner=partner,
                ),
                received_at=moment,
            )
        )
    Statement.objects.bulk_create(statements, batch_size=1000)
    return [bytes(statement.leaf_hash) for statement in statements]


@pytest.fixture
def write_leaves() -> Callable[..., list[bytes]]:
    return _write_leaves
