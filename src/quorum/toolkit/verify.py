"""Verify an authority's batch offline: integrity first, then every (or a sample of) statement.

One pass over the batch file, in O(log n) memory for the tree:

1. the header's checkpoint must verify with the batch's log key and, when the authority
   pinned one (``pinned_log_key``), with that key too; its origin must be
   ``<key name>/<initiative slug>`` and its size the header's ``tree_size``;
2. every leaf line is hashed again from its public data and folded into the root
   (``RootBuilder``); indices must run 0..N-1, the count must equal the checkpoint's size
   and the root its root. Any difference rejects the whole batch: an entry was dropped,
   added, reordered or altered. Each own ciphertext must hash to its line's digest;
3. the Member State's own ciphertexts are opened and checked (:mod:`.statement`), in worker
   processes when ``jobs > 1``, while the main process keeps reading and hashing; with a
   ``sample`` only a seeded uniform random sample (reservoir sampling) is opened, after the
   integrity checks have passed;
4. statements that pass their own checks are looked up in the population register (if
   given) and de-duplicated: the lowest leaf index of a person counts.

Plaintext exists only in memory, inside :meth:`Checker.check`; nothing here writes a file.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import secrets
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from quorum.proofs.batch import BatchEntry, BatchFormatError, BatchHeader, read_batch
from quorum.proofs.count_certificate import FORMAT as CERTIFICATE_FORMAT
from quorum.proofs.count_certificate import sign_certificate
from quorum.proofs.crypto import AuthorityKeys, decode_key, encode_key
from quorum.proofs.leaves import statement_leaf_hash
from quorum.proofs.merkle import RootBuilder
from quorum.proofs.signed_note import Checkpoint, NoteError, open_checkpoint, parse_verifier_key
from quorum.rules import RulesError, scheme
from quorum.toolkit import statement as st
from quorum.toolkit.register import RegisterError, match_register

__all__ = [
    "CERTIFIED",
    "REJECTED",
    "REPORT_FORMAT",
    "WRONG_KEY",
    "Outcome",
    "VerifyOptions",
    "VerifyUsageError",
    "default_jobs",
    "verify_batch",
]

REPORT_FORMAT = "quorum-verification-report-v1"
CERTIFIED = "certified"
REJECTED = "rejected"
WRONG_KEY = "not certified: no statement opens with this key"
LEAVES_DO_NOT_REPRODUCE = "the leaves do not reproduce the checkpoint"
FOREIGN_KEY = "statements sealed to a key that is not the authority's"


class VerifyUsageError(Exception):
    """The verification cannot start or go on: bad option, unreadable file, bad register."""


class _Rejected(Exception):
    """The batch fails an integrity check; no certificate may be issued."""


#: Beyond this many workers the main process (reading and hashing leaves) is the bottleneck.
MAX_DEFAULT_JOBS = 8


def default_jobs() -> int:
    """The usable CPU cores, at most :data:`MAX_DEFAULT_JOBS`."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_DEFAULT_JOBS))


@dataclass(frozen=True)
class VerifyOptions:
    on: date
    pinned_log_key: str | None = None
    sample: int | None = None
    seed: int | None = None
    register: Path | None = None
    jobs: int = 1
    chunk_size: int = 1000
    progress: TextIO | None = None
    progress_every: int = 10_000
    #: earlier keys of the authority, to open statements sealed before a rotation
    old_keys: tuple[AuthorityKeys, ...] = ()


@dataclass
class Outcome:
    verdict: str
    report: dict[str, Any]
    certificate: dict[str, Any] | None = None
    messages: list[str] = field(default_factory=list)


# --- reading while hashing -----------------------------------------------------------------


class _HashingReader(io.RawIOBase):
    """A raw reader that hashes every byte it hands on: the report names the exact file."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        size = len(data)
        buffer[:size] = data
        self.sha256.update(data)
        return size

    def drain(self) -> str:
        """Hash what is left unread (after a rejection) and return the file's SHA-256."""
        while chunk := self._raw.read(1 << 20):
            self.sha256.update(chunk)
        return self.sha256.hexdigest()


