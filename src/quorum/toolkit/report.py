"""Write a verification's results: ``report.json``, ``report.txt`` and ``certificate.json``.

None of them holds personal data: counts, reasons, leaf indices, public keys and hashes.
Files are written atomically (temporary file, fsync, rename) and never replace existing ones.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

__all__ = ["OUTPUT_FILES", "check_out_dir", "render_text", "write_outputs"]

OUTPUT_FILES = ("report.json", "report.txt", "certificate.json")


def check_out_dir(directory: Path) -> None:
    """Create ``directory`` (0700) if needed; refuse one that already holds a result."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    taken = [name for name in OUTPUT_FILES if (directory / name).exists()]
    if taken:
        raise FileExistsError(
            f"{directory} already holds {', '.join(taken)}; choose an empty directory"
        )
    if not os.access(directory, os.W_OK | os.X_OK):
        raise PermissionError(f"{directory} is not writable")


def write_outputs(
    directory: Path, report: dict[str, Any], certificate: dict[str, Any] | None
) -> list[Path]:
    written = [
        _write(directory / "report.json", _json(report)),
        _write(directory / "report.txt", render_text(report)),
    ]
    if certificate is not None:
        written.append(_write(directory / "certificate.json", _json(certificate)))
    return written


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def _write(target: Path, text: str) -> Path:
    temp = target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if target.exists():
            raise FileExistsError(f"{target} appeared while verifying; not replaced")
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    return target


def _n(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def render_text(report: dict[str, Any]) -> str:
    """The report for people: the same facts as ``report.json``."""
    lines = ["Quorum verification report", "=" * 26, ""]
    initiative = report.get("initiative") or {}
    checkpoint = report.get("checkpoint") or {}
    rows: list[tuple[str, str]] = [
        ("Verdict", str(report["verdict"]).upper()),
    ]
    if report.get("reason"):
        rows.append(("Reason", str(report["reason"])))
    rows += [
        (
            "Initiative",
            f"{initiative.get('slug', '—')} ({initiative.get('registration_number', '—')})",
        ),
        ("Title", str(initiative.get("title", "—"))),
        ("Registered", str(initiative.get("registration_date", "—"))),
        ("Member State", str(report.get("member_state") or "—")),
        (
            "Batch file",
            f"{report['batch']['file']} (created {report['batch']['created_at'] or '—'})",
        ),
        ("Batch SHA-256", str(report["batch"]["sha256"] or "—")),
        ("Log key", str(report.get("log_key") or "—")),
        (
            "Log key pinned",
            "yes" if report.get("log_key_pinned") else "NO (not checked against a pinned key)",
        ),
        ("Checkpoint origin", str(checkpoint.get("origin", "—"))),
        ("Checkpoint size", _n(checkpoint.get("size"))),
        ("Checkpoint root", str(checkpoint.get("root", "—"))),
        ("Leaves read", _n(report.get("leaves_read"))),
    ]
    if report["verdict"] != "rejected":
        method = report.get("method")
        if method == "sample":
            method_text = f"random sample of {_n(report.get('sample_size'))} (seed {report.get('sample_seed')})"
        else:
            method_text = "every statement"
        register = report.get("population_register") or {}
        rows += [
            ("Statements in batch", _n(report.get("statements_in_batch"))),
            ("Method", method_text),
            ("Statements checked", _n(report.get("statements_checked"))),
            ("Valid among checked", _n(report.get("valid_in_checked"))),
            (
                "Valid (certified)",
                _n(report.get("valid_statements"))
                + (" (extrapolated, rounded down)" if method == "sample" else ""),
            ),
            ("Age not checkable", _n(report.get("age_not_checkable"))),
            (
                "Population register",
                f"used, {_n(register.get('rows'))} rows" if register.get("used") else "not used",
            ),
        ]
    rows.append(("Date", str(report.get("date"))))
    if report.get("destroy_copies_by"):
        rows.append(("Destroy copies by", str(report["destroy_copies_by"])))
    width = max(len(label) for label, _ in rows) + 2
    lines += [f"{label + ':':<{width}}{value}" for label, value in rows]
    by_reason = report.get("invalid_by_reason")
    if by_reason is not None:
        lines += ["", "Invalid statements by reason:"]
        total = 0
        for reason, count in by_reason.items():
            lines.append(f"  {count:>10,}  {reason}")
            total += count
        lines.append(f"  {total:>10,}  in total")
        invalid = report.get("invalid") or []
        lines += ["", "Invalid statements by leaf index:"]
        if not invalid:
            lines.append("  none")
        for item in invalid:
            detail = f": {item['detail']}" if item.get("detail") else ""
            lines.append(f"  {item['leaf_index']:>10}  {item['reason']}{detail}")
    lines.append("")
    return "\n".join(lines)
