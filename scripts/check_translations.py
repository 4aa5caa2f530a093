"""CI check: the translation catalogues match the source, German and French are complete,
and the compiled .mo files are those of the .po files.

Fix a failure with `bash scripts/messages.sh`, translate what it added, run it again, commit.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "quorum"
LOCALE = PACKAGE / "locale"
COMPLETE = ("de", "fr")
STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


def entries(po: Path) -> dict[tuple[str, str], dict[str, object]]:
    """(msgctxt, msgid) → {"fuzzy": bool, "msgstr": [..]} for every entry but the header."""
    result: dict[tuple[str, str], dict[str, object]] = {}
    blocks = po.read_text(encoding="utf-8").split("\n\n")
    for block in blocks:
        fields: dict[str, str] = {}
        current = None
        fuzzy = False
        for line in block.splitlines():
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            if line.startswith("#"):
                continue
            keyword, _, rest = line.partition(" ")
            if keyword.startswith("msg"):
                current = keyword
                fields[current] = ""
                line = rest
            if current is not None:
                fields[current] += "".join(STRING.findall(line))
        if "msgid" not in fields or fields["msgid"] == "":
            continue
        msgstrs = [v for k, v in fields.items() if k.startswith("msgstr")]
        result[(fields.get("msgctxt", ""), fields["msgid"])] = {"fuzzy": fuzzy, "msgstr": msgstrs}
    return result


def main() -> int:
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "quorum"
        shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "quorum.settings",
            "QUORUM_DATA_DIR": scratch,
        }
        subprocess.run(
            [
                sys.executable,
                "-m",
                "quorum.cli",
                "makemessages",
                "-l",
                "de",
                "--add-location=file",
                "--ignore=migrations/*",
                "--ignore=static/*",
            ],
            cwd=copy,
            env=env,
            check=True,
            capture_output=True,
        )
        fresh = set(entries(copy / "locale" / "de" / "LC_MESSAGES" / "django.po"))
    for language_dir in sorted(p for p in LOCALE.iterdir() if p.is_dir()):
        po = language_dir / "LC_MESSAGES" / "django.po"
        catalogue = entries(po)
        if set(catalogue) != fresh:
            missing = sorted(m for _, m in fresh - set(catalogue))[:3]
            extra = sorted(m for _, m in set(catalogue) - fresh)[:3]
            problems.append(
                f"{language_dir.name}: catalogue is stale (missing {missing}, obsolete {extra})"
            )
        if language_dir.name in COMPLETE:
            for (_, msgid), entry in catalogue.items():
                if entry["fuzzy"] or not all(entry["msgstr"]):
                    problems.append(f"{language_dir.name}: untranslated or fuzzy: {msgid[:60]!r}")
        mo = po.with_suffix(".mo")
        with tempfile.NamedTemporaryFile(suffix=".mo") as compiled:
            subprocess.run(["msgfmt", "--check-format", "-o", compiled.name, str(po)], check=True)
            if not mo.exists() or Path(compiled.name).read_bytes() != mo.read_bytes():
                problems.append(f"{language_dir.name}: django.mo is not compiled from django.po")
    for problem in problems:
        print(problem)
    if problems:
        print("Run `bash scripts/messages.sh`, complete the German and French catalogues, commit.")
        return 1
    print(
        f"translations: {len(fresh)} messages, catalogues current, {', '.join(COMPLETE)} complete"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
