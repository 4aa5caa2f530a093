"""`quorum initiative paper-form SLUG MS --lang CODE [--via CODE] --out FILE`: the same form
as the public address serves, written to a file."""

from __future__ import annotations

import io
from io import StringIO
from pathlib import Path

import pytest
import zxingcpp
from django.core.management import CommandError, call_command
from pypdf import PdfReader

from quorum.initiatives.models import Initiative
from quorum.initiatives.services import partner_add

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("initiative", "paper-form", *args, stdout=out)
    return out.getvalue().strip()


def codes_in(pdf: bytes) -> list[str]:
    reader = PdfReader(io.BytesIO(pdf))
    return [
        code.text
        for page in reader.pages
        for image in page.images
        for code in zxingcpp.read_barcodes(image.image)
    ]


def test_the_form_is_written_to_the_file_with_the_partners_code(
    collecting_initiative, tmp_path: Path, settings
) -> None:
    settings.QUORUM_BASE_URL = "https://sign.example.eu"
    partner_add(initiative=collecting_initiative, code="edri", name="European Digital Rights")
    out = tmp_path / "pl.pdf"
    said = run("clean-air", "pl", "--lang", "pl", "--via", "edri", "--out", str(out))
    assert said.splitlines() == [
        f"clean-air: the paper form for PL in pl is in {out}",
        "  its QR code leads to https://sign.example.eu/i/clean-air/sign/pl/?via=edri",
    ]
    pdf = out.read_bytes()
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 2
    assert codes_in(pdf) == ["https://sign.example.eu/i/clean-air/sign/pl/?via=edri"]
    assert "ECI(2025)000007" in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


def test_a_base_url_and_an_unknown_partner(collecting_initiative, tmp_path: Path) -> None:
    out = tmp_path / "form.pdf"
    said = run(
        "clean-air", "EL", "--lang", "el", "--via", "nobody", "--out", str(out),
        "--base-url", "https://print.example.org/",
    )  # fmt: skip
    assert said.endswith("leads to https://print.example.org/i/clean-air/sign/el/")
    assert codes_in(out.read_bytes()) == ["https://print.example.org/i/clean-air/sign/el/"]


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["no-such", "DE"], "no initiative 'no-such'"),
        (["clean-air", "UK"], "no Member State 'UK'"),
        (["clean-air", "DE", "--base-url", "ftp://x"], "--base-url must start with https://"),
        (["clean-air", "DE", "--out", "/nonexistent/dir/f.pdf"], "cannot write"),
    ],
)
def test_wrong_arguments_are_refused_with_the_reason(
    collecting_initiative, tmp_path: Path, args: list[str], reason: str
) -> None:
    out = ["--out", str(tmp_path / "f.pdf")] if "--out" not in args else []
    with pytest.raises(CommandError, match=reason):
        run(*args, "--lang", "en", *out)
    assert not (tmp_path / "f.pdf").exists()


def test_a_language_the_site_does_not_speak_is_refused(collecting_initiative, tmp_path) -> None:
    with pytest.raises(CommandError, match="invalid choice"):
        run("clean-air", "DE", "--lang", "xx", "--out", str(tmp_path / "f.pdf"))


def test_no_form_for_an_initiative_that_is_not_collecting(collecting_initiative, tmp_path) -> None:
    Initiative.objects.filter(pk=collecting_initiative.pk).update(status="collection_closed")
    with pytest.raises(CommandError, match="not collecting statements of support"):
        run("clean-air", "DE", "--lang", "en", "--out", str(tmp_path / "f.pdf"))
    assert not (tmp_path / "f.pdf").exists()
