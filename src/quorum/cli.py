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
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quorum.settings")
    from django.core.management import execute_from_command_line

    args = sys.argv[1:] if argv is None else argv
    execute_from_command_line(["quorum", *args])


if __name__ == "__main__":
    main()
