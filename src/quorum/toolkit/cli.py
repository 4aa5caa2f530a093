"""``quorum-authority``: the competent authority's offline toolkit.

    quorum-authority keygen --out KEYFILE [--passphrase-file F] [--format text|json]
                            [--label L] [--strength moderate|sensitive|interactive]
    quorum-authority verify BATCH --key KEYFILE --out DIR [--passphrase-file F] [--old-key K]
                            [--log-key KEY] [--sample N] [--seed S] [--register CSV]
                            [--on YYYY-MM-DD] [--jobs N]
    quorum-authority public-keys KEYFILE [--format text|json]
    quorum-authority check-certificate CERTIFICATE --signing-key KEY
    quorum-authority key-certificate --key KEYFILE --member-state MS --authority NAME
                            --out FILE [--scheme eci] [--previous-key OLD_KEYFILE]
                            [--passphrase-file F] [--previous-passphrase-file F]
    quorum-authority check-key URL MEMBER_STATE (--key KEYFILE | --fingerprint FP)
                            [--scheme eci] [--log-key KEY]

Exit codes: 0 done (verify: batch verified, certificate written; check-key: the platform
publishes exactly this key); 1 usage, file, key or network error; 2 rejected (verify: an
integrity failure, report written, no certificate; check-key: the platform publishes another
key, or its key log does not hold up).

Runs on an air-gapped laptop: no Django, no database; only check-key uses the network.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import date
from pathlib import Path
from typing import NoReturn, TextIO

from quorum.proofs.auditor import http_fetch
from quorum.proofs.count_certificate import (
    CertificateFormatError,
    parse_certificate,
    verify_certificate,
)
from quorum.proofs.crypto import (
    AuthorityKeys,
    CryptoError,
    decode_key,
    generate_authority_keys,
    read_key_file,
    read_key_file_public,
    write_key_file,
)
from quorum.proofs.key_certificate import (
    KeyCertificateError,
    fingerprint,
    format_fingerprint,
    make_key_certificate,
    normalise_fingerprint,
)
from quorum.proofs.key_log_audit import audit_key_log
from quorum.toolkit.report import check_out_dir, write_outputs
from quorum.toolkit.verify import (
    CERTIFIED,
    REJECTED,
    VerifyOptions,
    VerifyUsageError,
    default_jobs,
    verify_batch,
)

__all__ = ["EXIT_ERROR", "EXIT_OK", "EXIT_REJECTED", "main"]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_REJECTED = 2

PROG = "quorum-authority"
MIN_PASSPHRASE = 8
_PASSPHRASE_FILE_MAX = 64 * 1024


class UsageError(Exception):
    """A one-line message for the user; exit code 1."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # exit 1, not argparse's 2 (2 = rejected)
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("quorum")
    except Exception:  # not installed as a distribution
        return "unknown"


