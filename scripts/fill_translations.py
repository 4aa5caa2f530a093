"""Fill translations into the catalogues from JSON files, then refresh and compile them.

    .venv/bin/python scripts/fill_translations.py new-strings.json [more.json ...]

Each file maps a msgid (exactly as in the source, after ``trimmed``) to its translations:
``{"Date of birth": {"de": "Geburtsdatum", "fr": "Date de naissance", ...}}``. A msgid
with a context is written ``"context\\u0004msgid"``. Plural entries are not handled here:
edit those in the ``.po`` files. The script first runs ``scripts/messages.sh`` so that every
string of the source is in every catalogue, fills the given translations (replacing what is
there), and runs ``messages.sh`` again, which rewrites the files in gettext's own layout and
compiles them. A msgid the source does not use is reported and skipped.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "src" / "quorum" / "locale"
MESSAGES = ROOT / "scripts" / "messages.sh"


STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _refresh() -> None:
    subprocess.run(["bash", str(MESSAGES)], check=True)


def _unquote(text: str) -> str:
    return json.loads(f'"{text}"')


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _key(block: str) -> str | None:
    """ "context\u0004msgid" (or "msgid") of a catalogue entry in gettext's layout."""
    fields: dict[str, str] = {}
    current = None
    for line in block.splitlines():
        if line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if keyword.startswith("msg"):
            current = keyword
            fields[current] = ""
            line = rest
        if current is not None:
            fields[current] += "".join(_unquote(part) for part in STRING.findall(line))
    if not fields.get("msgid") or "msgid_plural" in fields:
        return None
    context = fields.get("msgctxt")
    return f"{context}\u0004{fields['msgid']}" if context is not None else fields["msgid"]


def _with_translation(block: str, text: str) -> str:
    lines = block.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("msgstr "))
    kept = []
    for line in lines[:start]:
        if line.startswith("#|"):
            continue  # the earlier msgid msgmerge guessed from: gone with the guess
        if line.startswith("#,"):
            flags = [flag.strip() for flag in line[2:].split(",") if flag.strip() != "fuzzy"]
            if not flags:
                continue
            line = "#, " + ", ".join(flags)
        kept.append(line)
    return "\n".join([*kept, f"msgstr {_quote(text)}"])


def main(paths: list[str]) -> int:
    wanted: dict[str, dict[str, str]] = {}
    for path in paths:
        wanted.update(json.loads(Path(path).read_text(encoding="utf-8")))
    _refresh()
    found: set[str] = set()
    for po_path in sorted(LOCALE.glob("*/LC_MESSAGES/django.po")):
        language = po_path.parent.parent.name
        blocks = po_path.read_text(encoding="utf-8").split("\n\n")
        for index, block in enumerate(blocks):
            key = _key(block)
            if key is None or key not in wanted:
                continue
            found.add(key)
            text = wanted[key].get(language)
            if text is not None:
                blocks[index] = _with_translation(block, text)
        po_path.write_text("\n\n".join(blocks), encoding="utf-8")
    _refresh()
    for key in sorted(set(wanted) - found):
        print(f"not in the source, skipped: {key!r}", file=sys.stderr)
    return 1 if set(wanted) - found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
