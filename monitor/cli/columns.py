"""Text laid out to fit the terminal: tables whose prose columns wrap and whose secondary columns
give way on a narrow screen, and free text wrapped with a hanging indent — all of it printable.

Nothing is ever cut: a value too long for its column wraps onto more lines. Widths count
characters, which is right for the Latin scripts of our feeds (no double-width East Asian text).
Feed text is a stranger's: its control characters and escape sequences are removed before it
reaches a terminal (``printable``), so a title cannot recolour, retitle, hide or reorder output.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from alerts.wording import printable

GAP = "  "             # between columns
NARROWEST = 40         # below this, lay out as if the terminal were this wide

def terminal_width() -> int:
    """Columns of the terminal (``COLUMNS`` wins; 80 when output is not a terminal)."""
    return max(shutil.get_terminal_size().columns, NARROWEST)


@dataclass(frozen=True)
class Column:
    header: str
    wrap_at: int | None = None   # prose: may wrap down to this width; None: never wraps
    give_way: int = 0            # on a narrow terminal the highest goes first; 0: always shown
    right: bool = False          # numbers


def table(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int) -> str:
    """`rows` (cells may hold several lines) under a header, in at most `width` columns when
    the columns that never give way fit. Rows are set apart by a blank line when any of them
    takes more than one line."""
    rows = [[printable(cell) for cell in row] for row in rows]
    natural = [max([len(c.header)] + [len(line) for row in rows for line in row[i].splitlines()])
               for i, c in enumerate(columns)]
    shown = _shown(columns, natural, width)
    widths = _widths(columns, natural, shown, width)
    header = [columns[i].header for i in shown]
    lines = [_join(header, widths, columns, shown), _join(["-" * widths[i] for i in shown],
                                                           widths, columns, shown)]
    blocks = []
    for row in rows:
        cells = [_wrap_cell(row[i], widths[i]) for i in shown]
        height = max(len(cell) for cell in cells)
        blocks.append([_join([cell[n] if n < len(cell) else "" for cell in cells], widths,
                             columns, shown) for n in range(height)])
    spaced = any(len(block) > 1 for block in blocks)
    for index, block in enumerate(blocks):
        if spaced and index:
            lines.append("")
        lines += block
    return "\n".join(lines)


def _least(column: Column, natural: int) -> int:
    return natural if column.wrap_at is None else min(natural, column.wrap_at)


def _shown(columns: Sequence[Column], natural: list[int], width: int) -> list[int]:
    shown = list(range(len(columns)))

    def needed() -> int:
        return sum(_least(columns[i], natural[i]) for i in shown) + len(GAP) * (len(shown) - 1)

    while needed() > width and any(columns[i].give_way for i in shown):
        shown.remove(max((i for i in shown if columns[i].give_way),
                         key=lambda i: columns[i].give_way))
    return shown


def _widths(columns: Sequence[Column], natural: list[int], shown: list[int],
            width: int) -> dict[int, int]:
    """Each shown column's width: what room is left is shared out evenly among the prose
    columns, none growing past its natural width."""
    widths = {i: _least(columns[i], natural[i]) for i in shown}
    spare = width - sum(widths.values()) - len(GAP) * (len(shown) - 1)
    growing = [i for i in shown if widths[i] < natural[i]]
    while spare > 0 and growing:
        share = max(spare // len(growing), 1)
        for i in list(growing):
            grow = min(share, spare, natural[i] - widths[i])
            widths[i] += grow
            spare -= grow
            if widths[i] == natural[i]:
                growing.remove(i)
    return widths


def _wrap_cell(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for line in text.splitlines() or [""]:
        lines += wrap(line, width)
    return lines


def wrap(line: str, width: int) -> list[str]:
    """`line` in pieces of at most `width` characters, continuing at the line's own indent
    (two more when it has one, so a wrapped list entry stays visibly one entry)."""
    body = line.lstrip(" ")
    indent = " " * (len(line) - len(body))
    if len(line) <= width or not body:
        return [line]
    follow = indent + "  " if indent else ""
    return textwrap.wrap(body, width, initial_indent=indent, subsequent_indent=follow,
                         break_long_words=True, break_on_hyphens=False) or [line]


def wrap_lines(lines: Iterable[str], width: int) -> str:
    return "\n".join(piece for line in lines for piece in wrap(printable(line), width))


def _join(cells: Sequence[str], widths: dict[int, int], columns: Sequence[Column],
          shown: list[int]) -> str:
    padded = [cell.rjust(widths[i]) if columns[i].right else cell.ljust(widths[i])
              for cell, i in zip(cells, shown, strict=True)]
    return GAP.join(padded).rstrip()
