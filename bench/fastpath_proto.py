"""BENCH-ONLY prototype of DESIGN.md's "Fast path": not product code, never deployed.

A raw ASGI callable in front of the Django application. It answers
POST /api/v1/initiatives/<slug>/statements itself: pydantic's StatementIn, then
`statement_submit()` (the same service, the same group-commit writer), then a 201 with the
receipt. Every other request goes to Django unchanged. The handler leaves out the Django
middleware stack, django-ninja and the per-request thread that Django's ASGI handler
creates. It exists so that `intake_load.py --app fastpath` can measure what such a handler
would gain on this code base.

Gaps against the real endpoint: errors are not translated (no Accept-Language negotiation),
only the main security headers are set, and the status mapping covers only the service's
exceptions.

    .venv/bin/python bench/fastpath_proto.py --port 8001 --workers 2 [--no-sequencer]
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quorum.settings")

from django.core.asgi import get_asgi_application

django_application = get_asgi_application()

from pydantic import ValidationError  # noqa: E402

from quorum.api.schemas import StatementIn  # noqa: E402
from quorum.core.middleware import CONTENT_SECURITY_POLICY  # noqa: E402
from quorum.signing.fields import flatten  # noqa: E402
from quorum.signing.services import (  # noqa: E402
    InitiativeNotFound,
    IntakeBusy,
    NotCollecting,
    RateLimited,
    StatementInvalid,
    statement_submit,
)

PREFIX = "/api/v1/initiatives/"
SUFFIX = "/statements"
MAX_BODY = 16 * 1024
HEADERS = [
    (b"content-type", b"application/json"),
    (b"cache-control", b"no-store"),
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
]


async def application(scope, receive, send):
    if scope["type"] == "http" and scope["method"] == "POST":
        path = scope["path"]
        if path.startswith(PREFIX) and path.endswith(SUFFIX):
            slug = path[len(PREFIX) : -len(SUFFIX)]
            if slug and "/" not in slug:
                await intake(scope, receive, send, slug)
                return
    await django_application(scope, receive, send)


async def respond(send, status: int, payload: dict) -> None:
    body = json.dumps(payload).encode()
    headers = [*HEADERS, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def intake(scope, receive, send, slug: str) -> None:
    body = b""
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return
        body += message.get("body", b"")
        more = message.get("more_body", False)
        if len(body) > MAX_BODY:
            await respond(send, 413, {"errors": {"__all__": ["Request too large."]}})
            return
    try:
        payload = StatementIn.model_validate_json(body)
    except ValidationError:
        await respond(send, 400, {"errors": {"__all__": ["Malformed statement."]}})
        return
    client = scope.get("client") or ("", 0)
    try:
        receipt = await statement_submit(
            slug=slug,
            data=flatten(payload.model_dump(exclude_none=True)),
            language="en",
            client_address=client[0],
        )
    except StatementInvalid as exc:
        await respond(send, 422, {"errors": exc.errors})
    except InitiativeNotFound:
        await respond(send, 404, {"errors": {"__all__": ["No such initiative."]}})
    except NotCollecting:
        await respond(send, 409, {"errors": {"__all__": ["Not collecting."]}})
    except RateLimited:
        await respond(send, 429, {"errors": {"__all__": ["Too many statements."]}})
    except IntakeBusy:
        await respond(send, 503, {"errors": {"__all__": ["Try again."]}})
    else:
        await respond(send, 201, {"receipt": receipt.value})


def main() -> None:
    import argparse

    from granian import Granian
    from granian.constants import Interfaces

    from quorum.site.server import start_sequencer

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--no-sequencer", action="store_true")
    args = parser.parse_args()
    helper = None if args.no_sequencer else start_sequencer()
    try:
        Granian(
            "fastpath_proto:application",
            address="127.0.0.1",
            port=args.port,
            interface=Interfaces.ASGI,
            workers=args.workers,
            log_access=False,
        ).serve()
    finally:
        if helper is not None:
            helper.terminate()
            helper.wait(timeout=10)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
