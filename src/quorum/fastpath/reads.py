"""The reads a watching crowd sends, answered from bytes in memory.

While statements arrive, everyone watching an initiative asks for the same three answers: its
counts, its latest checkpoint and its page. They change when the sequencer signs a checkpoint,
at most once per sequencer interval. A GET or HEAD of one of them is answered here from a copy
of Django's own answer:

* The copy is Django's answer to the request reduced to what the answer can depend on (the
  key): method, path, language, scheme, ``Host`` and the headers a proxy sets for them. It is
  made by sending Django exactly that request, so body and headers are Django's, byte for byte.
  The scheme is the one Django would see: the proxy's TLS header counts only from a trusted
  proxy (``quorum.core.proxies``), so a client that claims HTTPS itself shares the copy of
  plain HTTP, and the copy's request carries the scheme instead of the header.
  The language is chosen from the language cookie and ``Accept-Language`` by Django's own
  function, as LocaleMiddleware chooses it.
* One copy per key per interval, however many readers ask at once: the first starts the fill,
  the others wait for the same task (single flight). For one more interval the old copy is
  still served while one task fetches the new one (stale-while-revalidate); a copy older than
  that is not served: a read seldom asked for waits for its new copy.
* A reader whose copy is current (``If-None-Match``, ``If-Modified-Since``) gets Django's 304,
  kept the same way.
* With ``REDIS_URL`` the copies are also kept in Redis for one interval, so that the worker
  processes share one fill per interval.

Everything else goes to Django unchanged: a query string, a cookie other than the language
cookie (a session above all), ``If-Match`` or ``If-Unmodified-Since``, a request without
``Host``. Only answers Django marks ``public`` and that set no cookie are kept; any other (an
unknown initiative's 404) is given to the readers that waited for it and not kept.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import io
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import redis
import redis.asyncio
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core import signals
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.http import HttpResponseBase, parse_cookie
from django.urls import set_script_prefix
from django.utils import translation
from django.utils.cache import get_conditional_response
from django.utils.http import parse_http_date_safe

from quorum.core.clients import async_redis_client
from quorum.core.limits import ASGIApp, Receive, Scope, Send
from quorum.core.proxies import peer_is_trusted, says_https

logger = logging.getLogger("quorum.fastpath")

#: The reads kept here: the same converters as Django's URLconf (``slug``).
PATHS = re.compile(r"/api/v1/initiatives/[-a-zA-Z0-9_]+/(?:counts|checkpoint)|/i/[-a-zA-Z0-9_]+/")
METHODS = frozenset({"GET", "HEAD"})
#: Conditions that need the current state to be answered, not a copy: Django answers them.
UNKEPT_CONDITIONS = frozenset({b"if-match", b"if-unmodified-since", b"if-range"})
#: Bounds on what a stream of odd requests can make this process keep.
MAX_COPIES = 1024
MAX_LANGUAGE_CHOICES = 1024
REDIS_PREFIX = "quorum:reads:"
#: How long a process waits for the copy another process is making, and how often it looks.
SHARED_WAIT_SECONDS = 2.0
SHARED_POLL_SECONDS = 0.005

#: (method, path, root path, scheme, language, headers sent to Django); then the condition
#: (header, value) that asks Django for its 304, or None for the answer itself.
Key = tuple[str, str, str, str, str, tuple[tuple[bytes, bytes], ...]]
CopyKey = tuple[Key, tuple[bytes, bytes] | None]


def taken(scope: Scope) -> bool:
    """A GET or HEAD of the counts, the checkpoint or an initiative's page."""
    return (
        scope.get("type") == "http"
        and scope.get("method") in METHODS
        and PATHS.fullmatch(scope.get("path", "")) is not None
    )