# --- checking statements, here or in worker processes ---------------------------------------


class _Tally:
    """Results in leaf-index order: invalid entries, register candidates, duplicates."""

    def __init__(self, *, keep_candidates: bool) -> None:
        self.checked = 0
        self.valid = 0
        self.age_unchecked = 0
        self.invalid: list[tuple[int, str, str | None]] = []
        self._seen: set[bytes] = set()
        self._last_index = -1
        self.candidates: list[tuple[int, bytes, tuple[bytes, ...]]] | None = (
            [] if keep_candidates else None
        )

    def add(self, result: st.Checked) -> None:
        if result.index <= self._last_index:  # pragma: no cover - an ordering bug
            raise RuntimeError("statement results arrived out of order")
        self._last_index = result.index
        self.checked += 1
        if result.reason is not None:
            self.invalid.append((result.index, result.reason, result.detail))
            return
        if not result.age_checked:
            self.age_unchecked += 1
        assert result.person is not None
        if self.candidates is not None:
            self.candidates.append((result.index, result.person, result.register))
        else:
            self._count_once(result.index, result.person)

    def _count_once(self, index: int, person: bytes) -> None:
        if person in self._seen:
            self.invalid.append((index, st.DUPLICATE, None))
        else:
            self._seen.add(person)
            self.valid += 1

    def wanted_register_keys(self) -> set[bytes]:
        return {key for _, _, keys in self.candidates or () for key in keys}

    def apply_register(self, found: set[bytes]) -> None:
        for index, person, keys in self.candidates or ():
            if any(key in found for key in keys):
                self._count_once(index, person)
            else:
                self.invalid.append((index, st.NOT_IN_REGISTER, None))
        self.candidates = None
        self.invalid.sort()

    def all_undecryptable(self) -> bool:
        return self.checked > 0 and (
            sum(1 for _, reason, _ in self.invalid if reason == st.CANNOT_DECRYPT) == self.checked
        )


class _Dispatcher:
    """Feeds chunks of ciphertexts to a checker; keeps results in submission order.

    With ``jobs > 1`` a process pool is started at the first full chunk (a small batch never
    pays for it); at most ``4 × jobs`` chunks are in flight, so memory stays bounded however
    large the batch.
    """

    def __init__(
        self, context: st.CheckContext, *, jobs: int, chunk_size: int, sink: _Tally
    ) -> None:
        self._context = context
        self._jobs = jobs
        self._chunk_size = max(1, chunk_size)
        self._sink = sink
        self._buffer: list[tuple[int, str, bytes, int]] = []
        self._pending: deque[Future[list[st.Checked]]] = deque()
        self._executor: ProcessPoolExecutor | None = None
        self._checker: st.Checker | None = None

    def add(self, index: int, received_at: str, ciphertext: bytes, key: int) -> None:
        self._buffer.append((index, received_at, ciphertext, key))
        if len(self._buffer) >= self._chunk_size:
            self._flush(final=False)

    def finish(self) -> None:
        self._flush(final=True)
        while self._pending:
            self._take()

    def close(self) -> None:
        self._buffer = []
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        self._pending.clear()

    def _take(self) -> None:
        for result in self._pending.popleft().result():
            self._sink.add(result)

    def _flush(self, *, final: bool) -> None:
        chunk, self._buffer = self._buffer, []
        if not chunk:
            return
        if self._jobs <= 1 or (final and self._executor is None):
            if self._checker is None:
                self._checker = st.Checker(self._context)
            check = self._checker.check
            for item in chunk:
                self._sink.add(check(*item))
            return
        if self._executor is None:
            import multiprocessing

            self._executor = ProcessPoolExecutor(
                max_workers=self._jobs,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=st.init_worker,
                initargs=(self._context,),
            )
        while len(self._pending) >= 4 * self._jobs:
            self._take()
        self._pending.append(self._executor.submit(st.check_many, chunk))


