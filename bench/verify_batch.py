"""Benchmark `quorum-authority verify` on a generated batch with real sealing.

    .venv/bin/python bench/verify_batch.py                   # 100,000 statements of PL
    .venv/bin/python bench/verify_batch.py --count 1000000   # the one-million figure
    .venv/bin/python bench/verify_batch.py --count 200000 --others 300000 --jobs 2

Generates, in a temporary directory: an authority key file, a log key, N statements of one
Member State (Part B, valid PESEL numbers; ~1 % under age, ~1 % duplicates) sealed to the
authority's key exactly as the platform does, optionally leaves of other Member States,
and a signed checkpoint. Generation is parallel but not timed. Then runs the real
`verify` command once and prints statements per second and the time extrapolated to
1,000,000 statements.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import multiprocessing
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from quorum.proofs.batch import BatchEntry, BatchHeader, BatchInitiative, entry_line, header_line
from quorum.proofs.crypto import (
    encode_key,
    generate_authority_keys,
    generate_signing_key,
    seal,
    write_key_file,
)
from quorum.proofs.leaves import statement_leaf_hash
from quorum.proofs.merkle import RootBuilder
from quorum.proofs.signed_note import format_checkpoint, sign_note, verifier_key

SLUG = "bench-initiative"
REGISTRATION_NUMBER = "ECI(2025)000001"
LOG_NAME = "bench.quorum.example"
PASSPHRASE = b"bench passphrase"
OTHER_STATES = ("DE", "FR", "IT", "ES", "NL")
FIRST = ("Anna", "Jan", "Zofia", "Piotr", "Maria", "Krzysztof", "Ewa", "Tomasz", "Agnieszka")
FAMILY = ("Nowak", "Kowalski", "Wiśniewska", "Wójcik", "Kamińska", "Lewandowski", "Zieliński")


def pesel(born: date, serial: int) -> str:
    month = born.month + {18: 80, 19: 0, 20: 20, 21: 40, 22: 60}[born.year // 100]
    body = f"{born.year % 100:02d}{month:02d}{born.day:02d}{serial % 10000:04d}"
    weights = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)
    check = (10 - sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 10) % 10
    return body + str(check)


def birth_date(index: int) -> date:
    if index % 100 == 37:
        return date(2012, 5, 5)  # under age
    return date(1940, 1, 1) + timedelta(days=random.Random(index).randrange(60 * 365))


def plaintext(index: int, rng: random.Random) -> bytes:
    """Canonical JSON padded to 256 bytes, the platform's statement plaintext."""
    person = index - 1 if index % 100 == 72 else index  # 1 % duplicates of the one before
    number = pesel(birth_date(person), person)
    content = {
        "fields": {
            "family_names": rng.choice(FAMILY),
            "first_names": rng.choice(FIRST),
            "id_number": number,
            "id_type": "pesel",
        },
        "initiative": {"registration_number": REGISTRATION_NUMBER, "slug": SLUG},
        "language": "pl",
        "nationality": "PL",
        "received_at": received_at(index),
        "scheme": "eci",
        "signed_on": "2025-03-01",
        "v": 1,
    }
    body = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return body + b" " * (-len(body) % 256)


def received_at(index: int) -> str:
    moment = 1_740_819_600 + index // 50  # 2025-03-01T09:00:00Z, 50 a second
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


def make_chunk(args: tuple[int, int, bytes, str, int, int]) -> tuple[str, list[bytes]]:
    """Lines and leaf hashes for leaves [start, end) (own or other Member State)."""
    start, end, sealing_key, member_state, others, total = args
    rng = random.Random(start)
    out = io.StringIO()
    leaves = []
    for index in range(start, end):
        # exactly `others` leaves of other states, spread evenly
        own = (index + 1) * others // total == index * others // total
        ms = member_state if own else OTHER_STATES[index % len(OTHER_STATES)]
        if own:
            ciphertext = seal(sealing_key, plaintext(index, rng))
            digest = hashlib.sha256(ciphertext).digest()
        else:
            ciphertext, digest = None, hashlib.sha256(index.to_bytes(8, "big")).digest()
        t = received_at(index)
        leaves.append(
            statement_leaf_hash(
                initiative=SLUG, member_state=ms, received_at=t, ciphertext_sha256=digest
            )
        )
        out.write(
            entry_line(
                BatchEntry(index, ms, t, digest, ciphertext, 1 if own else None),
                own_member_state=member_state,
            )
        )
    return out.getvalue(), leaves


