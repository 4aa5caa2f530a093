"""HSTS, the proxy's TLS header and the trusted proxies come from the environment, strictly parsed.

The settings module reads the environment once, so each case runs it in a fresh process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from quorum.core.env import EnvError, check_hsts, env_header_name, header_meta_key

# Its probes use no database.
pytestmark = pytest.mark.own_database

# Two requests through the whole middleware chain, to a path that needs no database.
PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
client = Client(raise_request_exception=False)
tls = client.get("/no-such-page/", HTTP_X_FORWARDED_PROTO="https")
plain = client.get("/no-such-page/")
print(json.dumps({
    "tls": tls.get("Strict-Transport-Security"),
    "plain": plain.get("Strict-Transport-Security"),
    "proxy_header": settings.SECURE_PROXY_SSL_HEADER,
    "secure_cookies": settings.SESSION_COOKIE_SECURE,
}))
"""


def run_settings(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("QUORUM_", "DATABASE_URL"))}
    clean.update(
        DJANGO_SETTINGS_MODULE="quorum.settings",
        QUORUM_DATA_DIR=str(tmp_path),
        QUORUM_ALLOWED_HOSTS="testserver",
        **env,
    )
    return subprocess.run(
        [sys.executable, "-c", PROBE], env=clean, capture_output=True, text=True, timeout=60
    )


def probe(tmp_path: Path, **env: str) -> dict:
    result = run_settings(tmp_path, **env)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_with_hsts_on_an_https_request_via_the_proxy_carries_strict_transport_security(
    tmp_path,
) -> None:
    seen = probe(
        tmp_path,
        QUORUM_SECURE_COOKIES="on",
        QUORUM_HSTS_SECONDS="31536000",
        QUORUM_HSTS_INCLUDE_SUBDOMAINS="on",
        QUORUM_HSTS_PRELOAD="on",
        QUORUM_PROXY_TLS_HEADER="X-Forwarded-Proto",
        QUORUM_TRUSTED_PROXIES="127.0.0.1",  # the test client's address
    )
    assert seen["proxy_header"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert seen["secure_cookies"] is True
    assert seen["tls"] == "max-age=31536000; includeSubDomains; preload"
    assert seen["plain"] is None


def test_the_tls_header_from_a_client_that_is_not_a_trusted_proxy_gets_no_hsts(tmp_path) -> None:
    seen = probe(
        tmp_path,
        QUORUM_HSTS_SECONDS="31536000",
        QUORUM_PROXY_TLS_HEADER="X-Forwarded-Proto",
        QUORUM_TRUSTED_PROXIES="10.0.0.0/8, fd00::/8",
    )
    assert seen["proxy_header"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert seen["tls"] is None
    assert seen["plain"] is None


def test_the_tls_header_without_trusted_proxies_stops_the_process(tmp_path) -> None:
    result = run_settings(tmp_path, QUORUM_PROXY_TLS_HEADER="X-Forwarded-Proto")
    assert result.returncode != 0
    assert "QUORUM_PROXY_TLS_HEADER needs QUORUM_TRUSTED_PROXIES" in result.stderr


def test_by_default_there_is_no_hsts_and_no_proxy_header_is_trusted(tmp_path) -> None:
    seen = probe(tmp_path)
    assert seen == {"tls": None, "plain": None, "proxy_header": None, "secure_cookies": False}


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("QUORUM_HSTS_SECONDS", "1y"),
        ("QUORUM_HSTS_SECONDS", "-1"),
        ("QUORUM_HSTS_INCLUDE_SUBDOMAINS", "sometimes"),
        ("QUORUM_PROXY_TLS_HEADER", "X-Forwarded-Proto: https"),
        ("QUORUM_TRUSTED_PROXIES", "10.0.0.1/8"),
        ("QUORUM_TRUSTED_PROXIES", "nginx"),
        ("QUORUM_FORWARDED_HEADER", "X-Real-IP"),
    ],
)
def test_a_malformed_https_setting_stops_the_process_with_its_name(
    tmp_path, variable, value
) -> None:
    result = run_settings(tmp_path, **{variable: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr


@pytest.mark.parametrize(
    "value", ["X-Forwarded-Proto: https", "X Forwarded Proto", "X_Forwarded_Proto", "-X", "X-", "é"]
)
def test_the_proxy_tls_header_must_be_a_header_name(value) -> None:
    with pytest.raises(EnvError, match="QUORUM_PROXY_TLS_HEADER"):
        env_header_name("QUORUM_PROXY_TLS_HEADER", environ={"QUORUM_PROXY_TLS_HEADER": value})


def test_a_header_name_becomes_its_request_meta_key() -> None:
    name = env_header_name("H", environ={"H": " X-Forwarded-Proto "})
    assert name == "X-Forwarded-Proto"
    assert header_meta_key(name) == "HTTP_X_FORWARDED_PROTO"
    assert env_header_name("H", environ={}) is None
    assert env_header_name("H", environ={"H": ""}) is None


def test_hsts_options_without_a_max_age_or_short_of_preload_rules_are_refused() -> None:
    with pytest.raises(EnvError, match="QUORUM_HSTS_SECONDS > 0"):
        check_hsts(seconds=0, include_subdomains=True, preload=False)
    with pytest.raises(EnvError, match="QUORUM_HSTS_SECONDS > 0"):
        check_hsts(seconds=0, include_subdomains=False, preload=True)
    with pytest.raises(EnvError, match="31536000"):
        check_hsts(seconds=86400, include_subdomains=True, preload=True)
    with pytest.raises(EnvError, match="INCLUDE_SUBDOMAINS"):
        check_hsts(seconds=31536000, include_subdomains=False, preload=True)
    check_hsts(seconds=0, include_subdomains=False, preload=False)
    check_hsts(seconds=300, include_subdomains=True, preload=False)
    check_hsts(seconds=63072000, include_subdomains=True, preload=True)
