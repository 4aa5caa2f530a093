"""Several hosts on one machine, built as docs/deploy.md says, and each lost in turn under load.

Hosts are Linux network namespaces on one bridge, with addresses of 10.77.0.0/24 inside the
namespaces only: nginx (``proxy``), two Quorum web hosts (``web1``, ``web2``), the PostgreSQL
primary (``db1``) and its synchronous standby (``db2``), Redis (``redis``) for the rate limits
and single use, and signatories (``client``) on many addresses.

Each host is set up from the files of deploy/ with the guide's own commands, read from
docs/deploy.md by bench/deployment.py (tests/deploy/test_cluster_set_up.py checks that they
still agree):

- proxy: step 5's ``openssl`` command makes a self-signed certificate for its address (a test
  host, as step 5 says); step 6's ``render.py`` command renders deploy/nginx/quorum.conf.in
  with the cluster's values for exactly the guide's names, UPSTREAM listing both web hosts
  (step 9); nginx.conf only wraps it as Debian's does (pid and temporary files here, workers
  as root). Clients speak HTTPS to it and verify that certificate; nginx's rate limit of step
  6 stays as it is, so the load is spread over 60 addresses, each under 2 statements a second.
- web1, web2: a ``quorum.env`` written from step 4's with step 9's lines (both database hosts,
  Redis with its password, the proxy as the only trusted proxy, ``QUORUM_LISTEN`` the host's
  address) and a few test-only lines (no proof of work: the bodies are made without one;
  Quorum's per-client burst; log level). Each runs the ``ExecStart`` of
  deploy/systemd/quorum-web.service and of quorum-sequencer.service, expanded with that file
  as systemd would, in the unit's WorkingDirectory, as separate processes: one sequencer holds
  the lock, the other waits. web2 gets web1's two key files (step 9). They run as root, not
  as ``quorum``: the data folders are the test's. The units' hardening (ProtectSystem,
  PrivateTmp, NoNewPrivileges …) and Restart= need systemd as PID 1, which a test in
  namespaces does not have; tests/deploy/test_configs.py has ``systemd-analyze verify`` check
  them. Where a unit would restart on its own, the test starts it again after the fault.
- redis: ``redis-server deploy/redis/quorum.conf`` with only the edits step 9 names (``bind``
  to its address, ``requirepass``) and ``dir``, as arguments after the file.
- db1, db2: step 2 (bench/failover.py's ``start_pair``): deploy/postgresql/quorum.conf with
  the guide's listen_addresses edit, its pg_hba.conf lines (hostssl, scram-sha-256) for the web
  hosts' subnet and the standby, the ``quorum`` and ``replicator`` roles with passwords, the
  database, and the standby's ``pg_basebackup`` with the slot standby1 and a password file;
  the web hosts connect as ``quorum`` with its password. Only ``initdb`` (with TLS on, as
  Debian's package makes a cluster) is the test's own.
- web1 runs step 8's ``quorum migrate``, then ``quorum demo --no-serve`` (the demo initiative
  in place of ``createsuperuser``), then ``quorum check --deploy``: an error, or a warning not
  in EXPECTED_WARNINGS, stops the run.

Under load, one at a time, with ``kill -9``: a web server, the sequencer holding the lock,
Redis, and the PostgreSQL primary (then its standby is promoted). After each fault: every
acknowledged statement is in the log exactly once, no leaf index is reused or skipped, the log
grew (and the lock moved to the other sequencer), and the auditor verifies it over HTTPS end
to end and that it only grew since the last audit. Then once: a noisy client is refused (429,
by nginx or by Quorum) while another is not, an X-Forwarded-For written by a client (through
the proxy, or straight to a web host) does not change who it is counted as, the counts come
from nginx's microcache, /metrics is 404 through the proxy, plain HTTP is redirected and the
proxy speaks HTTP/2 (curl).

It prints per fault what was acknowledged, stored and lost, and the longest time without an
acknowledgement; its last line is

    cluster faults=N acknowledged=N lost=N reused_or_skipped=N

The exit status is 1 when a check fails. Needs root (namespaces), nginx, openssl, curl,
redis-server and PostgreSQL's server binaries; everything it starts is stopped and removed at
the end (QUORUM_CLUSTER_KEEP=1 keeps the folder).

    .venv/bin/python bench/cluster.py --quick      # every fault briefly, under three minutes
    .venv/bin/python bench/cluster.py              # longer load around each fault
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import http.client
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


import common
import deployment
import failover

SUBNET = "10.77.0"
BRIDGE_NS = "q-switch"
HOSTS = {"proxy": 2, "web1": 11, "web2": 12, "db1": 21, "db2": 22, "redis": 31, "client": 100}
WEB_HOSTS = ("web1", "web2")
#: The signatories' addresses, all on the client host: enough of them that each stays under
#: the nginx site's first rate limit (2 statements a second, bursts of 20) under load.
CLIENTS = [f"{SUBNET}.{n}" for n in range(101, 161)]
NOISY, QUIET = f"{SUBNET}.200", f"{SUBNET}.201"
#: The port of quorum-web.service's ExecStart (tests/deploy/test_cluster_set_up.py checks it).
WEB_PORT = 8000
BURST = 300  # Quorum's limit, statements per client per minute: the load stays under it
SLUG = common.DEMO_SLUG
STATEMENTS = f"/api/v1/initiatives/{SLUG}/statements"
COUNTS = f"/api/v1/initiatives/{SLUG}/counts"
WEB_UNIT = deployment.DEPLOY / "systemd" / "quorum-web.service"
SEQUENCER_UNIT = deployment.DEPLOY / "systemd" / "quorum-sequencer.service"
#: Only for the test, after the guide's lines in each web host's quorum.env.
TEST_ONLY_SETTINGS = {
    "QUORUM_POW": "off",  # the load's bodies carry no proof of work
    "QUORUM_RATE_BURST": str(BURST),
    "QUORUM_RATE_SUSTAINED": "1000000",
    "QUORUM_LOG_LEVEL": "warning",
}
#: The key files step 9 copies from the first web host to the others.
KEY_FILES = ("secret-key", "log-key")


def address(host: str) -> str:
    return f"{SUBNET}.{HOSTS[host]}"


#: The site's name: clients reach the proxy by its address (step 5, a test host).
SERVER_NAME = address("proxy")


def netns(host: str) -> str:
    return f"q-{host}"


def run(
    *command: str, check: bool = True, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=False, env=env
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {result.stderr.strip()[-800:]}")
    return result


def inside(host: str, *command: str) -> list[str]:
    return ["ip", "netns", "exec", netns(host), *command]


# --- the network -----------------------------------------------------------------------------


#: Held for a whole run: two runs at once would share the namespaces' names and addresses.
RUN_LOCK = Path(tempfile.gettempdir()) / "quorum-cluster-bench.lock"


def namespaces() -> list[str]:
    """Every namespace a run makes, the bridge's first."""
    return [BRIDGE_NS, *(netns(host) for host in HOSTS)]