@dataclass(frozen=True)
class Answer:
    """An answer as Django sent it over ASGI."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    #: When it was made (wall clock, so that Redis can tell another process its age).
    made_at: float = field(default_factory=time.time)

    def header(self, name: bytes) -> bytes | None:
        return next((v for k, v in self.headers if k.lower() == name), None)

    @functools.cached_property
    def kept(self) -> bool:
        """Django says anyone may keep it, and it sets no cookie."""
        control = (self.header(b"cache-control") or b"").lower()
        return (
            self.status in (200, 304)
            and b"public" in control
            and self.header(b"set-cookie") is None
        )

    @functools.cached_property
    def condition(self) -> tuple[bytes, bytes] | None:
        """The condition under which Django answers 304 to a reader holding this copy."""
        etag = self.header(b"etag")
        if etag is not None:
            return (b"if-none-match", etag)
        modified = self.header(b"last-modified")
        return (b"if-modified-since", modified) if modified is not None else None

    @functools.cached_property
    def validators(self) -> tuple[str | None, int | None]:
        etag = self.header(b"etag")
        modified = self.header(b"last-modified")
        return (
            etag.decode("latin-1") if etag is not None else None,
            parse_http_date_safe(modified.decode("latin-1")) if modified is not None else None,
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "status": self.status,
                "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in self.headers],
                "body": base64.b64encode(self.body).decode(),
                "made_at": self.made_at,
            }
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Answer:
        data = json.loads(text)
        return cls(
            status=int(data["status"]),
            headers=[(k.encode("latin-1"), v.encode("latin-1")) for k, v in data["headers"]],
            body=base64.b64decode(data["body"]),
            made_at=float(data["made_at"]),
        )


@dataclass
class _Copy:
    answer: Answer
    fresh_until: float
    stale_until: float


class Copies:
    """Answers by key, each filled once however many ask at once, and refreshed behind readers.

    ``fill(key)`` makes an answer. A kept answer is fresh for ``fresh`` seconds (less its age),
    then served for up to ``stale`` more seconds while one task fetches the next.
    """

    def __init__(
        self,
        fill: Callable[[CopyKey], Awaitable[Answer]],
        *,
        fresh: float,
        stale: float,
        limit: int = MAX_COPIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fill = fill
        self.fresh = fresh
        self.stale = stale
        self._limit = limit
        self._clock = clock
        self._copies: dict[CopyKey, _Copy] = {}
        self._filling: dict[CopyKey, asyncio.Task[Answer]] = {}

    async def get(self, key: CopyKey) -> Answer:
        copy = self._copies.get(key)
        if copy is not None:
            now = self._clock()
            if now < copy.fresh_until:
                return copy.answer
            if now < copy.stale_until:
                self._start(key)
                return copy.answer
        # A reader that goes away does not cancel the fill the others wait for.
        return await asyncio.shield(self._start(key))

    def _start(self, key: CopyKey) -> asyncio.Task[Answer]:
        loop = asyncio.get_running_loop()
        task = self._filling.get(key)
        if task is None or task.done() or task.get_loop() is not loop:
            task = loop.create_task(self._fill_and_keep(key))
            self._filling[key] = task
            task.add_done_callback(functools.partial(self._done, key))
        return task

    def _done(self, key: CopyKey, task: asyncio.Task[Answer]) -> None:
        if self._filling.get(key) is task:
            del self._filling[key]
        if not task.cancelled() and task.exception() is not None:
            logger.warning("a read could not be filled", exc_info=task.exception())

    async def _fill_and_keep(self, key: CopyKey) -> Answer:
        try:
            answer = await self._fill(key)
        except Exception:
            self._retry_later(key)
            raise
        if answer.kept:
            now = self._clock()
            fresh = max(0.0, self.fresh - max(0.0, time.time() - answer.made_at))
            self._copies.pop(key, None)  # to the end of the order: the oldest go first
            self._copies[key] = _Copy(answer, now + fresh, now + fresh + self.stale)
            self._sweep(now)
        elif answer.status >= 500:
            self._retry_later(key)  # keep serving what there is; ask again next interval
        else:
            self._copies.pop(key, None)  # gone (404) or moved: no longer ours to answer
        return answer

    def _sweep(self, now: float) -> None:
        """Drop the oldest copies: past their stale time (304s of old ETags), or over the limit."""
        while self._copies:
            oldest = next(iter(self._copies))
            if len(self._copies) <= self._limit and self._copies[oldest].stale_until > now:
                return
            del self._copies[oldest]

    def _retry_later(self, key: CopyKey) -> None:
        copy = self._copies.get(key)
        if copy is not None:
            copy.fresh_until = min(self._clock() + self.fresh, copy.stale_until)

    def current(self, key: CopyKey) -> Answer | None:
        """The copy held now, fresh or stale."""
        copy = self._copies.get(key)
        return copy.answer if copy is not None else None

    def forget(self) -> None:
        self._copies.clear()


class _Probe:
    """The parts of a request that Django's language choice and precondition checks read."""

    def __init__(self, method: str, cookies: dict[str, str], meta: dict[str, str]) -> None:
        self.method = method
        self.COOKIES = cookies
        self.META = meta


