from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from quorum.site.server import run_server


class Command(BaseCommand):
    help = "Serve Quorum over HTTP (granian, ASGI) without touching any data."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
        )
        parser.add_argument(
            "--port", type=int, default=8000, help="port to listen on (default 8000)"
        )
        parser.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
        parser.add_argument(
            "--no-sequencer",
            action="store_true",
            help="do not start a sequencer beside the server (run `quorum sequencer` elsewhere)",
        )

    def handle(
        self, *args: Any, host: str, port: int, workers: int, no_sequencer: bool, **options: Any
    ) -> None:
        self.stdout.write(f"Quorum is serving on http://{host}:{port}/ (Ctrl+C stops it)")
        run_server(host=host, port=port, workers=workers, sequencer=not no_sequencer)
