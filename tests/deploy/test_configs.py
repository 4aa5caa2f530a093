"""The systemd units, the PostgreSQL and the Redis settings of deploy/, as docs/deploy.md installs them.

The units are checked by systemd's own ``systemd-analyze verify`` and their commands by
Quorum's own argument parsers; the PostgreSQL and Redis files are loaded by real servers
(Debian's binaries), started on a throwaway data folder and a free port, then killed.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
GUIDE = (ROOT / "docs" / "deploy.md").read_text()
UNITS = sorted((DEPLOY / "systemd").glob("quorum-*"))
INSTALLED_QUORUM = "/opt/quorum/.venv/bin/quorum"
sys.path.insert(0, str(ROOT / "bench"))

from deployment import unit_settings  # noqa: E402  (how the cluster reads the units, too)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_there_are_units_for_the_web_server_the_sequencer_and_the_periodic_chores():
    assert [unit.name for unit in UNITS] == [
        "quorum-periodic.service",
        "quorum-periodic.timer",
        "quorum-sequencer.service",
        "quorum-web.service",
    ]


@pytest.mark.parametrize("unit", [u for u in UNITS if u.suffix == ".service"], ids=lambda u: u.name)
def test_each_service_runs_a_quorum_command_as_the_guide_sets_it_up(unit, settings):
    service = unit_settings(unit)["Service"]
    command = shlex.split(service["ExecStart"][0])
    assert command[0] == INSTALLED_QUORUM
    # Quorum's own parser accepts the command and every option (an unknown one is an error).
    from django.core.management import get_commands, load_command_class

    name, *arguments = command[1:]
    parser = load_command_class(get_commands()[name], name).create_parser("quorum", name)
    parser.parse_args(arguments)
    # The user, the environment file, the data folder: the ones docs/deploy.md creates.
    assert service["User"] == ["quorum"]
    assert service["EnvironmentFile"] == ["/etc/quorum/quorum.env"]
    assert service["StateDirectory"] == ["quorum"]
    assert service["ReadWritePaths"] == ["/var/lib/quorum"]
    for said in ("useradd --system", "/etc/quorum/quorum.env", "QUORUM_DATA_DIR=/var/lib/quorum"):
        assert said in GUIDE
    assert f"deploy/systemd/{unit.name}" in GUIDE
    # The hardening.
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
        "UMask": "0077",
    }.items():
        assert service[key] == [value], key


def test_the_web_server_leaves_the_sequencer_to_its_own_unit():
    web = shlex.split(
        unit_settings(DEPLOY / "systemd" / "quorum-web.service")["Service"]["ExecStart"][0]
    )
    assert "--no-sequencer" in web
    # On the address of QUORUM_LISTEN: 127.0.0.1 (only nginx on the host reaches it) unless
    # the environment file names the host's address for a proxy elsewhere (step 9).
    assert web[web.index("--host") + 1] == "${QUORUM_LISTEN}"
    settings = unit_settings(DEPLOY / "systemd" / "quorum-web.service")["Service"]
    assert settings["Environment"] == ["QUORUM_LISTEN=127.0.0.1"]
    assert "QUORUM_LISTEN=THIS_HOST_ADDRESS" in GUIDE
    sequencer = unit_settings(DEPLOY / "systemd" / "quorum-sequencer.service")
    assert shlex.split(sequencer["Service"]["ExecStart"][0])[1:] == ["sequencer"]


def test_the_timer_starts_the_periodic_chores_every_hour():
    timer = unit_settings(DEPLOY / "systemd" / "quorum-periodic.timer")
    assert timer["Timer"]["Unit"] == ["quorum-periodic.service"]
    assert timer["Timer"]["OnCalendar"] == ["hourly"]
    assert timer["Timer"]["Persistent"] == ["true"]
    assert timer["Install"]["WantedBy"] == ["timers.target"]


def test_systemd_accepts_the_units(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian's systemd package)")
    # As installed, but with this checkout's quorum, which systemd checks is executable.
    quorum = Path(sys.executable).with_name("quorum")
    assert quorum.exists()
    for unit in UNITS:
        (tmp_path / unit.name).write_text(unit.read_text().replace(INSTALLED_QUORUM, str(quorum)))
    result = subprocess.run(
        [analyze, "verify", *(str(tmp_path / unit.name) for unit in UNITS)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    complaints = [
        line for line in (result.stdout + result.stderr).splitlines() if "quorum-" in line
    ]
    assert result.returncode == 0 and not complaints, result.stdout + result.stderr


# -- PostgreSQL --------------------------------------------------------------------------


def _postgres_binaries() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    return found[-1].parent if found else None


@contextlib.contextmanager
def _as_postgres_owner() -> Iterator[tuple[list[str], Path]]:
    """(command prefix, private folder): PostgreSQL refuses to run as root."""
    folder = Path(tempfile.mkdtemp(prefix="quorum-pg-"))
    try:
        if os.geteuid() != 0:
            yield [], folder
            return
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root, and there is no postgres user to run PostgreSQL as")
        runuser = shutil.which("runuser") or shutil.which("runuser", path="/usr/sbin:/sbin")
        if runuser is None:
            pytest.skip("running as root without runuser")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        yield [runuser, "-u", "postgres", "--"], folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_a_real_postgresql_starts_with_the_settings():
    binaries = _postgres_binaries()
    if binaries is None:
        pytest.skip("no PostgreSQL server binaries in /usr/lib/postgresql (Debian's postgresql)")
    with _as_postgres_owner() as (prefix, folder):
        data = folder / "data"
        subprocess.run(
            [
                *prefix,
                str(binaries / "initdb"),
                "--no-sync",
                "-A",
                "trust",
                "-U",
                "postgres",
                "-D",
                str(data),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        conf = data / "postgresql.conf"
        settings_file = data / "quorum.conf"
        shutil.copy(DEPLOY / "postgresql" / "quorum.conf", settings_file)
        with conf.open("a") as out:
            out.write("\ninclude 'quorum.conf'\n")
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(settings_file, owner.pw_uid, owner.pw_gid)
        port = _free_port()
        options = f"-p {port} -k {folder} -c listen_addresses=''"
        pg_ctl = [*prefix, str(binaries / "pg_ctl"), "-D", str(data), "-l", str(folder / "log")]
        started = subprocess.run(
            [*pg_ctl, "-o", options, "-w", "-t", "30", "start"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        try:
            log = (folder / "log").read_text(errors="replace") if (folder / "log").exists() else ""
            assert started.returncode == 0, started.stdout + started.stderr + log
            import psycopg

            with psycopg.connect(
                host=str(folder), port=port, user="postgres", dbname="postgres", connect_timeout=10
            ) as connection:

                def show(name: str) -> str:
                    return connection.execute(f"SHOW {name}").fetchone()[0]

                assert show("synchronous_commit") == "on"
                assert show("synchronous_standby_names") == "FIRST 1 (standby1)"
                assert show("wal_level") == "replica"
                assert show("hot_standby") == "on"
                assert int(show("max_wal_senders")) >= 2
                assert show("fsync") == "on"
                # Nothing of the file was rejected: every setting in it is in effect, but
                # the one this test overrides on the command line.
                errors = connection.execute(
                    "SELECT name, error FROM pg_file_settings WHERE error IS NOT NULL"
                    " AND name <> 'listen_addresses'"
                ).fetchall()
                assert errors == []
        finally:
            subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True, timeout=60)


# -- Redis --------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_real_redis_starts_with_the_settings(tmp_path):
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (Debian's redis-server)")
    import redis

    port = _free_port()
    # The file as it is, with only the port and the folder of this test put after it.
    with (tmp_path / "log").open("wb") as log:
        process = subprocess.Popen(
            [
                server,
                str(DEPLOY / "redis" / "quorum.conf"),
                "--port",
                str(port),
                "--dir",
                str(tmp_path),
                "--daemonize",
                "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5, decode_responses=True)
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, (tmp_path / "log").read_text()
            with contextlib.suppress(redis.ConnectionError):
                if client.ping():
                    break
            assert time.monotonic() < deadline, (tmp_path / "log").read_text()
            time.sleep(0.1)
        config = client.config_get("*")
        assert config["maxmemory-policy"] == "noeviction"
        assert int(config["maxmemory"]) == 256 * 1024 * 1024
        assert config["protected-mode"] == "yes"
        assert config["appendonly"] == "no"
        assert config["save"] == ""
        assert re.fullmatch(r"127\.0\.0\.1 -::1", config["bind"])
        client.close()
    finally:
        process.kill()
        process.wait(timeout=10)
