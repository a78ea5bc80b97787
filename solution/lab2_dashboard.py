"""Lab 2: the four golden signals and SLO burn, in a dashboard that shows what breaches.

The question: in six hours of traffic, which minutes were bad, on which signal, and which of them
deserved to wake somebody up? Extends M20 (observability) and M31 (SLOs and error budgets).

Read it in this order (about ten minutes; the handout names the path, labs/lab2_dashboard.md):
1. `window_of`, `golden_signals`: each window's latency, traffic, errors and saturation (Google
   SRE book, "Monitoring Distributed Systems"; `busy_seconds` for saturation);
2. `Thresholds` (each line says why it sits where it does) and `breaches`;
3. `any_signal_alert`, `policies`: verdicts become pages, scored against the truth (paging.py);
   SLO burn is the SRE Workbook's multiwindow, multi-burn-rate rules (slo.py); the composite
   alert is the challenge (starters/extend.py), passed in;
4. `measure` (all it takes of the requests), `run()`, `report()` (the screen), `main()` (flags).

    python3 solution/lab2_dashboard.py [--slo 0.999 --window 300 ...]   (--help for all flags)
    python3 solution/tools/dashboard.py --from LOG --html FILE --prom FILE   the same as a tool

Remember: one signal over its line for a minute is usually noise; page on a fast burn of the error
budget, or on several signals at once.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Collection, Sequence

if __package__ in (None, ""):          # run as a script: make the `solution` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from solution import traffic
from solution.cli import positive_float, positive_int, run_cli, seed_value, slo_value, window_value
from solution.logschema import Observation
from solution.numeric import (DEFAULT_BUCKETS, cumulative_buckets, histogram_quantile, nearest_rank,
                              nearest_ranks, percent)
from solution.paging import SIGNALS, Page, Score, either, pages_from, policy_lines, score
from solution.slo import (RuleVerdict, burn_alert, hours_text, per_minute, rule_lines,
                          slo_verdicts)
from solution.terminal import plural, sparkline, squeeze, use_color, wrap

# ── 1. the four golden signals, per window ──────────────────────────────────────────────────────
# Decisions, and why. Each request belongs to the window it started in (the incidents' clock).
# - Latency: interactive requests only. A person waits for those; the batch tenant's ~5.5 s
#   summaries would make the p90 a measure of the traffic mix (the noisy tenant would look like a
#   latency incident). Successes and failures apart (SRE book): a fast 503 flatters a percentile.
# - Errors: explicit failures (HTTP 5xx) over all requests. Errors "by policy" (successes over the
#   latency limit) are counted beside them: they are the latency SLO's bad events.
# - Saturation: the model's concurrent requests, its most constrained resource: the mean number
#   in flight (busy seconds / window: Little's law, L = lambda x W) over the capacity.

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
    p50_s: float | None             # latency of interactive successes (nearest rank); the signal
    p90_s: float | None             # is judged on the p90 (see Thresholds)
    p95_s: float | None
    p99_s: float | None
    failed_p50_s: float | None      # latency of interactive failures, apart: p50, p95, p99
    failed_p95_s: float | None
    failed_p99_s: float | None
    ttft_p95_s: float | None        # time to first token of interactive successes
    saturation: float | None        # mean requests in flight / capacity; None: capacity unknown


def busy_seconds(requests, window_s: float, n_windows: int) -> list[float]:
    """Per window, the seconds of request time inside it, summed over every request: the mean
    number in flight is busy / window_s. A request spanning windows is split between them."""
    busy = [0.0] * n_windows
    for r in requests:
        start, end = r.ts, r.ts + r.latency_ms / 1000.0
        i = int(start // window_s)
        while start < end and i < n_windows:
            edge = (i + 1) * window_s
            busy[i] += min(end, edge) - start
            start, i = edge, i + 1
    return busy


def window_of(start_s, window_s, requests, failed, tokens, busy_s, capacity, *, slow, served,
              ok_s, failed_s, ttft_p95_s) -> Window:
    """One window's signals from its tallies and latency percentiles (ok_s: p50, p90, p95, p99 of
    successes; failed_s: p50, p95, p99): rates, ratios (None without data), saturation."""
    return Window(start_s=start_s, requests=requests, failed=failed, slow=slow,
                  rps=requests / window_s, tokens_per_s=tokens / window_s,
                  error_ratio=failed / requests if requests else None,
                  slow_ratio=slow / served if served else None,
                  p50_s=ok_s[0], p90_s=ok_s[1], p95_s=ok_s[2], p99_s=ok_s[3],
                  failed_p50_s=failed_s[0], failed_p95_s=failed_s[1], failed_p99_s=failed_s[2],
                  ttft_p95_s=ttft_p95_s,
                  saturation=busy_s / window_s / capacity if capacity else None)


def golden_signals(requests: Sequence[Observation], *, window_s: float = 60.0, duration_s: float,
                   capacity: int | None, latency_limit_s: float) -> list[Window]:
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
    busy, limit_ms = busy_seconds(requests, window_s, n), latency_limit_s * 1000.0
    return [window_of(i * window_s, window_s, count[i], failed[i], tokens[i], busy[i], capacity,
                      slow=len([ms for ms in ok_ms[i] if ms > limit_ms]), served=len(ok_ms[i]),
                      ok_s=nearest_ranks(ok_ms[i], (50, 90, 95, 99), scale=0.001),
                      failed_s=nearest_ranks(failed_ms[i], scale=0.001),
                      ttft_p95_s=nearest_ranks(ttft_ms[i], (95,), scale=0.001)[0])
            for i in range(n)]


# ── 2. thresholds and breaches ──────────────────────────────────────────────────────────────────

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
    latency_s: float = traffic.SLOW_MS / 1000
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
        values, over = signal_values(w), []
        for s in SIGNALS:
            value, above = values[s], s in ("latency", "traffic")
            if value is not None and (value > limits[s] if above else value >= limits[s]):
                over.append(s)
        out.append(tuple(over))
    return out


# ── 3. SLO burn and the alert policies ──────────────────────────────────────────────────────────

def any_signal_alert(breached: Sequence[Collection[str]], window_s: float = 60.0) -> list[Page]:
    """The naive dashboard alert: page whenever any one signal breaches."""
    return pages_from([bool(b) for b in breached], breached, window_s, "any signal")


def policies(breached, verdicts, window_s: float, incidents, composite=None,
             min_signals: int = 2) -> list[Score]:
    """Every alert policy's pages, scored. The composite alert is the challenge: passed in
    (solution/extend.py answers it; the demo and the tool pass it), never imported here."""
    naive, burn = any_signal_alert(breached, window_s), burn_alert(verdicts)
    scores = [score("any signal", naive, incidents), score("SLO burn", burn, incidents)]
    if composite is not None:
        pages = composite(breached, window_s=window_s, min_signals=min_signals)
        scores += [score("composite", pages, incidents),
                   score("composite or burn", either(pages, burn, "composite or burn"), incidents)]
    return scores


# ── 4. run: the whole dashboard as plain values ─────────────────────────────────────────────────

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
    scores: list[Score]             # any signal, SLO burn; then composite, composite or burn
    incidents: tuple[traffic.Incident, ...]   # the ground truth, on this clock
    has_truth: bool                 # False: a log from elsewhere, nothing to score against
    story_latency: tuple            # interactive (p50, p95, p99) of successes, then of failures
    p99_check: list[tuple[str, float | None, float | None]]   # (which window, exact, histogram)


def p99_check(windows: Sequence[Window], window_s: float, last: int, span_p99_s: float,
              last_counts: list[int], span_counts: list[int]) -> list[tuple]:
    """The exact p99 of interactive successes beside Prometheus' estimate of it from cumulative
    bucket counts (client_python's default buckets): in window `last`, and over the whole span."""
    span = f"all {hours_text(len(windows) * window_s / 3600)}"
    return [(f"last window {traffic.clock(windows[last].start_s)}", windows[last].p99_s,
             histogram_quantile(0.99, DEFAULT_BUCKETS, last_counts)),
            (span, span_p99_s, histogram_quantile(0.99, DEFAULT_BUCKETS, span_counts))]


@dataclass(frozen=True)
class Measurements:
    """All run() takes from the requests: measure() makes it of a list, and tools/tally.py sums a
    day of logs into the same as it reads them."""
    windows: list[Window]
    per_minute: tuple[list[int], list[int], list[int], list[int]]   # 5xx, all, slow, served
    latency: tuple          # interactive (p50, p95, p99) of successes, then of failures
    p99_check: list[tuple[str, float | None, float | None]]   # (which window, exact, histogram)


def measure(requests, *, window_s: float, duration_s: float, capacity: int | None,
            latency_limit_s: float) -> Measurements:
    """The windows, the SLO counts per minute, the span's interactive latency, the p99 check."""
    windows = golden_signals(requests, window_s=window_s, duration_s=duration_s,
                             capacity=capacity, latency_limit_s=latency_limit_s)
    counts = per_minute(requests, max(1, math.ceil(duration_s / 60.0)), latency_limit_s)
    interactive = [r for r in requests if r.priority == "interactive"]
    ok_s = [r.latency_ms / 1000 for r in interactive if r.status < 500]
    failed_s = [r.latency_ms / 1000 for r in interactive if r.status >= 500]
    measured = [i for i, w in enumerate(windows) if w.p99_s is not None]
    check = []
    if measured:
        last, start = measured[-1], windows[measured[-1]].start_s   # the last window with a p99
        in_last = [r.latency_ms / 1000 for r in interactive
                   if r.status < 500 and start <= r.ts < start + window_s]
        check = p99_check(windows, window_s, last, nearest_rank(ok_s, 99),
                          cumulative_buckets(in_last), cumulative_buckets(ok_s))
    return Measurements(windows=windows, per_minute=counts,
                        latency=(nearest_ranks(ok_s), nearest_ranks(failed_s)), p99_check=check)


def run(requests=None, *, seed: int = traffic.DEFAULT_SEED,
        scenario: traffic.Scenario = traffic.STORY, window_s: float = 60.0,
        slo: float | None = None, latency_limit_s: float = traffic.SLOW_MS / 1000,
        latency_slo: float | None = None, thresholds: Thresholds = Thresholds(),
        period_days: float = 30, composite=None, min_signals: int = 2,
        measured: Measurements | None = None) -> Result:
    """The dashboard of the story (or of `measured` requests, as a tool sums them), scored against
    the scenario's incidents, as plain values; ValueError for a setting that cannot be."""
    slo = scenario.slo_availability if slo is None else slo
    latency_slo = scenario.slo_latency if latency_slo is None else latency_slo
    if not (0 < slo < 1 and 0 < latency_slo < 1):
        raise ValueError("an SLO must be between 0 and 1, exclusive: 1 leaves no error budget")
    if not window_s > 0:
        raise ValueError("the window must be longer than 0 seconds")
    if measured is None:
        if requests is None:
            requests = traffic.generate(seed=seed, scenario=scenario)
        measured = measure(requests, window_s=window_s, duration_s=scenario.duration_s,
                           capacity=scenario.capacity, latency_limit_s=latency_limit_s)
    windows = measured.windows
    failed, total, slow, served = measured.per_minute
    limits = {"latency": thresholds.latency_s,
              "traffic": traffic_limit(windows, thresholds.traffic_x),
              "errors": thresholds.errors, "saturation": thresholds.saturation}
    breached = breaches(windows, limits)
    verdicts = slo_verdicts(measured.per_minute, slo, latency_slo, period_days)
    scores = policies(breached, verdicts, window_s, scenario.incidents, composite, min_signals)
    availability = 1 - sum(failed) / sum(total) if sum(total) else None
    latency_good = 1 - sum(slow) / sum(served) if sum(served) else None
    return Result(
        source=f"the story, seed {seed}", requests=sum(w.requests for w in windows),
        window_s=window_s, windows=windows, limits=limits, breached=breached, slo=slo,
        latency_slo=latency_slo, latency_limit_s=latency_limit_s, period_days=period_days,
        availability=availability, latency_good=latency_good,
        span_h=len(windows) * window_s / 3600, verdicts=verdicts, scores=scores,
        incidents=tuple(scenario.incidents), has_truth=True, story_latency=measured.latency,
        p99_check=measured.p99_check)


# ── 5. the screen ───────────────────────────────────────────────────────────────────────────────

WIDTH = 36          # sparkline characters: 360 one-minute windows fold into 10 minutes each
ROWS = (            # signal, label, factor to its unit, format, unit
    ("latency", "latency p90", 1.0, "{:.2f} s", " s"),
    ("traffic", "traffic", 1.0, "{:.2f}/s", " req/s"),
    ("errors", "errors (5xx)", 100.0, "{:.1f} %", " %"),
    ("saturation", "saturation", 100.0, "{:.0f} %", " %"),
)


def _signal_rows(result: Result, color: bool, ascii: bool | None) -> list[str]:
    """Per signal: a sparkline of its windows, its value now, its threshold; under it, the
    breaches."""
    lines = []
    for signal, label, factor, fmt, _ in ROWS:
        scaled = [None if v is None else v * factor
                  for v in (signal_values(w)[signal] for w in result.windows)]
        limit = result.limits[signal] * factor
        top = max([v for v in scaled if v is not None] + [limit if math.isfinite(limit) else 0.0])
        spark = sparkline(squeeze(scaled, WIDTH), low=0.0, high=top or 1.0, ascii=ascii)
        now = "-" if scaled[-1] is None else fmt.format(scaled[-1])
        now = now if result.windows[-1].requests else "no traffic"
        sign = ">" if signal in ("latency", "traffic") else ">="
        lines.append(f"{label:<14} {spark.ljust(WIDTH)}  {now:>10}  {sign}{fmt.format(limit):>8}")
        hit = [1.0 if signal in b else 0.0 for b in result.breached]
        marks = "".join("^" if h else " " for h in squeeze(hit, WIDTH)).ljust(WIDTH)   # as folded
        if color:
            marks = marks.replace("^", "\033[31m^\033[0m")          # red
        breached = plural(len([b for b in result.breached if signal in b]), "window")
        lines.append(f"{'':<14} {marks}  breached in {breached}")
    return lines


def _slo_lines(result: Result) -> list[str]:
    """Each SLO over the whole span (good share, burn, budget spent), then each Workbook rule."""
    lines = []
    for name, good, target, what in (("availability", result.availability, result.slo, ""),
                                     ("latency", result.latency_good, result.latency_slo,
                                      f" under {result.latency_limit_s:g} s")):
        if good is None:
            lines.append(f"SLO {name} {100 * target:g} %{what}: no events")
            continue
        burn = (1 - good) / (1 - target)                            # observed error ratio / budget
        spent = burn * result.span_h / (result.period_days * 24)    # burn x window / period
        lines += wrap(f"SLO {name} {100 * target:g} %{what}: {100 * good:.2f} % good, "
                      f"burn {burn:.1f}x, {100 * spent:.1f} % of the "
                      f"{result.period_days:g}-day budget")
    return lines + rule_lines(result.verdicts)


def report(result: Result, *, color: bool = False, ascii: bool | None = None) -> str:
    """The dashboard in one screen: at most 80 columns, about 30 lines."""
    w0, last = result.windows, result.windows[-1]
    size = f"{result.window_s / 60:g} min" if result.window_s >= 60 else f"{result.window_s:g} s"
    fold = "a mark per window"
    if len(w0) // WIDTH > 1:
        fold = f"sparklines fold {len(w0) // WIDTH} windows per mark (the max)"
    lines = wrap(f"Golden signals of {result.source}: {result.requests:,} requests, "
                 f"{plural(len(w0), 'window')} of {size}; {fold}; ^ = breach")
    end = traffic.clock(result.span_h * 3600)
    lines.append(f"{'signal':<14} {traffic.clock(0):<{WIDTH // 2}}{end:>{WIDTH - WIDTH // 2}}"
                 f"  {'now':>10}  {'threshold':>9}")
    lines += _signal_rows(result, color, ascii)
    quiet = len([w for w in w0 if not w.requests])
    lines += wrap(f"also now: {last.tokens_per_s:,.0f} tokens/s; slow by policy "
                  f"(> {result.latency_limit_s:g} s) {percent(last.slow_ratio)}; TTFT p95 "
                  + ("-" if last.ttft_p95_s is None else f"{last.ttft_p95_s:.2f} s")
                  + (f"; {quiet:,} window(s) with no traffic" if quiet else ""))
    ok, bad = ("-" if t[0] is None else " / ".join(f"{x:.2f}" for x in t)
               for t in result.story_latency)          # p50 / p95 / p99, or - without data
    lines += [f"interactive latency over {hours_text(result.span_h)}, p50 / p95 / p99 "
              "(nearest rank):", f"  successes {ok} s; failures, apart, {bad} s"]
    if result.p99_check:
        lines += ["p99 exact vs Prometheus histogram_quantile (client_python default buckets):",
                  "  " + "; ".join(f"{label}: {exact:.2f} vs {estimate:.2f} s "
                                   f"({100 * (estimate - exact) / exact:+.1f} %)"
                                   for label, exact, estimate in result.p99_check)]
    lines += _slo_lines(result) + policy_lines(result.scores, result.incidents, result.has_truth)
    if "composite" not in [s.policy for s in result.scores]:
        lines.append("composite (two or more signals at once): the challenge, starters/extend.py")
    return "\n".join(lines)


# ── 6. the command line ────────────────────────────────────────────────────────────────────────

FLAGS = (       # flag, type, default, metavar, what it sets
    ("--seed", seed_value, traffic.DEFAULT_SEED, "N", "seed of the story"),
    ("--window", window_value, 60.0, "SECONDS", "length of one dashboard window"),
    ("--slo", slo_value, traffic.STORY.slo_availability, "RATIO",
     "availability SLO as a fraction: 0.995 is 99.5 %%"),
    ("--latency-slo", slo_value, traffic.STORY.slo_latency, "RATIO",
     "share of interactive successes under the latency limit"),
    ("--latency-limit", positive_float, traffic.SLOW_MS / 1000, "SECONDS",
     "latency limit: the p90 threshold and the latency SLO's limit"),
    ("--period-days", positive_int, 30, "DAYS",
     "SLO period; the burn-rate thresholds follow from it"),
    ("--traffic-x", positive_float, Thresholds.traffic_x, "X",
     "traffic breaches over X times the median window"),
    ("--error-limit", slo_value, Thresholds.errors, "RATIO", "errors breach at this 5xx ratio"),
    ("--saturation-target", positive_float, Thresholds.saturation, "RATIO",
     "saturation breaches at this utilization"),
)


def add_flags(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The dashboard's what-if flags (the lab, its tool and the challenge share them)."""
    for flag, kind, default, metavar, what in FLAGS:
        parser.add_argument(flag, type=kind, default=default, metavar=metavar,
                            help=f"{what} (default {default:g})")
    return parser


def settings(args) -> dict:
    """run()'s keyword arguments from the flags of add_flags."""
    thresholds = Thresholds(latency_s=args.latency_limit, traffic_x=args.traffic_x,
                            errors=args.error_limit, saturation=args.saturation_target)
    return dict(seed=args.seed, window_s=args.window, slo=args.slo, latency_slo=args.latency_slo,
                latency_limit_s=args.latency_limit, period_days=args.period_days,
                thresholds=thresholds)


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
