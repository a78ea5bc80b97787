"""Small helpers that more than one lab truly shares, so that no lab carries a copy.

Nothing here is an operations idea of its own; each lab file explains the idea it uses:
- `nearest_rank`: the percentile definition the labs print (and say they print);
- `percent`: how every lab prints a share, so the handouts can quote it;
- `trace_fraction`: deterministic sampling by a hash of the trace id (labs 1 and 3);
- `parse_rfc3339`: a log timestamp back to seconds (labs 1 and 2);
- `open_log_file`, `read_jsonl`: read a JSON-lines log, keeping the good lines and counting the bad
  (labs 1 and 2);
- `sparkline`, `table`, `svg_chart`, `html_page`: how the labs draw;
- argparse value types that refuse bad settings with the reason, `parse_command_line` that says
  where a misplaced option goes, and `run_cli` for a clean exit.
"""

from __future__ import annotations

import argparse
import html
import json
import math
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterable, Sequence


# ── numbers ─────────────────────────────────────────────────────────────────────────────────────

def nearest_rank(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0 < q <= 100) by the nearest-rank method: the smallest value with at
    least q % of the values at or below it. Always a value that was observed.

    >>> nearest_rank([15, 20, 35, 40, 50], 40)   # Wikipedia, "Percentile", nearest-rank example
    20
    >>> nearest_rank([15, 20, 35, 40, 50], 100)
    50
    """
    if not values:
        raise ValueError("nearest_rank() of no values")
    if not 0 < q <= 100:
        raise ValueError(f"percentile must be in (0, 100], not {q}")
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


def percent(share: float | None, digits: int = 1) -> str:
    """A share as every lab prints it: percent(0.505) == '50.5 %'; '-' when there is no value.

    >>> percent(0.505), percent(0.79, 0), percent(None)
    ('50.5 %', '79 %', '-')
    """
    if share is None or math.isnan(share):
        return "-"
    return f"{100 * share:.{digits}f} %"


def trace_fraction(trace_id: str) -> float:
    """A trace id mapped to [0, 1): the same on every machine, in every process.

    Keep a trace when trace_fraction(trace_id) < rate. Like OpenTelemetry's TraceIdRatioBased
    sampler, it reads the low 8 bytes of the (random) trace id, so every service that samples
    at the same rate keeps the same traces: whole stories, never half of one.

    >>> trace_fraction("4bf92f3577b34da6a3ce929d0e0e4736")
    0.6398...
    """
    return int(trace_id[-16:], 16) / 2**64


def parse_rfc3339(text: str) -> float:
    """An RFC 3339 timestamp as seconds since the Unix epoch (any offset; ValueError if the text
    is not a timestamp or has no time zone). Python 3.10's fromisoformat does not read a `Z`.

    >>> parse_rfc3339("2026-11-02T09:00:03.123Z") == parse_rfc3339("2026-11-02T10:00:03.123+01:00")
    True
    """
    moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    if moment.tzinfo is None:
        raise ValueError(f"timestamp without a time zone: {text!r}")
    return round(moment.timestamp(), 6)


# ── reading a JSON-lines log ────────────────────────────────────────────────────────────────────

@dataclass
class JsonLines:
    records: list[dict] = field(default_factory=list)
    bad: int = 0                                          # lines skipped
    bad_lines: list[int] = field(default_factory=list)    # their numbers (first few)
    reasons: dict[str, int] = field(default_factory=dict)

    def summary(self, path: str) -> str:
        """One line for stderr: how many lines were skipped, why, and where the first ones are."""
        why = ", ".join(f"{n} {reason}" for reason, n in sorted(self.reasons.items()))
        where = ", ".join(map(str, self.bad_lines))
        more = ", ..." if self.bad > len(self.bad_lines) else ""
        return f"{path}: skipped {self.bad} bad line(s) ({why}); first at line {where}{more}"


class LogReadError(Exception):
    """The log cannot be read at all: missing, unreadable, or without one usable line."""


@contextmanager
def open_log_file(path: str):
    """Open a log file for reading bytes; a missing, unreadable or directory path becomes one
    LogReadError that says which and why, never a traceback."""
    try:
        stream = open(path, "rb")
    except FileNotFoundError:
        raise LogReadError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise LogReadError(f"{path}: is a directory, not a log file") from None
    except OSError as exc:
        raise LogReadError(f"{path}: cannot read ({exc.strerror})") from None
    with stream:
        yield stream


def read_jsonl(path: str, required: Iterable[str] = (), keep: Callable[[dict], bool] | None = None,
               max_listed: int = 5) -> JsonLines:
    """Read a JSON-lines file: one JSON object per line. Lines that are not JSON, not an object,
    not UTF-8, or lack a `required` top-level key are skipped and counted, never fatal: a
    truncated last line or a stray binary blob must not cost the rest of the log.
    `keep` filters the good records (for example, only one event name) without counting them bad.
    """
    required = tuple(required)
    result = JsonLines()

    def skip(number: int, reason: str) -> None:
        result.bad += 1
        result.reasons[reason] = result.reasons.get(reason, 0) + 1
        if len(result.bad_lines) < max_listed:
            result.bad_lines.append(number)

    with open_log_file(path) as stream:
        for number, raw in enumerate(stream, 1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError:
                skip(number, "not UTF-8")
                continue
            except ValueError:
                skip(number, "not JSON")
                continue
            if not isinstance(record, dict):
                skip(number, "not an object")
            elif any(key not in record for key in required):
                skip(number, "missing fields")
            elif keep is None or keep(record):
                result.records.append(record)
    return result


# ── drawing ─────────────────────────────────────────────────────────────────────────────────────

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


def use_color(stream=None) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ


def svg_chart(values: Sequence[float | None], title: str, threshold: float | None = None,
              shade: Iterable[int] = (), width: int = 720, height: int = 120,
              unit: str = "", x_label: str = "") -> str:
    """An inline SVG line chart: one point per value (None leaves a gap), an optional dashed
    threshold line, and shaded columns at the `shade` indices (breaches). No script, no fonts
    from anywhere: it renders offline in any browser."""
    pad, n = 30, max(1, len(values))
    present = [v for v in values if v is not None] + ([threshold] if threshold is not None else [])
    top = max(present, default=1.0) or 1.0
    x = lambda i: pad + i * (width - 2 * pad) / max(1, n - 1)          # noqa: E731
    y = lambda v: height - pad / 2 - v / top * (height - pad * 1.5)    # noqa: E731
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(title)}">',
             f'<text x="{pad}" y="14" font-size="12" font-family="sans-serif">'
             f'{html.escape(title)} (max {top:.3g}{html.escape(unit)})</text>']
    step = (width - 2 * pad) / max(1, n - 1)
    for i in sorted(set(shade)):
        parts.append(f'<rect x="{x(i) - step / 2:.1f}" y="{pad * 0.7:.1f}" width="{max(step, 1):.1f}" '
                     f'height="{height - pad * 1.2:.1f}" fill="#f4b4b4" opacity="0.6"/>')
    segment: list[str] = []
    segments = []
    for i, v in enumerate(values):
        if v is None:
            if segment:
                segments.append(segment)
            segment = []
        else:
            segment.append(f"{x(i):.1f},{y(v):.1f}")
    if segment:
        segments.append(segment)
    for seg in segments:
        parts.append(f'<polyline fill="none" stroke="#1f5fa8" stroke-width="1.2" points="{" ".join(seg)}"/>')
    if threshold is not None:
        parts.append(f'<line x1="{pad}" x2="{width - pad}" y1="{y(threshold):.1f}" y2="{y(threshold):.1f}" '
                     f'stroke="#c0392b" stroke-dasharray="5,4"/>'
                     f'<text x="{width - pad}" y="{y(threshold) - 3:.1f}" font-size="10" text-anchor="end" '
                     f'font-family="sans-serif" fill="#c0392b">threshold {threshold:.3g}</text>')
    if x_label:
        parts.append(f'<text x="{width - pad}" y="{height - 2}" font-size="10" text-anchor="end" '
                     f'font-family="sans-serif">{html.escape(x_label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def html_page(title: str, body: str) -> str:
    """A self-contained HTML page: inline style, no scripts, nothing fetched from the network."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>body{{font-family:sans-serif;margin:2em;"
            "max-width:60em}pre{background:#f6f6f6;padding:1em;overflow-x:auto}"
            "svg{display:block;margin:0.5em 0}</style></head>\n"
            f"<body><h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n")


