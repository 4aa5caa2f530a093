"""TOTP keys for enrolment: generated, shown (QR code as inline SVG, and as text), checked.

A key being enrolled lives in the enrolling session only; the ``TOTPDevice`` row is created,
already confirmed, when the first right code comes back. So a second person who knows the
password cannot read the secret another session is about to confirm.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from typing import Any, TypeGuard

import segno
from django.utils.safestring import SafeString, mark_safe
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

STEP = 30
DIGITS = 6
TOLERANCE = 1  # one step either side, as django-otp's TOTPDevice
CODE_PATTERN = re.compile(r"^[0-9]{6}$")


def new_key() -> str:
    """20 random bytes, hex-encoded (the form ``TOTPDevice.key`` stores)."""
    return random_hex(20)


def valid_key(key: object) -> TypeGuard[str]:
    """A key as ``new_key`` makes it (it comes back from the session, which holds anything)."""
    if not isinstance(key, str) or len(key) != 40:
        return False
    try:
        binascii.unhexlify(key)
    except (binascii.Error, ValueError):
        return False
    return True


def secret_text(key: str) -> str:
    """The base32 secret, in groups of four, for typing into an authenticator by hand."""
    secret = base64.b32encode(binascii.unhexlify(key)).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def config_url(user: Any, key: str) -> str:
    """The ``otpauth://`` URL, built by django-otp (issuer from ``OTP_TOTP_ISSUER``)."""
    return TOTPDevice(user=user, key=key, step=STEP, digits=DIGITS).config_url


def qr_svg(url: str, *, title: str) -> SafeString:
    """The QR code as inline SVG: made here, nothing fetched, no inline style or script."""
    qr = segno.make(url, error="m")
    svg = qr.svg_inline(scale=5, border=4, dark="#000", light="#fff", title=title)
    # segno escapes the title and emits only paths; the markup is ours.
    return mark_safe(svg.replace("<svg ", '<svg role="img" focusable="false" ', 1))


def normalise_code(value: str) -> str:
    """Codes are often typed or pasted as "123 456": keep the digits."""
    return "".join(ch for ch in value if not ch.isspace() and ch != "-")


def match_step(key: str, code: str, *, now: float | None = None) -> int | None:
    """The time step at which ``code`` is right for ``key``, or None."""
    if not CODE_PATTERN.match(code):
        return None
    totp = TOTP(binascii.unhexlify(key), STEP, 0, DIGITS, 0)
    totp.time = time.time() if now is None else now
    if totp.verify(int(code), tolerance=TOLERANCE):
        return totp.t()
    return None
