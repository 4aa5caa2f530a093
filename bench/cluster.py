"""Several hosts on one machine, and each of them lost in turn under load.

Hosts are Linux network namespaces on one bridge, with addresses of 10.77.0.0/24 inside the
namespaces only: nginx (``proxy``), two Quorum web hosts (``web1``, ``web2``: `quorum serve
--workers 1`, each with its sequencer beside it; one holds the lock, the other waits), the
PostgreSQL primary (``db1``) and its synchronous standby (``db2``), Redis (``redis``) for the
rate limits and single use, and signatories (``client``) on many addresses. The web hosts trust
only the proxy's address (QUORUM_TRUSTED_PROXIES); the proxy overwrites X-Forwarded-For.

Under load, one at a time, with ``kill -9``: a web server, the sequencer holding the lock,
Redis, and the PostgreSQL primary (then its standby is promoted). After each fault: every
acknowledged statement is in the log exactly once, no leaf index is reused or skipped, the log
grew, and the auditor verifies it end to end and that it only grew since the last audit. Then
once: a noisy client is refused (429) while another is not, and an X-Forwarded-For written by
a client (through the proxy, or straight to a web host) does not change who it is counted as.

It prints per fault what was acknowledged, stored and lost, and the longest time without an
acknowledgement; its last line is

    cluster faults=N acknowledged=N lost=N reused_or_skipped=N

The exit status is 1 when a check fails. Needs root (namespaces), nginx, redis-server and
PostgreSQL's server binaries; everything it starts is stopped and removed at the end.

    .venv/bin/python bench/cluster.py --quick      # every fault briefly, under three minutes
    .venv/bin/python bench/cluster.py              # longer load around each fault
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


import common
import failover

SUBNET = "10.77.0"
BRIDGE_NS = "q-switch"
HOSTS = {"proxy": 2, "web1": 11, "web2": 12, "db1": 21, "db2": 22, "redis": 31, "client": 100}
#: The signatories' addresses, all on the client host.
CLIENTS = [f"{SUBNET}.{n}" for n in range(101, 141)]
NOISY, QUIET = f"{SUBNET}.150", f"{SUBNET}.151"
WEB_PORT = 8000
BURST = 300  # statements per client per minute: the load stays under it, the noisy one not
SLUG = common.DEMO_SLUG
STATEMENTS = f"/api/v1/initiatives/{SLUG}/statements"


def address(host: str) -> str:
    return f"{SUBNET}.{HOSTS[host]}"


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


def start(name: str, host: str, command: list[str], log: Path, env: dict[str, str]) -> Service:
    with log.open("ab") as out:
        process = subprocess.Popen(
            inside(host, *command), env=env, cwd=common.ROOT, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    return Service(name, process, log)


def wait_for(what: str, check, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise RuntimeError(f"{what}: not ready after {timeout:.0f} s")


def answers_http(host: str, url: str) -> bool:
    result = run(*inside("client", "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                         "--max-time", "2", url), check=False)  # fmt: skip
    return result.stdout.strip() in ("200", "503")


def nginx_config(directory: Path) -> Path:
    """The proxy: X-Forwarded-For overwritten with the client's address, both web hosts."""
    config = directory / "nginx.conf"
    config.write_text(
        f"""
pid {directory}/nginx.pid;
error_log {directory}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {directory}/body;
    proxy_temp_path {directory}/proxy;
    upstream quorum {{
        server {address("web1")}:{WEB_PORT} max_fails=1 fail_timeout=2s;
        server {address("web2")}:{WEB_PORT} max_fails=1 fail_timeout=2s;
        keepalive 32;
    }}
    server {{
        listen {address("proxy")}:80;
        client_max_body_size 64k;
        location / {{
            proxy_pass http://quorum;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_next_upstream error timeout;
            proxy_connect_timeout 1s;
        }}
    }}
}}
"""
    )
    return config


@dataclass
class Cluster:
    directory: Path
    env: dict[str, str]
    primary: failover.Node
    standby: failover.Node
    services: dict[str, Service]

    def start_web(self, host: str) -> None:
        command = [common.PYTHON, "-m", "quorum.cli", "serve", "--host", address(host),
                   "--port", str(WEB_PORT), "--workers", "1"]  # fmt: skip
        self.services[host] = start(host, host, command, self.directory / f"{host}.log", self.env)
        wait_for(host, lambda: answers_http("client", f"http://{address(host)}:{WEB_PORT}/healthz"))

    def start_redis(self) -> None:
        command = ["redis-server", "--bind", address("redis"), "--port", "6379", "--save", "",
                   "--appendonly", "no", "--protected-mode", "no"]  # fmt: skip
        self.services["redis"] = start("redis", "redis", command, self.directory / "redis.log",
                                       self.env)  # fmt: skip
        time.sleep(0.5)


