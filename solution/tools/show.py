"""What each lab found, for the demo's closing timeline and its "Show" page.

For each lab, `labN_findings(result)` -> [(story seconds or None, what it found, <= 60 characters)]
and `labN_charts(result)` -> [inline SVG]. FINDINGS and CHARTS map lab numbers to them.
"""

from __future__ import annotations

import html
import json
import math

from solution import lab1_logs as lab1
from solution import lab2_dashboard as lab2
from solution import lab3_online_eval as lab3
from solution import lab4_limits as lab4
from solution import lab5_flywheel as lab5
from solution import logschema as F
from solution import traffic
from solution.numeric import parse_rfc3339, percent
from solution.paging import caught
from solution.terminal import squeeze
from solution.tools.page import clock_ticks, svg_chart


def failed_per_minute(log: str) -> list[int]:
    """Failed requests per minute of a JSON-lines log, counted from its request.completed lines,
    by the minute each request started (its completion less its latency): a request that began
    at 2:19 and ended at 2:20 does not make a last, nearly empty minute that looks like a cliff."""
    minutes: dict[int, int] = {}
    for line in log.splitlines():
        record = json.loads(line)
        if record["body"] == F.REQUEST_COMPLETED:
            started = parse_rfc3339(record["timestamp"]) - record["attributes"][F.LATENCY_MS] / 1000
            minute = int(started // 60)
            minutes[minute] = minutes.get(minute, 0) + (record["severity_number"] >= F.ERROR_SEVERITY)
    return [minutes[m] for m in sorted(minutes)]


# ── lab 1 ──

def lab1_findings(result: lab1.Result) -> list[tuple[float | None, str]]:
    """What the logs showed, for the demo's closing timeline."""
    out: list[tuple[float | None, str]] = []
    if result.first_failure_s is not None and result.by_stage:
        stage, _, lines = result.by_stage[0]
        out.append((result.first_failure_s, f"logs: {result.failed:,} of {result.requests:,} "
                                            f"failed, {lines:,} at {stage}"[:60]))
    saved = 1 - result.sampled_lines / max(1, result.lines)
    out.append((None, f"tail sampling kept {result.tail_failed_kept}/{result.failed_traces} "
                      f"failures, saved {percent(saved)} of lines"[:60]))
    return out


def lab1_charts(result: lab1.Result) -> list[str]:
    """Failed requests per minute, counted from the log's request.completed lines."""
    per_minute = failed_per_minute(result.log)
    if not per_minute:
        return []
    start = result.window[0]
    return [svg_chart(per_minute,
                      "failed requests per minute, from the JSON logs", unit=" req",
                      x_label="the story's clock, a point a minute",
                      x_ticks=clock_ticks([start + 60 * i for i in range(len(per_minute))], 300))]


# ── lab 2 ──

def lab2_findings(result: lab2.Result) -> list[tuple[float | None, str]]:
    """When each policy paged and on which signals, for the demo's closing timeline; pages that
    fire at the same minute on the same signals are one line."""
    fired: dict[tuple[float, tuple[str, ...]], list[str]] = {}
    for s in result.scores[:3]:                      # the combined policy repeats the others
        for p in s.pages:
            fired.setdefault((p.fired_s, p.signals), []).append(s.policy)
    out: list[tuple[float | None, str]] = []
    for (when, signals), policies in sorted(fired.items()):
        page = next(p for s in result.scores for p in s.pages if (p.fired_s, p.signals) == (when, signals))
        text = f"page by {'/'.join(policies)}: {'+'.join(signals)}"
        what = f" ({caught(page, result.incidents)})"
        out.append((when, (text + what) if len(text + what) <= 60 else text[:60]))
    if result.incidents:
        out.append((None, "precision: " + ", ".join(f"{s.policy} {percent(s.precision, 0)}"
                                                    for s in result.scores[:3])))
    return out


def lab2_charts(result: lab2.Result) -> list[str]:
    """One chart per golden signal: its value per window, its threshold dashed, breaches shaded."""
    charts = []
    for signal, label, factor, _, unit in lab2.ROWS:
        values = [lab2.signal_values(w)[signal] for w in result.windows]
        limit = result.limits[signal] * factor
        charts.append(svg_chart([None if v is None else v * factor for v in values],
                                f"Lab 2: {label} per window", threshold=limit if math.isfinite(limit) else None,
                                shade=[i for i, b in enumerate(result.breached) if signal in b],
                                unit=unit, x_label="h:mm on the log's clock",
                                x_ticks=clock_ticks([w.start_s for w in result.windows]),
                                shaded="the windows where it breached"))
    return charts


# ── lab 3 ──

def lab3_findings(result: lab3.Result) -> list[tuple[float | None, str]]:
    """What the lab caught, for the demo's closing timeline (texts of at most 60 characters)."""
    out: list[tuple[float | None, str]] = []
    chosen, short = result.chosen
    topic = result.slices[0].topic if result.slices else "?"
    if chosen.first_alarm_s is not None:
        out.append((chosen.first_alarm_s, f"online eval: {short} alarm, slice {topic}"))
    below = next((w for w in result.windows if "pass" in w.alarms), None)
    if below is not None:
        out.append((below.end_s, f"online eval: pass rate {percent(below.pass_rate)} in "
                                 f"{traffic.clock(below.start_s)}-{traffic.clock(below.end_s)}, "
                                 "below the gate"))
    out.append((None, f"offline gate passed {percent(result.gate_pass_rate)}; online "
                      f"{percent(result.online_after)} after launch"))
    if result.regression:
        out.append((None, f"{len(result.regression)} regression cases for the golden set: {topic}"))
    return out


def show_card(result: lab3.Result, seed: int) -> str | None:
    """The one finding to post in "Show": the drift online evaluation caught and the offline
    gate missed, in two sentences, its chart, and the command that reproduces it. None when
    the lab caught no drift."""
    chosen, _ = result.chosen
    if chosen.first_alarm_s is None or result.drift_start_s is None or not result.slices:
        return None
    worst = result.slices[0]
    first = (f"The offline gate passed {percent(result.gate_pass_rate)}, yet online evaluation of "
             f"a {percent(result.sample_rate, 0)} sample of live answers caught a drift: the "
             f"{chosen.name} alarmed at {traffic.clock(chosen.first_alarm_s)}, "
             f"{chosen.delay_s(result.drift_start_s) / 60:.1f} min after it began at "
             f"{traffic.clock(result.drift_start_s)}.")
    second = (f"The weighted pass rate fell from {percent(result.online_before)} to "
              f"{percent(result.online_after)}; the slice behind it is {worst.topic} "
              f"({percent(worst.share, 0)} of the answers, passing {percent(worst.pass_rate)}).")
    command = f"python3 solution/lab3_online_eval.py --seed {seed}"
    return (f'<section class="show"><h2>Show: the finding to post</h2>'
            f"<p>{html.escape(first)} {html.escape(second)}</p>{lab3_charts(result)[0]}"
            f"<p>Reproduce it (seed {seed}): <code>{html.escape(command)}</code></p></section>")


def lab3_charts(result: lab3.Result) -> list[str]:
    """The pass rate per window against the gate, and the chosen detector's level."""
    rates = [None if w.pass_rate is None else 100 * w.pass_rate for w in result.windows]
    shaded = [i for i, w in enumerate(result.windows) if "pass" in w.alarms]
    span = (f"{traffic.clock(lab3.REFERENCE_S)} to {traffic.clock(result.windows[-1].end_s)}"
            if result.windows else "")
    title = f"Lab 3: weighted pass rate per {result.window_s / 60:g}-min window"
    charts = [svg_chart(rates, title, threshold=100 * result.gate_pass_rate, shade=shaded,
                        unit=" %", x_label=span, x_ticks=clock_ticks([w.start_s for w in result.windows]),
                        shaded="windows whose pass rate is below the gate's (z-test, 1 %)")]
    if result.sequential_levels:
        title = f"Lab 3: {result.chosen[0].name} level on the random sample's pass stream"
        charts.append(svg_chart(squeeze(result.sequential_levels, 360), title,
                                threshold=result.sequential_threshold,
                                x_label="answers, in time order"))
    return charts


# ── lab 4 ──

def lab4_findings(result: lab4.Result) -> list[tuple[float | None, str]]:
    """What the limits refused and when, and what that kept for everyone else."""
    out: list[tuple[float | None, str]] = []
    for e in result.episodes:
        if e.refused >= lab4.NOTABLE:
            until = f" to {traffic.clock(e.end_s)}"
            out.append((e.start_s, f"refused {lab4.describe_spell(e, 60 - 8 - len(until))}{until}"))
    start, end = result.window
    out.append((None, f"others kept {percent(result.others_success)} success "
                      f"{lab4.clock_span(start, end)} ({percent(result.others_success_without)} unlimited)"))
    return out


def lab4_charts(result: lab4.Result) -> list[str]:
    start, end = result.window
    shade = range(int(start // 60), int(end // 60))
    burst = f"the noisy tenant's burst, {traffic.clock(start)}-{traffic.clock(end)}"
    charts = [svg_chart(rep.worst_wait_s, f"Lab 4: longest wait for a slot per minute, {label}",
                        threshold=lab4.DEADLINE_S, shade=shade, unit=" s", x_label="a point a minute",
                        shaded=burst, x_ticks=clock_ticks([60 * i for i in range(len(rep.worst_wait_s))]))
              for label, rep in (("without limits", result.without),
                                 ("with limits", result.limited))]
    per_minute = [0] * len(result.limited.worst_wait_s)
    for ts, _, _ in result.limited.refusals:
        per_minute[int(ts // 60)] += 1
    charts.append(svg_chart(per_minute, "Lab 4: requests refused per minute, with limits",
                            shade=shade, x_label="a point a minute", shaded=burst, unit=" req",
                            x_ticks=clock_ticks([60 * i for i in range(len(per_minute))])))
    return charts


# ── lab 5 ──

def lab5_findings(result: lab5.Result) -> list[tuple[float | None, str]]:
    """What the flywheel made of the story's incidents: not moments on its clock, so no times."""
    run_ = result.flywheel or result.without
    first = [p for p in run_.postmortems if p.title.startswith("week 1:")]
    futures = [i for p in first for i in p.action_items if i.type != "repair"]
    picked = sum(i.live_from is not None for i in futures)
    found = [(None, f"{len(first)} incidents -> {len(first)} postmortems -> {picked} guards, "
                    f"{len(futures) - picked} in backlog"),
             (None, "drift -> eval case: a SmartSync answer cites a doc")]
    if result.flywheel:
        cut = lab5.reduction(result.without, result.flywheel)
        found += [(None, f"{result.weeks} weeks: repeats {result.without.repeats} without the "
                         f"flywheel, {result.flywheel.repeats} with"
                         + ("" if cut is None else f" (-{percent(cut, 0)})")),
                  (None, f"repeats at least halved on {lab5.halved_on(result.spread)} of "
                         f"{len(result.spread)} other seeds")]
    return found


def lab5_charts(result: lab5.Result) -> list[str]:
    """The four-week budget spent, week by week, for each run; frozen weeks shaded."""
    charts = []
    for label, run_ in (("without the flywheel", result.without),
                        ("with the flywheel", result.flywheel)):
        if run_ is not None:
            charts.append(svg_chart([math.floor(100 * w.budget) for w in run_.weeks],   # as printed
                                    f"Four-week error budget spent, {label}", threshold=100.0,
                                    shade=[n for n, w in enumerate(run_.weeks) if w.frozen],
                                    unit=" %", x_label="weeks", shaded="weeks with releases frozen",
                                    x_ticks=[(n, f"week {n + 1}") for n in range(0, len(run_.weeks), 2)]))
    return charts


FINDINGS = {1: lab1_findings, 2: lab2_findings, 3: lab3_findings, 4: lab4_findings, 5: lab5_findings}
CHARTS = {1: lab1_charts, 2: lab2_charts, 3: lab3_charts, 4: lab4_charts, 5: lab5_charts}
