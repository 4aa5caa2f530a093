"""Invariant 1: a signatory's data exists in plaintext only in memory during validation.

Distinctive canary names and ID numbers are signed through the API and the web form; they must
then appear nowhere — not in the database file or its WAL, not in logs, not in the cache, not
in any response but the signatory's own — and the authority's key must give them back.
"""

from __future__ import annotations

import json
import logging
import pickle
import secrets
from pathlib import Path

import pytest
from django.core.cache import caches
from django.db import connection

from quorum.ledger.models import Statement
from quorum.proofs.crypto import open_sealed
from quorum.signing.content import parse_statement_plaintext

pytestmark = pytest.mark.django_db(transaction=True)

SCOPE = "statement:clean-air"


def canary_name() -> str:
    # Letters only (names refuse digits), unique per run so no other data can contain it.
    return "Qx" + "".join(secrets.choice("bcdfghjklmnpqrstvwxz") for _ in range(14))


def pesel_for(born: str, serial: int) -> str:
    """A valid PESEL for a date YYYY-MM-DD in the 1900s and a 4-digit serial."""
    yy, mm, dd = born[2:4], born[5:7], born[8:10]
    digits = f"{yy}{mm}{dd}{serial:04d}"
    weights = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)
    check = (10 - sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 10) % 10
    return digits + str(check)


def database_bytes() -> bytes:
    if connection.vendor == "sqlite":
        name = Path(connection.settings_dict["NAME"])
        return b"".join(
            p.read_bytes() for p in (name, Path(f"{name}-wal"), Path(f"{name}-shm")) if p.exists()
        )
    # PostgreSQL: every row of every table of ours, as text; plus the data files when readable.
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT t::text FROM "{table}" AS t')
            chunks.extend(row[0].encode() for row in cursor.fetchall())
        cursor.execute("SHOW data_directory")
        data_directory = Path(cursor.fetchone()[0])
    if data_directory.is_dir():
        for path in data_directory.rglob("*"):
            try:
                if path.is_file() and path.stat().st_size < 256 * 1024 * 1024:
                    chunks.append(path.read_bytes())
            except OSError:
                continue
    return b"".join(chunks)


def cache_bytes() -> bytes:
    cache = caches["default"]
    store = getattr(cache, "_cache", None)
    if isinstance(store, dict):
        return b"".join(v if isinstance(v, bytes) else pickle.dumps(v) for v in store.values())
    return b""


def test_canaries_are_sealed_and_appear_nowhere_else(
    client, collecting_initiative, authority_keys, settings, caplog, capfd, pow_payload
) -> None:
    settings.QUORUM_POW = True
    caplog.set_level(logging.DEBUG)
    first, family = canary_name(), canary_name()
    web_first, web_family = canary_name(), canary_name()
    pesel = pesel_for("1961-07-19", int(secrets.randbelow(9000)) + 1000)
    web_pesel = pesel_for("1972-03-05", int(secrets.randbelow(9000)) + 1000)
    canaries = [first, family, pesel, web_first, web_family, web_pesel]

    observed: list[bytes] = []
    observed.append(client.get("/").content)
    observed.append(client.get("/i/clean-air/").content)
    api = client.post(
        "/api/v1/initiatives/clean-air/statements",
        data=json.dumps(
            {
                "nationality": "PL",
                "first_names": first,
                "family_names": family,
                "id_type": "pesel",
                "id_number": pesel,
                "altcha": pow_payload(SCOPE),
            }
        ),
        content_type="application/json",
    )
    assert api.status_code == 201
    observed.append(api.content)
    observed.append(b"".join(f"{k}: {v}".encode() for k, v in api.headers.items()))
    observed.append(client.get("/i/clean-air/sign/pl/").content)
    web = client.post(
        "/i/clean-air/sign/pl/",
        {
            "first_names": web_first,
            "family_names": web_family,
            "id_type": "pesel",
            "id_number": web_pesel,
            "privacy_read": "yes",
            "altcha": pow_payload(SCOPE),
        },
    )
    assert web.status_code == 200
    observed.append(web.content)  # the signatory's own confirmation: it repeats nothing either
    observed.append(client.get("/i/clean-air/").content)

    # The authority's key gives every canary back.
    plaintexts = [
        parse_statement_plaintext(
            open_sealed(authority_keys["PL"].sealing_private_key, bytes(s.ciphertext))
        )
        for s in Statement.objects.order_by("id")
    ]
    assert [p["fields"]["first_names"] for p in plaintexts] == [first, web_first]
    assert [p["fields"]["id_number"] for p in plaintexts] == [pesel, web_pesel]

    out, err = capfd.readouterr()
    places = {
        "database": database_bytes(),
        "logs": (caplog.text + out + err).encode(),
        "cache": cache_bytes(),
        "responses": b"".join(observed),
    }
    # The scan can see: what is meant to be stored (the receipt) is found where it is stored.
    receipt = api.json()["receipt"]
    assert bytes.fromhex(receipt) in places["database"] or receipt.encode() in places["database"]
    for place, content in places.items():
        for canary in canaries:
            for spelling in {canary, canary.upper(), canary.lower()}:
                assert spelling.encode() not in content, f"{canary!r} found in {place}"


def test_json_logs_hold_no_canary_and_no_address(
    client, collecting_initiative, authority_keys, settings
) -> None:
    """QUORUM_LOG_FORMAT=json writes what a record says, never the request Django attaches."""
    import io

    from quorum.core.log_format import JsonFormatter

    settings.QUORUM_POW = False
    address = "198.51.100.173"
    first, family, pesel = canary_name(), canary_name(), pesel_for("1961-07-19", 4321)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        statement = {
            "nationality": "PL",
            "first_names": first,
            "family_names": family,
            "id_type": "pesel",
            "id_number": pesel,
        }
        url = "/api/v1/initiatives/clean-air/statements"
        accepted = client.post(
            url, data=json.dumps(statement), content_type="application/json", REMOTE_ADDR=address
        )
        assert accepted.status_code == 201
        # Refused: Django logs the 422 with the request (its body holds the canaries) attached.
        refused = client.post(
            url,
            data=json.dumps({**statement, "id_number": pesel + "9"}),
            content_type="application/json",
            REMOTE_ADDR=address,
        )
        assert refused.status_code == 422
        form = client.post(
            "/i/clean-air/sign/pl/",
            {
                "first_names": first,
                "family_names": family,
                "id_type": "pesel",
                "id_number": "1",
                "privacy_read": "yes",
            },
            REMOTE_ADDR=address,
        )
        assert form.status_code == 422
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    lines = stream.getvalue().splitlines()
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert any(entry["logger"] == "django.request" for entry in entries)
    text = stream.getvalue()
    for canary in (first, family, pesel, address):
        for spelling in {canary, canary.upper(), canary.lower()}:
            assert spelling not in text, f"{canary!r} found in the JSON log"
