"""docs/deploy.md and the files of deploy/, read the way an operator follows them.

bench/cluster.py builds its hosts with these functions, so that its set-up is the guide's and
not a copy of it: the certificate is step 5's ``openssl`` command, the nginx site is step 6's
``render.py`` command, a web host's environment file is step 4's ``/etc/quorum/quorum.env``
with step 9's lines for several hosts, and the web server and the sequencer are the
``ExecStart`` of their systemd units, expanded as systemd expands it. Each function takes only
the test's *values*; the names, the commands and the files come from the guide, and a name the
test gives that the guide does not have (or the reverse) stops with an error.
tests/deploy/test_cluster_set_up.py checks the same without starting anything.

The standard library only: it is imported by the tests and by the bench, in and out of
network namespaces.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "deploy.md"
DEPLOY = ROOT / "deploy"
#: Where step 1 puts the code, and so where the units and the guide's commands look for it.
INSTALLED_ROOT = "/opt/quorum"
INSTALLED_BIN = f"{INSTALLED_ROOT}/.venv/bin/"
#: The host name the guide's examples use (step 4 on).
EXAMPLE_NAME = "quorum.example.eu"
#: The settings a web host of several gets in step 9, on top of step 4's file.
ENVIRONMENT_FILE = "/etc/quorum/quorum.env"


# --- the guide ---------------------------------------------------------------------------------


def guide_step(number: int, guide: str | None = None) -> str:
    """The text of step ``number`` ("## 6. The nginx site" up to the next "## ")."""
    text = GUIDE.read_text() if guide is None else guide
    match = re.search(rf"^## {number}\. .*?(?=^## |\Z)", text, flags=re.MULTILINE | re.DOTALL)
    if match is None:
        raise ValueError(f"docs/deploy.md has no step {number}")
    return match.group(0)


def shell_blocks(text: str) -> list[str]:
    """The ```sh blocks of ``text``."""
    return re.findall(r"^```sh\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def shell_commands(block: str) -> list[list[str]]:
    """The commands of a shell block as words: continuation lines joined, comments dropped.
    A here-document's body is skipped (``heredoc`` reads it)."""
    commands: list[list[str]] = []
    lines = iter(block.replace("\\\n", " ").splitlines())
    for line in lines:
        words = shlex.split(line, comments=True)
        if words:
            commands.append(words)
        here = re.search(r"<<'?(\w+)'?", line)
        if here is not None:
            for body in lines:
                if body.strip() == here.group(1):
                    break
    return commands


def guide_command(step: int, program: str) -> list[str]:
    """The first command of step ``step`` that runs ``program`` (its first or, after an
    interpreter, second word, by file name), without a redirection of its output."""
    for block in shell_blocks(guide_step(step)):
        for words in shell_commands(block):
            if any(Path(word).name == program for word in words[:2]):
                return words[: words.index(">")] if ">" in words else words
    raise ValueError(f"docs/deploy.md step {step} runs no {program}")


def heredoc(step: int, target: str) -> list[str]:
    """The lines step ``step`` writes into ``target`` with ``cat > target <<'EOF'`` (or
    appends with ``cat >>``)."""
    for block in shell_blocks(guide_step(step)):
        match = re.search(
            rf"^cat >>? {re.escape(target)} <<'?(\w+)'?\n(.*?)^\1$", block, re.MULTILINE | re.DOTALL
        )
        if match is not None:
            return match.group(2).splitlines()
    raise ValueError(f"docs/deploy.md step {step} does not write {target}")


def settings_block(step: int, target: str) -> list[str]:
    """The lines of the block of step ``step`` that starts with the comment ``# target …``:
    settings to put into that file, as the guide lists them."""
    for block in shell_blocks(guide_step(step)):
        first, _, rest = block.partition("\n")
        if first.startswith(f"# {target}"):
            return rest.splitlines()
    raise ValueError(f"docs/deploy.md step {step} has no block of settings for {target}")


# --- systemd -------------------------------------------------------------------------------------


def unit_settings(path: Path) -> dict[str, dict[str, list[str]]]:
    """Section → key → values, as systemd reads a unit (a key may repeat; # and ; start a
    comment line)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def read_environment_file(text: str) -> dict[str, str]:
    """``KEY=VALUE`` lines as systemd's ``EnvironmentFile=`` reads them: blank lines and lines
    starting with # or ; are ignored, spaces around the key and the value are dropped, and a
    value in single or double quotes loses them."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        key, sep, value = line.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key.strip()):
            raise ValueError(f"not an assignment: {raw!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def expand_exec(line: str, environment: Mapping[str, str]) -> list[str]:
    """An ``ExecStart=`` line as systemd runs it: ``${VAR}`` becomes exactly one word (an
    unset variable an empty one), ``$VAR`` as a word of its own is split at white space."""
    if line[:1] in "-@:+!":
        raise ValueError(f"ExecStart prefixes are not handled here: {line!r}")
    words: list[str] = []
    for word in shlex.split(line):
        whole = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", word)
        if whole is not None:
            words += environment.get(whole.group(1), "").split()
            continue
        words.append(
            re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: environment.get(m[1], ""), word)
        )
    return words


