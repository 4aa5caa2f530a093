"""The typeface comes from Debian's package, and its absence is named with the remedy."""

from __future__ import annotations

from pathlib import Path

import pytest

from quorum.signing.paper.fonts import FONT_DIR, FontMissing, font_files


def test_the_fonts_are_debians_dejavu_sans() -> None:
    files = font_files()
    assert set(files) == {"", "B"}
    assert all(path.parent == FONT_DIR and path.is_file() for path in files.values())


def test_a_missing_font_names_the_package_to_install(tmp_path: Path) -> None:
    (tmp_path / "DejaVuSans.ttf").write_bytes(b"")
    with pytest.raises(FontMissing) as missing:
        font_files(tmp_path)
    message = str(missing.value)
    assert "fonts-dejavu-core" in message and "DejaVuSans-Bold.ttf" in message
    assert "DejaVuSans.ttf," not in message  # only what is missing
