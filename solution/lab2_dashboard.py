"""Lab 2: the four golden signals and SLO burn, in a dashboard that shows what breaches.

The question: in six hours of traffic, which minutes were bad, on which signal, and which of them
deserved to wake somebody up?

Extends M20 (observability: numbers from what the service records) and M31 (SLOs and error
budgets). Cut the story into windows (one minute by default); in each, measure the four golden
signals of the Google SRE book, "Monitoring Distributed Systems": latency, traffic, errors,
saturation. Mark the windows where a signal is over its threshold: the breaches. Then ask three
alert policies when they would have paged, and score each against the story's ground truth:

    any signal   page when any one signal breaches (the naive dashboard alert)
    SLO burn     the SRE Workbook's multiwindow, multi-burn-rate alerts on two SLOs
    composite    page only when two or more signals breach in the same window (the challenge:
                 starters/extend.py; its reference answer is solution/extend.py)

Run it:

    python3 solution/lab2_dashboard.py                       the story's dashboard
    python3 solution/lab2_dashboard.py --html dashboard.html --prom metrics.prom
    python3 solution/lab2_dashboard.py --from story.jsonl    the same from lab 1's JSON-lines log
    python3 solution/lab2_dashboard.py --slo 0.999 --window 300  what if? (--help for all flags)

    >>> burn_rate_threshold(0.02, period_days=30, window_hours=1)   # 2 % of the budget in 1 h
    14.4

Remember: one signal over its line for a minute is usually noise; page on a fast burn of the error
budget, or on several signals at once.
"""

from __future__ import annotations

import argparse
import bisect
import math
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Collection, NamedTuple, Sequence

if __package__ in (None, ""):          # run as a script: make the `solution` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from solution import traffic
from solution.cli import positive_float, positive_int, run_cli
from solution.numeric import nearest_rank, percent
from solution.terminal import sparkline, squeeze, table, use_color

# The SRE book's order. Every list of signals in this lab is kept in this order.
SIGNALS = ("latency", "traffic", "errors", "saturation")


# ── 1. percentiles, two ways ────────────────────────────────────────────────────────────────────
#
# Every percentile this lab prints is nearest-rank (shared.nearest_rank): the smallest observed
# value with at least q % of the values at or below it. A metrics system cannot keep every value,
# so Prometheus counts values into buckets and estimates a quantile from the counts. The estimate
# is only as good as the buckets are narrow where the quantile falls.

# client_python's default histogram buckets, in seconds (prometheus_client, Histogram.DEFAULT_BUCKETS)
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
                   math.inf)


def cumulative_buckets(values: Sequence[float], bounds: Sequence[float] = DEFAULT_BUCKETS) -> list[int]:
    """How many values are at or below each bucket's upper bound (`le`): what a Prometheus
    histogram exposes. The last bound is +Inf, so the last count is the number of values.

    >>> cumulative_buckets([0.3, 0.7, 2.0, 12.0], (0.5, 1.0, 5.0, math.inf))
    [1, 2, 3, 4]
    """
    ordered = sorted(values)
    return [bisect.bisect_right(ordered, bound) for bound in bounds]


def histogram_quantile(q: float, bounds: Sequence[float], counts: Sequence[int]) -> float | None:
    """Prometheus' `histogram_quantile(q, ...)` over cumulative bucket counts (promql/quantile.go):
    rank = q x total; find the first bucket whose count reaches the rank; interpolate linearly
    inside it, as if its values were spread evenly; the lowest bucket starts at 0. A rank in the
    +Inf bucket returns the highest finite bound: the histogram cannot see beyond it.
    None when there are no values (Prometheus returns NaN).

    >>> histogram_quantile(0.5, (1.0, 2.0, math.inf), (10, 30, 30))   # 15th of 30: 5/20 into 1-2
    1.25
    """
    if not 0 < q <= 1:
        raise ValueError(f"quantile must be in (0, 1], not {q}")
    total = counts[-1] if counts else 0
    if not total:
        return None
    rank = q * total
    b = next(i for i, count in enumerate(counts) if count >= rank or i == len(counts) - 1)
    if b == len(counts) - 1:
        return bounds[-2]
    start, below = (0.0, 0) if b == 0 else (bounds[b - 1], counts[b - 1])
    return start + (bounds[b] - start) * (rank - below) / (counts[b] - below)


# ── 2. the four golden signals, per window ──────────────────────────────────────────────────────
#
# Decisions, and why:
# - Latency is measured on interactive requests only. A person waits for those; the batch tenant's
#   summaries take ~5.5 s by design and are 10 % of traffic, so mixing them in would make the
#   p90/p95 a measure of the traffic mix (it rises with batch traffic: the noisy tenant would
#   look like a latency incident) rather than of the service people wait for.
# - Latency of successful and failed requests is kept apart (SRE book): a fast 503 flatters a
#   shared percentile, a slow timeout is worse than a slow success.
# - Errors count explicit failures (HTTP 5xx) over all requests. Errors "by policy" (interactive
#   successes slower than the latency limit) are counted beside them, not mixed in: they are the
#   latency SLO's bad events, and the latency signal already carries them.
# - Saturation is the most constrained resource: the model deployment's concurrent requests.
#   Requests in flight, averaged over the window (the busy seconds of every request overlapping
#   it, divided by the window: Little's law, L = lambda x W), over the capacity.
# - Each request belongs to the window it started in: the clock the incidents are told on.

