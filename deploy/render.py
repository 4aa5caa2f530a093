#!/usr/bin/env python3
"""Render a template of deploy/: replace each @NAME@ with the value given as NAME=VALUE.

    python3 deploy/render.py deploy/nginx/quorum.conf.in SERVER_NAME=quorum.example.eu ... > out

Every placeholder of the template must be given, and every name given must be a placeholder
of it: a typo stops with an error instead of leaving a broken configuration. Only @NAME@ with
NAME in capitals, digits and underscores is a placeholder, so nginx's own $variables are left
alone. The standard library only: it runs with the system's python3 before any venv exists.

A value with commas is a list: the line of its placeholder is repeated once per item, so
UPSTREAM=10.0.0.11:8000,10.0.0.12:8000 gives the `upstream` block one `server` line per web
host. Such a placeholder must be alone on its line.
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
        if any(not item.strip() for item in value.split(",")) or any(c in value for c in "\n;{}"):
            raise ValueError(
                f"{name}: a value (or an item of a list) may not be empty or hold a newline, "
                "; or braces"
            )
    lines = []
    for line in template.splitlines(keepends=True):
        names = PLACEHOLDER.findall(line)
        lists = [name for name in names if "," in values[name]]
        if not lists:
            lines.append(PLACEHOLDER.sub(lambda match: values[match.group(1)], line))
        elif len(names) > 1:
            raise ValueError(f"{lists[0]}: a list, but not alone on its line of the template")
        else:
            items = values[names[0]].split(",")
            lines += [line.replace(f"@{names[0]}@", item.strip()) for item in items]
    return "".join(lines)


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
