"""The `quorum` console script: Django's management commands under one name.

`quorum demo`, `quorum serve`, `quorum rules show` … are management commands; anything
Django offers (`quorum migrate`, `quorum createsuperuser`) works too.
"""

from __future__ import annotations

import os
import sys

from quorum.core.datadir import PRIVATE_UMASK


def main(argv: list[str] | None = None) -> None:
    # Before settings create the data directory: whatever Quorum or SQLite creates is for the
    # user running it alone (0600). Here, and not in settings, because a umask is the whole
    # process's: code that merely imports the settings (a test run, a host application)
    # keeps its own, and the database files are made private on connection anyway.
    os.umask(PRIVATE_UMASK)
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["audit"]:
        # Anyone may audit, from any folder: no settings, no data directory, no secret key.
        from quorum.proofs import audit_cli

        sys.exit(audit_cli.main(args[1:]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quorum.settings")
    from django.core.management import execute_from_command_line
    from django.db.utils import OperationalError, ProgrammingError

    try:
        execute_from_command_line(["quorum", *args])
    except (OperationalError, ProgrammingError):
        if not _unmigrated():
            raise
        print(
            "quorum: the database has not been set up yet: run `quorum migrate` first.",
            file=sys.stderr,
        )
        sys.exit(1)


def _unmigrated() -> bool:
    """Whether migrations are missing: then a missing table is no bug, just a step not taken."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    try:
        executor = MigrationExecutor(connection)
        return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    except Exception:
        return False


if __name__ == "__main__":
    main()
