"""Starting the web server process (granian, ASGI)."""

from __future__ import annotations

from granian import Granian
from granian.constants import Interfaces


def run_server(*, host: str, port: int, workers: int) -> None:
    Granian(
        "quorum.asgi:application",
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        log_access=False,  # access logs carry client addresses; we keep none
    ).serve()