class Observation(NamedTuple):
    """What the dashboard needs of one request: the story's Request has these fields too, so
    the same code reads the story or a log (see read_log)."""
    ts: float                   # start, seconds on the story's clock
    latency_ms: float
    ttft_ms: float | None
    status: int
    priority: str               # "interactive" or "batch"
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class Window:
    """The golden signals of one window. None means "no data": never a divide by zero."""
    start_s: float
    requests: int
    failed: int                     # explicit errors: HTTP 5xx
    slow: int                       # errors by policy: interactive successes over the latency limit
    rps: float                      # traffic: requests per second
    tokens_per_s: float             # traffic in tokens: input + output per second
    error_ratio: float | None       # failed / requests; None: no traffic
    slow_ratio: float | None        # slow / interactive successes
    p50_s: float | None             # latency of interactive successes (nearest rank)
    p90_s: float | None             # the one the latency signal is judged on (see Thresholds)
    p95_s: float | None
    p99_s: float | None
    failed_p50_s: float | None      # latency of interactive failures, apart
    failed_p95_s: float | None
    failed_p99_s: float | None
    ttft_p95_s: float | None        # time to first token of interactive successes
    saturation: float               # mean requests in flight / capacity


def busy_seconds(requests, window_s: float, n_windows: int) -> list[float]:
    """Per window, the seconds of request time inside it, summed over every request: the mean
    number in flight is busy / window_s. A request spanning windows is split between them."""
    busy = [0.0] * n_windows
    for r in requests:
        start = r.ts
        end = start + r.latency_ms / 1000.0
        i = int(start // window_s)
        edge = (i + 1) * window_s
        if end <= edge:                     # the usual case: it ends in the window it began in
            if i < n_windows:
                busy[i] += end - start
            continue
        while start < end and i < n_windows:
            busy[i] += min(end, edge) - start
            start, i, edge = edge, i + 1, edge + window_s
    return busy


def _ranks(values: list[float], qs: tuple[int, ...] = (50, 95, 99), scale: float = 1.0) -> tuple:
    """Nearest-rank percentiles of the values, times `scale`; Nones when there are none."""
    if not values:
        return (None,) * len(qs)
    values = sorted(values)         # once: nearest_rank then sorts an already sorted list fast
    return tuple(nearest_rank(values, q) * scale for q in qs)


def golden_signals(requests, *, window_s: float = 60.0, duration_s: float, capacity: int,
                   latency_limit_s: float) -> list[Window]:
    """Cut the requests into windows of `window_s` seconds over [0, duration_s) and measure the
    four golden signals in each. Requests starting outside the span are left out."""
    n = max(1, math.ceil(duration_s / window_s))
    count, failed, tokens = [0] * n, [0] * n, [0] * n
    ok_ms, failed_ms, ttft_ms = ([[] for _ in range(n)] for _ in range(3))
    for r in requests:              # one pass: tally each request in the window it started in
        i = int(r.ts // window_s)
        if not 0 <= i < n:
            continue
        count[i] += 1
        tokens[i] += r.prompt_tokens + r.completion_tokens
        if r.status >= 500:
            failed[i] += 1
            if r.priority == "interactive":
                failed_ms[i].append(r.latency_ms)
        elif r.priority == "interactive":
            ok_ms[i].append(r.latency_ms)
            if r.ttft_ms is not None:
                ttft_ms[i].append(r.ttft_ms)
    busy = busy_seconds(requests, window_s, n)
    limit_ms = latency_limit_s * 1000.0
    windows = []
    for i in range(n):
        served, slow = len(ok_ms[i]), sum(ms > limit_ms for ms in ok_ms[i])
        p50, p90, p95, p99 = _ranks(ok_ms[i], (50, 90, 95, 99), scale=0.001)
        f50, f95, f99 = _ranks(failed_ms[i], scale=0.001)
        windows.append(Window(
            start_s=i * window_s, requests=count[i], failed=failed[i], slow=slow,
            rps=count[i] / window_s, tokens_per_s=tokens[i] / window_s,
            error_ratio=failed[i] / count[i] if count[i] else None,
            slow_ratio=slow / served if served else None,
            p50_s=p50, p90_s=p90, p95_s=p95, p99_s=p99,
            failed_p50_s=f50, failed_p95_s=f95, failed_p99_s=f99,
            ttft_p95_s=_ranks(ttft_ms[i], (95,), scale=0.001)[0],
            saturation=busy[i] / window_s / capacity))
    return windows


# ── 3. thresholds and breaches ──────────────────────────────────────────────────────────────────

@dataclass(frozen=True)
class Thresholds:
    """Where each signal's line is drawn, and why there (the story's numbers in brackets).

    latency_s   p90 of interactive successes over 6 s, the latency SLO's own limit: more than
                10 % of answers too slow, ten times the SLO's 1 % budget [usually p90 ~2.9 s; a
                2.5x slower provider: 6-9 s]. Why p90 and not p95? A minute holds ~55
                interactive answers (~28 when half of them fail): its p95 is the 3rd slowest, its
                p99 the slowest, so one or two long answers move them [at 2:14, two 500-token
                answers lift the p95 to 7.9 s in an errors-only incident]; the p90 rests on 6.
    traffic_x   requests per second over 1.5x the median window: the median is the usual load and
                the bursts cannot move it; a minute of Poisson traffic at 60 requests almost never
                reaches 90 by chance (+3.9 standard deviations).
    errors      5xx ratio at or over 5 %: ten times the 0.5 % error budget's rate; one failure in
                a 60-request minute is 1.7 %, so it takes three.
    saturation  requests in flight at or over 70 % of capacity: the usual utilization target that
                leaves headroom for a burst [quiet hours run at ~23 %].
    """
    latency_s: float = 6.0
    traffic_x: float = 1.5
    errors: float = 0.05
    saturation: float = 0.70


def traffic_limit(windows: Sequence[Window], traffic_x: float) -> float:
    """The traffic threshold in requests per second: traffic_x times the median window that had
    traffic (the median is the usual load, and robust to the bursts it must detect)."""
    busy = [w.rps for w in windows if w.requests]
    return traffic_x * nearest_rank(busy, 50) if busy else math.inf


def signal_values(w: Window) -> dict[str, float | None]:
    """The one number per signal that is compared with its threshold."""
    return {"latency": w.p90_s, "traffic": w.rps if w.requests else None,
            "errors": w.error_ratio, "saturation": w.saturation}


def breaches(windows: Sequence[Window], limits: dict[str, float]) -> list[tuple[str, ...]]:
    """Per window, the signals over their threshold, in SIGNALS order. A window without data on a
    signal does not breach it. Latency and traffic breach above their line; errors and
    saturation at it."""
    out = []
    for w in windows:
        values = signal_values(w)
        out.append(tuple(s for s in SIGNALS if values[s] is not None and
                         (values[s] > limits[s] if s in ("latency", "traffic") else values[s] >= limits[s])))
    return out


# ── 4. SLOs, error budgets and burn rates ───────────────────────────────────────────────────────
#
# An SLO promises a share of good events (99.5 % of requests answered); the error budget is the
# rest (0.5 %). Burn rate = observed error ratio / (1 - SLO): at 1x the budget lasts exactly the
# SLO period; at 14.4x a 30-day budget is gone in 50 hours. (SRE Workbook, "Alerting on SLOs".)

def burn_rate(bad: int, total: int, slo: float) -> float | None:
    """Observed error ratio over the error budget; None with no events (no traffic, no verdict).

    >>> burn_rate(72, 1000, 0.995)     # 7.2 % bad against a 0.5 % budget
    14.4
    """
    if total == 0:
        return None
    return round(bad / total / (1.0 - slo), 9)      # round: 14.4, not 14.399999999999999


def burn_rate_threshold(budget_fraction: float, *, period_days: float = 30, window_hours: float) -> float:
    """The burn rate that spends `budget_fraction` of a `period_days` budget within `window_hours`
    (SRE Workbook): budget consumed = burn x window / period, so burn = fraction x period / window.

    >>> burn_rate_threshold(0.05, period_days=30, window_hours=6), burn_rate_threshold(0.10, window_hours=72)
    (6.0, 1.0)
    """
    return round(budget_fraction * period_days * 24 / window_hours, 9)


@dataclass(frozen=True)
class BurnRule:
    """One line of the Workbook's table: alert when the long window AND the short window (1/12 of
    the long) both burn at the threshold. The long window proves the burn is real and big; the
    short one proves it is still going on, so the alert resets minutes after the fire is out."""
    severity: str           # "page" (wake someone) or "ticket" (next working day)
    budget_fraction: float  # of the period's budget this rule guards
    long_hours: float

    @property
    def short_hours(self) -> float:
        return self.long_hours / 12

    @property
    def name(self) -> str:
        return f"{self.severity} {_hours(self.long_hours)} & {_hours(self.short_hours)}"


def _hours(h: float) -> str:
    if h >= 24 and h % 24 == 0:
        return f"{h / 24:g}d"
    return f"{h:g}h" if h >= 1 else f"{h * 60:g}m"


# SRE Workbook, "Alerting on SLOs", the recommended multiwindow rules (30-day budget): spending
# 2 % of the budget in 1 h or 5 % in 6 h pages; 10 % in 3 days files a ticket. The thresholds are
# computed from these, never typed in.
WORKBOOK_RULES = (BurnRule("page", 0.02, 1), BurnRule("page", 0.05, 6), BurnRule("ticket", 0.10, 72))


@dataclass(frozen=True)
class RuleVerdict:
    """A burn rule over one SLO, evaluated at the end of every minute, as a Prometheus rule is."""
    rule: str
    severity: str
    slo_name: str
    threshold: float
    firing: tuple[bool | None, ...]     # per minute: None = not enough history for the long window
    max_long_burn: float | None         # the highest long-window burn seen where it could be judged
    last_long_burn: float | None
    history_h: float                    # the data available

    @property
    def evaluated(self) -> int:
        return sum(f is not None for f in self.firing)


def multiwindow(bad: Sequence[int], total: Sequence[int], slo: float, rule: BurnRule, *,
                period_days: float = 30, slo_name: str = "availability") -> RuleVerdict:
    """Evaluate one rule at the end of every minute from per-minute counts of bad and total
    events. Before the long window has data behind it, the verdict is None: "not enough
    history", never a burn computed on less data than the rule asks for."""
    threshold = burn_rate_threshold(rule.budget_fraction, period_days=period_days,
                                    window_hours=rule.long_hours)
    long_m, short_m = round(rule.long_hours * 60), max(1, round(rule.short_hours * 60))
    sum_bad, sum_total = [0], [0]
    for b, t in zip(bad, total):
        sum_bad.append(sum_bad[-1] + b)
        sum_total.append(sum_total[-1] + t)

    def burn_over(end: int, minutes: int) -> float | None:
        start = end - minutes
        return burn_rate(sum_bad[end] - sum_bad[start], sum_total[end] - sum_total[start], slo)

    firing: list[bool | None] = []
    long_burns = []
    for end in range(1, len(bad) + 1):
        if end < long_m:
            firing.append(None)
            continue
        long_burn, short_burn = burn_over(end, long_m), burn_over(end, short_m)
        if long_burn is not None:
            long_burns.append(long_burn)
        firing.append(long_burn is not None and short_burn is not None and
                      long_burn >= threshold and short_burn >= threshold)
    return RuleVerdict(rule.name, rule.severity, slo_name, threshold, tuple(firing),
                       max(long_burns, default=None), long_burns[-1] if long_burns else None,
                       len(bad) / 60)


# ── 5. alerts, pages, and how good each policy is ───────────────────────────────────────────────

@dataclass(frozen=True)
class Page:
    """One page: consecutive paging windows are one page, not many (nobody wants 20 calls for one
    incident). Times are seconds on the story's clock."""
    policy: str
    start_s: float                  # start of the first window that paged
    fired_s: float                  # when it paged: that window's end (a window is judged once closed)
    end_s: float                    # end of the last consecutive paging window
    signals: tuple[str, ...]        # the signals that breached in its windows, in SIGNALS order


def pages_from(paging: Sequence[bool], signals: Sequence[Collection[str]], step_s: float,
               policy: str) -> list[Page]:
    """Turn per-window verdicts into pages: a run of consecutive paging windows is one page, whose
    signals are those of its paging windows. Window i spans [i x step_s, (i + 1) x step_s)."""
    out: list[Page] = []
    run_start, seen = None, set()
    for i, (pages_now, sig) in enumerate([*zip(paging, signals), (False, ())]):
        if pages_now:
            if run_start is None:
                run_start, seen = i, set()
            seen |= set(sig)
        elif run_start is not None:
            out.append(Page(policy, run_start * step_s, (run_start + 1) * step_s, i * step_s,
                            tuple(s for s in SIGNALS if s in seen)))
            run_start = None
    return out


def any_signal_alert(breached: Sequence[Collection[str]], window_s: float = 60.0) -> list[Page]:
    """The naive dashboard alert: page whenever any one signal breaches."""
    return pages_from([bool(b) for b in breached], breached, window_s, "any signal")


def burn_alert(verdicts: Sequence[RuleVerdict]) -> list[Page]:
    """Page when any page-severity burn rule fires, on any SLO. An availability burn pages on
    "errors", a latency burn on "latency". Tickets do not page."""
    rules = [v for v in verdicts if v.severity == "page"]
    minutes = max((len(v.firing) for v in rules), default=0)
    paging, signals = [], []
    for m in range(minutes):
        hot = [v for v in rules if v.firing[m]]
        paging.append(bool(hot))
        signals.append({"errors" if v.slo_name == "availability" else "latency" for v in hot})
    return pages_from(paging, signals, 60.0, "SLO burn")


def either(first: Sequence[Page], second: Sequence[Page], policy: str) -> list[Page]:
    """Run two policies together: pages that overlap in time are one page (an on-call engineer
    already paged for an incident is not paged again for it)."""
    out: list[Page] = []
    for p in sorted([*first, *second], key=lambda p: (p.start_s, p.end_s)):
        if out and p.start_s <= out[-1].end_s:
            last = out[-1]
            merged = set(last.signals) | set(p.signals)
            out[-1] = Page(policy, last.start_s, min(last.fired_s, p.fired_s), max(last.end_s, p.end_s),
                           tuple(s for s in SIGNALS if s in merged))
        else:
            out.append(Page(policy, p.start_s, p.fired_s, p.end_s, p.signals))
    return out


def matches(page: Page, incident: traffic.Incident) -> bool:
    """Did this page catch this incident? It overlaps the incident's window in time AND it paged on
    a signal the incident moves: a latency page during the drift does not catch the drift."""
    return (page.start_s < incident.end_s and incident.start_s < page.end_s
            and bool(set(page.signals) & set(incident.signals)))


def visible(incident: traffic.Incident) -> bool:
    """Can the golden signals see this incident at all? (The content drift moves only quality.)"""
    return bool(set(incident.signals) & set(SIGNALS))


@dataclass(frozen=True)
class Score:
    """An alert policy against the ground truth (the Workbook's criteria: precision, recall,
    detection time). Recall counts the real incidents the golden signals can see."""
    policy: str
    pages: tuple[Page, ...]
    on_real: int                    # pages that caught a real incident
    on_blips: int                   # pages on a blip only: noise the story put there
    on_nothing: int                 # pages on no incident at all
    precision: float | None         # on_real / pages; None without pages
    recall: float | None            # real incidents caught / real incidents the signals can see
    detect_s: tuple[float | None, ...]   # per real visible incident: seconds from its start to
                                         # the first page that caught it; None: missed


def score(policy: str, pages: Sequence[Page], incidents: Sequence[traffic.Incident]) -> Score:
    """Score one policy's pages against the ground truth: each page caught a real incident, a
    blip (the story's noise), or nothing; each real incident was caught, or missed."""
    real = [i for i in incidents if i.page and visible(i)]
    blips = [i for i in incidents if not i.page]
    on_real = sum(any(matches(p, i) for i in real) for p in pages)
    on_blips = sum(not any(matches(p, i) for i in real) and any(matches(p, i) for i in blips)
                   for p in pages)
    detect = tuple(min((max(0.0, p.fired_s - i.start_s) for p in pages if matches(p, i)), default=None)
                   for i in real)
    return Score(policy, tuple(pages), on_real, on_blips, len(pages) - on_real - on_blips,
                 on_real / len(pages) if pages and incidents else None,     # no truth, no verdict
                 sum(d is not None for d in detect) / len(real) if real else None, detect)


# ── 7. run: the whole dashboard as plain values ─────────────────────────────────────────────────

@dataclass
class Result:
    source: str                     # what was measured
    requests: int
    window_s: float
    windows: list[Window]
    limits: dict[str, float]        # the threshold of each signal, in its own unit
    breached: list[tuple[str, ...]]
    slo: float
    latency_slo: float
    latency_limit_s: float
    period_days: float
    availability: float | None      # good / all over the whole span
    latency_good: float | None      # interactive successes under the limit / interactive successes
    span_h: float
    verdicts: list[RuleVerdict]
    scores: list[Score]             # any signal, SLO burn; with a composite: composite, composite or burn
    incidents: tuple[traffic.Incident, ...]   # the ground truth, on this clock
    has_truth: bool                 # False: a log from elsewhere, nothing to score against
    story_latency: tuple            # interactive (p50, p95, p99) of successes, then of failures
    p99_check: list[tuple[str, float | None, float | None]]   # (which window, exact, histogram)


def per_minute(requests, minutes: int, latency_limit_s: float) -> tuple[list[int], ...]:
    """Per-minute counts for the burn-rate rules: (5xx, all) for availability, (slow, interactive
    successes) for latency. The rules keep their own one-minute evaluation step, whatever the
    dashboard's window (a Prometheus rule is evaluated every minute or so)."""
    failed, total, slow, served = ([0] * minutes for _ in range(4))
    limit_ms = latency_limit_s * 1000.0
    for r in requests:
        m = int(r.ts // 60.0)
        if 0 <= m < minutes:
            total[m] += 1
            if r.status >= 500:
                failed[m] += 1
            elif r.priority == "interactive":
                served[m] += 1
                slow[m] += r.latency_ms > limit_ms
    return failed, total, slow, served


def policies(breached, verdicts, window_s: float, incidents, composite=None,
             min_signals: int = 2) -> list[Score]:
    """Every alert policy's pages, scored. The composite alert is the challenge: it is passed in
    (solution/extend.py answers it; the demo and tools/dashboard.py pass it), never imported here."""
    naive, burn = any_signal_alert(breached, window_s), burn_alert(verdicts)
    scores = [score("any signal", naive, incidents), score("SLO burn", burn, incidents)]
    if composite is not None:
        pages = composite(breached, window_s=window_s, min_signals=min_signals)
        scores += [score("composite", pages, incidents),
                   score("composite or burn", either(pages, burn, "composite or burn"), incidents)]
    return scores


def p99_check(requests, windows: list[Window], window_s: float) -> list[tuple]:
    """The exact p99 of interactive successes against Prometheus' histogram_quantile over the
    default buckets, in the last window with data and over the whole span."""
    ok_s = [r.latency_ms / 1000 for r in requests if r.priority == "interactive" and r.status < 500]
    last = next((w for w in reversed(windows) if w.p99_s is not None), None)
    if last is None:
        return []
    in_last = [r.latency_ms / 1000 for r in requests if r.priority == "interactive"
               and r.status < 500 and last.start_s <= r.ts < last.start_s + window_s]
    return [(label, exact, histogram_quantile(0.99, DEFAULT_BUCKETS, cumulative_buckets(values)))
            for label, exact, values in (
                (f"last window {traffic.clock(last.start_s)}", last.p99_s, in_last),
                (f"all {_hours(len(windows) * window_s / 3600)}", nearest_rank(ok_s, 99), ok_s))]


def run(requests=None, *, seed: int = traffic.DEFAULT_SEED, scenario: traffic.Scenario = traffic.STORY,
        window_s: float = 60.0, slo: float | None = None, latency_limit_s: float = 6.0,
        latency_slo: float = 0.99, thresholds: Thresholds = Thresholds(), period_days: float = 30,
        composite=None, min_signals: int = 2, duration_s: float | None = None,
        incidents: tuple | None = None, has_truth: bool = True, source: str | None = None) -> Result:
    """The dashboard of the story (or of `requests` over `duration_s`, scored against
    `incidents`: None means the scenario's) as plain values. ValueError on an impossible setting."""
    slo = scenario.slo_availability if slo is None else slo
    if not (0 < slo < 1 and 0 < latency_slo < 1):
        raise ValueError("an SLO must be between 0 and 1, exclusive: 1 leaves no error budget")
    if not window_s > 0:
        raise ValueError("the window must be longer than 0 seconds")
    if requests is None:
        requests = traffic.generate(seed=seed, scenario=scenario)
    incidents = scenario.incidents if incidents is None else incidents
    duration_s = scenario.duration_s if duration_s is None else duration_s

    # the signals, their lines, the breaches
    windows = golden_signals(requests, window_s=window_s, duration_s=duration_s,
                             capacity=scenario.capacity, latency_limit_s=latency_limit_s)
    limits = {"latency": thresholds.latency_s, "traffic": traffic_limit(windows, thresholds.traffic_x),
              "errors": thresholds.errors, "saturation": thresholds.saturation}
    breached = breaches(windows, limits)

    # the SLOs and the Workbook's burn-rate rules, evaluated minute by minute
    failed, total, slow, served = per_minute(requests, max(1, math.ceil(duration_s / 60.0)),
                                             latency_limit_s)
    verdicts = [multiwindow(failed, total, slo, rule, period_days=period_days, slo_name="availability")
                for rule in WORKBOOK_RULES]
    verdicts += [multiwindow(slow, served, latency_slo, rule, period_days=period_days, slo_name="latency")
                 for rule in WORKBOOK_RULES]

    interactive = [r for r in requests if r.priority == "interactive"]
    return Result(
        source=source or f"the story, seed {seed}", requests=len(requests), window_s=window_s,
        windows=windows, limits=limits, breached=breached, slo=slo, latency_slo=latency_slo,
        latency_limit_s=latency_limit_s, period_days=period_days,
        availability=1 - sum(failed) / sum(total) if sum(total) else None,
        latency_good=1 - sum(slow) / sum(served) if sum(served) else None,
        span_h=len(windows) * window_s / 3600, verdicts=verdicts,
        scores=policies(breached, verdicts, window_s, incidents, composite, min_signals),
        incidents=tuple(incidents), has_truth=has_truth,
        story_latency=(_ranks([r.latency_ms / 1000 for r in interactive if r.status < 500]),
                       _ranks([r.latency_ms / 1000 for r in interactive if r.status >= 500])),
        p99_check=p99_check(requests, windows, window_s))


# ── 9. the screen ───────────────────────────────────────────────────────────────────────────────

WIDTH = 36          # sparkline characters: 360 one-minute windows fold into 10 minutes each
ROWS = (            # signal, label, factor to its unit, format, unit
    ("latency", "latency p90", 1.0, "{:.2f} s", " s"),
    ("traffic", "traffic", 1.0, "{:.2f}/s", " req/s"),
    ("errors", "errors (5xx)", 100.0, "{:.1f} %", " %"),
    ("saturation", "saturation", 100.0, "{:.0f} %", " %"),
)
RED, RESET = "\033[31m", "\033[0m"


def _wrap(text: str) -> list[str]:
    return textwrap.wrap(text, 80, subsequent_indent="  ")


def _clock_span(pages: Sequence[Page]) -> str:
    if len(pages) == 1:
        return f"{traffic.clock(pages[0].fired_s)}-{traffic.clock(pages[0].end_s)}"
    return f"{len(pages)}x, first {traffic.clock(pages[0].fired_s)}"


def _verdict_text(v: RuleVerdict) -> str:
    """One rule on one SLO, in a few words: never judged, fired when, or quiet."""
    if not v.evaluated:
        return f"not enough history ({_hours(v.history_h)})"
    if v.max_long_burn is None:
        return "no events to judge"
    fired = pages_from([bool(f) for f in v.firing], [()] * len(v.firing), 60.0, v.rule)
    if fired:
        return f"fired {_clock_span(fired)} ({v.max_long_burn:.1f}x)"
    if v.evaluated == 1:                    # judged once, at the very end of the data
        return f"quiet: {v.last_long_burn:.1f}x at {traffic.clock(len(v.firing) * 60)}"
    return f"quiet (max {v.max_long_burn:.1f}x)"


def _signal_rows(result: Result, color: bool, ascii: bool | None) -> list[str]:
    lines = []
    last = result.windows[-1]
    for signal, label, factor, fmt, _ in ROWS:
        values = [signal_values(w)[signal] for w in result.windows]
        scaled = [None if v is None else v * factor for v in values]
        limit = result.limits[signal] * factor
        top = max([v for v in scaled if v is not None] + [limit if math.isfinite(limit) else 0.0])
        spark = sparkline(squeeze(scaled, WIDTH), low=0.0, high=top or 1.0, ascii=ascii).ljust(WIDTH)
        now = scaled[-1]
        now_text = "no traffic" if not last.requests else ("-" if now is None else fmt.format(now))
        sign = ">" if signal in ("latency", "traffic") else ">="
        lines.append(f"{label:<14} {spark}  {now_text:>10}  {sign}{fmt.format(limit):>8}")
        hit = [1.0 if signal in b else 0.0 for b in result.breached]
        marks = "".join("^" if h else " " for h in squeeze(hit, WIDTH)).ljust(WIDTH)   # as folded
        count = int(sum(hit))
        if color:
            marks = marks.replace("^", f"{RED}^{RESET}")
        lines.append(f"{'':<14} {marks}  breached in {count} window{'s' * (count != 1)}")
    return lines


def report(result: Result, *, color: bool = False, ascii: bool | None = None) -> str:
    """The dashboard in one screen: at most 80 columns, about 30 lines."""
    w0 = result.windows
    minutes = result.window_s / 60
    size = f"{minutes:g} min" if minutes >= 1 else f"{result.window_s:g} s"
    fold = (f"sparklines fold {len(w0) // WIDTH} windows per mark (the max)" if len(w0) // WIDTH > 1
            else "a mark per window")
    lines = _wrap(f"Golden signals of {result.source}: {result.requests:,} requests, "
                  f"{len(w0)} window{'s' * (len(w0) != 1)} of {size}; {fold}; ^ = breach")
    end = traffic.clock(result.span_h * 3600)
    lines.append(f"{'signal':<14} {traffic.clock(0):<{WIDTH // 2}}{end:>{WIDTH - WIDTH // 2}}"
                 f"  {'now':>10}  {'threshold':>9}")
    lines += _signal_rows(result, color, ascii)
    last = w0[-1]
    quiet = sum(not w.requests for w in w0)
    lines += _wrap(f"also now: {last.tokens_per_s:,.0f} tokens/s; slow by policy "
                   f"(> {result.latency_limit_s:g} s) {percent(last.slow_ratio)}; TTFT p95 "
                   + ("-" if last.ttft_p95_s is None else f"{last.ttft_p95_s:.2f} s")
                   + (f"; {quiet:,} window(s) with no traffic" if quiet else ""))

    ok, bad = result.story_latency
    show = lambda t: "-" if t[0] is None else " / ".join(f"{x:.2f}" for x in t)   # noqa: E731
    lines += [f"interactive latency over {_hours(result.span_h)}, p50 / p95 / p99 (nearest rank):",
              f"  successes {show(ok)} s; failures, apart, {show(bad)} s"]
    if result.p99_check:
        parts = []
        for label, exact, estimate in result.p99_check:
            error = (estimate - exact) / exact if exact and estimate is not None else None
            parts.append(f"{label}: {exact:.2f} vs {estimate:.2f} s ({100 * error:+.1f} %)")
        lines.append("p99 exact vs Prometheus histogram_quantile (client_python default buckets):")
        lines.append("  " + "; ".join(parts))

    by_slo = {name: [v for v in result.verdicts if v.slo_name == name]
              for name in ("availability", "latency")}
    for name, good, target, what in (("availability", result.availability, result.slo, ""),
                                     ("latency", result.latency_good, result.latency_slo,
                                      f" under {result.latency_limit_s:g} s")):
        if good is None:
            lines.append(f"SLO {name} {100 * target:g} %{what}: no events")
            continue
        burn = (1 - good) / (1 - target)                            # observed error ratio / budget
        spent = burn * result.span_h / (result.period_days * 24)    # burn x window / period
        lines += _wrap(f"SLO {name} {100 * target:g} %{what}: {100 * good:.2f} % good, burn {burn:.1f}x, "
                       f"{100 * spent:.1f} % of the {result.period_days:g}-day budget")
    lines.append(f"{'burn-rate rule':<16} {'burn':>7} {'availability SLO (max)':<25} latency SLO")
    for rule, avail, lat in zip(WORKBOOK_RULES, by_slo["availability"], by_slo["latency"]):
        lines.append(f"  {rule.name:<14} {avail.threshold:>6.4g}x {_verdict_text(avail):<25} "
                     f"{_verdict_text(lat)}")

    real = [i for i in result.incidents if i.page and visible(i)]
    header = ["alert policy", "pages", "real", "blip", "none", "precision", "recall"] + \
             [traffic.clock(i.start_s) for i in real]
    rows = []
    for s in result.scores:
        rows.append([s.policy, len(s.pages), s.on_real, s.on_blips, s.on_nothing,
                     percent(s.precision, 0), percent(s.recall, 0)]
                    + ["-" if d is None else f"{d / 60:.0f}" for d in s.detect_s])
    lines += table(rows, header).splitlines()
    if real:
        notes = "the last columns: minutes to the first page after " + ", ".join(
            f"{traffic.clock(i.start_s)} {i.name}" for i in real)
    elif result.has_truth:
        notes = "no real incident of the story in this span: pages are counted, not scored"
    else:
        notes = "no ground truth for this log: pages are counted, not scored"
    for i in result.incidents:
        if i.page and not visible(i):
            notes += (f". Not scored: {traffic.clock(i.start_s)} {i.name}, which moves "
                      f"{'+'.join(i.signals)} only: no golden signal sees it (lab 3 does)")
    lines += _wrap(notes + ".")
    return "\n".join(lines)


def caught(page: Page, incidents: Sequence[traffic.Incident]) -> str:
    """What a page caught: a real incident, a blip, or nothing."""
    for wanted in (True, False):
        for i in incidents:
            if i.page is wanted and matches(page, i):
                return i.name if wanted else f"{i.name}, noise"
    return "nothing"


# ── 10. the command line ────────────────────────────────────────────────────────────────────────

def slo_value(text: str) -> float:
    """An SLO as a fraction strictly between 0 and 1: 0.995 means 99.5 %."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(
            f"{text} is out of range: an SLO is a fraction between 0 and 1, exclusive "
            "(0.995 for 99.5 %; 1 would leave no error budget, 0 promises nothing)")
    return value


def window_value(text: str) -> float:
    """A window length in seconds, from 1 second to one day."""
    value = positive_float(text)
    if not 1 <= value <= 86_400:
        raise argparse.ArgumentTypeError(f"{text} is out of range: a window is 1 to 86400 seconds")
    return value


def add_flags(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The dashboard's what-if flags (the lab, its tool and the challenge share them)."""
    parser.add_argument("--seed", type=positive_int, default=traffic.DEFAULT_SEED,
                        help=f"seed of the story (default {traffic.DEFAULT_SEED})")
    parser.add_argument("--window", type=window_value, default=60.0, metavar="SECONDS",
                        help="length of one dashboard window (default 60)")
    parser.add_argument("--slo", type=slo_value, default=traffic.STORY.slo_availability,
                        help="availability SLO as a fraction (default 0.995 = 99.5 %%)")
    parser.add_argument("--latency-slo", type=slo_value, default=0.99,
                        help="share of interactive successes under the latency limit (default 0.99)")
    parser.add_argument("--latency-limit", type=positive_float, default=6.0, metavar="SECONDS",
                        help="latency limit: the p90 threshold and the latency SLO's limit (default 6)")
    parser.add_argument("--period-days", type=positive_int, default=30, metavar="DAYS",
                        help="SLO period; the burn-rate thresholds follow from it (default 30)")
    parser.add_argument("--traffic-x", type=positive_float, default=Thresholds.traffic_x, metavar="X",
                        help="traffic breaches over X times the median window (default 1.5)")
    parser.add_argument("--error-limit", type=slo_value, default=Thresholds.errors, metavar="RATIO",
                        help="errors breach at this 5xx ratio (default 0.05)")
    parser.add_argument("--saturation-target", type=positive_float, default=Thresholds.saturation,
                        metavar="RATIO", help="saturation breaches at this utilization (default 0.70)")
    return parser


def settings(args) -> dict:
    """run()'s keyword arguments from the flags of add_flags."""
    return dict(seed=args.seed, window_s=args.window, slo=args.slo, latency_slo=args.latency_slo,
                latency_limit_s=args.latency_limit, period_days=args.period_days,
                thresholds=Thresholds(latency_s=args.latency_limit, traffic_x=args.traffic_x,
                                      errors=args.error_limit, saturation=args.saturation_target))


def main(argv: list[str] | None = None) -> int:
    parser = add_flags(argparse.ArgumentParser(
        description="The four golden signals of the story per window, their breaches, SLO burn "
                    "rates, and the alert policies scored against the truth. The composite alert "
                    "is the challenge (starters/extend.py); on your own logs, as HTML or as "
                    "Prometheus metrics: solution/tools/dashboard.py."))
    args = parser.parse_args(argv)
    print(report(run(**settings(args)), color=use_color()))
    return 0


if __name__ == "__main__":
    run_cli(main)