def generate(directory: Path, count: int, others: int, member_state: str) -> tuple[Path, Path, str]:
    keys = generate_authority_keys()
    key_file = directory / f"{member_state}.key"
    write_key_file(key_file, keys, PASSPHRASE, strength="interactive")
    (directory / "passphrase").write_bytes(PASSPHRASE)
    seed, public = generate_signing_key()
    total = count + others
    chunk = 5000
    tasks = [
        (start, min(start + chunk, total), keys.sealing_public_key, member_state, others, total)
        for start in range(0, total, chunk)
    ]
    builder = RootBuilder()
    entries_path = directory / "entries.part"
    started = time.perf_counter()
    with (
        entries_path.open("w", encoding="utf-8") as out,
        multiprocessing.get_context("spawn").Pool() as pool,
    ):
        for number, (text, leaves) in enumerate(pool.imap(make_chunk, tasks), 1):
            out.write(text)
            builder.extend(leaves)
            if number % 20 == 0 or number == len(tasks):
                print(
                    f"  generated {builder.size:,} / {total:,} leaves", file=sys.stderr, flush=True
                )
    print(f"generation took {time.perf_counter() - started:.1f} s", file=sys.stderr)
    note = sign_note(
        format_checkpoint(f"{LOG_NAME}/{SLUG}", builder.size, builder.root()), LOG_NAME, seed
    )
    verifier = verifier_key(LOG_NAME, public)
    header = BatchHeader(
        scheme="eci",
        initiative=BatchInitiative(
            slug=SLUG,
            registration_number=REGISTRATION_NUMBER,
            registration_date="2025-01-15",
            title="Benchmark initiative",
        ),
        member_state=member_state,
        log_key=verifier,
        checkpoint=note,
        tree_size=builder.size,
        created_at="2025-06-01T12:00:00Z",
        sealing_keys={1: encode_key(keys.sealing_public_key)},
    )
    batch = directory / "batch.jsonl"
    with batch.open("w", encoding="utf-8") as out, entries_path.open(encoding="utf-8") as entries:
        out.write(header_line(header))
        shutil.copyfileobj(entries, out, 1 << 20)
    entries_path.unlink()
    return batch, key_file, verifier


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=100_000, help="statements of the Member State")
    parser.add_argument("--others", type=int, default=0, help="leaves of other Member States")
    parser.add_argument("--member-state", default="PL")
    parser.add_argument("--jobs", type=int, default=None, help="verify's --jobs (default: CPUs)")
    parser.add_argument("--sample", type=int, default=None)
    parser.add_argument("--keep", type=Path, help="keep the batch and outputs in this directory")
    args = parser.parse_args()
    if args.member_state != "PL":
        parser.error("the generator makes PESEL numbers: only PL is supported")

    from quorum.toolkit.cli import main as toolkit

    with contextlib.ExitStack() as stack:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            directory = args.keep
        else:
            directory = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="quorum-bench-"))
            )
        batch, key_file, verifier = generate(directory, args.count, args.others, args.member_state)
        size = batch.stat().st_size
        out = directory / f"out-{int(time.time())}"
        command = [
            "verify", str(batch), "--key", str(key_file),
            "--passphrase-file", str(directory / "passphrase"), "--out", str(out),
            "--log-key", verifier, "--on", "2025-06-30",
        ]  # fmt: skip
        if args.jobs:
            command += ["--jobs", str(args.jobs)]
        if args.sample:
            command += ["--sample", str(args.sample), "--seed", "1"]
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            code = toolkit(command)
        elapsed = time.perf_counter() - started
        if code != 0:
            print(f"verify exited {code}", file=sys.stderr)
            return code
        report = json.loads((out / "report.json").read_text())
        checked = report["statements_checked"]
        leaves = report["leaves_read"]
        jobs = args.jobs or len(os.sched_getaffinity(0))
        print()
        print(f"batch: {leaves:,} leaves, {report['statements_in_batch']:,} statements of "
              f"{args.member_state}, {size / 1e6:,.0f} MB")  # fmt: skip
        print(f"verify: {elapsed:,.1f} s with {jobs} job(s), {os.cpu_count()} CPUs")
        print(
            f"  {checked / elapsed:,.0f} statements/s opened and checked; {leaves / elapsed:,.0f} leaves/s"
        )
        print(f"  valid {report['valid_statements']:,}; invalid by reason: "
              f"{ {k: v for k, v in report['invalid_by_reason'].items() if v} }")  # fmt: skip
        per_million = elapsed * 1_000_000 / max(1, checked)
        print(
            f"  extrapolated to 1,000,000 statements: {per_million:,.0f} s ({per_million / 60:,.1f} min)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
