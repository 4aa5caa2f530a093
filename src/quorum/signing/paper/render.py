"""A paper form on one A4 sheet, both sides: the form and its rows in front; the way to sign
online, the privacy statement and, room left, more rows on the back (Annex III, footnote 1:
"The form shall be printed on one sheet. Group of organisers may use a double-sided sheet.").

fpdf2 draws it with DejaVu Sans embedded (subset: only the glyphs the form uses), so every
script of the 24 languages prints and a PDF reader can copy the text. Nothing is laid out per
Member State: the columns are whatever the form's content lists, landscape when there are more
than six of them (Part A's names, four parts of the address and the date of birth, then the
date and the signature). When an initiative's texts are long, the whole sheet is drawn again
smaller until it fits.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import segno
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from quorum.signing.paper.content import PaperForm
from quorum.signing.paper.fonts import FAMILY, font_files

# fontTools tells of every subset it makes at INFO, some forty lines a form: not news for a log.
logging.getLogger("fontTools").setLevel(logging.WARNING)

MARGIN = 12.0  # mm, every side
FOOTER_SPACE = 14.0  # mm above the bottom edge kept for the footer
#: Room for one signatory in capitals, by hand.
ROW_HEIGHT = 9.0
#: Fewer rows than this on the front and the sheet is drawn again smaller.
MIN_ROWS = 5
#: Rows on the back, under the privacy statement, only when at least this many fit.
BACK_MIN_ROWS = 3
HEADER_SIZE = 7.0  # points, the column heads at most
MIN_HEADER_SIZE = 5.0
CELL_PAD = 0.8  # mm
QR_SIZE = 32.0
#: Sizes tried in turn: the first at which the sheet fits is kept.
SCALES = (1.0, 0.92, 0.84, 0.76, 0.68, 0.6)
PORTRAIT_MAX_COLUMNS = 6
#: The share of the width each column takes (names and numbers get more, a postal code less).
WEIGHTS = {
    "first_names": 1.5,
    "family_names": 1.5,
    "residence.street": 1.7,
    "residence.postal_code": 0.8,
    "residence.city": 1.2,
    "residence.country": 1.0,
    "date_of_birth": 1.0,
    "id_number": 1.6,
    "id_type": 1.3,
    "date": 0.8,
    "signature": 1.3,
}
#: The column that carries the mark of the residence footnote (Germany's).
FOOTNOTE_COLUMN = "residence.street"
FOOTNOTE_MARK = "*"


class _Sheet(FPDF):
    """A4 with the form's footer (number, Member State, page) on both sides."""

    def __init__(self, form: PaperForm, *, landscape: bool, scale: float) -> None:
        super().__init__(orientation="L" if landscape else "P", unit="mm", format="A4")
        self.form = form
        self.scale = scale
        for style, path in font_files().items():
            self.add_font(FAMILY, style, str(path))
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(False)
        self.set_lang(form.language)
        self.set_title(form.document_title)
        self.set_creator("Quorum")
        self.set_producer("Quorum")

    def font(self, size: float, *, bold: bool = False) -> float:
        """Set the font at ``size`` points times the sheet's scale; the line height in mm."""
        points = size * self.scale
        self.set_font(FAMILY, "B" if bold else "", points)
        return points * 0.3528 * 1.25

    def paragraph(self, text: str, size: float, *, bold: bool = False, after: float = 1.0) -> None:
        height = self.font(size, bold=bold)
        self.multi_cell(0, height, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
        self.ln(after)

    def lines(self, width: float, height: float, text: str) -> int:
        """How many lines ``text`` takes in a cell ``width`` wide, in the current font."""
        lines = self.multi_cell(width, height, text, dry_run=True, output="LINES", align="L")
        return len(lines) if isinstance(lines, list) else 1

    def footer(self) -> None:
        self.set_y(-FOOTER_SPACE + 4)
        height = self.font(7)
        page = self.form.page_label.replace("{page}", str(self.page_no()))
        page = page.replace("{pages}", self.str_alias_nb_pages)
        self.cell(0, height, f"{self.form.footer} · {page}", align="C")

    def close_fonts(self) -> None:
        """Close the font files: ``output()`` does, a sheet drawn again smaller never gets there."""
        for font in self.fonts.values():
            close = getattr(font, "close", None)
            if close is not None:
                close()

    @property
    def bottom(self) -> float:
        return self.h - FOOTER_SPACE


def _front(sheet: _Sheet, form: PaperForm, *, min_rows: int) -> bool:
    """The form, the declaration and as many rows as fit; False when fewer than ``min_rows``
    do or the footnotes run into the footer."""
    sheet.add_page()
    sheet.paragraph(form.title, 13, bold=True, after=0.5)
    sheet.paragraph(form.part_note, 7.5)
    sheet.paragraph(form.mandatory, 8, bold=True, after=1.5)
    sheet.paragraph(form.organisers_heading, 8.5, bold=True, after=0.5)
    for number, item in enumerate(form.items, start=1):
        _item(sheet, number, item.label, item.value)
    sheet.ln(1.5)
    _declaration(sheet, form)
    return _table(sheet, form, min_rows=min_rows)


def _declaration(sheet: _Sheet, form: PaperForm, *, dry_run: bool = False) -> float:
    """The heading and the signatories' declaration; their height (nothing drawn on a dry run)."""
    total = 0.0
    for text, size, bold, after in (
        (form.signatories_heading, 8.5, True, 0.5),
        (f"“{form.declaration}”", 8, False, 1.5),
    ):
        if dry_run:
            height = sheet.font(size, bold=bold)
            total += sheet.lines(0, height, text) * height + after
        else:
            sheet.paragraph(text, size, bold=bold, after=after)
    return total


def _item(sheet: _Sheet, number: int, label: str, value: str) -> None:
    """``1. Label: value``, the value running on under the label (a hanging indent)."""
    height = sheet.font(8, bold=True)
    indent = 6 * sheet.scale
    sheet.cell(indent, height, f"{number}.")
    sheet.set_left_margin(MARGIN + indent)
    sheet.write(height, label + " ")
    sheet.font(8)
    sheet.write(height, value)
    sheet.ln(height + 0.4)
    sheet.set_left_margin(MARGIN)
    sheet.set_x(MARGIN)


def _labels(form: PaperForm) -> list[str]:
    mark = f" {FOOTNOTE_MARK}" if form.footnotes else ""
    return [
        column.label + (mark if column.name == FOOTNOTE_COLUMN else "") for column in form.columns
    ]


def _widths(sheet: _Sheet, form: PaperForm) -> list[float]:
    width = sheet.w - 2 * MARGIN
    total = sum(WEIGHTS[column.name] for column in form.columns)
    return [width * WEIGHTS[column.name] / total for column in form.columns]


def _header_size(sheet: _Sheet, labels: list[str], widths: list[float]) -> float:
    """The largest size up to HEADER_SIZE at which every word of every column's label fits
    its column: a label wraps between words, never inside one ("identifikacijski")."""
    size = HEADER_SIZE
    for label, width in zip(labels, widths, strict=True):
        sheet.font(HEADER_SIZE, bold=True)
        widest = max((sheet.get_string_width(word) for word in label.split()), default=0.0)
        room = width - 2 * (CELL_PAD + sheet.c_margin) - 0.3
        if widest > room:
            size = min(size, HEADER_SIZE * room / widest)
    return max(size, MIN_HEADER_SIZE)


@dataclass(frozen=True)
class _Plan:
    """The table as it would be drawn from ``top``: column widths and heads, their font size,
    the header's height and how many rows fit above the footnotes."""

    top: float
    widths: list[float]
    labels: list[str]
    size: float
    line: float
    header: float
    rows: int


def _plan(sheet: _Sheet, form: PaperForm, top: float) -> _Plan:
    widths = _widths(sheet, form)
    labels = _labels(form)
    size = _header_size(sheet, labels, widths)
    line = sheet.font(size, bold=True)
    lines = [
        sheet.lines(w - 2 * CELL_PAD, line, label) for w, label in zip(widths, labels, strict=True)
    ]
    header = max(lines) * line + 2 * CELL_PAD
    room = sheet.bottom - _footnotes_height(sheet, form.footnotes) - top - header
    return _Plan(top, widths, labels, size, line, header, max(0, int(room // ROW_HEIGHT)))


def _table(sheet: _Sheet, form: PaperForm, *, min_rows: int) -> bool:
    """The column heads and as many rows as fit above the footnotes; False below ``min_rows``."""
    plan = _plan(sheet, form, sheet.get_y())
    if plan.rows < min_rows:
        return False
    _draw_table(sheet, form, plan)
    return sheet.get_y() <= sheet.bottom


def _draw_table(sheet: _Sheet, form: PaperForm, plan: _Plan) -> None:
    sheet.font(plan.size, bold=True)
    x = MARGIN
    for w, label in zip(plan.widths, plan.labels, strict=True):
        sheet.rect(x, plan.top, w, plan.header)
        sheet.set_xy(x + CELL_PAD, plan.top + CELL_PAD)
        sheet.multi_cell(w - 2 * CELL_PAD, plan.line, label, align="L")
        x += w
    for row in range(plan.rows):
        x = MARGIN
        y = plan.top + plan.header + row * ROW_HEIGHT
        for w in plan.widths:
            sheet.rect(x, y, w, ROW_HEIGHT)
            x += w
    sheet.set_xy(MARGIN, plan.top + plan.header + plan.rows * ROW_HEIGHT + 1)
    for note in form.footnotes:
        sheet.paragraph(f"{FOOTNOTE_MARK} {note}", 6.8, after=0.3)


def _footnotes_height(sheet: _Sheet, notes: Iterable[str]) -> float:
    total = 0.0
    for note in notes:
        height = sheet.font(6.8)
        total += sheet.lines(0, height, f"{FOOTNOTE_MARK} {note}") * height + 0.3
    return total + 1 if total else 0.0


def _qr_png(address: str) -> io.BytesIO:
    """The address as a QR code: a PNG of whole pixels per module, drawn without smoothing."""
    png = io.BytesIO()
    segno.make(address, error="m", micro=False).save(png, kind="png", scale=10, border=4)
    png.seek(0)
    return png


def _back(sheet: _Sheet, form: PaperForm) -> bool:
    """The way to sign online (the code, the address beside it), the privacy statement, then
    more rows under the declaration again, as many as fit (none when the texts are long)."""
    sheet.add_page()
    top = sheet.get_y()
    size = QR_SIZE * max(sheet.scale, 0.8)
    sheet.image(_qr_png(form.online_url), x=MARGIN, y=top, w=size, h=size)
    sheet.set_left_margin(MARGIN + size + 4)
    sheet.set_xy(MARGIN + size + 4, top + 2)
    sheet.paragraph(form.online_note, 9, bold=True, after=1)
    sheet.paragraph(form.online_url, 9)
    sheet.set_left_margin(MARGIN)
    sheet.set_xy(MARGIN, max(sheet.get_y(), top + size) + 4)
    sheet.paragraph(form.privacy_heading, 9, bold=True, after=0.5)
    for text in form.privacy:
        sheet.paragraph(text, 7.5, after=1.5)
    if sheet.get_y() > sheet.bottom:
        return False
    # More rows, under the declaration again, when enough fit; else the back ends here.
    top = sheet.get_y() + 2
    plan = _plan(sheet, form, top + _declaration(sheet, form, dry_run=True))
    if plan.rows >= BACK_MIN_ROWS:
        sheet.set_y(top)
        _declaration(sheet, form)
        _draw_table(sheet, form, plan)
    return sheet.get_y() <= sheet.bottom


def _draw(form: PaperForm, *, scale: float, created: datetime | None, strict: bool) -> bytes | None:
    """The sheet at ``scale``; None when it does not fit (``strict``), else drawn anyway."""
    sheet = _Sheet(form, landscape=len(form.columns) > PORTRAIT_MAX_COLUMNS, scale=scale)
    try:
        if created is not None:
            # When the initiative last changed, not the moment of drawing: the same form is then
            # the same file, which caches and their ETags can tell.
            sheet.set_creation_date(created)
        fits = _front(sheet, form, min_rows=MIN_ROWS if strict else 1)
        if strict and not fits:
            return None
        fits = _back(sheet, form)
        return bytes(sheet.output()) if fits or not strict else None
    finally:
        sheet.close_fonts()


def render(form: PaperForm, *, created: datetime | None = None) -> bytes:
    """The form as a PDF of two A4 pages (one sheet, both sides)."""
    for scale in SCALES:
        pdf = _draw(form, scale=scale, created=created, strict=True)
        if pdf is not None:
            return pdf
    # Texts within Annex II's limits fit at the smallest size; anything longer runs off the
    # page rather than onto a third one.
    pdf = _draw(form, scale=SCALES[-1], created=created, strict=False)
    assert pdf is not None
    return pdf
