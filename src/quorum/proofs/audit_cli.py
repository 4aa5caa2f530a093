"""`quorum audit URL SLUG`: the auditor's command line. Pure: no Django, no settings, no
database, no secret key — the `quorum` script runs it before Django is even configured.

Exit status 0 when everything checks out, 1 when the audit fails, 2 when it cannot run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import NoReturn, TextIO

from quorum.proofs import auditor

EXIT_OK, EXIT_FAILED, EXIT_ERROR = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="quorum audit",
        description="Audit an initiative's public log from outside, over HTTP: check the signed "
        "checkpoint, recompute every leaf, the root and the counts (per Member State and per "
        "coalition partner), the authorities' key log, "
        "(with --previous) that neither log was ever rewritten, and (with --series) a "
        "downloaded count over time. Exit status 0 when everything "
        "checks out, 1 otherwise.",
    )
    parser.add_argument("url", help="the site's address, e.g. https://quorum.example.eu")
    parser.add_argument("slug", help="the initiative's slug")
    parser.add_argument(
        "--log-key", help="the log's verifier key you trust (else the one the site publishes)"
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
    series = parser.add_mutually_exclusive_group()
    series.add_argument(
        "--series",
        type=Path,
        metavar="FILE",
        help="a count over time downloaded from /series (JSON): every point's root and "
        "counts are checked against the leaves at its size",
    )
    series.add_argument(
        "--series-from-site",
        nargs="?",
        const="day",
        choices=auditor.SERIES_INTERVALS,
        metavar="hour|day",
        help="fetch the count over time from the site (per day unless 'hour' is given) and "
        "check it the same way",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress, no notes")
    return parser


def run(argv: list[str], stdout: TextIO, stderr: TextIO) -> int:
    args = build_parser().parse_args(argv)
    previous_text = previous_keys = None
    if args.previous is not None:
        try:
            previous_text = args.previous.read_text(encoding="utf-8")
            keys_file = key_log_file(args.previous)
            if keys_file.exists():
                previous_keys = keys_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            print(f"quorum audit: cannot read {args.previous}: {exc}", file=stderr)
            return EXIT_ERROR
    series = None
    if args.series is not None:
        # What it holds is the audit's to judge (a malformed series fails it); only a file
        # that cannot be read at all stops the command.
        try:
            series = args.series.read_bytes()
        except OSError as exc:
            print(f"quorum audit: cannot read {args.series}: {exc}", file=stderr)
            return EXIT_ERROR
    shown = _ProgressLine(stderr) if not args.quiet else None
    report = auditor.audit(
        args.url,
        args.slug,
        log_key=args.log_key,
        previous=previous_text,
        fetch=auditor.http_fetch,
        progress=shown,
        previous_key_log=previous_keys,
        series=series,
        series_from_site=args.series_from_site,
    )
    if shown is not None and report.size is not None:
        shown.done(report.leaves_checked, report.size)
    if not args.quiet:
        for note in report.notes:
            print(f"note: {note}", file=stdout)
    for finding in report.findings:
        print(f"problem: {finding}", file=stdout)
    if not report.ok:
        if args.save is not None:
            print(f"{args.save} not written: the audit failed", file=stdout)
        print(
            f"verdict: FAILED — {len(report.findings)} problem(s) in the log of {args.slug}",
            file=stdout,
        )
        return EXIT_FAILED
    if args.save is not None:
        try:
            write_atomically(args.save, report.checkpoint or "")
            write_atomically(key_log_file(args.save), report.key_log_checkpoint or "")
        except OSError as exc:
            print(f"quorum audit: cannot write {args.save}: {exc}", file=stderr)
            return EXIT_ERROR
    counts = ", ".join(f"{code} {count}" for code, count in report.counts.items()) or "none"
    root = report.root.hex() if report.root is not None else ""
    if report.partner_counts:  # an initiative without coalition partners has no such line
        partners = ", ".join(f"{code} {count}" for code, count in report.partner_counts.items())
        print(f"partners: {partners}; without a partner: {report.without_partner}", file=stdout)
    if report.series_points is not None:
        print(
            f"series: {report.series_points} point(s), each the root and the counts of the "
            "log at its size",
            file=stdout,
        )
    print(
        f"verdict: ok — {args.slug}: {report.size} statements ({counts}), root {root}", file=stdout
    )
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    return run(sys.argv[1:] if argv is None else argv, sys.stdout, sys.stderr)


class _ProgressLine:
    """Progress on stderr: every 10,000 leaves, and once at the end."""

    EVERY = 10_000

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.shown = 0

    def __call__(self, done: int, total: int) -> None:
        if done // self.EVERY > self.shown // self.EVERY and done < total:
            print(f"leaves checked: {done:,} / {total:,}", file=self.stream)
            self.shown = done

    def done(self, done: int, total: int) -> None:
        print(f"leaves checked: {done:,} / {total:,}", file=self.stream)


def key_log_file(checkpoint_file: Path) -> Path:
    return checkpoint_file.with_name(checkpoint_file.name + ".key-log")


def write_atomically(path: Path, text: str) -> None:
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
