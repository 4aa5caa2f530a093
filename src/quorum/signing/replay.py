"""Single use of a proof-of-work solution, and the same answer for a double submission.

Invariant 2 (no identity oracle) forbids telling anyone "you already signed". What this
module tells apart is narrower: one solved challenge (one loaded form) may lead to one
statement only.

- fresh solution → :meth:`Claim.new`: the caller stores the statement, then calls
  :func:`complete` with its receipt (or :func:`abandon` if storing failed, so the same
  solution may be retried);
- same solution, same content, completed → :meth:`Claim.duplicate` with the first receipt
  (a double click, a resent request): nothing new is stored;
- same solution, other content, or same content still pending after a bounded wait →
  :meth:`Claim.replay`: refuse.

What is kept is volatile (Redis with a TTL, or process memory) and holds no identity:
the key is ``HMAC(k, solution_id)``, the value ``HMAC(k, solution_id || content_digest)``
and, once completed, the receipt (a public leaf hash). Because every solution id is a fresh
random challenge, these tags are not a dictionary that could be tested against identities,
and they vanish with the challenge.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final, Literal, Protocol

import redis
from django.conf import settings

from quorum.core.clients import redis_client

ClaimKind = Literal["new", "duplicate", "replay"]

# How long a second request with the same solution and content waits for the first one to
# finish storing before it is refused. The intake writer commits within milliseconds.
DEFAULT_PENDING_WAIT_SECONDS: Final = 5.0
# Entries outlive the challenge by this much, so that an app server whose clock runs behind
# (up to this many seconds) cannot accept a solution whose claim has already been forgotten.
CLOCK_SKEW_MARGIN_SECONDS: Final = 600

_PENDING: Final = "P"
_DONE: Final = "R"


class ReplayStoreUnavailableError(RuntimeError):
    """The shared store cannot be reached: fail closed (answer 503), never skip the check."""


@dataclass(frozen=True, slots=True)
class Claim:
    """What to do with a submission; build with :meth:`new`, :meth:`duplicate`, :meth:`replay`."""

    kind: ClaimKind
    receipt: str | None = None

    @classmethod
    def new(cls) -> Claim:
        return cls("new")

    @classmethod
    def duplicate(cls, receipt: str) -> Claim:
        return cls("duplicate", receipt)

    @classmethod
    def replay(cls) -> Claim:
        return cls("replay")

    @property
    def is_new(self) -> bool:
        return self.kind == "new"

    @property
    def is_duplicate(self) -> bool:
        return self.kind == "duplicate"

    @property
    def is_replay(self) -> bool:
        return self.kind == "replay"


class ReplayStore(Protocol):
    def claim(self, solution_id: str, content_digest: bytes) -> Claim: ...
    def complete(self, solution_id: str, content_digest: bytes, receipt: str) -> None: ...
    def abandon(self, solution_id: str) -> None: ...


class _Tags:
    """Keyed hashes, so that neither a solution id nor a content digest is kept in clear."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"quorum-replay-v1" + secret.encode()).digest()

    def slot(self, solution_id: str) -> str:
        return self._mac(b"slot\x00" + solution_id.encode())

    def content(self, solution_id: str, content_digest: bytes) -> str:
        # Length-prefixed, so no (id, digest) pair can be re-cut into another.
        encoded = solution_id.encode()
        return self._mac(
            b"content\x00" + len(encoded).to_bytes(4, "big") + encoded + content_digest
        )

    def _mac(self, data: bytes) -> str:
        return hmac.new(self._key, data, hashlib.sha256).hexdigest()


def _decide(value: str, content_tag: str) -> Claim | None:
    """The claim for an existing value, or None while the first request is still pending."""
    state, _sep, rest = value.partition(":")
    stored_tag, _sep, receipt = rest.partition(":")
    if not hmac.compare_digest(stored_tag, content_tag):
        return Claim.replay()
    if state == _DONE:
        return Claim.duplicate(receipt)
    return None


def _default_ttl() -> int:
    return int(settings.QUORUM_POW_EXPIRES_SECONDS) + CLOCK_SKEW_MARGIN_SECONDS


