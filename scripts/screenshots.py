"""Screenshots of Quorum's main pages for the docs, at a phone's width and a desktop's.

    .venv/bin/python scripts/screenshots.py                 # into docs/screenshots/
    .venv/bin/python scripts/screenshots.py --out /tmp/shots

Starts the demo on a temporary data directory (``quorum demo --no-serve``, then ``quorum serve``,
as the browser tests do), signs once through the real form as a Polish citizen, and has
Debian's Chromium (driven by Playwright) render: the initiative page, the signing form, the
review step (when the signing flow has one), the receipt, the organiser dashboard (signed in
as the demo organiser, who sets up the authenticator at the first sign-in like anyone) and
the live counter that campaign sites frame. Each page is shot at 375 and 1,280 px wide, one
screen high (not the whole page: small files), into ``<out>/<page>-<width>.png``, and
``<out>/README.md`` lists them.

For the dashboard's chart to show a curve, a few more statements are signed through the
public API and the log's checkpoints are spread over the two weeks the demo has been
collecting (in the temporary database only). Nothing is downloaded; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import hmac
import json
import os
import random
import signal
import socket
import sqlite3
import string
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
DEMO_SLUG = "ban-biometric-mass-surveillance"
DEMO_ORGANISER = "demo-organiser"
# A phone (an iPhone's CSS width) and a desktop; one screen high each.
WIDTHS = {375: 812, 1280: 800}
# The framed counter is shot at the size campaign sites give it, and at a page's full width.
COUNTER_SIZES = {300: 200, 1280: 200}
VALID_PESEL = "44051401359"
EXTRA_STATEMENTS = 24
SERVER_ENV = {
    "QUORUM_POW": "on",
    "QUORUM_POW_MAX_NUMBER": "20000",
    "QUORUM_RATE_BURST": "10000",
    "QUORUM_RATE_BURST_SECONDS": "60",
    "QUORUM_RATE_SUSTAINED": "100000",
    "QUORUM_RATE_SUSTAINED_SECONDS": "3600",
    "QUORUM_DEBUG": "off",
    "QUORUM_SECURE_COOKIES": "off",
    "QUORUM_ALLOWED_HOSTS": "127.0.0.1,localhost",
    "QUORUM_LOG_LEVEL": "warning",
}
SERVER_ENV_REMOVED = ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
TIMEOUT_MS = 20_000

#: What each shot shows, for the README.
DESCRIPTIONS = {
    "initiative": "The initiative's public page: its text, the live counts per Member State.",
    "signing-form": "The signing form for a Polish citizen (Annex III, Part B: an ID number).",
    "review": "The review step: what will be sealed, in words, before it is sent.",
    "receipt": "The receipt after signing, and how to check that the statement is counted.",
    "organiser-dashboard": "The organisers' dashboard: statements received over time, per "
    "Member State, and the live counter for their campaign site.",
    "counter-embed": "The live counter a campaign site frames (here in German, ?lang=de).",
}


@dataclass(frozen=True)
class Server:
    base_url: str
    data_dir: Path

    def url(self, path: str) -> str:
        return self.base_url + path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SERVER_ENV_REMOVED}
    env.update(SERVER_ENV, QUORUM_DATA_DIR=str(data_dir))
    return env


def _wait_until_answering(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"quorum serve exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within 60 s")


@contextlib.contextmanager
def demo_server(data_dir: Path) -> Iterator[Server]:
    """The demo set up in ``data_dir`` and served on a free port of 127.0.0.1, then stopped."""
    env = _env(data_dir)
    subprocess.run(
        [sys.executable, "-m", "quorum.cli", "demo", "--no-serve"],
        env=env,
        check=True,
        capture_output=True,
        timeout=180,
    )
    port = _free_port()
    log = data_dir / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "quorum.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        server = Server(base_url=f"http://127.0.0.1:{port}", data_dir=data_dir)
        _wait_until_answering(server.url(f"/i/{DEMO_SLUG}/"), process, log)
        yield server
    finally:
        # SIGTERM to the server we started; then its own process group, nothing else.
        if process.poll() is None:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)


def render(
    page: Any,
    url: str,
    path: Path,
    *,
    width: int,
    height: int,
    before: Callable[[Any], None] | None = None,
) -> Path:
    """``url`` at ``width`` x ``height``, one screen (not the whole page), as a PNG at ``path``.

    ``before`` runs after loading (to scroll to what matters). A page that refreshes itself is
    shot as it first settles: fonts and layout done, no network idle wait.
    """
    page.set_viewport_size({"width": width, "height": height})
    if url:
        page.goto(url, wait_until="load")
    if before is not None:
        before(page)
    page.evaluate("document.fonts ? document.fonts.ready.then(() => true) : true")
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=False, animations="disabled", caret="hide")
    return path


def _call(server: Server, path: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        server.url(path), data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        return json.loads(response.read())


def sign_through_api(server: Server, count: int) -> None:
    """``count`` statements of Polish citizens, signed as an API client signs them."""
    from quorum.signing.pow import solve_challenge

    for _ in range(count):
        letters = "".join(random.choices(string.ascii_lowercase, k=8))
        challenge = _call(server, f"/api/v1/pow/challenge?scope=statement:{DEMO_SLUG}")
        _call(
            server,
            f"/api/v1/initiatives/{DEMO_SLUG}/statements",
            {
                "nationality": "PL",
                "first_names": "Zofia " + letters,
                "family_names": "Kowalska" + letters,
                "id_type": "pesel",
                "id_number": VALID_PESEL,
                "altcha": solve_challenge(challenge),
            },
        )
        time.sleep(0.15)  # a few sequencer rounds: several checkpoints of growing size


def spread_checkpoints(server: Server, *, days: int = 14) -> None:
    """Date the log's checkpoints over the last ``days`` days, in their order (a screenshot's
    data set only: the temporary database, never a real one)."""
    deadline = time.monotonic() + 20
    connection = sqlite3.connect(server.data_dir / "quorum.sqlite3", timeout=20)
    try:
        while True:
            sizes = [
                row[0]
                for row in connection.execute("SELECT size FROM ledger_checkpoint ORDER BY size")
            ]
            if (sizes and sizes[-1] >= EXTRA_STATEMENTS) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        now = datetime.now(UTC)
        for position, size in enumerate(sizes):
            day = days - round(position * days / max(len(sizes) - 1, 1))
            connection.execute(
                "UPDATE ledger_checkpoint SET created_at = ? WHERE size = ?",
                ((now - timedelta(days=day)).strftime("%Y-%m-%d %H:%M:%S.%f"), size),
            )
        connection.commit()
    finally:
        connection.close()


def totp_now(secret: str, *, step: int = 30, digits: int = 6) -> str:
    """The code an authenticator app shows now for the base32 ``secret`` (RFC 6238)."""
    key = base64.b32decode(
        secret.replace(" ", "").upper() + "=" * (-len(secret.replace(" ", "")) % 8)
    )
    counter = struct.pack(">Q", int(time.time()) // step)
    digest = hmac.new(key, counter, hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 10**digits:0{digits}d}"


def sign_in_as_demo_organiser(page: Any, server: Server) -> None:
    """Password, then the authenticator set-up the first sign-in asks for."""
    password = (server.data_dir / "demo-organiser-password").read_text(encoding="ascii").strip()
    page.goto(server.url("/account/login/"))
    page.fill("input[name=username]", DEMO_ORGANISER)
    page.fill("input[name=password]", password)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state()
    if page.locator("#totp-secret").count():
        secret = page.locator("#totp-secret").inner_text().strip()
    else:  # set up by an earlier run on this data directory: its key is in the database
        secret = _enrolled_secret(server)
    page.fill("input[name=code]", totp_now(secret))
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state()


def _enrolled_secret(server: Server) -> str:
    connection = sqlite3.connect(server.data_dir / "quorum.sqlite3", timeout=20)
    try:
        row = connection.execute(
            "SELECT d.key FROM otp_totp_totpdevice d JOIN auth_user u ON u.id = d.user_id"
            " WHERE u.username = ? AND d.confirmed ORDER BY d.id LIMIT 1",
            (DEMO_ORGANISER,),
        ).fetchone()
    finally:
        connection.close()
    if row is None:
        raise RuntimeError(f"{DEMO_ORGANISER} has no authenticator set up")
    return base64.b32encode(bytes.fromhex(row[0])).decode()


def _fill_polish_form(page: Any) -> None:
    letters = "".join(random.choices(string.ascii_lowercase, k=6))
    page.fill("#field-first-names", "Zofia")
    page.fill("#field-family-names", "Kowalska" + letters)
    page.select_option("#field-id-type", "pesel")
    page.fill("#field-id-number", VALID_PESEL)
    page.check("#field-privacy-read")
    page.locator("[data-pow-status][data-pow-state=ready]").wait_for(timeout=TIMEOUT_MS)


def shoot_all(out: Path, *, data_dir: Path | None = None) -> list[Path]:
    """Every shot of the module docstring, into ``out``; returns the files written."""
    from playwright.sync_api import sync_playwright

    written: list[Path] = []
    for stale in out.glob("*.png"):  # a page that is gone (no review step) leaves no old shot
        if stale.name.startswith(tuple(DESCRIPTIONS)):
            stale.unlink()
    with contextlib.ExitStack() as stack:
        if data_dir is None:
            data_dir = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="quorum-shots-"))
            )
        server = stack.enter_context(demo_server(data_dir))
        playwright = stack.enter_context(sync_playwright())
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        stack.callback(browser.close)
        initiative = f"/i/{DEMO_SLUG}/"

        context = browser.new_context(locale="en-GB", timezone_id="Europe/Brussels")
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        sign_through_api(server, EXTRA_STATEMENTS)
        spread_checkpoints(server)
        for width, height in WIDTHS.items():
            written.append(
                render(
                    page,
                    server.url(initiative),
                    out / f"initiative-{width}.png",
                    width=width,
                    height=height,
                )
            )
            written.append(
                render(
                    page,
                    server.url(f"{initiative}sign/pl/"),
                    out / f"signing-form-{width}.png",
                    width=width,
                    height=height,
                    before=lambda p: p.locator("#field-first-names").scroll_into_view_if_needed(),
                )
            )
        # Sign once at each width, through the review step when there is one.
        for width, height in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": height})
            page.goto(server.url(f"{initiative}sign/pl/"))
            _fill_polish_form(page)
            page.locator("form[data-pow-scope] button[type=submit]").last.click()
            page.wait_for_load_state()
            confirm = page.locator("button[name=confirm]")
            if confirm.count():
                written.append(
                    render(page, "", out / f"review-{width}.png", width=width, height=height)
                )
                confirm.first.click()
                page.wait_for_load_state()
            page.locator("#receipt").wait_for()
            written.append(
                render(page, "", out / f"receipt-{width}.png", width=width, height=height)
            )
        context.close()

        organiser = browser.new_context(locale="en-GB", timezone_id="Europe/Brussels")
        organiser.set_default_timeout(TIMEOUT_MS)
        page = organiser.new_page()
        sign_in_as_demo_organiser(page, server)
        for width, height in WIDTHS.items():
            written.append(
                render(
                    page,
                    server.url(f"/manage/initiatives/{DEMO_SLUG}/"),
                    out / f"organiser-dashboard-{width}.png",
                    width=width,
                    height=height,
                    before=lambda p: p.evaluate(
                        "document.getElementById('counts-heading').scrollIntoView()"
                    ),
                )
            )
        organiser.close()

        framed = browser.new_context(locale="de-DE")
        framed.set_default_timeout(TIMEOUT_MS)
        page = framed.new_page()
        for width, height in COUNTER_SIZES.items():
            written.append(
                render(
                    page,
                    server.url(f"{initiative}counter/?lang=de"),
                    out / f"counter-embed-{width}.png",
                    width=width,
                    height=height,
                )
            )
        framed.close()
    write_index(out, written)
    return written


def write_index(out: Path, written: list[Path]) -> Path:
    """``out/README.md``: every shot, grouped by page, with what it shows."""
    lines = [
        "# Screenshots",
        "",
        "What Quorum's main pages look like, at a phone's width (375 px) and a desktop's",
        "(1,280 px), one screen high. Made by `scripts/screenshots.py` from the demo",
        "(`quorum demo`) on a temporary data directory; run it again after a change to the look.",
        "The dashboard's chart shows statements signed by the script, their checkpoints dated",
        "over the demo's two weeks of collection so that it has a curve to draw.",
        "",
    ]
    names = [path.name for path in written]
    for page, description in DESCRIPTIONS.items():
        shots = [name for name in names if name.startswith(page + "-")]
        if not shots:
            continue
        lines += [f"## {page.replace('-', ' ').capitalize()}", "", description, ""]
        for name in shots:
            width = name.removeprefix(page + "-").removesuffix(".png")
            lines.append(f"![{page}, {width} px wide]({name})")
        lines.append("")
    index = out / "README.md"
    index.write_text("\n".join(lines), encoding="utf-8")
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, default=OUT, help=f"folder for the PNGs (default {OUT})"
    )
    arguments = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is not installed (bash scripts/setup.sh --test)", file=sys.stderr)
        return 2
    for path in shoot_all(arguments.out):
        print(f"{path.relative_to(arguments.out)}: {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
