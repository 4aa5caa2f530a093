"""Audit an initiative's public log from the outside: anyone can, with no database at all.

``audit(base_url, slug)`` reads only the public API and checks end to end that every published count is the
count of an append-only log that anyone can recompute:

1. the log key — fetched, or pinned by the caller (a careful auditor pins it);
2. the latest checkpoint — signed by that key, for the origin ``<key name>/<slug>``;
3. every leaf, page by page up to the checkpoint's size — indices consecutive from 0, each
   leaf hash recomputed from its public fields and compared with the published one;
4. the root, rebuilt from the recomputed leaf hashes in O(log n) memory, against the
   checkpoint's root;
5. ``/counts`` — the total, every Member State's count and every coalition partner's (and
   the count signed through no partner), recounted from the leaves;
6. with ``previous`` (a checkpoint saved by an earlier run): same key, same origin, no
   shrinking, a consistency proof that verifies, and the leaves reproducing its root;
7. the authorities' key log (``quorum.proofs.key_log_audit``): every key signed by its
   authority, the published keys the last ones logged; a rotation during the initiative's
   collection is flagged;
8. with ``series`` (a downloaded ``/series``, or fetched with ``series_from_site``): every
   point, while the leaves stream past its size — its root that of the log's first ``size``
   leaves, its counts per Member State and per partner those leaves' recount, its size within
   the checkpoint, the points in increasing size and time.

Every problem becomes a plain-English finding; a network error or a malformed answer is a
finding too, never a traceback. The verdict is *ok* only with no finding at all.

Pure: the standard library, ``quorum.proofs.merkle``, ``quorum.proofs.leaves`` and
``quorum.proofs.signed_note`` — no Django, no settings, no database.
"""

from __future__ import annotations

import http.client
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from quorum.proofs import merkle, signed_note
from quorum.proofs.key_log_audit import audit_key_log, key_changes_between
from quorum.proofs.leaves import statement_leaf_hash
from quorum.proofs.signed_note import Checkpoint, NoteError

__all__ = [
    "PAGE_SIZE",
    "AuditReport",
    "Fetch",
    "FetchError",
    "Progress",
    "audit",
    "http_fetch",
]

Fetch = Callable[[str], bytes]
"""GET a URL and return the body of a 200 answer; raise (ideally ``FetchError``) otherwise."""

Progress = Callable[[int, int], None]
"""Called with (leaves checked, leaves in the checkpoint) after every page."""

PAGE_SIZE = 1000  # the API's own maximum per page
MAX_RESPONSE_BYTES = 16 * 2**20
TIMEOUT_SECONDS = 30.0
MAX_LISTED_LEAF_FINDINGS = 50  # beyond these, leaf problems are counted, not listed

_HEX32 = re.compile(r"[0-9a-f]{64}")
_RECEIVED_AT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
SERIES_INTERVALS = ("hour", "day")


class FetchError(Exception):
    """A URL could not be fetched (network error, non-200 answer, oversized body)."""


class _Stop(Exception):
    """The audit cannot go on; the reason is already a finding."""


