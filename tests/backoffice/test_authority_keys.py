"""Authority keys in the back office: the review's attack through every door, the ceremony on
the web, and the authority's own rotation."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from quorum.authorities.models import Authority, AuthorityKey, KeyLogLeaf
from quorum.authorities.services import authority_staff_add
from quorum.ledger.models import Statement
from quorum.proofs.crypto import decode_key, generate_authority_keys, open_sealed
from quorum.proofs.key_certificate import format_fingerprint, make_key_certificate

pytestmark = pytest.mark.django_db

OPERATOR_PAGE = "/manage/operator/authorities/"
OPERATOR_POST = "/manage/operator/authorities/keys/"
DESIGNATIONS = "/manage/designations/"
DESIGNATION_POST = "/manage/designations/record/"


def _upload(document: dict, name: str = "DE-key.json") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, json.dumps(document).encode(), "application/json")


def _current(code: str) -> AuthorityKey | None:
    return Authority.objects.select_related("current_key").get(member_state=code).current_key


@pytest.mark.django_db(transaction=True)
def test_the_reviews_attack_fails_through_the_web_and_the_command_line_and_statements_stay_sealed_to_the_authority(
    client,
    signed_in,
    operator,
    authority_keys,
    collecting_initiative,
    german_citizen,
    settings,
    tmp_path,
) -> None:
    settings.QUORUM_POW = False
    before = _current("DE")
    attacker = generate_authority_keys()
    forged = make_key_certificate(attacker, scheme="eci", member_state="DE", authority="Evil")

    # Through the operator's page: a certificate of the operator's own key is refused …
    browser = signed_in(operator)
    response = browser.post(OPERATOR_POST, {"certificate_file": _upload(forged.document)})
    assert response.status_code == 422
    assert "current key" in response.content.decode()
    # … and the old form that took two raw public keys is gone.
    public = attacker.public_part()
    response = browser.post(OPERATOR_POST, {"member_state": "DE", **public})
    assert response.status_code == 422
    # Through the command line: no command takes raw keys, and a forged certificate is refused.
    with pytest.raises(CommandError):
        call_command(
            "authorities",
            "set-keys",
            "DE",
            "--sealing-key",
            public["sealing_public_key"],
            "--signing-key",
            public["signing_public_key"],
        )
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(forged.document))
    with pytest.raises(CommandError, match="current key"):
        call_command("authorities", "import-key", str(path), stdout=StringIO())
    assert _current("DE") == before and KeyLogLeaf.objects.count() == 27

    # A German signs: the statement opens with the authority's key, never with the operator's.
    response = client.post(
        f"/api/v1/initiatives/{collecting_initiative.slug}/statements",
        data=json.dumps(german_citizen),
        content_type="application/json",
    )
    assert response.status_code == 201
    statement = Statement.objects.get(member_state="DE")
    assert statement.sealing_key_id == before.pk
    ciphertext = bytes(statement.ciphertext)
    plaintext = open_sealed(authority_keys["DE"].sealing_private_key, ciphertext)
    assert german_citizen["family_names"].encode() in plaintext
    with pytest.raises(Exception):  # noqa: B017 - any failure to open is the point
        open_sealed(attacker.sealing_private_key, ciphertext)


def test_the_registrar_records_a_designation_and_the_operator_hands_on_the_key(
    signed_in, registrar, operator
) -> None:
    keys = generate_authority_keys()
    certificate = make_key_certificate(
        keys, scheme="eci", member_state="SE", authority="Valmyndigheten"
    )
    registrar_browser = signed_in(registrar)
    assert registrar_browser.get(DESIGNATIONS).status_code == 200
    response = registrar_browser.post(
        DESIGNATION_POST,
        {
            "member_state": "SE",
            "name": "Valmyndigheten",
            # As a person copies it from a letter: groups, upper case.
            "fingerprint": format_fingerprint(certificate.fingerprint).upper(),
            "designation": "Notification 2026/12",
        },
    )
    assert response.status_code == 302
    assert Authority.objects.get(member_state="SE").expected_fingerprint == certificate.fingerprint

    operator_browser = signed_in(operator)
    response = operator_browser.post(
        OPERATOR_POST, {"certificate_text": json.dumps(certificate.document)}
    )
    assert response.status_code == 302
    key = _current("SE")
    assert key is not None and key.fingerprint == certificate.fingerprint
    page = operator_browser.get(OPERATOR_PAGE).content.decode()
    assert format_fingerprint(certificate.fingerprint) in page


def test_a_bad_fingerprint_is_refused_with_a_reason_and_nothing_is_recorded(
    signed_in, registrar
) -> None:
    browser = signed_in(registrar)
    response = browser.post(
        DESIGNATION_POST, {"member_state": "SE", "name": "X", "fingerprint": "not hex"}
    )
    assert response.status_code == 422
    assert "64 hexadecimal digits" in response.content.decode()
    assert not Authority.objects.exists()


@pytest.mark.parametrize("who", ["operator", "organiser_alice", "authority_staff_de"])
def test_nobody_but_the_registrar_records_designations(signed_in, request, who) -> None:
    browser = signed_in(request.getfixturevalue(who))
    assert browser.get(DESIGNATIONS).status_code == 403
    response = browser.post(
        DESIGNATION_POST, {"member_state": "SE", "name": "X", "fingerprint": "ab" * 32}
    )
    assert response.status_code == 403
    assert not Authority.objects.exists()


def test_the_registrar_cannot_hand_on_a_key_on_the_operators_page(signed_in, registrar) -> None:
    keys = generate_authority_keys()
    certificate = make_key_certificate(keys, scheme="eci", member_state="SE", authority="X")
    browser = signed_in(registrar)
    response = browser.post(OPERATOR_POST, {"certificate_file": _upload(certificate.document)})
    assert response.status_code == 403
    assert not AuthorityKey.objects.exists()


def test_the_authoritys_staff_rotate_its_key_from_their_page(
    signed_in, authority_keys, authority_staff_de
) -> None:
    new = generate_authority_keys()
    rotation = make_key_certificate(
        new, scheme="eci", member_state="DE", authority="Bundesamt", previous=authority_keys["DE"]
    )
    authority_staff_add(scheme_code="eci", member_state="DE", user=authority_staff_de)
    browser = signed_in(authority_staff_de)
    page = browser.get("/manage/authority/DE/").content.decode()
    assert format_fingerprint(_current("DE").fingerprint) in page
    response = browser.post(
        "/manage/authority/DE/keys/", {"key-certificate_file": _upload(rotation.document)}
    )
    assert response.status_code == 302
    key = _current("DE")
    assert key.sequence == 2
    assert decode_key(key.sealing_public_key) == new.sealing_public_key


def test_staff_cannot_hand_on_another_authoritys_key(
    signed_in, authority_keys, authority_staff_de
) -> None:
    rotation = make_key_certificate(
        generate_authority_keys(),
        scheme="eci",
        member_state="FR",
        authority="X",
        previous=authority_keys["FR"],
    )
    authority_staff_add(scheme_code="eci", member_state="DE", user=authority_staff_de)
    browser = signed_in(authority_staff_de)
    response = browser.post(
        "/manage/authority/DE/keys/", {"key-certificate_file": _upload(rotation.document)}
    )
    assert response.status_code == 422
    assert _current("FR").sequence == 1
    assert (
        browser.post(
            "/manage/authority/FR/keys/", {"key-certificate_file": _upload(rotation.document)}
        ).status_code
        == 404
    )
    assert _current("FR").sequence == 1


def test_a_file_that_is_not_a_key_certificate_is_refused_with_its_reason(
    signed_in, operator
) -> None:
    browser = signed_in(operator)
    for body in (b"\xff\xfe not json", b"{}", b"[]", b"x" * 20_000):
        upload = SimpleUploadedFile("k.json", body, "application/json")
        response = browser.post(OPERATOR_POST, {"certificate_file": upload})
        assert response.status_code == 422, body[:10]
        assert 'class="govuk-error-summary"' in response.content.decode()
    assert not AuthorityKey.objects.exists()
