"""Roles are Groups; user_create validates and audits, never keeping the password."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError

from quorum.accounts.roles import (
    OPERATOR,
    REGISTRAR,
    is_operator,
    is_registrar,
    user_create,
    user_roles,
    user_set_roles,
)
from quorum.core.models import AuditEntry

PASSWORD = "a long and uncommon passphrase"

pytestmark = pytest.mark.django_db


def test_the_role_names_are_stable() -> None:
    assert (REGISTRAR, OPERATOR) == ("registrar", "operator")


def test_user_create_makes_a_user_with_roles_and_one_audit_entry(operator) -> None:
    user = user_create(
        username="commission",
        email="c@example.eu",
        password=PASSWORD,
        roles=[REGISTRAR],
        actor=operator,
    )
    assert user.check_password(PASSWORD)
    assert is_registrar(user)
    assert not is_operator(user)
    entry = AuditEntry.objects.get(action="quorum.account.created")
    assert entry.actor == operator
    assert entry.subject_id == str(user.pk)
    assert entry.data == {"username": "commission", "roles": ["registrar"]}
    assert PASSWORD not in str(entry.data)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"password": "short"}, "password"),
        ({"password": "commission12"}, "password"),  # too close to the username
        ({"username": "registrar"}, "username"),  # taken (the cast's registrar)
        ({"username": "bad name!"}, "username"),
        ({"email": "not an address"}, "email"),
        ({"roles": ["admin"]}, "roles"),
    ],
)
def test_user_create_refuses_bad_input_and_creates_nothing(registrar, kwargs, field) -> None:
    arguments = {"username": "commission", "email": "c@example.eu", "password": PASSWORD, **kwargs}
    before = User.objects.count()
    with pytest.raises(ValidationError) as caught:
        user_create(**arguments)
    assert field in caught.value.message_dict
    assert User.objects.count() == before
    assert not AuditEntry.objects.filter(action="quorum.account.created").exists()


def test_user_set_roles_adds_and_removes_and_audits(organiser_alice, operator) -> None:
    user_set_roles(user=organiser_alice, roles=[REGISTRAR, OPERATOR], actor=operator)
    assert user_roles(organiser_alice) == {REGISTRAR, OPERATOR}
    user_set_roles(user=organiser_alice, roles=[OPERATOR], actor=operator)
    assert user_roles(User.objects.get(pk=organiser_alice.pk)) == {OPERATOR}
    entries = AuditEntry.objects.filter(action="quorum.account.roles_changed")
    assert [e.data for e in entries] == [
        {"username": "organiser-alice", "added": ["operator", "registrar"], "removed": []},
        {"username": "organiser-alice", "added": [], "removed": ["registrar"]},
    ]
    # Nothing changed: nothing written.
    user_set_roles(user=organiser_alice, roles=[OPERATOR])
    assert entries.count() == 2


def test_other_groups_are_left_alone(organiser_alice) -> None:
    from django.contrib.auth.models import Group

    organiser_alice.groups.add(Group.objects.create(name="newsletter"))
    user_set_roles(user=organiser_alice, roles=[REGISTRAR])
    user_set_roles(user=organiser_alice, roles=[])
    assert list(organiser_alice.groups.values_list("name", flat=True)) == ["newsletter"]


def test_nobody_has_a_role_when_anonymous_or_inactive(registrar) -> None:
    assert not is_registrar(AnonymousUser())
    fresh = User.objects.get(pk=registrar.pk)
    fresh.is_active = False
    assert not is_registrar(fresh)


def test_the_cast_has_its_roles(registrar, operator, organiser_alice, authority_staff_de) -> None:
    assert is_registrar(registrar) and not is_operator(registrar)
    assert is_operator(operator) and not is_registrar(operator)
    assert user_roles(organiser_alice) == frozenset()
    assert user_roles(authority_staff_de) == frozenset()
