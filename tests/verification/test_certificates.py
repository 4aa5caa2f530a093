"""Certificates: accepted only from the right key, for the right checkpoint, with a count no
larger than the batch; success judged on certified counts."""

from __future__ import annotations

import base64
from datetime import date

import pytest

from quorum.core.errors import DomainError
from quorum.core.log_key import log_origin
from quorum.initiatives.models import Initiative
from quorum.proofs import merkle
from quorum.proofs.count_certificate import sign_certificate
from quorum.proofs.crypto import AuthorityKeys, encode_key
from quorum.rules import scheme
from quorum.verification.models import Certificate, VerificationRound
from quorum.verification.services import certificate_import

pytestmark = pytest.mark.django_db

ROOT = merkle.root_from_leaves([merkle.leaf_hash(b"x")])


@pytest.fixture
def under_verification(collecting_initiative) -> Initiative:
    """An initiative under verification whose log closed with generous counts everywhere."""
    thresholds = (
        scheme("eci").threshold_table(registered=collecting_initiative.registration_date).thresholds
    )
    statements = {code: threshold + 1000 for code, threshold in thresholds.items()}
    statements["DE"] = 700_000
    VerificationRound.objects.create(
        initiative=collecting_initiative,
        checkpoint_size=sum(statements.values()),
        checkpoint_root=ROOT,
        checkpoint_note=f"{log_origin('clean-air')}\n{sum(statements.values())}\n{base64.b64encode(ROOT).decode()}\n\n— x y\n",
        statements=statements,
    )
    Initiative.objects.filter(pk=collecting_initiative.pk).update(
        status=Initiative.Status.VERIFICATION
    )
    collecting_initiative.refresh_from_db()
    return collecting_initiative


@pytest.fixture
def keys(authority_keys: dict[str, AuthorityKeys]) -> dict[str, AuthorityKeys]:
    return authority_keys


def certificate(
    initiative: Initiative, code: str, valid: int, signer: AuthorityKeys, **changes
) -> dict:
    round_ = VerificationRound.objects.get(initiative=initiative)
    body = {
        "format": "quorum-certificate-v1",
        "scheme": "eci",
        "initiative": {
            "slug": initiative.slug,
            "registration_number": initiative.registration_number,
        },
        "member_state": code,
        "authority_signing_key": encode_key(signer.signing_public_key),
        "checkpoint": {
            "origin": log_origin(initiative.slug),
            "size": round_.checkpoint_size,
            "root": base64.b64encode(ROOT).decode(),
        },
        "statements_in_batch": round_.statements[code],
        "valid_statements": valid,
        "valid_online": valid,
        "valid_paper": 0,
        "method": "full",
        "sample_size": None,
        "date": date.today().isoformat(),
    }
    body.update(changes)
    return sign_certificate(body, signer.signing_seed)


def test_a_certificate_signed_by_the_states_registered_key_is_accepted(
    under_verification, keys
) -> None:
    certificate_import(document=certificate(under_verification, "PL", 39_000, keys["PL"]))
    assert Certificate.objects.get().valid_statements == 39_000


def test_the_organisers_are_told_of_an_accepted_certificate_and_of_no_refused_one(
    under_verification, keys
) -> None:
    from django.core import mail
    from django.utils import timezone

    from quorum.core.mail import mail_send_due
    from quorum.initiatives.models import OrganiserMember

    OrganiserMember.objects.create(
        initiative=under_verification,
        full_name="Ana",
        email="ana@example.eu",
        nationality="PT",
        residence="PT",
        confirmed_at=timezone.now(),
    )
    with pytest.raises(DomainError):
        certificate_import(document=certificate(under_verification, "PL", 39_000, keys["DE"]))
    certificate_import(document=certificate(under_verification, "PL", 39_000, keys["PL"]))
    mail_send_due()

    (message,) = mail.outbox
    assert message.to == ["ana@example.eu"]
    assert "Poland has certified 39,000 valid statements" in message.body


def test_a_certificate_signed_by_another_states_key_is_refused(under_verification, keys) -> None:
    with pytest.raises(DomainError, match="not signed by the registered key"):
        certificate_import(document=certificate(under_verification, "PL", 39_000, keys["DE"]))
    assert not Certificate.objects.exists()


def test_a_certificate_for_another_checkpoint_is_refused(under_verification, keys) -> None:
    other = {
        "origin": log_origin("clean-air"),
        "size": 5,
        "root": base64.b64encode(bytes(32)).decode(),
    }
    with pytest.raises(DomainError, match="another checkpoint"):
        certificate_import(
            document=certificate(under_verification, "PL", 39_000, keys["PL"], checkpoint=other)
        )


def test_a_count_larger_than_the_batch_is_refused(under_verification, keys) -> None:
    in_batch = VerificationRound.objects.get().statements["PL"]
    with pytest.raises(DomainError, match="larger than the batch"):
        certificate_import(document=certificate(under_verification, "PL", in_batch + 1, keys["PL"]))


def test_a_tampered_count_breaks_the_signature(under_verification, keys) -> None:
    document = certificate(under_verification, "PL", 100, keys["PL"])
    # Still within the batch: only the signature tells.
    document["certificate"]["valid_statements"] = 30_000
    with pytest.raises(DomainError, match="not signed"):
        certificate_import(document=document)
    assert not Certificate.objects.exists()


