"""The 27 Member States on a tile-grid map, shaded by progress toward each one's minimum.

Drawn on the server as SVG by the partial ``ledger/_progress_map.html``: no script, no tiles
from elsewhere and no geometry to ship. Each Member State is one square of the same size on a
grid that keeps neighbours near each other, so that Malta and Luxembourg are as easy to find,
to read and to point at on a phone as France or Poland, and 27 squares fit a 320 px screen
with their text still at least 12 px. The grid, by column and row (the gaps are the
neighbours that are not Member States: Norway, Switzerland, the Western Balkans, ...)::

          0    1    2    3    4    5    6
     0    .    .    .    .    .    FI   .
     1    .    .    .    .    SE   EE   .
     2    IE   .    .    DK   .    LV   .
     3    .    .    NL   DE   PL   LT   .
     4    .    BE   LU   CZ   SK   .    .
     5    .    FR   AT   SI   HU   RO   .
     6    PT   ES   IT   HR   .    BG   .
     7    .    .    MT   .    .    EL   CY

A square's shade is the step of its count against its minimum (:data:`STEPS`: none yet, under
25 %, 50 %, 75 %, 100 %, reached), and its text is its code and the share in whole per cent, or
a check mark once the minimum is reached; a reached square also has a thick border, so that
colour is never the only cue. Every step's text colour has at least 4.5:1 contrast on its fill
(WCAG AA for text): dark on the light steps, white on the dark ones. In forced colours the
stylesheet draws every square in the system's colours instead (reached ones highlighted), and
the text says the rest.

The picture is not the only way to read it: the Member State table beside it on the page gives
every number, and each square's ``<title>`` names the Member State with its count and minimum.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from quorum.core.i18n import member_state_name


class Progress(Protocol):
    """What the map needs of a Member State's count (``ledger.selectors.StateCount``)."""

    @property
    def code(self) -> str: ...
    @property
    def count(self) -> int: ...
    @property
    def threshold(self) -> int: ...
    @property
    def reached(self) -> bool: ...


#: Where each Member State's square is: (column, row), as in the grid above.
GRID: dict[str, tuple[int, int]] = {
    "FI": (5, 0),
    "SE": (4, 1),
    "EE": (5, 1),
    "IE": (0, 2),
    "DK": (3, 2),
    "LV": (5, 2),
    "NL": (2, 3),
    "DE": (3, 3),
    "PL": (4, 3),
    "LT": (5, 3),
    "BE": (1, 4),
    "LU": (2, 4),
    "CZ": (3, 4),
    "SK": (4, 4),
    "FR": (1, 5),
    "AT": (2, 5),
    "SI": (3, 5),
    "HU": (4, 5),
    "RO": (5, 5),
    "PT": (0, 6),
    "ES": (1, 6),
    "IT": (2, 6),
    "HR": (3, 6),
    "BG": (5, 6),
    "MT": (2, 7),
    "EL": (5, 7),
    "CY": (6, 7),
}
COLUMNS = 1 + max(column for column, _ in GRID.values())
ROWS = 1 + max(row for _, row in GRID.values())

# In the SVG's own coordinates. 7 squares of 44 with gaps of 4 and a margin for the reached
# squares' thick border make a drawing 338 wide: on a 320 px phone (a 290 px column) it is
# drawn at 0.86 of its size, so that the 15-unit share is 12.9 px and the code 13.7 px; the
# stylesheet keeps it at most 360 px wide on a larger screen.
TILE = 44
GAP = 4
MARGIN = 3
CODE_FONT_SIZE = 16
SHARE_FONT_SIZE = 15
WIDTH = 2 * MARGIN + COLUMNS * (TILE + GAP) - GAP
HEIGHT = 2 * MARGIN + ROWS * (TILE + GAP) - GAP

DARK_TEXT = "#0b0c0c"
LIGHT_TEXT = "#ffffff"
BORDER = "#505a5f"  # 6.5:1 on the lightest fill and 7:1 on the page: every square's edge shows
REACHED_BORDER = "#0b0c0c"
BORDER_WIDTH = 1
REACHED_BORDER_WIDTH = 3


