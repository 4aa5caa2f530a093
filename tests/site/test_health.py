"""/healthz, /readyz and /metrics: what a load balancer and Prometheus see."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

from quorum.initiatives.models import Initiative
from quorum.ledger.models import Statement
from quorum.site import readiness

URL = "/api/v1/initiatives/clean-air/statements"
CANARY_FIRST = "Qxzvbrtlkm"
CANARY_FAMILY = "Qxwplnrstd"
#: A label value that is (or holds) an IP address.
ADDRESS = re.compile(r"\d{1,3}(\.\d{1,3}){3}|[0-9a-f]*:[0-9a-f]*:[0-9a-f:]*", re.IGNORECASE)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """(sample name, sorted labels) → value, from a text exposition."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def scrape(client, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200
    return samples(response.content.decode())


def refused(reason: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return ("quorum_statements_refused_total", (("reason", reason),))


ACCEPTED = ("quorum_statements_accepted_total", ())


def assert_plain_answer(response) -> None:
    """Never cached, never a cookie: each answer is about this moment and no one's session."""
    assert "no-store" in response["Cache-Control"]
    assert not response.cookies
    assert "Set-Cookie" not in response


# /healthz


def test_healthz_answers_200_while_the_process_is_up(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok\n"
    assert_plain_answer(response)


def test_healthz_answers_head_and_refuses_post(client) -> None:
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


# /readyz


@pytest.mark.django_db
def test_readyz_is_ready_on_a_collecting_initiative_with_keys(
    client, collecting_initiative, authority_keys
) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "sequencer": "ok", "keys": "ok"},
    }
    assert_plain_answer(response)


@pytest.mark.django_db
def test_readyz_is_ready_when_nothing_is_collecting_and_no_key_is_registered(client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["keys"] == "ok"


@pytest.mark.django_db
def test_readyz_fails_on_keys_when_a_collecting_initiative_has_no_authority_key(
    client, collecting_initiative
) -> None:
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "not ready",
        "checks": {
            "database": "ok",
            "sequencer": "ok",
            "keys": "no authority key for a collecting initiative",
        },
    }
    assert_plain_answer(response)


@pytest.mark.django_db
def test_readyz_checks_keys_only_for_initiatives_collecting_today(
    client, collecting_initiative, today
) -> None:
    Initiative.objects.filter(pk=collecting_initiative.pk).update(
        collection_end=today - timedelta(days=1)
    )
    assert client.get("/readyz").status_code == 200


def _waiting_statement(initiative: Initiative, received_at: datetime) -> Statement:
    return Statement.objects.create(
        initiative=initiative,
        member_state="PL",
        ciphertext=b"sealed",
        ciphertext_sha256=b"\0" * 32,
        leaf_hash=b"\1" * 32,
        received_at=received_at,
        leaf_index=None,
    )


@pytest.mark.django_db
def test_readyz_fails_on_the_sequencer_when_a_statement_waits_longer_than_the_bound(
    client, collecting_initiative, authority_keys, settings
) -> None:
    settings.QUORUM_READY_MAX_SEQUENCER_LAG_SECONDS = 30
    _waiting_statement(collecting_initiative, datetime.now(UTC) - timedelta(seconds=31))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": "ok",
        "sequencer": "sequencer is behind",
        "keys": "ok",
    }


