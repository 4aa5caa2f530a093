from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command

from quorum.authorities.models import Authority
from quorum.core.models import AuditEntry
from quorum.initiatives.models import Initiative
from quorum.initiatives.selectors import initiative_is_collecting
from quorum.proofs.crypto import decode_key, open_sealed, read_key_file, seal

pytestmark = pytest.mark.django_db


def _demo() -> str:
    out = StringIO()
    call_command("demo", "--no-serve", stdout=out)
    return out.getvalue()


def test_the_demo_loads_an_initiative_collecting_today(data_dir) -> None:
    _demo()
    initiative = Initiative.objects.get()
    assert initiative_is_collecting(initiative)
    assert initiative.registration_date is not None


def test_the_demo_keeps_private_keys_only_in_passphrase_protected_files(data_dir) -> None:
    output = _demo()
    assert "passphrase: demo" in output
    authorities = {a.member_state: a for a in Authority.objects.all()}
    assert len(authorities) == 27
    keys = read_key_file(data_dir / "demo-keys" / "PL.key", b"demo")
    public = decode_key(authorities["PL"].current_key.sealing_public_key)
    assert open_sealed(keys.sealing_private_key, seal(public, b"hello")) == b"hello"
    assert (data_dir / "demo-keys" / "PL.key").stat().st_mode & 0o077 == 0


def test_running_the_demo_twice_changes_nothing(data_dir) -> None:
    _demo()
    before = {(a.member_state, a.current_key.sealing_public_key) for a in Authority.objects.all()}
    key_file = (data_dir / "demo-keys" / "DE.key").read_bytes()
    output = _demo()
    assert "Kept the demo initiative" in output
    assert Initiative.objects.count() == 1
    assert {
        (a.member_state, a.current_key.sealing_public_key) for a in Authority.objects.all()
    } == before
    assert (data_dir / "demo-keys" / "DE.key").read_bytes() == key_file


def test_the_demo_registers_its_authorities_through_the_key_ceremony(data_dir) -> None:
    from quorum.authorities.models import KeyLogLeaf
    from quorum.proofs.key_certificate import check_key_history

    _demo()
    history = check_key_history(KeyLogLeaf.objects.order_by("index").values_list("data", flat=True))
    assert not history.problems and not history.legacy
    assert len(history.keys) == 27
    assert all(entries[0].certificate is not None for entries in history.keys.values())
    assert AuditEntry.objects.filter(action="quorum.authority.fingerprint_recorded").count() == 27


def test_the_demo_prints_an_organiser_account_that_signs_in_and_sees_the_initiative(
    data_dir, client
) -> None:
    from django.contrib.auth.models import User
    from django.urls import reverse

    output = _demo()
    found = re.search(r"as (\S+) with the password (\S+) ", output)
    assert found is not None, output
    username, password = found.groups()
    # Printed again, unchanged, by the next run.
    assert f"with the password {password} " in _demo()
    user = User.objects.get(username=username)
    assert user.check_password(password)
    assert user.organiser_memberships.get().initiative.slug == "ban-biometric-mass-surveillance"
    response = client.post(reverse("accounts:login"), {"username": username, "password": password})
    assert response.status_code == 302  # on to setting up the authenticator app
    assert (data_dir / "demo-organiser-password").stat().st_mode & 0o077 == 0


def test_the_demo_initiative_has_a_group_of_seven_organisers_in_seven_member_states(
    data_dir,
) -> None:
    from quorum.initiatives.models import OrganiserMember
    from quorum.initiatives.selectors import organiser_group_problems

    _demo()
    initiative = Initiative.objects.get()
    members = list(initiative.organisers.all())

    assert len(members) == 7
    assert len({member.residence for member in members}) == 7
    assert all(member.confirmed_at is not None for member in members)
    assert {member.role for member in members} == set(OrganiserMember.Role.values)
    assert organiser_group_problems(initiative) == []
    # The printed account is the representative, not an eighth member.
    (representative,) = [m for m in members if m.role == OrganiserMember.Role.REPRESENTATIVE]
    assert representative.user is not None and representative.user.username == "demo-organiser"
    _demo()
    assert initiative.organisers.count() == 7


def test_the_demo_timeline_lists_its_days_in_the_order_they_happened(data_dir, client) -> None:
    _demo()
    initiative = Initiative.objects.get()
    page = client.get(f"/i/{initiative.slug}/").content.decode()
    timeline = re.search(r'id="timeline-heading".*?</ol>', page, re.S)
    assert timeline is not None
    events = re.findall(r'<time datetime="([^"]+)">[^<]*</time> — ([^<]+)</li>', timeline.group(0))

    assert [what for _, what in events] == [
        "Created",
        "Registration requested",
        "Registered",
        "Start of collection announced",
        "Collection opened",
    ]
    times = [when for when, _ in events]
    assert times == sorted(times)
    registered = dict((what, when) for when, what in events)["Registered"]
    assert registered.startswith(initiative.registration_date.isoformat())
    opened = dict((what, when) for when, what in events)["Collection opened"]
    assert opened.startswith(initiative.collection_start.isoformat())
    assert initiative.registration_requested_on < initiative.registration_date
