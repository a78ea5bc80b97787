"""The Prometheus text exposition format, version 0.0.4, as the dashboard and the gateway write
it: a `# HELP` and a `# TYPE` line per metric, then its samples; label values escaped; a
histogram's `_bucket` series cumulative, ending at le="+Inf" (equal to `_count`), then `_sum`
and `_count`. Checked with promtool (`promtool check metrics`).

    >>> print(family("jobs_total", "counter", "Jobs done.", [((("queue", 'a"b'),), 3)]))
    # HELP jobs_total Jobs done.
    # TYPE jobs_total counter
    jobs_total{queue="a\\"b"} 3
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def le(bound: float) -> str:
    """A bucket bound as client_python writes it: 0.005, 1.0, +Inf."""
    return "+Inf" if bound == math.inf else repr(float(bound))


def labels(pairs: Iterable[tuple[str, object]]) -> str:
    """Label pairs as the text format wants them: backslash, double quote and newline escaped."""
    escape = lambda v: str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")  # noqa: E731
    return ",".join(f'{k}="{escape(v)}"' for k, v in pairs)


def _sample(name: str, pairs, value) -> str:
    inside = labels(pairs)
    return f"{name}{{{inside}}} {value}" if inside else f"{name} {value}"


def family(name: str, kind: str, help_text: str,
           samples: Iterable[tuple[Sequence[tuple[str, object]], float]]) -> str:
    """One counter or gauge: its HELP and TYPE lines, then a sample per label set."""
    return "\n".join([f"# HELP {name} {help_text}", f"# TYPE {name} {kind}",
                      *(_sample(name, pairs, value) for pairs, value in samples)])


def histogram_samples(name: str, pairs: Sequence[tuple[str, object]], bounds: Sequence[float],
                      cumulative: Sequence[int], total: float) -> list[str]:
    """One label set of a histogram: its cumulative buckets (the last bound +Inf), sum, count."""
    out = [_sample(f"{name}_bucket", [*pairs, ("le", le(b))], c) for b, c in zip(bounds, cumulative)]
    return out + [_sample(f"{name}_sum", pairs, f"{total:.3f}"), _sample(f"{name}_count", pairs, cumulative[-1])]
