"""Self-contained HTML pages and inline SVG charts: no script, no fonts, nothing from the network."""

from __future__ import annotations

import html
import re
import textwrap
from typing import Iterable, Sequence

from solution.traffic import clock


def clock_ticks(starts: Sequence[float], every_s: float | None = 3600.0) -> list[tuple[int, str]]:
    """(index, h:mm) for the points whose start falls on a multiple of `every_s`: the time axis
    of a chart of windows starting at `starts` (seconds on the story's clock). every_s=None picks
    the step that gives 3 to 8 ticks over the span: an hour for six hours, 5 minutes for half
    an hour.

    >>> clock_ticks([0, 1800, 3600, 5400, 7200])
    [(0, '0:00'), (2, '1:00'), (4, '2:00')]
    >>> [label for _, label in clock_ticks([60 * m for m in range(30)], None)]
    ['0:00', '0:05', '0:10', '0:15', '0:20', '0:25']
    """
    if every_s is None:
        span = (starts[-1] - starts[0]) if len(starts) > 1 else 0.0
        every_s = next((step for step in (60, 300, 600, 900, 1800, 3600, 7200, 14_400, 21_600, 43_200)
                        if span / step <= 8), 86_400)
    return [(i, clock(start)) for i, start in enumerate(starts)
            if abs(start / every_s - round(start / every_s)) < 1e-9]


WIDE, NARROW = 720, 320      # a chart's two drawings: a page's width, and a phone's (CSS picks)


def _lines(text: str, width: int) -> list[str]:
    """A label cut into lines of at most `width` characters (SVG text does not wrap itself)."""
    return textwrap.wrap(text, width) or [""]


def svg_chart(values: Sequence[float | None], title: str, threshold: float | None = None,
              shade: Iterable[int] = (), unit: str = "", x_label: str = "", shaded: str = "",
              x_ticks: Sequence[tuple[int, str]] = (),
              bands: Sequence[tuple[int, int, str]] = (), bands_are: str = "",
              marks: Sequence[tuple[int, int, str]] = (), marks_are: str = "",
              line_is: str = "") -> str:
    """The chart drawn twice, at WIDE and at NARROW user units: the page's style shows the wide
    one on a screen wider than 600 px, the narrow one on a phone, each scaled to the width of the
    screen (a viewBox, width 100 %), so that a label stays 9 px or more on either."""
    drawn = dict(values=values, title=title, threshold=threshold, shade=shade, unit=unit,
                 x_label=x_label, shaded=shaded, x_ticks=x_ticks, bands=bands,
                 bands_are=bands_are, marks=marks, marks_are=marks_are, line_is=line_is)
    return (f'<div class="wide chart-wide">{_svg_chart(width=WIDE, **drawn)}</div>'
            f'<div class="chart-narrow">{_svg_chart(width=NARROW, **drawn)}</div>')


