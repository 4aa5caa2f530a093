"""Audit the authorities' key log from the outside, as the statements' logs are audited.

``audit_key_log(api, verifier, fetch)`` reads only the public API:

1. the key log's checkpoint, signed by the log key, for the origin ``<key name>/authorities/keys``;
2. every leaf, recomputed into the root of that checkpoint;
3. every entry's key certificate and the chain of each authority's keys
   (``quorum.proofs.key_certificate.check_key_history``): a first key signed by itself, every
   later one by the key before it, no key ever coming back;
4. the keys that ``/authorities`` publishes as current — what statements are sealed to — must
   be the last key of each authority in the log.

A key swapped in the platform's database without the authority breaks 3 or 4. The result is
used by ``quorum audit`` and by the authority's ``quorum-authority check-key``.

Pure: the standard library and the pure formats — no Django, no settings, no database.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from quorum.proofs import merkle, signed_note
from quorum.proofs.key_certificate import KEY_LOG_PATH, KeyHistory, check_key_history
from quorum.proofs.signed_note import NoteError

__all__ = ["KeyLogAudit", "audit_key_log"]

PAGE_SIZE = 1000

Fetch = Callable[[str], bytes]


@dataclass
class KeyLogAudit:
    size: int | None = None
    #: the verified checkpoint note: save it, and give it as ``previous`` next time
    checkpoint: str | None = None
    history: KeyHistory = field(default_factory=KeyHistory)
    #: scheme → Member State → (sealing key, signing key) published as current
    published: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: the platform could not be reached (or answered an error): nothing could be checked
    unreachable: bool = False

    @property
    def ok(self) -> bool:
        return not self.findings and self.size is not None


class _Failed(Exception):
    pass


def _get(fetch: Fetch, url: str, what: str, audit: KeyLogAudit) -> bytes:
    try:
        return fetch(url)
    except Exception as exc:  # whatever the injected fetch raises is a finding
        audit.findings.append(f"could not fetch {what} ({url}): {str(exc) or type(exc).__name__}")
        audit.unreachable = True
        raise _Failed from exc


def _json(fetch: Fetch, url: str, what: str, audit: KeyLogAudit) -> dict[str, Any]:
    try:
        value = json.loads(_get(fetch, url, what, audit))
    except (ValueError, RecursionError) as exc:
        audit.findings.append(f"the answer for {what} is not valid JSON")
        raise _Failed from exc
    if not isinstance(value, dict):
        audit.findings.append(f"the answer for {what} is not a JSON object")
        raise _Failed
    return value


def audit_key_log(
    api: str,
    verifier: str,
    fetch: Fetch,
    *,
    schemes: tuple[str, ...] = ("eci",),
    previous: str | None = None,
) -> KeyLogAudit:
    """Audit the key log published under ``api`` (the site's ``…/api/v1``).

    ``previous``: a key-log checkpoint saved by an earlier audit; the log must have only grown.
    """
    audit = KeyLogAudit()
    try:
        _run(api.rstrip("/"), verifier, fetch, schemes, audit, previous)
    except _Failed:
        pass
    except Exception as exc:  # a hostile answer fails the audit, never crashes it
        audit.findings.append(f"the key log audit stopped on an unexpected error: {exc!r}")
    return audit


def _run(
    api: str,
    verifier: str,
    fetch: Fetch,
    schemes: tuple[str, ...],
    audit: KeyLogAudit,
    previous: str | None,
) -> None:
    name, _ = signed_note.parse_verifier_key(verifier)
    note = _get(fetch, f"{api}/authorities/log/checkpoint", "the key log's checkpoint", audit)
    try:
        text = signed_note.verify_note(note, verifier)
        checkpoint = signed_note.parse_checkpoint(text)
    except NoteError as exc:
        audit.findings.append(f"the key log's checkpoint does not verify: {exc}")
        return
    origin = f"{name}/{KEY_LOG_PATH}"
    if checkpoint.origin != origin:
        audit.findings.append(
            f"the key log's checkpoint is for {checkpoint.origin!r}, not {origin!r}"
        )
        return
    leaves: list[str] = []
    while len(leaves) < checkpoint.size:
        start = len(leaves)
        end = min(checkpoint.size, start + PAGE_SIZE)
        page = _json(
            fetch,
            f"{api}/authorities/log/leaves?start={start}&end={end}",
            "the key log's leaves",
            audit,
        )
        items = page.get("leaves")
        if not isinstance(items, list) or not items:
            audit.findings.append(f"the key log's leaves from {start} are missing")
            return
        for item in items:
            if (
                not isinstance(item, dict)
                or item.get("index") != len(leaves)
                or not isinstance(item.get("data"), str)
            ):
                audit.findings.append(f"key log leaf {len(leaves)} is missing or malformed")
                return
            leaves.append(item["data"])
    root = merkle.root_from_leaves(merkle.leaf_hash(data.encode("utf-8")) for data in leaves)
    if root != checkpoint.root:
        audit.findings.append(
            "the key log's leaves do not reproduce its checkpoint: an entry was altered, "
            "added or dropped"
        )
        return
    if previous is not None:
        _consistent(api, fetch, verifier, origin, previous, checkpoint, audit)
    audit.size = checkpoint.size
    audit.checkpoint = note.decode("utf-8")
    audit.history = check_key_history(leaves)
    audit.findings.extend(audit.history.problems)
    for scheme_code, member_state in audit.history.legacy:
        audit.notes.append(
            f"the first key of {scheme_code}:{member_state} was held before key certificates "
            "existed: no certificate shows that the authority made it"
        )
    for scheme_code in schemes:
        _compare_published(api, fetch, scheme_code, audit)


def _consistent(
    api: str,
    fetch: Fetch,
    verifier: str,
    origin: str,
    previous: str,
    new: signed_note.Checkpoint,
    audit: KeyLogAudit,
) -> None:
    """The previous key-log checkpoint must be a prefix of this one: no key was ever erased."""
    try:
        old = signed_note.open_checkpoint(previous, verifier, origin=origin)
    except NoteError as exc:
        audit.findings.append(f"the previous key-log checkpoint does not verify: {exc}")
        return
    if old.size > new.size:
        audit.findings.append(f"the key log shrank from {old.size} to {new.size} entries")
        return
    if old.size == new.size:
        if old.root != new.root:
            audit.findings.append("the key log was rewritten: same size, another root")
        return
    query = urllib.parse.urlencode({"from": old.size, "to": new.size})
    body = _json(
        fetch, f"{api}/authorities/log/proof/consistency?{query}", "a key-log proof", audit
    )
    path = body.get("path")
    try:
        proof = [bytes.fromhex(node) for node in path] if isinstance(path, list) else None
    except (TypeError, ValueError):
        proof = None
    if proof is None or not merkle.verify_consistency(
        old.size, new.size, old.root, new.root, proof
    ):
        audit.findings.append(
            f"the key log of {new.size} entries is not consistent with the one of {old.size} "
            "saved before: an entry was rewritten or erased"
        )


def _compare_published(api: str, fetch: Fetch, scheme_code: str, audit: KeyLogAudit) -> None:
    query = urllib.parse.urlencode({"scheme": scheme_code})
    body = _json(fetch, f"{api}/authorities?{query}", "the published authorities", audit)
    rows = body.get("authorities")
    if not isinstance(rows, list):
        audit.findings.append("the published authorities are malformed")
        return
    published: dict[str, tuple[str, str]] = {}
    for row in rows:
        if not isinstance(row, dict) or not isinstance(row.get("member_state"), str):
            audit.findings.append("a published authority is malformed")
            continue
        member_state, key = row["member_state"], row.get("key")
        logged = audit.history.current(scheme_code, member_state)
        if key is None:
            if logged is not None:
                audit.findings.append(
                    f"{scheme_code}:{member_state} publishes no key, but the key log holds one"
                )
            continue
        if not isinstance(key, dict):
            audit.findings.append(f"the published key of {scheme_code}:{member_state} is malformed")
            continue
        pair = (str(key.get("sealing_public_key")), str(key.get("signing_public_key")))
        published[member_state] = pair
        if logged is None:
            audit.findings.append(
                f"{scheme_code}:{member_state} publishes a key that is not in the key log"
            )
        elif pair != (logged.sealing_public_key, logged.signing_public_key):
            audit.findings.append(
                f"the key that {scheme_code}:{member_state} publishes as current is not the last "
                "one in the key log: statements may be sealed to a key the authority never made"
            )
    audit.published[scheme_code] = published


def key_changes_between(
    audit: KeyLogAudit, scheme_code: str, start: str, end: str
) -> list[tuple[str, str]]:
    """(Member State, moment) of each key registered between two days (inclusive), rotations only."""
    changes = []
    for (entry_scheme, member_state), entries in audit.history.keys.items():
        if entry_scheme != scheme_code:
            continue
        for entry in entries[1:]:
            if start <= entry.registered_at[:10] <= end:
                changes.append((member_state, entry.registered_at))
    return sorted(changes)
