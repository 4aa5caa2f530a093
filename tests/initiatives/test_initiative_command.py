"""`quorum initiative …`: the lifecycle for operators and scripts, through the same services."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from quorum.core.models import AuditEntry
from quorum.initiatives.models import Initiative

pytestmark = pytest.mark.django_db

RESIDENCES = ["DE", "FR", "IT", "ES", "PL", "NL", "BE"]


def run(*args: str) -> str:
    out = StringIO()
    call_command("initiative", *args, stdout=out)
    return out.getvalue().strip()


def test_a_script_takes_an_initiative_from_draft_to_registered() -> None:
    assert run(
        "create",
        "open-data",
        "--language",
        "en",
        "--title",
        "Open data",
        "--objectives",
        "Open it.",
    ) == ("open-data: draft")
    for n, code in enumerate(RESIDENCES):
        role = "representative" if n == 0 else "substitute" if n == 1 else "member"
        token = run(
            "invite",
            "open-data",
            "--name",
            f"M {n}",
            "--email",
            f"m{n}@example.eu",
            "--nationality",
            code,
            "--residence",
            code,
            "--role",
            role,
        )
        User.objects.create_user(f"m{n}")
        assert "confirmed" in run("confirm", token, "--user", f"m{n}")
    assert run("request-registration", "open-data") == "open-data: registration_requested"
    assert run("register", "open-data", "--number", "ECI(2026)000099") == "open-data: registered"
    assert run(
        "translate",
        "open-data",
        "--language",
        "de",
        "--title",
        "Offene Daten",
        "--objectives",
        "Öffnen.",
    )
    assert Initiative.objects.get().title["de"] == "Offene Daten"
    run("report", "open-data", "--online", "12", "--paper", "DE=3", "--paper", "fr=4")
    assert Initiative.objects.get().progress_reports.get().paper_counts == {"DE": 3, "FR": 4}
    actions = list(AuditEntry.objects.values_list("action", "actor_label"))
    assert ("quorum.initiative.registered", "cli") in actions


def test_a_refused_step_exits_1_with_its_reasons_and_changes_nothing() -> None:
    run(
        "create",
        "open-data",
        "--language",
        "en",
        "--title",
        "Open data",
        "--objectives",
        "Open it.",
    )
    with pytest.raises(CommandError) as refused:
        run("request-registration", "open-data")
    assert refused.value.returncode == 1
    assert "organisers" in str(refused.value)
    assert Initiative.objects.get().status == "draft"
    with pytest.raises(CommandError):
        run("report", "open-data", "--online", "1", "--paper", "DE=many")
    with pytest.raises(CommandError):
        run("set-start", "open-data", "2026-13-01")


@pytest.mark.parametrize("slug", ["a/b", "keys/authorities", "über", "x" * 300])
def test_a_slug_outside_the_alphabet_is_one_sentence_not_a_traceback(slug: str) -> None:
    with pytest.raises(CommandError) as refused:
        call_command(
            "initiative", "create", slug, "--language", "en", "--title", "T", "--objectives", "O"
        )
    assert "slug" in str(refused.value) or "slug" in repr(refused.value)
    assert not Initiative.objects.exists()


def test_an_invitation_token_can_always_be_typed_after_the_command() -> None:
    # A URL-safe base64 token begins with "-" one time in 64 and then reads as an option.
    run("create", "open-data", "--language", "en", "--title", "T", "--objectives", "O")
    token = run(
        "invite",
        "open-data",
        "--name",
        "M",
        "--email",
        "m@example.eu",
        "--nationality",
        "DE",
        "--residence",
        "DE",
        "--role",
        "member",
    )
    assert re.fullmatch(r"[0-9a-f]{48}", token)
