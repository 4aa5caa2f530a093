"""One honest total: paper statements the organisers declare, beside the log's count, never in it."""

from __future__ import annotations

import re
from datetime import date

import pytest

from quorum.initiatives.services import progress_report_file
from quorum.ledger.selectors import initiative_counts
from quorum.ledger.sequencer import sequence_all
from quorum.rules import scheme

pytestmark = pytest.mark.django_db(transaction=True)

PAGE = "/i/clean-air/"
COUNTS = "/api/v1/initiatives/clean-air/counts"


def threshold(initiative, code: str) -> int:
    table = scheme("eci").threshold_table(registered=initiative.registration_date)
    return table.thresholds[code]


def declare(initiative, paper: dict[str, int], *, on: date | None = None) -> None:
    progress_report_file(
        initiative=initiative,
        online_count=initiative_counts(initiative).total,
        paper_counts=paper,
        today=on,
    )


def row(html: str, code: str) -> str:
    found = re.search(rf'<tr data-member-state="{code}">.*?</tr>', html, re.S)
    assert found
    return found.group(0)


def cells(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", html)]


def visible_mark(html: str) -> str:
    marks = re.findall(r"<span[^>]*data-reached-(yes|paper|no)(?![^>]*hidden)[^>]*>", html)
    assert len(marks) == 1, marks
    return marks[0]


def test_without_a_declaration_the_counts_are_the_logs_alone(
    client, collecting_initiative, ledger_rows
) -> None:
    ledger_rows(collecting_initiative, "PL", 3)
    sequence_all()
    counts = client.get(COUNTS).json()
    assert (counts["paper_declared"], counts["paper_reported_on"]) == (0, None)
    assert counts["total_with_paper"] == counts["total"] == 3
    html = client.get(PAGE).content.decode()
    assert "Paper (declared)" not in html
    assert cells(row(html, "PL"))[:2] == ["3", "38,160"]


def test_declared_paper_is_shown_beside_the_online_count_and_summed_never_mixed(
    client, collecting_initiative, ledger_rows
) -> None:
    malta = threshold(collecting_initiative, "MT")
    ledger_rows(collecting_initiative, "PL", 5)
    ledger_rows(collecting_initiative, "MT", malta - 10)
    ledger_rows(collecting_initiative, "LU", threshold(collecting_initiative, "LU"))
    sequence_all()
    declare(collecting_initiative, {"PL": 100, "MT": 10})
    declare(collecting_initiative, {"PL": 120, "MT": 10})  # the latest declaration counts

    counts = client.get(COUNTS).json()
    assert (
        counts["total"]
        == counts["checkpoint_size"]
        == 5 + malta - 10 + counts["by_member_state"]["LU"]["count"]
    )
    assert counts["paper_declared"] == 130
    assert counts["total_with_paper"] == counts["total"] + 130
    assert counts["by_member_state"]["PL"] | {} == {
        "count": 5,
        "threshold": 38_160,
        "reached": False,
        "paper_declared": 120,
        "reached_with_paper": False,
    }
    assert counts["by_member_state"]["MT"]["reached"] is False
    assert counts["by_member_state"]["MT"]["reached_with_paper"] is True
    assert counts["by_member_state"]["LU"]["reached"] is True
    assert counts["by_member_state"]["LU"]["reached_with_paper"] is False
    assert (counts["states_reached"], counts["states_reached_with_paper"]) == (1, 2)

    html = client.get(PAGE).content.decode()
    assert cells(row(html, "PL"))[:4] == ["5", "120", "125", "38,160"]
    assert visible_mark(row(html, "PL")) == "no"
    assert visible_mark(row(html, "MT")) == "paper"
    assert "Reached with paper (declared)" in row(html, "MT")
    assert visible_mark(row(html, "LU")) == "yes"
    assert "Reached online" in row(html, "LU")
    assert "not in the public log and nobody has verified them" in html
    assert re.search(r"data-total>[\d,]+</span>", html)


def test_a_new_declaration_changes_the_counts_etag(client, collecting_initiative, ledger_rows):
    ledger_rows(collecting_initiative, "PL", 2)
    sequence_all()
    first = client.get(COUNTS)
    declare(collecting_initiative, {"PL": 7})
    second = client.get(COUNTS, HTTP_IF_NONE_MATCH=first["ETag"])
    assert second.status_code == 200
    assert second.json()["paper_declared"] == 7
    assert second["ETag"] != first["ETag"]


def test_the_declaration_is_said_in_the_readers_language(
    client, collecting_initiative, ledger_rows
) -> None:
    ledger_rows(collecting_initiative, "PL", 2)
    sequence_all()
    declare(collecting_initiative, {"PL": 7})
    html = client.get(PAGE, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Paper (declared)" not in html
    assert "not in the public log" not in html
