"""Public reads say how long they may be kept, and confirm a copy that is still current."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from django.http import HttpResponse
from django.test import RequestFactory
from django.utils.http import http_date

from quorum.core.caching import (
    cached_page,
    content_etag,
    precondition_answer,
    public_cache,
)

SIGNED_AT = datetime(2026, 3, 1, 12, 0, 0, 654321, tzinfo=UTC)


def test_a_public_read_is_kept_for_one_sequencer_interval_and_ten_more_while_refreshed(
    settings,
) -> None:
    settings.QUORUM_SEQUENCER_INTERVAL = 2.5
    assert public_cache(HttpResponse())["Cache-Control"] == (
        "public, max-age=3, stale-while-revalidate=30"
    )
    settings.QUORUM_SEQUENCER_INTERVAL = 0.05
    assert "max-age=1," in public_cache(HttpResponse())["Cache-Control"]


def test_a_copy_dated_in_the_second_of_the_change_is_current_though_the_change_had_a_fraction(
    rf: RequestFactory,
) -> None:
    request = rf.get("/", HTTP_IF_MODIFIED_SINCE=http_date(SIGNED_AT.timestamp()))
    answer = precondition_answer(request, etag=None, last_modified=SIGNED_AT)
    assert answer is not None
    assert answer.status_code == 304
    assert answer["Last-Modified"] == http_date(SIGNED_AT.timestamp())


def test_a_copy_from_the_second_before_is_not_current(rf: RequestFactory) -> None:
    request = rf.get("/", HTTP_IF_MODIFIED_SINCE=http_date(SIGNED_AT.timestamp() - 1))
    assert precondition_answer(request, etag=None, last_modified=SIGNED_AT) is None


def test_if_none_match_decides_when_both_are_sent(rf: RequestFactory) -> None:
    request = rf.get(
        "/",
        HTTP_IF_NONE_MATCH='"old"',
        HTTP_IF_MODIFIED_SINCE=http_date(SIGNED_AT.timestamp()),
    )
    assert precondition_answer(request, etag='"new"', last_modified=SIGNED_AT) is None


def test_if_match_with_another_etag_fails_the_precondition(rf: RequestFactory) -> None:
    request = rf.get("/", HTTP_IF_MATCH='"old"')
    answer = precondition_answer(request, etag='"new"', last_modified=None)
    assert answer is not None
    assert answer.status_code == 412


@cached_page
def page(request) -> HttpResponse:
    return HttpResponse(b"<p>the same for everyone</p>")


@cached_page
def missing(request) -> HttpResponse:
    return HttpResponse(b"gone", status=404)


def anonymous(request):
    request.user = SimpleNamespace(is_authenticated=False)
    return request


def test_a_page_is_public_with_the_etag_of_its_bytes(rf: RequestFactory) -> None:
    response = page(anonymous(rf.get("/")))
    assert response.status_code == 200
    assert response["ETag"] == content_etag(b"<p>the same for everyone</p>")
    assert response["Cache-Control"].startswith("public, max-age=")
    assert "Last-Modified" not in response


def test_a_page_the_reader_holds_is_answered_304_with_no_body(rf: RequestFactory) -> None:
    etag = content_etag(b"<p>the same for everyone</p>")
    for method in ("get", "head"):
        response = page(anonymous(getattr(rf, method)("/", HTTP_IF_NONE_MATCH=etag)))
        assert response.status_code == 304
        assert response.content == b""
        assert response["ETag"] == etag
        assert response["Cache-Control"].startswith("public")


def test_the_page_of_someone_signed_in_is_private(rf: RequestFactory) -> None:
    request = rf.get("/")
    request.user = SimpleNamespace(is_authenticated=True)
    response = page(request)
    assert "private" in response["Cache-Control"]
    assert "public" not in response["Cache-Control"]


def test_an_error_page_is_left_as_it_is(rf: RequestFactory) -> None:
    response = missing(anonymous(rf.get("/")))
    assert response.status_code == 404
    assert "ETag" not in response
    assert "Cache-Control" not in response
