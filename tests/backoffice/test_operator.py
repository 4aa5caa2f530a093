"""The operator registers the authorities' public keys in the back office."""

from __future__ import annotations

import pytest

from quorum.authorities.models import Authority
from quorum.core.crypto import generate_authority_keys

pytestmark = pytest.mark.django_db

PAGE = "/manage/operator/authorities/"
POST = "/manage/operator/authorities/keys/"


def test_the_operator_registers_an_authoritys_keys(client, operator, login) -> None:
    login(client, operator)
    assert client.get(PAGE).status_code == 200
    public = generate_authority_keys().public_part()
    response = client.post(POST, {"member_state": "SE", "name": "Valmyndigheten", **public})
    assert response.status_code == 302
    authority = Authority.objects.get(member_state="SE")
    assert (authority.name, authority.signing_public_key) == (
        "Valmyndigheten",
        public["signing_public_key"],
    )


def test_a_malformed_key_is_refused_and_nothing_is_stored(client, operator, login) -> None:
    login(client, operator)
    response = client.post(
        POST, {"member_state": "SE", "sealing_public_key": "nope", "signing_public_key": "nope"}
    )
    assert response.status_code == 422
    assert 'class="error-summary"' in response.content.decode()
    assert not Authority.objects.exists()


@pytest.mark.parametrize("who", ["registrar", "organiser_alice", "authority_staff_de"])
def test_nobody_but_an_operator_may_register_keys(client, login, request, who) -> None:
    login(client, request.getfixturevalue(who))
    public = generate_authority_keys().public_part()
    assert client.get(PAGE).status_code == 403
    assert client.post(POST, {"member_state": "SE", **public}).status_code == 403
    assert not Authority.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in(client) -> None:
    response = client.get(PAGE)
    assert response.status_code == 302
    assert "/account/login/" in response["Location"]