@dataclass(frozen=True)
class _Read:
    key: Key
    method: str
    conditions: dict[str, str]


class SharedCopies:
    """The second level, in Redis: a copy made by one worker process serves the others.

    The processes' copies of a key go stale together (a copy taken from Redis keeps the time
    it was made), so each would start its own refresh at once. The first to claim the refresh
    of that copy makes the next one; the others wait for it in Redis, a little, while their
    readers are still served the old one.
    """

    def __init__(self, url: str, *, seconds: float) -> None:
        self._url = url
        self.seconds = seconds
        self._milliseconds = max(1, int(seconds * 1000))
        self._clients: dict[asyncio.AbstractEventLoop, redis.asyncio.Redis] = {}
        self._quiet_until = 0.0

    def _client(self) -> redis.asyncio.Redis:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            self._clients = {loop: async_redis_client(self._url)}  # one event loop per process
            client = self._clients[loop]
        return client

    async def aclose(self) -> None:
        """Close this loop's connections (a server's loop lasts as long as its process)."""
        for client in self._clients.values():
            await client.aclose()
        self._clients = {}

    @staticmethod
    def _name(key: CopyKey) -> str:
        return REDIS_PREFIX + hashlib.sha256(repr(key).encode()).hexdigest()

    async def get(self, key: CopyKey) -> Answer | None:
        try:
            raw = await self._client().get(self._name(key))
            return Answer.from_json(raw) if raw is not None else None
        except (redis.RedisError, OSError, ValueError, KeyError) as exc:
            self._complain(exc)
            return None

    def _claim_name(self, key: CopyKey, replacing: Answer | None) -> str:
        made = repr(replacing.made_at) if replacing is not None else "none"
        return f"{self._name(key)}:after:{made}"

    async def claim(self, key: CopyKey, replacing: Answer | None) -> bool:
        """Whether this process makes the copy after ``replacing`` (yes, too, without Redis)."""
        try:
            claimed = await self._client().set(
                self._claim_name(key, replacing), b"1", nx=True, px=int(SHARED_WAIT_SECONDS * 1000)
            )
        except (redis.RedisError, OSError) as exc:
            self._complain(exc)
            return True
        return bool(claimed)

    async def release(self, key: CopyKey, replacing: Answer | None) -> None:
        try:
            await self._client().delete(self._claim_name(key, replacing))
        except (redis.RedisError, OSError) as exc:
            self._complain(exc)

    def _newer(self, found: Answer | None, than: Answer | None) -> Answer | None:
        if found is None or time.time() - found.made_at >= self.seconds:
            return None
        if than is not None and found.made_at <= than.made_at:
            return None
        return found

    async def newer(self, key: CopyKey, than: Answer | None) -> Answer | None:
        """The copy in Redis if it was made after ``than`` and is still fresh."""
        return self._newer(await self.get(key), than)

    async def wait_for_newer(self, key: CopyKey, than: Answer | None) -> Answer | None:
        """The copy the process that claimed the refresh makes; None once it gave up."""
        deadline = time.monotonic() + SHARED_WAIT_SECONDS
        while time.monotonic() < deadline:
            await asyncio.sleep(SHARED_POLL_SECONDS)
            try:
                async with self._client().pipeline(transaction=False) as pipe:
                    pipe.get(self._name(key))
                    pipe.exists(self._claim_name(key, than))
                    raw, filling = await pipe.execute()
                found = self._newer(Answer.from_json(raw) if raw is not None else None, than)
            except (redis.RedisError, OSError, ValueError, KeyError) as exc:
                self._complain(exc)
                return None
            if found is not None or not filling:
                return found  # None: its answer was not one to keep (a 404); ask Django
        return None

    async def put(self, key: CopyKey, answer: Answer) -> None:
        try:
            await self._client().set(self._name(key), answer.to_json(), px=self._milliseconds)
        except (redis.RedisError, OSError) as exc:
            self._complain(exc)

    def _complain(self, exc: Exception) -> None:
        # Without Redis each process fills its own copies: say so once a minute, not per read.
        now = time.monotonic()
        if now >= self._quiet_until:
            self._quiet_until = now + 60
            logger.warning("the shared read cache (Redis) is unavailable: %s", exc)


