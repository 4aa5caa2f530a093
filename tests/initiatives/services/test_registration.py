"""The registration number: the registrar's, or the next free one of the year in the form of the
scheme's register (ECI(YYYY)NNNNNN for the ECI, from its data)."""

from __future__ import annotations

import contextlib
import threading
from datetime import date
from types import SimpleNamespace

import pytest
from django.db import connection

from quorum.initiatives import services
from quorum.initiatives.models import Initiative
from quorum.initiatives.services import registration

Status = Initiative.Status
DECIDED_ON = date(2026, 2, 1)


def requested(slug: str) -> Initiative:
    return services.initiative_create(
        slug=slug,
        title={"en": slug},
        objectives={"en": "Objectives."},
        language="en",
        status=Status.REGISTRATION_REQUESTED,
    )


def registered(slug: str, number: str) -> Initiative:
    return services.initiative_create(
        slug=slug,
        title={"en": slug},
        objectives={"en": "Objectives."},
        language="en",
        status=Status.REGISTERED,
        registration_number=number,
    )


def register(initiative: Initiative, *, number: str = "", today: date = DECIDED_ON) -> str:
    return services.initiative_decide_registration(
        initiative=initiative, decision="registered", registration_number=number, today=today
    ).registration_number


@pytest.mark.django_db
def test_the_first_number_left_blank_is_the_first_of_the_year_of_registration() -> None:
    assert register(requested("first")) == "ECI(2026)000001"
    assert register(requested("next-year"), today=date(2027, 1, 4)) == "ECI(2027)000001"


@pytest.mark.django_db
def test_a_number_left_blank_follows_the_highest_of_that_year_also_one_typed() -> None:
    registered("typed", "ECI(2026)000042")
    registered("last-year", "ECI(2025)000900")
    registered("other-form", "2026/7")
    assert register(requested("blank")) == "ECI(2026)000043"
    assert register(requested("blank-again")) == "ECI(2026)000044"


@pytest.mark.django_db
def test_a_number_typed_by_the_registrar_is_kept() -> None:
    assert register(requested("typed"), number=" ECI(2026)000007 ") == "ECI(2026)000007"


@pytest.mark.django_db
def test_a_number_already_given_is_refused_and_changes_nothing() -> None:
    registered("first", "ECI(2026)000007")
    initiative = requested("second")
    with pytest.raises(services.InvalidRequest) as refused:
        register(initiative, number="ECI(2026)000007")
    assert "registration_number" in refused.value.errors
    initiative.refresh_from_db()
    assert (initiative.status, initiative.registration_number) == (
        Status.REGISTRATION_REQUESTED,
        "",
    )


@pytest.mark.django_db
def test_when_the_six_digits_of_the_year_are_used_up_the_registrar_must_type_a_number() -> None:
    registered("last", "ECI(2026)999999")
    initiative = requested("one-too-many")
    with pytest.raises(services.InvalidRequest) as refused:
        register(initiative)
    assert "registration_number" in refused.value.errors
    assert Initiative.objects.get(pk=initiative.pk).status == Status.REGISTRATION_REQUESTED
    assert register(initiative, number="ECI(2026)A00001") == "ECI(2026)A00001"


@pytest.mark.django_db(transaction=True)
def test_two_registrations_at_once_never_get_the_same_number(monkeypatch) -> None:
    first, second = requested("first"), requested("second")
    # Each registration waits, once it has read the last number, until the other has read it
    # too (or a second has passed): without a lock around numbering both would take 000001.
    both_read = threading.Barrier(2)
    read_number = registration.next_registration_number

    def read_then_wait(scheme_code: str, year: int) -> str:
        number = read_number(scheme_code, year)
        # Broken when the other registration waits for ours to commit: the lock works.
        with contextlib.suppress(threading.BrokenBarrierError):
            both_read.wait(timeout=1)
        return number

    monkeypatch.setattr(registration, "next_registration_number", read_then_wait)
    failures: list[BaseException] = []

    def decide(initiative: Initiative) -> None:
        try:
            register(Initiative.objects.get(pk=initiative.pk))
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=(i,)) for i in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    numbers = sorted(Initiative.objects.values_list("registration_number", flat=True))
    assert numbers == ["ECI(2026)000001", "ECI(2026)000002"]


@pytest.mark.django_db
def test_a_scheme_without_a_register_numbers_nothing_and_the_registrar_types_one(
    monkeypatch,
) -> None:
    monkeypatch.setattr(registration, "scheme", lambda code: SimpleNamespace(register=None))
    initiative = requested("national")
    with pytest.raises(services.InvalidRequest) as refused:
        register(initiative)
    assert refused.value.errors["registration_number"] == [
        "Enter the registration number: this scheme does not number initiatives."
    ]
    assert Initiative.objects.get(pk=initiative.pk).status == Status.REGISTRATION_REQUESTED
    assert register(initiative, number="2026/7") == "2026/7"