@pytest.mark.django_db
def test_readyz_is_ready_while_the_waiting_statements_are_younger_than_the_bound(
    client, collecting_initiative, authority_keys, settings
) -> None:
    settings.QUORUM_READY_MAX_SEQUENCER_LAG_SECONDS = 30
    _waiting_statement(collecting_initiative, datetime.now(UTC) - timedelta(seconds=5))
    sequenced = _waiting_statement(
        collecting_initiative, datetime.now(UTC) - timedelta(seconds=3600)
    )
    Statement.objects.filter(pk=sequenced.pk).update(leaf_index=0)
    assert client.get("/readyz").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_readyz_fails_on_the_database_when_it_takes_no_writes(
    client, collecting_initiative, authority_keys, monkeypatch
) -> None:
    monkeypatch.setattr(readiness, "WRITE_LOCK_WAIT_SECONDS", 0.1)
    connection.ensure_connection()
    if connection.vendor == "sqlite":
        # Another process holds SQLite's one write lock and does not let go.
        other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            response = client.get("/readyz")
        finally:
            other.rollback()
            other.close()
        expected = "database is not writable"
    else:
        with connection.cursor() as cursor:
            cursor.execute("SET default_transaction_read_only = on")
        try:
            response = client.get("/readyz")
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET default_transaction_read_only = off")
        expected = "database is read-only"
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == expected
    # The write lock was given back: the next check passes.
    assert client.get("/readyz").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_readyz_keeps_the_connections_busy_timeout_after_the_check(
    client, collecting_initiative, authority_keys
) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's busy timeout")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        before = cursor.fetchone()[0]
    assert client.get("/readyz").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] == before


@pytest.mark.django_db
def test_readyz_says_the_database_is_unreachable_when_a_query_fails(client, monkeypatch) -> None:
    from django.db import OperationalError

    def broken():
        raise OperationalError("connection refused")

    monkeypatch.setattr(readiness, "sequencer_backlog", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["sequencer"] == "database unreachable"


# /metrics


def post(client, body: object, **headers: str):
    return client.post(URL, data=json.dumps(body), content_type="application/json", **headers)


@pytest.mark.django_db(transaction=True)
def test_metrics_count_statements_accepted_and_refused_by_reason(
    client, collecting_initiative, authority_keys, polish_citizen, settings
) -> None:
    settings.QUORUM_POW = False
    settings.QUORUM_RATE_BURST = 3
    before = scrape(client)
    canary = {**polish_citizen, "first_names": CANARY_FIRST, "family_names": CANARY_FAMILY}
    answers = [post(client, canary) for _ in range(4)]
    assert [a.status_code for a in answers] == [201, 201, 201, 429]
    invalid = post(client, {**canary, "id_number": "12345"}, REMOTE_ADDR="192.0.2.8")
    assert invalid.status_code == 422
    missing = client.post(
        "/api/v1/initiatives/no-such-thing/statements",
        data=json.dumps(canary),
        content_type="application/json",
        REMOTE_ADDR="192.0.2.9",
    )
    assert missing.status_code == 404

    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert_plain_answer(response)
    after = samples(response.content.decode())

    def delta(key) -> float:
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert delta(ACCEPTED) == 3
    assert delta(refused("rate_limited")) == 1
    assert delta(refused("invalid")) == 1
    assert delta(refused("not_found")) == 1
    assert delta(refused("unavailable")) == 0
    assert delta(("quorum_rate_limit_refusals_total", (("limit", "statement"),))) == 1
    assert delta(("quorum_intake_seconds_count", (("outcome", "accepted"),))) == 3
    # The intake writer answered in batches (group commit), each batch observed once.
    batches = {
        dict(labels)["group"]: value
        for (name, labels), value in after.items()
        if name == "quorum_group_call_batch_size_count"
    }
    assert batches.get("quorum-intake-writer", 0) >= 1
    # No label holds an address, a name or anything else a client sent.
    text = response.content.decode()
    for canary_text in (CANARY_FIRST, CANARY_FAMILY, polish_citizen["id_number"], "clean-air"):
        assert canary_text.lower() not in text.lower()
    for (_name, labels), _value in after.items():
        for label, value in labels:
            assert not ADDRESS.search(value), (label, value)


@pytest.mark.django_db
def test_metrics_show_the_sequencer_backlog_and_the_checkpoint_age(
    client, collecting_initiative
) -> None:
    _waiting_statement(collecting_initiative, datetime.now(UTC) - timedelta(seconds=100))
    _waiting_statement(collecting_initiative, datetime.now(UTC) - timedelta(seconds=10))
    found = scrape(client)
    assert found[("quorum_sequencer_backlog", ())] == 2
    assert 99 <= found[("quorum_sequencer_lag_seconds", ())] < 200
    assert ("quorum_checkpoint_age_seconds", ()) not in found  # no checkpoint yet

    from quorum.ledger.sequencer import sequence_all

    sequence_all()
    found = scrape(client)
    assert found[("quorum_sequencer_backlog", ())] == 0
    assert found[("quorum_sequencer_lag_seconds", ())] == 0
    assert 0 <= found[("quorum_checkpoint_age_seconds", ())] < 60


def test_metrics_are_refused_to_an_address_not_allowed(client) -> None:
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 403
    assert b"quorum_" not in response.content
    assert_plain_answer(response)


@pytest.mark.django_db
def test_metrics_are_answered_on_loopback_by_default_over_ipv4_and_ipv6(client) -> None:
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::ffff:127.0.0.1").status_code == 200


@pytest.mark.django_db
def test_metrics_allow_the_configured_networks_only(client, settings) -> None:
    import ipaddress

    settings.QUORUM_METRICS_ALLOW = (ipaddress.ip_network("10.1.0.0/16"),)
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.2.0.1").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


@pytest.mark.django_db
def test_metrics_answer_any_address_with_the_bearer_token(client, settings) -> None:
    settings.QUORUM_METRICS_ALLOW = ()
    settings.QUORUM_METRICS_TOKEN = "s3cret-token-for-prometheus"
    good = {"HTTP_AUTHORIZATION": "Bearer s3cret-token-for-prometheus"}
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.7", **good).status_code == 200
    for header in ("Bearer wrong", "Basic s3cret-token-for-prometheus", "Bearer", ""):
        response = client.get("/metrics", REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION=header)
        assert response.status_code == 403, header
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


def test_metrics_refuse_a_peer_that_is_no_ip_address(client) -> None:
    assert client.get("/metrics", REMOTE_ADDR="unix:/run/quorum.sock").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="").status_code == 403


