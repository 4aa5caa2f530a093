"""Without Redis, expired rate-limit, single-use and sign-in rows are forgotten by `quorum periodic`."""

from __future__ import annotations

import datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from quorum.accounts.throttle import reset_throttle_store
from quorum.core.models import SignInCounter
from quorum.signing.models import RateLog, SingleUseClaim

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _database_stores(settings: Any):
    settings.REDIS_URL = None
    reset_throttle_store()
    yield
    reset_throttle_store()


def test_the_periodic_command_forgets_expired_entries_and_keeps_live_ones() -> None:
    past = timezone.now() - datetime.timedelta(seconds=1)
    future = timezone.now() + datetime.timedelta(hours=1)
    for label, expires_at in (("old", past), ("new", future)):
        RateLog.objects.create(key=label * 16, hits={"b": [1.0]}, expires_at=expires_at)
        SingleUseClaim.objects.create(slot=label * 16, content_tag="c" * 64, expires_at=expires_at)
        SignInCounter.objects.create(key=f"u:{label}", count=2, expires_at=expires_at)
    out = StringIO()

    call_command("periodic", stdout=out)

    assert "forgot 3 expired rate-limit, single-use and sign-in entries" in out.getvalue()
    assert list(RateLog.objects.values_list("key", flat=True)) == ["new" * 16]
    assert list(SingleUseClaim.objects.values_list("slot", flat=True)) == ["new" * 16]
    assert list(SignInCounter.objects.values_list("key", flat=True)) == ["u:new"]


def test_the_periodic_command_says_nothing_when_nothing_expired() -> None:
    out = StringIO()

    call_command("periodic", stdout=out)

    assert "forgot" not in out.getvalue()
