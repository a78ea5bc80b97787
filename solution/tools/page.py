"""Self-contained HTML pages and inline SVG charts: no script, no fonts, nothing from the network."""

from __future__ import annotations

import html
from typing import Iterable, Sequence

from solution.traffic import clock


def clock_ticks(starts: Sequence[float], every_s: float = 3600.0) -> list[tuple[int, str]]:
    """(index, h:mm) for the points whose start falls on a multiple of `every_s`: the time axis
    of a chart of windows starting at `starts` (seconds on the story's clock).

    >>> clock_ticks([0, 1800, 3600, 5400, 7200])
    [(0, '0:00'), (2, '1:00'), (4, '2:00')]
    """
    return [(i, clock(start)) for i, start in enumerate(starts)
            if abs(start / every_s - round(start / every_s)) < 1e-9]


def svg_chart(values: Sequence[float | None], title: str, threshold: float | None = None,
              shade: Iterable[int] = (), width: int = 720, height: int = 120,
              unit: str = "", x_label: str = "", shaded: str = "",
              x_ticks: Sequence[tuple[int, str]] = ()) -> str:
    """An inline SVG line chart: one point per value (None leaves a gap), a value axis from 0
    with its unit, an x axis with `x_ticks` ((index, label) pairs), an optional dashed threshold
    line labelled with its unit, and shaded columns at the `shade` indices, named by `shaded` in
    the legend line under the chart. The title gives the data's own maximum, not the axis top.
    Colours come from the page's style (light and dark); no script, no fonts from anywhere: it
    renders offline in any browser, and scales to the width it is given (viewBox)."""
    shade = sorted(set(shade))
    pad, n = 30, max(1, len(values))
    data = [v for v in values if v is not None]
    top = max(data + ([threshold] if threshold is not None else []), default=1.0) or 1.0
    legend = ([f"dashed: the threshold, {threshold:.3g}{unit}"] if threshold is not None else []) \
        + ([f"shaded: {shaded}"] if shade and shaded else [])
    axis = 12 * bool(x_ticks)                    # a row for the x axis's labels
    total = height + axis + 14 * bool(legend)    # the legend gets a row of its own, under the plot
    left = pad + 14
    x = lambda i: left + i * (width - left - pad) / max(1, n - 1)       # noqa: E731
    y = lambda v: height - pad / 2 - v / top * (height - pad * 1.5)    # noqa: E731
    heading = (f"{title} (highest {max(data):.3g}{unit})" if data else f"{title} (no data)")
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{total}" '
             f'viewBox="0 0 {width} {total}" role="img" class="chart">'
             f'<title>{html.escape(heading)}</title>'
             f'<desc>{html.escape("; ".join([x_label, *legend]))}</desc>',
             f'<text x="{left}" y="14" font-size="12" class="ink">{html.escape(heading)}</text>']
    # the value axis: 0 and the top, with the unit; a faint grid line at each
    for value in (0.0, top):
        parts.append(f'<line x1="{left}" x2="{width - pad}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
                     f'class="grid"/><text x="{left - 3}" y="{y(value) + 3:.1f}" font-size="9" '
                     f'text-anchor="end" class="ink">{value:.3g}{html.escape(unit.strip() and " " + unit.strip())}</text>')
    for i, label in x_ticks:
        parts.append(f'<line x1="{x(i):.1f}" x2="{x(i):.1f}" y1="{y(0.0):.1f}" y2="{y(0.0) + 3:.1f}" '
                     f'class="grid"/><text x="{x(i):.1f}" y="{height + axis - 3:.1f}" font-size="9" '
                     f'text-anchor="middle" class="ink">{html.escape(label)}</text>')
    step = (width - left - pad) / max(1, n - 1)
    for i in shade:                              # a column around the point, inside the plot
        x0, x1 = max(left, x(i) - step / 2), min(width - pad, x(i) + step / 2)
        parts.append(f'<rect x="{x0:.1f}" y="{pad * 0.7:.1f}" width="{max(x1 - x0, 1):.1f}" '
                     f'height="{height - pad * 1.2:.1f}" class="shade"/>')
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
    if legend:
        parts.append(f'<text x="{left}" y="{total - 3}" font-size="10" class="ink">'
                     f'{html.escape("; ".join(legend))}</text>')
    if x_label:
        parts.append(f'<text x="{width - pad}" y="{height + axis - (12 if x_ticks else 2)}" '
                     f'font-size="10" text-anchor="end" class="ink">{html.escape(x_label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


# Light and dark (prefers-color-scheme), text contrast over 4.5:1 in both; charts scale to the
# page (their viewBox keeps the proportions); print keeps a chart or a block on one page.
STYLE = ("body{font-family:sans-serif;margin:2em auto;padding:0 1em;max-width:60em;"
         "color:#1b1b1b;background:#fff}"
         "pre{background:#f3f3f3;color:#1b1b1b;padding:1em;overflow-x:auto}"
         "svg.chart{display:block;margin:0.5em 0;width:100%;height:auto;font-family:sans-serif}"
         ".ink{fill:#1b1b1b}.grid{stroke:#c8c8c8}.data{stroke:#1f5fa8}.shade{fill:#f4b4b4;opacity:0.6}"
         ".limit{stroke:#b03a2e}.limit-ink{fill:#b03a2e}"
         "@media (prefers-color-scheme: dark){body{color:#e8e8e8;background:#161616}"
         "pre{background:#242424;color:#e8e8e8}.ink{fill:#e8e8e8}.grid{stroke:#555}"
         ".data{stroke:#7fb2f0}.shade{fill:#7a2e2e;opacity:0.7}.limit{stroke:#f08a7e}"
         ".limit-ink{fill:#f08a7e}}"
         ".show{border:2px solid #1f5fa8;border-radius:6px;padding:0 1em 0.5em}"
         "@media print{svg.chart,pre,table,.show{break-inside:avoid}}")


def html_page(title: str, body: str) -> str:
    """A self-contained HTML page: inline style, no scripts, nothing fetched from the network."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<meta name=\"color-scheme\" content=\"light dark\">"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>\n"
            f"<body><h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n")
