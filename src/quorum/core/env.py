"""Strict readers for settings that come from the environment.

A value that cannot be parsed stops the process with the variable's name in the message:
a platform that silently falls back to a default on a typo is worse than one that refuses
to start.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit


class EnvError(ValueError):
    """A setting in the environment is missing or malformed."""


TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


def _raw(name: str, environ: Mapping[str, str] | None) -> str | None:
    source = os.environ if environ is None else environ
    value = source.get(name)
    if value is None:
        file_name = source.get(f"{name}_FILE")
        if file_name:
            # Docker/Kubernetes secrets arrive as files; the trailing newline is not part of them.
            try:
                return Path(file_name).read_text(encoding="utf-8").rstrip("\n")
            except OSError as exc:
                raise EnvError(f"{name}_FILE: cannot read {file_name}: {exc.strerror}") from exc
    return value


def env_str(
    name: str, default: str | None = None, *, environ: Mapping[str, str] | None = None
) -> str:
    value = _raw(name, environ)
    if value is None or value == "":
        if default is None:
            raise EnvError(f"{name} must be set")
        return default
    return value


def env_optional(name: str, *, environ: Mapping[str, str] | None = None) -> str | None:
    value = _raw(name, environ)
    return value or None


def env_bool(name: str, default: bool, *, environ: Mapping[str, str] | None = None) -> bool:
    value = _raw(name, environ)
    if value is None or value == "":
        return default
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise EnvError(f"{name} must be one of on/off, true/false, yes/no, 1/0; got {value!r}")


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    value = _raw(name, environ)
    if value is None or value == "":
        return default
    try:
        number = int(value.strip(), 10)
    except ValueError as exc:
        raise EnvError(f"{name} must be a whole number; got {value!r}") from exc
    if minimum is not None and number < minimum:
        raise EnvError(f"{name} must be at least {minimum}; got {number}")
    if maximum is not None and number > maximum:
        raise EnvError(f"{name} must be at most {maximum}; got {number}")
    return number


def env_float(
    name: str,
    default: float,
    *,
    minimum: float | None = None,
    environ: Mapping[str, str] | None = None,
) -> float:
    value = _raw(name, environ)
    if value is None or value == "":
        return default
    try:
        number = float(value.strip())
    except ValueError as exc:
        raise EnvError(f"{name} must be a number; got {value!r}") from exc
    if number != number or number in (float("inf"), float("-inf")):
        raise EnvError(f"{name} must be a finite number; got {value!r}")
    if minimum is not None and number < minimum:
        raise EnvError(f"{name} must be at least {minimum}; got {number}")
    return number


def env_list(
    name: str, default: list[str], *, environ: Mapping[str, str] | None = None
) -> list[str]:
    value = _raw(name, environ)
    if value is None or value.strip() == "":
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(
    name: str, default: str, choices: tuple[str, ...], *, environ: Mapping[str, str] | None = None
) -> str:
    value = env_str(name, default, environ=environ).strip().lower()
    if value not in choices:
        raise EnvError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


# Django's connection pool for PostgreSQL, one per process. Under ASGI each request's sync code
# runs on a thread of its own: a persistent connection (CONN_MAX_AGE > 0) stays open after that
# thread is gone, until the garbage collector finds it. With the pool a request takes a
# connection and gives it back when it finishes (CONN_MAX_AGE 0; Django refuses a pool beside
# persistent connections).
#
# What an app process holds for as long as it runs, each a thread that keeps its connection
# between calls: the shared-state workers (quorum.core.volatile.WORKER_THREADS, four), the
# intake writer, and the group calls of the rate limit and of single use (claims, completions);
# the fast path's thread for sync code takes one more and gives it back once a second. The rest
# of the pool is for Django's requests, one each while it runs: too small a pool makes a request
# wait DATABASE_POOL_TIMEOUT_SECONDS for a connection and then fail.
DATABASE_POOL_HELD = 9
# What a process opens at its start: a command or the sequencer needs one or two; an app
# process grows to what it uses, and connections above this close after ten minutes unused.
DATABASE_POOL_MIN_SIZE = 2
# Nine held, eleven for requests at once. With PostgreSQL's default max_connections (100),
# four app processes, the sequencer and a command fit.
DATABASE_POOL_MAX_SIZE = 20
DATABASE_POOL_TIMEOUT_SECONDS = 10.0


def database_from_url(
    url: str,
    *,
    pool_min_size: int = DATABASE_POOL_MIN_SIZE,
    pool_max_size: int = DATABASE_POOL_MAX_SIZE,
) -> dict[str, object]:
    """Django DATABASES entry for a postgres:// URL (the only server database we support).

    Several hosts may be named, as libpq takes them: ``postgres://u@db1:5432,db2:5432/quorum
    ?target_session_attrs=read-write`` connects to whichever of them takes writes, so that
    after a failover every process reconnects to the promoted standby by itself.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise EnvError(
            f"DATABASE_URL must start with postgres:// or postgresql://; got {parts.scheme!r}"
        )
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise EnvError("DATABASE_URL must name a database, e.g. postgres://user@host:5432/quorum")
    options = dict(parse_qsl(parts.query))
    unknown = sorted(set(options) - set(DATABASE_URL_OPTIONS))
    if unknown:
        raise EnvError(
            f"DATABASE_URL has options Quorum does not know: {', '.join(unknown)} "
            f"(known: {', '.join(DATABASE_URL_OPTIONS)})"
        )
    if not options.get("connect_timeout", "1").isdigit():
        raise EnvError("DATABASE_URL's connect_timeout must be whole seconds")
    if options.get("target_session_attrs", "read-write") not in ("read-write", "primary"):
        raise EnvError("DATABASE_URL's target_session_attrs must be read-write or primary")
    userinfo, _at, hostlist = parts.netloc.rpartition("@")
    username, _colon, password = userinfo.partition(":")
    hosts, ports = _hosts_and_ports(hostlist)
    if pool_max_size < max(pool_min_size, DATABASE_POOL_HELD + 1):
        raise EnvError(
            f"QUORUM_DATABASE_POOL_MAX_SIZE must be at least QUORUM_DATABASE_POOL_MIN_SIZE "
            f"({pool_min_size}) and more than the {DATABASE_POOL_HELD} connections an app "
            f"process holds; got {pool_max_size}"
        )
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": unquote(username),
        "PASSWORD": unquote(password),
        "HOST": ",".join(hosts),
        "PORT": ",".join(ports) if any(ports) else "",
        # Connections come from the pool and go back to it at the end of each request.
        "CONN_MAX_AGE": 0,
        # The pool checks a connection before it hands it out.
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {
            # A statement is acknowledged only once its commit is on disk.
            "options": "-c synchronous_commit=on",
            **{key: value for key, value in options.items() if key != "connect_timeout"},
            **(
                {"connect_timeout": int(options["connect_timeout"])}
                if "connect_timeout" in options
                else {}
            ),
            "pool": {
                "min_size": pool_min_size,
                "max_size": pool_max_size,
                "timeout": DATABASE_POOL_TIMEOUT_SECONDS,
            },
        },
    }


_IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")


def env_networks(
    name: str, *, environ: Mapping[str, str] | None = None
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Comma-separated addresses and CIDR networks, IPv4 or IPv6; unset or empty = none.

    ``10.0.0.1`` is ``10.0.0.1/32``. A network with host bits set (``10.0.0.1/8``) is refused
    rather than guessed, and so is a network of every address (``/0``): trusting it would let
    any client choose the address it is counted as.
    """
    value = _raw(name, environ)
    if value is None or value.strip() == "":
        return ()
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for item in value.split(","):
        text = item.strip()
        if not text:
            raise EnvError(f"{name} has an empty entry; got {value!r}")
        try:
            network = ipaddress.ip_network(text, strict=True)
        except ValueError as exc:
            raise EnvError(
                f"{name} must be IP addresses or networks such as 10.0.0.0/8 or fd00::/8, "
                f"separated by commas; {text!r}: {exc}"
            ) from exc
        if network.prefixlen == 0:
            raise EnvError(f"{name} must not trust every address ({text!r})")
        if "%" in text:
            raise EnvError(f"{name} must not name an interface (zone id); got {text!r}")
        if isinstance(network, ipaddress.IPv6Network) and network.subnet_of(_IPV4_MAPPED):
            raise EnvError(f"{name} must write IPv4-mapped addresses as IPv4; got {text!r}")
        if network not in networks:
            networks.append(network)
    return tuple(networks)


#: The query options a DATABASE_URL may carry (passed to libpq as they are).
DATABASE_URL_OPTIONS = ("sslmode", "target_session_attrs", "connect_timeout")


def _hosts_and_ports(hostlist: str) -> tuple[list[str], list[str]]:
    """``db1:5432,[2001:db8::1]:5433`` → (["db1", "2001:db8::1"], ["5432", "5433"])."""
    hosts: list[str] = []
    ports: list[str] = []
    for item in hostlist.split(","):
        host, port = item, ""
        if item.startswith("["):
            host, _bracket, rest = item[1:].partition("]")
            port = rest.removeprefix(":")
        elif item.count(":") == 1:
            host, port = item.split(":")
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            raise EnvError(f"DATABASE_URL has a bad port: {port!r}")
        hosts.append(unquote(host))
        ports.append(port)
    if len(hosts) > 1 and not all(hosts):
        raise EnvError("DATABASE_URL names an empty host in its list of hosts")
    if len(hosts) > 1 and any(ports) and not all(ports):
        raise EnvError("DATABASE_URL must give a port for every host of its list, or for none")
    return hosts, ports


_HEADER_NAME = re.compile(r"[A-Za-z0-9]+(-[A-Za-z0-9]+)*")


def env_header_name(name: str, *, environ: Mapping[str, str] | None = None) -> str | None:
    """An HTTP header name such as ``X-Forwarded-Proto``, or None when unset."""
    value = _raw(name, environ)
    if value is None or value.strip() == "":
        return None
    header = value.strip()
    if not _HEADER_NAME.fullmatch(header):
        raise EnvError(
            f"{name} must be an HTTP header name such as X-Forwarded-Proto; got {value!r}"
        )
    return header


def header_meta_key(header: str) -> str:
    """The ``request.META`` key of a header: ``X-Forwarded-Proto`` → ``HTTP_X_FORWARDED_PROTO``."""
    return "HTTP_" + header.upper().replace("-", "_")


HSTS_PRELOAD_MIN_SECONDS = 31536000


def check_hsts(*, seconds: int, include_subdomains: bool, preload: bool) -> None:
    """Refuse HSTS settings that do nothing or that browsers' preload lists reject."""
    if (include_subdomains or preload) and seconds == 0:
        raise EnvError(
            "QUORUM_HSTS_INCLUDE_SUBDOMAINS and QUORUM_HSTS_PRELOAD need QUORUM_HSTS_SECONDS > 0"
        )
    if preload and (seconds < HSTS_PRELOAD_MIN_SECONDS or not include_subdomains):
        raise EnvError(
            f"QUORUM_HSTS_PRELOAD needs QUORUM_HSTS_SECONDS >= {HSTS_PRELOAD_MIN_SECONDS} "
            "and QUORUM_HSTS_INCLUDE_SUBDOMAINS=on"
        )


#: QUORUM_EMAIL_URL's schemes → (Django backend, TLS on connect, STARTTLS, default port).
EMAIL_SCHEMES = {
    "smtp": ("django.core.mail.backends.smtp.EmailBackend", False, False, 25),
    "smtp+starttls": ("django.core.mail.backends.smtp.EmailBackend", False, True, 587),
    "smtps": ("django.core.mail.backends.smtp.EmailBackend", True, False, 465),
    "console": ("django.core.mail.backends.console.EmailBackend", False, False, 0),
}
EMAIL_TIMEOUT_SECONDS = 10


def email_from_url(url: str) -> dict[str, object]:
    """Django's EMAIL_* settings for QUORUM_EMAIL_URL.

    ``smtp+starttls://user:password@mail.example.org:587`` (the usual submission port),
    ``smtps://…:465`` (TLS from the first byte), ``smtp://host:25`` (no TLS: a relay on the
    same host or network only) or ``console://`` (the demo: messages go to standard output).
    """
    parts = urlsplit(url)
    if parts.scheme not in EMAIL_SCHEMES:
        raise EnvError(
            f"QUORUM_EMAIL_URL must start with {', '.join(s + '://' for s in EMAIL_SCHEMES)}; "
            f"got {parts.scheme!r}"
        )
    backend, use_ssl, use_tls, default_port = EMAIL_SCHEMES[parts.scheme]
    settings: dict[str, object] = {"EMAIL_BACKEND": backend}
    if parts.scheme == "console":
        return settings
    try:
        port = parts.port or default_port
    except ValueError as exc:
        raise EnvError(f"QUORUM_EMAIL_URL has a bad port: {exc}") from exc
    if not parts.hostname:
        raise EnvError("QUORUM_EMAIL_URL must name a host, e.g. smtp+starttls://mail.example.org")
    if parts.query or parts.path not in ("", "/"):
        raise EnvError("QUORUM_EMAIL_URL takes no path and no options")
    settings.update(
        EMAIL_HOST=parts.hostname,
        EMAIL_PORT=port,
        EMAIL_HOST_USER=unquote(parts.username or ""),
        EMAIL_HOST_PASSWORD=unquote(parts.password or ""),
        EMAIL_USE_SSL=use_ssl,
        EMAIL_USE_TLS=use_tls,
        # A mail server that hangs must not hold a sender for long; the outbox tries again.
        EMAIL_TIMEOUT=EMAIL_TIMEOUT_SECONDS,
    )
    return settings