def postgres_pair(
    directory: Path, nodes: list[failover.Node]
) -> tuple[failover.Node, failover.Node]:
    """The primary in db1 and its synchronous standby in db2 (added to ``nodes`` as they are
    made, for the caller to stop)."""
    bindir = failover._bindir()
    primary = failover.Node("db1", 5432, directory / "db1", bindir, address("db1"), netns("db1"))
    standby = failover.Node("db2", 5432, directory / "db2", bindir, address("db2"), netns("db2"))
    nodes += [primary, standby]
    failover.start_pair(primary, standby, trusted_network=f"{SUBNET}.0/24")
    return primary, standby


@contextlib.contextmanager
def cluster() -> Iterator[Cluster]:
    directory = Path(tempfile.mkdtemp(prefix="quorum-cluster-", dir="/tmp"))
    postgres = pwd.getpwnam("postgres")
    os.chown(directory, postgres.pw_uid, postgres.pw_gid)
    os.chmod(directory, 0o755)
    data_dir = directory / "quorum"
    data_dir.mkdir(mode=0o700)
    services: dict[str, Service] = {}
    nodes: list[failover.Node] = []
    try:
        with network():
            try:
                primary, standby = postgres_pair(directory, nodes)
                env = common.base_env(data_dir)
                env.update(
                    # Both database hosts: every process reconnects to the promoted standby.
                    DATABASE_URL=(
                        f"postgres://postgres@{address('db1')}:5432,{address('db2')}:5432/quorum"
                        "?target_session_attrs=read-write&connect_timeout=2"
                    ),
                    REDIS_URL=f"redis://{address('redis')}:6379/0",
                    QUORUM_TRUSTED_PROXIES=f"{address('proxy')}/32",
                    QUORUM_RATE_BURST=str(BURST),
                    QUORUM_RATE_SUSTAINED="1000000",
                    QUORUM_ALLOWED_HOSTS="*",
                )
                the = Cluster(directory, env, primary, standby, services)
                the.start_redis()
                run(*inside("web1", common.PYTHON, "-m", "quorum.cli", "demo", "--no-serve"),
                    timeout=300, env=env)  # fmt: skip
                the.start_web("web1")
                the.start_web("web2")
                config = nginx_config(directory)
                services["proxy"] = start("proxy", "proxy", ["nginx", "-c", str(config), "-g",
                                          "daemon off;"], directory / "proxy.log", env)  # fmt: skip
                wait_for(
                    "nginx", lambda: answers_http("client", f"http://{address('proxy')}/healthz")
                )
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


# --- the signatories (a process in the client host) --------------------------------------------


