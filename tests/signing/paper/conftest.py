"""What the paper-form tests read back: a PDF opened with pypdf, its text and its QR codes.

The codes are decoded for real: the image embedded on the form is taken out of the PDF
(pypdf, Pillow) and read by zxing-cpp, as a phone's camera would read the printed sheet.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import zxingcpp
from pypdf import PdfReader

from quorum.initiatives.services import partner_add
from quorum.signing.paper.views import forget_paper_forms

BASE_URL = "https://quorum.example.eu"


@dataclass(frozen=True)
class ReadBack:
    pages: int
    #: Width and height of each page in points.
    sizes: list[tuple[float, float]]
    text: str
    #: Every QR code found in the images of the PDF, decoded.
    codes: list[str]

    @property
    def compact(self) -> str:
        """The text without any white space: a label wrapped over lines is still one string."""
        return "".join(self.text.split())

    def says(self, text: str) -> bool:
        return "".join(text.split()) in self.compact

    def has_words(self, text: str) -> bool:
        """``text`` as whole words (a short label such as "Ort" is inside other words)."""
        spaced = " ".join(self.text.split())
        return re.search(rf"(?<!\w){re.escape(' '.join(text.split()))}(?!\w)", spaced) is not None


def read_back(pdf: bytes) -> ReadBack:
    reader = PdfReader(io.BytesIO(pdf))
    codes = [
        barcode.text
        for page in reader.pages
        for image in page.images
        for barcode in zxingcpp.read_barcodes(image.image)
    ]
    return ReadBack(
        pages=len(reader.pages),
        sizes=[(float(page.mediabox.width), float(page.mediabox.height)) for page in reader.pages],
        text="\n".join(page.extract_text() for page in reader.pages),
        codes=codes,
    )


@pytest.fixture
def read_pdf() -> Callable[[bytes], ReadBack]:
    return read_back


@pytest.fixture
def base_url() -> str:
    return BASE_URL


@pytest.fixture
def with_partner(collecting_initiative):
    """The demo initiative with one coalition partner, ``edri``."""
    partner_add(initiative=collecting_initiative, code="edri", name="European Digital Rights")
    return collecting_initiative


@pytest.fixture(autouse=True)
def _no_form_from_an_earlier_test() -> Iterator[None]:
    # Row ids come back after a test's rollback: another test's form must not be served.
    forget_paper_forms()
    yield
    forget_paper_forms()
