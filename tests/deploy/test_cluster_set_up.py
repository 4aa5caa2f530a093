"""bench/cluster.py builds its hosts from docs/deploy.md and deploy/, step by step.

Nothing is started here: the cluster's own functions (bench/deployment.py) are called with the
cluster's values and their results compared with the guide and the files. A step of the guide
or a file of deploy/ that changes in a way the cluster does not follow fails here, long before
the slow cluster run (tests/bench/test_cluster_bench.py) would.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import cluster  # noqa: E402
import deployment  # noqa: E402

GUIDE = (ROOT / "docs" / "deploy.md").read_text()


@pytest.fixture
def the(tmp_path: Path) -> cluster.Cluster:
    """A cluster's set-up as data: its folder, and nothing running."""
    client_env = {"SSL_CERT_FILE": str(tmp_path / "proxy" / "tls.pem")}
    nothing: Any = None  # no database: the set-up as data only
    return cluster.Cluster(
        tmp_path, nothing, nothing, {}, "redis-password", client_env, "database-password"
    )


def test_the_certificate_is_step_5_s_openssl_command_for_the_proxy_s_address(tmp_path):
    command = deployment.certificate_command(
        cluster.SERVER_NAME, tmp_path / "tls.key", tmp_path / "tls.pem"
    )
    assert command[:3] == ["openssl", "req", "-x509"]
    assert f"subjectAltName=IP:{cluster.SERVER_NAME}" in command
    assert f"/CN={cluster.SERVER_NAME}" in command
    # The guide's command, word for word but for the name, DNS: and the two paths.
    guide = shlex.split(
        GUIDE[GUIDE.index("openssl req -x509") :].split("```")[0].replace("\\\n", " ")
    )
    assert len(command) == len(guide)
    changed = [(said, done) for said, done in zip(guide, command, strict=True) if said != done]
    assert [done for _said, done in changed] == [
        f"/CN={cluster.SERVER_NAME}",
        f"subjectAltName=IP:{cluster.SERVER_NAME}",
        str(tmp_path / "tls.key"),
        str(tmp_path / "tls.pem"),
    ]
    # Step 5 tells a test host reached by address to do just that.
    assert "write `IP:` for `DNS:`" in deployment.guide_step(5)


def test_the_site_is_rendered_with_exactly_the_names_of_step_6():
    names = deployment.render_names()
    assert names == [
        "SERVER_NAME",
        "HTTPS_LISTEN",
        "HTTP_LISTEN",
        "UPSTREAM",
        "CACHE_DIR",
        "ERROR_LOG",
        "CERTIFICATE",
        "CERTIFICATE_KEY",
    ]
    # The placeholders of the template are those names: render.py would refuse others.
    import re

    template = (ROOT / "deploy" / "nginx" / "quorum.conf.in").read_text()
    assert sorted(set(re.findall(r"@([A-Z][A-Z0-9_]*)@", template))) == sorted(names)
    # The cluster gives a value for each, and for nothing else.
    source = Path(cluster.__file__).read_text()
    start = source[source.index("deployment.render_command({") :]
    given = re.findall(r'"([A-Z_]+)":', start[: start.index("})")])
    assert sorted(given) == sorted(names)
    with pytest.raises(ValueError, match="step 6 renders with"):
        deployment.render_command({name: "x" for name in names[1:]})


def test_the_render_command_is_the_guide_s_on_this_checkout():
    command = deployment.render_command({name: "v" for name in deployment.render_names()})
    assert command[1:3] == [
        str(ROOT / "deploy" / "render.py"),
        str(ROOT / "deploy" / "nginx" / "quorum.conf.in"),
    ]
    assert "python3 /opt/quorum/deploy/render.py /opt/quorum/deploy/nginx/quorum.conf.in" in (
        deployment.guide_step(6)
    )


def test_several_web_hosts_are_one_upstream_with_a_server_line_each(tmp_path):
    sys.path.insert(0, str(ROOT / "deploy"))
    import render

    template = (ROOT / "deploy" / "nginx" / "quorum.conf.in").read_text()
    values = {name: "v" for name in deployment.render_names()}
    upstream = ",".join(f"{cluster.address(host)}:{cluster.WEB_PORT}" for host in cluster.WEB_HOSTS)
    site = render.render(template, {**values, "UPSTREAM": upstream})
    block = site[site.index("upstream quorum {") :].split("}")[0]
    assert [line.strip() for line in block.splitlines() if "server" in line] == [
        "server 10.77.0.11:8000;",
        "server 10.77.0.12:8000;",
    ]
    assert "UPSTREAM=10.0.0.11:8000,10.0.0.12:8000" in deployment.guide_step(6)
    assert "`UPSTREAM`" in deployment.guide_step(9)


