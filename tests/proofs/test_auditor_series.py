"""The auditor checks a count over time point by point: each point's root is the root of the
log's first `size` leaves and its counts their recount; a changed, moved or invented point is
caught, and a malformed series is a finding, never a traceback."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quorum.ledger.models import Statement
from quorum.ledger.sequencer import sequence_all
from quorum.proofs import auditor
from quorum.proofs.auditor import AuditReport, FetchError, audit

pytestmark = pytest.mark.django_db(transaction=True)

BASE = "http://testserver"
SLUG = "clean-air"
API = f"/api/v1/initiatives/{SLUG}"
START = datetime(2026, 5, 4, 9, 10, tzinfo=UTC)
# One batch per hour from 09:10, the last two on the next day.
BATCHES = [
    [("PL", ""), ("DE", "edri")],
    [("FR", ""), ("PL", "")],
    [("PL", "edri"), ("SE", "")],
    [("DE", "")],
]
HOURS = [0, 1, 15, 16]

Tamper = Callable[[bytes], bytes]


@dataclass
class Site:
    """The auditor's fetch, answered by Django's test client; ``tamper[path]`` rewrites a body."""

    client: object
    tamper: dict[str, Tamper] = field(default_factory=dict)
    urls: list[str] = field(default_factory=list)

    def __call__(self, url: str) -> bytes:
        self.urls.append(url)
        parts = urlsplit(url)
        response = self.client.get(parts.path + (f"?{parts.query}" if parts.query else ""))
        if response.status_code != 200:
            raise FetchError(f"HTTP {response.status_code}")
        tamper = self.tamper.get(parts.path)
        return tamper(response.content) if tamper is not None else response.content


@pytest.fixture
def grow(collecting_initiative, time_machine, write_leaves):
    def grow(rows: list[tuple[str, str]], hours: float) -> None:
        moment = START + timedelta(hours=hours)
        time_machine.move_to(moment, tick=False)
        write_leaves(collecting_initiative, rows, moment.replace(microsecond=0))
        sequence_all()

    return grow


@pytest.fixture
def log(grow) -> None:
    """Sizes 2, 4, 6, 7 at 09:10, 10:10 and 00:10, 01:10 the next day."""
    for batch, hours in zip(BATCHES, HOURS, strict=True):
        grow(batch, hours)


@pytest.fixture
def site(client) -> Site:
    return Site(client)


def series(client, interval: str = "hour") -> dict:
    response = client.get(f"{API}/series", {"interval": interval})
    assert response.status_code == 200
    return response.json()


def changed(document: dict, change: Callable[[list[dict]], object]) -> str:
    change(document["points"])
    return json.dumps(document)


def has(report: AuditReport, *needles: str) -> bool:
    return all(any(n in f for f in report.findings) for n in needles)


# --- a true series -------------------------------------------------------------------------


@pytest.mark.parametrize("interval", ["hour", "day"])
def test_a_true_series_passes_with_every_point_checked(client, log, site, interval) -> None:
    document = series(client, interval)
    assert len(document["points"]) == {"hour": 4, "day": 2}[interval]
    report = audit(BASE, SLUG, fetch=site, series=json.dumps(document))
    assert report.findings == [] and report.ok
    assert report.series_points == len(document["points"])


def test_a_series_fetched_from_the_site_is_checked_too(log, site) -> None:
    report = audit(BASE, SLUG, fetch=site, series_from_site="hour")
    assert report.ok, report.findings
    assert report.series_points == 4
    assert f"{BASE}{API}/series?interval=hour" in site.urls


def test_an_older_series_still_passes_against_the_grown_log(client, log, grow, site) -> None:
    document = series(client)
    grow([("IT", ""), ("IT", "edri")], 20)
    report = audit(BASE, SLUG, fetch=site, series=json.dumps(document))
    assert report.ok, report.findings
    assert (report.size, report.series_points) == (9, 4)


def test_the_series_of_an_empty_log_passes(client, collecting_initiative, site) -> None:
    sequence_all()
    document = series(client)
    assert [p["size"] for p in document["points"]] == [0]
    report = audit(BASE, SLUG, fetch=site, series=json.dumps(document))
    assert report.ok, report.findings
    assert report.series_points == 1


def test_no_series_asked_checks_none(log, site) -> None:
    report = audit(BASE, SLUG, fetch=site)
    assert report.ok and report.series_points is None
    assert not any("/series" in url for url in site.urls)


# --- a changed point -----------------------------------------------------------------------


def test_a_changed_count_is_caught_naming_the_point(client, log, site) -> None:
    document = series(client)
    at = document["points"][1]["at"]
    text = changed(document, lambda p: p[1]["by_member_state"].update(PL=3))
    report = audit(BASE, SLUG, fetch=site, series=text)
    assert not report.ok
    assert report.findings == [f"series point 2 ({at}): count for PL: published 3, recomputed 2"]


def test_a_count_added_or_left_out_is_caught(client, log, site) -> None:
    def change(points: list[dict]) -> None:
        points[2]["by_member_state"]["IT"] = 1
        del points[2]["by_member_state"]["FR"]

    report = audit(BASE, SLUG, fetch=site, series=changed(series(client), change))
    assert has(report, "series point 3 (", "count for IT: published 1, recomputed 0")
    assert has(report, "count for FR: published nothing, recomputed 1")


def test_a_changed_partner_count_is_caught(client, log, site) -> None:
    def change(points: list[dict]) -> None:
        points[3]["by_partner"] = {"edri": 1, "friends": 1}

    report = audit(BASE, SLUG, fetch=site, series=changed(series(client), change))
    assert has(report, "series point 4 (", "count for partner edri: published 1, recomputed 2")
    assert has(report, "count for partner friends: published 1, recomputed 0")


def test_a_changed_root_is_caught(client, log, site) -> None:
    document = series(client)
    true_root = document["points"][0]["root"]
    text = changed(document, lambda p: p[0].update(root="ab" * 32))
    report = audit(BASE, SLUG, fetch=site, series=text)
    assert report.findings == [
        f"series point 1 ({document['points'][0]['at']}): root {'ab' * 32} is not the root "
        f"{true_root} of the log's first 2 leaves"
    ]


def test_a_changed_size_is_caught(client, log, site) -> None:
    text = changed(series(client), lambda p: p[2].update(size=5))
    report = audit(BASE, SLUG, fetch=site, series=text)
    assert has(report, "series point 3 (", "of the log's first 5 leaves")
    assert has(report, "series point 3 (", "count for SE: published 1, recomputed 0")


def test_a_size_beyond_the_checkpoint_is_caught(client, log, site) -> None:
    text = changed(series(client), lambda p: p[3].update(size=70))
    report = audit(BASE, SLUG, fetch=site, series=text)
    assert has(report, "series point 4 (", "size 70 is beyond the checkpoint's 7")
    assert report.series_points == 3


def test_points_out_of_order_are_caught(client, log, site) -> None:
    def swap(points: list[dict]) -> None:
        points[1], points[2] = points[2], points[1]

    report = audit(BASE, SLUG, fetch=site, series=changed(series(client), swap))
    assert has(report, "series point 3 (", "out of order, not after series point 2 (size 6")
    assert len(report.findings) == 1  # each point is still true, and checked
    assert report.series_points == 4


def test_a_point_dated_before_the_one_before_is_out_of_order(client, log, site) -> None:
    text = changed(
        series(client),
        lambda p: p[3].update(at="2026-05-04T08:00:00Z", period="2026-05-04T08:00:00Z"),
    )
    report = audit(BASE, SLUG, fetch=site, series=text)
    assert has(report, "series point 4 (2026-05-04T08:00:00Z): out of order")


def test_a_point_outside_its_period_is_malformed(client, log, site) -> None:
    text = changed(series(client), lambda p: p[1].update(period="2026-05-04T09:00:00Z"))
    report = audit(BASE, SLUG, fetch=site, series=text)
    assert has(report, "series point 2: malformed (period 2026-05-04T09:00:00Z is not the hour")


def test_a_series_the_site_changed_is_caught(client, log, site) -> None:
    site.tamper[f"{API}/series"] = lambda body: changed(
        json.loads(body), lambda p: p[0]["by_partner"].update(edri=2)
    ).encode()
    report = audit(BASE, SLUG, fetch=site, series_from_site="hour")
    assert has(report, "series point 1 (", "count for partner edri: published 2, recomputed 1")


def test_a_saved_series_catches_a_leaf_changed_after_it(client, log, site) -> None:
    document = series(client)
    Statement.objects.filter(leaf_index=4).update(member_state="FR")
    report = audit(BASE, SLUG, fetch=site, series=json.dumps(document))
    assert has(report, "leaf 4: published leaf hash does not match its data")
    assert not has(report, "series point 2 (")  # before leaf 4: still true
    assert has(report, "series point 3 (", "root")
    assert has(report, "series point 3 (", "count for PL: published 3, recomputed 2")


def test_points_left_unchecked_when_the_audit_stops_are_a_finding(client, log, site) -> None:
    site.tamper[f"{API}/leaves"] = lambda body: b"<html>"
    report = audit(BASE, SLUG, fetch=site, series=json.dumps(series(client)))
    assert has(report, "4 series point(s) not checked: the audit stopped")


# --- a malformed series: findings, never tracebacks ----------------------------------------


@pytest.mark.parametrize(
    ("text", "finding"),
    [
        (b"", "the series is not valid JSON (download it as JSON, without format=csv)"),
        (b"at_utc,period_utc,size\r\n", "the series is not valid JSON"),
        (b"\xff\xfe", "the series is not valid JSON"),
        (b"[]", "the series is malformed: a JSON object was expected"),
        (b'{"points": 3}', "the series is malformed: 'points' must be a list"),
        (b'{"interval": "week", "points": []}', "the series is malformed: 'interval'"),
        (b'{"points": [7]}', "series point 1: malformed (a JSON object was expected)"),
        (b"[" * 100_000, "the series is not valid JSON"),
    ],
)
def test_a_malformed_series_is_a_finding(log, site, text, finding) -> None:
    report = audit(BASE, SLUG, fetch=site, series=text)
    assert not report.ok
    assert has(report, finding), report.findings


@pytest.mark.parametrize(
    ("change", "finding"),
    [
        ({"root": "AB" * 32}, "root is not 64 lowercase hex digits"),
        ({"root": None}, "root is not 64 lowercase hex digits"),
        ({"size": -1}, "size must be a non-negative integer"),
        ({"size": True}, "size must be a non-negative integer"),
        ({"size": "4"}, "size must be a non-negative integer"),
        ({"at": "2026-05-04 10:10:00"}, "at is not YYYY-MM-DDTHH:MM:SSZ"),
        ({"by_member_state": [1]}, "'by_member_state' must be an object"),
        ({"by_member_state": {"PL": 2.0}}, "the count for PL must be a non-negative integer"),
        ({"by_member_state": {"P L": 2}}, "'by_member_state' has a key that is no code"),
        ({"by_partner": {"edri\n": 1}}, "'by_partner' has a key that is no code"),
    ],
)
def test_a_malformed_point_is_a_finding_naming_it(client, log, site, change, finding) -> None:
    text = changed(series(client), lambda p: p[1].update(change))
    report = audit(BASE, SLUG, fetch=site, series=text)
    assert has(report, f"series point 2: malformed ({finding}"), report.findings
    assert report.series_points == 3  # the others are checked


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
points = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            key: json_values
            for key in ("at", "period", "size", "root", "by_member_state", "by_partner")
        },
    )
    | json_values,
    max_size=5,
)


@settings(max_examples=200, suppress_health_check=list(HealthCheck))
@given(document=st.fixed_dictionaries({}, optional={"interval": json_values, "points": points}))
def test_any_series_document_parses_to_points_or_findings(document) -> None:
    try:
        parsed = auditor._parse_series(document)
    except ValueError:
        return
    for point in parsed:
        assert isinstance(point, str | auditor._SeriesPoint)


# --- the command ---------------------------------------------------------------------------


def run_audit(*args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("audit", BASE, SLUG, "--quiet", *args, stdout=out, stderr=err)
    except CommandError as failed:
        return failed.returncode, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_the_command_checks_a_downloaded_series(client, log, site, monkeypatch, tmp_path):
    monkeypatch.setattr(auditor, "http_fetch", site)
    saved = tmp_path / "series.json"
    saved.write_bytes(client.get(f"{API}/series").content)
    status, out, _ = run_audit("--series", str(saved))
    assert status == 0, out
    assert "series: 2 point(s), each the root and the counts of the log at its size\n" in out
    assert out.splitlines()[-1].startswith("verdict: ok")


def test_the_command_fetches_the_series_from_the_site(log, site, monkeypatch) -> None:
    monkeypatch.setattr(auditor, "http_fetch", site)
    status, out, _ = run_audit("--series-from-site")
    assert status == 0 and "series: 2 point(s)" in out
    status, out, _ = run_audit("--series-from-site", "hour")
    assert status == 0 and "series: 4 point(s)" in out


def test_the_command_fails_on_a_changed_series(client, log, site, monkeypatch, tmp_path):
    monkeypatch.setattr(auditor, "http_fetch", site)
    saved = tmp_path / "series.json"
    saved.write_text(changed(series(client), lambda p: p[0].update(size=1)))
    status, out, _ = run_audit("--series", str(saved))
    assert status == 1
    assert "problem: series point 1 (" in out and "verdict: FAILED" in out


@pytest.mark.parametrize("content", [b"{not json", b"at_utc,size\r\n", b"\x00\xff"])
def test_the_command_fails_on_a_malformed_file_without_a_traceback(
    log, site, monkeypatch, tmp_path, content
) -> None:
    monkeypatch.setattr(auditor, "http_fetch", site)
    saved = tmp_path / "series.json"
    saved.write_bytes(content)
    status, out, err = run_audit("--series", str(saved))
    assert status == 1
    assert "problem: the series is not valid JSON" in out
    assert "Traceback" not in out + err


def test_an_unreadable_series_file_is_a_usage_error(log, tmp_path) -> None:
    status, _, err = run_audit("--series", str(tmp_path / "missing.json"))
    assert status == 2
    assert "cannot read" in err


def test_a_file_and_the_site_at_once_is_a_usage_error(log, tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as stopped:
        from quorum.proofs import audit_cli

        audit_cli.build_parser().parse_args(
            [BASE, SLUG, "--series", str(tmp_path / "s.json"), "--series-from-site"]
        )
    assert stopped.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
