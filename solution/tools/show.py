"""What each lab found, for the demo's closing timeline and its "Show" page.

For each lab, `labN_findings(result)` -> [(story seconds or None, what it found, <= 60 characters)],
`labN_charts(result)` -> [inline SVG] and `labN_tables(result)` -> [HTML tables]: the lab's
screen as a page, its terminal tables as tables. FINDINGS, CHARTS and TABLES map the number of
every lab in solution/labs.py to them; `story_tables` says what the story is, `show_card` and
`breach_card` the finding to post.
"""

from __future__ import annotations

import html
import json
import math
import shlex

from solution import lab1_logs as lab1
from solution import lab2_dashboard as lab2
from solution import lab3_online_eval as lab3
from solution import lab4_limits as lab4
from solution import lab5_flywheel as lab5
from solution import logschema as F
from solution import traffic
from solution.labs import LABS
from solution.numeric import parse_rfc3339, percent
from solution.paging import caught, describe_spell
from solution.spans import draw_waterfall
from solution.tools.page import clock_ticks, html_table, svg_chart, svg_timeline


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
                      line_is="request.completed lines at ERROR, by the minute the request began",
                      x_label="the story's clock, a point a minute",
                      x_ticks=clock_ticks([start + 60 * i for i in range(len(per_minute))], 300))]


def lab1_tables(result: lab1.Result) -> list[str]:
    """What failed and where, what redaction caught, what each sampler keeps; the one failing
    request's waterfall stays text art, as the terminal draws it."""
    out = [html_table(["status", "error.type", "requests"], result.failures,
                      f"What failed: {result.failed:,} of {result.requests:,} requests"),
           html_table(["stage", "error.type", "ERROR lines"], result.by_stage, "Where it failed"),
           html_table(["kind", "redacted"], sorted((k, n) for k, n in result.redacted.items() if n),
                      f"Redacted before the log: {sum(result.redacted.values())} (kinds not found "
                      f"left out); {result.injections} prompt(s) tried to forge a line, none did"),
           html_table(["sampler", "lines kept", "failing traces kept"],
                      [("all", result.lines, result.failed_traces),
                       (f"tail, {percent(result.sample_rate, 0)} of the healthy", result.sampled_lines,
                        result.tail_failed_kept),
                       (f"head, {percent(result.sample_rate, 0)}", None, result.head_failed_kept)],
                      "Sampling: what each keeps")]
    if result.example_rows:
        out.append(f"<p>One failing request's story, trace <code>{html.escape(result.example or '')}</code>:</p>"
                   f"<pre>{html.escape(chr(10).join(draw_waterfall(result.example_rows)))}</pre>")
    return out


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
        named = "all four signals" if len(signals) == 4 else "+".join(signals)
        text = f"page by {'/'.join(policies)}: {named}"
        what = f" ({caught(page, result.incidents)})"
        out.append((when, (text + what) if len(text + what) <= 60 else text[:60]))
    if result.incidents:
        out.append((None, "precision: " + ", ".join(f"{s.policy} {percent(s.precision, 0)}"
                                                    for s in result.scores[:3])))
    return out


POLICY_LANES = 3          # the any-signal, SLO burn and composite alerts, a lane each