class MemoryReplayStore:
    """One process's store: a dict with expiry under a lock (requests come on many threads)."""

    def __init__(
        self,
        *,
        secret: str | None = None,
        ttl_seconds: int | None = None,
        pending_wait: float = DEFAULT_PENDING_WAIT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._tags = _Tags(secret if secret is not None else str(settings.SECRET_KEY))
        self._ttl = ttl_seconds if ttl_seconds is not None else _default_ttl()
        self._wait = pending_wait
        self._clock = clock
        self._entries: dict[str, tuple[str, float]] = {}
        # A condition, not polling: waiters wake as soon as the first request completes.
        self._changed = threading.Condition()
        self._next_prune = 0.0

    def claim(self, solution_id: str, content_digest: bytes) -> Claim:
        slot = self._tags.slot(solution_id)
        content_tag = self._tags.content(solution_id, content_digest)
        deadline = time.monotonic() + self._wait
        with self._changed:
            self._prune()
            while True:
                value = self._get(slot)
                if value is None:
                    self._entries[slot] = (f"{_PENDING}:{content_tag}", self._clock() + self._ttl)
                    return Claim.new()
                decided = _decide(value, content_tag)
                if decided is not None:
                    return decided
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return Claim.replay()
                self._changed.wait(remaining)

    def complete(self, solution_id: str, content_digest: bytes, receipt: str) -> None:
        slot = self._tags.slot(solution_id)
        content_tag = self._tags.content(solution_id, content_digest)
        with self._changed:
            value = self._get(slot)
            if value is None or value == f"{_PENDING}:{content_tag}":
                self._entries[slot] = (
                    f"{_DONE}:{content_tag}:{receipt}",
                    self._clock() + self._ttl,
                )
                self._changed.notify_all()

    def abandon(self, solution_id: str) -> None:
        slot = self._tags.slot(solution_id)
        with self._changed:
            value = self._get(slot)
            # Only a pending claim: a completed one stays, or the solution could be reused.
            if value is not None and value.startswith(f"{_PENDING}:"):
                del self._entries[slot]
                self._changed.notify_all()

    def __len__(self) -> int:
        with self._changed:
            self._prune(force=True)
            return len(self._entries)

    def _get(self, slot: str) -> str | None:
        entry = self._entries.get(slot)
        if entry is None:
            return None
        if entry[1] <= self._clock():
            del self._entries[slot]
            return None
        return entry[0]

    def _prune(self, *, force: bool = False) -> None:
        # A full sweep at most once a second keeps memory bounded at O(1) amortised cost.
        now = self._clock()
        if not force and now < self._next_prune:
            return
        self._next_prune = now + 1.0
        for slot in [s for s, (_v, expires) in self._entries.items() if expires <= now]:
            del self._entries[slot]


# complete: only over our own pending marker, or over nothing if the claim already expired.
_COMPLETE_LUA: Final = """
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0
"""
# abandon: delete only a pending marker, never a completed claim.
_ABANDON_LUA: Final = """
local current = redis.call('GET', KEYS[1])
if current and string.sub(current, 1, 2) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisReplayStore:
    """Shared by every process: ``SET NX EX`` claims the slot atomically."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = "quorum:pow:",
        secret: str | None = None,
        ttl_seconds: int | None = None,
        pending_wait: float = DEFAULT_PENDING_WAIT_SECONDS,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._tags = _Tags(secret if secret is not None else str(settings.SECRET_KEY))
        self._ttl = ttl_seconds if ttl_seconds is not None else _default_ttl()
        self._wait = pending_wait
        self._complete = client.register_script(_COMPLETE_LUA)
        self._abandon = client.register_script(_ABANDON_LUA)

    def claim(self, solution_id: str, content_digest: bytes) -> Claim:
        key = self._prefix + self._tags.slot(solution_id)
        content_tag = self._tags.content(solution_id, content_digest)
        deadline = time.monotonic() + self._wait
        pause = 0.01
        with _unavailable_on_redis_error():
            while True:
                if self._client.set(key, f"{_PENDING}:{content_tag}", nx=True, ex=self._ttl):
                    return Claim.new()
                value = self._client.get(key)
                if value is not None:
                    decided = _decide(_text(value), content_tag)
                    if decided is not None:
                        return decided
                # else: expired or abandoned in between, so claim again (after the deadline
                # check, so that even a flapping key cannot keep us looping).
                if time.monotonic() >= deadline:
                    return Claim.replay()
                # Another process holds it: poll, backing off, within the bounded wait.
                time.sleep(min(pause, max(deadline - time.monotonic(), 0.0)))
                pause = min(pause * 2, 0.2)

    def complete(self, solution_id: str, content_digest: bytes, receipt: str) -> None:
        key = self._prefix + self._tags.slot(solution_id)
        content_tag = self._tags.content(solution_id, content_digest)
        with _unavailable_on_redis_error():
            self._complete(
                keys=[key],
                args=[f"{_PENDING}:{content_tag}", f"{_DONE}:{content_tag}:{receipt}", self._ttl],
            )

    def abandon(self, solution_id: str) -> None:
        key = self._prefix + self._tags.slot(solution_id)
        with _unavailable_on_redis_error():
            self._abandon(keys=[key], args=[f"{_PENDING}:"])


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@contextlib.contextmanager
def _unavailable_on_redis_error() -> Iterator[None]:
    try:
        yield
    except redis.RedisError as exc:
        raise ReplayStoreUnavailableError("the replay store cannot be reached") from exc


_store: ReplayStore | None = None
_store_lock = threading.Lock()


def get_replay_store() -> ReplayStore:
    """The store of this process, chosen once: Redis when ``REDIS_URL`` is set, else memory."""
    global _store
    if _store is None:
        with _store_lock:
            if _store is None:
                url = getattr(settings, "REDIS_URL", None)
                _store = RedisReplayStore(redis_client(url)) if url else MemoryReplayStore()
    return _store


def reset_replay_store(store: ReplayStore | None = None) -> None:
    """For tests: forget the chosen store, or put ``store`` in its place."""
    global _store
    with _store_lock:
        _store = store


def claim(solution_id: str, content_digest: bytes) -> Claim:
    """Claim a solution for a content digest (HMAC-SHA256 of the canonical content).

    May block up to ~5 s while a first request with the same solution is still storing.
    Raises :class:`ReplayStoreUnavailableError` when Redis cannot be reached.
    """
    return get_replay_store().claim(solution_id, content_digest)


def complete(solution_id: str, content_digest: bytes, receipt: str) -> None:
    """Record the receipt of a stored statement, for duplicates of the same submission."""
    get_replay_store().complete(solution_id, content_digest, receipt)


def abandon(solution_id: str) -> None:
    """Release a pending claim after storing failed, so the user may retry the same form."""
    get_replay_store().abandon(solution_id)
