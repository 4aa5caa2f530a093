"""Annex I: the three threshold tables, selected by registration date."""

from __future__ import annotations

from datetime import date

import pytest

from quorum.rules import OutOfScopeError, RulesError

# Copied verbatim from reference/eci-rules.md, section 1.3 (columns: seats 2024-29,
# threshold x720, seats 2019-24, threshold x705, seats 751-Parliament, threshold x751).
REFERENCE_TABLE = """
| Belgium | BE | 22 | **15 840** | 21 | 14 805 | 21 | 15 771 |
| Bulgaria | BG | 17 | **12 240** | 17 | 11 985 | 17 | 12 767 |
| Czechia | CZ | 21 | **15 120** | 21 | 14 805 | 21 | 15 771 |
| Denmark | DK | 15 | **10 800** | 14 | 9 870 | 13 | 9 763 |
| Germany | DE | 96 | **69 120** | 96 | 67 680 | 96 | 72 096 |
| Estonia | EE | 7 | **5 040** | 7 | 4 935 | 6 | 4 506 |
| Ireland | IE | 14 | **10 080** | 13 | 9 165 | 11 | 8 261 |
| Greece | EL | 21 | **15 120** | 21 | 14 805 | 21 | 15 771 |
| Spain | ES | 61 | **43 920** | 59 | 41 595 | 54 | 40 554 |
| France | FR | 81 | **58 320** | 79 | 55 695 | 74 | 55 574 |
| Croatia | HR | 12 | **8 640** | 12 | 8 460 | 11 | 8 261 |
| Italy | IT | 76 | **54 720** | 76 | 53 580 | 73 | 54 823 |
| Cyprus | CY | 6 | **4 320** | 6 | 4 230 | 6 | 4 506 |
| Latvia | LV | 9 | **6 480** | 8 | 5 640 | 8 | 6 008 |
| Lithuania | LT | 11 | **7 920** | 11 | 7 755 | 11 | 8 261 |
| Luxembourg | LU | 6 | **4 320** | 6 | 4 230 | 6 | 4 506 |
| Hungary | HU | 21 | **15 120** | 21 | 14 805 | 21 | 15 771 |
| Malta | MT | 6 | **4 320** | 6 | 4 230 | 6 | 4 506 |
| Netherlands | NL | 31 | **22 320** | 29 | 20 445 | 26 | 19 526 |
| Austria | AT | 20 | **14 400** | 19 | 13 395 | 18 | 13 518 |
| Poland | PL | 53 | **38 160** | 52 | 36 660 | 51 | 38 301 |
| Portugal | PT | 21 | **15 120** | 21 | 14 805 | 21 | 15 771 |
| Romania | RO | 33 | **23 760** | 33 | 23 265 | 32 | 24 032 |
| Slovenia | SI | 9 | **6 480** | 8 | 5 640 | 8 | 6 008 |
| Slovakia | SK | 15 | **10 800** | 14 | 9 870 | 13 | 9 763 |
| Finland | FI | 15 | **10 800** | 14 | 9 870 | 13 | 9 763 |
| Sweden | SE | 21 | **15 120** | 21 | 14 805 | 20 | 15 020 |
"""


def _golden() -> dict[str, tuple[str, int, int, int, int, int, int]]:
    rows = {}
    for line in REFERENCE_TABLE.strip().splitlines():
        cells = [c.strip().strip("*").replace(" ", "") for c in line.strip("|").split("|")]
        name, code, *numbers = cells
        rows[code] = (name, *map(int, numbers))
    return rows


GOLDEN = _golden()
# One registration date inside each table, and the column offsets in GOLDEN's rows.
TABLES = {
    "720-seat": (date(2025, 1, 1), 1, 720),
    "705-seat": (date(2022, 1, 1), 3, 705),
    "751-seat": (date(2020, 1, 15), 5, 751),
}