@dataclass
class AuditReport:
    base_url: str
    slug: str
    size: int | None = None
    """Tree size of the checkpoint audited."""
    root: bytes | None = None
    """Root hash of that checkpoint."""
    counts: dict[str, int] = field(default_factory=dict)
    """Statements per Member State, recounted from the published leaves."""
    partner_counts: dict[str, int] = field(default_factory=dict)
    """Statements per coalition partner's code (only codes with some), recounted likewise."""
    without_partner: int = 0
    """Statements signed through no partner's link, recounted likewise."""
    leaves_checked: int = 0
    log_key: str | None = None
    checkpoint: str | None = None
    """The signed checkpoint, set only if its signature and origin verified: save it for
    the next run's ``previous``."""
    key_log_checkpoint: str | None = None
    """The key log's verified checkpoint: save it for the next run's ``previous_key_log``."""
    series_points: int | None = None
    """Points of the count over time checked against the leaves (None: no series given)."""
    findings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Information that does not fail the audit (e.g. an unpinned log key)."""

    @property
    def ok(self) -> bool:
        return not self.findings and self.checkpoint is not None and self.size is not None

    @property
    def verdict(self) -> str:
        return "ok" if self.ok else "failed"


# --- fetching ------------------------------------------------------------------------------


def http_fetch(url: str) -> bytes:
    """GET ``url`` with urllib; the body of a 200 answer, else ``FetchError``."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise FetchError("only http and https URLs can be audited")
    request = urllib.request.Request(
        url, headers={"User-Agent": "quorum-audit", "Accept": "application/json, text/plain"}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            if response.status != 200:
                raise FetchError(f"HTTP {response.status}")
            body = response.read(MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise FetchError(f"HTTP {exc.code}") from exc
    except urllib.error.URLError as exc:
        raise FetchError(str(exc.reason)) from exc
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise FetchError(str(exc) or type(exc).__name__) from exc
    if len(body) > MAX_RESPONSE_BYTES:
        raise FetchError(f"the answer is larger than {MAX_RESPONSE_BYTES} bytes")
    return body


# --- the audit -----------------------------------------------------------------------------


def audit(
    base_url: str,
    slug: str,
    *,
    log_key: str | None = None,
    previous: str | None = None,
    fetch: Fetch = http_fetch,
    progress: Progress | None = None,
    previous_key_log: str | None = None,
    series: str | bytes | None = None,
    series_from_site: str | None = None,
) -> AuditReport:
    """Audit the log of initiative ``slug`` published at ``base_url`` (the site's root URL).

    ``log_key``: the verifier key to trust (else the one the site publishes is used, and a
    note says so). ``previous``: the text of a checkpoint saved from an earlier audit.
    ``series``: a count over time as ``/series`` gives it (JSON), to check point by point;
    ``series_from_site``: ``"hour"`` or ``"day"`` to fetch it from the site instead.
    """
    run = _Audit(base_url, slug, fetch, progress)
    run.previous_key_log = previous_key_log
    run.series_text = series
    run.series_interval = series_from_site
    try:
        run.run(log_key, previous)
    except _Stop:
        pass
    except Exception as exc:  # a hostile answer must fail the audit, never crash the auditor
        run.report.findings.append(f"the audit stopped on an unexpected error: {exc!r}")
    run.finish()
    return run.report


@dataclass
class _PublishedCounts:
    total: int
    checkpoint_size: int
    states_reached: int
    by_member_state: dict[str, tuple[int, int, bool]]  # code -> (count, threshold, reached)
    by_partner: dict[str, int] = field(default_factory=dict)  # code -> count; {} from old sites
    without_partner: int | None = None  # None: a site from before partners, nothing to compare


@dataclass
class _Recount:
    """Leaves recounted per Member State and per partner code ("": signed through none)."""

    by_member_state: Counter[str] = field(default_factory=Counter)
    by_partner: Counter[str] = field(default_factory=Counter)

    def add(self, member_state: str, partner: str) -> None:
        self.by_member_state[member_state] += 1
        self.by_partner[partner] += 1

    @property
    def partners(self) -> dict[str, int]:
        return {code: n for code, n in sorted(self.by_partner.items()) if code and n}

    @property
    def without_partner(self) -> int:
        return self.by_partner.get("", 0)


@dataclass
class _SeriesPoint:
    """One point of a count over time, as published: checked when the leaves reach its size."""

    number: int  # 1 for the first point of the file
    at: str
    size: int
    root: bytes
    by_member_state: dict[str, int]
    by_partner: dict[str, int]

    @property
    def label(self) -> str:
        return f"series point {self.number} ({self.at})"


class _Audit:
    def __init__(self, base_url: str, slug: str, fetch: Fetch, progress: Progress | None):
        base = base_url.strip().rstrip("/")
        base = base.removesuffix("/api/v1")
        self.api = f"{base}/api/v1"
        self.initiative = f"{self.api}/initiatives/{urllib.parse.quote(slug, safe='')}"
        self.slug = slug
        self.fetch = fetch
        self.progress = progress
        self.report = AuditReport(base_url=base_url, slug=slug)
        self.leaf_problems = 0
        self.previous_key_log: str | None = None
        self.series_text: str | bytes | None = None
        self.series_interval: str | None = None
        self.series: deque[_SeriesPoint] = deque()  # still to check, by size

    # -- findings ---------------------------------------------------------------------------

    def fail(self, finding: str) -> None:
        self.report.findings.append(finding)

    def stop(self, finding: str) -> _Stop:
        self.fail(finding)
        return _Stop()

    def leaf_problem(self, finding: str) -> None:
        self.leaf_problems += 1
        if self.leaf_problems <= MAX_LISTED_LEAF_FINDINGS:
            self.fail(finding)

    def finish(self) -> None:
        hidden = self.leaf_problems - MAX_LISTED_LEAF_FINDINGS
        if hidden > 0:
            self.fail(f"… and {hidden} more leaf problem(s) not listed")
        if self.series:
            self.fail(
                f"{len(self.series)} series point(s) not checked: the audit stopped before "
                "the leaves reached them"
            )

    # -- fetching ---------------------------------------------------------------------------

    def get(self, url: str, what: str) -> bytes | None:
        try:
            return self.fetch(url)
        except Exception as exc:  # whatever the injected fetch raises is a finding
            reason = str(exc) or type(exc).__name__
            self.fail(f"could not fetch {what} ({url}): {reason}")
            return None

    def get_text(self, url: str, what: str) -> str | None:
        body = self.get(url, what)
        if body is None:
            return None
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            self.fail(f"the answer for {what} is not valid UTF-8 text")
            return None

    def get_json(self, url: str, what: str) -> dict[str, Any] | None:
        body = self.get(url, what)
        if body is None:
            return None
        try:
            value = json.loads(body)
        except (ValueError, RecursionError):
            self.fail(f"the answer for {what} is not valid JSON")
            return None
        if not isinstance(value, dict):
            self.fail(f"the answer for {what} is malformed: a JSON object was expected")
            return None
        return value

    # -- the steps --------------------------------------------------------------------------

    def run(self, log_key: str | None, previous: str | None) -> None:
        verifier, name = self.key(log_key)
        origin = f"{name}/{self.slug}"
        old = self.previous_checkpoint(previous, verifier, origin) if previous is not None else None
        # Counts first, checkpoint second: the log only grows, so the checkpoint is at least
        # as new as the counts, and the counts are compared at their own size. So is a
        # series fetched from the site.
        counts = self.published_counts()
        self.series = self.published_series()
        checkpoint = self.checkpoint(verifier, origin)
        if counts is not None and counts.checkpoint_size > checkpoint.size:
            self.fail(
                f"the counts are for a log of {counts.checkpoint_size} statements, but the "
                f"latest checkpoint has only {checkpoint.size} (if a cache served an old "
                "checkpoint, run the audit again)"
            )
            counts = None
        elif counts is not None and counts.checkpoint_size < checkpoint.size:
            self.report.notes.append(
                f"the log grew to {checkpoint.size} during the audit; the counts were "
                f"published for {counts.checkpoint_size} and are compared at that size"
            )
        if old is not None:
            old = self.consistency(old, checkpoint)
        recount = self.leaves(
            checkpoint,
            counts_size=counts.checkpoint_size if counts is not None else None,
            old=old,
        )
        if counts is not None:
            self.compare_counts(counts, recount)
        self.key_log(verifier)

    def key_log(self, verifier: str) -> None:
        """The authorities' key log: keys changed without their authority fail the audit,
        signed rotations during this initiative's collection are flagged in the notes."""
        result = audit_key_log(self.api, verifier, self.fetch, previous=self.previous_key_log)
        self.report.key_log_checkpoint = result.checkpoint
        self.report.findings.extend(f"key log: {finding}" for finding in result.findings)
        self.report.notes.extend(f"key log: {note}" for note in result.notes)
        if result.size is None:
            return
        info = self.get_json(self.initiative, "the initiative")
        start = info.get("collection_start") if info else None
        if not isinstance(start, str):
            return
        end = info.get("collection_end") if info else None
        scheme_code = info.get("scheme") if info else None
        for member_state, moment in key_changes_between(
            result,
            scheme_code if isinstance(scheme_code, str) else "eci",
            start,
            end if isinstance(end, str) else "9999-12-31",
        ):
            self.report.notes.append(
                f"FLAG: the key of {member_state}'s authority changed during the collection, "
                f"on {moment} (a rotation signed with the previous key): statements before "
                "it are sealed to the earlier key"
            )

    def key(self, pinned: str | None) -> tuple[str, str]:
        if pinned is not None:
            verifier = pinned.strip()
            try:
                name, _ = signed_note.parse_verifier_key(verifier)
            except NoteError as exc:
                raise self.stop(f"the log key given is not a valid verifier key: {exc}") from None
        else:
            text = self.get_text(f"{self.api}/log-key", "the log key")
            if text is None:
                raise _Stop()
            verifier = text.strip()
            try:
                name, _ = signed_note.parse_verifier_key(verifier)
            except NoteError as exc:
                raise self.stop(f"the published log key is malformed: {exc}") from None
            self.report.notes.append(
                f"log key {verifier} was taken from the site, not pinned: pass the key you "
                "trust (--log-key) so that a site replacing its key is caught"
            )
        self.report.log_key = verifier
        return verifier, name

    def previous_checkpoint(self, note: str, verifier: str, origin: str) -> Checkpoint | None:
        try:
            text = signed_note.verify_note(note, verifier)
        except NoteError as exc:
            self.fail(f"the previous checkpoint is not signed by this log key: {exc}")
            return None
        try:
            old = signed_note.parse_checkpoint(text)
        except NoteError as exc:
            self.fail(f"the previous checkpoint is malformed: {exc}")
            return None
        if old.origin != origin:
            self.fail(f"the previous checkpoint is for log {old.origin!r}, not {origin!r}")
            return None
        return old

    def checkpoint(self, verifier: str, origin: str) -> Checkpoint:
        note = self.get_text(f"{self.initiative}/checkpoint", "the checkpoint")
        if note is None:
            raise _Stop()
        verified = True
        try:
            text = signed_note.verify_note(note, verifier)
        except NoteError as exc:
            verified = False
            self.fail(f"checkpoint signature does not verify: {exc}")
            # Read it unverified all the same, so the rest of the report can say more.
            split = note.rfind("\n\n")
            text = note[: split + 1] if split >= 0 else note
        try:
            checkpoint = signed_note.parse_checkpoint(text)
        except NoteError as exc:
            raise self.stop(f"the checkpoint is malformed: {exc}") from None
        if checkpoint.origin != origin:
            verified = False
            self.fail(f"the checkpoint is for log {checkpoint.origin!r}, not {origin!r}")
        if verified:
            self.report.checkpoint = note
        self.report.size = checkpoint.size
        self.report.root = checkpoint.root
        return checkpoint

    def published_counts(self) -> _PublishedCounts | None:
        body = self.get_json(f"{self.initiative}/counts", "the counts")
        if body is None:
            return None
        try:
            return _parse_counts(body)
        except ValueError as exc:
            self.fail(f"the answer for the counts is malformed: {exc}")
            return None

    def published_series(self) -> deque[_SeriesPoint]:
        """The series to check, in size order (empty when none was asked for)."""
        if self.series_interval is not None:
            query = urllib.parse.urlencode({"interval": self.series_interval})
            body = self.get_json(f"{self.initiative}/series?{query}", "the series")
            what = "the answer for the series"
        elif self.series_text is not None:
            body = self.series_document(self.series_text)
            what = "the series"
        else:
            return deque()
        self.report.series_points = 0
        if body is None:
            return deque()
        try:
            points = _parse_series(body)
        except ValueError as exc:
            self.fail(f"{what} is malformed: {exc}")
            return deque()
        return deque(sorted(self.series_in_order(points), key=lambda point: point.size))

    def series_document(self, text: str | bytes) -> dict[str, Any] | None:
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            self.fail("the series is not valid JSON (download it as JSON, without format=csv)")
            return None
        if not isinstance(value, dict):
            self.fail("the series is malformed: a JSON object was expected")
            return None
        return value

    def series_in_order(self, points: list[_SeriesPoint | str]) -> list[_SeriesPoint]:
        """Findings for malformed points and points out of order; the points to check."""
        good: list[_SeriesPoint] = []
        for point in points:
            if isinstance(point, str):
                self.fail(point)
                continue
            before = good[-1] if good else None
            if before is not None and not (point.size > before.size and point.at > before.at):
                self.fail(
                    f"{point.label}: out of order, not after series point {before.number} "
                    f"(size {before.size} at {before.at}) in both size and time"
                )
            good.append(point)
        return good

    def check_series(self, builder: merkle.RootBuilder, counts: _Recount) -> None:
        """Check the points at the size the leaves have reached, against that prefix."""
        while self.series and self.series[0].size <= builder.size:
            point = self.series.popleft()
            self.report.series_points = (self.report.series_points or 0) + 1
            root = builder.root()
            if point.root != root:
                self.fail(
                    f"{point.label}: root {point.root.hex()} is not the root {root.hex()} of "
                    f"the log's first {point.size} leaves"
                )
            recount = {code: n for code, n in counts.by_member_state.items() if n}
            for code in sorted(set(point.by_member_state) | set(recount)):
                self.series_count(point, code, point.by_member_state.get(code), recount.get(code))
            partners = counts.partners
            for code in sorted(set(point.by_partner) | set(partners)):
                self.series_count(
                    point, f"partner {code}", point.by_partner.get(code), partners.get(code)
                )

    def series_count(
        self, point: _SeriesPoint, what: str, published: int | None, counted: int | None
    ) -> None:
        if (published or 0) != (counted or 0):
            shown = "nothing" if published is None else published
            self.fail(
                f"{point.label}: count for {what}: published {shown}, recomputed {counted or 0}"
            )

    def series_beyond(self, checkpoint: Checkpoint, leaves: int) -> None:
        """The points the leaves never reached."""
        for point in self.series:
            if point.size > checkpoint.size:
                self.fail(
                    f"{point.label}: size {point.size} is beyond the checkpoint's "
                    f"{checkpoint.size} (download the series before the audit, not after)"
                )
            else:
                self.fail(f"{point.label}: not checked, the site published only {leaves} leaves")
        self.series.clear()

    def consistency(self, old: Checkpoint, new: Checkpoint) -> Checkpoint | None:
        """Check ``old`` is a prefix of ``new`` by proof; return it if the leaves should too."""
        problem = "not consistent with the previous checkpoint"
        if old.size > new.size:
            self.fail(f"{problem}: the log shrank from {old.size} to {new.size} statements")
            return None
        if old.size == new.size:
            if old.root != new.root:
                self.fail(f"{problem}: both have {new.size} statements but different roots")
            return old
        query = urllib.parse.urlencode({"from": old.size, "to": new.size})
        what = f"the consistency proof from {old.size} to {new.size}"
        body = self.get_json(f"{self.initiative}/proof/consistency?{query}", what)
        if body is None:
            return old
        path = body.get("path")
        if not isinstance(path, list) or not all(
            isinstance(h, str) and _HEX32.fullmatch(h) for h in path
        ):
            self.fail(
                f"the answer for {what} is malformed: 'path' must be a list of 64-digit hex hashes"
            )
            return old
        proof = [bytes.fromhex(h) for h in path]
        if not merkle.verify_consistency(old.size, new.size, old.root, new.root, proof):
            self.fail(
                f"{problem} (size {old.size}): the consistency proof to size {new.size} "
                "does not verify"
            )
        return old

    def leaves(
        self, checkpoint: Checkpoint, *, counts_size: int | None, old: Checkpoint | None
    ) -> _Recount:
        """Stream every leaf; check each, rebuild the root, recount. Returns the counts at
        ``counts_size`` (the whole log's counts go to the report)."""
        size = checkpoint.size
        builder = merkle.RootBuilder()
        counts = _Recount()
        prefix_counts = _Recount()
        old_root: bytes | None = merkle.EMPTY_ROOT if old is not None and old.size == 0 else None
        expected = 0  # the next leaf index due
        cursor = 0
        while cursor < size:
            end = min(cursor + PAGE_SIZE, size)
            query = urllib.parse.urlencode({"start": cursor, "end": end})
            what = f"leaves {cursor} to {end - 1}"
            body = self.get_json(f"{self.initiative}/leaves?{query}", what)
            if body is None:
                raise _Stop()
            page = body.get("leaves")
            if not isinstance(page, list):
                raise self.stop(f"the answer for {what} is malformed: 'leaves' must be a list")
            for item in page:
                index = item.get("index") if isinstance(item, dict) else None
                if type(index) is not int:
                    self.leaf_problem(f"{what}: an entry has no valid index")
                    continue
                if index < expected:
                    self.leaf_problem(f"leaf {index} is published twice or out of order")
                    continue
                if index >= end:
                    self.leaf_problem(f"leaf {index} was published outside the range asked for")
                    continue
                if index > expected:
                    self.leaf_problem(_missing(expected, index - 1))
                if old is not None and old_root is None and index >= old.size:
                    old_root = builder.root()
                self.check_series(builder, counts)
                member_state, partner, digest = self.leaf(index, item)
                builder.add(digest)
                if member_state is not None:
                    counts.add(member_state, partner)
                    if counts_size is not None and index < counts_size:
                        prefix_counts.add(member_state, partner)
                expected = index + 1
                self.report.leaves_checked += 1
            if expected <= cursor:
                self.leaf_problem(
                    f"{_missing(cursor, size - 1)}: the site publishes no leaves from index "
                    f"{cursor} on, though the checkpoint has {size}"
                )
                break
            cursor = expected
            if self.progress is not None:
                self.progress(cursor, size)
        if old is not None and old_root is None:
            old_root = builder.root()
        self.check_series(builder, counts)
        self.series_beyond(checkpoint, builder.size)
        self.report.counts = dict(sorted(counts.by_member_state.items()))
        self.report.partner_counts = counts.partners
        self.report.without_partner = counts.without_partner
        recomputed = builder.root()
        if builder.size != size or recomputed != checkpoint.root:
            self.fail(
                f"root mismatch: the checkpoint's root {checkpoint.root.hex()} for {size} "
                f"statements is not the root {recomputed.hex()} of the {builder.size} leaves "
                "published"
            )
        elif old is not None and old_root != old.root:
            # Only news when the root checked out (else the leaves are already known bad).
            self.fail(
                f"not consistent with the previous checkpoint (size {old.size}): the "
                "published leaves do not reproduce its root"
            )
        return prefix_counts if counts_size is not None and counts_size < size else counts

    def leaf(self, index: int, item: dict[str, Any]) -> tuple[str | None, str, bytes]:
        """Recompute one leaf hash; ``(member state, partner code, hash that goes into the
        root)``, the member state None for a malformed leaf (counted nowhere)."""
        member_state = item.get("member_state")
        # A site from before partners publishes no "partner": its leaves are all v1.
        partner = item.get("partner", "")
        received_at = item.get("received_at")
        ciphertext = item.get("ciphertext_sha256")
        published = item.get("leaf_hash")
        published_hash = (
            bytes.fromhex(published)
            if isinstance(published, str) and _HEX32.fullmatch(published)
            else None
        )
        problem = None
        if not isinstance(member_state, str) or not member_state:
            problem = "no member_state"
        elif not isinstance(received_at, str) or not _RECEIVED_AT.fullmatch(received_at):
            problem = "received_at is not YYYY-MM-DDTHH:MM:SSZ"
        elif not isinstance(ciphertext, str) or not _HEX32.fullmatch(ciphertext):
            problem = "ciphertext_sha256 is not 64 lowercase hex digits"
        elif published_hash is None:
            problem = "leaf_hash is not 64 lowercase hex digits"
        elif not isinstance(partner, str) or not _is_partner_code(partner):
            problem = "partner is not a code without spaces or control characters"
        else:
            try:
                digest = statement_leaf_hash(
                    initiative=self.slug,
                    member_state=member_state,
                    received_at=received_at,
                    ciphertext_sha256=bytes.fromhex(ciphertext),
                    partner=partner,
                )
            except ValueError as exc:
                problem = str(exc)
        if problem is not None:
            self.leaf_problem(f"leaf {index}: malformed data ({problem})")
            # Keep the leaf's place in the tree so one bad leaf does not shift all others.
            return None, "", published_hash or bytes(merkle.HASH_LENGTH)
        if digest != published_hash:
            self.leaf_problem(f"leaf {index}: published leaf hash does not match its data")
        return member_state, partner, digest

    def compare_counts(self, published: _PublishedCounts, counted: _Recount) -> None:
        recount = counted.by_member_state
        total = sum(recount.values())
        if published.total != published.checkpoint_size:
            self.fail(
                f"the counts say total {published.total} for a log of "
                f"{published.checkpoint_size} statements"
            )
        if published.total != total:
            self.fail(f"total count: published {published.total}, recomputed {total}")
        for code in sorted(set(published.by_member_state) | set(recount)):
            count = published.by_member_state.get(code, (0, 0, False))[0]
            if count != recount.get(code, 0):
                shown = count if code in published.by_member_state else "nothing"
                self.fail(f"count for {code}: published {shown}, recomputed {recount[code]}")
        reached = 0
        for code, (_count, threshold, is_reached) in sorted(published.by_member_state.items()):
            reached += is_reached
            if threshold > 0 and is_reached != (recount.get(code, 0) >= threshold):
                self.fail(
                    f"{code} is published as {'' if is_reached else 'not '}reaching its "
                    f"threshold of {threshold}, with {recount.get(code, 0)} statements recounted"
                )
        if published.states_reached != reached:
            self.fail(
                f"the counts say {published.states_reached} Member States reached their "
                f"threshold, but mark {reached}"
            )
        self.compare_partner_counts(published, counted)

    def compare_partner_counts(self, published: _PublishedCounts, counted: _Recount) -> None:
        recount = counted.partners
        for code in sorted(set(published.by_partner) | set(recount)):
            count = published.by_partner.get(code)
            if count != recount.get(code, 0):
                shown = "nothing" if count is None else count
                self.fail(
                    f"count for partner {code}: published {shown}, "
                    f"recomputed {recount.get(code, 0)}"
                )
        without = published.without_partner
        if without is not None and without != counted.without_partner:
            self.fail(
                f"count without a partner: published {without}, "
                f"recomputed {counted.without_partner}"
            )


def _missing(first: int, last: int) -> str:
    if first == last:
        return f"leaf {first} is missing from the published leaves"
    return f"leaves {first} to {last} are missing from the published leaves"


def _is_partner_code(text: str) -> bool:
    """An empty string (no partner) or one token: no space, newline or other control
    character, which would make the leaf's line ambiguous or the findings unreadable."""
    return all(ch.isprintable() and not ch.isspace() for ch in text)


def _count(value: object, what: str) -> int:
    if type(value) is not int or value < 0:
        raise ValueError(f"{what} must be a non-negative integer")
    return value


def _parse_counts(body: dict[str, Any]) -> _PublishedCounts:
    by_state = body.get("by_member_state")
    if not isinstance(by_state, dict):
        raise ValueError("'by_member_state' must be an object")
    rows: dict[str, tuple[int, int, bool]] = {}
    for code, row in by_state.items():
        if not isinstance(row, dict) or not isinstance(row.get("reached"), bool):
            raise ValueError(f"the entry for {code!r} must hold count, threshold and reached")
        rows[code] = (
            _count(row.get("count"), f"the count for {code}"),
            _count(row.get("threshold"), f"the threshold for {code}"),
            row["reached"],
        )
    # Both absent on a site from before coalition partners: nothing of them to compare.
    by_partner = body.get("by_partner", {})
    if not isinstance(by_partner, dict):
        raise ValueError("'by_partner' must be an object")
    for code in by_partner:
        if not code or not _is_partner_code(code):
            raise ValueError(f"'by_partner' has a key that is no partner code: {code!r}")
    without = body.get("without_partner")
    return _PublishedCounts(
        total=_count(body.get("total"), "'total'"),
        checkpoint_size=_count(body.get("checkpoint_size"), "'checkpoint_size'"),
        states_reached=_count(body.get("states_reached"), "'states_reached'"),
        by_member_state=rows,
        by_partner={
            code: _count(count, f"the count for partner {code}")
            for code, count in by_partner.items()
        },
        without_partner=None
        if "without_partner" not in body
        else _count(without, "'without_partner'"),
    )


def _series_time(value: object, what: str) -> str:
    if not isinstance(value, str) or not _RECEIVED_AT.fullmatch(value):
        raise ValueError(f"{what} is not YYYY-MM-DDTHH:MM:SSZ")
    return value


def _series_counts(value: object, what: str) -> dict[str, int]:
    if not isinstance(value, dict):
        raise ValueError(f"'{what}' must be an object")
    for code in value:
        if not code or not _is_partner_code(code):
            raise ValueError(f"'{what}' has a key that is no code: {code!r}")
    return {code: _count(n, f"the count for {code}") for code, n in value.items()}


def _parse_series_point(number: int, item: object, interval: str | None) -> _SeriesPoint:
    if not isinstance(item, dict):
        raise ValueError("a JSON object was expected")
    at = _series_time(item.get("at"), "at")
    root = item.get("root")
    if not isinstance(root, str) or not _HEX32.fullmatch(root):
        raise ValueError("root is not 64 lowercase hex digits")
    if "period" in item and interval is not None:
        period = _series_time(item.get("period"), "period")
        start = at[:10] + "T00:00:00Z" if interval == "day" else at[:13] + ":00:00Z"
        if period != start:
            raise ValueError(f"period {period} is not the {interval} of {at}")
    return _SeriesPoint(
        number=number,
        at=at,
        size=_count(item.get("size"), "size"),
        root=bytes.fromhex(root),
        by_member_state=_series_counts(item.get("by_member_state"), "by_member_state"),
        by_partner=_series_counts(item.get("by_partner", {}), "by_partner"),
    )


def _parse_series(body: dict[str, Any]) -> list[_SeriesPoint | str]:
    """Each point of a series document, or the finding that says why it is malformed;
    ValueError when the document itself is."""
    interval = body.get("interval")
    if interval is not None and interval not in SERIES_INTERVALS:
        raise ValueError("'interval' must be 'hour' or 'day'")
    points = body.get("points")
    if not isinstance(points, list):
        raise ValueError("'points' must be a list")
    parsed: list[_SeriesPoint | str] = []
    for number, item in enumerate(points, start=1):
        try:
            parsed.append(_parse_series_point(number, item, interval))
        except ValueError as exc:
            parsed.append(f"series point {number}: malformed ({exc})")
    return parsed
