"""A title stored before control characters were refused still makes a batch the toolkit reads."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from quorum.initiatives.models import Initiative
from quorum.initiatives.services import initiatives_advance_by_date
from quorum.ledger.sequencer import sequence_all
from quorum.proofs.batch import read_batch
from quorum.toolkit.verify import CERTIFIED, VerifyOptions, verify_batch
from quorum.verification.services import verification_request

pytestmark = pytest.mark.django_db(transaction=True)

#: ESC [2J clears an authority's terminal (so may CSI, U+009B); U+202E reverses what follows.
STORED_TITLE = "Clean\x1b[2J air\u202e for\nall\x9b"


@pytest.fixture
def under_verification(
    client, collecting_initiative, authority_keys, settings, polish_citizen, today
) -> Initiative:
    """The initiative with one Polish statement, closed and under verification."""
    settings.QUORUM_POW = False
    response = client.post(
        "/api/v1/initiatives/clean-air/statements",
        data=json.dumps(polish_citizen),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    sequence_all()
    Initiative.objects.filter(pk=collecting_initiative.pk).update(
        collection_end=today - timedelta(days=1)
    )
    initiatives_advance_by_date(today=today)
    collecting_initiative.refresh_from_db()
    verification_request(initiative=collecting_initiative)
    return collecting_initiative


def test_the_export_of_an_initiative_whose_title_holds_control_characters_succeeds(
    under_verification, authority_keys, tmp_path: Path, today
) -> None:
    collecting_initiative = under_verification
    # As an old row would hold it: written straight to the database, past every check.
    Initiative.objects.filter(pk=collecting_initiative.pk).update(
        title={"en": STORED_TITLE, "de": "Saubere Luft"}
    )

    batch = tmp_path / "pl.batch"
    call_command(
        "verification", "export", "clean-air", "PL", "--out", str(batch), stderr=StringIO()
    )

    with batch.open(encoding="utf-8", errors="surrogateescape") as handle:
        header, entries = read_batch(handle)
        assert len(list(entries)) == header.tree_size == 1
    # Each refused character is marked, white space is one space: one printable line.
    assert header.initiative.title == "Clean\ufffd[2J air\ufffd for all\ufffd"
    outcome = verify_batch(batch, authority_keys["PL"], VerifyOptions(on=today, jobs=1))
    assert outcome.verdict == CERTIFIED, outcome.report


def test_a_stored_statement_that_breaks_the_batch_format_gives_a_clear_refusal_not_a_crash(
    under_verification, tmp_path: Path
) -> None:
    from django.core.management import CommandError

    from quorum.ledger.models import Statement

    # A damaged row: an empty ciphertext is no sealed statement.
    Statement.objects.filter(member_state="PL").update(ciphertext=b"")
    with pytest.raises(CommandError, match="could not be written"):
        call_command(
            "verification",
            "export",
            "clean-air",
            "PL",
            "--out",
            str(tmp_path / "b"),
            stderr=StringIO(),
        )


def test_a_stored_statement_that_names_no_sealing_key_is_refused_not_written(
    under_verification, tmp_path: Path
) -> None:
    from django.core.management import CommandError

    from quorum.ledger.models import Statement

    Statement.objects.filter(member_state="PL").update(sealing_key=None)
    with pytest.raises(CommandError, match="could not be written"):
        call_command(
            "verification",
            "export",
            "clean-air",
            "PL",
            "--out",
            str(tmp_path / "b"),
            stderr=StringIO(),
        )
