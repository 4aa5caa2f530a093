"""HTTP caching of the public reads: how long a copy may be kept, and when a copy is current.

What a crowd reads (counts, checkpoints, an initiative's page) changes at most once per
sequencer interval, when a checkpoint is signed. Such an answer may be kept by anyone for one
interval and served stale for ten more while a fresh copy is fetched; it carries an ``ETag``
(and, where one moment dates it, a ``Last-Modified``) so that a copy still current is
confirmed with a 304 and no body.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date

_Response = TypeVar("_Response", bound=HttpResponseBase)


def interval_max_age() -> int:
    """Seconds a copy stays fresh: one sequencer interval, and never less than one second."""
    return max(1, math.ceil(settings.QUORUM_SEQUENCER_INTERVAL))


def stale_seconds(max_age: int) -> int:
    """How long after that a copy may still be served while a fresh one is fetched."""
    return max_age * 10


def public_cache(response: _Response, *, max_age: int | None = None) -> _Response:
    """``Cache-Control`` of an answer that is the same for everyone who asks."""
    age = max_age if max_age is not None else interval_max_age()
    response["Cache-Control"] = (
        f"public, max-age={age}, stale-while-revalidate={stale_seconds(age)}"
    )
    return response


def content_etag(content: bytes) -> str:
    """A strong ETag for exactly these bytes."""
    return '"' + hashlib.sha256(content).hexdigest()[:32] + '"'


def set_validators(
    response: _Response, *, etag: str | None, last_modified: datetime | None
) -> _Response:
    if etag is not None:
        response["ETag"] = etag
    if last_modified is not None:
        response["Last-Modified"] = http_date(last_modified.timestamp())
    return response


def precondition_answer(
    request: HttpRequest, *, etag: str | None, last_modified: datetime | None
) -> HttpResponse | None:
    """The 304 (or 412) that the request's conditional headers call for, or None.

    Django's own evaluation (RFC 9110, 13.2.2): If-None-Match first, If-Modified-Since only
    without it. A 304 carries the validators; the caller adds the headers of its kind of read.
    """
    # Whole seconds, as the header says it (and as Django's ``condition`` compares).
    moment = int(last_modified.timestamp()) if last_modified is not None else None
    answer = get_conditional_response(request, etag=etag, last_modified=moment)
    if answer is None:
        return None
    if answer.status_code == 304:
        set_validators(answer, etag=etag, last_modified=last_modified)
    return answer


View = TypeVar("View", bound=Callable[..., HttpResponse])


def cached_page(view: View) -> View:
    """A public page kept for one interval, with an ETag of its bytes; 304 when unchanged.

    The ETag is a hash of what was rendered, not of what it was rendered from: a page shows
    more than the log (the date, the timeline, the sponsors), and only its bytes say when it
    changed. For the same reason it has no ``Last-Modified``. Someone signed in sees their
    own page (their name, a sign-out form): that one is private.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code != 200 or response.streaming:
            return response
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            patch_cache_control(response, private=True, no_cache=True)
        else:
            public_cache(response)
        etag = content_etag(response.content)
        response["ETag"] = etag
        conditional = get_conditional_response(request, etag=etag, response=response)
        return conditional if conditional is not None else response

    return wrapper  # type: ignore[return-value]
