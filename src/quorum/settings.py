"""Django settings for Quorum: read from the environment only (see .env.example)."""

from __future__ import annotations

import ipaddress
import os
import secrets
import time
from pathlib import Path

import django.conf.locale
from django.core.exceptions import ImproperlyConfigured

from quorum.core.datadir import default_data_dir, make_private_directory, open_private_file
from quorum.core.env import (
    DATABASE_POOL_MAX_SIZE,
    DATABASE_POOL_MIN_SIZE,
    EnvError,
    check_hsts,
    database_from_url,
    email_from_url,
    env_bool,
    env_choice,
    env_float,
    env_header_name,
    env_int,
    env_list,
    env_networks,
    env_optional,
    env_str,
    header_meta_key,
)

PACKAGE_DIR = Path(__file__).resolve().parent


def _read_or_create_secret(path: Path) -> str:
    # The demo must run with no set-up, yet never with a secret shared by every install.
    # Several processes may start at once on a fresh data directory: the first link wins,
    # the others read what it wrote.
    for _ in range(50):
        if path.exists():
            value = path.read_text(encoding="utf-8").strip()
            if value:
                return value
        else:
            candidate = path.with_name(f".{path.name}.{os.getpid()}")
            descriptor = open_private_file(candidate, os.O_WRONLY | os.O_TRUNC)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(secrets.token_urlsafe(50))
            try:
                os.link(candidate, path)
            except FileExistsError:
                pass
            finally:
                candidate.unlink()
            continue
        time.sleep(0.05)
    raise ImproperlyConfigured(f"cannot read the secret key in {path}")


