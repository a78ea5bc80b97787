"""A log's requests summed window by window as they stream past: all that lab 2's dashboard takes
from a day of logs, in memory bounded by the number of windows, never by the number of requests.

    tally = Tally(window_s=60.0, latency_limit_s=6.0)
    tally.add(start, latency_ms, ttft_ms, status, priority, tokens_in, tokens_out)   # a request
    tally.merge(other)                  # the tally of another stretch of the file
    tally.measured(zero, duration_s, capacity)     # what lab 2's measure() makes of a list

The grid. A window is [k x window_s, (k + 1) x window_s) in seconds since the Unix epoch: the
grid is fixed before the first line is read, so a request is summed into its window the moment it
is read, whatever order the log is in. The chart's 0:00 is a point of that grid and of the minute
grid (the burn-rate rules count by the minute): a multiple of lcm(window, 60 s), at or before the
first request. The story's 9:00 is one, so a story log keeps the story's minutes.

Per window: counts (requests, 5xx, tokens, slow), busy seconds (saturation), and the latencies of
interactive successes and failures and the times to first token, for percentiles. Those are
kept exactly up to EXACT values a window (the story's busiest minute holds about 150), then as a
DDSketch (Masson, Rim & Lee, "DDSketch: a fast and fully-mergeable quantile sketch with
relative-error guarantees", VLDB 2019): value x > 0 is counted in bucket ceil(log_g x), with
g = (1 + a) / (1 - a), and read back as 2 g^i / (g + 1): every percentile it gives is within a =
0.5 % of the exact one (the nearest-rank value lies in the bucket read). The whole span's
percentiles merge the windows', exact up to SPAN_EXACT values (8 MB of numbers). A tally of the
same requests is the same in any order and any split, so stretches read by several processes
merge into what one process would have summed.

Memory: per window, at most 3 x EXACT numbers or three sketches (at most log_g of the range of
the values, 1,400 buckets from 1 ms to 1,000 s), and Prometheus' 15 bucket counts per series.
"""

from __future__ import annotations

import bisect
import math
from array import array

from solution import lab2_dashboard as lab2
from solution import traffic
from solution.numeric import DEFAULT_BUCKETS, nearest_rank

EXACT = 512                 # values a window keeps exactly, per kind; past that, the sketch
SPAN_EXACT = 1 << 20        # values the whole span keeps exactly
ALPHA = 0.005               # the sketch's relative accuracy
GAMMA = (1 + ALPHA) / (1 - ALPHA)
_LOG_GAMMA = math.log(GAMMA)
_ZERO = -(1 << 62)          # the bucket of 0 (and of values too small to take a logarithm of)
# Prometheus' label values are series, and each series costs memory in every scraper: a log with
# 200,000 distinct priorities would write 7 million. The priorities a tally tells apart as it
# reads are the story's two and the first MAX_PRIORITIES others; the exposition shows the
# PROM_PRIORITIES most frequent, the rest summed under priority="other", and says so.
MAX_PRIORITIES = 100
PROM_PRIORITIES = 20
KNOWN_PRIORITIES = ("interactive", "batch")
OTHER = "other"


def _bucket(x: float) -> int:
    return math.ceil(math.log(x) / _LOG_GAMMA) if x > 1e-9 else _ZERO


def _bucket_value(key: int) -> float:
    return 0.0 if key == _ZERO else 2 * GAMMA ** key / (GAMMA + 1)


