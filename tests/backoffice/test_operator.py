"""The operator's page of authorities: their keys' fingerprints, and the door for certificates."""

from __future__ import annotations

import pytest

from quorum.authorities.models import AuthorityKey

pytestmark = pytest.mark.django_db

PAGE = "/manage/operator/authorities/"
POST = "/manage/operator/authorities/keys/"


def test_the_operator_sees_every_authoritys_key_fingerprint(
    client, operator, login, authority_keys
) -> None:
    from quorum.proofs.key_certificate import format_fingerprint

    login(client, operator)
    page = client.get(PAGE).content.decode()
    for key in AuthorityKey.objects.all():
        assert format_fingerprint(key.fingerprint) in page


def test_nothing_sent_is_refused_with_a_reason(client, operator, login) -> None:
    login(client, operator)
    response = client.post(POST, {})
    assert response.status_code == 422
    assert 'class="govuk-error-summary"' in response.content.decode()
    assert not AuthorityKey.objects.exists()


@pytest.mark.parametrize("who", ["registrar", "organiser_alice", "authority_staff_de"])
def test_nobody_but_an_operator_may_use_the_page(client, login, request, who) -> None:
    login(client, request.getfixturevalue(who))
    assert client.get(PAGE).status_code == 403
    assert client.post(POST, {"certificate_text": "{}"}).status_code == 403
    assert not AuthorityKey.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in(client) -> None:
    response = client.get(PAGE)
    assert response.status_code == 302
    assert "/account/login/" in response["Location"]