def service_environment(unit: Path, environment_file: str) -> dict[str, str]:
    """The variables the unit's process gets: its ``Environment=`` lines, then its
    ``EnvironmentFile=`` (here: the text of that file), which overrides them."""
    service = unit_settings(unit)["Service"]
    values: dict[str, str] = {}
    for assignments in service.get("Environment", []):
        for assignment in shlex.split(assignments):
            key, _, value = assignment.partition("=")
            values[key] = value
    if service.get("EnvironmentFile") != [ENVIRONMENT_FILE]:
        raise ValueError(f"{unit.name}: EnvironmentFile is not {ENVIRONMENT_FILE}")
    values.update(read_environment_file(environment_file))
    return values


def service_command(unit: Path, environment: Mapping[str, str]) -> list[str]:
    """The unit's ``ExecStart``, expanded with ``environment``, with the installed
    ``/opt/quorum/.venv/bin/`` replaced by the folder of the Python that runs this."""
    (line,) = unit_settings(unit)["Service"]["ExecStart"]
    command = expand_exec(line, environment)
    if not command[0].startswith(INSTALLED_BIN):
        raise ValueError(f"{unit.name}: ExecStart does not run a program of {INSTALLED_BIN}")
    return [str(Path(sys.executable).parent / command[0][len(INSTALLED_BIN) :]), *command[1:]]


# --- step by step ---------------------------------------------------------------------------------


def _replace_all(words: list[str], replacements: Mapping[str, str], where: str) -> list[str]:
    """Each ``old`` → ``new`` of ``replacements`` in the words, in the given order; one that
    matches nowhere means the guide changed and the test no longer follows it."""
    for old, new in replacements.items():
        if not any(old in word for word in words):
            raise ValueError(f"{where}: {old!r} is no longer in the guide's command")
        words = [word.replace(old, new) for word in words]
    return words


def certificate_command(address: str, key: Path, certificate: Path) -> list[str]:
    """Step 5's self-signed certificate, for a test host reached by its address: the address
    in place of the name, ``IP:`` in place of ``DNS:`` (as step 5 says)."""
    words = guide_command(5, "openssl")
    return _replace_all(
        words,
        {
            f"DNS:{EXAMPLE_NAME}": f"IP:{address}",
            EXAMPLE_NAME: address,
            "/etc/quorum/tls.key": str(key),
            "/etc/quorum/tls.pem": str(certificate),
        },
        "step 5",
    )


def render_names() -> list[str]:
    """The NAME of each NAME=VALUE step 6 gives ``render.py``."""
    return [word.partition("=")[0] for word in guide_command(6, "render.py") if "=" in word]


def render_command(values: Mapping[str, str]) -> list[str]:
    """Step 6's ``render.py`` command with the test's value for each of its names (exactly
    those names), run by this Python on this checkout's files."""
    words = guide_command(6, "render.py")
    if sorted(values) != sorted(render_names()):
        raise ValueError(
            f"step 6 renders with {sorted(render_names())}, the test gives {sorted(values)}"
        )
    if Path(words[0]).name != "python3":
        raise ValueError("step 6 no longer runs render.py with python3")
    command = [sys.executable]
    for word in words[1:]:
        name, sep, _ = word.partition("=")
        if sep:
            command.append(f"{name}={values[name]}")
        else:
            command.append(word.replace(f"{INSTALLED_ROOT}/", f"{ROOT}/"))
    return command


def environment_file(values: Mapping[str, str], extra: Mapping[str, str]) -> str:
    """A web host's /etc/quorum/quorum.env: step 4's file, with step 9's lines for several
    hosts in place of (or after) its own, and then the test's ``values`` in place of the
    guide's for the same names (each must be one of them). ``extra`` is appended under a
    comment: settings that only the test needs."""
    lines = heredoc(4, ENVIRONMENT_FILE)
    several = read_environment_file("\n".join(settings_block(9, ENVIRONMENT_FILE)))
    unknown = sorted(set(values) - set(read_environment_file("\n".join(lines))) - set(several))
    if unknown:
        raise ValueError(f"steps 4 and 9 do not set {unknown}")
    wanted = {**several, **values}
    out: list[str] = []
    for line in lines:
        key = line.partition("=")[0].strip()
        if line.strip() and not line.lstrip().startswith(("#", ";")) and key in wanted:
            out.append(f"{key}={wanted.pop(key)}")
        else:
            out.append(line)
    out += [f"{key}={value}" for key, value in wanted.items()]
    if extra:
        out.append("# Only for the cluster test (bench/cluster.py), not in docs/deploy.md:")
        out += [f"{key}={value}" for key, value in extra.items()]
    return "\n".join(out) + "\n"


