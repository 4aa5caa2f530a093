"""No public page can open a camera or a microphone, and no signing page asks for a file.

Every public page — the register, an initiative, the signing pages of every Member State, the
receipt page, the error pages — carries a Content-Security-Policy and a Permissions-Policy
that denies camera and microphone.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.db import OperationalError
from django.test import Client

import quorum
from quorum.rules import scheme

pytestmark = pytest.mark.django_db

TEMPLATES = Path(quorum.__file__).parent / "templates"
STATIC = Path(quorum.__file__).parent / "static"
# A file field, a capture attribute (camera on phones), or an image/audio/video chooser.
FILE_OR_CAPTURE = re.compile(
    r"""type\s*=\s*["']?file|\scapture[\s=>]|accept\s*=\s*["']?(image|audio|video)""",
    re.IGNORECASE,
)
MEDIA_API = re.compile(r"getUserMedia|mediaDevices|ImageCapture|MediaRecorder|webkitSpeech")


def policy(header: str) -> dict[str, str]:
    """``camera=(), microphone=()`` → {"camera": "()", "microphone": "()"}."""
    pairs = (item.strip().split("=", 1) for item in header.split(",") if "=" in item)
    return {name.strip(): value.strip() for name, value in pairs}


def assert_no_camera_no_microphone(response, where: str) -> None:
    assert "Content-Security-Policy" in response, where
    assert "default-src 'self'" in response["Content-Security-Policy"], where
    assert "Permissions-Policy" in response, where
    allowed = policy(response["Permissions-Policy"])
    assert allowed.get("camera") == "()", (where, response["Permissions-Policy"])
    assert allowed.get("microphone") == "()", (where, response["Permissions-Policy"])


def public_pages() -> list[str]:
    codes = [code.lower() for code in scheme("eci").member_state_codes()]
    return [
        "/",
        "/?q=air",
        "/i/clean-air/",
        "/i/clean-air/sign/",
        "/i/clean-air/sign/?nationality=XX",
        *(f"/i/clean-air/sign/{code}/" for code in codes),
        "/i/clean-air/receipt/",
        f"/i/clean-air/receipt/?receipt={'ab' * 32}",
        "/i/clean-air/receipt/?receipt=not-a-receipt",
        "/i/no-such-initiative/",
        "/no-such-page/",
        "/account/login/",
    ]


def test_every_public_page_denies_camera_and_microphone(collecting_initiative) -> None:
    client = Client(raise_request_exception=False)
    for url in public_pages():
        response = client.get(url)
        assert response.status_code < 500, url
        assert_no_camera_no_microphone(response, url)


def test_every_error_page_denies_camera_and_microphone(
    collecting_initiative, monkeypatch, settings
) -> None:
    import quorum.initiatives.views

    settings.DEBUG = False
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    answers = {
        404: client.get("/no-such-page/"),
        400: client.generic(
            "POST",
            "/i/clean-air/sign/de/",
            b"first_names=Anna",
            content_type="application/x-www-form-urlencoded; charset=utf-16",
        ),
        413: client.post(
            "/i/clean-air/sign/de/", {"first_names": "x" * (settings.QUORUM_BODY_LIMIT + 1)}
        ),
        405: client.put("/api/v1/initiatives"),
    }

    def broken(*args, **kwargs):
        raise OperationalError("the database is gone")

    monkeypatch.setattr(quorum.initiatives.views, "initiative_search", broken)
    answers[500] = client.get("/")
    for status, response in answers.items():
        assert response.status_code == status, (status, response.status_code)
        assert_no_camera_no_microphone(response, str(status))


def test_the_signing_templates_have_no_file_field_and_no_capture_attribute() -> None:
    templates = [*TEMPLATES.glob("signing/*.html"), *TEMPLATES.glob("ledger/*.html")]
    assert any(t.name == "form.html" for t in templates)
    for template in [*templates, TEMPLATES / "base.html"]:
        text = template.read_text(encoding="utf-8")
        assert not FILE_OR_CAPTURE.search(text), template.name
    for script in STATIC.rglob("*.js"):
        assert not MEDIA_API.search(script.read_text(encoding="utf-8")), script.name


def test_no_rendered_sign_form_of_any_member_state_has_a_file_field(collecting_initiative) -> None:
    client = Client()
    for code in scheme("eci").member_state_codes():
        page = client.get(f"/i/clean-air/sign/{code.lower()}/").content.decode()
        assert "<form" in page, code
        assert 'enctype="multipart' not in page, code
        assert not FILE_OR_CAPTURE.search(page), code
        kinds = set(re.findall(r"<input[^>]*\stype=\"([a-z]+)\"", page))
        assert kinds <= {"text", "date", "checkbox", "hidden", "search"}, (code, kinds)


def test_the_checks_would_see_a_camera_or_a_file_field() -> None:
    # The guards above must be able to fail.
    assert FILE_OR_CAPTURE.search('<input type="file" name="photo">')
    assert FILE_OR_CAPTURE.search('<input type=file accept="image/*" capture="user">')
    assert FILE_OR_CAPTURE.search('<input name="x" capture>')
    assert MEDIA_API.search("navigator.mediaDevices.getUserMedia({video: true})")
    assert policy("camera=(self), microphone=()")["camera"] == "(self)"
