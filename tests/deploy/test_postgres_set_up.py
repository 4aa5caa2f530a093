"""docs/deploy.md step 2, as bench/failover.py's ``start_pair`` (and so bench/cluster.py) runs it.

Nothing is started here: the commands and lines the set-up takes from the guide
(bench/deployment.py) are checked against the guide and deploy/postgresql/quorum.conf, long
before the slow runs (tests/bench/test_failover_bench.py, test_cluster_bench.py) would fail.
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import deployment  # noqa: E402
import failover  # noqa: E402

SETTINGS = (ROOT / "deploy" / "postgresql" / "quorum.conf").read_text()
VALUES = deployment.PostgresValues(
    primary="10.77.0.21",
    port=5433,
    standby="10.77.0.22",
    web_subnet="10.77.0.0/24",
    password="quorum-secret",
    replicator_password="replicator-secret",
    standby_data="/tmp/test/db2",
    passfile="/tmp/test/db2-pgpass",
)


@pytest.fixture
def step() -> deployment.PostgresSetUp:
    return deployment.postgres_set_up(VALUES)


def synchronous_standby() -> str:
    match = re.search(r"^synchronous_standby_names = 'FIRST 1 \((\w+)\)'", SETTINGS, re.M)
    assert match is not None
    return match.group(1)


def test_the_slot_and_the_application_name_are_the_standby_that_commits_wait_for(step):
    name = synchronous_standby()
    assert name == failover.SYNCHRONOUS_STANDBY
    backup = step.basebackup
    assert backup[backup.index("--slot") + 1] == name
    assert "--create-slot" in backup and "--write-recovery-conf" in backup
    # -R is --write-recovery-conf: the guide gives it once.
    assert "-R" not in backup
    (conninfo,) = step.standby_lines
    assert f"application_name={name}" in conninfo


def test_the_roles_are_made_with_passwords_and_the_replicator_may_replicate(step):
    assert step.sql == [
        "CREATE ROLE quorum LOGIN PASSWORD 'quorum-secret'",
        "CREATE ROLE replicator REPLICATION LOGIN PASSWORD 'replicator-secret'",
    ]
    assert step.createdb == ["createdb", "--owner", "quorum", "quorum"]
    assert "password_encryption = scram-sha-256" in SETTINGS


def test_the_standby_connects_as_the_replicator_with_the_password_file(step):
    backup = step.basebackup
    assert backup[backup.index("-U") + 1] == "replicator"
    assert backup[backup.index("-h") + 1] == VALUES.primary
    assert backup[backup.index("-p") + 1] == str(VALUES.port)
    assert backup[backup.index("-D") + 1] == VALUES.standby_data
    assert step.pgpass_line == "10.77.0.21:5433:replication:replicator:replicator-secret"
    (conninfo,) = step.standby_lines
    assert conninfo == (
        "primary_conninfo = 'host=10.77.0.21 port=5433 user=replicator "
        "passfile=/tmp/test/db2-pgpass application_name=standby1'"
    )
    # The guide makes ~postgres/.pgpass 0600 before the password goes in (libpq ignores a
    # file others may read).
    assert "-m 0600 /dev/null /var/lib/postgresql/.pgpass" in deployment.guide_step(2)


def test_pg_hba_lets_in_the_web_hosts_and_the_standby_by_password_over_tls_only(step):
    rules = [line.split() for line in step.hba_lines if not line.startswith("#")]
    assert rules == [
        ["hostssl", "quorum", "quorum", "10.77.0.0/24", "scram-sha-256"],
        ["hostssl", "replication", "replicator", "10.77.0.22/32", "scram-sha-256"],
    ]
    assert not any("trust" in line for line in step.hba_lines)


def test_the_test_s_own_cluster_trusts_no_tcp_connection():
    # initdb stands in for Debian's package: local connections are the test's admin, TCP
    # (the web hosts, the standby, failover.py's 127.0.0.1) always needs a password.
    source = inspect.getsource(failover._initdb)
    assert "--auth-host=scram-sha-256" in source
    assert "ssl = on" in source
    assert "trust" not in inspect.getsource(failover.start_pair)


def test_listen_addresses_is_the_guide_s_edit_of_the_file(tmp_path):
    edited = deployment.postgres_settings("10.77.0.21")
    assert "listen_addresses = 'localhost'" in SETTINGS
    assert "\nlisten_addresses = 'localhost, 10.77.0.21'\n" in edited
    # Nothing else of the file changes.
    assert edited.replace("localhost, 10.77.0.21", "localhost") == SETTINGS
    assert deployment.listen_addresses_line("10.77.0.22") == (
        "listen_addresses = 'localhost, 10.77.0.22'"
    )


def test_the_roles_come_before_a_synchronous_standby_is_named():
    # Once quorum.conf is in, every commit (CREATE ROLE too) waits for standby1.
    (primary_block, _standby_block) = deployment.shell_blocks(deployment.guide_step(2))
    assert primary_block.index("CREATE ROLE") < primary_block.index("quorum.conf")
    assert primary_block.index("createdb") < primary_block.index("quorum.conf")


def test_a_name_the_guide_no_longer_has_stops_the_set_up(monkeypatch):
    guide = deployment.GUIDE.read_text().replace("WEB_SUBNET", "CLIENTS")
    step_of = deployment.guide_step
    monkeypatch.setattr(deployment, "guide_step", lambda number: step_of(number, guide))
    with pytest.raises(ValueError, match="WEB_SUBNET"):
        deployment.postgres_set_up(VALUES)


def test_the_web_hosts_connect_as_the_quorum_role_with_its_password():
    url = failover.database_url([("10.77.0.21", 5432), ("10.77.0.22", 5432)], "p")
    assert url == (
        "postgres://quorum:p@10.77.0.21:5432,10.77.0.22:5432/quorum"
        "?target_session_attrs=read-write&connect_timeout=2"
    )