def remove_leftovers() -> list[str]:
    """Remove what a run that was killed left behind: its namespaces, with the processes still
    running in them (a PostgreSQL or nginx of a host), and veth pairs not yet moved into one.

    Only called under :data:`RUN_LOCK`, so nothing of ours that it finds is in use. Returns the
    namespaces removed.
    """
    listed = run("ip", "netns", "list", check=False).stdout.split("\n")
    present = {line.split()[0] for line in listed if line.strip()}
    removed = []
    for name in namespaces():
        if name not in present:
            continue
        pids = run("ip", "netns", "pids", name, check=False).stdout.split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        run("ip", "netns", "del", name, check=False)
        removed.append(name)
    for n in range(len(HOSTS)):
        run("ip", "link", "del", f"qv{n}", check=False)
    return removed


@contextlib.contextmanager
def only_run(wait: float = 30) -> Iterator[None]:
    """This run alone on the machine, after clearing what an earlier, killed one left.

    Waits ``wait`` seconds at most for a run that holds the lock (a test's short hold), then
    gives up: a whole run takes minutes.
    """
    with RUN_LOCK.open("a") as lock:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise SystemExit(f"another cluster run holds {RUN_LOCK}") from None
                time.sleep(0.2)
        removed = remove_leftovers()
        if removed:
            print(f"removed what a killed run left: {' '.join(removed)}", flush=True)
        yield