def _day(text: str) -> date:
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Offline toolkit of a competent authority: keys, batch verification, "
        "certificates. Needs no database, and no network except for check-key.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    keygen = commands.add_parser(
        "keygen",
        help="create the authority's key pairs in a passphrase-protected key file",
        description="Create an X25519 sealing key pair and an Ed25519 signing key pair. The "
        "private keys are written only to KEYFILE, encrypted under a passphrase; the two "
        "public keys are printed; `key-certificate` then certifies them for the platform.",
    )
    keygen.add_argument("--out", required=True, type=Path, metavar="KEYFILE")
    keygen.add_argument(
        "--passphrase-file",
        type=Path,
        metavar="F",
        help="read the passphrase from F (first line; '-' for standard input) instead of "
        "asking twice",
    )
    keygen.add_argument("--format", choices=("text", "json"), default="text")
    keygen.add_argument("--label", default="", help="a note stored unencrypted in the key file")
    keygen.add_argument(
        "--strength",
        choices=("moderate", "sensitive", "interactive"),
        default="moderate",
        help="Argon2id cost of opening the key file (default: moderate)",
    )

    verify = commands.add_parser(
        "verify",
        help="verify a batch and sign a certificate",
        description="Check every leaf of BATCH against its signed checkpoint, open and check "
        "the statements of the batch's Member State, remove duplicates, and write "
        "report.json, report.txt and (if the batch is intact) a signed certificate.json to "
        "DIR. No decrypted data is written anywhere.",
    )
    verify.add_argument("batch", type=Path, metavar="BATCH")
    verify.add_argument("--key", required=True, type=Path, metavar="KEYFILE")
    verify.add_argument("--out", required=True, type=Path, metavar="DIR")
    verify.add_argument("--passphrase-file", type=Path, metavar="F")
    verify.add_argument(
        "--old-key",
        action="append",
        default=[],
        type=Path,
        metavar="KEYFILE",
        help="an earlier key file of the authority (from before a rotation), to open the "
        "statements sealed to it; repeat for each; same passphrase file",
    )
    verify.add_argument(
        "--log-key",
        metavar="KEY",
        help="the platform's log key (signed-note verifier '<name>+<id>+<key>') as you "
        "obtained it independently of the batch; strongly recommended",
    )
    verify.add_argument(
        "--sample", type=_positive, metavar="N", help="check a random sample of N statements"
    )
    verify.add_argument(
        "--seed", type=_seed, metavar="S", help="seed of the random sample (reproducible)"
    )
    verify.add_argument(
        "--register",
        type=Path,
        metavar="CSV",
        help="population-register extract: columns id_number, first_names, family_names, "
        "date_of_birth",
    )
    verify.add_argument(
        "--on", type=_day, metavar="YYYY-MM-DD", help="date of the certificate (default: today)"
    )
    verify.add_argument(
        "--jobs",
        type=_positive,
        metavar="N",
        help=f"processes that open statements (default: the CPU count, here {default_jobs()})",
    )

    public = commands.add_parser("public-keys", help="print the public keys of a key file")
    public.add_argument("keyfile", type=Path, metavar="KEYFILE")
    public.add_argument("--format", choices=("text", "json"), default="text")

    check = commands.add_parser(
        "check-certificate", help="check a certificate's signature against a signing key"
    )
    check.add_argument("certificate", type=Path, metavar="CERTIFICATE")
    check.add_argument(
        "--signing-key", required=True, metavar="KEY", help="the authority's signing public key"
    )

    certify = commands.add_parser(
        "key-certificate",
        help="certify the keys of a key file for the platform (first key or rotation)",
        description="Write a key certificate for the public keys in KEYFILE, signed with its "
        "signing key; with --previous-key, a rotation also signed with the current key. Give "
        "the printed fingerprint to your Member State for its designation (a first key), and "
        "the certificate to the platform operator.",
    )
    certify.add_argument("--key", required=True, type=Path, metavar="KEYFILE")
    certify.add_argument("--member-state", required=True, metavar="MS")
    certify.add_argument("--authority", required=True, metavar="NAME", help="your authority's name")
    certify.add_argument("--scheme", default="eci")
    certify.add_argument("--out", required=True, type=Path, metavar="FILE")
    certify.add_argument(
        "--previous-key",
        type=Path,
        metavar="OLD_KEYFILE",
        help="the key file registered now: the new keys replace it (a rotation)",
    )
    certify.add_argument("--passphrase-file", type=Path, metavar="F")
    certify.add_argument("--previous-passphrase-file", type=Path, metavar="F")

    check_key = commands.add_parser(
        "check-key",
        help="check that a platform publishes exactly your key (run it daily during a collection)",
        description="Fetch the platform's published authorities and its key log, check the key "
        "log, and compare your authority's current key there with your key: from KEYFILE's "
        "public part (no passphrase needed), or — on a connected machine that should not hold "
        "the key file — from the fingerprint key-certificate printed.",
    )
    check_key.add_argument("url", metavar="URL", help="the platform's address")
    check_key.add_argument("member_state", metavar="MEMBER_STATE")
    mine = check_key.add_mutually_exclusive_group(required=True)
    mine.add_argument("--key", type=Path, metavar="KEYFILE")
    mine.add_argument("--fingerprint", metavar="FINGERPRINT", help="64 hex digits, spaces ignored")
    check_key.add_argument("--scheme", default="eci")
    check_key.add_argument(
        "--log-key",
        metavar="KEY",
        help="the platform's log key as you obtained it independently; strongly recommended",
    )
    return parser


# --- passphrases ---------------------------------------------------------------------------


