"""Self-contained HTML pages and inline SVG charts: no script, no fonts, nothing from the network."""

from __future__ import annotations

import html
from typing import Iterable, Sequence


def svg_chart(values: Sequence[float | None], title: str, threshold: float | None = None,
              shade: Iterable[int] = (), width: int = 720, height: int = 120,
              unit: str = "", x_label: str = "", shaded: str = "") -> str:
    """An inline SVG line chart: one point per value (None leaves a gap), an optional dashed
    threshold line, and shaded columns at the `shade` indices, named by `shaded` in the legend
    line under the chart. The title gives the data's own maximum, not the axis top. No script, no
    fonts from anywhere: it renders offline in any browser."""
    shade = sorted(set(shade))
    pad, n = 30, max(1, len(values))
    data = [v for v in values if v is not None]
    top = max(data + ([threshold] if threshold is not None else []), default=1.0) or 1.0
    legend = ([f"dashed: the threshold, {threshold:.3g}{unit}"] if threshold is not None else []) \
        + ([f"shaded: {shaded}"] if shade and shaded else [])
    total = height + 14 * bool(legend)          # the legend gets a row of its own, under the plot
    x = lambda i: pad + i * (width - 2 * pad) / max(1, n - 1)          # noqa: E731
    y = lambda v: height - pad / 2 - v / top * (height - pad * 1.5)    # noqa: E731
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{total}" '
             f'viewBox="0 0 {width} {total}" role="img" aria-label="{html.escape(title)}">',
             f'<text x="{pad}" y="14" font-size="12" font-family="sans-serif">'
             f'{html.escape(title)} (highest {max(data):.3g}{html.escape(unit)})</text>'
             if data else f'{html.escape(title)} (no data)</text>']
    step = (width - 2 * pad) / max(1, n - 1)
    for i in shade:
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
    if legend:
        parts.append(f'<text x="{pad}" y="{total - 3}" font-size="10" font-family="sans-serif">'
                     f'{html.escape("; ".join(legend))}</text>')
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