class _DjangoInOneGo(ASGIHandler):
    """Django under ASGI, with its middleware chained for sync code: one thread hop per answer.

    The same middleware and views answer as in Django's ASGI handler, and the answer is sent
    the same way; only the hops between the event loop and Django's thread for sync code,
    one or two per middleware there, are left out (they cost more than the answer itself).
    """

    def __init__(self) -> None:
        BaseHandler.__init__(self)
        self.load_middleware(is_async=False)

    def respond(self, scope: Scope) -> HttpResponseBase:
        """What ``ASGIHandler.handle`` does before it sends, for a request without a body."""
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=ASGIHandler, scope=scope)
        request, error = self.create_request(scope, io.BytesIO())
        if request is None:
            assert error is not None  # Django gives the one or the other
            return error
        response = self.get_response(request)
        response._handler_class = ASGIHandler  # type: ignore[attr-defined]
        return response

    async def answer(self, scope: Scope) -> Answer:
        # Django's thread for sync code: where its views and database connections live.
        response = await sync_to_async(self.respond, thread_sensitive=True)(scope)
        start: dict[str, Any] = {}
        body: list[bytes] = []

        async def send(message: Any) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))

        try:
            await self.send_response(response, send)
        finally:
            # request_finished: the request's database connection is checked, as by Django.
            await sync_to_async(response.close, thread_sensitive=True)()
        return Answer(
            status=int(start["status"]),
            headers=[(bytes(k), bytes(v)) for k, v in start.get("headers", ())],
            body=b"".join(body),
        )