def test_a_count_tampered_beyond_the_batch_is_refused_as_larger_than_the_batch(
    under_verification, keys
) -> None:
    document = certificate(under_verification, "PL", 100, keys["PL"])
    in_batch = document["certificate"]["statements_in_batch"]
    document["certificate"]["valid_statements"] = in_batch + 1
    with pytest.raises(DomainError, match="larger than the batch"):
        certificate_import(document=document)
    assert not Certificate.objects.exists()


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"format": "quorum-certificate-v2"}, "This is not a Quorum certificate."),
        ({"valid_statements": True}, "larger than the batch"),
        ({"valid_statements": -1}, "larger than the batch"),
        ({"statements_in_batch": "all"}, "larger than the batch"),
        ({"method": "guess"}, "This is not a Quorum certificate."),
        ({"date": "2026-02-30"}, "has no valid date"),
        ({"date": None}, "has no valid date"),
        ({"initiative": {"slug": "no such", "registration_number": "x"}}, "no known initiative"),
        ({"initiative": {"slug": "unknown", "registration_number": "x"}}, "no known initiative"),
        ({"checkpoint": {"origin": "o", "size": 1, "root": "AA=="}}, "another checkpoint"),
        ({"member_state": "pl"}, "This is not a Quorum certificate."),
    ],
)
def test_a_signed_but_malformed_certificate_is_refused_with_the_reason_for_its_field(
    under_verification, keys, changes, reason
) -> None:
    body = {**certificate(under_verification, "PL", 39_000, keys["PL"])["certificate"], **changes}
    document = sign_certificate(body, keys["PL"].signing_seed)
    with pytest.raises(DomainError, match=reason):
        certificate_import(document=document)
    assert not Certificate.objects.exists()


def test_a_certificate_without_a_signature_is_not_signed(under_verification, keys) -> None:
    document = certificate(under_verification, "PL", 39_000, keys["PL"])
    del document["signature"]
    with pytest.raises(DomainError, match="not signed"):
        certificate_import(document=document)


def test_the_stored_document_is_the_certificate_as_signed(under_verification, keys) -> None:
    document = certificate(under_verification, "PL", 39_000, keys["PL"])
    stored = certificate_import(document=document)
    stored.refresh_from_db()
    assert stored.document == document
    assert (stored.method, stored.certified_on) == ("full", date.today())
    assert stored.statements_in_batch == document["certificate"]["statements_in_batch"]


@pytest.mark.parametrize(
    "document", [None, [], {}, {"certificate": "x"}, {"certificate": {"initiative": 5}}]
)
def test_garbage_is_refused_with_a_reason(under_verification, document) -> None:
    with pytest.raises(DomainError):
        certificate_import(document=document)


def test_a_second_certificate_for_the_same_state_is_refused(under_verification, keys) -> None:
    certificate_import(document=certificate(under_verification, "PL", 39_000, keys["PL"]))
    with pytest.raises(DomainError, match="already accepted"):
        certificate_import(document=certificate(under_verification, "PL", 39_100, keys["PL"]))


def test_success_is_decided_on_certified_counts_at_the_thresholds_edges(
    under_verification, keys, client
) -> None:
    thresholds = (
        scheme("eci").threshold_table(registered=under_verification.registration_date).thresholds
    )
    # Six states exactly at their threshold and Germany with 700,000: 7 states, but under a million.
    for code in ["PL", "FR", "IT", "ES", "NL", "BE"]:
        certificate_import(
            document=certificate(under_verification, code, thresholds[code], keys[code])
        )
    certificate_import(document=certificate(under_verification, "DE", 700_000, keys["DE"]))
    body = client.get("/api/v1/initiatives/clean-air/certified").json()
    assert body["states_reached"] == 7
    assert body["total"] < 1_000_000
    assert body["verdict"] == "pending"
    # Enough from other states to pass one million: now successful, and the submission opens.
    for code in [
        "AT",
        "SE",
        "CZ",
        "PT",
        "HU",
        "RO",
        "EL",
        "BG",
        "DK",
        "FI",
        "SK",
        "IE",
        "HR",
        "LT",
        "SI",
        "LV",
        "EE",
    ]:
        certificate_import(
            document=certificate(under_verification, code, thresholds[code] - 1, keys[code])
        )
        under_verification.refresh_from_db()
        if under_verification.status == Initiative.Status.VERIFIED:
            break
    body = client.get("/api/v1/initiatives/clean-air/certified").json()
    assert body["total"] >= 1_000_000 and body["states_reached"] == 7
    assert body["verdict"] == "successful"
    assert under_verification.status == Initiative.Status.VERIFIED


def test_the_submission_data_carries_the_certified_counts_contacts_and_funding(
    under_verification, keys
) -> None:
    from decimal import Decimal

    from quorum.initiatives.services import sponsor_add
    from quorum.verification.selectors import submission_data

    sponsor_add(
        initiative=under_verification,
        name="Clean Air Fund",
        amount_eur=Decimal("750"),
        received_on=date(2025, 3, 1),
    )
    certificate_import(document=certificate(under_verification, "PL", 39_000, keys["PL"]))
    data = submission_data(under_verification)
    assert data["registration_number"] == "ECI(2025)000007"
    assert data["certified_by_member_state"] == {"PL": 39_000}
    assert data["valid_statements"] == 39_000
    assert data["support_and_funding"] == [
        {"name": "Clean Air Fund", "amount_eur": "750.00", "date": "2025-03-01"}
    ]
    assert data["funding_total_eur"] == "750.00"
    assert data["certificates"][0]["member_state"] == "PL"