def test_the_golden_data_covers_the_27_member_states(eci):
    assert len(GOLDEN) == 27
    assert set(GOLDEN) == set(eci.member_state_codes())


@pytest.mark.parametrize("table_name", TABLES)
def test_every_member_state_has_the_reference_seats_and_threshold(eci, table_name):
    registered, column, _ = TABLES[table_name]
    table = eci.threshold_table(registered)
    assert table.name == table_name
    for code, row in GOLDEN.items():
        assert table.seats[code] == row[column], (table_name, code)
        assert table.thresholds[code] == row[column + 1], (table_name, code)


@pytest.mark.parametrize("table_name", TABLES)
def test_every_threshold_equals_seats_times_total_seats(eci, table_name):
    registered, _, total = TABLES[table_name]
    table = eci.threshold_table(registered)
    assert table.total_seats == total
    for code in eci.member_state_codes():
        assert table.thresholds[code] == table.seats[code] * table.total_seats
    for withdrawn in table.withdrawn:
        assert withdrawn.threshold == withdrawn.seats * table.total_seats


def test_the_seat_totals_are_751_705_and_720_with_the_uk_in_the_first(eci):
    totals = {}
    for table in eci.threshold_tables():
        totals[table.name] = sum(table.seats.values()) + sum(w.seats for w in table.withdrawn)
        assert totals[table.name] == table.total_seats
    assert totals == {"751-seat": 751, "705-seat": 705, "720-seat": 720}
    first = eci.threshold_tables()[0]
    assert [(w.code, w.seats, w.threshold) for w in first.withdrawn] == [("UK", 73, 54823)]


@pytest.mark.parametrize(
    ("registered", "expected"),
    [
        (date(2020, 1, 1), "751-seat"),
        (date(2020, 1, 31), "751-seat"),
        (date(2020, 2, 1), "705-seat"),
        (date(2024, 7, 15), "705-seat"),
        (date(2024, 7, 16), "720-seat"),
        (date(2031, 12, 31), "720-seat"),
    ],
)
def test_the_table_changes_exactly_at_the_cut_off_dates(eci, registered, expected):
    assert eci.threshold_table(registered).name == expected


def test_a_registration_before_2020_is_out_of_scope_with_a_clear_message(eci):
    with pytest.raises(OutOfScopeError, match="211/2011") as info:
        eci.threshold_table(date(2019, 12, 31))
    assert isinstance(info.value, RulesError)
    with pytest.raises(OutOfScopeError):
        eci.member_states(registered=date(2019, 12, 31))


def test_a_datetime_counts_as_its_date(eci):
    from datetime import datetime

    assert eci.threshold_table(datetime(2024, 7, 16, 0, 0)).name == "720-seat"


def test_a_registration_that_is_not_a_date_is_a_rules_error(eci):
    with pytest.raises(RulesError):
        eci.threshold_table("2025-01-01")


def test_member_states_registered_in_2025_are_27_with_germany_at_69120(eci):
    states = eci.member_states(registered=date(2025, 1, 1))
    assert len(states) == 27
    germany = next(s for s in states if s.code == "DE")
    assert germany.threshold == 69_120
    assert germany.seats == 96


def test_germany_registered_in_2022_needs_67680(eci):
    assert eci.member_state("DE", registered=date(2022, 1, 1)).threshold == 67_680


def test_the_tables_cite_the_annexes_that_set_them(eci):
    citations = [t.source.citation for t in eci.threshold_tables()]
    assert citations == [
        "Reg. (EU) 2019/788, Annex I (original text)",
        "Reg. (EU) 2019/1673, Annex",
        "Reg. (EU) 2024/1082, Annex",
    ]
    assert [(t.valid_from, t.valid_until) for t in eci.threshold_tables()] == [
        (date(2020, 1, 1), date(2020, 1, 31)),
        (date(2020, 2, 1), date(2024, 7, 15)),
        (date(2024, 7, 16), None),
    ]