@contextlib.contextmanager
def network() -> Iterator[None]:
    """A bridge in a namespace of its own, and one namespace per host plugged into it."""
    created: list[str] = []
    try:
        run("ip", "netns", "add", BRIDGE_NS)
        created.append(BRIDGE_NS)
        run(*inside("switch", "ip", "link", "add", "br0", "type", "bridge"))
        run(*inside("switch", "ip", "link", "set", "br0", "up"))
        for n, host in enumerate(HOSTS):
            run("ip", "netns", "add", netns(host))
            created.append(netns(host))
            outer, inner = f"qv{n}", f"qh{n}"
            run("ip", "link", "add", outer, "type", "veth", "peer", "name", inner)
            run("ip", "link", "set", outer, "netns", BRIDGE_NS)
            run("ip", "link", "set", inner, "netns", netns(host))
            run(*inside("switch", "ip", "link", "set", outer, "master", "br0"))
            run(*inside("switch", "ip", "link", "set", outer, "up"))
            run(*inside(host, "ip", "link", "set", "lo", "up"))
            run(*inside(host, "ip", "link", "set", inner, "name", "eth0"))
            run(*inside(host, "ip", "addr", "add", f"{address(host)}/24", "dev", "eth0"))
            run(*inside(host, "ip", "link", "set", "eth0", "up"))
        for extra in [*CLIENTS, NOISY, QUIET]:
            run(*inside("client", "ip", "addr", "add", f"{extra}/24", "dev", "eth0"))
        yield
    finally:
        for name in reversed(created):
            run("ip", "netns", "del", name, check=False)


# --- the services ----------------------------------------------------------------------------


@dataclass
class Service:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """SIGKILL to its whole process group, as a host lost."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        common.stop_group(self.process)


def start(
    name: str, host: str, command: list[str], log: Path, env: dict[str, str], cwd: Path
) -> Service:
    with log.open("ab") as out:
        process = subprocess.Popen(
            inside(host, *command), env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    return Service(name, process, log)


def wait_for(what: str, check: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise RuntimeError(f"{what}: not ready after {timeout:.0f} s")


def curl(*arguments: str) -> str:
    """curl in the client host: what it writes with --write-out (an empty string on error)."""
    result = run(*inside("client", "curl", "-s", "-o", "/dev/null", "--max-time", "2",
                         *arguments), check=False)  # fmt: skip
    return result.stdout.strip()


def systemd_environment() -> dict[str, str]:
    """What systemd gives every service before its own Environment= and EnvironmentFile=
    (and, benchmarking another copy of src/, its path)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    if common.BENCH_SRC:
        env["PYTHONPATH"] = common.BENCH_SRC
    return env