def test_metrics_refuse_post(client) -> None:
    assert client.post("/metrics").status_code == 405


def test_metrics_are_allowed_on_loopback_only_unless_configured(settings) -> None:
    import ipaddress

    assert settings.QUORUM_METRICS_TOKEN == ""
    allowed = settings.QUORUM_METRICS_ALLOW
    assert ipaddress.ip_address("127.0.0.1") in allowed[0]
    assert not any(ipaddress.ip_address("192.0.2.1") in network for network in allowed)


@pytest.mark.django_db
def test_metrics_through_a_trusted_proxy_are_judged_by_the_client_it_names(
    client, settings
) -> None:
    import ipaddress

    settings.QUORUM_TRUSTED_PROXIES = (ipaddress.ip_network("127.0.0.1/32"),)
    # nginx on the same host forwards every path: the outside client is refused ...
    outside = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert outside.status_code == 403
    # ... and a scrape on the host itself, past the proxy or through it, is answered.
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    inside = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="127.0.0.1")
    assert inside.status_code == 200


def _allow_setting(value: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUORUM_METRICS")}
    env.update(QUORUM_METRICS_ALLOW=value, DJANGO_SETTINGS_MODULE="quorum.settings")
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(','.join(map(str, settings.QUORUM_METRICS_ALLOW)))",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("value", "networks"),
    [
        ("", "127.0.0.0/8,::1/128"),
        ("none", ""),
        ("NONE", ""),
        ("10.0.0.0/8, fd00::/8", "10.0.0.0/8,fd00::/8"),
        ("192.0.2.7", "192.0.2.7/32"),
    ],
)
def test_quorum_metrics_allow_is_read_strictly(value: str, networks: str) -> None:
    result = _allow_setting(value)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == networks


@pytest.mark.parametrize("value", ["localhost", "10.0.0.1/8", "0.0.0.0/0", "10.0.0.0/8,,"])
def test_a_malformed_quorum_metrics_allow_stops_the_process_naming_it(value: str) -> None:
    result = _allow_setting(value)
    assert result.returncode != 0
    assert "QUORUM_METRICS_ALLOW" in result.stderr
