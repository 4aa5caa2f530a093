"""From draft to the Commission's answer, through the web interface.

Only three things happen outside the back office, as they would in life: time passes (the
periodic command opens and closes collection), citizens sign (the public API), and each
authority verifies offline. The certified counts that make the initiative succeed are
synthetic — a test cannot collect a million statements — but they reach the platform the
real way: signed certificates uploaded by each authority's staff.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from quorum.authorities.services import authority_staff_add
from quorum.core.log_key import log_origin
from quorum.initiatives.models import Initiative
from quorum.proofs.count_certificate import sign_certificate
from quorum.proofs.crypto import encode_key, generate_authority_keys
from quorum.rules import add_working_days, scheme
from quorum.signing.selectors import forget_intake_targets
from quorum.verification.models import VerificationRound

pytestmark = pytest.mark.django_db(transaction=True)

Status = Initiative.Status
LINK = re.compile(r"http://testserver(/manage/join/[-\w]+/)")
GROUP = ["FR", "PL", "IT", "ES", "NL", "BE"]


def at(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(10, 0)))


def test_an_initiative_goes_from_draft_to_answered_through_the_web(
    organiser_alice,
    registrar,
    make_user,
    signed_in,
    login,
    settings,
    today,
    polish_citizen,
    data_dir,
    register_keys,
) -> None:
    settings.QUORUM_POW = False
    keys = {code: generate_authority_keys() for code in scheme("eci").member_state_codes()}
    staff = {}
    for code, pair in keys.items():
        register_keys(code, pair)
        staff[code] = make_user(f"staff-{code.lower()}")
        authority_staff_add(scheme_code="eci", member_state=code, user=staff[code])
    forget_intake_targets()

    # The organisers draft, gather the group and ask for registration.
    alice = signed_in(organiser_alice)
    alice.post(
        "/manage/initiatives/new/",
        {
            "slug": "open-data",
            "language": "en",
            "title": "Open data for all",
            "objectives": "Public data should be open.",
            "full_name": "Alice Example",
            "nationality": "DE",
            "residence": "DE",
            "declares_voting_age": "on",
        },
    )
    for n, code in enumerate(GROUP):
        role = "substitute" if n == 0 else "member"
        page = alice.post(
            "/manage/initiatives/open-data/invite/",
            {
                "full_name": f"Member {n}",
                "email": f"m{n}@example.eu",
                "nationality": code,
                "residence": code,
                "role": role,
            },
        ).content.decode()
        signed_in(make_user(f"member-{n}")).post(LINK.findall(page)[0])
    assert alice.post("/manage/initiatives/open-data/request-registration/").status_code == 302

    # The registrar registers; the organisers announce the start.
    assert (
        signed_in(registrar)
        .post("/manage/registrar/open-data/decide/", {"decision": "registered"})
        .status_code
        == 302
    )
    start = add_working_days(today, 10)
    assert (
        alice.post("/manage/initiatives/open-data/start/", {"date": start.isoformat()}).status_code
        == 302
    )

    # Collection opens by itself; citizens sign; it closes by itself.
    with time_machine.travel(at(start), tick=True):
        call_command("periodic", verbosity=0)
        forget_intake_targets()
        client = signed_in(organiser_alice)
        for _ in range(3):
            response = client.post(
                "/api/v1/initiatives/open-data/statements",
                data=json.dumps(polish_citizen),
                content_type="application/json",
            )
            assert response.status_code == 201
    initiative = Initiative.objects.get(slug="open-data")
    assert initiative.status == Status.COLLECTING
    after = initiative.collection_end + timedelta(days=1)
    with time_machine.travel(at(after), tick=True):
        call_command("periodic", verbosity=0)
        alice = signed_in(organiser_alice)
        # The organisers ask for verification: the log is closed at its last checkpoint.
        assert alice.post("/manage/initiatives/open-data/request-verification/").status_code == 302
        initiative.refresh_from_db()
        assert initiative.status == Status.VERIFICATION

        # The Polish authority downloads its batch.
        polish = signed_in(staff["PL"])
        download = polish.get("/manage/authority/PL/open-data/batch/")
        # Reading the whole stream closes the response and its file, as a WSGI server would.
        batch = b"".join(download.streaming_content)
        header = json.loads(batch.split(b"\n", 1)[0])
        assert header["member_state"] == "PL" and header["tree_size"] == 3

        # Every authority certifies (synthetic counts large enough to succeed) and uploads.
        round_ = VerificationRound.objects.get(initiative=initiative)
        thresholds = (
            scheme("eci").threshold_table(registered=initiative.registration_date).thresholds
        )
        counts = {code: thresholds[code] for code in ("FR", "IT", "ES", "NL", "BE", "AT")}
        counts["DE"] = 1_000_000
        round_.statements = counts
        round_.save()
        for code, valid in counts.items():
            certificate = sign_certificate(
                {
                    "format": "quorum-certificate-v1",
                    "scheme": "eci",
                    "initiative": {
                        "slug": "open-data",
                        "registration_number": initiative.registration_number,
                    },
                    "member_state": code,
                    "authority_signing_key": encode_key(keys[code].signing_public_key),
                    "checkpoint": {
                        "origin": log_origin("open-data"),
                        "size": round_.checkpoint_size,
                        "root": base64.b64encode(bytes(round_.checkpoint_root)).decode(),
                    },
                    "statements_in_batch": valid,
                    "valid_statements": valid,
                    "valid_online": valid,
                    "valid_paper": 0,
                    "method": "full",
                    "sample_size": None,
                    "date": after.isoformat(),
                },
                keys[code].signing_seed,
            )
            upload = SimpleUploadedFile(
                "certificate.json", json.dumps(certificate).encode(), "application/json"
            )
            response = signed_in(staff[code]).post(
                f"/manage/authority/{code}/certificate/", {"certificate": upload}
            )
            assert response.status_code in (200, 302), response.content.decode()[:500]
        initiative.refresh_from_db()
        assert initiative.status == Status.VERIFIED

        # The organisers submit; the registrar records the meeting, the hearing and the answer.
        dashboard = alice.get("/manage/initiatives/open-data/").content.decode()
        assert "Submission to the Commission (Annex VII)" in dashboard
        refused = alice.post("/manage/initiatives/open-data/submit/")
        assert refused.status_code == 422  # the declaration is not ticked
        initiative.refresh_from_db()
        assert initiative.status == Status.VERIFIED
        assert (
            alice.post("/manage/initiatives/open-data/submit/", {"declaration": "yes"}).status_code
            == 302
        )
        registrar_client = signed_in(registrar)
        for step, url in (
            ("meeting", ""),
            ("hearing", "https://europarl.europa.eu/h"),
            ("communication", "https://ec.europa.eu/c"),
        ):
            response = registrar_client.post(
                "/manage/registrar/open-data/follow-up/",
                {"step": step, "on": after.isoformat(), "url": url},
            )
            assert response.status_code == 302, response.content.decode()[:500]
    initiative.refresh_from_db()
    assert initiative.status == Status.ANSWERED
    from django.test import Client

    public = Client().get("/i/open-data/").content.decode()
    assert "The Commission answered" in public