class Values:
    """Numbers for nearest-rank percentiles: exact up to `cap` of them, then a DDSketch."""

    __slots__ = ("cap", "exact", "buckets")

    def __init__(self, cap: int | None = None):
        self.cap, self.exact, self.buckets = EXACT if cap is None else cap, array("d"), None

    def __len__(self) -> int:
        return len(self.exact) if self.buckets is None else sum(self.buckets.values())

    def __eq__(self, other) -> bool:
        return (isinstance(other, Values) and self.buckets == other.buckets
                and sorted(self.exact) == sorted(other.exact))

    @property
    def is_exact(self) -> bool:
        return self.buckets is None

    def add(self, x: float) -> None:
        if self.buckets is None:
            self.exact.append(x)
            if len(self.exact) > self.cap:
                self._sketch()
        else:
            key = _bucket(x)
            self.buckets[key] = self.buckets.get(key, 0) + 1

    def _sketch(self) -> None:
        exact, self.exact, self.buckets = self.exact, array("d"), {}
        for x in exact:
            self.add(x)

    def merge(self, other: "Values") -> None:
        if other.buckets is None:
            if self.buckets is None:
                self.exact.extend(other.exact)
                if len(self.exact) > self.cap:
                    self._sketch()
            else:
                for x in other.exact:
                    self.add(x)
            return
        if self.buckets is None:
            self._sketch()
        for key, n in other.buckets.items():
            self.buckets[key] = self.buckets.get(key, 0) + n

    def ranks(self, qs, scale: float = 1.0) -> list:
        """rank(q, scale) for each q, sorting the exact values once."""
        if self.buckets is not None or not self.exact:
            return [self.rank(q, scale) for q in qs]
        ordered, n = sorted(self.exact), len(self.exact)
        return [ordered[max(1, math.ceil(q / 100 * n)) - 1] * scale for q in qs]   # nearest rank

    def rank(self, q: float, scale: float = 1.0) -> float | None:
        """The q-th percentile by nearest rank (solution/numeric.py), times `scale`; None if empty."""
        if not len(self):
            return None
        if self.buckets is None:
            return nearest_rank(self.exact, q) * scale
        wanted, seen = max(1, math.ceil(q / 100 * len(self))), 0
        for key in sorted(self.buckets):
            seen += self.buckets[key]
            if seen >= wanted:
                return _bucket_value(key) * scale
        raise AssertionError("unreachable: the counts add up to the total")


