"""How fast can an outsider audit a large log? The auditor's recompute path, in memory.

N synthetic leaves (default 200,000, three Member States) are generated deterministically;
no database, no Django, no network. Two figures:

  recompute — ``statement_leaf_hash`` for every leaf + the streaming ``RootBuilder``: the
              floor of any audit;
  audit     — the whole ``quorum.proofs.auditor.audit()`` against an in-memory site serving
              JSON pages of 1,000 leaves, a signed checkpoint and the counts; the time spent
              building the site's answers is measured and reported apart.

    .venv/bin/python bench/audit_large_log.py             # 200k leaves
    .venv/bin/python bench/audit_large_log.py -n 1000000
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import sys
import time
from collections import Counter
from urllib.parse import parse_qs, urlsplit

from quorum.proofs import auditor, merkle
from quorum.proofs.crypto import generate_signing_key
from quorum.proofs.leaves import statement_leaf_hash
from quorum.proofs.signed_note import format_checkpoint, sign_note, verifier_key

SLUG = "bench-initiative"
NAME = "bench.example"
BASE = "http://bench.invalid"
STATES = ("PL", "DE", "FR")
RECEIVED_AT = "2025-03-01T12:00:00Z"


def leaf_fields(index: int) -> tuple[str, str, bytes]:
    return STATES[index % 3], RECEIVED_AT, hashlib.sha256(index.to_bytes(8, "big")).digest()


def recompute(n: int) -> tuple[bytes, Counter[str], float]:
    counts: Counter[str] = Counter()
    builder = merkle.RootBuilder()
    started = time.perf_counter()
    for index in range(n):
        member_state, received_at, digest = leaf_fields(index)
        builder.add(
            statement_leaf_hash(
                initiative=SLUG,
                member_state=member_state,
                received_at=received_at,
                ciphertext_sha256=digest,
            )
        )
        counts[member_state] += 1
    root = builder.root()
    return root, counts, time.perf_counter() - started


class Site:
    """Answers the auditor's GETs from memory, as the public API would."""

    def __init__(self, n: int, root: bytes, counts: Counter[str]) -> None:
        seed, public = generate_signing_key()
        self.key = verifier_key(NAME, public)
        self.checkpoint = sign_note(format_checkpoint(f"{NAME}/{SLUG}", n, root), NAME, seed)
        self.counts = {
            "total": n,
            "checkpoint_size": n,
            "states_reached": 0,
            "by_member_state": {
                code: {"count": count, "threshold": 0, "reached": False}
                for code, count in counts.items()
            },
        }
        self.n = n
        self.seconds = 0.0  # spent building answers: the server's share, not the auditor's

    def __call__(self, url: str) -> bytes:
        started = time.perf_counter()
        try:
            return self.answer(url)
        finally:
            self.seconds += time.perf_counter() - started

    def answer(self, url: str) -> bytes:
        parts = urlsplit(url)
        if parts.path.endswith("/checkpoint"):
            return self.checkpoint.encode()
        if parts.path.endswith("/counts"):
            return json.dumps(self.counts).encode()
        if parts.path.endswith("/log-key"):
            return self.key.encode()
        query = parse_qs(parts.query)
        start, end = int(query["start"][0]), min(int(query["end"][0]), self.n)
        leaves = []
        for index in range(start, end):
            member_state, received_at, digest = leaf_fields(index)
            leaf = statement_leaf_hash(
                initiative=SLUG,
                member_state=member_state,
                received_at=received_at,
                ciphertext_sha256=digest,
            )
            leaves.append(
                {
                    "index": index,
                    "member_state": member_state,
                    "received_at": received_at,
                    "ciphertext_sha256": digest.hex(),
                    "leaf_hash": leaf.hex(),
                }
            )
        body = {"start": start, "end": end, "tree_size": self.n, "leaves": leaves}
        return json.dumps(body).encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=200_000, help="leaves (default 200,000)")
    args = parser.parse_args()
    n = args.n

    root, counts, seconds = recompute(n)
    print(f"recompute: {n:,} leaves in {seconds:.2f} s — {n / seconds:,.0f} leaves/s")

    site = Site(n, root, counts)
    started = time.perf_counter()
    report = auditor.audit(BASE, SLUG, log_key=site.key, fetch=site)
    total = time.perf_counter() - started
    own = total - site.seconds
    print(
        f"audit:     {n:,} leaves in {own:.2f} s of auditor time — {n / own:,.0f} leaves/s "
        f"(+{site.seconds:.2f} s building the site's answers)"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS:  {peak:.0f} MiB; verdict {report.verdict}")
    if not report.ok:
        print("\n".join(report.findings[:10]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