# ── command lines ───────────────────────────────────────────────────────────────────────────────

def _typed(convert: Callable[[str], float], test: Callable[[float], bool], rule: str):
    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not test(value):
            raise argparse.ArgumentTypeError(f"{text} is out of range: {rule}")
        return value
    parse.__name__ = rule
    return parse


fraction = _typed(float, lambda v: 0.0 <= v <= 1.0, "must be between 0 and 1")
positive_float = _typed(float, lambda v: v > 0 and math.isfinite(v), "must be greater than 0")
positive_int = _typed(int, lambda v: v > 0, "must be a whole number greater than 0")
non_negative_int = _typed(int, lambda v: v >= 0, "must be a whole number, 0 or more")


def parse_command_line(parser: argparse.ArgumentParser, commands, argv: list[str] | None):
    """parser.parse_args(argv) with one kinder error. An option given before the command it belongs
    to (`lab1_logs.py --minutes 150 write`) is named, with where it goes, where argparse would say
    "invalid choice: '150'". `commands` is what parser.add_subparsers() returned."""
    argv = sys.argv[1:] if argv is None else list(argv)
    known = {option for action in parser._actions for option in action.option_strings}
    for arg in argv:
        if arg in commands.choices:
            break
        option = arg.split("=", 1)[0]
        owners = [name for name, sub in commands.choices.items()
                  if any(option in action.option_strings for action in sub._actions)]
        if option.startswith("-") and option not in known and owners:
            parser.error(f"{option} is an option of the {' and '.join(owners)} command: put it "
                         f"after the command, e.g. {parser.prog} {owners[0]} {option} ...")
    return parser.parse_args(argv)


def fail(message: str) -> int:
    """Print a clear error to stderr; return the exit status for main() to return."""
    print(f"error: {message}", file=sys.stderr)
    return 2


def run_cli(main: Callable[[], int]) -> None:
    """Run a lab's main() as a command: its status is the exit status; Ctrl-C and a closed pipe
    (`... | head`) end it quietly instead of with a traceback."""
    try:
        status = main()
        sys.stdout.flush()
    except KeyboardInterrupt:
        status = 130
    except BrokenPipeError:
        # the reader went away: point stdout at nothing so the interpreter's final flush is quiet
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        status = 0
    sys.exit(status)
