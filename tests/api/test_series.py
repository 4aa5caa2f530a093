"""GET /initiatives/{slug}/series: the counts over time as JSON or CSV, each point a checkpoint,
cached like the counts, and no query string whatever gives a 500."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from quorum.initiatives.models import Initiative
from quorum.ledger.models import Checkpoint
from quorum.ledger.selectors import count_series
from quorum.ledger.sequencer import sequence_all
from quorum.rules import scheme

pytestmark = pytest.mark.django_db(transaction=True)

SERIES = "/api/v1/initiatives/clean-air/series"
START = datetime(2026, 5, 4, 22, 30, tzinfo=UTC)


@pytest.fixture
def log(collecting_initiative, time_machine, write_leaves):
    """Checkpoints at 22:30 and 23:10 on 4 May and 00:20 and 00:50 on 5 May."""
    moments = [START, START + timedelta(minutes=40), START + timedelta(minutes=110)]
    batches = [
        [("PL", ""), ("DE", "edri")],
        [("FR", ""), ("PL", "edri")],
        [("PL", "reclaim-2027")],
    ]
    for moment, batch in zip(moments, batches, strict=True):
        time_machine.move_to(moment, tick=False)
        write_leaves(collecting_initiative, batch)
        sequence_all()
    time_machine.move_to(START + timedelta(minutes=140), tick=False)
    write_leaves(collecting_initiative, [("SE", "")])
    sequence_all()
    return collecting_initiative


@pytest.fixture
def openapi(client) -> dict:
    return client.get("/api/v1/openapi.json").json()


def assert_documented(openapi: dict, response) -> None:
    """The answer's status is documented, with its media type, and a JSON body fits."""
    operation = openapi["paths"]["/api/v1/initiatives/{slug}/series"]["get"]
    documented = operation["responses"][str(response.status_code)]
    if response.status_code == 304:
        return
    media = response["Content-Type"].split(";")[0]
    assert media in documented["content"], (response.status_code, media)
    if media == "application/json":
        schema = {**documented["content"][media]["schema"], "components": openapi["components"]}
        errors = list(Draft202012Validator(schema).iter_errors(json.loads(response.content)))
        assert not errors, [e.message for e in errors]


def assert_errors(response, status: int) -> dict[str, list[str]]:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    errors = response.json()["errors"]
    assert errors and all(isinstance(m, str) and m for ms in errors.values() for m in ms)
    return errors


# --- JSON ----------------------------------------------------------------------------------


def test_the_series_by_day_gives_each_days_last_checkpoint(client, log, openapi) -> None:
    response = client.get(SERIES, {"interval": "day"})
    assert response.status_code == 200
    assert_documented(openapi, response)
    last = Checkpoint.objects.order_by("-size").first()
    assert response.json() == {
        "interval": "day",
        "points": [
            {
                "at": "2026-05-04T23:10:00Z",
                "period": "2026-05-04T00:00:00Z",
                "size": 4,
                "root": bytes(Checkpoint.objects.get(size=4).root).hex(),
                "by_member_state": {"DE": 1, "FR": 1, "PL": 2},
                "by_partner": {"edri": 2},
            },
            {
                "at": "2026-05-05T00:50:00Z",
                "period": "2026-05-05T00:00:00Z",
                "size": 6,
                "root": bytes(last.root).hex(),
                "by_member_state": {"DE": 1, "FR": 1, "PL": 3, "SE": 1},
                "by_partner": {"edri": 2, "reclaim-2027": 1},
            },
        ],
    }


def test_every_point_of_the_answer_is_a_checkpoint_of_the_log(client, log) -> None:
    points = client.get(SERIES, {"interval": "hour"}).json()["points"]
    assert [p["size"] for p in points] == [2, 4, 6]
    for point in points:
        checkpoint = Checkpoint.objects.get(initiative=log, size=point["size"])
        assert point["root"] == bytes(checkpoint.root).hex()
        assert point["at"] == checkpoint.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert {
            "by_member_state": point["by_member_state"],
            "by_partner": point["by_partner"],
        } == checkpoint.counts


def test_the_interval_is_a_day_unless_asked(client, log) -> None:
    assert client.get(SERIES).json() == client.get(SERIES, {"interval": "day"}).json()


def test_a_log_without_a_checkpoint_yet_has_no_points(client, collecting_initiative) -> None:
    response = client.get(SERIES)
    assert response.status_code == 200
    assert response.json() == {"interval": "day", "points": []}
    assert "ETag" not in response


# --- CSV -----------------------------------------------------------------------------------


def test_the_csv_has_a_column_per_member_state_and_partner(client, log, openapi) -> None:
    response = client.get(SERIES, {"interval": "hour", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="clean-air-counts-by-hour.csv"'
    )
    assert_documented(openapi, response)
    text = response.content.decode("utf-8")
    assert text.endswith("\r\n")
    header, *rows = list(csv.reader(io.StringIO(text)))
    states = list(scheme("eci").member_state_codes())
    assert len(states) == 27
    assert header == [
        "at_utc",
        "period_utc",
        "size",
        "root",
        "total",
        *states,
        "partner:edri",
        "partner:reclaim-2027",
        "without_partner",
    ]
    points = client.get(SERIES, {"interval": "hour"}).json()["points"]
    assert len(rows) == len(points) == 3
    for row, point in zip(rows, points, strict=True):
        cells = dict(zip(header, row, strict=True))
        assert cells["at_utc"] == point["at"].replace("T", " ").removesuffix("Z")
        assert cells["period_utc"] == point["period"].replace("T", " ").removesuffix("Z")
        assert (cells["size"], cells["total"]) == (str(point["size"]),) * 2
        assert cells["root"] == point["root"]
        for code in states:
            assert cells[code] == str(point["by_member_state"].get(code, 0))
        for code in ("edri", "reclaim-2027"):
            assert cells[f"partner:{code}"] == str(point["by_partner"].get(code, 0))
        assert int(cells["without_partner"]) == point["size"] - sum(point["by_partner"].values())


def test_a_day_in_the_csv_is_a_date(client, log) -> None:
    text = client.get(SERIES, {"format": "csv"}).content.decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["period_utc"], r["at_utc"], r["PL"]) for r in rows] == [
        ("2026-05-04", "2026-05-04 23:10:00", "2"),
        ("2026-05-05", "2026-05-05 00:50:00", "3"),
    ]


