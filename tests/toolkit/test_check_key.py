"""`quorum-authority check-key` against a real `quorum serve`, and the auditor with it: both
catch a sealing key swapped straight into the platform's database."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from quorum.proofs.crypto import encode_key, generate_authority_keys

pytestmark = [pytest.mark.slow, pytest.mark.own_database]

SLUG = "ban-biometric-mass-surveillance"


def _env(data_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("QUORUM_", "DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"))
    }
    env.update(QUORUM_DATA_DIR=str(data_dir), QUORUM_POW="off", QUORUM_LOG_LEVEL="warning")
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)


def _check_key(base: str, code: str, keyfile: Path, env: dict[str, str], *extra: str):
    return _check_key_with(base, code, env, "--key", str(keyfile), *extra)


def _check_key_with(base: str, code: str, env: dict[str, str], *args: str):
    toolkit = "import sys; from quorum.toolkit.cli import main; sys.exit(main())"
    return _run([sys.executable, "-c", toolkit, "check-key", base, code, *args], env)


@pytest.fixture
def demo_server(tmp_path: Path):
    env = _env(tmp_path)
    setup = _run([sys.executable, "-m", "quorum.cli", "demo", "--no-serve"], env)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "quorum.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text()
            try:
                # Ready once the sequencer (its own process, slower to start on a busy
                # machine) has signed the log's first checkpoint, which the auditor reads.
                with urllib.request.urlopen(
                    f"{base}/api/v1/initiatives/{SLUG}/checkpoint", timeout=2
                ):
                    break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        yield base, tmp_path, env
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


@pytest.mark.django_db(transaction=False)
def test_check_key_passes_for_the_real_key_and_fails_once_it_is_swapped_in_the_database(
    demo_server,
) -> None:
    base, data_dir, env = demo_server
    keyfile = data_dir / "demo-keys" / "DE.key"
    with urllib.request.urlopen(f"{base}/api/v1/log-key", timeout=5) as response:
        log_key = response.read().decode().strip()

    ok = _check_key(base, "DE", keyfile, env, "--log-key", log_key)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("OK:")
    # The same check from a connected machine that holds only the fingerprint.
    from quorum.proofs.crypto import read_key_file_public
    from quorum.proofs.key_certificate import fingerprint, format_fingerprint

    public = read_key_file_public(keyfile)
    printed = format_fingerprint(
        fingerprint(
            scheme="eci",
            member_state="DE",
            sealing_public_key=public["sealing_public_key"],
            signing_public_key=public["signing_public_key"],
        )
    )
    by_print = _check_key_with(base, "DE", env, "--fingerprint", printed, "--log-key", log_key)
    assert by_print.returncode == 0, by_print.stdout + by_print.stderr
    # Another authority's key file is not DE's key.
    other = _check_key(base, "DE", data_dir / "demo-keys" / "FR.key", env, "--log-key", log_key)
    assert other.returncode == 2 and "MISMATCH" in other.stdout

    audited = _run([sys.executable, "-m", "quorum.cli", "audit", base, SLUG], env)
    assert audited.returncode == 0, audited.stdout + audited.stderr

    # Someone with the database swaps DE's sealing key for their own, telling nobody.
    rogue = encode_key(generate_authority_keys().sealing_public_key)
    with sqlite3.connect(data_dir / "quorum.sqlite3") as db:
        db.execute(
            "UPDATE authorities_authoritykey SET sealing_public_key = ? WHERE id = "
            "(SELECT current_key_id FROM authorities_authority WHERE member_state = 'DE')",
            (rogue,),
        )
    swapped = _check_key(base, "DE", keyfile, env, "--log-key", log_key)
    assert swapped.returncode == 2, swapped.stdout + swapped.stderr
    assert "MISMATCH" in swapped.stdout and "not yours" in swapped.stdout
    audited = _run(
        [sys.executable, "-m", "quorum.cli", "audit", base, SLUG, "--log-key", log_key], env
    )
    assert audited.returncode == 1, audited.stdout + audited.stderr
    assert "not the last one in the key log" in audited.stdout


def test_check_key_without_a_server_is_an_error_not_a_mismatch(tmp_path: Path) -> None:
    from quorum.proofs.crypto import write_key_file

    keyfile = tmp_path / "k.key"
    write_key_file(keyfile, generate_authority_keys(), b"passphrase", strength="interactive")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = _check_key(f"http://127.0.0.1:{port}", "DE", keyfile, _env(tmp_path))
    assert result.returncode == 1
    assert "error" in result.stderr
