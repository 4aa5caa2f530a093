from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from quorum.core.errors import DomainError
from quorum.initiatives.models import Initiative
from quorum.verification.selectors import certified_counts, submission_data
from quorum.verification.services import batch_export, certificate_import, verification_request


class Command(BaseCommand):
    help = "Verification by the national authorities: request it, export a batch, import a certificate."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser(
            "request", help="after collection: fix the checkpoint and ask for verification"
        ).add_argument("slug")
        export = sub.add_parser("export", help="write one Member State's batch for its authority")
        export.add_argument("slug")
        export.add_argument("member_state")
        export.add_argument("--out", required=True, help="file to write ('-' for standard output)")
        certificate = sub.add_parser(
            "import-certificate", help="accept an authority's signed certificate"
        )
        certificate.add_argument("file")
        status = sub.add_parser("status", help="certified counts and the verdict")
        status.add_argument("slug")
        annex = sub.add_parser(
            "submission-data",
            help="the data of the submission to the Commission (Annex VII), as JSON",
        )
        annex.add_argument("slug")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, "_" + options["action"].replace("-", "_"))(options)
        except DomainError as exc:
            raise CommandError(str(exc.message), returncode=1) from exc

    def _initiative(self, slug: str) -> Initiative:
        initiative = Initiative.objects.filter(slug=slug).first()
        if initiative is None:
            raise CommandError(f"no initiative {slug!r}", returncode=1)
        return initiative

    def _request(self, options: dict[str, Any]) -> None:
        round_ = verification_request(
            initiative=self._initiative(options["slug"]), actor_label="cli"
        )
        per_state = ", ".join(
            f"{code} {count}" for code, count in sorted(round_.statements.items())
        )
        self.stdout.write(
            f"verification requested at log size {round_.checkpoint_size}: {per_state or 'no statements'}"
        )

    def _export(self, options: dict[str, Any]) -> None:
        initiative = self._initiative(options["slug"])
        code = options["member_state"].upper()
        if options["out"] == "-":
            written = batch_export(
                initiative=initiative, member_state=code, out=sys.stdout, actor_label="cli"
            )
            return
        target = Path(options["out"])
        with target.open("w", encoding="utf-8") as out:
            written = batch_export(
                initiative=initiative, member_state=code, out=out, actor_label="cli"
            )
        target.chmod(0o600)
        self.stderr.write(f"wrote the {code} batch: {written} leaves to {target}")

    def _import_certificate(self, options: dict[str, Any]) -> None:
        try:
            document = json.loads(Path(options["file"]).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(
                f"cannot read a certificate from {options['file']}: {exc}", returncode=1
            ) from exc
        certificate = certificate_import(document=document, actor_label="cli")
        self.stdout.write(
            f"accepted: {certificate.member_state} certifies {certificate.valid_statements} valid statements"
        )

    def _submission_data(self, options: dict[str, Any]) -> None:
        data = submission_data(self._initiative(options["slug"]))
        self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))

    def _status(self, options: dict[str, Any]) -> None:
        counts = certified_counts(self._initiative(options["slug"]))
        for row in counts.by_member_state:
            if row.certified is not None:
                mark = "reached" if row.reached else "not reached"
                self.stdout.write(f"{row.code}\t{row.certified}\t/ {row.threshold}\t{mark}")
        verdict = "successful" if counts.successful else "not successful"
        self.stdout.write(
            f"total {counts.total}, {counts.states_reached} Member States reached: {verdict}"
        )
