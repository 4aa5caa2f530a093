"""The typeface of the paper forms: DejaVu Sans, from Debian's ``fonts-dejavu-core``.

One face covers every script of the 24 languages (Latin with the Irish, Maltese, Baltic and
Romanian letters, Greek, Cyrillic), so a form never falls back to boxes. The files are the
package's, at Debian's path: Quorum ships no font of its own (``scripts/setup.sh`` installs
the package).
"""

from __future__ import annotations

from pathlib import Path

#: Where Debian's ``fonts-dejavu-core`` puts its TrueType files.
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FAMILY = "DejaVuSans"
#: fpdf2's style letter → the file of that style.
FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}


class FontMissing(RuntimeError):
    """The typeface is not installed: a set-up fault, named with its remedy."""


def font_files(directory: Path = FONT_DIR) -> dict[str, Path]:
    """Each style's font file; :class:`FontMissing` naming the package if one is absent."""
    files = {style: directory / name for style, name in FILES.items()}
    missing = [str(path) for path in files.values() if not path.is_file()]
    if missing:
        raise FontMissing(
            "The paper forms need the DejaVu Sans fonts (" + ", ".join(missing) + "): install "
            "Debian's fonts-dejavu-core (apt-get install fonts-dejavu-core; scripts/setup.sh "
            "does)."
        )
    return files