def _passphrase_from_file(path: Path) -> bytes:
    try:
        if str(path) == "-":
            data = sys.stdin.buffer.read(_PASSPHRASE_FILE_MAX + 1)
        else:
            with path.open("rb") as handle:
                data = handle.read(_PASSPHRASE_FILE_MAX + 1)
    except OSError as exc:
        raise UsageError(f"cannot read the passphrase file {path}: {exc.strerror or exc}") from exc
    if len(data) > _PASSPHRASE_FILE_MAX:
        raise UsageError(f"the passphrase file {path} is too large")
    passphrase = data.split(b"\n", 1)[0].removesuffix(b"\r")
    if not passphrase:
        raise UsageError(f"the passphrase file {path} is empty")
    return passphrase


def _new_passphrase(args: argparse.Namespace) -> bytes:
    if args.passphrase_file is not None:
        passphrase = _passphrase_from_file(args.passphrase_file)
    else:
        first = getpass.getpass("New passphrase for the key file: ")
        second = getpass.getpass("Repeat the passphrase: ")
        if first != second:
            raise UsageError("the two passphrases differ; no key file was written")
        passphrase = first.encode("utf-8")
    if len(passphrase) < MIN_PASSPHRASE:
        raise UsageError(f"the passphrase must be at least {MIN_PASSPHRASE} characters long")
    return passphrase


def _open_keys(keyfile: Path, passphrase_file: Path | None) -> AuthorityKeys:
    if not keyfile.is_file():
        raise UsageError(f"cannot read the key file {keyfile}: no such file")
    if passphrase_file is not None:
        passphrase = _passphrase_from_file(passphrase_file)
    else:
        passphrase = getpass.getpass(f"Passphrase for {keyfile}: ").encode("utf-8")
    try:
        return read_key_file(keyfile, passphrase)
    except CryptoError as exc:
        raise UsageError(f"cannot open the key file {keyfile}: {exc}") from exc
    except OSError as exc:
        raise UsageError(f"cannot read the key file {keyfile}: {exc.strerror or exc}") from exc


# --- commands ------------------------------------------------------------------------------


def _print_public(public: dict[str, str], fmt: str, out: TextIO) -> None:
    if fmt == "json":
        print(json.dumps(public), file=out)
        return
    print("Public keys (make a key certificate for the platform with key-certificate):", file=out)
    print(f"  sealing public key (X25519):  {public['sealing_public_key']}", file=out)
    print(f"  signing public key (Ed25519): {public['signing_public_key']}", file=out)


def cmd_keygen(args: argparse.Namespace) -> int:
    out: Path = args.out
    if out.exists() or out.is_symlink():
        raise UsageError(f"{out} exists; refusing to overwrite a key file")
    if not out.parent.is_dir():
        raise UsageError(f"the directory {out.parent} does not exist")
    passphrase = _new_passphrase(args)
    keys = generate_authority_keys()
    try:
        write_key_file(out, keys, passphrase, label=args.label, strength=args.strength)
    except CryptoError as exc:
        raise UsageError(str(exc)) from exc
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from exc
    public = {
        "sealing_public_key": keys.public_part()["sealing_public_key"],
        "signing_public_key": keys.public_part()["signing_public_key"],
    }
    if args.format == "json":
        _print_public(public, "json", sys.stdout)
        print(f"key file written: {out} (mode 0600)", file=sys.stderr)
        return EXIT_OK
    print(f"Key file written: {out} (mode 0600).")
    print(
        "Keep it and its passphrase safe, with a backup: without them no statement sealed "
        "to this key can ever be read."
    )
    _print_public(public, "text", sys.stdout)
    return EXIT_OK


def _public_part(path: Path) -> dict[str, str]:
    """A key file's public keys (no passphrase needed), or a one-line usage error."""
    try:
        return read_key_file_public(path)
    except CryptoError as exc:
        raise UsageError(str(exc)) from exc
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc


def cmd_public_keys(args: argparse.Namespace) -> int:
    public = _public_part(args.keyfile)
    keys = {name: public[name] for name in ("sealing_public_key", "signing_public_key")}
    _print_public(keys, args.format, sys.stdout)
    return EXIT_OK


