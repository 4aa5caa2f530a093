"""quorum.rules is pure: importing it loads neither Django nor another room."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import quorum.rules

SRC = Path(quorum.rules.__file__).resolve().parents[2]

PROBE = """
import sys
import quorum.rules
from datetime import date
s = quorum.rules.scheme("eci")
s.member_states(registered=date(2025, 1, 1))
s.check_id("PL", "pesel", "44051401359")
bad = sorted(
    name for name in sys.modules
    if name == "django" or name.startswith("django.")
    or (name.startswith("quorum.") and not name.startswith("quorum.rules"))
)
print(",".join(bad))
"""


def test_importing_and_using_quorum_rules_does_not_import_django_or_other_rooms():
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True
    )
    assert result.stdout.strip() == ""