def _svg_chart(values: Sequence[float | None], title: str, threshold: float | None,
               shade: Iterable[int], width: int, unit: str, x_label: str, shaded: str,
               x_ticks: Sequence[tuple[int, str]], bands: Sequence[tuple[int, int, str]],
               bands_are: str, marks: Sequence[tuple[int, int, str]], marks_are: str,
               line_is: str, height: int = 120) -> str:
    """An inline SVG line chart: one point per value (None leaves a gap), a value axis from 0
    with its unit, an x axis with `x_ticks` ((index, label) pairs), an optional dashed threshold
    line labelled with its unit, shaded columns at the `shade` indices, labelled `bands`
    ((first index, last index, label): the incidents, behind the data) and `marks` ((index, lane,
    label): triangles under the time axis, a lane per alert policy, at the minutes it paged).
    Every kind of mark is named in a legend line under the chart (`line_is`, `shaded`,
    `bands_are`, `marks_are`). The title gives the data's own maximum, not the axis top. Colours come from the page's style (light and dark); no script, no fonts
    from anywhere: it renders offline in any browser, and scales to its width (viewBox)."""
    shade = sorted(set(shade))
    pad, n = 30, max(1, len(values))
    data = [v for v in values if v is not None]
    top = max(data + ([threshold] if threshold is not None else []), default=1.0) or 1.0
    # a band's name is written where it fits before the next named band (~4.6 units a character)
    x_at = lambda i: 44 + i * (width - 74) / max(1, n - 1)              # noqa: E731
    starts = sorted(first for first, _, label in bands if label)
    fits = {label for first, _, label in bands if label and 4.6 * len(label) <
            min([x_at(f) for f in starts if f > first] + [width - 30]) - x_at(first)}
    left_out = ("" if fits >= {label for *_, label in bands if label}
                else "; names that do not fit here are left out")
    legend = ([f"line: {line_is}"] if line_is else []) \
        + ([f"dashed: the threshold, {threshold:.3g}{unit}"] if threshold is not None else []) \
        + ([f"shaded red: {shaded}"] if shade and shaded else []) \
        + ([f"grey bands: {bands_are}{left_out}"] if bands and bands_are else []) \
        + ([f"triangles: {marks_are}"] if marks and marks_are else [])
    narrow = width < WIDE
    lanes = 1 + max((lane for _, lane, _ in marks), default=-1)
    heading = (f"{title} (highest {max(data):.3g}{unit})" if data else f"{title} (no data)")
    # a label fits its width: ~6.5 user units a character at 12, ~5.5 at 10 (sans-serif)
    head_lines = _lines(heading, (width - 10) * 2 // 13)
    rows = [row for item in legend for row in _lines(item, (width - (10 if narrow else 50)) * 2 // 11)]
    shift = 15 * (len(head_lines) - 1)           # the plot moves down under a heading that wraps
    axis = 12 * bool(x_ticks) + 9 * lanes + 12 * bool(x_label)   # marks, tick labels, the x label
    total = shift + height + axis + 14 * len(rows)   # a legend row per kind of mark, under the plot
    left = pad + 14
    x = lambda i: left + i * (width - left - pad) / max(1, n - 1)       # noqa: E731
    y = lambda v: shift + height - pad / 2 - v / top * (height - pad * 1.5)    # noqa: E731
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{total}" '
             f'viewBox="0 0 {width} {total}" role="img" class="chart">'
             f'<title>{html.escape(heading)}</title>'
             f'<desc>{html.escape("; ".join([x_label, *legend]))}</desc>']
    parts += [f'<text x="{5 if narrow else left}" y="{14 + 15 * i}" font-size="12" class="ink">'
              f'{html.escape(line)}</text>' for i, line in enumerate(head_lines)]
    height += shift
    # the value axis: 0, half way and the top, with the unit; a faint grid line at each
    for value in (0.0, top / 2, top):
        parts.append(f'<line x1="{left}" x2="{width - pad}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
                     f'class="grid"/><text x="{left - 3}" y="{y(value) + 3:.1f}" font-size="9" '
                     f'text-anchor="end" class="ink value">{value:.3g}{html.escape(unit.strip() and " " + unit.strip())}</text>')
    for i, label in x_ticks:
        parts.append(f'<line x1="{x(i):.1f}" x2="{x(i):.1f}" y1="{y(0.0):.1f}" y2="{y(0.0) + 3:.1f}" '
                     f'class="grid"/><text x="{x(i):.1f}" y="{height + axis - 3 - 12 * bool(x_label):.1f}" font-size="9" '
                     f'text-anchor="middle" class="ink tick">{html.escape(label)}</text>')
    step = (width - left - pad) / max(1, n - 1)
    plot_top, plot_h = shift + pad * 0.7, height - shift - pad * 1.2
    for first, last, label in bands:             # behind everything: the incidents, named
        x0, x1 = max(left, x(first) - step / 2), min(width - pad, x(last) + step / 2)
        parts.append(f'<rect x="{x0:.1f}" y="{plot_top:.1f}" width="{max(x1 - x0, 1):.1f}" '
                     f'height="{plot_h:.1f}" class="band"><title>{html.escape(label)}</title></rect>'
                     + (f'<text x="{x0 + 2:.1f}" y="{plot_top + 9:.1f}" font-size="8" class="ink">'
                        f'{html.escape(label)}</text>' if label in fits else ""))
    for i in shade:                              # a column around the point, inside the plot
        x0, x1 = max(left, x(i) - step / 2), min(width - pad, x(i) + step / 2)
        parts.append(f'<rect x="{x0:.1f}" y="{plot_top:.1f}" width="{max(x1 - x0, 1):.1f}" '
                     f'height="{plot_h:.1f}" class="shade"/>')
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
        parts.append(f'<polyline fill="none" class="data" stroke-width="1.4" points="{" ".join(seg)}"/>')
    if threshold is not None:
        parts.append(f'<line x1="{left}" x2="{width - pad}" y1="{y(threshold):.1f}" y2="{y(threshold):.1f}" '
                     f'class="limit" stroke-dasharray="5,4"/>'
                     f'<text x="{width - pad}" y="{y(threshold) - 3:.1f}" font-size="10" text-anchor="end" '
                     f'class="limit-ink">threshold {threshold:.3g}{html.escape(unit)}</text>')
    for i, lane, label in marks:                 # a triangle under the axis, pointing up at the minute
        parts.append(f'<path d="M{x(i):.1f},{y(0.0) + 2 + 9 * lane:.1f} l-4,7 h8 z" class="mark">'
                     f'<title>{html.escape(label)}</title></path>')
    for row, item in enumerate(rows):
        parts.append(f'<text x="{5 if narrow else left}" y="{height + axis + 14 * row + 11}" '
                     f'font-size="10" class="ink legend">{html.escape(item)}</text>')
    if x_label:
        parts.append(f'<text x="{width - pad}" y="{height + axis - 2}" '
                     f'font-size="10" text-anchor="end" class="ink">{html.escape(x_label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


# a number, with its unit if it has one (12.7 s, 1.52/s, 38 %, 155 % F), or a time (2:09)
NUMBER = re.compile(r"[-+−]?\d[\d,.]*\s*(%|[a-zA-Z/]{1,6})?(\s*F)?|\d+:\d\d")


def html_table(header: Sequence[str], rows: Iterable[Sequence[object]], caption: str = "") -> str:
    """An HTML table with header cells; a cell that is a number (or a number with its unit) is
    right-aligned, so that digits line up. None is an empty cell. Cells are escaped."""
    def cell(value: object) -> str:
        text = "" if value is None else f"{value:,}" if isinstance(value, int) else str(value)
        numeric = isinstance(value, (int, float)) or bool(NUMBER.fullmatch(text.strip()))
        return f'<td{" class=num" if numeric else ""}>{html.escape(text)}</td>'
    head = "".join(f"<th scope=col>{html.escape(h)}</th>" for h in header)
    body = "".join(f"<tr>{''.join(cell(v) for v in row)}</tr>" for row in rows)
    title = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f'<div class="wide"><table>{title}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def svg_timeline(rows: Sequence[tuple[str, Sequence[tuple[float, str]]]], duration_s: float,
                 title: str) -> str:
    """What each row (a lab) found, as dots on one time axis in h:mm: the closing timeline as a
    chart, drawn wide and narrow as svg_chart is. Each dot carries its text as a tooltip
    (<title>); the table beside it says them all."""
    return (f'<div class="wide chart-wide">{_svg_timeline(rows, duration_s, title, WIDE)}</div>'
            f'<div class="chart-narrow">{_svg_timeline(rows, duration_s, title, NARROW)}</div>')


def _svg_timeline(rows: Sequence[tuple[str, Sequence[tuple[float, str]]]], duration_s: float,
                  title: str, width: int) -> str:
    left, right, row_h, top = (90 if width >= WIDE else 45), 30, 22, 22
    legend = _lines("dots: a lab caught something then (the table below says what); the story's "
                    "clock, h:mm", (width - 10) * 2 // 11)
    height = top + row_h * len(rows) + 16 + 14 * len(legend)
    x = lambda t: left + (width - left - right) * t / max(duration_s, 1.0)      # noqa: E731
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" class="chart"><title>{html.escape(title)}</title>'
             f'<desc>one row per lab, a dot at each moment it caught something, on the story\'s clock</desc>'
             f'<text x="5" y="14" font-size="12" class="ink">{html.escape(title)}</text>']
    axis_y = top + row_h * len(rows)
    for hour in range(int(duration_s // 3600) + 1):
        parts.append(f'<line x1="{x(3600 * hour):.1f}" x2="{x(3600 * hour):.1f}" y1="{top}" '
                     f'y2="{axis_y + 3}" class="grid"/><text x="{x(3600 * hour):.1f}" y="{axis_y + 14}" '
                     f'font-size="9" text-anchor="middle" class="ink tick">{hour}:00</text>')
    for row, (label, events) in enumerate(rows):
        y = top + row_h * row + row_h / 2
        parts.append(f'<text x="{left - 6}" y="{y + 3:.1f}" font-size="10" text-anchor="end" '
                     f'class="ink value">{html.escape(label)}</text><line x1="{left}" x2="{width - right}" '
                     f'y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        for ts, text in events:
            parts.append(f'<circle cx="{x(ts):.1f}" cy="{y:.1f}" r="4" class="dot">'
                         f'<title>{html.escape(clock(ts) + "  " + text)}</title></circle>')
    for row, line in enumerate(legend):
        parts.append(f'<text x="5" y="{axis_y + 30 + 14 * row}" font-size="10" '
                     f'class="ink legend">{html.escape(line)}</text>')
    parts.append("</svg>")
    return "".join(parts)


# The page's colours, light and dark: (text, background) pairs that tests/test_tools_dashboard.py
# measures against WCAG 2.1's 4.5:1 for normal text (relative luminance, sRGB).
COLOURS = {"light": {"text": "#1b1b1b", "background": "#ffffff", "panel": "#f3f3f3",
                     "limit": "#a3352a", "link": "#1f5fa8"},
           "dark": {"text": "#e8e8e8", "background": "#161616", "panel": "#242424",
                    "limit": "#f08a7e", "link": "#7fb2f0"}}


def contrast(foreground: str, background: str) -> float:
    """WCAG 2.1 contrast ratio (L1 + 0.05) / (L2 + 0.05) of two #rrggbb colours.

    >>> round(contrast("#000000", "#ffffff"), 1), round(contrast("#777777", "#ffffff"), 2)
    (21.0, 4.48)
    """
    def luminance(colour: str) -> float:
        channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * r + 0.7152 * g + 0.0722 * b
    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _style() -> str:
    light, dark = COLOURS["light"], COLOURS["dark"]
    return (f"body{{font-family:sans-serif;margin:2em auto;padding:0 1em;max-width:60em;"
            f"color:{light['text']};background:{light['background']}}}"
            f"pre{{background:{light['panel']};color:{light['text']};padding:1em;overflow-x:auto}}"
            "svg.chart{display:block;margin:0.5em 0;width:100%;height:auto;font-family:sans-serif}"
            f".ink{{fill:{light['text']}}}.grid{{stroke:#c8c8c8}}.data{{stroke:{light['link']}}}"
            ".shade{fill:#f4b4b4;opacity:0.6}.band{fill:#9a9a9a;opacity:0.22}"
            f".mark{{fill:{light['limit']}}}.dot{{fill:{light['link']}}}"
            f".limit{{stroke:{light['limit']}}}.limit-ink{{fill:{light['limit']}}}"
            "table{border-collapse:collapse;margin:0.5em 0 1em;font-size:0.92em}"
            f"th,td{{padding:0.2em 0.6em;border-bottom:1px solid #c8c8c8;text-align:left}}"
            f"th{{background:{light['panel']}}}td.num{{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}}"
            "caption{text-align:left;font-weight:bold;padding:0.3em 0}"
            ".wide{overflow-x:auto}"
            # every chart is drawn twice: wide for a page, narrow for a phone, where the wide
            # one scaled to 390 px would shrink its 9-px labels to 5 px; each scales to the width
            ".chart-narrow{display:none}"
            "@media screen and (max-width:600px){.chart-wide{display:none}"
            ".chart-narrow{display:block}}"
            "@media (prefers-color-scheme: dark){"
            f"body{{color:{dark['text']};background:{dark['background']}}}"
            f"pre,th{{background:{dark['panel']};color:{dark['text']}}}.ink{{fill:{dark['text']}}}"
            f".grid{{stroke:#555}}th,td{{border-color:#555}}.data{{stroke:{dark['link']}}}"
            ".shade{fill:#7a2e2e;opacity:0.7}.band{fill:#bbbbbb;opacity:0.18}"
            f".mark{{fill:{dark['limit']}}}.dot{{fill:{dark['link']}}}"
            f".limit{{stroke:{dark['limit']}}}.limit-ink{{fill:{dark['limit']}}}}}"
            f".show{{border:2px solid {light['link']};border-radius:6px;padding:0 1em 0.5em}}"
            "@media print{svg.chart,pre,table,.show,.wide{break-inside:avoid}h2,caption{break-after:avoid}"
            ".wide{overflow:visible}table{font-size:0.75em}th,td{padding:0.1em 0.3em}"
            "@page{size:auto;margin:12mm}}")


# Light and dark (prefers-color-scheme), text contrast over 4.5:1 in both (COLOURS); charts scale
# to the page (their viewBox keeps the proportions); print keeps a chart or a block on one page,
# on A4 and Letter alike (no fixed page size).
STYLE = _style()


def html_page(title: str, body: str) -> str:
    """A self-contained HTML page: inline style, no scripts, nothing fetched from the network."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<meta name=\"color-scheme\" content=\"light dark\">"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>\n"
            f"<body><h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n")
