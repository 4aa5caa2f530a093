from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from quorum.ledger import auditor


class Command(BaseCommand):
    help = (
        "Audit an initiative's public log from outside, over HTTP: check the signed checkpoint, "
        "recompute every leaf, the root and the counts, and (with --previous) that the log was "
        "never rewritten. Exit status 0 when everything checks out, 1 otherwise."
    )
    requires_system_checks: list[str] = []  # an auditor needs no database

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("url", help="the site's address, e.g. https://quorum.example.eu")
        parser.add_argument("slug", help="the initiative's slug")
        parser.add_argument(
            "--log-key",
            help="the log's verifier key you trust (else the one the site publishes is used)",
        )
        parser.add_argument(
            "--previous",
            type=Path,
            help="a checkpoint saved by an earlier audit (--save): the log must have only grown "
            "since; the key log's checkpoint saved beside it (FILE.key-log) is checked too",
        )
        parser.add_argument(
            "--save",
            type=Path,
            help="after a passing audit, save the verified checkpoint here for the next run, "
            "and the key log's checkpoint in FILE.key-log",
        )
        parser.add_argument("--quiet", action="store_true", help="no progress, no notes")

    def handle(
        self,
        *args: Any,
        url: str,
        slug: str,
        log_key: str | None,
        previous: Path | None,
        save: Path | None,
        quiet: bool,
        **options: Any,
    ) -> None:
        previous_text = previous_keys = None
        if previous is not None:
            try:
                previous_text = previous.read_text(encoding="utf-8")
                keys_file = _key_log_file(previous)
                if keys_file.exists():
                    previous_keys = keys_file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise CommandError(f"cannot read {previous}: {exc}", returncode=2) from exc
        shown = _ProgressLine(self.stderr) if not quiet else None
        report = auditor.audit(
            url,
            slug,
            log_key=log_key,
            previous=previous_text,
            fetch=auditor.http_fetch,
            progress=shown,
            previous_key_log=previous_keys,
        )
        if shown is not None and report.size is not None:
            shown.done(report.leaves_checked, report.size)
        if not quiet:
            for note in report.notes:
                self.stdout.write(f"note: {note}")
        for finding in report.findings:
            self.stdout.write(f"problem: {finding}")
        if not report.ok:
            if save is not None:
                self.stdout.write(f"{save} not written: the audit failed")
            self.stdout.write(
                f"verdict: FAILED — {len(report.findings)} problem(s) in the log of {slug}",
                style_func=self.style.ERROR,
            )
            raise CommandError(f"the audit of {slug} failed", returncode=1)
        if save is not None:
            try:
                _write_atomically(save, report.checkpoint or "")
                _write_atomically(_key_log_file(save), report.key_log_checkpoint or "")
            except OSError as exc:
                raise CommandError(f"cannot write {save}: {exc}", returncode=2) from exc
        counts = ", ".join(f"{code} {count}" for code, count in report.counts.items()) or "none"
        root = report.root.hex() if report.root is not None else ""
        self.stdout.write(
            f"verdict: ok — {slug}: {report.size} statements ({counts}), root {root}",
            style_func=self.style.SUCCESS,
        )


class _ProgressLine:
    """Progress on stderr: every 10,000 leaves, and once at the end."""

    EVERY = 10_000

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.shown = 0

    def __call__(self, done: int, total: int) -> None:
        if done // self.EVERY > self.shown // self.EVERY and done < total:
            self.stream.write(f"leaves checked: {done:,} / {total:,}")
            self.shown = done

    def done(self, done: int, total: int) -> None:
        self.stream.write(f"leaves checked: {done:,} / {total:,}")


def _key_log_file(checkpoint_file: Path) -> Path:
    return checkpoint_file.with_name(checkpoint_file.name + ".key-log")


def _write_atomically(path: Path, text: str) -> None:
    """Write, fsync, rename: a crash leaves the old checkpoint or the new one, never half."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