def test_an_empty_csv_is_its_header_row(client, collecting_initiative) -> None:
    text = client.get(SERIES, {"format": "csv"}).content.decode()
    assert text.count("\r\n") == 1
    assert text.startswith("at_utc,period_utc,size,root,total,BE,")


# --- caching, as the counts ----------------------------------------------------------------


@pytest.mark.parametrize("form", ["json", "csv"])
def test_the_series_is_a_public_read_validated_by_its_latest_checkpoint(client, log, form) -> None:
    response = client.get(SERIES, {"format": form})
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Cache-Control"].startswith("public, max-age=")
    assert "stale-while-revalidate" in response["Cache-Control"]
    assert response["ETag"].startswith('"6-')
    assert response["Last-Modified"] == "Tue, 05 May 2026 00:50:00 GMT"
    again = client.get(SERIES, {"format": form}, HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == response["ETag"]
    assert again["Cache-Control"] == response["Cache-Control"]
    since = client.get(SERIES, {"format": form}, HTTP_IF_MODIFIED_SINCE=response["Last-Modified"])
    assert since.status_code == 304


def test_each_interval_and_format_has_its_own_etag_and_a_new_checkpoint_a_new_one(
    client, log, write_leaves
) -> None:
    etags = {
        (interval, form): client.get(SERIES, {"interval": interval, "format": form})["ETag"]
        for interval in ("hour", "day")
        for form in ("json", "csv")
    }
    assert len(set(etags.values())) == 4
    old = etags["day", "json"]
    write_leaves(log, [("PL", "")])
    sequence_all()
    response = client.get(SERIES, HTTP_IF_NONE_MATCH=old)
    assert response.status_code == 200
    assert response["ETag"] != old
    assert response.json()["points"][-1]["size"] == 7


def test_head_answers_like_get_without_a_body(client, log) -> None:
    for query in ({}, {"format": "csv"}, {"interval": "nope"}):
        get, head = client.get(SERIES, query), client.head(SERIES, query)
        assert head.status_code == get.status_code
        assert head.content == b""
        for name in ("Content-Type", "Cache-Control", "ETag"):
            assert head.get(name) == get.get(name), name


# --- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"interval": "week"}, "interval"),
        ({"interval": ""}, "interval"),
        ({"interval": "HOUR"}, "interval"),
        ({"interval": "hour\x00"}, "interval"),
        ({"interval": "h" * 100_000}, "interval"),
        ({"format": "xlsx"}, "format"),
        ({"format": "CSV"}, "format"),
    ],
)
def test_a_bad_parameter_is_refused_with_422_naming_it(client, log, openapi, query, field):
    response = client.get(SERIES, query)
    errors = assert_errors(response, 422)
    assert list(errors) == [field]
    assert_documented(openapi, response)


def test_the_refusal_is_in_the_readers_language(client, log) -> None:
    response = client.get(SERIES, {"interval": "week"}, HTTP_ACCEPT_LANGUAGE="de")
    assert assert_errors(response, 422) == {"interval": ["Dieser Wert ist ungültig."]}


def test_an_unknown_or_unpublished_initiative_is_404(client, log, openapi) -> None:
    assert_errors(client.get("/api/v1/initiatives/no-such-initiative/series"), 404)
    Initiative.objects.filter(pk=log.pk).update(status=Initiative.Status.DRAFT)
    response = client.get(SERIES)
    assert_errors(response, 404)
    assert_documented(openapi, response)


def test_too_many_parameters_are_a_400_in_the_errors_shape(client, log) -> None:
    query = "&".join(f"p{i}=1" for i in range(500))
    assert_errors(client.get(f"{SERIES}?{query}"), 400)


QUERY_CHARS = st.characters(codec="utf-8") | st.sampled_from(["&", "=", "%", "+", "#", "\x00"])


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    raw=st.text(QUERY_CHARS, max_size=200),
    interval=st.text(max_size=40) | st.sampled_from(["hour", "day"]),
    form=st.text(max_size=20) | st.sampled_from(["json", "csv"]),
)
def test_no_query_string_gives_a_500(client, log, raw, interval, form) -> None:
    for url in (
        f"{SERIES}?{raw}",
        f"{SERIES}?interval={quote(interval)}&format={quote(form)}",
        f"{SERIES}?interval={quote(interval)}&interval=day&{quote(raw)}",
    ):
        response = client.get(url)
        assert response.status_code in (200, 400, 422), (url, response.status_code)
        if response.status_code != 200:
            assert_errors(response, response.status_code)


def test_the_answer_is_what_the_selector_gives(client, log) -> None:
    points = count_series(initiative_id=log.pk, interval="hour")
    answer = client.get(SERIES, {"interval": "hour"}).json()["points"]
    assert [(p.size, p.root.hex()) for p in points] == [(a["size"], a["root"]) for a in answer]
