"""CPU cost of one statement in-process, no HTTP: the floor under the intake.

Part 1 (pure CPU, best of 3 over N bodies, single thread, no DB): each step of the intake
pipeline — JSON parse, the API schema (pydantic), rate-limit check, validation (python-stdnum,
names), canonical plaintext, sealed box, SHA-256 + leaf hash — and their sum.

Part 2 (with the real database and the group-commit intake writer, asyncio, 64 in flight):
  service  — `statement_submit()` called directly: validate + seal + durable group commit;
  fast path — the ASGI application as served (body limit, fast path), called in-process;
  Django   — the same with the fast path off: Django's middleware stack and django-ninja.
Part 3: the fast path as served around a service that answers at once (best of 3 passes):
the cost of the HTTP layer itself, which part 2's fast path pays on top of the service.
CPU is process CPU (all threads) per statement; wall is statements/s in this one process.

    .venv/bin/python bench/intake_floor.py                 # ~40 s
    .venv/bin/python bench/intake_floor.py --profile       # plus a cProfile of the Django path
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import pstats
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

PATH = f"/api/v1/initiatives/{common.DEMO_SLUG}/statements"


def best_of(runs: int, count: int, fn) -> float:
    """µs per call, best of `runs` passes over `count` calls."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, (time.perf_counter() - start) / count * 1e6)
    return best


# --- part 1: pure CPU ----------------------------------------------------------------------


def part_pure(bodies: list[bytes]) -> None:
    from quorum.api.schemas import StatementIn
    from quorum.proofs.crypto import seal
    from quorum.proofs.leaves import format_received_at, statement_leaf_hash
    from quorum.rules import scheme
    from quorum.signing import ratelimit
    from quorum.signing.content import StatementContent, statement_plaintext
    from quorum.signing.fields import flatten
    from quorum.signing.selectors import intake_target
    from quorum.signing.validation import validate_fields

    target = intake_target(slug=common.DEMO_SLUG)
    assert target is not None, "the demo initiative is missing"
    moment = datetime.now(UTC).replace(microsecond=0)
    today = moment.date()
    received_at = format_received_at(moment)
    n = len(bodies)
    parsed = [json.loads(b) for b in bodies]
    flat = [flatten(StatementIn.model_validate(p).model_dump(exclude_none=True)) for p in parsed]
    rules = scheme(target.scheme)

    def validate_one(data):
        nationality = data["nationality"]
        fields = {k: v for k, v in data.items() if k != "nationality"}
        checked = validate_fields(rules, nationality, fields, today=today)
        if checked.errors:
            raise SystemExit(f"invalid bench body: {checked.errors}")
        return nationality, checked.values

    validated = [validate_one(d) for d in flat]

    def content_of(nationality, values):
        return statement_plaintext(
            StatementContent(
                scheme=target.scheme,
                initiative_slug=target.slug,
                registration_number=target.registration_number,
                nationality=nationality,
                signed_on=today.isoformat(),
                received_at=received_at,
                language="en",
                fields=values,
            )
        )

    plaintexts = [content_of(*v) for v in validated]
    sealed = [
        seal(target.sealing_keys[v[0]].public_key, p)
        for v, p in zip(validated, plaintexts, strict=True)
    ]

    def leaf_of(nationality, ciphertext):
        digest = common_sha256(ciphertext)
        return statement_leaf_hash(
            initiative=target.slug,
            member_state=nationality,
            received_at=received_at,
            ciphertext_sha256=digest,
        )

    def pipeline():
        for body in bodies:
            data = flatten(
                StatementIn.model_validate(json.loads(body)).model_dump(exclude_none=True)
            )
            ratelimit.check_rate("127.0.0.1", scope=f"statement:{target.slug}")
            nationality, values = validate_one(data)
            ciphertext = seal(
                target.sealing_keys[nationality].public_key, content_of(nationality, values)
            )
            leaf_of(nationality, ciphertext)

    steps = [
        ("json.loads of the body", lambda: [json.loads(b) for b in bodies]),
        (
            "API schema: StatementIn (pydantic) + dump + flatten",
            lambda: [
                flatten(StatementIn.model_validate(p).model_dump(exclude_none=True)) for p in parsed
            ],
        ),
        (
            "rate-limit check (the configured store: the database without REDIS_URL)",
            lambda: [ratelimit.check_rate("127.0.0.1", scope="statement:x") for _ in range(n)],
        ),
        ("validate (stdnum PESEL / DE Part A, names)", lambda: [validate_one(d) for d in flat]),
        ("canonical plaintext (JSON + padding)", lambda: [content_of(*v) for v in validated]),
        (
            "seal (X25519 sealed box)",
            lambda: [
                seal(target.sealing_keys[v[0]].public_key, p)
                for v, p in zip(validated, plaintexts, strict=True)
            ],
        ),
        (
            "SHA-256 of ciphertext + leaf hash",
            lambda: [leaf_of(v[0], c) for v, c in zip(validated, sealed, strict=True)],
        ),
    ]
    print(f"part 1: pure CPU, µs per statement, best of 3 over {n} bodies (no DB, no HTTP)")
    total = 0.0
    for name, fn in steps:
        us = best_of(3, n, fn)
        total += us
        print(f"  {name:<55s} {us:8.1f}")
    print(f"  {'sum of steps':<55s} {total:8.1f}")
    print(f"  {'whole pipeline in one loop (validate + seal + leaf)':<55s} "
          f"{best_of(3, n, pipeline):8.1f}")  # fmt: skip


