"""Self-hosted proof of work, speaking the classic ALTCHA protocol (v1).

A browser fetches a challenge, finds the secret ``number`` such that
``SHA-256(salt + number) == challenge`` and sends back a base64 JSON payload. The server
checks the HMAC signature it put on the challenge, so it keeps no state until a solution is
used; single use is the job of :mod:`quorum.signing.replay`.

Proof of work is a cost, not a humanity test: it slows bulk submission down, nothing more.

CVE-2025-68113 (PYSEC-2026-1115, "challenge splicing"): in old ALTCHA libraries the hashed
string ``salt + number`` had no delimiter, so digits could be moved between an
``expires=`` parameter and the number, making a solved challenge look valid for ever.
altcha 2.3.0 is patched (it ends every salt with ``&`` and hashes the submitted salt
verbatim). We go further and accept only the exact salt shape we issue,
``<24 hex>?expires=<unix time>&scope=<scope>&``, rebuilt from its parts and compared, so no
spliced, re-ordered, duplicated or extra parameter passes; the expiry and the scope (the
action a challenge is for) are inside the signed salt, so neither can be changed.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import logging
import re
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

import altcha
from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)

ALGORITHM: Final = "SHA-256"
ReasonCode = Literal["missing", "malformed", "invalid", "expired", "wrong_scope"]

# 12 random bytes, as the ALTCHA libraries use: unique per challenge, so each signature is.
_NONCE_BYTES: Final = 12
# A real payload is ~300 characters; anything far larger is refused before decoding.
_MAX_PAYLOAD_CHARS: Final = 4096
# No honest challenge needs a number this large; it also bounds str(number).
_MAX_NUMBER_CAP: Final = 10**12
# Leeway for clocks of several app servers that disagree a little.
_CLOCK_LEEWAY_SECONDS: Final = 60

_SCOPE_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9:._-]{0,199}")
_HEX64_RE: Final = re.compile(r"[0-9a-f]{64}")
_SALT_RE: Final = re.compile(
    rf"(?P<nonce>[0-9a-f]{{{2 * _NONCE_BYTES}}})"
    r"\?expires=(?P<expires>[0-9]{1,12})&scope=(?P<scope>[^&?]{1,600})&"
)

_UNVERIFIED = _("The anti-abuse check could not be verified. Please reload the page and try again.")
POW_MESSAGES: Final[dict[str, Promise]] = {
    "missing": _UNVERIFIED,
    "malformed": _UNVERIFIED,
    "invalid": _UNVERIFIED,
    "wrong_scope": _UNVERIFIED,
    "expired": _("This form has expired. Please reload the page and try again."),
    # Not a PowCheck code: what the view shows when quorum.signing.replay says "replay".
    "replayed": _("This form was already submitted. Please reload the page to submit it again."),
}


@dataclass(frozen=True, slots=True)
class PowCheck:
    """Outcome of :func:`check_solution`. ``solution_id`` is set only when ``ok``."""

    ok: bool
    reason_code: ReasonCode | None = None
    solution_id: str | None = None


def pow_enabled() -> bool:
    """Whether statements need a proof of work (``QUORUM_POW``)."""
    return bool(settings.QUORUM_POW)


def is_valid_scope(scope: object) -> bool:
    """Scopes are short ASCII names such as ``statement:<initiative-slug>``."""
    return isinstance(scope, str) and _SCOPE_RE.fullmatch(scope) is not None


def issue_challenge(*, scope: str) -> dict[str, Any]:
    """The JSON body of ``GET /api/v1/pow/challenge?scope=<scope>``.

    Raises ``ValueError`` for a scope that :func:`is_valid_scope` refuses (answer 400).
    """
    if not is_valid_scope(scope):
        raise ValueError("invalid proof-of-work scope")
    expires = int(time.time()) + int(settings.QUORUM_POW_EXPIRES_SECONDS)
    challenge = altcha.create_challenge_v1(
        altcha.ChallengeOptionsV1(
            algorithm=ALGORITHM,
            max_number=int(settings.QUORUM_POW_MAX_NUMBER),
            salt_length=_NONCE_BYTES,
            hmac_key=_hmac_key(),
            expires=datetime.datetime.fromtimestamp(expires, tz=datetime.UTC),
            params={"scope": scope},
        )
    )
    # The library must have built exactly the salt we will insist on when verifying.
    nonce = challenge.salt.split("?", 1)[0]
    if challenge.salt != _build_salt(nonce, expires, scope):  # pragma: no cover
        raise RuntimeError("altcha built an unexpected salt")
    return {
        "algorithm": challenge.algorithm,
        "challenge": challenge.challenge,
        "maxnumber": challenge.max_number,
        "salt": challenge.salt,
        "signature": challenge.signature,
    }


def solve_challenge(challenge: Mapping[str, Any]) -> str:
    """The ``altcha`` field a browser sends for ``challenge``: the client's side, in Python.

    For clients of the API that are not browsers, and for the tests and benchmarks that sign
    as those clients would. Raises ValueError for a challenge with no solution.
    """
    solution = altcha.solve_challenge_v1(
        challenge["challenge"], challenge["salt"], challenge["algorithm"], challenge["maxnumber"]
    )
    if solution is None:
        raise ValueError("this challenge has no solution within its maxnumber")
    payload = {
        "algorithm": challenge["algorithm"],
        "challenge": challenge["challenge"],
        "number": solution.number,
        "salt": challenge["salt"],
        "signature": challenge["signature"],
        "took": 5,
    }
    return base64.b64encode(json.dumps(payload).encode()).decode()


def check_solution(payload: object, *, scope: str) -> PowCheck:
    """Verify a submitted ``altcha`` field for ``scope``. Never raises.

    ``solution_id`` (the challenge's signature, hex) is the same for every encoding of a
    solution to one challenge: give it to :mod:`quorum.signing.replay` for single use.
    """
    try:
        return _check(payload, scope)
    except Exception as exc:
        # No input may become a 500, whatever slipped past the checks below.
        # The payload is not logged: it is attacker-controlled and of no use to an operator.
        logger.warning("proof-of-work payload refused by %s", type(exc).__name__)
        return PowCheck(ok=False, reason_code="malformed")


def _check(payload: object, scope: str) -> PowCheck:
    if payload is None or (isinstance(payload, str) and not payload.strip()):
        return PowCheck(ok=False, reason_code="missing")
    if not isinstance(payload, str) or len(payload) > _MAX_PAYLOAD_CHARS:
        return PowCheck(ok=False, reason_code="malformed")
    fields = _decode(payload)
    if fields is None:
        return PowCheck(ok=False, reason_code="malformed")
    algorithm, challenge, number, salt, signature = fields

    match = _SALT_RE.fullmatch(salt)
    if match is None:
        return PowCheck(ok=False, reason_code="malformed")
    salt_scope = urllib.parse.unquote_plus(match["scope"])
    expires = int(match["expires"])
    # Only the canonical encoding of our own parameters is accepted (see module docstring).
    if salt != _build_salt(match["nonce"], expires, salt_scope):
        return PowCheck(ok=False, reason_code="malformed")

    if algorithm != ALGORITHM or not _signature_matches(challenge, number, salt, signature):
        return PowCheck(ok=False, reason_code="invalid")
    if not hmac.compare_digest(salt_scope.encode(), scope.encode()):
        return PowCheck(ok=False, reason_code="wrong_scope")
    now = time.time()
    if expires <= now:
        return PowCheck(ok=False, reason_code="expired")
    if expires > now + int(settings.QUORUM_POW_EXPIRES_SECONDS) + _CLOCK_LEEWAY_SECONDS:
        # Signed by us, but not under the settings in force: a leaked old key, or a bug.
        return PowCheck(ok=False, reason_code="invalid")
    return PowCheck(ok=True, solution_id=signature)


def _decode(payload: str) -> tuple[str, str, int, str, str] | None:
    """The five ALTCHA fields with the right types, or None. Extra fields (``took``) pass."""
    try:
        raw = base64.b64decode(payload.strip().encode("ascii"), validate=True)
        data = json.loads(raw)
    except (ValueError, UnicodeError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    algorithm, challenge, number, salt, signature = (
        data.get(key) for key in ("algorithm", "challenge", "number", "salt", "signature")
    )
    if not (
        isinstance(algorithm, str)
        and isinstance(challenge, str)
        and isinstance(salt, str)
        and isinstance(signature, str)
    ):
        return None
    # bool is an int in Python, and str(True) would be hashed as "True".
    if not isinstance(number, int) or isinstance(number, bool):
        return None
    if not 0 <= number <= _MAX_NUMBER_CAP:
        return None
    if not (_HEX64_RE.fullmatch(challenge) and _HEX64_RE.fullmatch(signature)):
        return None
    return algorithm, challenge, number, salt, signature


def _signature_matches(challenge: str, number: int, salt: str, signature: str) -> bool:
    # altcha's own hash primitives, compared in constant time (its verify_solution uses ==
    # and cannot tell "expired" from "invalid" from "wrong scope").
    expected_challenge = altcha.hash_hex(ALGORITHM, (salt + str(number)).encode())
    expected_signature = altcha.hmac_hex(ALGORITHM, challenge.encode(), _hmac_key())
    return hmac.compare_digest(expected_challenge, challenge) & hmac.compare_digest(
        expected_signature, signature
    )


def _build_salt(nonce: str, expires: int, scope: str) -> str:
    # Same encoding as altcha.create_challenge_v1: urlencode, then the "&" terminator.
    return f"{nonce}?{urllib.parse.urlencode({'expires': str(expires), 'scope': scope})}&"


def _hmac_key() -> bytes:
    # A key of its own, derived with a purpose string: never the raw SECRET_KEY, and a leak
    # of this key (e.g. through a timing flaw) would not expose other uses of the secret.
    return hashlib.sha256(b"quorum-pow-v1" + str(settings.SECRET_KEY).encode()).digest()