def cmd_check_certificate(args: argparse.Namespace) -> int:
    try:
        key = decode_key(args.signing_key)
    except CryptoError as exc:
        raise UsageError(f"--signing-key: {exc}") from exc
    try:
        document = json.loads(args.certificate.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read {args.certificate}: {exc.strerror or exc}") from exc
    except (ValueError, RecursionError) as exc:
        raise UsageError(f"{args.certificate} is not a JSON certificate") from exc
    try:
        cert = parse_certificate(document)
    except CertificateFormatError as exc:
        print(f"{args.certificate}: INVALID — not a well-formed certificate: {exc}")
        return EXIT_ERROR
    if not verify_certificate(cert, key):
        print(f"{args.certificate}: INVALID — not a certificate signed by this key")
        return EXIT_ERROR
    print(
        f"{args.certificate}: valid signature. {cert.member_state} certifies "
        f"{cert.valid_statements:,} valid statements for "
        f"{cert.registration_number} on {cert.date.isoformat()}."
    )
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    if args.seed is not None and args.sample is None:
        raise UsageError("--seed only applies with --sample")
    if not args.batch.is_file():
        raise UsageError(f"cannot read the batch {args.batch}: no such file")
    if args.register is not None and not args.register.is_file():
        raise UsageError(f"cannot read the register {args.register}: no such file")
    try:
        check_out_dir(args.out)
    except OSError as exc:
        raise UsageError(str(exc) if not exc.strerror else f"{args.out}: {exc.strerror}") from exc
    keys = _open_keys(args.key, args.passphrase_file)
    old_keys = tuple(_open_keys(path, args.passphrase_file) for path in args.old_key)
    on = args.on or date.today()
    options = VerifyOptions(
        on=on,
        pinned_log_key=args.log_key,
        sample=args.sample,
        seed=args.seed,
        register=args.register,
        jobs=args.jobs or default_jobs(),
        progress=sys.stderr,
        old_keys=old_keys,
    )
    try:
        outcome = verify_batch(args.batch, keys, options)
    except VerifyUsageError as exc:
        raise UsageError(str(exc)) from exc
    try:
        written = write_outputs(args.out, outcome.report, outcome.certificate)
    except OSError as exc:
        raise UsageError(f"cannot write to {args.out}: {exc.strerror or exc}") from exc
    report = outcome.report
    if outcome.verdict == REJECTED:
        print(f"{PROG}: batch rejected: {report['reason']}", file=sys.stderr)
        print(f"{PROG}: report written to {written[1]}; no certificate.", file=sys.stderr)
        return EXIT_REJECTED
    if outcome.verdict != CERTIFIED:
        print(f"{PROG}: error: {report['reason']}", file=sys.stderr)
        print(f"{PROG}: report written to {written[1]}; no certificate.", file=sys.stderr)
        return EXIT_ERROR
    _print_summary(report, written)
    return EXIT_OK


def _print_summary(report: dict[str, object], written: list[Path]) -> None:
    initiative = report["initiative"]
    assert isinstance(initiative, dict)
    ms = report["member_state"]
    print(
        f"Batch verified: {initiative['slug']} ({initiative['registration_number']}), "
        f"statements of {ms}."
    )
    print(f"  statements in the batch: {report['statements_in_batch']:,}")
    if report["method"] == "sample":
        print(
            f"  checked: a random sample of {report['sample_size']:,} "
            f"(seed {report['sample_seed']}), {report['valid_in_checked']:,} valid"
        )
        print(f"  valid (extrapolated, rounded down): {report['valid_statements']:,}")
    else:
        print(f"  valid: {report['valid_statements']:,}")
    by_reason = report["invalid_by_reason"]
    assert isinstance(by_reason, dict)
    for reason, count in by_reason.items():
        if count:
            print(f"  invalid, {reason}: {count:,}")
    print(f"Report: {written[0]}, {written[1]}")
    print(f"Certificate: {written[2]}")
    print(
        f"Reminder: destroy every decrypted copy of these statements, and the batch itself, "
        f"by {report['destroy_copies_by']} at the latest: three months after this certificate "
        f"of {report['date']} (Art. 19(6) of Regulation (EU) 2019/788). "
        "This toolkit wrote no decrypted data to disk."
    )


def cmd_key_certificate(args: argparse.Namespace) -> int:
    out: Path = args.out
    if out.exists() or out.is_symlink():
        raise UsageError(f"{out} exists; refusing to overwrite it")
    keys = _open_keys(args.key, args.passphrase_file)
    previous = None
    if args.previous_key is not None:
        previous = _open_keys(args.previous_key, args.previous_passphrase_file)
    try:
        certificate = make_key_certificate(
            keys,
            scheme=args.scheme,
            member_state=args.member_state.upper(),
            authority=args.authority,
            previous=previous,
        )
    except KeyCertificateError as exc:
        raise UsageError(str(exc)) from exc
    try:
        out.write_text(certificate.to_json(), encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from exc
    print(f"Key certificate written: {out}")
    print(f"  {certificate.scheme}:{certificate.member_state} — {certificate.authority}")
    print(f"  fingerprint: {format_fingerprint(certificate.fingerprint)}")
    if previous is None:
        print(
            "Your Member State gives this fingerprint with its designation of your authority; "
            "the platform accepts the certificate only if the registrar recorded the same one."
        )
    else:
        print(
            "A rotation, signed with your current key. Keep the old key file: statements "
            "sealed to it still need it (quorum-authority verify --old-key)."
        )
    return EXIT_OK


def _expected_fingerprint(args: argparse.Namespace, member_state: str) -> str:
    if args.fingerprint is not None:
        expected = normalise_fingerprint(args.fingerprint)
        if expected is None:
            raise UsageError("--fingerprint: a fingerprint is 64 hexadecimal digits")
        return expected
    public = _public_part(args.key)
    return fingerprint(
        scheme=args.scheme,
        member_state=member_state,
        sealing_public_key=public["sealing_public_key"],
        signing_public_key=public["signing_public_key"],
    )


def cmd_check_key(args: argparse.Namespace) -> int:
    api = args.url.strip().rstrip("/").removesuffix("/api/v1") + "/api/v1"
    member_state = args.member_state.upper()
    expected = _expected_fingerprint(args, member_state)
    yours = str(args.key) if args.key is not None else "your fingerprint"
    verifier = args.log_key
    if verifier is None:
        try:
            verifier = http_fetch(f"{api}/log-key").decode("utf-8").strip()
        except Exception as exc:
            raise UsageError(f"cannot fetch the platform's log key: {exc}") from exc
        print("warning: the log key was taken from the platform, not pinned (--log-key)")
    result = audit_key_log(api, verifier, http_fetch, schemes=(args.scheme,))
    problems = list(result.findings)
    if result.size is not None:
        published = result.published.get(args.scheme, {}).get(member_state)
        logged = result.history.current(args.scheme, member_state)
        published_print = (
            fingerprint(
                scheme=args.scheme,
                member_state=member_state,
                sealing_public_key=published[0],
                signing_public_key=published[1],
            )
            if published
            else None
        )
        if published_print != expected:
            problems.append(
                f"the platform publishes another key for {args.scheme}:{member_state} than "
                f"{yours}: statements are being sealed to a key that is not yours"
                if published
                else f"the platform publishes no key for {args.scheme}:{member_state}"
            )
        if logged is None or logged.fingerprint != expected:
            problems.append(
                f"the key log's current key for {args.scheme}:{member_state} is not {yours}"
            )
    if result.unreachable and result.size is None:
        for problem in problems:
            print(f"{PROG}: error: {problem}", file=sys.stderr)
        return EXIT_ERROR
    if problems:
        for problem in problems:
            print(f"MISMATCH: {problem}")
        return EXIT_REJECTED
    logged = result.history.current(args.scheme, member_state)
    assert logged is not None
    print(
        f"OK: {args.url} publishes your key for {args.scheme}:{member_state} "
        f"(fingerprint {format_fingerprint(logged.fingerprint)}), and its key log of "
        f"{result.size} entries holds up."
    )
    return EXIT_OK


COMMANDS = {
    "key-certificate": cmd_key_certificate,
    "check-key": cmd_check_key,
    "keygen": cmd_keygen,
    "verify": cmd_verify,
    "public-keys": cmd_public_keys,
    "check-certificate": cmd_check_certificate,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except EOFError:
        print(f"{PROG}: error: no passphrase given", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