def test_a_web_host_s_environment_file_is_step_4_s_with_step_9_s_lines(the):
    text = deployment.environment_file(the.host_settings("web1"), cluster.TEST_ONLY_SETTINGS)
    written = deployment.read_environment_file(text)
    step_4 = deployment.read_environment_file(
        "\n".join(deployment.heredoc(4, "/etc/quorum/quorum.env"))
    )
    step_9 = deployment.read_environment_file(
        "\n".join(deployment.settings_block(9, "/etc/quorum/quorum.env"))
    )
    guide = {**step_4, **step_9}
    # Every name of the guide, in the guide's order, then only the test's own.
    assert list(written)[: len(guide)] == [*step_4, *(k for k in step_9 if k not in step_4)]
    assert list(written)[len(guide) :] == list(cluster.TEST_ONLY_SETTINGS)
    # What the guide says as it is says stays as it is (proxy headers, cookies, HSTS, logs).
    for name, value in guide.items():
        if name not in the.host_settings("web1"):
            assert written[name] == value, name
    # The cluster's values have the guide's form.
    assert written["QUORUM_LISTEN"] == cluster.address("web1")
    assert written["QUORUM_TRUSTED_PROXIES"] == cluster.address("proxy")
    assert written["DATABASE_URL"].partition("?")[2] == guide["DATABASE_URL"].partition("?")[2]
    assert written["DATABASE_URL"].startswith("postgres://quorum:database-password@")
    assert written["REDIS_URL"].startswith("redis://:redis-password@")
    assert written["QUORUM_CSRF_TRUSTED_ORIGINS"] == f"https://{written['QUORUM_ALLOWED_HOSTS']}"
    # Test-only settings never hide a name of the guide.
    assert not set(cluster.TEST_ONLY_SETTINGS) & set(guide)
    with pytest.raises(ValueError, match="do not set"):
        deployment.environment_file({"QUORUM_NOT_IN_THE_GUIDE": "x"}, {})


def test_the_web_server_and_the_sequencer_run_their_units_commands(the):
    the.web_host("web2")
    web = deployment.service_command(cluster.WEB_UNIT, the.unit_env("web2", cluster.WEB_UNIT))
    (line,) = deployment.unit_settings(cluster.WEB_UNIT)["Service"]["ExecStart"]
    expected = shlex.split(line.replace("${QUORUM_LISTEN}", cluster.address("web2")))
    assert web[0] == str(Path(sys.executable).with_name("quorum"))
    assert web[1:] == expected[1:]
    assert web[web.index("--port") + 1] == str(cluster.WEB_PORT)
    assert "--no-sequencer" in web  # the sequencer is a process of its own
    sequencer = deployment.service_command(
        cluster.SEQUENCER_UNIT, the.unit_env("web2", cluster.SEQUENCER_UNIT)
    )
    assert sequencer[1:] == ["sequencer"]
    # The unit's environment file is the one the cluster wrote, and its folder the data dir.
    assert the.unit_env("web2", cluster.WEB_UNIT)["QUORUM_DATA_DIR"] == str(the.data_dir("web2"))


def test_the_listen_address_defaults_to_loopback_for_a_single_host():
    env = deployment.service_environment(cluster.WEB_UNIT, "QUORUM_DATA_DIR=/var/lib/quorum\n")
    command = deployment.service_command(cluster.WEB_UNIT, env)
    assert command[command.index("--host") + 1] == "127.0.0.1"
    override = deployment.service_environment(cluster.WEB_UNIT, "QUORUM_LISTEN='10.0.0.11'\n")
    command = deployment.service_command(cluster.WEB_UNIT, override)
    assert command[command.index("--host") + 1] == "10.0.0.11"


def test_redis_runs_step_3_s_file_with_only_step_9_s_edits(the):
    command = deployment.redis_command(
        {"bind": cluster.address("redis"), "requirepass": "p", "dir": "/tmp"}
    )
    assert command[:2] == ["redis-server", str(ROOT / "deploy" / "redis" / "quorum.conf")]
    with pytest.raises(ValueError, match="may be changed"):
        deployment.redis_command({"maxmemory-policy": "allkeys-lru"})
    assert "requirepass" in deployment.guide_step(9) and "`bind`" in deployment.guide_step(9)


def test_the_hosts_are_started_through_these_functions_only():
    """No command line of the cluster's own for nginx's site, Quorum or Redis."""
    source = Path(cluster.__file__).read_text()
    for own in ('"serve"', '"sequencer"', '"--bind"', "proxy_pass", "upstream quorum"):
        assert own not in source, own
    for used in (
        "deployment.certificate_command(",
        "deployment.render_command(",
        "deployment.environment_file(",
        "deployment.service_command(",
        "deployment.redis_command(",
        "deployment.nginx_main_config(",
    ):
        assert used in source, used


def test_the_guide_says_the_cluster_follows_it():
    assert "bench/cluster.py` builds several hosts" in GUIDE
    assert "tests/deploy/test_cluster_set_up.py" in GUIDE
