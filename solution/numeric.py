"""Numbers every lab prints the same way: percentiles, shares, hash fractions, timestamps.

Nothing here is an operations idea of its own; each lab explains the idea it uses.
- `nearest_rank`, `nearest_ranks`: the percentile definition the labs print (and say they print);
- `cumulative_buckets`, `histogram_quantile`: the other way, the one a metrics system has: count
  values into buckets, then estimate a quantile from the counts (Prometheus);
- `percent`: how every lab prints a share, so the handouts can quote it;
- `trace_fraction`: deterministic sampling by a hash of the trace id (labs 1 and 3);
- `rfc3339`, `parse_rfc3339`: seconds since the Unix epoch to a log timestamp, and back.
"""

from __future__ import annotations

import bisect
import functools
import math
import time
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


# client_python's default histogram buckets, in seconds (prometheus_client, Histogram.DEFAULT_BUCKETS)
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
                   math.inf)


def nearest_ranks(values: list[float], qs: tuple[int, ...] = (50, 95, 99),
                  scale: float = 1.0) -> tuple:
    """Nearest-rank percentiles of the values, times `scale`; Nones when there are none.

    >>> nearest_ranks([3.0, 1.0, 2.0], (50, 99), scale=10)
    (20.0, 30.0)
    """
    if not values:
        return (None,) * len(qs)
    return tuple(nearest_rank(values, q) * scale for q in qs)


def cumulative_buckets(values: Sequence[float], bounds: Sequence[float] = DEFAULT_BUCKETS) -> list[int]:
    """How many values are at or below each bucket's upper bound (`le`): what a Prometheus
    histogram exposes. The last bound is +Inf, so the last count is the number of values.

    >>> cumulative_buckets([0.3, 0.7, 2.0, 12.0], (0.5, 1.0, 5.0, math.inf))
    [1, 2, 3, 4]
    """
    ordered = sorted(values)
    return [bisect.bisect_right(ordered, bound) for bound in bounds]


def histogram_quantile(q: float, bounds: Sequence[float], counts: Sequence[float]) -> float:
    """Prometheus' `histogram_quantile(q, ...)` over cumulative bucket counts, as promql/quantile.go
    (bucketQuantile) computes it: rank = q x total; the first bucket whose count reaches the rank;
    linear interpolation inside it, as if its values were spread evenly; the lowest bucket starts
    at 0. Its edges, the same: q < 0 gives -Inf and q > 1 +Inf; NaN without a +Inf bucket, with
    fewer than two buckets, or with no observations; a rank in the +Inf bucket gives the highest
    finite bound (the histogram cannot see beyond it); a lowest bucket whose bound is <= 0 gives
    that bound; counts that fall from one bucket to the next are raised to be monotonic.

    >>> histogram_quantile(0.5, (1.0, 2.0, math.inf), (10, 30, 30))   # 15th of 30: 5/20 into 1-2
    1.25
    """
    if math.isnan(q):
        return math.nan
    if q < 0 or q > 1:
        return -math.inf if q < 0 else math.inf
    if len(bounds) < 2 or len(bounds) != len(counts) or bounds[-1] != math.inf:
        return math.nan
    monotonic = [max(counts[:i + 1]) for i in range(len(counts))]
    total = monotonic[-1]
    if not total > 0:
        return math.nan
    rank = q * total
    b = next((i for i, count in enumerate(monotonic[:-1]) if count >= rank), len(bounds) - 1)
    if b == len(bounds) - 1:
        return bounds[-2]
    if b == 0 and bounds[0] <= 0:
        return bounds[0]
    start, below = (0.0, 0) if b == 0 else (bounds[b - 1], monotonic[b - 1])
    inside = monotonic[b] - below
    return start + (bounds[b] - start) * (rank - below) / inside if inside else math.nan


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


def rfc3339(seconds: float) -> str:
    """Seconds since the Unix epoch as an RFC 3339 UTC timestamp with milliseconds.

    >>> rfc3339(1793610003.1234)
    '2026-11-02T09:00:03.123Z'
    """
    whole, milli = divmod(round(seconds * 1000), 1000)
    return f"{_utc_second(whole)}.{milli:03d}Z"


@functools.lru_cache(maxsize=256)       # a log's records come in time order: seconds repeat
def _utc_second(whole: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))


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
