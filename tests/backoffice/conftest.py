"""The back office's world: the fixed cast (tests/conftest.py) given their places.

- Alice organises ``clean-air``, which is under verification (a verification round fixed at
  close: 2 German statements, 1 French, 1 Polish).
- Bob organises ``quiet-water``, a draft nobody else may know about.
- The registrar and the operator hold their platform roles.
- authority-de and authority-fr are staff of the German and French authorities.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from quorum.authorities.models import Authority
from quorum.authorities.services import authority_staff_add
from quorum.core.log_key import log_origin
from quorum.initiatives.models import Initiative, OrganiserMember
from quorum.initiatives.services import initiative_create, organiser_confirm, organiser_invite
from quorum.ledger.models import Statement
from quorum.proofs import merkle
from quorum.rules import scheme
from quorum.verification.models import VerificationRound

OURS = "clean-air"
THEIRS = "quiet-water"
MISSING = "no-such-initiative"
ROUND_STATEMENTS = {"DE": 2, "FR": 1, "PL": 1}

RESIDENCES = ["DE", "FR", "PL", "IT", "ES", "NL", "BE", "AT"]


def add_organiser(
    initiative: Initiative,
    user,
    *,
    residence: str = "DE",
    role: str = OrganiserMember.Role.REPRESENTATIVE,
) -> OrganiserMember:
    """Invite and confirm ``user`` (the initiative must still be a draft)."""
    invitation = organiser_invite(
        initiative=initiative,
        full_name=f"{user.username.title()} Example",
        email=user.email,
        nationality=residence,
        residence=residence,
        role=role,
    )
    return organiser_confirm(token=invitation.token, user=user)


def make_initiative(
    slug: str,
    *,
    organiser=None,
    status: str = Initiative.Status.DRAFT,
    title: str = "Clean air for everyone",
    **fields,
) -> Initiative:
    """A draft (with ``organiser`` confirmed), then moved to ``status`` with ``fields``."""
    initiative = initiative_create(
        slug=slug,
        title={"en": title},
        objectives={"en": f"We ask for {title.lower()}."},
        annex={"en": "Details in the annex."},
        treaty_basis="Article 192 TFEU",
        language="en",
    )
    if organiser is not None:
        add_organiser(initiative, organiser)
    if status != Initiative.Status.DRAFT or fields:
        Initiative.objects.filter(pk=initiative.pk).update(status=status, **fields)
        initiative.refresh_from_db()
    return initiative


def registered_fields(today: date, *, number: int = 7) -> dict:
    start = today - timedelta(days=200)
    return {
        "registration_number": f"ECI(2025)00000{number}",
        "registration_date": start - timedelta(days=30),
        "registration_requested_on": start - timedelta(days=60),
        "collection_start": start,
        "collection_end": scheme("eci").collection_end(start),
    }


def fake_round(initiative: Initiative, statements: dict[str, int] = ROUND_STATEMENTS) -> None:
    """As if collection had closed with ``statements`` in the log (fake ciphertexts)."""
    received = timezone.now().replace(microsecond=0)
    leaves = []
    keys = dict(
        Authority.objects.filter(scheme=initiative.scheme).values_list(
            "member_state", "current_key_id"
        )
    )
    for code, count in statements.items():
        for n in range(count):
            ciphertext = f"sealed to {code} #{n}".encode()
            leaf = merkle.leaf_hash(ciphertext)
            Statement.objects.create(
                initiative=initiative,
                member_state=code,
                ciphertext=ciphertext,
                ciphertext_sha256=hashlib.sha256(ciphertext).digest(),
                leaf_hash=leaf,
                received_at=received,
                leaf_index=len(leaves),
                sealing_key_id=keys.get(code),
            )
            leaves.append(leaf)
    root = merkle.root_from_leaves(leaves)
    size = len(leaves)
    note = f"{log_origin(initiative.slug)}\n{size}\n{base64.b64encode(root).decode()}\n\n— x y\n"
    VerificationRound.objects.create(
        initiative=initiative,
        checkpoint_size=size,
        checkpoint_root=root,
        checkpoint_note=note,
        statements=statements,
    )


@pytest.fixture
def staff_places(authority_keys, authority_staff_de, authority_staff_fr) -> None:
    authority_staff_add(scheme_code="eci", member_state="DE", user=authority_staff_de)
    authority_staff_add(scheme_code="eci", member_state="FR", user=authority_staff_fr)


@pytest.fixture
def ours(organiser_alice, today, data_dir, authority_keys) -> Initiative:
    initiative = make_initiative(
        OURS,
        organiser=organiser_alice,
        status=Initiative.Status.VERIFICATION,
        verification_requested_on=today,
        **registered_fields(today),
    )
    fake_round(initiative)
    return initiative


@pytest.fixture
def theirs(organiser_bob) -> Initiative:
    return make_initiative(THEIRS, organiser=organiser_bob, title="Quiet water")


@pytest.fixture
def world(ours, theirs, staff_places, registrar, operator) -> None:
    """Everyone in place (see the module docstring)."""


@pytest.fixture
def signed_in(login) -> Callable[..., Client]:
    """``signed_in(user)``: a fresh browser signed in as ``user`` with both factors."""

    def make(user) -> Client:
        client = Client()
        login(client, user)
        return client

    return make
