"""The toolkit runs on an air-gapped laptop: no Django, no database, its own console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from quorum.proofs.count_certificate import verify_certificate

TOOLKIT_MODULES = [
    "quorum.toolkit",
    "quorum.toolkit.cli",
    "quorum.toolkit.verify",
    "quorum.toolkit.statement",
    "quorum.toolkit.register",
    "quorum.toolkit.report",
    "quorum.proofs.count_certificate",
    "quorum.proofs.batch",
]
FORBIDDEN = (
    "django",
    "ninja",
    "psycopg",
    "sqlite3",
    "quorum.signing",
    "quorum.initiatives",
    "quorum.authorities",
    "quorum.verification",
    "quorum.api",
    "quorum.site",
    "quorum.ledger.models",
    "quorum.core.models",
)


def _clean_env() -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "QUORUM", "DATABASE"))
    }
    return env


def test_the_toolkit_imports_no_django():
    code = (
        "import sys, json\n"
        f"for name in {TOOLKIT_MODULES!r}: __import__(name)\n"
        "from quorum.toolkit.cli import build_parser; build_parser()\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_clean_env(), check=True
    )
    loaded = json.loads(result.stdout)
    bad = [m for m in loaded if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]
    assert bad == []
    assert "django" not in loaded


def test_the_console_script_verifies_with_worker_processes(world):
    """End to end through `quorum-authority`, with more statements than one chunk, 2 jobs."""
    statements = [
        world.part_b(
            f"Name{i}", "Nowak", world.pesel(date(1950 + i % 50, 1 + i % 12, 1 + i % 28), serial=i)
        )
        for i in range(1100)
    ]
    statements[700] = statements[10]  # a duplicate across chunks
    batch = world.batch("PL", statements)
    script = Path(sys.executable).with_name("quorum-authority")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "quorum.toolkit.cli"]
    result = subprocess.run(
        [
            *command,
            "verify",
            str(batch),
            "--key",
            str(world.key_files["PL"]),
            "--passphrase-file",
            str(world.root / "passphrase"),
            "--out",
            str(world.root / "out"),
            "--log-key",
            world.log_verifier,
            "--on",
            "2025-06-30",
            "--jobs",
            "2",
        ],
        capture_output=True,
        text=True,
        env=_clean_env(),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "1,100 / 1,100 leaves checked" in result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads((world.root / "out" / "report.json").read_text())
    assert report["valid_statements"] == 1099
    assert report["invalid"] == [{"leaf_index": 700, "reason": "duplicate"}]
    certificate = json.loads((world.root / "out" / "certificate.json").read_text())
    assert verify_certificate(certificate, world.keys["PL"].signing_public_key)