def load_main(argv: list[str]) -> None:
    """``cluster.py --load OUT DURATION``: statements from every client address through the
    proxy, one line of JSON per answer in OUT, until DURATION has passed or OUT.stop exists."""
    import http.client

    out, duration = Path(argv[0]), float(argv[1])
    bodies = iter(common.make_bodies(200_000, offset=int(argv[2]) if len(argv) > 2 else 0))
    lock = threading.Lock()
    stop_at = time.monotonic() + duration
    stop_file = Path(f"{out}.stop")

    def client(source: str) -> None:
        with out.open("a") as answers:
            while time.monotonic() < stop_at and not stop_file.exists():
                with lock:
                    body = next(bodies)
                connection = http.client.HTTPConnection(
                    address("proxy"), 80, timeout=20, source_address=(source, 0)
                )
                try:
                    connection.request("POST", STATEMENTS, body,
                                       {"Content-Type": "application/json"})  # fmt: skip
                    response = connection.getresponse()
                    status, text = response.status, response.read()
                except (OSError, http.client.HTTPException):
                    status, text = 0, b""
                finally:
                    connection.close()
                receipt = json.loads(text)["receipt"] if status == 201 else None
                line = json.dumps({"t": time.time(), "status": status, "receipt": receipt})
                with lock:
                    answers.write(line + "\n")
                    answers.flush()
                time.sleep(0.25 if status == 201 else 0.5)  # < 4/s per client: under BURST/min

    threads = [threading.Thread(target=client, args=(a,)) for a in CLIENTS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def probe_main(argv: list[str]) -> None:
    """``cluster.py --probe``: per-client limits and spoofed headers; prints a JSON verdict."""
    import http.client

    bodies = iter(common.make_bodies(5_000, offset=900_000))

    def post(source: str, target: tuple[str, int], headers: dict[str, str]) -> int:
        connection = http.client.HTTPConnection(*target, timeout=20, source_address=(source, 0))
        try:
            connection.request("POST", STATEMENTS, next(bodies),
                               {"Content-Type": "application/json", **headers})  # fmt: skip
            return connection.getresponse().status
        finally:
            connection.close()

    proxy = (address("proxy"), 80)
    web1 = (address("web1"), WEB_PORT)
    noisy = [post(NOISY, proxy, {}) for _ in range(BURST + 20)]
    # The quiet client writes the noisy one's address: through the proxy, and to web1 itself.
    quiet = [post(QUIET, proxy, {"X-Forwarded-For": NOISY}) for _ in range(3)]
    direct = [post(QUIET, web1, {"X-Forwarded-For": NOISY}) for _ in range(3)]
    print(json.dumps({"noisy_refused": noisy.count(429), "quiet": quiet, "direct": direct}))


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


def audit(directory: Path, *, first: bool) -> bool:
    site = f"http://{address('proxy')}"
    command = failover.audit_command(site, directory / "audited.json", previous=not first)
    result = subprocess.run(inside("client", *command), capture_output=True, text=True,
                            timeout=300, check=False)  # fmt: skip
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
    for tool in ("ip", "nginx", "redis-server", "curl"):
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
            env=the.env, cwd=common.ROOT,
        )  # fmt: skip
        primary = the.primary
        try:
            time.sleep(settle)
            if not audit(the.directory, first=True):
                problems.append("the first audit failed")

            def lose_web() -> None:
                the.services["web1"].kill()

            def after_web() -> None:
                the.start_web("web1")

            def lose_sequencer() -> None:
                holder = primary_holder(the)
                the.services[f"sequencer@{holder}"] = sequencer_of(the, holder)
                the.services[f"sequencer@{holder}"].kill()

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

            plan = [
                ("web server", lose_web, after_web),
                ("sequencer holding the lock", lose_sequencer, None),
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
                audited = audit(the.directory, first=False)
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
            probe = subprocess.run(
                inside("client", common.PYTHON, str(Path(__file__).resolve()), "--probe"),
                env=the.env, cwd=common.ROOT, capture_output=True, text=True, timeout=300,
                check=False,
            )  # fmt: skip
            verdict = json.loads(probe.stdout.strip().splitlines()[-1]) if probe.stdout else {}
            print(f"clients: {verdict or probe.stderr[-800:]}")
            if not verdict.get("noisy_refused") or any(
                s != 201 for s in verdict.get("quiet", []) + verdict.get("direct", [])
            ):
                problems.append(
                    "one client's limit held another back, or a written address counted"
                )
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


def primary_holder(the: Cluster) -> str:
    """The web host whose sequencer holds the lock (the address of its database session)."""
    from quorum.ledger.locking import ADVISORY_KEY

    node = the.primary if (the.primary.data / "postmaster.pid").exists() else the.standby
    low, high = ADVISORY_KEY & 0xFFFFFFFF, ADVISORY_KEY >> 32
    rows = node.sql_in(
        "quorum",
        "SELECT host(a.client_addr) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
        f"WHERE l.locktype = 'advisory' AND l.objid = {low} AND l.classid = {high} AND l.granted",
    )
    by_address = {address(h): h for h in ("web1", "web2")}
    return by_address[rows[0][0]]


def sequencer_of(the: Cluster, host: str) -> Service:
    """The sequencer process that host's `quorum serve` started, as a Service of its own."""
    serve = the.services[host].process.pid
    for pid in common.group_pids(serve):
        if "quorum.cli sequencer" in common.cmdline(pid):
            return _Pid(pid, the.directory)
    raise RuntimeError(f"no sequencer on {host}")


class _Pid(Service):
    def __init__(self, pid: int, directory: Path) -> None:
        self.name, self.pid, self.log = "sequencer", pid, directory / "sequencer.log"

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)

    def stop(self) -> None:
        self.kill()


if __name__ == "__main__":
    sys.exit(main())
