"""Authority staff through the web: their batch, verified offline by the toolkit, and their
certificate; refusals say why (422) and store nothing."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from quorum.core.log_key import log_origin
from quorum.core.models import AuditEntry
from quorum.initiatives.models import Initiative
from quorum.initiatives.services import initiatives_advance_by_date
from quorum.ledger.sequencer import sequence_all
from quorum.proofs.count_certificate import sign_certificate
from quorum.proofs.crypto import AuthorityKeys, encode_key
from quorum.toolkit.verify import CERTIFIED, VerifyOptions, verify_batch
from quorum.verification.models import Certificate, VerificationRound
from quorum.verification.services import verification_request

from .conftest import OURS, make_initiative, registered_fields

Status = Initiative.Status


def upload(client: Client, member_state: str, content: bytes, name: str = "certificate.json"):
    return client.post(
        f"/manage/authority/{member_state}/certificate/",
        {"certificate": SimpleUploadedFile(name, content, content_type="application/json")},
    )


def as_file(document: object) -> bytes:
    return json.dumps(document).encode()


def read_batch(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.endswith("\n")
    return [json.loads(line) for line in body.splitlines()]


# --- the whole way, with real statements and the real toolkit -------------------------------


@pytest.fixture
def collecting(organiser_alice, today, data_dir) -> Initiative:
    return make_initiative(
        OURS, organiser=organiser_alice, status=Status.COLLECTING, **registered_fields(today)
    )


def sign(body: dict) -> None:
    response = Client().post(
        f"/api/v1/initiatives/{OURS}/statements",
        data=json.dumps(body),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content


@pytest.mark.django_db(transaction=True)
def test_german_staff_download_their_batch_verify_it_offline_and_upload_the_certificate(
    collecting,
    authority_keys: dict[str, AuthorityKeys],
    staff_places,
    authority_staff_de,
    authority_staff_fr,
    signed_in,
    settings,
    german_citizen,
    polish_citizen,
    tmp_path: Path,
    today,
) -> None:
    settings.QUORUM_POW = False
    settings.QUORUM_RATE_BURST = 1000
    sign(german_citizen)
    sign(german_citizen)  # the same person twice: the authority counts one
    sign(polish_citizen)
    sequence_all()
    Initiative.objects.filter(pk=collecting.pk).update(collection_end=today - timedelta(days=1))
    initiatives_advance_by_date(today=today)
    collecting.refresh_from_db()
    verification_request(initiative=collecting)

    de = signed_in(authority_staff_de)
    home = de.get("/manage/authority/DE/")
    assert home.status_code == 200
    row = home.content.decode().split("Clean air for everyone", 1)[1].split("</tr>", 1)[0]
    assert (
        'quorum-number" data-label="Statements of nationals of Germany">2</td>' in row
    )  # two statements of German nationals

    response = de.get(f"/manage/authority/DE/{OURS}/batch/")
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{OURS}-DE.batch"'
    assert response["Cache-Control"] == "no-store"
    lines = read_batch(response)
    header, entries = lines[0], lines[1:]
    assert header["format"] == "quorum-batch-v3"
    assert header["member_state"] == "DE"
    assert header["tree_size"] == len(entries) == 3
    # Every leaf is there; only the German ones carry a ciphertext.
    assert sorted(e["ms"] for e in entries) == ["DE", "DE", "PL"]
    assert all(("c" in e) == (e["ms"] == "DE") for e in entries)
    exported = AuditEntry.objects.get(action="quorum.verification.batch_exported")
    assert exported.actor == authority_staff_de
    assert exported.data == {"member_state": "DE", "entries": 3}

    # France can neither download Germany's batch nor upload its certificate.
    fr = signed_in(authority_staff_fr)
    assert fr.get(f"/manage/authority/DE/{OURS}/batch/").status_code == 404

    # Offline, with the authority's private keys: the toolkit checks, decrypts, counts, signs.
    batch = tmp_path / f"{OURS}-DE.batch"
    batch.write_bytes(b"".join(de.get(f"/manage/authority/DE/{OURS}/batch/").streaming_content))
    outcome = verify_batch(batch, authority_keys["DE"], VerifyOptions(on=today, jobs=1))
    assert outcome.verdict == CERTIFIED, outcome.report
    document = outcome.certificate
    assert document["certificate"]["valid_statements"] == 1

    assert upload(fr, "DE", as_file(document)).status_code == 404
    refused = upload(fr, "FR", as_file(document))
    assert refused.status_code == 422
    assert "another Member State than your authority" in refused.content.decode()

    tampered = json.loads(json.dumps(document))
    tampered["certificate"]["valid_statements"] = 2
    refused = upload(de, "DE", as_file(tampered))
    assert refused.status_code == 422
    assert "not signed by the registered key" in refused.content.decode()
    assert not Certificate.objects.exists()

    response = upload(de, "DE", as_file(document))
    assert response.status_code == 302
    assert response["Location"] == "/manage/authority/DE/"
    certificate = Certificate.objects.get()
    assert (certificate.member_state, certificate.valid_statements) == ("DE", 1)
    accepted = AuditEntry.objects.get(action="quorum.verification.certificate_accepted")
    assert accepted.actor == authority_staff_de
    page = de.get("/manage/authority/DE/").content.decode()
    assert "The certificate is accepted: 1 valid statements." in page


# --- refusals, on the fixed world (a verification round with fake ciphertexts) -------------


def certificate_for(initiative: Initiative, code: str, keys: AuthorityKeys, valid: int = 1) -> dict:
    round_ = VerificationRound.objects.get(initiative=initiative)
    body = {
        "format": "quorum-certificate-v1",
        "scheme": "eci",
        "initiative": {
            "slug": initiative.slug,
            "registration_number": initiative.registration_number,
        },
        "member_state": code,
        "authority_signing_key": encode_key(keys.signing_public_key),
        "checkpoint": {
            "origin": log_origin(initiative.slug),
            "size": round_.checkpoint_size,
            "root": base64.b64encode(bytes(round_.checkpoint_root)).decode(),
        },
        "statements_in_batch": round_.statements[code],
        "valid_statements": valid,
        "valid_online": valid,
        "valid_paper": 0,
        "method": "full",
        "sample_size": None,
        "date": "2026-01-15",
    }
    return sign_certificate(body, keys.signing_seed)


@pytest.fixture
def de(world, signed_in, authority_staff_de) -> Client:
    return signed_in(authority_staff_de)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\xff\xfe not text", "it is not valid JSON"),
        (b'{"certificate": ', "it is not valid JSON"),
        (b"[" * 30_000 + b"]" * 30_000, "it is not valid JSON"),
        (b" " * (64 * 1024 + 1), "too large to be a certificate"),
        (b"[1, 2, 3]", "This is not a Quorum certificate."),
        (
            b'{"certificate": {"initiative": {"slug": "clean-air"}, "member_state": "DE", "scheme": "eci"}}',
            "not signed by the registered key",
        ),
    ],
    ids=["not-utf8", "truncated", "deeply-nested", "too-large", "a-list", "unsigned"],
)
def test_a_file_that_is_not_a_good_certificate_is_refused_with_its_reason(
    de, content: bytes, reason: str
) -> None:
    response = upload(de, "DE", content)
    assert response.status_code == 422
    page = response.content.decode()
    assert 'class="govuk-error-summary"' in page and '<a href="#id_certificate">' in page
    assert reason in page
    assert not Certificate.objects.exists()


@pytest.mark.django_db
def test_a_file_far_larger_than_a_certificate_is_refused_before_it_is_read(de) -> None:
    response = upload(de, "DE", b" " * (1024 * 1024 + 1))
    assert response.status_code == 413
    assert not Certificate.objects.exists()


@pytest.mark.django_db
def test_an_upload_without_a_file_is_refused(de) -> None:
    response = de.post("/manage/authority/DE/certificate/", {})
    assert response.status_code == 422
    assert not Certificate.objects.exists()


@pytest.mark.django_db
def test_a_certificate_for_another_state_is_refused_even_when_validly_signed(
    de, ours, authority_keys
) -> None:
    response = upload(de, "DE", as_file(certificate_for(ours, "FR", authority_keys["FR"])))
    assert response.status_code == 422
    assert "another Member State than your authority" in response.content.decode()
    assert not Certificate.objects.exists()


@pytest.mark.django_db
def test_a_good_certificate_is_accepted_once(de, ours, authority_keys) -> None:
    document = as_file(certificate_for(ours, "DE", authority_keys["DE"], valid=2))
    assert upload(de, "DE", document).status_code == 302
    again = upload(de, "DE", document)
    assert again.status_code == 422
    assert "already accepted" in again.content.decode()
    assert Certificate.objects.get().valid_statements == 2


@pytest.mark.django_db
def test_the_home_page_lists_only_initiatives_under_verification_with_the_states_count(
    de, ours, today
) -> None:
    make_initiative(
        "still-collecting",
        title="Still collecting",
        status=Status.COLLECTING,
        **registered_fields(today, number=8),
    )
    page = de.get("/manage/authority/DE/").content.decode()
    assert "Clean air for everyone" in page
    assert "Still collecting" not in page
    row = page.split("Clean air for everyone", 1)[1].split("</tr>", 1)[0]
    assert (
        'quorum-number" data-label="Statements of nationals of Germany">2</td>' in row
        and "not yet" in row
    )
    assert f'href="/manage/authority/DE/{OURS}/batch/"' in row
