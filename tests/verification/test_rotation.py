"""A key rotation in the middle of a collection: each statement stays sealed to the key valid
when it arrived, the batch says which, and the authority opens all of them with its key files."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import pytest

from quorum.authorities.services import authority_key_register
from quorum.initiatives.models import Initiative
from quorum.initiatives.services import initiatives_advance_by_date
from quorum.ledger.models import Statement
from quorum.ledger.sequencer import sequence_all
from quorum.proofs.batch import read_batch
from quorum.proofs.crypto import generate_authority_keys
from quorum.proofs.key_certificate import make_key_certificate
from quorum.signing.selectors import forget_intake_targets
from quorum.toolkit.verify import CERTIFIED, REJECTED, VerifyOptions, verify_batch
from quorum.verification.services import batch_export, verification_request

pytestmark = pytest.mark.django_db(transaction=True)


def _sign(client, body: dict) -> None:
    response = client.post(
        "/api/v1/initiatives/clean-air/statements",
        data=json.dumps(body),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content


def test_statements_before_and_after_a_rotation_open_with_the_old_and_the_new_key(
    client, collecting_initiative, authority_keys, polish_citizen, settings, today, tmp_path
) -> None:
    settings.QUORUM_POW = False
    settings.QUORUM_RATE_BURST = 1000
    old = authority_keys["PL"]
    _sign(client, polish_citizen)
    new = generate_authority_keys()
    rotation = make_key_certificate(
        new, scheme="eci", member_state="PL", authority="Ministerstwo", previous=old
    )
    authority_key_register(certificate=rotation.document, actor_label="test")
    forget_intake_targets()
    _sign(
        client,
        {
            **polish_citizen,
            "first_names": "Jan",
            "family_names": "Nowak",
            "id_number": "02070803628",
        },
    )
    assert sorted(Statement.objects.values_list("sealing_key__sequence", flat=True)) == [1, 2]
    sequence_all()

    Initiative.objects.filter(pk=collecting_initiative.pk).update(
        collection_end=today - timedelta(days=1)
    )
    initiatives_advance_by_date(today=today)
    collecting_initiative.refresh_from_db()
    verification_request(initiative=collecting_initiative, actor_label="test")
    out = io.StringIO()
    batch_export(initiative=collecting_initiative, member_state="PL", out=out)
    path = tmp_path / "pl.batch"
    path.write_text(out.getvalue(), encoding="utf-8")
    header, entries = read_batch(io.StringIO(out.getvalue()))
    assert set(header.sealing_keys) == {1, 2}
    assert [entry.key for entry in entries] == [1, 2]

    options = VerifyOptions(on=date.today(), old_keys=(old,))
    outcome = verify_batch(path, new, options)
    assert outcome.verdict == CERTIFIED, outcome.report["reason"]
    assert outcome.report["valid_statements"] == 2
    # Without the old key file the toolkit says what is missing instead of guessing.
    refused = verify_batch(path, new, VerifyOptions(on=date.today()))
    assert refused.verdict == REJECTED
    assert "--old-key" in refused.report["reason"]
