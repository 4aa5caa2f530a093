"""The `quorum` console script: Django's management commands under one name.

`quorum demo`, `quorum serve`, `quorum rules show` … are management commands; anything
Django offers (`quorum migrate`, `quorum createsuperuser`) works too.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quorum.settings")
    from django.core.management import execute_from_command_line

    args = sys.argv[1:] if argv is None else argv
    execute_from_command_line(["quorum", *args])


if __name__ == "__main__":
    main()
