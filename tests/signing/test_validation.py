"""The reasons the intake gives for what a signatory typed (both doors: form and API)."""

from __future__ import annotations

from datetime import date

from django.utils import translation

from quorum.rules import scheme
from quorum.rules.ages import TOO_YOUNG
from quorum.signing.validation import age_refusal, validate_fields

TODAY = date(2026, 12, 1)


def test_an_age_refusal_states_the_minimum_age_and_the_first_day_to_sign() -> None:
    reason = age_refusal(scheme("eci"), "AT", born=date(2011, 5, 12), today=TODAY)
    assert reason is not None and reason != TOO_YOUNG
    with translation.override("en"):
        assert str(reason) == (
            "You must be at least 16 years old to support an initiative as a national of this "
            "Member State (Austria). You may sign from 12 May 2027."
        )
    with translation.override("de"):
        text = str(reason)
    assert "16" in text and "12. Mai 2027" in text and "Österreich" in text


def test_someone_old_enough_gets_no_age_refusal() -> None:
    assert age_refusal(scheme("eci"), "AT", born=date(1979, 3, 17), today=TODAY) is None


def test_a_polish_minor_is_refused_on_the_number_with_the_age_and_the_day() -> None:
    # PESEL of someone born on 14 May 2010 (month 25: May of the 2000s).
    from stdnum.pl import pesel

    number = _with_check("1025140123")
    assert pesel.is_valid(number)
    checked = validate_fields(
        scheme("eci"),
        "PL",
        {"first_names": "Ewa", "family_names": "Nowak", "id_type": "pesel", "id_number": number},
        today=TODAY,
    )
    with translation.override("en"):
        (message,) = [str(m) for m in checked.errors["id_number"]]
    assert "at least 18 years old" in message and "(Poland)" in message
    assert "You may sign from 14 May 2028." in message


def _with_check(first_ten: str) -> str:
    weights = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)
    total = sum(int(d) * w for d, w in zip(first_ten, weights, strict=True))
    return first_ten + str((10 - total % 10) % 10)