# --- the run -------------------------------------------------------------------------------


class _Run:
    def __init__(self, path: Path, keys: AuthorityKeys, options: VerifyOptions) -> None:
        self.path = path
        self.keys = keys
        self.options = options
        self.header: BatchHeader | None = None
        self.checkpoint: Checkpoint | None = None
        self.leaves_read = 0
        self.own = 0
        self.batch_sha256: str | None = None
        self.tally = _Tally(keep_candidates=options.register is not None)
        self.sample: list[tuple[int, str, bytes, int]] = []
        self.seed: int | None = None
        self.dispatcher: _Dispatcher | None = None
        self.register_rows: int | None = None
        self.messages: list[str] = []
        self.context: st.CheckContext | None = None
        self._rng = random.Random()

    # progress -------------------------------------------------------------------------

    def _say(self, text: str) -> None:
        if self.options.progress is not None:
            print(text, file=self.options.progress, flush=True)

    def _progress(self, done: bool = False) -> None:
        size = self.checkpoint.size if self.checkpoint else 0
        ms = self.header.member_state if self.header else "?"
        opened = "" if self.options.sample else f", {self.tally.checked:,} opened"
        tail = " — all leaves read" if done else ""
        self._say(
            f"{self.leaves_read:,} / {size:,} leaves checked;"
            f" {self.own:,} statements of {ms}{opened}{tail}"
        )

    # the pass -------------------------------------------------------------------------

    def run(self) -> Outcome:
        if self.options.sample is not None and self.options.sample < 1:
            raise VerifyUsageError("--sample must be a positive number")
        if self.options.pinned_log_key is not None:
            try:
                parse_verifier_key(self.options.pinned_log_key)
            except NoteError as exc:
                raise VerifyUsageError(
                    f"--log-key is not a signed-note verifier key: {exc}"
                ) from exc
        if self.options.sample is not None:
            self.seed = self.options.seed if self.options.seed is not None else secrets.randbits(32)
        else:
            self.seed = None
        try:
            raw = self.path.open("rb")
        except OSError as exc:
            raise VerifyUsageError(
                f"cannot read the batch {self.path}: {exc.strerror or exc}"
            ) from exc
        try:
            rejection = self._read(raw)
            if rejection is not None:
                self._say(f"batch rejected: {rejection}")
                return Outcome(REJECTED, self._report(REJECTED, rejection))
            self._check_statements()
        finally:
            if self.dispatcher is not None:
                self.dispatcher.close()
        if self.tally.all_undecryptable():
            reason = (
                f"none of the {self.tally.checked:,} statements checked opens with this key:"
                f" is it the key of {self.header.member_state if self.header else '?'}'s"
                " authority, registered for this initiative?"
            )
            return Outcome(WRONG_KEY, self._report(WRONG_KEY, reason))
        report = self._report(CERTIFIED, None)
        return Outcome(CERTIFIED, report, self._certificate(report), self.messages)

    def _read(self, raw: BinaryIO) -> str | None:
        """Read and check the whole batch; the reason it is rejected, or None."""
        with raw:
            reader = _HashingReader(raw)
            text = io.TextIOWrapper(
                io.BufferedReader(reader, 1 << 20), encoding="utf-8", errors="surrogateescape"
            )
            rejection = None
            try:
                self._scan(text)
            except BatchFormatError as exc:
                rejection = f"the batch is malformed: {exc}"
            except _Rejected as exc:
                rejection = str(exc)
            except OSError as exc:
                raise VerifyUsageError(
                    f"cannot read the batch {self.path}: {exc.strerror or exc}"
                ) from exc
            try:
                self.batch_sha256 = reader.drain()
            except OSError as exc:
                raise VerifyUsageError(
                    f"cannot read the batch {self.path}: {exc.strerror or exc}"
                ) from exc
        return rejection

    def _scan(self, text: TextIO) -> None:
        header, entries = read_batch(text)
        self.header = header
        try:
            rules = scheme(header.scheme)
        except RulesError as exc:
            raise _Rejected(f"unknown scheme {header.scheme!r}") from exc
        if header.member_state not in rules.member_state_codes():
            raise _Rejected(f"unknown Member State {header.member_state!r}")
        checkpoint = self._open_checkpoint(header)
        self.checkpoint = checkpoint
        if header.tree_size != checkpoint.size:
            raise _Rejected(
                f"the header's tree_size {header.tree_size} differs from the checkpoint's"
                f" size {checkpoint.size}"
            )
        context = st.CheckContext(
            scheme=header.scheme,
            member_state=header.member_state,
            slug=header.initiative.slug,
            registration_number=header.initiative.registration_number,
            sealing_private_keys=self._own_keys(header),
            person_secret=secrets.token_bytes(32),
        )
        self.context = context
        if self.options.sample is None:
            self.dispatcher = _Dispatcher(
                context,
                jobs=self.options.jobs,
                chunk_size=self.options.chunk_size,
                sink=self.tally,
            )
            sink: Callable[[BatchEntry], None] = self._dispatch
        else:
            self._rng = random.Random(self.seed)
            sink = self._reservoir
        self._fold_leaves(header, checkpoint, entries, sink)

    def _own_keys(self, header: BatchHeader) -> dict[int, bytes]:
        """The private key for each sealing key the batch names; reject a key that is not ours.

        A statement sealed to a key outside the authority's own key history means the platform
        took a key the authority never made: nobody but whoever holds that key may read it.
        """
        own = {
            keys.sealing_public_key: keys.sealing_private_key
            for keys in (self.keys, *self.options.old_keys)
        }
        found: dict[int, bytes] = {}
        for number, public in sorted(header.sealing_keys.items()):
            private = own.get(decode_key(public))
            if private is None:
                raise _Rejected(
                    f"{FOREIGN_KEY}: the batch says statements of {header.member_state} are"
                    f" sealed to key {number} ({public}), which is none of the key files given."
                    " If it is an earlier key of yours, add its file with --old-key; if not,"
                    " the platform accepted a key your authority never made: report it"
                )
            found[number] = private
        return found

    def _open_checkpoint(self, header: BatchHeader) -> Checkpoint:
        slug = header.initiative.slug
        try:
            name, _ = parse_verifier_key(header.log_key)
        except NoteError as exc:
            raise _Rejected(f"the batch's log key is malformed: {exc}") from exc
        try:
            checkpoint = open_checkpoint(header.checkpoint, header.log_key, origin=f"{name}/{slug}")
        except NoteError as exc:
            raise _Rejected(
                f"the checkpoint does not verify with the batch's log key: {exc}"
            ) from exc
        pinned = self.options.pinned_log_key
        if pinned is None:
            self.messages.append(
                "warning: the log key was not pinned (--log-key); the checkpoint was checked"
                " only against the key the batch itself carries"
            )
            self._say(self.messages[-1])
            return checkpoint
        pinned_name, _ = parse_verifier_key(pinned)
        try:
            pinned_checkpoint = open_checkpoint(
                header.checkpoint, pinned, origin=f"{pinned_name}/{slug}"
            )
        except NoteError as exc:
            raise _Rejected(f"the checkpoint is not signed by the pinned log key: {exc}") from exc
        if pinned_checkpoint != checkpoint:  # pragma: no cover - one text, one parse
            raise _Rejected("the checkpoint reads differently under the pinned log key")
        return checkpoint

    def _fold_leaves(
        self,
        header: BatchHeader,
        checkpoint: Checkpoint,
        entries: Any,
        sink: Callable[[BatchEntry], None],
    ) -> None:
        slug = header.initiative.slug
        size = checkpoint.size
        every = max(1, self.options.progress_every)
        builder = RootBuilder()
        add = builder.add
        sha256 = hashlib.sha256
        expected = 0
        for entry in entries:
            index = entry.index
            if index != expected:
                if index > expected:
                    problem = f"leaf {expected} is missing (leaf {index} follows): an entry was dropped or reordered"
                else:
                    problem = (
                        f"leaf {index} appears again or out of order after leaf {expected - 1}"
                    )
                raise _Rejected(f"{LEAVES_DO_NOT_REPRODUCE}: {problem}")
            if index >= size:
                raise _Rejected(
                    f"{LEAVES_DO_NOT_REPRODUCE}: the batch holds more than the checkpoint's"
                    f" {size:,} leaves: an entry was added"
                )
            add(
                statement_leaf_hash(
                    initiative=slug,
                    member_state=entry.member_state,
                    received_at=entry.received_at,
                    ciphertext_sha256=entry.ciphertext_sha256,
                    partner=entry.partner,  # a v2 leaf: the code is part of what is hashed
                )
            )
            if entry.ciphertext is not None:
                if sha256(entry.ciphertext).digest() != entry.ciphertext_sha256:
                    raise _Rejected(
                        f"{LEAVES_DO_NOT_REPRODUCE}: the ciphertext of leaf {index} does not"
                        " match its digest: the entry was altered"
                    )
                self.own += 1
                sink(entry)
            expected += 1
            self.leaves_read = expected
            if expected % every == 0 and expected != size:
                self._progress()
        if expected != size:
            raise _Rejected(
                f"{LEAVES_DO_NOT_REPRODUCE}: the batch holds {expected:,} leaves, the"
                f" checkpoint {size:,}: an entry was dropped"
            )
        if builder.root() != checkpoint.root:
            raise _Rejected(
                f"{LEAVES_DO_NOT_REPRODUCE}: the recomputed root differs from the checkpoint's:"
                " an entry was altered, reordered, added or dropped"
            )
        self._progress(done=True)

    def _dispatch(self, entry: BatchEntry) -> None:
        assert self.dispatcher is not None and entry.ciphertext is not None
        assert entry.key is not None
        self.dispatcher.add(entry.index, entry.received_at, entry.ciphertext, entry.key)

    def _reservoir(self, entry: BatchEntry) -> None:
        # Algorithm R: after k items, each is in the sample with probability n/k; seeded, so
        # the same batch and seed give the same sample.
        assert self.options.sample is not None and entry.ciphertext is not None
        assert entry.key is not None
        item = (entry.index, entry.received_at, entry.ciphertext, entry.key)
        if len(self.sample) < self.options.sample:
            self.sample.append(item)
            return
        slot = self._rng.randrange(self.own)
        if slot < self.options.sample:
            self.sample[slot] = item

    # statements -----------------------------------------------------------------------

    def _check_statements(self) -> None:
        if self.options.sample is not None:
            self.sample.sort()
            if self.sample:
                self._say(f"opening a random sample of {len(self.sample):,} statements")
            assert self.context is not None
            self.dispatcher = _Dispatcher(
                self.context,
                jobs=self.options.jobs,
                chunk_size=self.options.chunk_size,
                sink=self.tally,
            )
            for item in self.sample:
                self.dispatcher.add(*item)
            self.sample = []
        assert self.dispatcher is not None and self.context is not None
        self.dispatcher.finish()
        self._say(f"{self.tally.checked:,} statements opened and checked")
        if self.options.register is not None:
            self._say(f"matching against the population register {self.options.register}")
            try:
                found, rows = match_register(
                    self.options.register, self.context, self.tally.wanted_register_keys()
                )
            except RegisterError as exc:
                raise VerifyUsageError(str(exc)) from exc
            self.register_rows = rows
            self.tally.apply_register(found)

    # results --------------------------------------------------------------------------

    @property
    def _sampled(self) -> bool:
        return self.options.sample is not None and self.options.sample < self.own

    def _valid_statements(self) -> int:
        if not self._sampled:
            return self.tally.valid
        # Extrapolate, rounding down: never certify more than the sample supports.
        return self.tally.valid * self.own // max(1, self.tally.checked)

    def _report(self, verdict: str, reason: str | None) -> dict[str, Any]:
        header, checkpoint = self.header, self.checkpoint
        certified = verdict == CERTIFIED
        by_reason: dict[str, int] | None = None
        invalid: list[dict[str, Any]] | None = None
        if verdict != REJECTED:
            by_reason = dict.fromkeys(st.REASONS, 0)
            invalid = []
            for index, why, detail in sorted(self.tally.invalid):
                by_reason[why] += 1
                item: dict[str, Any] = {"leaf_index": index, "reason": why}
                if detail:
                    item["detail"] = detail
                invalid.append(item)
        destroy_by = None
        if certified and header is not None:
            destroy_by = scheme(header.scheme).authority_copy_end(self.options.on).isoformat()
        return {
            "format": REPORT_FORMAT,
            "verdict": verdict,
            "reason": reason,
            "batch": {
                "file": self.path.name,
                "sha256": self.batch_sha256,
                "created_at": header.created_at if header else None,
            },
            "scheme": header.scheme if header else None,
            "initiative": (
                {
                    "slug": header.initiative.slug,
                    "registration_number": header.initiative.registration_number,
                    "registration_date": header.initiative.registration_date,
                    "title": header.initiative.title,
                }
                if header
                else None
            ),
            "member_state": header.member_state if header else None,
            "log_key": header.log_key if header else None,
            "log_key_pinned": self.options.pinned_log_key is not None,
            "checkpoint": _checkpoint_dict(checkpoint) if checkpoint else None,
            "leaves_read": self.leaves_read,
            "statements_in_batch": self.own if verdict != REJECTED else None,
            "method": ("sample" if self._sampled else "full") if verdict != REJECTED else None,
            "sample_size": self.tally.checked if self._sampled and verdict != REJECTED else None,
            "sample_seed": self.seed if self._sampled else None,
            "statements_checked": self.tally.checked if verdict != REJECTED else None,
            "valid_in_checked": self.tally.valid if verdict != REJECTED else None,
            "valid_statements": self._valid_statements() if certified else None,
            "invalid_by_reason": by_reason,
            "invalid": invalid,
            "age_not_checkable": self.tally.age_unchecked if verdict != REJECTED else None,
            "population_register": (
                {"used": True, "rows": self.register_rows}
                if self.options.register is not None and verdict != REJECTED
                else {"used": False, "rows": None}
            ),
            "date": self.options.on.isoformat(),
            "destroy_copies_by": destroy_by,
        }

    def _certificate(self, report: dict[str, Any]) -> dict[str, Any]:
        assert self.header is not None and self.checkpoint is not None
        valid = report["valid_statements"]
        cert = {
            "format": CERTIFICATE_FORMAT,
            "scheme": self.header.scheme,
            "initiative": {
                "slug": self.header.initiative.slug,
                "registration_number": self.header.initiative.registration_number,
            },
            "member_state": self.header.member_state,
            "authority_signing_key": encode_key(self.keys.signing_public_key),
            "checkpoint": _checkpoint_dict(self.checkpoint),
            "statements_in_batch": self.own,
            "valid_statements": valid,
            "valid_online": valid,
            "valid_paper": 0,
            "method": report["method"],
            "sample_size": report["sample_size"],
            "date": self.options.on.isoformat(),
        }
        return sign_certificate(cert, self.keys.signing_seed)


def _checkpoint_dict(checkpoint: Checkpoint) -> dict[str, Any]:
    return {
        "origin": checkpoint.origin,
        "size": checkpoint.size,
        "root": encode_key(checkpoint.root),
    }


def verify_batch(path: Path, keys: AuthorityKeys, options: VerifyOptions) -> Outcome:
    """Verify the batch at ``path`` with the authority's ``keys``; never writes a file.

    Returns an :class:`Outcome` (certified, rejected, or wrong key) with the report and, if
    certified, the signed certificate. Raises :class:`VerifyUsageError` when it cannot run.
    """
    return _Run(Path(path), keys, options).run()
