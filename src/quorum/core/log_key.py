"""The platform's log key: it signs every checkpoint (Ed25519, C2SP signed note).

Not an authority key: it proves only that this platform published a given tree head.
Taken from QUORUM_LOG_KEY (standard base64 of the 32-byte seed; or QUORUM_LOG_KEY_FILE),
else generated once into QUORUM_DATA_DIR/log-key with mode 0600.
"""

from __future__ import annotations

import base64
import functools
import os
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from quorum.core.env import EnvError, env_optional
from quorum.proofs.crypto import CryptoError, decode_key, generate_signing_key, signing_public_key
from quorum.proofs.signed_note import verifier_key


@dataclass(frozen=True)
class LogKey:
    name: str
    public_key: bytes
    seed: bytes = field(repr=False)

    @property
    def verifier(self) -> str:
        return verifier_key(self.name, self.public_key)


def _seed_from_file() -> bytes:
    path = settings.DATA_DIR / "log-key"
    if path.exists():
        return decode_key(path.read_text(encoding="ascii"))
    seed, _ = generate_signing_key()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(base64.b64encode(seed).decode("ascii") + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return seed


@functools.cache
def log_key() -> LogKey:
    try:
        configured = env_optional("QUORUM_LOG_KEY")
        seed = decode_key(configured) if configured else _seed_from_file()
    except (CryptoError, EnvError) as exc:
        raise ImproperlyConfigured(f"QUORUM_LOG_KEY: {exc}") from exc
    return LogKey(name=settings.QUORUM_ORIGIN, public_key=signing_public_key(seed), seed=seed)


def log_origin(slug: str) -> str:
    return f"{settings.QUORUM_ORIGIN}/{slug}"