#: What the test may change in deploy/redis/quorum.conf, as step 9 has an operator edit it.
REDIS_OVERRIDES = ("bind", "requirepass", "dir")


def redis_command(overrides: Mapping[str, str]) -> list[str]:
    """``redis-server`` with the file step 3 installs, and only ``REDIS_OVERRIDES`` after it
    (later arguments win over the file's lines, as an edited line would)."""
    if "deploy/redis/quorum.conf" not in guide_step(3):
        raise ValueError("step 3 no longer installs deploy/redis/quorum.conf")
    if not set(overrides) <= set(REDIS_OVERRIDES):
        raise ValueError(f"only {REDIS_OVERRIDES} may be changed, not {sorted(overrides)}")
    command = ["redis-server", str(DEPLOY / "redis" / "quorum.conf")]
    for name, value in overrides.items():
        command += [f"--{name}", value]
    return command


#: Where step 2 has Debian's files; the test puts its own paths in their place.
DEBIAN_POSTGRES_DATA = "/var/lib/postgresql/15/main"
DEBIAN_POSTGRES_PASSFILE = "/var/lib/postgresql/.pgpass"
DEBIAN_POSTGRES_PORT = "5432"
DEBIAN_PG_HBA = "/etc/postgresql/15/main/pg_hba.conf"
DEBIAN_POSTGRES_AUTO_CONF = f"{DEBIAN_POSTGRES_DATA}/postgresql.auto.conf"
#: Step 2's commands run as the postgres user: ``runuser -u postgres -- …``.
AS_POSTGRES = ["runuser", "-u", "postgres", "--"]


@dataclass(frozen=True)
class PostgresValues:
    """The test's values for step 2's names."""

    primary: str  # PRIMARY: the primary's address
    port: int  # in place of Debian's 5432
    standby: str  # STANDBY: the standby's address (its pg_hba.conf line is STANDBY/32)
    web_subnet: str  # WEB_SUBNET
    password: str  # PASSWORD: the quorum role's
    replicator_password: str  # REPLICATOR_PASSWORD
    standby_data: str  # in place of /var/lib/postgresql/15/main on the standby
    passfile: str  # in place of /var/lib/postgresql/.pgpass


@dataclass(frozen=True)
class PostgresSetUp:
    """Step 2, with the test's values in place of the guide's names and paths."""

    #: Primary: the lines ``cat >>`` appends to pg_hba.conf.
    hba_lines: list[str]
    #: Primary: the SQL of each ``psql -c``, in order (the roles).
    sql: list[str]
    #: Primary: ``createdb …`` (the words after ``runuser -u postgres --``).
    createdb: list[str]
    #: Standby: the line written into ~postgres/.pgpass.
    pgpass_line: str
    #: Standby: ``pg_basebackup …`` (the words after ``runuser -u postgres --``).
    basebackup: list[str]
    #: Standby: the lines appended to postgresql.auto.conf.
    standby_lines: list[str]


def _step_2_text(values: PostgresValues) -> str:
    """Step 2's shell blocks with the test's values in place of the guide's names: each must
    still be there (or the guide changed and the test no longer follows it)."""
    text = "\n".join(shell_blocks(guide_step(2)))
    replacements = {
        # Quoted, so that SQL's own PASSWORD keyword stays as it is.
        "REPLICATOR_PASSWORD'": f"{values.replicator_password}'",
        "'PASSWORD'": f"'{values.password}'",
        "STANDBY/32": f"{values.standby}/32",
        "WEB_SUBNET": values.web_subnet,
        "PRIMARY": values.primary,
        DEBIAN_POSTGRES_PORT: str(values.port),
        DEBIAN_POSTGRES_PASSFILE: values.passfile,
        DEBIAN_POSTGRES_DATA: values.standby_data,
    }
    for old, new in replacements.items():
        if old not in text:
            raise ValueError(f"step 2: {old!r} is no longer in the guide's commands")
        text = text.replace(old, new)
    return text


def _as_postgres(words: list[str]) -> list[str]:
    if words[: len(AS_POSTGRES)] != AS_POSTGRES:
        raise ValueError(f"step 2 no longer runs {words[len(AS_POSTGRES)]} as postgres")
    return words[len(AS_POSTGRES) :]