class Reads:
    """``Reads(django)``: answers the kept reads, and gives Django every other request."""

    def __init__(self, django: ASGIApp) -> None:
        self.django = django
        self._in_one_go = _DjangoInOneGo()
        fresh = float(settings.QUORUM_SEQUENCER_INTERVAL)
        # Served stale for one interval more at most: a reader never sees counts older than
        # two intervals here (downstream caches may keep them longer: Cache-Control).
        self.copies = Copies(self._fill, fresh=fresh, stale=fresh)
        url = getattr(settings, "REDIS_URL", None)
        self.shared = SharedCopies(url, seconds=fresh) if url else None
        self._languages: dict[tuple[str | None, str], str] = {}
        #: How a proxy says HTTPS: it makes the key's scheme, when the proxy is trusted.
        self._tls_header: bytes | None = None
        if settings.SECURE_PROXY_SSL_HEADER:
            meta_name = settings.SECURE_PROXY_SSL_HEADER[0]
            self._tls_header = meta_name.removeprefix("HTTP_").replace("_", "-").lower().encode()
        #: Headers that change Django's answer besides Host: how a proxy says host and port.
        forwarded: list[bytes] = []
        if settings.USE_X_FORWARDED_HOST:
            forwarded.append(b"x-forwarded-host")
        if settings.USE_X_FORWARDED_PORT:
            forwarded.append(b"x-forwarded-port")
        self._forwarded = frozenset(forwarded)
        self._language_cookie = settings.LANGUAGE_COOKIE_NAME

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        read = self._read(scope)
        if read is None:
            await self.django(scope, receive, send)
            return
        try:
            answer = await self.copies.get((read.key, None))
            if read.conditions and answer.condition is not None and self._current(read, answer):
                answer = await self.copies.get((read.key, answer.condition))
        except Exception:
            # Whatever broke the copy, Django answers this reader itself.
            await self.django(scope, receive, send)
            return
        await send(
            {"type": "http.response.start", "status": answer.status, "headers": answer.headers}
        )
        await send({"type": "http.response.body", "body": answer.body})

    def _read(self, scope: Scope) -> _Read | None:
        """The key of a request this layer may answer; None sends it to Django."""
        if scope.get("query_string"):
            return None
        host: bytes | None = None
        languages: list[bytes] = []
        cookies: list[bytes] = []
        conditions: dict[str, str] = {}
        forwarded: list[tuple[bytes, bytes]] = []
        tls: list[bytes] = []
        for name, value in scope.get("headers", ()):
            if name == b"host":
                host = value
            elif name == b"accept-language":
                languages.append(value)
            elif name == b"cookie":
                cookies.append(value)
            elif name == b"if-none-match":
                conditions["HTTP_IF_NONE_MATCH"] = value.decode("latin-1")
            elif name == b"if-modified-since":
                conditions["HTTP_IF_MODIFIED_SINCE"] = value.decode("latin-1")
            elif name in UNKEPT_CONDITIONS:
                return None
            elif name == self._tls_header:
                tls.append(value)
            elif name in self._forwarded:
                forwarded.append((name, value))
        if host is None:
            return None
        scheme = scope.get("scheme", "http")
        if tls:
            client = scope.get("client")
            if peer_is_trusted(client[0] if client else "", settings.QUORUM_TRUSTED_PROXIES):
                # As Django reads the header once TrustedProxyMiddleware has left it there.
                scheme = "https" if says_https(b",".join(tls).decode("latin-1")) else "http"
        language = self._language(cookies, b",".join(languages))
        if language is None:
            return None
        headers = ((b"host", host), (b"accept-language", language.encode()), *sorted(forwarded))
        method = scope["method"]
        key = (
            method,
            scope["path"],
            scope.get("root_path", ""),
            scheme,
            language,
            headers,
        )
        return _Read(key=key, method=method, conditions=conditions)

    def _language(self, cookies: list[bytes], accept: bytes) -> str | None:
        """The language Django would choose; None if a cookie may change the answer."""
        chosen_by_cookie: str | None = None
        if cookies:
            parsed = parse_cookie(b"; ".join(cookies).decode("latin-1"))
            if set(parsed) - {self._language_cookie}:
                return None
            chosen_by_cookie = parsed.get(self._language_cookie)
        choice = (chosen_by_cookie, accept.decode("latin-1"))
        language = self._languages.get(choice)
        if language is None:
            cookie = {self._language_cookie: choice[0]} if choice[0] is not None else {}
            probe = _Probe("GET", cookie, {"HTTP_ACCEPT_LANGUAGE": choice[1]})
            language = translation.get_language_from_request(probe)  # type: ignore[arg-type]
            if len(self._languages) < MAX_LANGUAGE_CHOICES:
                self._languages[choice] = language
        return language

    @staticmethod
    def _current(read: _Read, answer: Answer) -> bool:
        """Django's precondition check: does the reader hold this very copy?"""
        etag, modified = answer.validators
        probe = _Probe(read.method, {}, read.conditions)
        conditional = get_conditional_response(probe, etag=etag, last_modified=modified)  # type: ignore[arg-type]
        return conditional is not None and conditional.status_code == 304

    async def _fill(self, key: CopyKey) -> Answer:
        if self.shared is None:
            return await self._ask_django(key)
        replacing = self.copies.current(key)
        found = await self.shared.newer(key, replacing)
        if found is not None:
            return found
        if not await self.shared.claim(key, replacing):
            found = await self.shared.wait_for_newer(key, replacing)  # another process fills
            if found is not None:
                return found
        try:
            answer = await self._ask_django(key)
            if answer.kept:
                await self.shared.put(key, answer)
        finally:
            await self.shared.release(key, replacing)
        return answer

    async def _ask_django(self, copy_key: CopyKey) -> Answer:
        """Django's answer to the request that is nothing but the key."""
        (method, path, root_path, scheme, _language, headers), condition = copy_key
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method,
            "scheme": scheme,
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": root_path,
            "headers": [*headers, *([condition] if condition is not None else [])],
            "client": None,
            "server": None,
        }
        return await self._in_one_go.answer(scope)