def common_sha256(data: bytes) -> bytes:
    import hashlib

    return hashlib.sha256(data).digest()


# --- part 2: with the database -------------------------------------------------------------


def asgi_request(app, body: bytes):
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }
    sent = {"body": False}
    status = {}

    async def receive():
        if not sent["body"]:
            sent["body"] = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # no disconnect; Django cancels this listener

    async def send(message):
        if message["type"] == "http.response.start":
            status["code"] = message["status"]

    async def run():
        await app(scope, receive, send)
        return status.get("code")

    return run()


def service_request(body: bytes):
    from quorum.signing.fields import flatten
    from quorum.signing.services import statement_submit

    async def run():
        await statement_submit(
            slug=common.DEMO_SLUG,
            data=flatten(json.loads(body)),
            language="en",
            client_address="127.0.0.1",
        )
        return 201

    return run()


async def drive(make, bodies: list[bytes], conc: int) -> tuple[int, dict]:
    sem = asyncio.Semaphore(conc)
    statuses: dict[int, int] = {}

    async def one(body):
        async with sem:
            code = await make(body)
            statuses[code] = statuses.get(code, 0) + 1

    await asyncio.gather(*(one(b) for b in bodies))
    return len(bodies), statuses


def measure(label: str, make, bodies: list[bytes], conc: int, profile: bool = False) -> None:
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(drive(make, bodies[:100], conc))  # warm-up
        body_set = bodies[100:]
        profiler = cProfile.Profile() if profile else None
        cpu0, wall0 = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        n, statuses = loop.run_until_complete(drive(make, body_set, conc))
        if profiler:
            profiler.disable()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    finally:
        loop.close()
    print(
        f"  {label:<44s} {1e6 * cpu / n:8.0f} µs CPU/stmt  {n / wall:6.0f} stmt/s  "
        f"(n={n}, statuses {statuses})"
    )
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats("quorum|ninja|django/(http|core|utils)", 40)
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip()))


def part_db(bodies: list[bytes], conc: int, profile: bool) -> None:
    from django.core.handlers.asgi import ASGIHandler

    from quorum.core.limits import BodyLimitASGI
    from quorum.fastpath.app import FastPath

    print(
        f"part 2: with SQLite group commit, {conc} in flight, one process (CPU incl. all threads)"
    )
    chunk = len(bodies) // 3
    parts = [bodies[i * chunk : (i + 1) * chunk] for i in range(3)]
    measure("service: statement_submit() direct", service_request, parts[0], conc)
    fast = BodyLimitASGI(FastPath(ASGIHandler()))
    measure("ASGI app as served (fast path)", lambda b: asgi_request(fast, b), parts[1], conc,
            profile)  # fmt: skip
    django = BodyLimitASGI(ASGIHandler())
    measure("ASGI app, fast path off (Django's stack)", lambda b: asgi_request(django, b),
            parts[2], conc)  # fmt: skip


# --- part 3: the fast path's own layer ----------------------------------------------------


def part_layer(bodies: list[bytes], conc: int) -> None:
    """The ASGI app as served around a service that answers at once with a receipt: what the
    HTTP layer (routing, request, language, JSON and schema, headers, the 201) costs itself."""
    from django.core.handlers.asgi import ASGIHandler

    import quorum.api.statements
    from quorum.core.limits import BodyLimitASGI
    from quorum.fastpath.app import FastPath
    from quorum.signing.services import Receipt

    async def answered_at_once(**_: object) -> Receipt:
        return Receipt("ab" * 32)

    print("part 3: the fast path around a service that answers at once (no database)")
    submit = quorum.api.statements.statement_submit
    quorum.api.statements.statement_submit = answered_at_once  # type: ignore[assignment]
    try:
        fast = BodyLimitASGI(FastPath(ASGIHandler()))
        for _ in range(3):
            measure("HTTP layer of the fast path", lambda b: asgi_request(fast, b), bodies, conc)
    finally:
        quorum.api.statements.statement_submit = submit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=5000, help="bodies for part 1")
    parser.add_argument("--db-n", type=int, default=1500, help="statements per part 2 variant")
    parser.add_argument("--conc", type=int, default=64)
    parser.add_argument("--profile", action="store_true", help="cProfile the fast path")
    args = parser.parse_args()
    with common.bench_data_dir() as data_dir:
        print(common.machine_line(data_dir))
        env = common.base_env(data_dir)
        common.setup_demo(env)
        common.django_setup(env)
        sys.modules.setdefault("intake_floor", sys.modules[__name__])
        part_pure(common.make_bodies(args.n))
        part_db(common.make_bodies(3 * (args.db_n + 100), offset=10**6), args.conc, args.profile)
        part_layer(common.make_bodies(args.n, offset=2 * 10**6), args.conc)
        from quorum.ledger.intake import stop_intake_writer

        stop_intake_writer()


if __name__ == "__main__":
    main()
