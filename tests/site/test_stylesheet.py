"""The stylesheet is GOV.UK Frontend built at set-up time, current, and served by Quorum itself.

`scripts/setup.sh` compiles `src/quorum/static_src/quorum.scss` with the dart-sass and the
GOV.UK Frontend that `package-lock.json` pins; the CSS is not committed. These tests fail when
it was never built, when it is older than its sources, or when it would load anything at all:
no font, no image, nothing from another origin.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
CSS = ROOT / "src" / "quorum" / "static" / "quorum" / "quorum.css"
SASS = ROOT / "node_modules" / ".bin" / "sass"
BUILD_HINT = "run scripts/setup.sh (it runs npm ci and npm run build)"


def served_css() -> str:
    response = Client().get("/static/quorum/quorum.css")
    try:
        assert response.status_code == 200, f"the stylesheet is not served: {BUILD_HINT}"
        assert response["Content-Type"].startswith("text/css")
        return b"".join(response.streaming_content).decode("utf-8")
    finally:
        response.close()


@pytest.mark.django_db  # closing the response closes the request, and its connections
def test_the_served_stylesheet_is_gov_uk_frontend_in_quorums_colour() -> None:
    css = served_css()

    for component in ("header", "footer", "button", "error-summary", "summary-list", "table"):
        assert f".govuk-{component}" in css, f"no GOV.UK {component} in the CSS: {BUILD_HINT}"
    assert "#0b4f9c" in css.lower(), "Quorum's accent colour is not the brand colour"
    assert re.search(r'--govuk-frontend-version: ?"6\.6\.0"', css)


@pytest.mark.django_db
def test_the_stylesheet_loads_no_font_no_image_and_nothing_from_elsewhere() -> None:
    css = served_css()

    assert "@font-face" not in css
    assert "@import" not in css
    assert "url(" not in css
    assert "GDS Transport" not in css
    assert "sourceMappingURL" not in css


def test_the_stylesheet_is_built_from_the_current_sources() -> None:
    assert CSS.exists(), f"{CSS.name} was never built: {BUILD_HINT}"
    assert SASS.exists(), f"the build tools are not installed: {BUILD_HINT}"
    build = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))["scripts"]["build"]
    arguments = shlex.split(build)
    assert arguments[0] == "sass" and arguments[-1] == str(CSS.relative_to(ROOT))

    # The build's own command, writing to standard output instead of the file.
    fresh = subprocess.run(
        [str(SASS), *arguments[1:-1]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout

    assert fresh.strip() == CSS.read_text(encoding="utf-8").strip(), (
        f"{CSS.name} is older than its sources: {BUILD_HINT}"
    )


def test_the_design_system_and_the_compiler_are_pinned_exactly() -> None:
    package = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))

    for name, wanted in package["dependencies"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", wanted), f"{name} is not pinned: {wanted}"
        locked = lock["packages"][f"node_modules/{name}"]
        assert locked["version"] == wanted
        assert locked["integrity"].startswith("sha512-")
    assert package["dependencies"]["govuk-frontend"] == "6.6.0"
