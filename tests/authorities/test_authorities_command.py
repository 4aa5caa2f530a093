from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from quorum.authorities.models import Authority
from quorum.core.crypto import generate_authority_keys
from quorum.core.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_an_operator_registers_the_public_keys_an_authority_generated_offline() -> None:
    public = generate_authority_keys().public_part()
    out = StringIO()
    call_command(
        "authorities",
        "set-keys",
        "fr",
        "--sealing-key",
        public["sealing_public_key"],
        "--signing-key",
        public["signing_public_key"],
        "--name",
        "Ministère de l'Intérieur",
        stdout=out,
    )
    authority = Authority.objects.get(member_state="FR")
    assert authority.sealing_public_key == public["sealing_public_key"]
    assert authority.name == "Ministère de l'Intérieur"
    assert AuditEntry.objects.filter(action="quorum.authority.keys_set").count() == 1
    listing = StringIO()
    call_command("authorities", "list", stdout=listing)
    assert public["signing_public_key"] in listing.getvalue()


@pytest.mark.parametrize("key", ["", "not base64!", "AAAA", "QUFB" * 20])
def test_a_malformed_key_is_refused_and_nothing_changes(key: str) -> None:
    good = generate_authority_keys().public_part()["signing_public_key"]
    with pytest.raises(CommandError) as refused:
        call_command("authorities", "set-keys", "FR", "--sealing-key", key, "--signing-key", good)
    assert refused.value.returncode == 1
    assert not Authority.objects.exists()


def test_an_unknown_member_state_is_refused() -> None:
    public = generate_authority_keys().public_part()
    with pytest.raises(CommandError, match="Unknown Member State"):
        call_command(
            "authorities",
            "set-keys",
            "UK",
            "--sealing-key",
            public["sealing_public_key"],
            "--signing-key",
            public["signing_public_key"],
        )