class Slot:
    """The sums of one window: lab 2's golden-signal inputs. A part is made when first needed:
    with one-second windows most hold a request or two, or only the busy time of a long one."""

    __slots__ = ("count", "failed", "tokens", "slow", "busy", "first", "last", "ok", "bad", "ttft", "le")

    def __init__(self):
        self.count = self.failed = self.tokens = self.slow = self.busy = 0   # busy: nanoseconds
        self.first, self.last = math.inf, -math.inf
        self.ok = self.bad = self.ttft = None           # Values of interactive requests, in ms
        self.le = None                                  # their successes per Prometheus le bucket

    def __eq__(self, other) -> bool:
        return isinstance(other, Slot) and all(
            _or_empty(getattr(self, a)) == _or_empty(getattr(other, a)) for a in self.__slots__)

    def values(self, name: str) -> Values:
        """The Values `ok`, `bad` or `ttft`, made if new."""
        values = getattr(self, name)
        if values is None:
            values = Values()
            setattr(self, name, values)
        return values

    def merge(self, other: "Slot") -> None:
        for name in ("count", "failed", "tokens", "slow", "busy"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.first, self.last = min(self.first, other.first), max(self.last, other.last)
        for name in ("ok", "bad", "ttft"):
            if getattr(other, name) is not None:
                self.values(name).merge(getattr(other, name))
        if other.le is not None:
            self.le = other.le if self.le is None else array("q", map(sum, zip(self.le, other.le)))


def _or_empty(part):
    """None and an empty part are the same sums."""
    return None if part is None or (isinstance(part, Values) and not len(part)) else part


EMPTY = Slot()


class Series:
    """Prometheus' counters and histograms of some stretch of time, as a client counts them:
    requests by priority and status, tokens in and out, and histograms (counts per `le` bucket,
    then the sum in whole microseconds: integers add up the same in any order) of the latency by
    priority and outcome, and of the time to first token of successes by priority."""

    __slots__ = ("codes", "tokens", "latency", "first_token")

    def __init__(self):
        self.codes: dict[tuple[str, int], int] = {}
        self.tokens = [0, 0]
        self.latency: dict[tuple[str, str], list[int]] = {}
        self.first_token: dict[str, list[int]] = {}

    def __eq__(self, other) -> bool:
        return isinstance(other, Series) and all(getattr(self, a) == getattr(other, a)
                                                 for a in self.__slots__)

    def merge(self, other: "Series") -> None:
        for key, n in other.codes.items():
            self.codes[key] = self.codes.get(key, 0) + n
        self.tokens = [a + b for a, b in zip(self.tokens, other.tokens)]
        _add(self.latency, other.latency)
        _add(self.first_token, other.first_token)


def _add(into: dict, more: dict) -> None:
    """Lists of counts added key by key."""
    for key, counts in more.items():
        mine = into.get(key)
        into[key] = list(counts) if mine is None else [a + b for a, b in zip(mine, counts)]


def _observe(series: dict, key, seconds: float) -> None:
    """One value into a histogram: its bucket's count (not yet cumulative), and the sum."""
    counts = series.get(key)
    if counts is None:
        counts = series[key] = [0] * (len(DEFAULT_BUCKETS) + 1)
    counts[bisect.bisect_left(DEFAULT_BUCKETS, seconds)] += 1
    counts[-1] += round(seconds * 1e6)


class Tally:
    """The windows (and minutes) of a stream of requests, each summed as it is read; and the
    Prometheus series by stretches of `coarse` seconds (an hour, or a whole number of windows)."""

    def __init__(self, window_s: float = 60.0, latency_limit_s: float = traffic.SLOW_MS / 1000):
        self.window_s, self.limit_ms = window_s, latency_limit_s * 1000.0
        self.coarse = math.lcm(round(window_s), 3600) if window_s == round(window_s) else window_s
        self.slots: dict[int, Slot] = {}                  # window k on the grid -> its sums
        self.minutes: dict[int, list[int]] = {}           # minute m -> 5xx, all, slow, served
        self.series: dict[int, Series] = {}               # stretch c of `coarse` s -> its series
        self.priorities: dict[str, int] = {}              # priority -> requests, bounded
        self.folded = False                               # did priorities past the bound come

    def __eq__(self, other) -> bool:
        mine = (self.window_s, self.limit_ms, self.minutes, self.series)
        return isinstance(other, Tally) and mine == (other.window_s, other.limit_ms, other.minutes,
                                                     other.series) and \
            {k: s for k, s in self.slots.items() if s != EMPTY} == \
            {k: s for k, s in other.slots.items() if s != EMPTY}

    def __len__(self) -> int:
        return sum(slot.count for slot in self.slots.values())

    def add(self, start: float, latency_ms: float, ttft_ms: float | None, status: int,
            priority: str, tokens_in: int, tokens_out: int) -> None:
        """One request, `start` in seconds on the grid's clock: as lab 2's golden_signals,
        busy_seconds and per_minute count it, and as a Prometheus client would."""
        if priority not in self.priorities and priority not in KNOWN_PRIORITIES \
                and len(self.priorities) >= MAX_PRIORITIES:
            priority, self.folded = OTHER, True
        self.priorities[priority] = self.priorities.get(priority, 0) + 1
        w = self.window_s
        k = math.floor(start / w)
        slot = self.slots.get(k)
        if slot is None:
            slot = self.slots[k] = Slot()
        slot.count += 1
        slot.tokens += tokens_in + tokens_out
        slot.first, slot.last = min(slot.first, start), max(slot.last, start)
        minute = self.minutes.get(m := math.floor(start / 60.0))
        if minute is None:
            minute = self.minutes[m] = [0, 0, 0, 0]
        minute[1] += 1
        ok, interactive = status < 500, priority == "interactive"
        if not ok:
            slot.failed += 1
            minute[0] += 1
            if interactive:
                slot.values("bad").add(latency_ms)
        elif interactive:
            slow = latency_ms > self.limit_ms
            slot.values("ok").add(latency_ms)
            slot.slow += slow
            minute[2] += slow
            minute[3] += 1
            if ttft_ms is not None:
                slot.values("ttft").add(ttft_ms)
            if slot.le is None:
                slot.le = array("q", bytes(8 * len(DEFAULT_BUCKETS)))
            slot.le[bisect.bisect_left(DEFAULT_BUCKETS, latency_ms / 1000)] += 1
        series = self.series.get(c := math.floor(start / self.coarse))
        if series is None:
            series = self.series[c] = Series()
        series.codes[(priority, status)] = series.codes.get((priority, status), 0) + 1
        series.tokens[0] += tokens_in
        series.tokens[1] += tokens_out
        _observe(series.latency, (priority, "success" if ok else "failure"), latency_ms / 1000)
        if ok and ttft_ms is not None:
            _observe(series.first_token, priority, ttft_ms / 1000)
        end, at = start + latency_ms / 1000.0, start      # busy seconds, split at window edges
        if end <= (k + 1) * w:
            slot.busy += round((end - at) * 1e9)
            return
        while at < end:
            edge = (k + 1) * w
            (self.slots.get(k) or self.slots.setdefault(k, Slot())).busy += round((min(end, edge) - at) * 1e9)
            at, k = edge, k + 1

    def merge(self, other: "Tally") -> None:
        """Add another tally's sums to this one's (its parts are taken over, not copied)."""
        for mine, theirs in ((self.slots, other.slots), (self.series, other.series)):
            for key, part in theirs.items():
                if key in mine:
                    mine[key].merge(part)
                else:
                    mine[key] = part
        _add(self.minutes, other.minutes)
        for priority, n in other.priorities.items():
            self.priorities[priority] = self.priorities.get(priority, 0) + n
        self.folded = self.folded or other.folded

    # ── the span ────────────────────────────────────────────────────────────────────────────────

    def requests(self):
        """The windows that hold requests, in time order: (k, slot)."""
        return sorted((k, s) for k, s in self.slots.items() if s.count)

    def keep(self, since: float, until: float) -> int:
        """Keep the requests that started in [since, until), both taken out to the `coarse` grid
        (on which windows and series both end); the requests left out."""
        since = math.floor(since / self.coarse) * self.coarse
        until = math.ceil(until / self.coarse) * self.coarse
        left_out, w = 0, self.window_s
        for k in [k for k in self.slots if not since <= k * w < until]:
            left_out += self.slots.pop(k).count
        self.series = {c: s for c, s in self.series.items() if since <= c * self.coarse < until}
        self.minutes = {m: n for m, n in self.minutes.items() if since <= m * 60.0 < until}
        return left_out

    def inexact(self) -> str | None:
        """Which percentiles will come from a sketch, not exact, and how far off they may be; None
        when every one will be exact."""
        sketched = sum(any(v is not None and not v.is_exact for v in (s.ok, s.bad, s.ttft))
                       for s in self.slots.values())
        most = max(sum(len(getattr(s, kind) or ()) for s in self.slots.values()) for kind in ("ok", "bad"))
        if sketched:
            where = f"{sketched} window(s) held more than {EXACT} latencies of a kind"
        elif most > SPAN_EXACT:
            where = f"the span holds more than {SPAN_EXACT:,} latencies"
        else:
            return None
        return f"{where}: their percentiles are within {100 * ALPHA:g} % (a DDSketch), not exact"

    def first(self) -> float:
        return min(s.first for s in self.slots.values() if s.count)

    def last(self) -> float:
        return max(s.last for s in self.slots.values() if s.count)

    def grid(self) -> float:
        """lcm(window, 60 s): the chart's 0:00 is a multiple of it, on both grids."""
        return math.lcm(round(self.window_s), 60)

    # ── what lab 2's measure() makes of a list of requests ───────────────────────────────────────

    def measured(self, zero: float, duration_s: float, capacity: int | None) -> lab2.Measurements:
        """What lab 2's measure() makes of a list of requests, over [zero, zero + duration_s), on
        the chart's clock: its windows (lab 2's window_of), per-minute counts, span latency and
        p99 check (lab 2's p99_check, on the histogram's bucket counts)."""
        w = self.window_s
        k0, n = round(zero / w), max(1, math.ceil(duration_s / w))
        windows, span_ok, span_bad = [], Values(SPAN_EXACT), Values(SPAN_EXACT)
        empty = Values()
        for j in range(n):
            slot = self.slots.get(k0 + j, EMPTY)
            ok, bad, ttft = slot.ok or empty, slot.bad or empty, slot.ttft or empty
            windows.append(lab2.window_of(
                j * w, w, slot.count, slot.failed, slot.tokens, slot.busy / 1e9, capacity,
                slow=slot.slow, served=len(ok), ok_s=ok.ranks((50, 90, 95, 99), 0.001),
                failed_s=bad.ranks((50, 95, 99), 0.001), ttft_p95_s=ttft.rank(95, 0.001)))
            span_ok.merge(ok)
            span_bad.merge(bad)
        m0, minutes = round(zero / 60.0), max(1, math.ceil(duration_s / 60.0))
        per_minute = [self.minutes.get(m0 + j, (0, 0, 0, 0)) for j in range(minutes)]
        counts = tuple(list(column) for column in zip(*per_minute))      # 5xx, all, slow, served
        span = tuple(tuple(None if v.rank(q) is None else v.rank(q) / 1000 for q in (50, 95, 99))
                     for v in (span_ok, span_bad))             # seconds, as lab 2 divides them
        measured = [j for j, window in enumerate(windows) if window.p99_s is not None]
        check = []
        if measured:
            last = measured[-1]
            check = lab2.p99_check(windows, w, last, span_ok.rank(99) / 1000,
                                   self._le([k0 + last]), self._le(range(k0, k0 + n)))
        return lab2.Measurements(windows=windows, per_minute=counts, latency=span,
                                 p99_check=check)

    def _le(self, keys) -> list[int]:
        """The cumulative bucket counts (Prometheus' le) of the interactive successes of these
        windows."""
        total = [0] * len(DEFAULT_BUCKETS)
        for k in keys:
            le = self.slots.get(k, EMPTY).le
            if le:
                total = [a + b for a, b in zip(total, le)]
        return cumulative(total)

    def totals(self) -> tuple[dict, dict, dict, tuple[int, int]]:
        """Over the span kept: the Prometheus histograms (latency by priority and outcome, TTFT by
        priority, each as cumulative counts per le and the sum in seconds), requests by priority
        and status, and the input and output tokens; priorities past the most frequent
        PROM_PRIORITIES summed as "other" (label_note says when)."""
        total = Series()
        for series in self.series.values():
            total.merge(series)
        shown = self._shown()

        def fold(d: dict) -> dict:
            out: dict = {}
            for key, value in d.items():
                priority = key if isinstance(key, str) else key[0]
                priority = priority if priority in shown else OTHER
                key = priority if isinstance(key, str) else (priority, *key[1:])
                out[key] = value if key not in out else (
                    out[key] + value if isinstance(value, int) else [a + b for a, b in zip(out[key], value)])
            return out

        finish = lambda d: {k: (cumulative(s[:-1]), s[-1] / 1e6) for k, s in fold(d).items()}   # noqa: E731
        return finish(total.latency), finish(total.first_token), fold(total.codes), tuple(total.tokens)

    def _shown(self) -> set[str]:
        ranked = sorted(set(self.priorities) - {OTHER}, key=lambda p: (-self.priorities[p], p))
        return {*KNOWN_PRIORITIES, *ranked[:PROM_PRIORITIES]}

    def label_note(self) -> str | None:
        """What the exposition summed under priority="other", or None when nothing."""
        distinct = set(self.priorities) - {OTHER}
        if not distinct - self._shown() and not self.folded:
            return None
        more = "more than " if self.folded else ""
        return (f"{more}{len(distinct)} priority values: the "
                f"{PROM_PRIORITIES} most frequent are labelled, the rest summed as "
                f'priority="{OTHER}" (each label value is a series a scraper must hold)')


def cumulative(counts) -> list[int]:
    """Counts per bucket, cumulative: Prometheus' `le` series."""
    out, total = [], 0
    for n in counts:
        total += n
        out.append(total)
    return out


def tally_of(requests, window_s: float = 60.0, latency_limit_s: float = traffic.SLOW_MS / 1000) -> Tally:
    """The tally of a list of Observations (the story's, say), their ts on the grid's clock."""
    tally = Tally(window_s, latency_limit_s)
    for r in requests:
        tally.add(r.ts, r.latency_ms, r.ttft_ms, r.status, r.priority, r.prompt_tokens, r.completion_tokens)
    return tally
