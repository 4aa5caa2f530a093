"""Whatever is typed into the sign-in forms: an answer with a reason, never a server error."""

from __future__ import annotations

import pytest
from django.contrib.auth import SESSION_KEY
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db

NASTY = [
    "\x00",
    "registrar\x00",
    "\u202e",
    "\ufeff",
    "A" * 100_000,
    "<script>alert(1)</script>",
    "'; DROP TABLE auth_user; --",
    "registrar",
    "000000",
    "123 456",
    "１２３４５６",  # full-width digits
    "٣٤٥٦٧٨",
    "9" * 400,
    "//evil.example",
    "https://evil.example/",
    "/\\evil.example",
]
# A form post is bytes on the wire: lone surrogates cannot be encoded.
text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)
values = text | st.sampled_from(NASTY)
FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
SAFE = {200, 302, 400, 405, 413, 422, 429}  # 413: a body over the request limit


@FUZZ
@given(form=st.dictionaries(st.sampled_from(["username", "password", "next", "extra"]), values))
def test_any_login_form_is_answered_without_a_server_error(client, registrar, form) -> None:
    response = client.post("/account/login/", form)
    assert response.status_code in SAFE, response.status_code
    assert SESSION_KEY not in client.session


@FUZZ
@given(query=st.dictionaries(st.sampled_from(["next", "x"]), values, max_size=2))
def test_any_login_query_is_answered_without_a_server_error(client, db, query) -> None:
    response = client.get("/account/login/", query)
    assert response.status_code == 200


@FUZZ
@given(
    raw=st.binary(max_size=2000),
    content_type=st.sampled_from(
        ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain"]
    ),
)
def test_any_bytes_are_answered_without_a_server_error(client, db, raw, content_type) -> None:
    response = client.post("/account/login/", data=raw, content_type=content_type)
    assert response.status_code in SAFE, response.status_code


@pytest.fixture
def half_signed_in(registrar, make_user, settings):
    from django.test import Client

    # Let every example reach the code check rather than the throttles.
    settings.QUORUM_LOGIN_MAX_FAILURES = settings.QUORUM_LOGIN_MAX_FAILURES_PER_ADDRESS = 10**6
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    make_user("newcomer", enrolled=False)
    return {"registrar": Client(), "newcomer": Client()}


@FUZZ
@given(code=values)
def test_any_code_is_answered_without_a_server_error(half_signed_in, cast_password, code) -> None:
    for username, url in (
        ("registrar", "/account/login/verify/"),
        ("newcomer", "/account/2fa/setup/"),
    ):
        client = half_signed_in[username]
        if "quorum.accounts.pending" not in client.session:  # five wrong codes end a sign-in
            client.post("/account/login/", {"username": username, "password": cast_password})
        assert client.post(url, {"code": code}).status_code in SAFE
        assert SESSION_KEY not in client.session


@FUZZ
@given(
    form=st.dictionaries(
        st.sampled_from(
            ["password", "code", "next", "current_password", "new_password1", "new_password2"]
        ),
        values,
    )
)
def test_any_signed_in_form_is_answered_without_a_server_error(
    client, login, registrar, form
) -> None:
    if SESSION_KEY not in client.session:
        login(client, registrar)
    assert client.post("/account/reauth/", form).status_code in SAFE
    assert client.post("/account/password/", form).status_code in SAFE
