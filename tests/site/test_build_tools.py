"""The environment's build tools are at versions without known vulnerabilities (scripts/setup.sh)."""

from __future__ import annotations

from importlib.metadata import version

import pytest
from packaging.version import Version

#: The first release of each that fixes its known vulnerabilities.
FIXED = {
    # CVE-2022-40897 (65.5.1), CVE-2024-6345 (70.0.0), CVE-2025-47273 (78.1.1).
    "setuptools": "78.1.1",
    # CVE-2025-8869: symbolic links in source archives (25.3).
    "pip": "25.3",
}


@pytest.mark.parametrize("package", sorted(FIXED))
def test_the_installed_build_tool_has_no_known_vulnerability(package: str) -> None:
    installed = version(package)
    assert Version(installed) >= Version(FIXED[package]), (
        f"{package} {installed} is vulnerable; run scripts/setup.sh"
    )
