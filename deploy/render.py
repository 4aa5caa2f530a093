#!/usr/bin/env python3
"""Render a template of deploy/: replace each @NAME@ with the value given as NAME=VALUE.

    python3 deploy/render.py deploy/nginx/quorum.conf.in SERVER_NAME=quorum.example.eu ... > out

Every placeholder of the template must be given, and every name given must be a placeholder
of it: a typo stops with an error instead of leaving a broken configuration. Only @NAME@ with
NAME in capitals, digits and underscores is a placeholder, so nginx's own $variables are left
alone. The standard library only: it runs with the system's python3 before any venv exists.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

PLACEHOLDER = re.compile(r"@([A-Z][A-Z0-9_]*)@")


def render(template: str, values: dict[str, str]) -> str:
    wanted = set(PLACEHOLDER.findall(template))
    missing = sorted(wanted - values.keys())
    unknown = sorted(values.keys() - wanted)
    if missing or unknown:
        problems = []
        if missing:
            problems.append("missing: " + ", ".join(missing))
        if unknown:
            problems.append("not in the template: " + ", ".join(unknown))
        raise ValueError("; ".join(problems))
    for name, value in values.items():
        if not value or any(c in value for c in "\n;{}"):
            raise ValueError(f"{name}: a value may not be empty or hold a newline, ; or braces")
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    values = {}
    for pair in argv[1:]:
        name, sep, value = pair.partition("=")
        if not sep:
            print(f"render.py: expected NAME=VALUE, got {pair!r}", file=sys.stderr)
            return 2
        values[name] = value
    try:
        sys.stdout.write(render(Path(argv[0]).read_text(), values))
    except (OSError, ValueError) as error:
        print(f"render.py: {argv[0]}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
