"""Retention: at the legal deadline the sealed statements are destroyed, in the database file
too, while the log stays verifiable by anyone."""

from __future__ import annotations

import json
from datetime import date, timedelta
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.db import connection

from quorum.core.models import AuditEntry
from quorum.initiatives.models import Initiative
from quorum.initiatives.services import initiative_set_legal_hold
from quorum.ledger.models import Statement
from quorum.ledger.sequencer import sequence_all
from quorum.proofs.auditor import audit
from quorum.rules import add_months
from quorum.verification.selectors import purges_due

pytestmark = pytest.mark.django_db(transaction=True)


def client_fetch(client):
    def fetch(url: str) -> bytes:
        parts = urlsplit(url)
        response = client.get(parts.path + ("?" + parts.query if parts.query else ""))
        if response.status_code != 200:
            raise OSError(f"{response.status_code} for {url}")
        return response.content

    return fetch


def database_bytes() -> bytes:
    name = Path(connection.settings_dict["NAME"])
    return b"".join(p.read_bytes() for p in (name, Path(f"{name}-wal")) if p.exists())


@pytest.fixture
def signed(client, collecting_initiative, authority_keys, settings, polish_citizen) -> list[bytes]:
    settings.QUORUM_POW = False
    for name in ("Qxcanaryone", "Qxcanarytwo"):
        body = {**polish_citizen, "first_names": name}
        response = client.post(
            "/api/v1/initiatives/clean-air/statements",
            data=json.dumps(body),
            content_type="application/json",
        )
        assert response.status_code == 201
    sequence_all()
    return [bytes(c) for c in Statement.objects.values_list("ciphertext", flat=True)]


def test_nothing_is_destroyed_before_the_deadline(signed, collecting_initiative, today) -> None:
    end = add_months(collecting_initiative.collection_start, 21)
    assert purges_due(today=end - timedelta(days=1)) == []
    assert [i.slug for i, _ in purges_due(today=end)] == ["clean-air"]


def test_a_purge_destroys_ciphertexts_also_in_the_file_and_the_log_still_verifies(
    signed, client, collecting_initiative, today
) -> None:
    # 21 months after the start of collection have passed.
    Initiative.objects.filter(pk=collecting_initiative.pk).update(
        collection_start=add_months(today, -22)
    )
    if connection.vendor == "sqlite":
        assert all(ciphertext in database_bytes() for ciphertext in signed)  # the scan can see them
    dry = StringIO()
    call_command("purge", "--dry-run", stdout=dry)
    assert "would destroy 2 sealed statements" in dry.getvalue()
    assert Statement.objects.filter(ciphertext__isnull=False).count() == 2

    out = StringIO()
    call_command("purge", stdout=out)
    assert "destroyed 2 sealed statements" in out.getvalue()
    assert Statement.objects.filter(ciphertext__isnull=False).count() == 0
    if connection.vendor == "sqlite":
        content = database_bytes()
        for ciphertext in signed:
            assert ciphertext not in content
            assert ciphertext[:48] not in content
        assert b"Qxcanary" not in content
    assert AuditEntry.objects.filter(action="quorum.verification.statements_purged").count() == 1
    report = audit("http://testserver", "clean-air", fetch=client_fetch(client))
    assert report.ok, report.findings
    assert report.size == 2
    again = StringIO()
    call_command("purge", stdout=again)
    assert "nothing to destroy" in again.getvalue()


def test_a_withdrawal_after_the_start_destroys_one_month_later(
    signed, collecting_initiative, today
) -> None:
    Initiative.objects.filter(pk=collecting_initiative.pk).update(
        status=Initiative.Status.WITHDRAWN, withdrawn_on=today - timedelta(days=40)
    )
    assert [i.slug for i, _ in purges_due(today=today)] == ["clean-air"]


def test_a_legal_hold_postpones_destruction_until_a_month_after_the_final_decision(
    signed, collecting_initiative, today
) -> None:
    Initiative.objects.filter(pk=collecting_initiative.pk).update(
        collection_start=add_months(today, -22)
    )
    initiative_set_legal_hold(initiative=collecting_initiative, held=True)
    assert purges_due(today=today) == []
    decided = today - timedelta(days=10)
    initiative_set_legal_hold(initiative=collecting_initiative, held=False, decided_on=decided)
    assert purges_due(today=today) == []
    assert [i.slug for i, _ in purges_due(today=add_months(decided, 1))] == ["clean-air"]
    assert date.today() <= add_months(decided, 1)