@dataclass(frozen=True)
class Step:
    """One shade of the scale: Member States with a share from ``low`` to under ``high`` per
    cent of their minimum (step 0: none received; the last step: the minimum reached)."""

    number: int
    fill: str
    label_color: str
    low: int
    high: int | None


STEPS: tuple[Step, ...] = (
    Step(0, "#f3f5f8", DARK_TEXT, 0, 0),
    Step(1, "#d6e4f3", DARK_TEXT, 0, 25),
    Step(2, "#a6c6e8", DARK_TEXT, 25, 50),
    Step(3, "#6b9ed6", DARK_TEXT, 50, 75),
    Step(4, "#1d5fa8", LIGHT_TEXT, 75, 100),
    Step(5, "#0f7a52", LIGHT_TEXT, 100, None),  # the site's colour for "reached" (success)
)
REACHED = STEPS[-1].number


def step_of(count: int, threshold: int, *, reached: bool) -> int:
    """The step of ``count`` statements against a minimum of ``threshold``.

    Exact, in whole numbers: 9,999 of 10,000 is under 100 %, never rounded up to reached.
    ``reached`` is the count's own verdict (``StateCount.reached``); without a minimum (no
    registration date yet) nothing is reached and every count with some is in the first step.
    """
    if reached:
        return REACHED
    if count <= 0:
        return 0
    if threshold <= 0:
        return 1
    for step in STEPS[1:-1]:
        if step.high is not None and count * 100 < step.high * threshold:
            return step.number
    return STEPS[-2].number  # at or over the minimum but not counted as reached: the last shade


@dataclass(frozen=True)
class Tile:
    code: str
    name: str  # in the active language
    column: int
    row: int
    x: int  # the square's top left corner, in the SVG's coordinates
    y: int
    count: int
    threshold: int
    percent: int  # whole per cent of the minimum, rounded down (under 100 until reached)
    reached: bool
    step: int
    fill: str
    label_color: str

    @property
    def center_x(self) -> float:
        return self.x + TILE / 2

    @property
    def code_y(self) -> int:
        """The baseline of the code, in the upper half."""
        return self.y + 19

    @property
    def share_y(self) -> int:
        """The baseline of the share (or the check mark), in the lower half."""
        return self.y + 37

    @property
    def border(self) -> str:
        return REACHED_BORDER if self.reached else BORDER

    @property
    def border_width(self) -> int:
        return REACHED_BORDER_WIDTH if self.reached else BORDER_WIDTH


@dataclass(frozen=True)
class ProgressMap:
    width: int
    height: int
    tile_size: int
    code_font_size: int
    share_font_size: int
    tiles: list[Tile]
    steps: tuple[Step, ...]
    reached: int
    total: int


def progress_map(rows: Iterable[Progress]) -> ProgressMap:
    """The map of the counts per Member State (``InitiativeCounts.by_member_state``).

    One square per Member State of :data:`GRID`, in the order of ``rows`` (the protocol
    order); a row of a code the grid does not know is left out rather than drawn anywhere.
    """
    tiles = []
    for row in rows:
        place = GRID.get(row.code)
        if place is None:
            continue
        column, line = place
        step = STEPS[step_of(row.count, row.threshold, reached=row.reached)]
        percent = row.count * 100 // row.threshold if row.threshold > 0 else 0
        tiles.append(
            Tile(
                code=row.code,
                name=member_state_name(row.code),
                column=column,
                row=line,
                x=MARGIN + column * (TILE + GAP),
                y=MARGIN + line * (TILE + GAP),
                count=row.count,
                threshold=row.threshold,
                percent=percent if row.reached else min(percent, 99),
                reached=row.reached,
                step=step.number,
                fill=step.fill,
                label_color=step.label_color,
            )
        )
    return ProgressMap(
        width=WIDTH,
        height=HEIGHT,
        tile_size=TILE,
        code_font_size=CODE_FONT_SIZE,
        share_font_size=SHARE_FONT_SIZE,
        tiles=tiles,
        steps=STEPS,
        reached=sum(tile.reached for tile in tiles),
        total=len(tiles),
    )