try:
    # Never the current folder: a command run from anywhere must find the same data, and must
    # not leave a stray directory where it ran.
    DATA_DIR = Path(env_str("QUORUM_DATA_DIR", str(default_data_dir()))).expanduser().resolve()
    # 0700: it holds the database (staff sessions, TOTP secrets) and the keys. An existing
    # directory is left as it is here; the start-up check (quorum.W001) tightens it.
    make_private_directory(DATA_DIR)

    DEBUG = env_bool("QUORUM_DEBUG", False)
    SECRET_KEY = env_optional("QUORUM_SECRET_KEY") or _read_or_create_secret(
        DATA_DIR / "secret-key"
    )
    ALLOWED_HOSTS = env_list("QUORUM_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
    CSRF_TRUSTED_ORIGINS = env_list("QUORUM_CSRF_TRUSTED_ORIGINS", [])

    _database_url = env_optional("DATABASE_URL")
    _redis_url = env_optional("REDIS_URL")

    QUORUM_ORIGIN = env_str("QUORUM_ORIGIN", "quorum.localhost")
    QUORUM_POW = env_choice("QUORUM_POW", "on", ("on", "off")) == "on"
    QUORUM_POW_MAX_NUMBER = env_int("QUORUM_POW_MAX_NUMBER", 50_000, minimum=1_000)
    QUORUM_POW_EXPIRES_SECONDS = env_int("QUORUM_POW_EXPIRES_SECONDS", 600, minimum=30)
    QUORUM_RATE_BURST = env_int("QUORUM_RATE_BURST", 10, minimum=1)
    QUORUM_RATE_BURST_SECONDS = env_int("QUORUM_RATE_BURST_SECONDS", 60, minimum=1)
    QUORUM_RATE_SUSTAINED = env_int("QUORUM_RATE_SUSTAINED", 100, minimum=1)
    QUORUM_RATE_SUSTAINED_SECONDS = env_int("QUORUM_RATE_SUSTAINED_SECONDS", 3600, minimum=1)
    QUORUM_SEQUENCER_INTERVAL = env_float("QUORUM_SEQUENCER_INTERVAL", 1.0, minimum=0.05)
    QUORUM_INTAKE_MAX_BATCH = env_int("QUORUM_INTAKE_MAX_BATCH", 256, minimum=1, maximum=10_000)
    QUORUM_INTAKE_MAX_WAIT_MS = env_float("QUORUM_INTAKE_MAX_WAIT_MS", 2.0, minimum=0.0)
    # The statement POSTs answered beside Django's middleware stack (quorum.fastpath); off
    # sends them through Django like every other request, with the same answers.
    QUORUM_FAST_PATH = env_bool("QUORUM_FAST_PATH", True)
    # Benchmarks only (bench/intake.py): the slug of an initiative whose log takes noise rows
    # from POST /bench/ceiling. Unset in every deployment.
    QUORUM_BENCH_CEILING = env_optional("QUORUM_BENCH_CEILING") or ""
    QUORUM_LOG_LEVEL = env_choice(
        "QUORUM_LOG_LEVEL", "info", ("debug", "info", "warning", "error")
    ).upper()
    # One JSON object per line (quorum.core.log_format), or plain text.
    QUORUM_LOG_FORMAT = env_choice("QUORUM_LOG_FORMAT", "text", ("text", "json"))
    # /readyz fails when the oldest statement waiting for the sequencer is this old.
    QUORUM_READY_MAX_SEQUENCER_LAG_SECONDS = env_int(
        "QUORUM_READY_MAX_SEQUENCER_LAG_SECONDS", 30, minimum=1
    )
    # Who may scrape /metrics: these addresses without a token (loopback by default; "none"
    # for no address), anyone with the bearer token when one is set.
    QUORUM_METRICS_ALLOW = (
        ()
        if (env_optional("QUORUM_METRICS_ALLOW") or "").strip().lower() == "none"
        else env_networks("QUORUM_METRICS_ALLOW")
        or (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
    )
    QUORUM_METRICS_TOKEN = env_optional("QUORUM_METRICS_TOKEN") or ""
    # Staff accounts (quorum.accounts): session lifetime, login throttling, TOTP label.
    QUORUM_SESSION_IDLE_SECONDS = env_int("QUORUM_SESSION_IDLE_SECONDS", 30 * 60, minimum=60)
    QUORUM_SESSION_ABSOLUTE_SECONDS = env_int(
        "QUORUM_SESSION_ABSOLUTE_SECONDS", 8 * 3600, minimum=300
    )
    QUORUM_LOGIN_MAX_FAILURES = env_int("QUORUM_LOGIN_MAX_FAILURES", 5, minimum=1)
    QUORUM_LOGIN_MAX_FAILURES_PER_ADDRESS = env_int(
        "QUORUM_LOGIN_MAX_FAILURES_PER_ADDRESS", 20, minimum=1
    )
    QUORUM_LOGIN_FAILURE_WINDOW_SECONDS = env_int(
        "QUORUM_LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60, minimum=60
    )
    QUORUM_TOTP_ISSUER = env_str("QUORUM_TOTP_ISSUER", "Quorum")
    # Mail to the people who run an initiative (invitations, steps that wait for them): where it
    # goes out, who it is from, and the address its links lead to.
    QUORUM_EMAIL = email_from_url(env_str("QUORUM_EMAIL_URL", "console://"))
    QUORUM_EMAIL_FROM = env_str("QUORUM_EMAIL_FROM", "Quorum <quorum@localhost>")
    # Off only in tests that send by hand; a process then leaves what it queues to the senders.
    QUORUM_EMAIL_SEND_ON_COMMIT = env_bool("QUORUM_EMAIL_SEND_ON_COMMIT", True)
    QUORUM_BASE_URL = env_str("QUORUM_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    if not QUORUM_BASE_URL.startswith(("https://", "http://")):
        raise EnvError(f"QUORUM_BASE_URL must start with https://; got {QUORUM_BASE_URL!r}")
    # HTTPS: Strict-Transport-Security and the proxy's header that says a request came by TLS.
    QUORUM_HSTS_SECONDS = env_int("QUORUM_HSTS_SECONDS", 0, minimum=0, maximum=2 * 31536000)
    QUORUM_HSTS_INCLUDE_SUBDOMAINS = env_bool("QUORUM_HSTS_INCLUDE_SUBDOMAINS", False)
    QUORUM_HSTS_PRELOAD = env_bool("QUORUM_HSTS_PRELOAD", False)
    check_hsts(
        seconds=QUORUM_HSTS_SECONDS,
        include_subdomains=QUORUM_HSTS_INCLUDE_SUBDOMAINS,
        preload=QUORUM_HSTS_PRELOAD,
    )
    QUORUM_PROXY_TLS_HEADER = env_header_name("QUORUM_PROXY_TLS_HEADER")
    # The reverse proxies whose connections may say who the client is and whether it came by
    # HTTPS (quorum.core.proxies); none by default: the connection's peer is the client.
    QUORUM_TRUSTED_PROXIES = env_networks("QUORUM_TRUSTED_PROXIES")
    # The one header they name the client in: X-Forwarded-For, or RFC 7239 Forwarded.
    QUORUM_FORWARDED_HEADER = {"x-forwarded-for": "X-Forwarded-For", "forwarded": "Forwarded"}[
        env_choice("QUORUM_FORWARDED_HEADER", "x-forwarded-for", ("x-forwarded-for", "forwarded"))
    ]
    if QUORUM_PROXY_TLS_HEADER and not QUORUM_TRUSTED_PROXIES:
        # The header counts only from a trusted proxy: without one it would never count.
        raise EnvError(
            "QUORUM_PROXY_TLS_HEADER needs QUORUM_TRUSTED_PROXIES: the addresses of the proxies "
            "that set it (from any other client it is ignored)"
        )
except EnvError as exc:
    raise ImproperlyConfigured(str(exc)) from exc

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "quorum.core",
    "quorum.accounts",
    "quorum.initiatives",
    "quorum.authorities",
    "quorum.ledger",
    "quorum.signing",
    "quorum.verification",
    "quorum.updates",
    "quorum.api",
    "quorum.backoffice",
    "quorum.site",
]

MIDDLEWARE = [
    # First: the proxy headers of a peer that is not a trusted proxy are gone before anything
    # reads them (HTTPS, the client address).
    "quorum.core.proxies.TrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "quorum.core.middleware.SecurityHeadersMiddleware",
    # Before anything reads a body: 413 over the limit, 400 for a form not in UTF-8.
    "quorum.core.limits.RequestLimitsMiddleware",
    "quorum.api.middleware.ApiMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "quorum.accounts.middleware.SessionExpiryMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Innermost: a page's domain error becomes its error page before any other middleware.
    "quorum.core.error_pages.DomainErrorMiddleware",
]

ROOT_URLCONF = "quorum.urls"
WSGI_APPLICATION = "quorum.wsgi.application"
ASGI_APPLICATION = "quorum.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "quorum.core.context_processors.site",
            ],
        },
    },
]

