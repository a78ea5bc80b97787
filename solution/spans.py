"""One trace's spans, drawn as a waterfall: the picture of one request's whole story.

Lab 1 and the tool wing's `story` command both draw it. A span is named after its first record's
event (`retrieval.completed` -> retrieval); the failed span with no failed child is where the
failure began.

    >>> rows = [SpanRow("gateway", "a", 0, 0.0, 100.0, True, "x", False),
    ...         SpanRow("llm", "b", 1, 20.0, 80.0, True, "x", True)]
    >>> for line in draw_waterfall(rows, width=10, ascii=True):
    ...     print(line)
      span             start  duration  timeline
      gateway            +0 ms  100.0 ms  |##########| ERROR
        llm             +20 ms   80.0 ms  |  ########| ERROR <- failed here
"""

from __future__ import annotations

from dataclasses import dataclass

from solution import logschema as F
from solution.redaction import neutralize
from solution.terminal import can_encode


@dataclass(frozen=True)
class SpanRow:
    """One span of a waterfall: times in milliseconds from the trace's first moment."""
    name: str
    span_id: str
    depth: int
    start_ms: float
    duration_ms: float
    failed: bool
    error_type: str | None
    origin: bool            # the failed span where the failure began (no failed child)


def waterfall(records: list[dict]) -> list[SpanRow]:
    """The spans of one trace, parents before children, siblings by start time.

    A span is named after its first record's event (`retrieval.completed` -> retrieval); it ends
    at its last record; its duration is its `duration_ms` (or `latency_ms`) attribute when it has
    one, else the time between its records. A span whose parent is not in the log is drawn as a
    root. Log timestamps have millisecond resolution, so starts are +-1 ms.
    """
    by_span: dict[str, list[dict]] = {}
    for record in records:
        by_span.setdefault(record["span_id"], []).append(record)
    spans = {}
    for span_id, recs in by_span.items():
        end = max(rec["_at"] for rec in recs)
        attrs = [rec["attributes"] for rec in recs if isinstance(rec.get("attributes"), dict)]
        duration = next((a[key] for a in attrs for key in ("duration_ms", F.LATENCY_MS)
                         if _plausible(a.get(key))), (end - min(rec["_at"] for rec in recs)) * 1000)
        failing = [rec for rec in recs if isinstance(rec.get("severity_number"), (int, float))
                   and rec["severity_number"] >= F.ERROR_SEVERITY]
        error = next((rec["attributes"].get(F.ERROR_TYPE) for rec in failing
                      if isinstance(rec.get("attributes"), dict)), None)
        spans[span_id] = (str(recs[0]["body"]).split(".")[0], recs[0].get("parent_span_id"),
                          end - duration / 1000, float(duration), bool(failing), error)
    children: dict[str | None, list[str]] = {}
    for span_id, (_, parent, *_) in spans.items():
        root = parent not in spans or parent == span_id
        children.setdefault(None if root else parent, []).append(span_id)
    origin = min(span[2] for span in spans.values())
    rows: list[SpanRow] = []
    seen: set[str] = set()
    # depth first, with a stack rather than recursion (a foreign log's chain of parents may be
    # thousands deep); spans caught in a cycle of parents, which no root reaches, are drawn as
    # roots, each once
    by_start = sorted(spans, key=lambda s: spans[s][2])
    for top in [*sorted(children.get(None, []), key=lambda s: spans[s][2]), *by_start]:
        stack = [(top, 0)]
        while stack:
            span_id, depth = stack.pop()
            if span_id in seen:
                continue
            seen.add(span_id)
            name, _, start, duration, failed, error = spans[span_id]
            failed_child = any(spans[c][4] for c in children.get(span_id, []))
            rows.append(SpanRow(name=name, span_id=span_id, depth=depth,
                                start_ms=round((start - origin) * 1000, 1),
                                duration_ms=duration, failed=failed, error_type=error,
                                origin=failed and not failed_child))
            stack += [(child, depth + 1) for child in
                      sorted(children.get(span_id, []), key=lambda s: spans[s][2], reverse=True)]
    return rows


MAX_DURATION_MS = 7 * 86_400_000.0     # a week: a span's duration beyond it is a broken field


def _plausible(value) -> bool:
    """A span's own duration, if it can be one: a number from 0 to a week (a log may say
    1.7e308 or -1.7e308; the time between the span's records stands in for it then)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and 0 <= value <= MAX_DURATION_MS


def ms(value: float, sign: str = "") -> str:
    """Milliseconds for people: 21.4 ms, 1,234 ms, 30.0 s."""
    if value >= 10_000:
        return f"{sign}{value / 1000:.1f} s"
    return f"{sign}{value:,.0f} ms" if value >= 1000 or sign else f"{value:.1f} ms"


def draw_waterfall(rows: list[SpanRow], width: int = 20, ascii: bool | None = None) -> list[str]:
    """The waterfall as text: one line per span, its bar placed on the trace's time axis, the
    failed spans marked ERROR and the one where the failure began marked `<- failed here`."""
    bar_char = "#" if (not can_encode("█") if ascii is None else ascii) else "█"
    total = max((r.start_ms + r.duration_ms for r in rows), default=0.0) or 1.0
    lines = [f"  {'span':<14} {'start':>7} {'duration':>9}  timeline"]
    for r in rows:
        left = min(width - 1, round(r.start_ms / total * width))
        right = max(left + 1, round((r.start_ms + r.duration_ms) / total * width))
        bar = (" " * left + bar_char * (right - left))[:width].ljust(width)
        mark = ("ERROR" + (" <- failed here" if r.origin else "")) if r.failed else ""
        name = neutralize("  " * r.depth + r.name)[:14]
        lines.append(f"  {name:<14} {ms(r.start_ms, '+'):>7} {ms(r.duration_ms):>9}  "
                     f"|{bar}| {mark}".rstrip())
    return lines
