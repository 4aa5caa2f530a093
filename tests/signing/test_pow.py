"""Proof of work: ALTCHA v1 compatible, scoped, expiring, and never raising on bad input."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import urllib.parse
from typing import Any

import altcha
import pytest
from django.conf import settings as django_settings
from hypothesis import given
from hypothesis import strategies as st

from quorum.signing import pow as proof_of_work
from quorum.signing.pow import POW_MESSAGES, PowCheck, check_solution, issue_challenge

SCOPE = "statement:stop-biometric-surveillance"
REASONS = {"missing", "malformed", "invalid", "expired", "wrong_scope"}


def our_key() -> bytes:
    # The documented derivation: a purpose string and SECRET_KEY, never the raw secret.
    return hashlib.sha256(b"quorum-pow-v1" + django_settings.SECRET_KEY.encode()).digest()


def encode(fields: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(fields).encode()).decode()


def solve(challenge: dict[str, Any]) -> int:
    solution = altcha.solve_challenge_v1(
        challenge["challenge"], challenge["salt"], challenge["algorithm"], challenge["maxnumber"]
    )
    assert solution is not None
    return solution.number


def solved_fields(scope: str = SCOPE) -> dict[str, Any]:
    challenge = issue_challenge(scope=scope)
    return {
        "algorithm": challenge["algorithm"],
        "challenge": challenge["challenge"],
        "number": solve(challenge),
        "salt": challenge["salt"],
        "signature": challenge["signature"],
        "took": 12,
    }


def signed_by_us(salt: str, number: int, algorithm: str = "SHA-256") -> dict[str, Any]:
    """A payload with a valid signature over any salt: what only a key holder could build."""
    challenge = altcha.hash_hex(algorithm, (salt + str(number)).encode())
    signature = altcha.hmac_hex(algorithm, challenge.encode(), our_key())
    return {
        "algorithm": algorithm,
        "challenge": challenge,
        "number": number,
        "salt": salt,
        "signature": signature,
    }


def refused(payload: object, reason: str, scope: str = SCOPE) -> bool:
    return check_solution(payload, scope=scope) == PowCheck(ok=False, reason_code=reason)


def test_a_challenge_has_the_fields_altcha_clients_expect() -> None:
    challenge = issue_challenge(scope=SCOPE)

    assert set(challenge) == {"algorithm", "challenge", "maxnumber", "salt", "signature"}
    assert challenge["algorithm"] == "SHA-256"
    assert challenge["maxnumber"] == django_settings.QUORUM_POW_MAX_NUMBER
    json.dumps(challenge)  # it is the JSON body of the challenge endpoint


def test_a_challenge_binds_its_expiry_and_scope_into_a_delimited_salt() -> None:
    challenge = issue_challenge(scope=SCOPE)

    nonce, query = challenge["salt"].split("?")
    params = urllib.parse.parse_qs(query)
    assert len(nonce) == 24
    assert params["scope"] == [SCOPE]
    assert int(params["expires"][0]) > 0
    assert challenge["salt"].endswith("&")  # the CVE-2025-68113 delimiter


def test_the_secret_number_is_drawn_up_to_the_configured_difficulty(settings: Any) -> None:
    settings.QUORUM_POW_MAX_NUMBER = 1000

    numbers = [solve(issue_challenge(scope=SCOPE)) for _ in range(20)]

    assert all(0 <= n <= 1000 for n in numbers)
    assert len(set(numbers)) > 1


def test_a_solution_found_by_the_altcha_library_is_accepted() -> None:
    fields = solved_fields()

    result = check_solution(encode(fields), scope=SCOPE)

    assert result == PowCheck(ok=True, reason_code=None, solution_id=fields["signature"])
    # The altcha library agrees: our challenges are plain ALTCHA v1.
    assert altcha.verify_solution_v1(encode(fields), our_key()) == (True, None)


def test_every_encoding_of_one_solution_has_the_same_solution_id() -> None:
    fields = solved_fields()
    reordered = dict(reversed(list(fields.items())))

    first = check_solution(encode(fields), scope=SCOPE)
    second = check_solution(encode({**reordered, "took": 99999}), scope=SCOPE)

    assert first.ok and second.ok
    assert first.solution_id == second.solution_id


def test_two_challenges_have_different_solution_ids() -> None:
    first = check_solution(encode(solved_fields()), scope=SCOPE)
    second = check_solution(encode(solved_fields()), scope=SCOPE)

    assert first.solution_id != second.solution_id


def test_a_wrong_number_is_refused_as_invalid() -> None:
    fields = solved_fields()

    assert refused(encode({**fields, "number": fields["number"] + 1}), "invalid")


def test_a_tampered_signature_is_refused_as_invalid() -> None:
    fields = solved_fields()
    flipped = ("0" if fields["signature"][0] != "0" else "1") + fields["signature"][1:]

    assert refused(encode({**fields, "signature": flipped}), "invalid")


def test_a_tampered_challenge_is_refused_as_invalid() -> None:
    fields = solved_fields()
    flipped = ("0" if fields["challenge"][0] != "0" else "1") + fields["challenge"][1:]

    assert refused(encode({**fields, "challenge": flipped}), "invalid")


def test_a_tampered_salt_nonce_is_refused_as_invalid() -> None:
    fields = solved_fields()
    salt = fields["salt"]
    tampered = ("0" if salt[0] != "0" else "1") + salt[1:]

    assert refused(encode({**fields, "salt": tampered}), "invalid")


def test_a_later_expiry_written_into_the_salt_is_refused_as_invalid() -> None:
    fields = solved_fields()
    query = fields["salt"].split("?")[1]
    expires = int(urllib.parse.parse_qs(query)["expires"][0])
    later = fields["salt"].replace(f"expires={expires}", f"expires={expires + 3600}")

    assert refused(encode({**fields, "salt": later}), "invalid")


def test_another_scope_written_into_the_salt_is_refused_as_invalid() -> None:
    fields = solved_fields(scope="statement:other")
    forged = fields["salt"].replace("statement%3Aother", urllib.parse.quote_plus(SCOPE))

    assert refused(encode({**fields, "salt": forged}), "invalid")


def test_a_solution_for_another_scope_is_refused_as_wrong_scope() -> None:
    fields = solved_fields(scope="statement:another-initiative")

    assert refused(encode(fields), "wrong_scope")


def test_a_solution_signed_under_another_secret_is_refused_as_invalid(settings: Any) -> None:
    fields = solved_fields()
    settings.SECRET_KEY = "another secret key, after a rotation"

    assert refused(encode(fields), "invalid")


def test_the_signing_key_is_not_the_raw_secret() -> None:
    fields = solved_fields()

    assert altcha.verify_solution_v1(encode(fields), django_settings.SECRET_KEY)[0] is False


def test_an_expired_solution_is_refused_as_expired(settings: Any, time_machine: Any) -> None:
    settings.QUORUM_POW_EXPIRES_SECONDS = 300
    time_machine.move_to(datetime.datetime(2026, 5, 4, 12, 0, tzinfo=datetime.UTC), tick=False)
    payload = encode(solved_fields())

    time_machine.shift(299)
    assert check_solution(payload, scope=SCOPE).ok

    time_machine.shift(1)
    assert refused(payload, "expired")


def test_a_challenge_expiring_further_ahead_than_we_issue_is_refused() -> None:
    # Signed with our key but not under the settings in force: e.g. from a leaked old key.
    far = int(datetime.datetime.now(datetime.UTC).timestamp()) + 10 * 86400
    salt = "ab" * 12 + "?" + urllib.parse.urlencode({"expires": far, "scope": SCOPE}) + "&"

    assert refused(encode(signed_by_us(salt, 7)), "invalid")


def test_digits_moved_from_the_number_into_the_salt_are_refused() -> None:
    # CVE-2025-68113: without a delimiter, salt "…expires=100" + number 987 hashed the same
    # as salt "…expires=1009" + number 87. The "&" and our strict salt make it impossible.
    fields = solved_fields()
    fields["number"] = fields["number"] * 100 + 42  # make sure it has digits to move
    fields.update(signed_by_us(fields["salt"], fields["number"]))
    digits = str(fields["number"])
    assert check_solution(encode(fields), scope=SCOPE).ok

    spliced = {**fields, "salt": fields["salt"] + digits[:2], "number": int(digits[2:])}

    assert refused(encode(spliced), "malformed")
    assert altcha.verify_solution_v1(encode(spliced), our_key())[0] is False


def test_a_salt_with_a_repeated_expires_parameter_is_refused_even_when_signed() -> None:
    now = int(datetime.datetime.now(datetime.UTC).timestamp())
    salt = "ab" * 12 + f"?expires={now - 10}&scope=statement%3Ax&expires={now + 100}&"

    assert refused(encode(signed_by_us(salt, 5)), "malformed", scope="statement:x")


def test_a_salt_with_an_extra_parameter_is_refused_even_when_signed() -> None:
    challenge = altcha.create_challenge_v1(
        altcha.ChallengeOptionsV1(
            max_number=10,
            hmac_key=our_key(),
            expires=datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=5),
            params={"scope": SCOPE, "extra": "1"},
        )
    )
    fields = signed_by_us(challenge.salt, solve({**challenge.to_dict(), "maxnumber": 10}))

    assert refused(encode(fields), "malformed")


def test_a_salt_without_the_closing_delimiter_is_refused() -> None:
    fields = solved_fields()

    assert refused(encode({**fields, "salt": fields["salt"].rstrip("&")}), "malformed")


def test_another_algorithm_is_refused_even_when_signed() -> None:
    fields = solved_fields()
    sha1 = signed_by_us(fields["salt"], fields["number"], algorithm="SHA-1")
    assert altcha.verify_solution_v1(encode(sha1), our_key())[0] is True  # the library would

    assert not check_solution(encode(sha1), scope=SCOPE).ok
    assert refused(encode({**fields, "algorithm": "SHA-1"}), "invalid")


@pytest.mark.parametrize("payload", [None, "", "   ", "\n"])
def test_an_empty_payload_is_refused_as_missing(payload: object) -> None:
    assert refused(payload, "missing")


@pytest.mark.parametrize(
    "payload",
    [
        "not base64 at all!",
        "é" * 40,
        base64.b64encode(b"\xff\xfe\x00garbage").decode(),
        base64.b64encode(b"[1, 2, 3]").decode(),
        base64.b64encode(b"{}").decode(),
        base64.b64encode(b"[" * 3000 + b"]" * 3000).decode()[:4000],
        base64.b64encode(b'{"a":' * 700 + b"1" + b"}" * 700).decode(),
        "A" * 1_000_000,
        b"bytes are not text",
        12345,
        {"algorithm": "SHA-256"},
    ],
)
def test_garbage_is_refused_as_malformed(payload: object) -> None:
    assert refused(payload, "malformed")


@pytest.mark.parametrize("number", ["123", 12.0, True, -1, 10**13, None])
def test_a_number_of_the_wrong_type_or_range_is_malformed(number: object) -> None:
    fields = solved_fields()

    assert refused(encode({**fields, "number": number}), "malformed")


def test_an_invalid_expected_scope_never_matches() -> None:
    assert refused(encode(solved_fields()), "wrong_scope", scope="statement:\x00")


@pytest.mark.parametrize("scope", ["", "a" * 201, "statement: spaced", "-leading", "é", None])
def test_issuing_a_challenge_for_an_invalid_scope_raises_value_error(scope: Any) -> None:
    with pytest.raises(ValueError):
        issue_challenge(scope=scope)


def test_pow_enabled_follows_the_setting(settings: Any) -> None:
    settings.QUORUM_POW = False
    assert proof_of_work.pow_enabled() is False
    settings.QUORUM_POW = True
    assert proof_of_work.pow_enabled() is True


def test_every_reason_code_and_a_replay_have_a_plain_message() -> None:
    assert set(POW_MESSAGES) == REASONS | {"replayed"}
    assert all(str(message).endswith(".") for message in POW_MESSAGES.values())


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=80),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)
field_values = json_values | st.sampled_from(["SHA-256", "SHA-1", "a" * 64, "0" * 64])
payload_dicts = st.fixed_dictionaries(
    {},
    optional={
        key: field_values for key in ("algorithm", "challenge", "number", "salt", "signature")
    },
)


@given(
    st.one_of(
        st.none(),
        st.integers(),
        st.binary(max_size=200),
        st.text(max_size=5000),
        st.binary(max_size=3000).map(lambda b: base64.b64encode(b).decode()),
        json_values.map(lambda v: base64.b64encode(json.dumps(v).encode()).decode()),
        payload_dicts.map(lambda d: base64.b64encode(json.dumps(d).encode()).decode()),
    )
)
def test_no_input_ever_raises_or_passes(payload: object) -> None:
    result = check_solution(payload, scope=SCOPE)

    assert result.ok is False
    assert result.reason_code in REASONS
    assert result.solution_id is None


@given(position=st.integers(min_value=0, max_value=400), junk=st.text(min_size=1, max_size=8))
def test_a_valid_payload_with_junk_inserted_is_refused_without_raising(
    position: int, junk: str
) -> None:
    payload = encode(solved_fields())
    mangled = payload[:position] + junk + payload[position:]

    result = check_solution(mangled, scope=SCOPE)

    assert result.reason_code in REASONS or result.ok
    if result.ok:  # only junk that base64 ignores could keep it valid: whitespace at the ends
        assert mangled.strip() == payload


@given(salt=st.text(max_size=300), number=st.integers(min_value=0, max_value=10**6))
def test_any_salt_signed_by_us_either_matches_our_shape_or_is_refused(
    salt: str, number: int
) -> None:
    result = check_solution(encode(signed_by_us(salt, number)), scope=SCOPE)

    assert not result.ok
    assert result.reason_code in REASONS
