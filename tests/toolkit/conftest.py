"""Batches built in the test with real keys: sealed statements, leaves, a signed checkpoint.

Pure: no database. The plaintext is made by the platform's own ``signing.content`` so that
the toolkit is shown to read exactly what the platform seals.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from quorum.proofs.batch import (
    BatchEntry,
    BatchHeader,
    BatchInitiative,
    entry_line,
    header_line,
    write_batch,
)
from quorum.proofs.crypto import (
    AuthorityKeys,
    encode_key,
    generate_authority_keys,
    generate_signing_key,
    seal,
    signing_public_key,
    write_key_file,
)
from quorum.proofs.leaves import statement_leaf_hash
from quorum.proofs.merkle import root_from_leaves
from quorum.proofs.signed_note import format_checkpoint, sign_note, verifier_key
from quorum.signing.content import StatementContent, statement_plaintext
from quorum.toolkit.cli import main

SLUG = "clean-air"
REGISTRATION_NUMBER = "ECI(2025)000007"
LOG_NAME = "quorum.test"
PASSPHRASE = b"correct horse battery staple"
STATES = ("PL", "DE", "FR", "ES")
ON = "2025-06-30"


def pesel(born: date, serial: int = 123) -> str:
    """A valid PESEL for ``born`` (serial's last digit: even = female, odd = male)."""
    month = born.month + {18: 80, 19: 0, 20: 20, 21: 40, 22: 60}[born.year // 100]
    body = f"{born.year % 100:02d}{month:02d}{born.day:02d}{serial:04d}"
    weights = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)
    check = (10 - sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 10) % 10
    return body + str(check)


@dataclass
class Stmt:
    """One statement to put into a batch; by default a valid one of ``ms``."""

    ms: str
    fields: dict[str, str]
    signed_on: str = "2025-03-01"
    received_at: str = "2025-03-01T10:00:00Z"
    seal_to: str | None = None  # whose key seals it (default: ms)
    nationality: str | None = None  # what the plaintext says (default: ms)
    slug: str = SLUG
    plaintext: bytes | None = None  # raw override
    key_number: int = 1  # the key the batch says it is sealed to
    partner: str = ""  # the coalition partner it was signed through (a v2 leaf), or none


def part_b(first: str, family: str, number: str, *, id_type: str = "pesel", **kw: Any) -> Stmt:
    fields = {"first_names": first, "family_names": family, "id_type": id_type, "id_number": number}
    return Stmt(kw.pop("ms", "PL"), fields, **kw)


def part_a(first: str, family: str, born: str, **kw: Any) -> Stmt:
    fields = {
        "first_names": first,
        "family_names": family,
        "date_of_birth": born,
        "residence.street": "Hauptstraße 1",
        "residence.postal_code": "10115",
        "residence.city": "Berlin",
        "residence.country": "Deutschland",
    }
    return Stmt(kw.pop("ms", "DE"), fields, **kw)


def report_of(out_dir: Path) -> dict[str, Any]:
    return json.loads((out_dir / "report.json").read_text(encoding="utf-8"))


@dataclass
class World:
    keys: dict[str, AuthorityKeys]
    key_files: dict[str, Path]
    log_seed: bytes
    log_public: bytes
    root: Path
    other_log_seed: bytes = field(default=b"")

    # helpers, reachable from the tests (which cannot import this module)
    part_a = staticmethod(part_a)
    part_b = staticmethod(part_b)
    pesel = staticmethod(pesel)
    report_of = staticmethod(report_of)

    @property
    def log_verifier(self) -> str:
        return verifier_key(LOG_NAME, self.log_public)

    def plaintext(self, s: Stmt) -> bytes:
        if s.plaintext is not None:
            return s.plaintext
        return statement_plaintext(
            StatementContent(
                scheme="eci",
                initiative_slug=s.slug,
                registration_number=REGISTRATION_NUMBER,
                nationality=s.nationality or s.ms,
                signed_on=s.signed_on,
                received_at=s.received_at,
                language="en",
                fields=s.fields,
            )
        )

    def lines(
        self,
        member_state: str,
        statements: list[Stmt],
        *,
        log_seed: bytes | None = None,
        log_name: str = LOG_NAME,
        origin: str | None = None,
        size: int | None = None,
        header_log_key: str | None = None,
        sealing_keys: dict[int, str] | None = None,
    ) -> list[str]:
        """The batch's lines (each ending in a newline), before any tampering."""
        seed = log_seed or self.log_seed
        entries, leaves = [], []
        for index, s in enumerate(statements):
            ciphertext = seal(self.keys[s.seal_to or s.ms].sealing_public_key, self.plaintext(s))
            digest = hashlib.sha256(ciphertext).digest()
            leaves.append(
                statement_leaf_hash(
                    initiative=SLUG,
                    member_state=s.ms,
                    received_at=s.received_at,
                    ciphertext_sha256=digest,
                    partner=s.partner,
                )
            )
            own = s.ms == member_state
            entries.append(
                BatchEntry(
                    index,
                    s.ms,
                    s.received_at,
                    digest,
                    ciphertext if own else None,
                    s.key_number if own else None,
                    s.partner,
                )
            )
        tree_size = len(statements) if size is None else size
        note = sign_note(
            format_checkpoint(origin or f"{log_name}/{SLUG}", tree_size, root_from_leaves(leaves)),
            log_name,
            seed,
        )
        header = BatchHeader(
            scheme="eci",
            initiative=BatchInitiative(
                slug=SLUG,
                registration_number=REGISTRATION_NUMBER,
                registration_date="2025-01-15",
                title="Clean air for everyone",
            ),
            member_state=member_state,
            log_key=header_log_key or verifier_key(log_name, signing_public_key(seed)),
            checkpoint=note,
            tree_size=tree_size,
            created_at="2025-06-01T12:00:00Z",
            sealing_keys=sealing_keys
            or {1: encode_key(self.keys[member_state].sealing_public_key)},
        )
        out = io.StringIO()
        if size is None:
            write_batch(out, header, entries)
        else:  # a deliberately inconsistent batch: bypass write_batch's count check
            out.write(header_line(header))
            for entry in entries:
                out.write(entry_line(entry, own_member_state=member_state))
        return out.getvalue().splitlines(keepends=True)

    def write(self, name: str, lines: list[str]) -> Path:
        path = self.root / name
        path.write_text("".join(lines), encoding="utf-8")
        return path

    def batch(
        self, member_state: str, statements: list[Stmt], name: str = "batch.jsonl", **kw: Any
    ) -> Path:
        return self.write(name, self.lines(member_state, statements, **kw))

    def verify(
        self,
        batch: Path,
        state: str = "PL",
        *extra: str,
        out: str = "out",
        pin: bool = True,
        key_state: str | None = None,
    ) -> tuple[int, Path]:
        out_dir = self.root / out
        args = [
            "verify",
            str(batch),
            "--key",
            str(self.key_files[key_state or state]),
            "--passphrase-file",
            str(self.root / "passphrase"),
            "--out",
            str(out_dir),
            "--on",
            ON,
            "--jobs",
            "1",
        ]
        if pin:
            args += ["--log-key", self.log_verifier]
        code = main([*args, *extra])
        return code, out_dir


@pytest.fixture(scope="session")
def session_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict, Path]:
    root = tmp_path_factory.mktemp("authority-keys")
    keys = {ms: generate_authority_keys() for ms in STATES}
    files = {}
    for ms, pair in keys.items():
        files[ms] = root / f"{ms}.key"
        write_key_file(files[ms], pair, PASSPHRASE, label=f"test {ms}", strength="interactive")
    return keys, files, root


@pytest.fixture
def world(session_keys: tuple[dict, dict, Path], tmp_path: Path) -> World:
    keys, files, _ = session_keys
    seed, public = generate_signing_key()
    other, _ = generate_signing_key()
    (tmp_path / "passphrase").write_bytes(PASSPHRASE + b"\n")
    return World(keys, files, seed, public, tmp_path, other)


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