@dataclass
class Cluster:
    directory: Path
    primary: failover.Node
    standby: failover.Node
    services: dict[str, Service]
    redis_password: str
    #: For the signatories and the auditor in the client host: they trust the proxy's
    #: certificate (SSL_CERT_FILE).
    client_env: dict[str, str]
    #: The quorum role's (docs/deploy.md step 2), in the web hosts' DATABASE_URL.
    database_password: str

    @property
    def certificate(self) -> Path:
        return self.directory / "proxy" / "tls.pem"

    def host_settings(self, host: str) -> dict[str, str]:
        """The cluster's values for the names of steps 4 and 9 in a web host's quorum.env."""
        return {
            "QUORUM_DATA_DIR": str(self.data_dir(host)),
            "DATABASE_URL": failover.database_url(
                [(address("db1"), 5432), (address("db2"), 5432)], self.database_password
            ),
            "REDIS_URL": f"redis://:{self.redis_password}@{address('redis')}:6379/0",
            "QUORUM_ORIGIN": SERVER_NAME,
            "QUORUM_ALLOWED_HOSTS": SERVER_NAME,
            "QUORUM_CSRF_TRUSTED_ORIGINS": f"https://{SERVER_NAME}",
            "QUORUM_TRUSTED_PROXIES": address("proxy"),
            "QUORUM_LISTEN": address(host),
        }

    def data_dir(self, host: str) -> Path:
        """/var/lib/quorum of that host: QUORUM_DATA_DIR and the units' WorkingDirectory."""
        return self.directory / host / "var-lib-quorum"

    def web_host(self, host: str) -> None:
        """Steps 1 and 4 on a web host: its data folder and its /etc/quorum/quorum.env."""
        self.data_dir(host).mkdir(parents=True, mode=0o700)
        text = deployment.environment_file(self.host_settings(host), TEST_ONLY_SETTINGS)
        (self.directory / host / "quorum.env").write_text(text)

    def unit_env(self, host: str, unit: Path) -> dict[str, str]:
        env_file = (self.directory / host / "quorum.env").read_text()
        return {**systemd_environment(), **deployment.service_environment(unit, env_file)}

    def run_unit(self, host: str, unit: Path) -> Service:
        """The unit's ExecStart in the host, as systemd would run it (but as root)."""
        working = deployment.unit_settings(unit)["Service"]["WorkingDirectory"]
        assert working == ["/var/lib/quorum"], working
        env = self.unit_env(host, unit)
        name = unit.stem.removeprefix("quorum-")
        return start(f"{name}@{host}", host, deployment.service_command(unit, env),
                     self.directory / host / f"{name}.log", env, self.data_dir(host))  # fmt: skip

    def quorum(self, host: str, *arguments: str, check: bool = True) -> str:
        """Step 8's ``q``: a quorum command with the host's quorum.env; what it wrote."""
        env = self.unit_env(host, WEB_UNIT)
        program = str(Path(sys.executable).with_name("quorum"))
        result = run(*inside(host, program, *arguments), timeout=300, env=env, check=check)
        if result.returncode != 0:
            raise RuntimeError(f"quorum {' '.join(arguments)}: {result.stdout}{result.stderr}")
        return result.stdout + result.stderr

    def start_web(self, host: str) -> None:
        self.services[host] = self.run_unit(host, WEB_UNIT)
        # Straight to the web host, as the proxy reaches it (with the site's name).
        url = f"http://{address(host)}:{WEB_PORT}/healthz"
        wait_for(host, lambda: curl("-w", "%{http_code}", "-H", f"Host: {SERVER_NAME}", url)
                 in ("200", "503"))  # fmt: skip

    def start_sequencer(self, host: str) -> None:
        self.services[f"sequencer@{host}"] = self.run_unit(host, SEQUENCER_UNIT)

    def start_redis(self) -> None:
        folder = self.directory / "redis"
        folder.mkdir(exist_ok=True)
        command = deployment.redis_command(
            {"bind": address("redis"), "requirepass": self.redis_password, "dir": str(folder)}
        )
        self.services["redis"] = start("redis", "redis", command, folder / "redis.log",
                                       systemd_environment(), folder)  # fmt: skip
        time.sleep(0.5)

    def start_proxy(self) -> None:
        """Steps 5 and 6 on the proxy host, and nginx with the rendered site."""
        folder = self.directory / "proxy"
        (folder / "temp").mkdir(parents=True)
        key, certificate = folder / "tls.key", folder / "tls.pem"
        run(*deployment.certificate_command(SERVER_NAME, key, certificate))
        site = run(*deployment.render_command({
            "SERVER_NAME": SERVER_NAME,
            "HTTPS_LISTEN": f"{address('proxy')}:443",
            "HTTP_LISTEN": f"{address('proxy')}:80",
            "UPSTREAM": ",".join(f"{address(host)}:{WEB_PORT}" for host in WEB_HOSTS),
            "CACHE_DIR": str(folder / "cache"),
            "ERROR_LOG": str(folder / "error.log"),
            "CERTIFICATE": str(certificate),
            "CERTIFICATE_KEY": str(key),
        })).stdout  # fmt: skip
        (folder / "quorum.conf").write_text(site)
        main = folder / "nginx.conf"
        main.write_text(deployment.nginx_main_config(folder / "quorum.conf", folder, as_root=True))
        nginx = ["nginx", "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(main)]
        run(*inside("proxy", *nginx, "-t"))  # step 6's `nginx -t`
        self.services["proxy"] = start("proxy", "proxy", [*nginx, "-g", "daemon off;"],
                                       folder / "nginx.log", systemd_environment(), folder)  # fmt: skip
        url = f"https://{SERVER_NAME}/healthz"
        wait_for("nginx", lambda: curl("-w", "%{http_code}", "--cacert", str(certificate), url)
                 in ("200", "503"))  # fmt: skip


def postgres_pair(
    directory: Path, nodes: list[failover.Node], password: str
) -> tuple[failover.Node, failover.Node]:
    """docs/deploy.md step 2: the primary in db1 and its synchronous standby in db2, the web
    hosts' subnet let in with the quorum role's ``password`` (added to ``nodes`` as they are
    made, for the caller to stop)."""
    bindir = failover._bindir()
    primary = failover.Node("db1", 5432, directory / "db1", bindir, address("db1"), netns("db1"))
    standby = failover.Node("db2", 5432, directory / "db2", bindir, address("db2"), netns("db2"))
    nodes += [primary, standby]
    failover.start_pair(primary, standby, web_network=f"{SUBNET}.0/24", password=password)
    return primary, standby


#: What step 8's ``quorum check --deploy`` may warn about on the guide's set-up, and why.
EXPECTED_WARNINGS = {
    # nginx redirects plain HTTP to HTTPS (step 6); Quorum behind it never sees plain HTTP.
    "security.W008": "SECURE_SSL_REDIRECT is off",
    # Step 4's HSTS is for the site's own name only, and not for browsers' preload lists.
    "security.W005": "SECURE_HSTS_INCLUDE_SUBDOMAINS is off",
    "security.W021": "SECURE_HSTS_PRELOAD is off",
}


def deploy_check(output: str) -> None:
    """Stops the set-up when step 8's ``quorum check --deploy`` said more than
    ``EXPECTED_WARNINGS`` (an error makes the command fail, and ``quorum`` raises first)."""
    said = set(re.findall(r"\(([a-z_]+\.[EWC]\d+)\)", output))
    unexpected = sorted(said - set(EXPECTED_WARNINGS))
    if unexpected:
        raise RuntimeError(f"quorum check --deploy: {unexpected}\n{output}")
    print(f"quorum check --deploy on web1: no error; expected warnings {sorted(said)}")


@contextlib.contextmanager
def cluster() -> Iterator[Cluster]:
    directory = Path(tempfile.mkdtemp(prefix="quorum-cluster-", dir="/tmp"))
    postgres = pwd.getpwnam("postgres")
    os.chown(directory, postgres.pw_uid, postgres.pw_gid)
    os.chmod(directory, 0o755)
    services: dict[str, Service] = {}
    nodes: list[failover.Node] = []
    try:
        with only_run(), network():
            try:
                database_password = secrets.token_hex(16)
                primary, standby = postgres_pair(directory, nodes, database_password)
                (directory / "client").mkdir(mode=0o700)
                client_env = common.base_env(directory / "client")
                client_env["SSL_CERT_FILE"] = str(directory / "proxy" / "tls.pem")
                the = Cluster(directory, primary, standby, services, secrets.token_hex(16),
                              client_env, database_password)  # fmt: skip
                the.start_redis()
                for host in WEB_HOSTS:
                    the.web_host(host)
                # Step 8 on the first host (the demo initiative in place of createsuperuser),
                # then step 9: its keys to the other.
                the.quorum("web1", "migrate")
                the.quorum("web1", "demo", "--no-serve")
                deploy_check(the.quorum("web1", "check", "--deploy", check=False))
                for name in KEY_FILES:
                    copy = the.data_dir("web2") / name
                    shutil.copyfile(the.data_dir("web1") / name, copy)
                    copy.chmod(0o600)
                for host in WEB_HOSTS:
                    the.start_web(host)
                    the.start_sequencer(host)
                the.start_proxy()
                yield the
            finally:
                # Inside the namespaces still: their processes are stopped before they go.
                for service in services.values():
                    with contextlib.suppress(Exception):
                        service.stop()
                for node in nodes:
                    if (node.data / "postmaster.pid").exists():
                        with contextlib.suppress(Exception):
                            node.stop("immediate")
    finally:
        if os.environ.get("QUORUM_CLUSTER_KEEP"):
            print(f"kept: {directory}")
        else:
            shutil.rmtree(directory, ignore_errors=True)


# --- the signatories (processes in the client host) --------------------------------------------


def _proxy_connection(source: str) -> http.client.HTTPSConnection:
    """HTTPS to the proxy from ``source``, verifying its certificate (SSL_CERT_FILE)."""
    context = ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    return http.client.HTTPSConnection(
        SERVER_NAME, 443, timeout=20, source_address=(source, 0), context=context
    )


def load_main(argv: list[str]) -> None:
    """``cluster.py --load OUT DURATION``: statements from every client address through the
    proxy, one line of JSON per answer in OUT, until DURATION has passed or OUT.stop exists."""
    out, duration = Path(argv[0]), float(argv[1])
    bodies = iter(common.make_bodies(200_000, offset=int(argv[2]) if len(argv) > 2 else 0))
    lock = threading.Lock()
    stop_at = time.monotonic() + duration
    stop_file = Path(f"{out}.stop")

    def client(source: str) -> None:
        connection: http.client.HTTPSConnection | None = None
        with out.open("a") as answers:
            while time.monotonic() < stop_at and not stop_file.exists():
                with lock:
                    body = next(bodies)
                # One kept-alive connection per client, a new one after an error.
                connection = connection or _proxy_connection(source)
                try:
                    connection.request("POST", STATEMENTS, body,
                                       {"Content-Type": "application/json"})  # fmt: skip
                    response = connection.getresponse()
                    status, text = response.status, response.read()
                except (OSError, http.client.HTTPException):
                    status, text = 0, b""
                    connection.close()
                    connection = None
                receipt = json.loads(text)["receipt"] if status == 201 else None
                line = json.dumps({"t": time.time(), "status": status, "receipt": receipt})
                with lock:
                    answers.write(line + "\n")
                    answers.flush()
                # Under nginx's 2 a second per address (and so under Quorum's BURST a minute).
                time.sleep(0.6 if status == 201 else 1.0)
        if connection is not None:
            connection.close()

    threads = [threading.Thread(target=client, args=(a,)) for a in CLIENTS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def probe_main(argv: list[str]) -> None:
    """``cluster.py --probe``: per-client limits, spoofed headers and what the proxy does with
    reads, /metrics, plain HTTP and HTTP/2; prints a JSON verdict."""
    bodies = iter(common.make_bodies(5_000, offset=900_000))
    json_type = {"Content-Type": "application/json"}

    def post(connection: http.client.HTTPConnection, headers: dict[str, str]) -> int:
        connection.request("POST", STATEMENTS, next(bodies), {**json_type, **headers})
        response = connection.getresponse()
        response.read()
        return response.status

    noisy_connection = _proxy_connection(NOISY)
    noisy = [post(noisy_connection, {}) for _ in range(BURST + 20)]
    # The quiet client writes the noisy one's address: through the proxy, and to web1 itself
    # (with the site's name, as a client going round the proxy would).
    quiet_connection = _proxy_connection(QUIET)
    quiet = [post(quiet_connection, {"X-Forwarded-For": NOISY}) for _ in range(3)]
    direct_connection = http.client.HTTPConnection(
        address("web1"), WEB_PORT, timeout=20, source_address=(QUIET, 0)
    )
    direct = [
        post(direct_connection, {"X-Forwarded-For": NOISY, "Host": SERVER_NAME}) for _ in range(3)
    ]

    def get(path: str) -> tuple[int, str | None]:
        quiet_connection.request("GET", path)
        response = quiet_connection.getresponse()
        response.read()
        return response.status, response.getheader("X-Cache-Status")

    cached = []
    for _ in range(5):  # two reads within one max-age (a sequencer interval) give a HIT
        cached += [get(COUNTS)[1], get(COUNTS)[1]]
        if "HIT" in cached:
            break
    metrics = get("/metrics")[0]
    plain = http.client.HTTPConnection(SERVER_NAME, 80, timeout=20, source_address=(QUIET, 0))
    plain.request("GET", f"/i/{SLUG}/")
    redirected = plain.getresponse().status
    http2 = subprocess.run(
        ["curl", "-s", "--http2", "--cacert", os.environ["SSL_CERT_FILE"], "-o", "/dev/null",
         "-w", "%{http_version}", f"https://{SERVER_NAME}/healthz"],
        capture_output=True, text=True, timeout=30, check=False,
    ).stdout  # fmt: skip
    for connection in (noisy_connection, quiet_connection, direct_connection, plain):
        connection.close()
    print(json.dumps({
        "noisy_refused": noisy.count(429), "quiet": quiet, "direct": direct,
        "cache": cached, "metrics": metrics, "http": redirected, "http_version": http2,
    }))  # fmt: skip


def probe_problems(verdict: dict) -> list[str]:
    problems = []
    if not verdict.get("noisy_refused") or any(
        s != 201 for s in verdict.get("quiet", []) + verdict.get("direct", [])
    ):
        problems.append("one client's limit held another back, or a written address counted")
    if "HIT" not in verdict.get("cache", []):
        problems.append("the counts did not come from nginx's cache")
    if verdict.get("metrics") != 404:
        problems.append("/metrics answered through the proxy")
    if verdict.get("http") != 301:
        problems.append("plain HTTP was not redirected")
    if verdict.get("http_version") != "2":
        problems.append("the proxy did not speak HTTP/2")
    return problems


# --- checks ----------------------------------------------------------------------------------


def read_answers(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def stored(node: failover.Node) -> tuple[dict[str, int], list[int], int]:
    """(receipt → rows, sorted leaf indices of the sequenced rows, log size) on `node`."""
    rows = node.sql_in(
        "quorum", "SELECT encode(leaf_hash, 'hex'), leaf_index FROM ledger_statement"
    )
    by_receipt: dict[str, int] = {}
    for receipt, _index in rows:
        by_receipt[receipt] = by_receipt.get(receipt, 0) + 1
    sizes = node.sql_in("quorum", "SELECT coalesce(max(size), 0) FROM ledger_logstate")
    # Statements still arriving have no leaf yet: only the sequenced ones are checked here.
    return by_receipt, sorted(i for _r, i in rows if i is not None), int(sizes[0][0])


def audit(the: Cluster, *, first: bool) -> bool:
    site = f"https://{SERVER_NAME}"
    command = failover.audit_command(site, the.directory / "audited.json", previous=not first)
    result = subprocess.run(inside("client", *command), capture_output=True, text=True,
                            timeout=300, check=False, env=the.client_env)  # fmt: skip
    if result.returncode != 0:
        print(f"  audit: {result.stdout[-600:]}{result.stderr[-600:]}")
    return result.returncode == 0


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--load":
        load_main(sys.argv[2:])
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "--probe":
        probe_main(sys.argv[2:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="every fault briefly (< 3 min)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/cluster.py needs root: it creates network namespaces")
    for tool in ("ip", "nginx", "openssl", "redis-server", "curl"):
        if shutil.which(tool) is None:
            sys.exit(f"bench/cluster.py needs {tool}")
    settle = 4.0 if args.quick else 15.0
    problems: list[str] = []
    faults = 0
    acknowledged: set[str] = set()
    lost_total = reused_total = 0
    with cluster() as the:
        answers = the.directory / "answers.jsonl"
        load = subprocess.Popen(
            inside("client", common.PYTHON, str(Path(__file__).resolve()), "--load",
                   str(answers), "600"),
            env=the.client_env, cwd=common.ROOT,
        )  # fmt: skip
        primary = the.primary
        try:
            time.sleep(settle)
            if not audit(the, first=True):
                problems.append("the first audit failed")

            def lose_web() -> None:
                the.services["web1"].kill()

            def after_web() -> None:
                the.start_web("web1")  # quorum-web.service's Restart=on-failure

            lost_holder = ""

            def lose_sequencer() -> None:
                nonlocal lost_holder
                lost_holder = primary_holder(the) or "none"
                the.services[f"sequencer@{lost_holder}"].kill()

            def after_sequencer() -> None:
                # The lock moved before the lost one is back (Restart=on-failure) and waits.
                holder = None
                with contextlib.suppress(RuntimeError):
                    wait_for("the other sequencer",
                             lambda: primary_holder(the) not in (None, lost_holder), 30)  # fmt: skip
                    holder = primary_holder(the)
                if holder is None:
                    problems.append(f"the lock did not move from the sequencer of {lost_holder}")
                the.start_sequencer(lost_holder)

            def lose_redis() -> None:
                the.services["redis"].kill()

            def after_redis() -> None:
                the.start_redis()

            def lose_primary() -> None:
                nonlocal primary
                the.primary.kill()
                the.standby.run("pg_ctl", "-D", str(the.standby.data), "-w", "promote")
                the.standby.sql("ALTER SYSTEM SET synchronous_standby_names = ''")
                the.standby.sql("SELECT pg_reload_conf()")
                primary = the.standby

            plan: list[tuple[str, Callable[[], None], Callable[[], None] | None]] = [
                ("web server", lose_web, after_web),
                ("sequencer holding the lock", lose_sequencer, after_sequencer),
                ("Redis", lose_redis, after_redis),
                ("PostgreSQL primary", lose_primary, None),
            ]
            for name, lose, recover in plan:
                faults += 1
                size_before = stored(primary)[2]
                start_at = time.time()
                lose()
                time.sleep(settle)
                if recover is not None:
                    recover()
                time.sleep(settle)
                failover.wait_sequenced(primary, "quorum", timeout=90)
                seen = read_answers(answers)
                acked = {a["receipt"] for a in seen if a["status"] == 201}
                by_receipt, indices, size = stored(primary)
                lost = sum(1 for r in acked if by_receipt.get(r, 0) == 0)
                twice = sum(1 for r in acked if by_receipt.get(r, 0) > 1)
                reused = sum(1 for n, i in enumerate(indices) if i != n)
                acknowledged_at = [a["t"] for a in seen if a["status"] == 201]
                audited = audit(the, first=False)
                print(
                    f"fault {faults} ({name}): acknowledged {len(acked)}, stored "
                    f"{sum(by_receipt.values())}, lost {lost}, stored twice {twice}, leaves "
                    f"reused or skipped {reused}, log {size_before} -> {size}, "
                    f"{failover.longest_gap(acknowledged_at, start_at):.1f} s unavailable, audit "
                    f"{'passed' if audited else 'FAILED'}"
                )
                acknowledged |= acked
                lost_total, reused_total = lost, reused
                if lost or twice or reused or size <= size_before or not audited:
                    problems.append(f"after the fault '{name}'")
            refused = sum(1 for a in read_answers(answers) if a["status"] == 429)
            print(f"load: {refused} answers 429 (nginx's or Quorum's limit) to the 60 clients")
            probe = subprocess.run(
                inside("client", common.PYTHON, str(Path(__file__).resolve()), "--probe"),
                env=the.client_env, cwd=common.ROOT, capture_output=True, text=True,
                timeout=300, check=False,
            )  # fmt: skip
            verdict = json.loads(probe.stdout.strip().splitlines()[-1]) if probe.stdout else {}
            print(f"clients and proxy: {verdict or probe.stderr[-800:]}")
            problems += probe_problems(verdict)
        finally:
            Path(f"{answers}.stop").touch()
            load.wait(60)
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print(
        f"cluster faults={faults} acknowledged={len(acknowledged)} lost={lost_total} "
        f"reused_or_skipped={reused_total}"
    )
    return 1 if problems else 0


def primary_holder(the: Cluster) -> str | None:
    """The web host whose sequencer holds the lock (the address of its database session)."""
    from quorum.ledger.locking import ADVISORY_KEY

    node = the.primary if (the.primary.data / "postmaster.pid").exists() else the.standby
    low, high = ADVISORY_KEY & 0xFFFFFFFF, ADVISORY_KEY >> 32
    rows = node.sql_in(
        "quorum",
        "SELECT host(a.client_addr) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
        f"WHERE l.locktype = 'advisory' AND l.objid = {low} AND l.classid = {high} AND l.granted",
    )
    by_address = {address(h): h for h in WEB_HOSTS}
    return by_address.get(rows[0][0]) if rows else None


if __name__ == "__main__":
    sys.exit(main())