if _database_url:
    try:
        DATABASES = {
            "default": database_from_url(
                _database_url,
                pool_min_size=env_int(
                    "QUORUM_DATABASE_POOL_MIN_SIZE", DATABASE_POOL_MIN_SIZE, minimum=0
                ),
                pool_max_size=env_int(
                    "QUORUM_DATABASE_POOL_MAX_SIZE", DATABASE_POOL_MAX_SIZE, minimum=1
                ),
            )
        }
    except EnvError as exc:
        raise ImproperlyConfigured(str(exc)) from exc
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "quorum.sqlite3",
            "OPTIONS": {
                # A statement is acknowledged only once it is on disk: WAL with synchronous=FULL
                # fsyncs the WAL at every commit.
                # secure_delete overwrites freed pages, so a purged ciphertext leaves no trace.
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=FULL;"
                    "PRAGMA secure_delete=ON;"
                    "PRAGMA foreign_keys=ON;"
                ),
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            # A real file, not memory: tests look into it (and its WAL) for canaries.
            "TEST": {"NAME": str(DATA_DIR / "test-quorum.sqlite3")},
        }
    }

if _redis_url:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _redis_url,
            "KEY_PREFIX": "quorum",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
REDIS_URL = _redis_url

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = QUORUM_SESSION_ABSOLUTE_SECONDS
CSRF_FAILURE_VIEW = "quorum.core.error_pages.csrf_failure"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = not DEBUG and env_bool("QUORUM_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
# Strict-Transport-Security on HTTPS responses; HTTPS as a trusted proxy reports it (see
# .env.example): TrustedProxyMiddleware removes the header from every other client.
SECURE_HSTS_SECONDS = QUORUM_HSTS_SECONDS
SECURE_HSTS_INCLUDE_SUBDOMAINS = QUORUM_HSTS_INCLUDE_SUBDOMAINS
SECURE_HSTS_PRELOAD = QUORUM_HSTS_PRELOAD
SECURE_PROXY_SSL_HEADER = (
    (header_meta_key(QUORUM_PROXY_TLS_HEADER), "https") if QUORUM_PROXY_TLS_HEADER else None
)

# Request bodies. A statement (API or form) is under 8 KiB even with every field at its
# longest and every character four UTF-8 bytes, each escaped (%XX or \uXXXX): 572 characters
# at 12 bytes, plus the proof of work and the CSRF token; 16 KiB leaves room for that and
# nothing else. The back office needs more: a certificate file is a few KiB, and its longest
# form (a draft initiative, 18,560 characters) is at most 218 KiB so encoded. Larger bodies
# are refused with 413 before they are read (quorum.core.limits); the proxy refuses them first.
QUORUM_BODY_LIMIT = 16 * 1024
QUORUM_BODY_LIMIT_MANAGE = 256 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = QUORUM_BODY_LIMIT_MANAGE
# Whatever passes the limit stays in memory: no upload is ever spooled to a temporary file.
FILE_UPLOAD_MAX_MEMORY_SIZE = QUORUM_BODY_LIMIT_MANAGE
# The largest form has 28 fields (paper counts: one per Member State, and the CSRF token).
DATA_UPLOAD_MAX_NUMBER_FIELDS = 100
DATA_UPLOAD_MAX_NUMBER_FILES = 1
SECURE_CONTENT_TYPE_NOSNIFF = True
# same-origin: nothing leaks to other sites, and our own forms keep a real Origin header,
# which Django's CSRF check needs ("no-referrer" makes browsers send Origin: null).
SECURE_REFERRER_POLICY = "same-origin"

# Staff sign-in: password, then a TOTP code (quorum.accounts).
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"
OTP_TOTP_ISSUER = QUORUM_TOTP_ISSUER
globals().update(QUORUM_EMAIL)
DEFAULT_FROM_EMAIL = SERVER_EMAIL = QUORUM_EMAIL_FROM

LANGUAGE_CODE = "en"
# The 24 official languages of the EU, each named in itself.
LANGUAGES = [
    ("bg", "български"),
    ("cs", "čeština"),
    ("da", "dansk"),
    ("de", "Deutsch"),
    ("el", "ελληνικά"),
    ("en", "English"),
    ("es", "español"),
    ("et", "eesti"),
    ("fi", "suomi"),
    ("fr", "français"),
    ("ga", "Gaeilge"),
    ("hr", "hrvatski"),
    ("hu", "magyar"),
    ("it", "italiano"),
    ("lt", "lietuvių"),
    ("lv", "latviešu"),
    ("mt", "Malti"),
    ("nl", "Nederlands"),
    ("pl", "polski"),
    ("pt", "português"),
    ("ro", "română"),
    ("sk", "slovenčina"),
    ("sl", "slovenščina"),
    ("sv", "svenska"),
]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
# Django ships no language info for Maltese; an official EU language must not be missing.
django.conf.locale.LANG_INFO.setdefault(
    "mt", {"bidi": False, "code": "mt", "name": "Maltese", "name_local": "Malti"}
)
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
make_private_directory(STATIC_ROOT)
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
# Serve straight from the package in every mode: the demo needs no collectstatic step.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "quorum.core.log_format.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if QUORUM_LOG_FORMAT == "json" else "plain",
        }
    },
    "root": {"handlers": ["console"], "level": QUORUM_LOG_LEVEL},
}
