from __future__ import annotations

import pytest
from django.db import connection


@pytest.mark.django_db
def test_the_database_commits_durably() -> None:
    # Invariant 3 rests on these settings: an acknowledged statement is on disk.
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            assert cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert cursor.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
            assert cursor.execute("PRAGMA secure_delete").fetchone()[0] == 1
        else:
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone()[0] == "on"
            cursor.execute("SHOW fsync")
            assert cursor.fetchone()[0] == "on"


@pytest.mark.django_db
def test_every_model_change_has_its_migration() -> None:
    from django.core.management import call_command

    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.django_db
def test_on_postgresql_the_connection_comes_from_the_pool() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no pool: each thread opens its own file connection")
    assert connection.settings_dict["CONN_MAX_AGE"] == 0
    connection.ensure_connection()
    assert connection.pool is not None
    assert connection.connection._pool is connection.pool
