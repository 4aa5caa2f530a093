"""The outbox of mail to staff, against a real SMTP server (aiosmtpd) on the loopback
(the ``inbox`` fixture of tests/conftest.py)."""

from __future__ import annotations

import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from quorum.core.mail import (
    GIVE_UP_AFTER,
    LONGEST_RETRY,
    mail_queue,
    mail_send_due,
    outbox_waiting,
    retry_delay,
)
from quorum.core.models import OutgoingMail


@pytest.mark.django_db
def test_a_queued_message_goes_out_over_smtp_and_leaves_the_outbox(inbox) -> None:
    mail_queue(to="organiser@example.org", subject="Invitation", body="Join us: https://x/j/1")

    run = mail_send_due()

    assert (run.sent, run.failed) == (1, 0)
    assert inbox.recipients == [["organiser@example.org"]]
    assert inbox.messages[0]["Subject"] == "Invitation"
    assert "https://x/j/1" in inbox.messages[0].get_payload()
    assert outbox_waiting() == 0


@pytest.mark.django_db
def test_each_message_is_sent_once_however_often_the_sender_runs(inbox) -> None:
    for number in range(3):
        mail_queue(to=f"member{number}@example.org", subject="Step", body="A step waits.")

    mail_send_due()
    mail_send_due()

    assert sorted(r[0] for r in inbox.recipients) == [f"member{n}@example.org" for n in range(3)]


@pytest.mark.django_db(transaction=True)
def test_a_message_of_a_change_that_rolled_back_is_never_sent(inbox) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        mail_queue(to="organiser@example.org", subject="Invitation", body="…")
        raise RuntimeError("the change failed")

    assert mail_send_due().sent == 0
    assert inbox.messages == []


@pytest.mark.django_db
def test_a_mail_server_that_is_down_delays_the_message_which_goes_out_later(
    inbox,
) -> None:
    mail_queue(to="registrar@example.org", subject="A registration request", body="…")
    with inbox.down():
        run = mail_send_due()
    waiting = OutgoingMail.objects.get()
    assert (run.sent, run.failed) == (0, 1)
    assert waiting.attempts == 1
    assert waiting.last_error
    assert waiting.next_attempt_at > timezone.now()

    assert mail_send_due().sent == 0, "tried again before its time"
    run = mail_send_due(now=waiting.next_attempt_at + timedelta(seconds=1))

    assert run.sent == 1
    assert inbox.recipients == [["registrar@example.org"]]
    assert outbox_waiting() == 0


@pytest.mark.django_db
def test_a_failed_server_stops_the_run_and_the_rest_waits_untouched(inbox) -> None:
    for number in range(3):
        mail_queue(to=f"member{number}@example.org", subject="Step", body="…")
    with inbox.down():
        run = mail_send_due()

    assert run.failed == 1
    assert sorted(OutgoingMail.objects.values_list("attempts", flat=True)) == [0, 0, 1]
    assert mail_send_due().sent == 2


@pytest.mark.django_db
def test_a_message_refused_for_three_days_is_dropped_and_logged(
    inbox, caplog: pytest.LogCaptureFixture
) -> None:
    mail_queue(to="gone@example.org", subject="Step", body="…")
    later = timezone.now() + GIVE_UP_AFTER + timedelta(minutes=1)
    with inbox.down():
        run = mail_send_due(now=later)

    assert run.dropped == 1
    assert outbox_waiting() == 0
    assert "dropped" in caplog.text
    assert "gone@example.org" not in caplog.text


@given(st.integers(min_value=1, max_value=1000))
def test_the_delay_between_attempts_doubles_up_to_an_hour(attempts: int) -> None:
    delay = retry_delay(attempts)
    assert timedelta(minutes=1) <= delay <= LONGEST_RETRY
    assert retry_delay(attempts + 1) >= delay
    assert retry_delay(1) == timedelta(minutes=1)
    assert retry_delay(2) == timedelta(minutes=2)


@pytest.mark.django_db
def test_a_line_break_in_a_subject_cannot_add_a_header(inbox) -> None:
    mail_queue(to="organiser@example.org", subject="Hello\r\nBcc: evil@example.org", body="…")
    mail_send_due()

    assert inbox.recipients == [["organiser@example.org"]]
    assert inbox.messages[0]["Bcc"] is None


@pytest.mark.django_db(transaction=True)
def test_once_the_change_commits_the_message_goes_out_without_anyone_running_a_sender(
    inbox,
) -> None:
    with override_settings(QUORUM_EMAIL_SEND_ON_COMMIT=True), transaction.atomic():
        mail_queue(to="authority@example.org", subject="A verification request", body="…")

    deadline = time.monotonic() + 10
    while not inbox.messages and time.monotonic() < deadline:
        time.sleep(0.02)
    assert inbox.recipients == [["authority@example.org"]]


@pytest.mark.django_db
def test_the_mail_command_sends_what_is_due_and_says_what_waits(inbox) -> None:
    mail_queue(to="organiser@example.org", subject="Invitation", body="…")
    out = StringIO()
    call_command("mail", "status", stdout=out)
    call_command("mail", "send", stdout=out)
    call_command("mail", "test", "operator@example.org", stdout=out)

    assert "1 messages wait" in out.getvalue()
    assert "sent 1, not sent 0, dropped 0; 0 wait" in out.getvalue()
    assert [r[0] for r in inbox.recipients] == ["organiser@example.org", "operator@example.org"]


@pytest.mark.django_db
def test_the_mail_command_fails_when_the_server_does_not_answer(inbox) -> None:
    mail_queue(to="organiser@example.org", subject="Invitation", body="…")
    with inbox.down():
        with pytest.raises(CommandError, match="did not take every message"):
            call_command("mail", "send", stdout=StringIO())
        with pytest.raises(CommandError, match="refused"):
            call_command("mail", "test", "operator@example.org", stdout=StringIO())


def test_check_deploy_warns_when_mail_is_only_printed() -> None:
    from quorum.core.checks import mail_goes_out

    with override_settings(EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend"):
        assert [message.id for message in mail_goes_out()] == ["quorum.W002"]
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend"):
        assert mail_goes_out() == []