def lab2_charts(result: lab2.Result) -> list[str]:
    """One chart per golden signal: its value per window, its threshold dashed, breaches shaded,
    the story's incidents as named bands (when the log is the story) and each alert policy's
    pages as triangles under the time axis."""
    n = len(result.windows)
    bands = [(max(0, int(i.start_s // result.window_s)), min(n - 1, int((i.end_s - 1e-9) // result.window_s)),
              i.name if i.page else "")           # a blip is a band without a name: too narrow
             for i in result.incidents if i.end_s > 0 and i.start_s < n * result.window_s] \
        if result.has_truth else []
    policies = result.scores[:POLICY_LANES]
    marks = [(min(n - 1, int(p.fired_s // result.window_s)), lane,
              f"{s.policy} paged at {traffic.clock(p.fired_s)} on {'+'.join(p.signals) or 'burn'}")
             for lane, s in enumerate(policies) for p in s.pages]
    lanes = ", ".join(f"row {lane + 1} {s.policy}" for lane, s in enumerate(policies))
    charts = []
    for signal, label, factor, _, unit in lab2.ROWS:
        values = [lab2.signal_values(w)[signal] for w in result.windows]
        limit = result.limits[signal] * factor
        charts.append(svg_chart([None if v is None else v * factor for v in values],
                                f"Lab 2: {label} per window", threshold=limit if math.isfinite(limit) else None,
                                line_is=f"the {label} of each {result.window_s:g}-s window",
                                shade=[i for i, b in enumerate(result.breached) if signal in b],
                                unit=unit, x_label="h:mm on the log's clock",
                                x_ticks=clock_ticks([w.start_s for w in result.windows], None),
                                shaded="the windows where it breached",
                                bands=bands, bands_are="the story's incidents (the ground truth); "
                                                        "named: those that deserve a page",
                                marks=marks, marks_are=f"pages, {lanes}"))
    return charts


def lab2_tables(result: lab2.Result) -> list[str]:
    """Breaches per signal, the SLOs and their burn rules, and the alert policies scored."""
    signals = []
    for signal, label, factor, fmt, unit in lab2.ROWS:
        values = [v for w in result.windows if (v := lab2.signal_values(w)[signal]) is not None]
        limit = result.limits[signal] * factor
        signals.append((label, fmt.format(limit) if math.isfinite(limit) else "-",
                        sum(signal in b for b in result.breached),
                        fmt.format(max(values) * factor) if values else "-"))
    slos = []
    for name, good, target in (("availability", result.availability, result.slo),
                               (f"latency under {result.latency_limit_s:g} s", result.latency_good,
                                result.latency_slo)):
        if good is not None:
            burn = (1 - good) / (1 - target)
            slos.append((name, f"{100 * target:g} %", f"{100 * good:.2f} %", f"{burn:.1f}x",
                         f"{100 * burn * result.span_h / (result.period_days * 24):.1f} %"))
    rules = [(a.rule, f"{a.threshold:.4g}x", a.summary(), b.summary())
             for a, b in zip(*[[v for v in result.verdicts if v.slo_name == name]
                               for name in ("availability", "latency")])]
    real = [i for i in result.incidents if i.page and set(i.signals) & set(lab2.SIGNALS)]
    scored = [(s.policy, len(s.pages), s.on_real, s.on_blips, s.on_nothing, percent(s.precision, 0),
               percent(s.recall, 0), *("-" if d is None else f"{d / 60:.0f} min" for d in s.detect_s))
              for s in result.scores]
    return [html_table(["signal", "threshold", "windows breached", "highest"], signals,
                       f"The golden signals per {result.window_s:g}-s window: {result.source}"),
            html_table(["SLO", "target", "good", "burn", f"of the {result.period_days:g}-day budget"],
                       slos, "SLOs over the whole span"),
            html_table(["burn-rate rule", "burn over", "availability SLO", "latency SLO"], rules,
                       "The SRE Workbook's multiwindow, multi-burn-rate rules"),
            html_table(["alert policy", "pages", "real", "blip", "none", "precision", "recall",
                        *(f"time to page: {i.name}" for i in real)], scored,
                       "The alert policies, scored against the ground truth" if result.has_truth
                       else "The alert policies (no ground truth for this log: counted, not scored)")]


def breach_card(result: lab2.Result, command: str) -> str | None:
    """The one finding to post from the dashboard: the first page that caught a real incident,
    the policy and the signals, in two sentences with its chart and the command that reproduces
    it; on a log without ground truth, the composite alert's first page. None: nothing paged."""
    scored = [(p, s) for s in result.scores[:POLICY_LANES] for p in s.pages]
    if result.has_truth:
        scored = [(p, s) for p, s in scored if caught(p, result.incidents) in
                  {i.name for i in result.incidents if i.page}]
    if not scored:
        return None
    # the policy worth posting: the most precise one that caught something, at its first catch
    page, policy = min(scored, key=lambda ps: (-(ps[1].precision or 0.0), ps[0].fired_s))
    what = caught(page, result.incidents) if result.has_truth else "a breach"
    first = (f"The {policy.policy} alert paged at {traffic.clock(page.fired_s)} on "
             f"{' and '.join(page.signals) or 'the burn rate'}: {what}, "
             f"{traffic.clock(page.start_s)}-{traffic.clock(page.end_s)}.")
    any_signal = result.scores[0]
    second = (f"Paging on any one signal would have paged {len(any_signal.pages)} times, "
              f"precision {percent(any_signal.precision, 0)}; this policy paged {len(policy.pages)} "
              f"times, precision {percent(policy.precision, 0)}." if result.has_truth else
              f"It paged {len(policy.pages)} times in {result.span_h:.1f} h of this log.")
    signal = next((sig for sig in lab2.SIGNALS if sig in page.signals), lab2.SIGNALS[0])
    chart = lab2_charts(result)[list(lab2.SIGNALS).index(signal)]
    return (f'<section class="show"><h2>Show: the breach to post</h2>'
            f"<p>{html.escape(first)} {html.escape(second)}</p>{chart}"
            f"<p>Reproduce it: <code>{html.escape(command)}</code></p></section>")


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
    command = shlex.join(["python3", "solution/lab3_online_eval.py", "--seed", str(seed),
                          *lab3_flags(result)])
    return (f'<section class="show"><h2>Show: the finding to post</h2>'
            f"<p>{html.escape(first)} {html.escape(second)}</p>{lab3_charts(result)[0]}"
            f"<p>Reproduce it (seed {seed}): <code>{html.escape(command)}</code></p></section>")


def lab3_flags(result: lab3.Result) -> list[str]:
    """The lab's flags that made this result, those not at their defaults: with --seed, the
    command reproduces the card exactly."""
    flags = []
    if result.reservoir_per_hour:
        flags += ["--reservoir", str(result.reservoir_per_hour)]
    elif result.sample_rate != lab3.SAMPLE_RATE:
        flags += ["--sample-rate", f"{result.sample_rate:g}"]
    if result.window_s != lab3.WINDOW_MIN * 60:
        flags += ["--window", f"{result.window_s / 60:g}"]
    if result.detector != "cusum":
        flags += ["--detector", result.detector]
    return flags


def lab3_charts(result: lab3.Result) -> list[str]:
    """The pass rate per window against the gate, and the chosen detector's level."""
    rates = [None if w.pass_rate is None else 100 * w.pass_rate for w in result.windows]
    shaded = [i for i, w in enumerate(result.windows) if "pass" in w.alarms]
    span = (f"{traffic.clock(lab3.REFERENCE_S)} to {traffic.clock(result.windows[-1].end_s)}"
            if result.windows else "")
    title = f"Lab 3: weighted pass rate per {result.window_s / 60:g}-min window"
    charts = [svg_chart(rates, title, threshold=100 * result.gate_pass_rate, shade=shaded,
                        line_is="the judged answers' pass rate, each weighted by 1 / its chance of being kept",
                        unit=" %", x_label=span, x_ticks=clock_ticks([w.start_s for w in result.windows]),
                        shaded="windows whose pass rate is below the gate's (z-test, 1 %)")]
    if result.sequential_levels and result.windows:
        # on the story's clock: the highest level each minute, so that an alarm reads as a time
        chosen = result.chosen[0]
        start, end = lab3.REFERENCE_S, result.windows[-1].end_s
        per_minute: list[float | None] = [None] * max(1, int((end - start) // 60))
        for ts, level in result.sequential_levels:
            i = int((ts - start) // 60)
            if 0 <= i < len(per_minute):
                per_minute[i] = max(per_minute[i] or 0.0, level)
        alarm = [] if chosen.first_alarm_s is None else [int((chosen.first_alarm_s - start) // 60)]
        charts.append(svg_chart(
            per_minute, f"Lab 3: {chosen.name} level on the random sample's pass stream",
            threshold=result.sequential_threshold, shade=alarm,
            shaded="the minute of its first alarm after the drift began",
            line_is="the detector's level, the highest in each minute (a gap: no answer judged)",
            x_label="the story's clock, a point a minute",
            x_ticks=clock_ticks([start + 60 * i for i in range(len(per_minute))])))
    return charts


def lab3_tables(result: lab3.Result) -> list[str]:
    """The gate against online, the judges judged, each window's tests, the detectors, the slices."""
    gate = [("offline gate (golden set)", result.golden_cases, percent(result.gate_pass_rate)),
            ("online, before the launch (weighted)", None, percent(result.online_before)),
            ("online, after the launch (weighted)", None, percent(result.online_after)),
            ("online, after, every kept answer once", None, percent(result.naive_after))]
    judges = [(j.name, j.truth, percent(j.precision), percent(j.recall)) for j in result.judges]
    windows = [(f"{traffic.clock(w.start_s)}-{traffic.clock(w.end_s)}", w.random_n,
                "-" if w.pass_rate is None else percent(w.pass_rate),
                "-" if w.wilson is None else f"{percent(w.wilson[0])}-{percent(w.wilson[1])}",
                ", ".join(w.alarms) or ("too few answers" if w.pass_rate is None else "-"))
               for w in result.windows]
    detectors = [(d.name, "-" if d.first_alarm_s is None else traffic.clock(d.first_alarm_s),
                  "-" if d.delay_s(result.drift_start_s) is None else f"{d.delay_s(result.drift_start_s) / 60:.1f} min",
                  d.false_alarms) for d in result.detections]
    cuts = [(c.topic, percent(c.share, 0), percent(c.pass_rate), f"{100 * c.points_lost:.1f}")
            for c in result.slices]
    return [html_table(["where", "answers", "pass rate"], gate,
                       f"The gate passed; online evaluation of {result.kept:,} of {result.answered:,} answers"),
            html_table(["judge", "truly bad means", "precision", "recall"], judges,
                       "Evaluate the evaluator: the judges on the random answers"),
            html_table(["window", "random answers", "pass rate", "95 % Wilson", "alarms"], windows,
                       "Drift, window by window, against the first hour and the gate"),
            html_table(["detector", "first alarm", "after the drift began", "false alarms"], detectors,
                       "Detection time and false alarms"),
            html_table(["topic", "share after", "pass rate after", "points of the drop"], cuts,
                       "The slices behind the drop")]


# ── lab 4 ──

def lab4_findings(result: lab4.Result) -> list[tuple[float | None, str]]:
    """What the limits refused and when, and what that kept for everyone else."""
    out: list[tuple[float | None, str]] = []
    for e in result.episodes:
        if e.refused >= lab4.NOTABLE:
            until = f" to {traffic.clock(e.end_s)}"
            out.append((e.start_s, f"refused {describe_spell(e, lab4.STATUS, 60 - 8 - len(until))}{until}"))
    start, end = result.window
    out.append((None, f"others kept {percent(result.others_success)} success "
                      f"{lab4.clock_span(start, end)} ({percent(result.others_success_without)} unlimited)"))
    return out


def lab4_charts(result: lab4.Result) -> list[str]:
    start, end = result.window
    shade = range(int(start // 60), int(end // 60))
    burst = f"the noisy tenant's burst, {traffic.clock(start)}-{traffic.clock(end)}"
    charts = [svg_chart(rep.worst_wait_s, f"Lab 4: longest wait for a slot per minute, {label}",
                        line_is="the longest any admitted request waited for one of the 10 slots",
                        threshold=lab4.DEADLINE_S, shade=shade, unit=" s", x_label="a point a minute",
                        shaded=burst, x_ticks=clock_ticks([60 * i for i in range(len(rep.worst_wait_s))]))
              for label, rep in (("without limits", result.without),
                                 ("with limits", result.limited))]
    per_minute = [0] * len(result.limited.worst_wait_s)
    for ts, _, _ in result.limited.refusals:
        per_minute[int(ts // 60)] += 1
    charts.append(svg_chart(per_minute, "Lab 4: requests refused per minute, with limits",
                            line_is="429s and 503s per minute, every tenant, every reason",
                            shade=shade, x_label="a point a minute", shaded=burst, unit=" req",
                            x_ticks=clock_ticks([60 * i for i in range(len(per_minute))])))
    return charts


def lab4_tables(result: lab4.Result) -> list[str]:
    """Per tenant what it offered and how each limit answered; the burst without and with limits."""
    rows = [(name, kind, result.offered[name], result.limited.accepted[name],
             *(result.limited.refused[name][reason] for reason in lab4.REASONS))
            for name, kind in result.tenants]
    start, end = result.window
    w, l_ = result.without, result.limited
    compare = [("interactive p99 in the burst", f"{w.window_interactive_p99_s:.1f} s", f"{l_.window_interactive_p99_s:.1f} s"),
               ("interactive p99 all day", f"{w.interactive_p99_s:.1f} s", f"{l_.interactive_p99_s:.1f} s"),
               ("longest wait for a slot all day", f"{max(w.worst_wait_s):.1f} s", f"{max(l_.worst_wait_s):.1f} s"),
               ("others answered in time (6 s) in the burst", percent(result.others_success_without),
                percent(result.others_success)),
               *((f"{kind} goodput in the burst",
                  sum(w.window_goodput[t] for t, k in result.tenants if k == kind),
                  sum(l_.window_goodput[t] for t, k in result.tenants if k == kind))
                 for kind in ("interactive", "batch"))]
    return [html_table(["tenant", "kind", "offered", "accepted", *lab4.REASONS], rows,
                       "Every request ends one way: accepted, or refused for a reason (429: the "
                       "tenant is over; 503: the service is busy)"),
            html_table(["", "without limits", "with limits"], compare,
                       f"Without and with limits (the noisy tenant's burst: {traffic.clock(start)}-{traffic.clock(end)})")]


# ── lab 5 ──

def lab5_findings(result: lab5.Result) -> list[tuple[float | None, str]]:
    """What the flywheel made of the story's incidents: not moments on its clock, so no times."""
    run_ = result.flywheel or result.without
    first = [p for p in run_.postmortems if p.incident.week == 1]
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
                                    line_is="the share of the four-week error budget the last four weeks spent",
                                    shade=[n for n, w in enumerate(run_.weeks) if w.frozen],
                                    unit=" %", x_label="weeks", shaded="weeks with releases frozen",
                                    x_ticks=[(n, f"week {n + 1}") for n in range(0, len(run_.weeks), 2)]))
    return charts


def lab5_tables(result: lab5.Result) -> list[str]:
    """The weeks of both runs side by side, as the terminal's table."""
    runs = [(label, run_) for label, run_ in (("without", result.without), ("with", result.flywheel)) if run_]
    rows = []
    for n in range(result.weeks):
        row: list[object] = [n + 1]
        for _, run_ in runs:
            week = run_.weeks[n]
            row += [week.incidents, week.repeats, week.stopped,
                    "-" if week.median_ttd_min is None else f"{week.median_ttd_min:.0f}",
                    f"{math.floor(100 * week.budget)} %" + (" F" if week.frozen else "")]
        rows.append(row)
    header = ["week"] + [f"{name} {label}" for label, _ in runs
                         for name in ("incidents", "repeats", "stopped", "TTD min", "budget")]
    tables = [html_table(header, rows, "Week by week (TTD: median minutes to detect; budget: the "
                                       "last four weeks' share; F: releases frozen)")]
    if result.sensitivity:
        first, last = result.spread[0][0], result.spread[-1][0]
        tables.append(html_table(
            ["assumption", "in the code", "assumed", "halved", f"cut, seed {result.seed}",
             f"seeds {first}-{last} halved"],
            [(what, field, f"{assumed:g}", f"{halved:g}", "-" if cut is None else percent(cut, 0),
              f"{on} of {len(result.spread)}")
             for field, what, assumed, halved, cut, on in result.sensitivity],
            "The model's assumptions, each halved in turn (the rest kept): how the headline moves"))
    return tables


def story_tables(requests) -> list[str]:
    """The story's incidents: the ground truth every lab is scored against."""
    rows = [(f"{traffic.clock(i.start_s)}-{traffic.clock(i.end_s)}", i.name, "+".join(i.signals),
             "page" if i.page else "blip") for i in traffic.STORY.incidents]
    failed = sum(r.status >= 500 for r in requests)
    return [f"<p>support-assistant, six hours on a Monday: {len(requests):,} requests, {failed:,} "
            f"failed; SLO {100 * traffic.STORY.slo_availability:g} % available; capacity "
            f"{traffic.STORY.capacity} in flight.</p>",
            html_table(["when", "incident", "moves", "deserves"], rows,
                       "The incident timeline (the ground truth)")]


def timeline_chart(found: dict[int, list[tuple[float | None, str]]], duration_s: float) -> str:
    """The demo's closing timeline as a chart, with its table: what each lab caught, when."""
    rows = [(f"lab {n}", [(ts, text) for ts, text in items if ts is not None])
            for n, items in sorted(found.items())]
    events = sorted((ts, n, text) for n, items in found.items() for ts, text in items if ts is not None)
    notes = [(n, text) for n, items in sorted(found.items()) for ts, text in items if ts is None]
    return (svg_timeline(rows, duration_s, "What each lab caught, on one clock")
            + html_table(["when", "lab", "what it caught"],
                         [(traffic.clock(ts), f"lab {n}", text) for ts, n, text in events]
                         + [("", f"lab {n}", text) for n, text in notes]))


def per_lab(kind: str) -> dict:
    """{lab number: its labN_<kind> function above}, for every lab solution/labs.py lists."""
    return {lab.number: globals()[f"lab{lab.number}_{kind}"] for lab in LABS}


FINDINGS = per_lab("findings")
CHARTS = per_lab("charts")
TABLES = per_lab("tables")
