"""The reads a crowd watches are answered from memory exactly as Django answers them.

Every request below goes once through the application with the fast path and once through
Django's own ASGI application (both behind the body limit, as served): status, body and every
header but the length and date must agree, in every language, for GET and HEAD, with and
without a copy the reader already holds. Then: one fill per key however many readers ask at
once, the old copy served while one task refreshes it, and Redis shared between processes.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.asgi import get_asgi_application

from quorum.core.limits import BodyLimitASGI
from quorum.fastpath import reads
from quorum.fastpath.app import FastPath
from quorum.ledger.sequencer import sequence_all
from quorum.signing.ratelimit import reset_rate_store

pytestmark = pytest.mark.django_db(transaction=True)

COUNTS = "/api/v1/initiatives/clean-air/counts"
CHECKPOINT = "/api/v1/initiatives/clean-air/checkpoint"
PAGE = "/i/clean-air/"
READS = [COUNTS, CHECKPOINT, PAGE]
LANGUAGES = [code for code, _name in django_settings.LANGUAGES]
# Headers whose values are expected to differ between two answers to the same request.
VOLATILE = {"content-length", "date", "server"}
REDIS_TEST_URL = os.environ.get("QUORUM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(scope="module")
def django_app() -> Any:
    return get_asgi_application()


@pytest.fixture
def applications(django_app, settings) -> dict[str, Any]:
    # A fresh fast path for each test: its copies belong to the database of that test.
    settings.REDIS_URL = None
    fast = FastPath(django_app)
    return {"fast": BodyLimitASGI(fast), "django": BodyLimitASGI(django_app), "reads": fast.reads}


@pytest.fixture
def signed(collecting_initiative, authority_keys, settings, client, polish_citizen):
    """The initiative with two statements in a signed checkpoint."""
    settings.QUORUM_POW = False
    settings.QUORUM_RATE_BURST = 10**6
    settings.QUORUM_RATE_SUSTAINED = 10**6
    reset_rate_store()
    add_statement(client, polish_citizen)
    add_statement(client, {**polish_citizen, "id_number": "02070803628"})
    sequence_all()
    yield collecting_initiative
    reset_rate_store()


def add_statement(client, body: dict) -> None:
    response = client.post(
        "/api/v1/initiatives/clean-air/statements",
        json.dumps(body),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content


def both(asgi_call, applications, *args: Any, **kwargs: Any):
    return asgi_call(applications["fast"], *args, **kwargs), asgi_call(
        applications["django"], *args, **kwargs
    )


def assert_same(fast, django) -> None:
    assert (fast.status, fast.body) == (django.status, django.body)
    assert {k: v for k, v in fast.headers.items() if k not in VOLATILE} == {
        k: v for k, v in django.headers.items() if k not in VOLATILE
    }


def kept_copies(applications) -> int:
    return len(applications["reads"].copies._copies)


@pytest.mark.parametrize("path", READS)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_each_read_gets_the_same_answer_by_either_path_and_the_second_from_memory(
    asgi_call, applications, signed, path: str, method: str
) -> None:
    first, django = both(asgi_call, applications, method, path)
    again = asgi_call(applications["fast"], method, path)

    assert first.status == 200
    assert_same(first, django)
    assert_same(again, django)
    assert kept_copies(applications) == 1
    assert "public" in first.headers["cache-control"]
    assert "stale-while-revalidate" in first.headers["cache-control"]
    assert first.headers["etag"]
    if path != PAGE:
        assert first.headers["last-modified"]
        assert first.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_page_is_the_same_by_either_path_in_every_language(
    asgi_call, applications, signed, language: str
) -> None:
    headers = {"accept-language": language}
    fast, django = both(asgi_call, applications, "GET", PAGE, headers=headers)
    assert fast.status == 200
    assert f'<html lang="{language}"' in fast.text()
    assert fast.headers["content-language"] == language
    assert_same(fast, django)


@pytest.mark.parametrize("path", [COUNTS, CHECKPOINT])
@pytest.mark.parametrize("language", ["en", "de", "pl"])
def test_counts_and_checkpoint_are_the_same_by_either_path_in_each_language(
    asgi_call, applications, signed, path: str, language: str
) -> None:
    fast, django = both(asgi_call, applications, "GET", path, headers={"accept-language": language})
    assert fast.status == 200
    assert_same(fast, django)


@pytest.mark.parametrize(
    "headers",
    [
        {"cookie": "django_language=de"},
        {"cookie": "django_language=xx", "accept-language": "fr-FR,fr;q=0.9"},
        {"accept-language": "pt-BR,pt;q=0.8,en;q=0.5"},
        {"accept-language": "*"},
        {"accept-language": "nonsense;;q=x"},
    ],
    ids=["cookie", "unknown cookie language", "regional", "any", "malformed"],
)
def test_the_language_is_chosen_as_django_chooses_it(
    asgi_call, applications, signed, headers: dict[str, str]
) -> None:
    fast, django = both(asgi_call, applications, "GET", PAGE, headers=headers)
    assert fast.status == 200
    assert_same(fast, django)
    assert kept_copies(applications) == 1


@pytest.mark.parametrize("path", READS)
def test_a_reader_with_the_current_copy_gets_the_same_304_by_either_path(
    asgi_call, applications, signed, path: str
) -> None:
    etag = asgi_call(applications["django"], "GET", path).headers["etag"]
    for _ in range(2):  # the second 304 from memory
        fast, django = both(asgi_call, applications, "GET", path, headers={"if-none-match": etag})
        assert fast.status == django.status == 304
        assert fast.body == b""
        assert_same(fast, django)
        assert fast.headers["etag"] == etag


@pytest.mark.parametrize("path", [COUNTS, CHECKPOINT])
def test_a_reader_whose_copy_is_dated_since_the_checkpoint_gets_304_by_either_path(
    asgi_call, applications, signed, path: str
) -> None:
    modified = asgi_call(applications["django"], "GET", path).headers["last-modified"]
    fast, django = both(
        asgi_call, applications, "GET", path, headers={"if-modified-since": modified}
    )
    assert fast.status == django.status == 304
    assert_same(fast, django)


@pytest.mark.parametrize("path", READS)
@pytest.mark.parametrize(
    "headers",
    [
        {"if-none-match": '"not-this-one"'},
        {"if-none-match": "*, W/garbage"},
        {"if-modified-since": "Thu, 01 Jan 1970 00:00:00 GMT"},
        {"if-modified-since": "not a date"},
    ],
    ids=["other etag", "malformed etags", "long ago", "malformed date"],
)
def test_a_reader_with_another_copy_gets_the_whole_answer_by_either_path(
    asgi_call, applications, signed, path: str, headers: dict[str, str]
) -> None:
    fast, django = both(asgi_call, applications, "GET", path, headers=headers)
    assert fast.status == django.status
    assert_same(fast, django)


def test_after_a_new_checkpoint_the_next_interval_serves_the_new_counts(
    django_app, signed, client, polish_citizen
) -> None:
    app = FastPath(django_app)
    clock = FakeClock()
    app.reads.copies._clock = clock
    [(_, before)] = asyncio.run(gather_reads(app, 1, COUNTS))
    add_statement(client, {**polish_citizen, "id_number": "44051401458"})
    sequence_all()

    async def next_interval() -> tuple[bytes, bytes]:
        clock.now += 1.5 * app.reads.copies.fresh  # stale, within one more interval
        [(_, stale)] = await gather_reads(app, 1, COUNTS)  # served at once; one task refreshes
        await asyncio.sleep(0.5)
        [(_, fresh)] = await gather_reads(app, 1, COUNTS)
        return stale, fresh

    stale, after = asyncio.run(next_interval())
    assert json.loads(before)["total"] == json.loads(stale)["total"] == 2
    assert json.loads(after)["total"] == 3


def test_a_copy_older_than_two_intervals_is_not_served(
    django_app, signed, client, polish_citizen
) -> None:
    app = FastPath(django_app)
    clock = FakeClock()
    app.reads.copies._clock = clock
    asyncio.run(gather_reads(app, 1, COUNTS))
    add_statement(client, {**polish_citizen, "id_number": "44051401458"})
    sequence_all()
    clock.now += 2.5 * app.reads.copies.fresh
    [(_, late)] = asyncio.run(gather_reads(app, 1, COUNTS))
    assert json.loads(late)["total"] == 3


def test_a_reader_with_the_copy_of_an_older_checkpoint_gets_the_new_one(
    asgi_call, applications, signed, client, polish_citizen
) -> None:
    old = asgi_call(applications["django"], "GET", COUNTS).headers["etag"]
    add_statement(client, {**polish_citizen, "id_number": "44051401458"})
    sequence_all()
    fast, django = both(asgi_call, applications, "GET", COUNTS, headers={"if-none-match": old})

    assert fast.status == django.status == 200
    assert_same(fast, django)
    assert fast.headers["etag"] != old
    assert json.loads(fast.body)["total"] == 3


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/initiatives/no-such-initiative/counts",
        "/api/v1/initiatives/no-such-initiative/checkpoint",
        "/i/no-such-initiative/",
    ],
)
def test_an_unknown_initiative_is_the_same_404_by_either_path_and_is_not_kept(
    asgi_call, applications, signed, path: str
) -> None:
    fast, django = both(asgi_call, applications, "GET", path, headers={"accept-language": "de"})
    assert fast.status == django.status == 404
    assert_same(fast, django)
    assert kept_copies(applications) == 0


def test_a_log_without_a_checkpoint_is_the_same_404_by_either_path(
    asgi_call, applications, collecting_initiative
) -> None:
    fast, django = both(asgi_call, applications, "GET", CHECKPOINT)
    assert fast.status == django.status == 404
    assert_same(fast, django)


def test_a_host_that_is_not_allowed_is_refused_by_either_path(
    asgi_call, applications, signed
) -> None:
    fast, django = both(asgi_call, applications, "GET", COUNTS, headers={"host": "evil.example"})
    assert fast.status == django.status == 400
    assert_same(fast, django)
    assert kept_copies(applications) == 0


def test_someone_signed_in_gets_their_own_page_from_django(
    asgi_call, applications, signed, organiser_alice, login
) -> None:
    from django.test import Client

    browser = Client()
    login(browser, organiser_alice)
    session = browser.cookies[django_settings.SESSION_COOKIE_NAME].value
    cookie = {"cookie": f"{django_settings.SESSION_COOKIE_NAME}={session}"}
    fast, django = both(asgi_call, applications, "GET", PAGE, headers=cookie)

    assert fast.status == django.status == 200
    assert "Signed in as" in fast.text()
    assert "private" in fast.headers["cache-control"]
    assert kept_copies(applications) == 0


PROXY = ("10.0.0.1", 4711)
OUTSIDER = ("203.0.113.7", 50000)


@pytest.fixture
def behind_proxy(settings) -> dict[str, Any]:
    """Both doors behind a trusted proxy (10.0.0.0/8) that says HTTPS, with HSTS on."""
    from quorum.core.env import env_networks

    settings.REDIS_URL = None
    settings.QUORUM_TRUSTED_PROXIES = env_networks("P", environ={"P": "10.0.0.0/8"})
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 3600
    django = get_asgi_application()  # its middleware reads these settings as it is made
    fast = FastPath(django)
    return {"fast": BodyLimitASGI(fast), "django": BodyLimitASGI(django), "reads": fast.reads}


@pytest.mark.parametrize("path", READS)
def test_https_from_a_trusted_proxy_gets_its_own_copy_with_hsts_by_either_path(
    asgi_call, behind_proxy, signed, path: str
) -> None:
    https = {"x-forwarded-proto": "https"}
    fast, django = both(asgi_call, behind_proxy, "GET", path, headers=https, client=PROXY)
    again = asgi_call(behind_proxy["fast"], "GET", path, headers=https, client=PROXY)
    plain = asgi_call(behind_proxy["fast"], "GET", path, client=PROXY)

    assert fast.status == 200
    assert_same(fast, django)
    assert_same(again, django)
    assert fast.headers["strict-transport-security"] == "max-age=3600"
    assert "strict-transport-security" not in plain.headers
    assert kept_copies(behind_proxy) == 2


@pytest.mark.parametrize("path", READS)
def test_https_claimed_by_a_client_that_is_no_proxy_gets_the_plain_copy_by_either_path(
    asgi_call, behind_proxy, signed, path: str
) -> None:
    spoofed = {"x-forwarded-proto": "https"}
    plain = asgi_call(behind_proxy["fast"], "GET", path, client=OUTSIDER)
    fast, django = both(asgi_call, behind_proxy, "GET", path, headers=spoofed, client=OUTSIDER)

    assert fast.status == 200
    assert_same(fast, django)
    assert_same(plain, django)
    assert "strict-transport-security" not in fast.headers
    assert kept_copies(behind_proxy) == 1


def scope(path: str = COUNTS, method: str = "GET", query: bytes = b"", **headers: str) -> dict:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query,
        "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()],
    }


@pytest.mark.parametrize(
    ("method", "path", "taken"),
    [
        ("GET", COUNTS, True),
        ("HEAD", COUNTS, True),
        ("GET", CHECKPOINT, True),
        ("GET", PAGE, True),
        ("HEAD", PAGE, True),
        ("POST", COUNTS, False),
        ("GET", COUNTS + "/", False),
        ("GET", "/i/clean-air", False),
        ("GET", "/i/clean-air/sign/", False),
        ("GET", "/api/v1/initiatives/clean-air/leaves", False),
        ("GET", "/api/v1/initiatives/clean air/counts", False),
        ("GET", "/", False),
    ],
)
def test_only_the_gets_of_counts_checkpoint_and_page_are_taken(
    method: str, path: str, taken: bool
) -> None:
    assert reads.taken(scope(path, method)) is taken


@pytest.mark.parametrize(
    "request_scope",
    [
        scope(query=b"x=1", host="127.0.0.1"),
        scope(),
        scope(host="127.0.0.1", cookie="sessionid=abc"),
        scope(host="127.0.0.1", cookie="django_language=de; sessionid=abc"),
        scope(host="127.0.0.1", cookie="csrftoken=abc"),
        scope(host="127.0.0.1", cookie="nameless"),
        scope(host="127.0.0.1", if_match='"x"'),
        scope(host="127.0.0.1", if_unmodified_since="Thu, 01 Jan 1970 00:00:00 GMT"),
        scope(host="127.0.0.1", if_range='"x"'),
    ],
    ids=[
        "query",
        "no host",
        "session",
        "session and language",
        "another cookie",
        "cookie without a name",
        "if-match",
        "if-unmodified-since",
        "if-range",
    ],
)
def test_what_a_copy_cannot_answer_goes_to_django(request_scope: dict, settings) -> None:
    assert reads.Reads(lambda *a: None)._read(request_scope) is None  # type: ignore[arg-type]


def test_the_language_cookie_alone_is_answered_from_memory(settings) -> None:
    read = reads.Reads(lambda *a: None)._read(  # type: ignore[arg-type]
        scope(host="127.0.0.1", cookie="django_language=de", accept_language="fr")
    )
    assert read is not None
    assert read.key[4] == "de"


async def gather_reads(app: Any, count: int, path: str) -> list[tuple[int, bytes]]:
    """``count`` readers at once, in one event loop, as a crowd reaches one worker."""
    answers: list[tuple[int, bytes]] = []

    async def one() -> None:
        status = 0
        body = b""

        async def receive() -> dict:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict) -> None:
            nonlocal status, body
            if message["type"] == "http.response.start":
                status = message["status"]
            else:
                body += message.get("body", b"")

        await app(
            {**scope(path, host="127.0.0.1"), "scheme": "http", "root_path": ""}, receive, send
        )
        answers.append((status, body))

    await asyncio.gather(*(one() for _ in range(count)))
    return answers


@pytest.mark.parametrize(
    ("path", "selector"),
    [
        (COUNTS, "quorum.api.ledger.initiative_counts"),
        (PAGE, "quorum.ledger.sections.initiative_counts"),
    ],
)
def test_a_hundred_readers_at_once_cause_one_fill(
    applications, signed, monkeypatch, path: str, selector: str
) -> None:
    from quorum.ledger.selectors import initiative_counts

    calls = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return initiative_counts(*args, **kwargs)

    monkeypatch.setattr(selector, counted)
    answers = asyncio.run(gather_reads(applications["fast"], 100, path))
    again = asyncio.run(gather_reads(applications["fast"], 100, path))

    assert len(calls) == 1
    assert {status for status, _ in answers + again} == {200}
    assert len({body for _, body in answers + again}) == 1


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_after_the_interval_readers_get_the_old_copy_while_one_task_refreshes_it() -> None:
    clock = FakeClock()
    fills: list[int] = []
    release = asyncio.Event()

    async def fill(key: reads.CopyKey) -> reads.Answer:
        fills.append(1)
        if len(fills) > 1:
            await release.wait()
        body = f"version {len(fills)}".encode()
        return reads.Answer(200, [(b"cache-control", b"public, max-age=1")], body)

    async def scenario() -> tuple[list[bytes], list[bytes], bytes]:
        copies = reads.Copies(fill, fresh=1.0, stale=10.0, clock=clock)
        key: reads.CopyKey = (("GET", "/", "", "http", "en", ()), None)
        first = await copies.get(key)
        clock.now += 1.5  # past the interval, within the stale time
        during = await asyncio.gather(*(copies.get(key) for _ in range(100)))
        release.set()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        after = await copies.get(key)
        return [first.body], [a.body for a in during], after.body

    first, during, after = asyncio.run(scenario())
    assert first == [b"version 1"]
    assert set(during) == {b"version 1"}
    assert after == b"version 2"
    assert len(fills) == 2


def test_past_the_stale_time_readers_wait_for_the_new_copy_and_a_failed_refresh_keeps_the_old(
    caplog,
) -> None:
    clock = FakeClock()
    outcomes = ["ok", "boom", "ok"]

    async def fill(key: reads.CopyKey) -> reads.Answer:
        if outcomes.pop(0) == "boom":
            raise RuntimeError("database gone")
        return reads.Answer(200, [(b"cache-control", b"public")], f"{len(outcomes)}".encode())

    async def scenario() -> list[bytes]:
        copies = reads.Copies(fill, fresh=1.0, stale=10.0, clock=clock)
        key: reads.CopyKey = (("GET", "/", "", "http", "en", ()), None)
        seen = [(await copies.get(key)).body]
        clock.now += 2  # stale: the refresh fails, the old copy stays
        seen.append((await copies.get(key)).body)
        await asyncio.sleep(0)
        seen.append((await copies.get(key)).body)  # no new attempt within the interval
        clock.now += 20  # past the stale time: wait for a new copy
        seen.append((await copies.get(key)).body)
        return seen

    assert asyncio.run(scenario()) == [b"2", b"2", b"2", b"0"]
    assert "could not be filled" in caplog.text


def test_only_public_answers_without_cookies_are_kept() -> None:
    public = [(b"cache-control", b"public, max-age=1")]
    assert reads.Answer(200, public, b"").kept
    assert reads.Answer(304, public, b"").kept
    assert not reads.Answer(404, public, b"").kept
    assert not reads.Answer(200, [(b"cache-control", b"no-store")], b"").kept
    assert not reads.Answer(200, [*public, (b"set-cookie", b"a=b")], b"").kept


def test_the_number_of_copies_is_bounded() -> None:
    async def fill(key: reads.CopyKey) -> reads.Answer:
        return reads.Answer(200, [(b"cache-control", b"public")], b"x")

    async def scenario() -> int:
        copies = reads.Copies(fill, fresh=1.0, stale=10.0, limit=3)
        for i in range(10):
            await copies.get((("GET", f"/{i}", "", "http", "en", ()), None))
        return len(copies._copies)

    assert asyncio.run(scenario()) == 3


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        pytest.skip(f"no Redis server answers at {REDIS_TEST_URL}")
    return REDIS_TEST_URL


def test_with_redis_a_copy_made_by_one_process_serves_the_others(
    django_app, signed, settings, monkeypatch, redis_url
) -> None:
    from quorum.ledger.selectors import initiative_counts

    settings.REDIS_URL = redis_url
    # Keys of this test only: other tests share the database.
    monkeypatch.setattr(reads, "REDIS_PREFIX", f"quorum:reads:test:{uuid.uuid4().hex}:")
    calls = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return initiative_counts(*args, **kwargs)

    monkeypatch.setattr("quorum.api.ledger.initiative_counts", counted)

    async def two_processes() -> tuple[list, list]:
        first, second = FastPath(django_app), FastPath(django_app)
        answers = await gather_reads(first, 10, COUNTS), await gather_reads(second, 10, COUNTS)
        for process in (first, second):
            assert process.reads.shared is not None
            await process.reads.shared.aclose()
        return answers

    one, other = asyncio.run(two_processes())
    assert len(calls) == 1
    assert one[0] == other[0]
    assert one[0][0] == 200


def test_with_redis_two_processes_whose_copies_go_stale_together_refresh_them_once(
    django_app, signed, settings, monkeypatch, redis_url
) -> None:
    from quorum.ledger.selectors import initiative_counts

    settings.REDIS_URL = redis_url
    settings.QUORUM_SEQUENCER_INTERVAL = 0.3
    monkeypatch.setattr(reads, "REDIS_PREFIX", f"quorum:reads:test:{uuid.uuid4().hex}:")
    calls = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return initiative_counts(*args, **kwargs)

    monkeypatch.setattr("quorum.api.ledger.initiative_counts", counted)

    async def two_processes() -> None:
        first, second = FastPath(django_app), FastPath(django_app)
        await gather_reads(first, 5, COUNTS)
        await gather_reads(second, 5, COUNTS)  # the copy the first made
        await asyncio.sleep(0.35)  # both stale now; each starts a refresh at its next reader
        await asyncio.gather(gather_reads(first, 5, COUNTS), gather_reads(second, 5, COUNTS))
        await asyncio.sleep(0.2)
        for process in (first, second):
            assert process.reads.shared is not None
            await process.reads.shared.aclose()

    asyncio.run(two_processes())
    assert len(calls) == 2  # the first copy and one refresh


def test_without_redis_answering_each_process_fills_its_own_copies(
    django_app, signed, settings, caplog
) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    app = FastPath(django_app)

    async def reads_then_close() -> list[tuple[int, bytes]]:
        answers = await gather_reads(app, 3, COUNTS)
        assert app.reads.shared is not None
        await app.reads.shared.aclose()
        return answers

    answers = asyncio.run(reads_then_close())
    assert {status for status, _ in answers} == {200}
    assert "unavailable" in caplog.text
