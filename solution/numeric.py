"""Numbers every lab prints the same way: percentiles, shares, hash fractions, timestamps.

Nothing here is an operations idea of its own; each lab explains the idea it uses.
- `nearest_rank`: the percentile definition the labs print (and say they print);
- `percent`: how every lab prints a share, so the handouts can quote it;
- `trace_fraction`: deterministic sampling by a hash of the trace id (labs 1 and 3);
- `parse_rfc3339`: a log timestamp back to seconds since the Unix epoch.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Sequence


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
