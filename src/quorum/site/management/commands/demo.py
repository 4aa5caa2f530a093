from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from quorum.site.demo import demo_authorities, demo_load, demo_organiser
from quorum.site.server import run_server


class Command(BaseCommand):
    help = (
        "Set up the demo: migrate the database, load a demo initiative that is collecting "
        "today, then serve on http://127.0.0.1:8000/. Safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--port", type=int, default=8000, help="port to listen on (default 8000)"
        )
        parser.add_argument(
            "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
        )
        parser.add_argument(
            "--no-serve", action="store_true", help="set up the data, then exit without serving"
        )

    def handle(self, *args: Any, port: int, host: str, no_serve: bool, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        result = demo_load(today=timezone.localdate())
        verb = "Loaded" if result.created else "Kept"
        self.stdout.write(f"{verb} the demo initiative /i/{result.initiative.slug}/")
        keys = demo_authorities(data_dir=settings.DATA_DIR)
        self.stdout.write(
            f"Demo authority keys for {len(keys.created) + len(keys.kept)} Member States are in "
            f"{keys.directory}/<MS>.key (passphrase: demo); the server holds only their public keys"
            + (f" (new: {', '.join(keys.created)})" if keys.created else "")
        )
        organiser = demo_organiser(initiative=result.initiative, data_dir=settings.DATA_DIR)
        self.stdout.write(
            f"Demo organiser: sign in at /manage/ as {organiser.username} with the password "
            f"{organiser.password} (you set up an authenticator app at the first sign-in)"
        )
        if no_serve:
            return
        self.stdout.write(f"Quorum demo: open http://{host}:{port}/ (Ctrl+C stops it)")
        run_server(host=host, port=port, workers=1)
