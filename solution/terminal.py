"""Drawing on a terminal: sparklines, plain tables, wrapped sentences, colour when it is wanted.

    >>> sparkline([0, 1, 2, 3, 4, 5, 6, 7], ascii=True)
    '_.-=+*#@'
"""

from __future__ import annotations

import os
import re
import sys
import textwrap
from typing import Callable, Sequence

BLOCKS = "▁▂▃▄▅▆▇█"
ASCII_BLOCKS = "_.-=+*#@"


def can_encode(text: str, stream=None) -> bool:
    """Can this stream (default stdout) print the text? A terminal set to ASCII cannot print ▁▂▃."""
    encoding = getattr(stream or sys.stdout, "encoding", None) or "ascii"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def sparkline(values: Sequence[float | None], low: float | None = None, high: float | None = None,
              ascii: bool | None = None) -> str:
    """One character per value, eight levels from low to high; None (no data) is a space.
    ascii=None picks block characters when stdout can print them, plain ASCII otherwise."""
    if ascii is None:
        ascii = not can_encode(BLOCKS)
    levels = ASCII_BLOCKS if ascii else BLOCKS
    present = [v for v in values if v is not None]
    if not present:
        return " " * len(values)
    low = min(present) if low is None else low
    high = max(present) if high is None else high
    span = (high - low) or 1.0
    return "".join(" " if v is None else
                   levels[min(len(levels) - 1, max(0, int((v - low) / span * len(levels))))]
                   for v in values)


def squeeze(values: Sequence[float | None], width: int, how: Callable = max) -> list[float | None]:
    """Fold a long series into `width` buckets (max by default: a spike must stay visible)."""
    if len(values) <= width:
        return list(values)
    out = []
    for i in range(width):
        chunk = [v for v in values[i * len(values) // width:(i + 1) * len(values) // width]
                 if v is not None]
        out.append(how(chunk) if chunk else None)
    return out


def table(rows: Sequence[Sequence[object]], header: Sequence[str] | None = None) -> str:
    """A plain text table: left-aligned text, right-aligned numbers, two spaces between columns."""
    cells = [[str(c) for c in row] for row in ([header] if header else []) + list(rows)]
    if not cells:
        return ""
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    numeric = [all(_looks_numeric(row[i]) for row in cells[1 if header else 0:]) for i in range(len(widths))]
    lines = []
    for n, row in enumerate(cells):
        parts = [c.rjust(w) if numeric[i] and not (header and n == 0) else c.ljust(w)
                 for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(parts).rstrip())
        if header and n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _looks_numeric(text: str) -> bool:
    stripped = text.replace(",", "").replace("%", "").replace("x", "").replace("s", "").strip()
    try:
        float(stripped)
    except ValueError:
        return text.strip() in ("-", "")
    return True


def wrap(text: str, width: int = 80) -> list[str]:
    """A sentence wrapped to the screen, continuation lines indented, never splitting a number
    from its unit ("69.5 %", "4 min")."""
    glued = re.sub(r"(\d) (%|min\b|points?\b)", "\\1\u00a0\\2", text)
    return [line.replace("\u00a0", " ") for line in
            textwrap.wrap(glued, width=width, subsequent_indent="  ", break_on_hyphens=False)]


def use_color(stream=None) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ


def plural(count: int, word: str) -> str:
    """The count and the word, with an s unless the count is one.

    >>> plural(1, "window"), plural(3, "spell")
    ('1 window', '3 spells')
    """
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