def postgres_set_up(values: PostgresValues) -> PostgresSetUp:
    """Step 2's commands and lines as the test runs them (bench/failover.py's ``start_pair``),
    with ``values`` in place of the guide's names and Debian's paths."""
    text = _step_2_text(values)
    hba = re.search(
        rf"^cat >> {re.escape(DEBIAN_PG_HBA)} <<'?(\w+)'?\n(.*?)^\1$", text, re.M | re.S
    )
    if hba is None:
        raise ValueError(f"step 2 no longer appends to {DEBIAN_PG_HBA}")
    commands = shell_commands(text)
    auto_conf = f"{values.standby_data}/postgresql.auto.conf"
    sql: list[str] = []
    createdb: list[str] = []
    basebackup: list[str] = []
    pgpass: list[str] = []
    standby_lines: list[str] = []
    for words in commands:
        program = words[len(AS_POSTGRES)] if words[:1] == ["runuser"] else words[0]
        if program == "psql":
            command = _as_postgres(words)
            if command[1:2] != ["-c"] or len(command) != 3:
                raise ValueError(f"step 2: not a psql -c command: {words}")
            sql.append(command[2])
        elif program == "createdb":
            createdb = _as_postgres(words)
        elif program == "pg_basebackup":
            basebackup = _as_postgres(words)
        elif words[0] == "echo" and words[2:] == [">", values.passfile]:
            pgpass.append(words[1])
        elif words[0] == "echo" and words[2:] == [">>", auto_conf]:
            standby_lines.append(words[1])
    if not (sql and createdb and basebackup and len(pgpass) == 1 and standby_lines):
        raise ValueError("step 2 no longer has its roles, createdb, .pgpass, pg_basebackup "
                         "and primary_conninfo")  # fmt: skip
    return PostgresSetUp(
        hba_lines=[line for line in hba.group(2).splitlines() if line.strip()],
        sql=sql,
        createdb=createdb,
        pgpass_line=pgpass[0],
        basebackup=basebackup,
        standby_lines=standby_lines,
    )


def postgres_settings(address: str) -> str:
    """deploy/postgresql/quorum.conf with step 2's ``sed`` edit of ``listen_addresses`` for a
    database host at ``address``."""
    pattern, line = _listen_edit(address)
    text = (DEPLOY / "postgresql" / "quorum.conf").read_text()
    edited, count = re.subn(pattern, line, text, flags=re.M)
    if count != 1:
        raise ValueError(f"step 2's sed matches {count} lines of quorum.conf, not one")
    return edited


def listen_addresses_line(address: str) -> str:
    """The ``listen_addresses`` line step 2's ``sed`` writes for a host at ``address``."""
    return _listen_edit(address)[1]


def _listen_edit(address: str) -> tuple[str, str]:
    """(what step 2's ``sed`` looks for, the line it writes) for a host at ``address``."""
    commands = shell_commands("\n".join(shell_blocks(guide_step(2))))
    (sed,) = [words for words in commands if words[0] == "sed"]
    if sed[1] != "-i" or not sed[-1].endswith("/conf.d/quorum.conf"):
        raise ValueError(f"step 2's sed no longer edits conf.d/quorum.conf: {sed}")
    command, pattern, replacement, flags = sed[2].split("/")
    if command != "s" or flags or "THIS_HOST_ADDRESS" not in replacement:
        raise ValueError(f"step 2's sed is not the listen_addresses edit: {sed[2]}")
    return pattern, replacement.replace("THIS_HOST_ADDRESS", address)


def nginx_main_config(site: Path, directory: Path, *, as_root: bool) -> str:
    """What Debian's /etc/nginx/nginx.conf puts around sites-enabled/: the http block that
    includes the rendered site, with the pid and temporary files in ``directory`` (Debian:
    /run/nginx.pid, /var/lib/nginx) and, when the test runs as root, root as the workers' user
    (Debian: www-data, which owns /var/cache/nginx/quorum in step 6)."""
    return (
        ("user root;\n" if as_root else "")
        + f"worker_processes 1;\npid {directory / 'nginx.pid'};\n"
        + "events { worker_connections 1024; }\n"
        + "http {\n"
        + "".join(
            f"    {kind}_temp_path {directory / 'temp' / kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        + f"    include {site};\n}}\n"
    )


def start_nginx(nginx: str, directory: Path, site: str, main_log: Path) -> subprocess.Popen:
    """nginx in the foreground serving ``site`` (the rendered text) from ``directory``, inside
    :func:`nginx_main_config`'s http block, its configuration checked with ``-t`` first (as
    step 6 does before a reload). The caller waits for its port and stops it."""
    (directory / "temp").mkdir(exist_ok=True)
    (directory / "quorum.conf").write_text(site)
    main = directory / "nginx.conf"
    main.write_text(
        nginx_main_config(directory / "quorum.conf", directory, as_root=os.geteuid() == 0)
    )
    command = [nginx, "-p", str(directory), "-e", str(main_log), "-c", str(main)]
    check = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
    if check.returncode != 0:
        raise RuntimeError(f"nginx -t refused the site: {check.stderr}")
    return subprocess.Popen(
        [*command, "-g", "daemon off;"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
