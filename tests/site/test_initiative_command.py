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


def test_every_action_of_the_command_has_one_function_and_every_function_an_action() -> None:
    from django.core.management import load_command_class

    from quorum.site.management.commands.initiative import ACTIONS

    command = load_command_class("quorum.site", "initiative")
    parser = command.create_parser("quorum", "initiative")
    (subcommands,) = (action.choices for action in parser._actions if action.dest == "action")
    assert set(ACTIONS) == set(subcommands)


def make_initiative(slug: str, status: str, **fields: object) -> Initiative:
    from quorum.initiatives.services import initiative_create

    initiative = initiative_create(
        slug=slug, title={"en": slug}, objectives={"en": "O."}, language="en", status=status
    )
    Initiative.objects.filter(pk=initiative.pk).update(**fields)
    return initiative


def test_the_registrar_refuses_extends_and_records_the_follow_up_from_the_command_line() -> None:
    from datetime import date

    make_initiative("asked", "registration_requested")
    assert run("refuse", "asked", "--reasons", "Art. 6(3)(c)") == "asked: refused"
    make_initiative(
        "closed",
        "collection_closed",
        collection_start=date(2026, 3, 16),
        collection_end=date(2027, 3, 15),
    )
    assert (
        run("extend", "closed", "--until", "2027-06-16", "--legal-basis", "Art. 2(1)")
        == "closed: collecting"
    )
    make_initiative("handed-in", "submitted", submitted_on=date(2027, 9, 1))
    assert run("record", "handed-in", "meeting", "2027-09-20") == "handed-in: submitted"
    assert (
        run("record", "handed-in", "communication", "2028-02-01", "--url", "https://ec.europa.eu/c")
        == "handed-in: answered"
    )
    with pytest.raises(CommandError) as refused:
        run("record", "handed-in", "hearing", "2027-08-01")
    assert "before the submission" in str(refused.value)


def test_the_organisers_stop_withdraw_submit_and_declare_from_the_command_line() -> None:
    from datetime import date

    make_initiative(
        "early",
        "collecting",
        collection_start=date(2026, 3, 16),
        collection_end=date(2099, 3, 15),
    )
    assert run("stop-collection", "early") == "early: collecting"
    assert Initiative.objects.get(slug="early").stopped_early_on is not None
    assert (
        run(
            "add-sponsor",
            "early",
            "--name",
            "Open e.V.",
            "--amount",
            "1250.00",
            "--date",
            "2026-01-10",
        )
        == "early: collecting"
    )
    with pytest.raises(CommandError, match="not an amount"):
        run("add-sponsor", "early", "--name", "X", "--amount", "lots", "--date", "2026-01-10")
    assert run("withdraw", "early") == "early: withdrawn"
    make_initiative("done", "verified")
    assert run("submit", "done") == "done: submitted"
    with pytest.raises(CommandError) as refused:
        run("submit", "nowhere")
    assert (refused.value.returncode, str(refused.value)) == (1, "no initiative 'nowhere'")


def test_list_show_and_advance_print_what_the_operator_needs() -> None:
    import json
    from datetime import date, timedelta

    from django.utils import timezone

    yesterday = timezone.localdate() - timedelta(days=1)
    make_initiative(
        "starting",
        "registered",
        registration_number="ECI(2026)000001",
        registration_date=date(2026, 1, 31),
        collection_start=yesterday,
        collection_end=yesterday + timedelta(days=365),
    )
    assert run("list") == "starting\tregistered\tECI(2026)000001"
    assert run("advance") == "starting: registered → collecting"
    assert run("advance") == ""
    facts = json.loads(run("show", "starting", "--format", "json"))
    assert (facts["status"], facts["collection_start"]) == ("collecting", yesterday.isoformat())
    text = run("show", "starting")
    assert "registration_number: ECI(2026)000001" in text
    assert f"  retention_end: {facts['deadlines']['retention_end']}" in text


def test_the_sites_that_may_frame_the_form_are_added_listed_and_removed() -> None:
    from django.core.management.base import CommandError

    from quorum.core.models import AuditEntry

    make_initiative("framed", "collecting")
    assert run("embed-origin", "list", "framed") == "framed: no site may frame the form"
    assert run("embed-origin", "add", "framed", "https://Campaign.example.org/").startswith(
        "framed: https://campaign.example.org may frame /i/framed/embed/sign/"
    )
    assert run("embed-origin", "list", "framed") == "https://campaign.example.org"
    with pytest.raises(CommandError, match="without a path"):
        run("embed-origin", "add", "framed", "https://campaign.example.org/sign")
    with pytest.raises(CommandError, match="is not listed"):
        run("embed-origin", "remove", "framed", "https://other.example.org")
    assert "removed" in run("embed-origin", "remove", "framed", "https://campaign.example.org")
    assert run("embed-origin", "list", "framed") == "framed: no site may frame the form"
    assert AuditEntry.objects.filter(action="quorum.initiative.embed_origin_added").count() == 1


@pytest.mark.django_db(transaction=True)
def test_partners_are_added_renamed_listed_with_their_counts_and_removed(
    collecting_initiative, write_leaves
) -> None:
    from quorum.ledger.sequencer import sequence_all

    assert run("partner", "list", "clean-air") == "clean-air: no partners"
    assert run("partner", "add", "clean-air", "EDRi", "--name", "EDRi").splitlines() == [
        "clean-air: partner edri (EDRi) signs through",
        "  /i/clean-air/sign/?via=edri",
    ]
    run("partner", "add", "clean-air", "edri", "--name", "European Digital Rights")
    write_leaves(collecting_initiative, [("PL", "edri"), ("PL", "edri"), ("PL", "")])
    sequence_all()
    assert run("partner", "list", "clean-air").splitlines() == [
        "edri\tEuropean Digital Rights\t2",
        "(no partner)\t\t1",
    ]
    with pytest.raises(CommandError, match="needs --name"):
        run("partner", "add", "clean-air", "other")
    with pytest.raises(CommandError, match="Enter a code of 1 to 32"):
        run("partner", "add", "clean-air", "not a code", "--name", "Other")
    with pytest.raises(CommandError, match="is not a partner"):
        run("partner", "remove", "clean-air", "other")
    assert "removed; its statements keep their code" in run(
        "partner", "remove", "clean-air", "edri"
    )
    assert run("partner", "list", "clean-air").splitlines() == [
        "edri\t(removed)\t2",
        "(no partner)\t\t1",
    ]
    actions = AuditEntry.objects.filter(action__startswith="quorum.initiative.partner_")
    assert sorted(actions.values_list("action", flat=True)) == [
        "quorum.initiative.partner_added",
        "quorum.initiative.partner_removed",
        "quorum.initiative.partner_renamed",
    ]
