"""Every bold number of every handout's "What to look for", recomputed from the story by plain code
written for this file: loops over the requests, the formulas from their sources, each lab's rules
as its handout states them, no function of the lessons or of their toolbox. The inputs are the
story (solution/traffic.py), the judge in lab 3 (its verdicts are what the lab aggregates; the
judge itself is scored against the story's truth in test_lab3_online_eval.py), and lab 5's dice
(draw_world: the seeded world both of its runs meet) with its failure classes (data).

What is not a result (a setting the lab states, a model's assumption) is listed in
CHECKED_ELSEWHERE with the reason or the test that checks it. Nothing bold is left unaccounted
for, and an entry for a number the handout no longer shows fails too.
"""

import math
import re
import statistics
from collections import Counter
from pathlib import Path

import pytest

from solution import traffic
from solution.judges import judge

ROOT = Path(__file__).resolve().parents[1]
STORY = {i.name: i for i in traffic.STORY.incidents}
STAGES = ("retrieval", "llm", "guardrail")
Z95 = 1.959963984540054                   # the 97.5th percentile of the standard normal


def bold_in_what_to_look_for(lab: str) -> list[str]:
    text = next((ROOT / "labs").glob(f"{lab}_*.md")).read_text(encoding="utf-8")
    section = re.search(r"^## What to look for\n(.*?)(?=^## )", text, re.M | re.S).group(1)
    return [t for t in re.findall(r"\*\*(.+?)\*\*", section) if re.search(r"\d", t)]


# ── plain helpers, each from its source ─────────────────────────────────────────────────────────

def fraction(trace_id: str) -> float:
    """OpenTelemetry's TraceIdRatioBased reads the trace id's low 8 bytes as a number."""
    return int(trace_id[-16:], 16) / 2**64


def nearest_rank(values, p: float) -> float:
    """The p-th percentile by nearest rank: the value at rank ceil(p / 100 x n)."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


# Python prometheus_client's Histogram.DEFAULT_BUCKETS (the upper bounds, +Inf implied)
PROMETHEUS_PYTHON_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0,
                             7.5, 10.0)


def bucket_quantile(q: float, values) -> float:
    """Prometheus' histogram_quantile: find the bucket holding rank q x n, interpolate linearly
    between its bounds (the lowest bucket starts at 0)."""
    rank, lower, below = q * len(values), 0.0, 0
    for upper in PROMETHEUS_PYTHON_BUCKETS:
        count = sum(1 for v in values if v <= upper)
        if count >= rank:
            return lower + (upper - lower) * (rank - below) / (count - below)
        lower, below = upper, count
    return lower                                  # in the +Inf bucket: the highest finite bound


def wilson(successes: float, n: float) -> tuple[float, float]:
    """Wilson's score interval at 95 % (Wilson 1927; Newcombe 1998, method 3)."""
    p, z2 = successes / n, Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return centre - half, centre + half


def clock(seconds: float) -> str:
    minutes = int(seconds // 60)                 # the minute it falls in, as a clock shows it
    return f"{minutes // 60}:{minutes % 60:02d}"


def log_lines(r) -> int:
    """Lab 1 logs a request as: received, one line per stage that ran, completed."""
    return 2 + (STAGES.index(r.error_stage) + 1 if r.error_stage else len(STAGES))


def burn_rule(bad, total, budget: float, long_m: int, short_m: int, factor: float):
    """The SRE Workbook's multiwindow rule, evaluated at the end of every minute: fire when the
    burn over both windows exceeds the factor. Returns the minutes it fired at and the highest
    long-window burn."""
    fired, highest = [], 0.0
    for end in range(long_m, len(bad) + 1):
        long_burn = sum(bad[end - long_m:end]) / sum(total[end - long_m:end]) / budget
        short_burn = sum(bad[end - short_m:end]) / sum(total[end - short_m:end]) / budget
        highest = max(highest, long_burn)
        if long_burn > factor and short_burn > factor:
            fired.append(end)
    return fired, highest


def bucket_refusals(times, rate: float, burst: float) -> list[float]:
    """A token bucket (RFC 2697's committed bucket): refill rate x elapsed up to burst, one
    token a request. No refunds: a request the gateway refuses further on gets its token back
    there, so the gateway refuses at most this many."""
    tokens, last, refused = burst, times[0], []
    for t in times:
        tokens, last = min(burst, tokens + (t - last) * rate), t
        if tokens >= 1:
            tokens -= 1
        else:
            refused.append(t)
    return refused


def comma(n: int) -> str:
    return f"{n:,}"


# ── each lab's numbers, recomputed ──────────────────────────────────────────────────────────────

def lab1(story) -> dict[str, str]:
    window = STORY["upstream error burst"]
    burst = [r for r in story if window.start_s <= r.ts < window.end_s]
    failed = [r for r in burst if r.status >= 400]
    planted = {"card": "4111 1111 1111 1111", "api key": "sk-test", "bearer": "Bearer ",
               "phone": "+1 415 555", "aws": " AKIA", "email": "@example.com"}
    leaks = {kind: sum(mark in r.prompt for r in burst) for kind, mark in planted.items()}
    first = min(failed, key=lambda r: r.ts)
    kept = [r for r in burst if r.status >= 400 or r.latency_ms >= traffic.SLOW_MS
            or fraction(r.trace_id) < 0.1]
    lines, kept_lines = sum(map(log_lines, burst)), sum(map(log_lines, kept))
    return {
        "requests": comma(len(burst)), "lines": comma(lines),
        "forged": str(sum(any(c in r.prompt for c in "\r\n\u2028\x1b") for r in burst)),
        "redacted": str(sum(leaks.values())), **{k: str(v) for k, v in leaks.items()},
        "failed": comma(len(failed)), "failed %": f"{100 * len(failed) / len(burst):.1f} %",
        "vector store": str(sum(r.error == "vector_store_unavailable" for r in failed)),
        "timeout": str(sum(r.error == "timeout" for r in failed)),
        "first failure": f"{first.latency_ms:.1f} ms", "its retrieval": f"{first.stage_ms[1]:.1f} ms",
        "tail lines": comma(kept_lines), "saves": f"{100 * (1 - kept_lines / lines):.1f} %",
        "tail failed": str(sum(r.status >= 400 for r in kept)),
        "head failed": str(sum(fraction(r.trace_id) < 0.1 for r in failed)),
    }


def per_minute(story, minutes: int) -> tuple[list[int], list[int], list[int], list[int]]:
    """Counted here, a minute at a time: 5xx, all requests, slow interactive successes (over the
    story's 6 s), interactive successes."""
    errors, total, slow, served = ([0] * minutes for _ in range(4))
    for r in story:
        m = int(r.ts // 60)
        total[m] += 1
        errors[m] += r.status >= 500
        if r.status < 500 and r.priority == "interactive":
            served[m] += 1
            slow[m] += r.latency_ms > traffic.SLOW_MS
    return errors, total, slow, served


def lab2(story) -> dict[str, str]:
    interactive = [r for r in story if r.priority == "interactive"]
    ok = [r.latency_ms / 1000 for r in interactive if r.status < 500]
    bad = [r.latency_ms / 1000 for r in interactive if r.status >= 500]
    last = [r.latency_ms / 1000 for r in interactive if r.status < 500 and r.ts >= 359 * 60]
    good = sum(r.status < 500 for r in story) / len(story)
    burn = (1 - good) / (1 - traffic.STORY.slo_availability)
    minutes = 360
    errors, total, slow, served = per_minute(story, minutes)
    # SRE Workbook, table 5-8: 2 % of a 30-day budget in 1 h is a burn of 0.02 x 720 = 14.4
    availability, peak_a = burn_rule(errors, total, 0.005, 60, 5, 0.02 * 720)
    latency, peak_l = burn_rule(slow, served, 0.01, 60, 5, 0.02 * 720)

    def runs(fired):                 # consecutive firing minutes are one page: (first, last)
        out = []
        for end in fired:
            if out and out[-1][1] == end - 1:
                out[-1] = (out[-1][0], end)
            else:
                out.append((end, end))
        return out

    def summary(fired, peak):        # the screen's words for one rule on one SLO
        pages = runs(fired)
        if len(pages) == 1:
            return f"fired {clock(60 * pages[0][0])}-{clock(60 * pages[0][1])} ({peak:.1f}x)"
        return f"fired {len(pages)}x, first {clock(60 * pages[0][0])} ({peak:.1f}x)"

    # the SLO burn policy pages while either SLO's 1 h rule fires (the 6 h rule never does in six
    # hours); a page is real when it overlaps a paging incident that moves its signal
    minutes = sorted(set(availability) | set(latency))
    pages = [(60 * (a - 1), 60 * b, {s for s, fired in (("errors", availability),
              ("latency", latency)) if any(a <= m <= b for m in fired)}) for a, b in runs(minutes)]
    real = [i for i in traffic.STORY.incidents if i.page]
    inside = [any(p0 < i.end_s and i.start_s < p1 and sig & set(i.signals) for i in real)
              for p0, p1, sig in pages]
    caught = [i for i in real if any(p0 < i.end_s and i.start_s < p1 and sig & set(i.signals)
                                     for p0, p1, sig in pages)]
    golden_signals = {"latency", "traffic", "errors", "saturation"}
    moved = [i for i in traffic.STORY.incidents if i.page and golden_signals & set(i.signals)]
    hour_exact, hour_estimate = nearest_rank(last, 99), bucket_quantile(0.99, last)
    breached = minute_breaches(story)
    all_exact, all_estimate = nearest_rank(ok, 99), bucket_quantile(0.99, ok)
    return {
        "successes": " / ".join(f"{nearest_rank(ok, p):.2f}" for p in (50, 95, 99)) + " s",
        "failures": " / ".join(f"{nearest_rank(bad, p):.2f}" for p in (50, 95, 99)) + " s",
        "last p99": f"{hour_exact:.2f} vs {hour_estimate:.2f} s ({100 * (hour_estimate / hour_exact - 1):+.1f} %)",
        "all p99": f"{all_exact:.2f} vs {all_estimate:.2f} s ({100 * (all_estimate / all_exact - 1):+.1f} %)",
        "good": f"{100 * good:.2f} % good", "burn": f"{burn:.1f}x",
        "budget": f"{100 * burn * 6 / 720:.1f} % of the 30-day budget",
        "burst page": summary(availability, peak_a),
        "slowdown page": summary(latency, peak_l),
        # the 6 h / 30 min rule, judged once at 6:00: its long window is the whole day
        "6h rule": f"quiet: {burn:.3f}x at 6:00",
        "precision": f"{100 * sum(inside) / len(inside):.0f} %",
        "recall": f"{100 * len(caught) / len(moved):.0f} %",
        "slowdown detected": str(round(latency[0] - STORY["provider slowdown"].start_s / 60)),
        "burn pages": str(len(pages)),
        **{signal: f"{sum(signal in b for b in breached)} windows"
           for signal in ("latency", "traffic", "errors", "saturation")},
        "any-signal precision": f"{100 * any_signal_precision(breached):.0f} %",
    }


def minute_breaches(story) -> list[set[str]]:
    """Per minute, the golden signals over their lines (Google SRE book, "Monitoring Distributed
    Systems"), from the handout's own definitions: the p90 of interactive successes over 6 s;
    requests over 1.5x the median minute; 5xx at or over 5 %; time in flight at or over 70 % of
    the 10 slots (a request counts in every minute it spans)."""
    minutes = 360
    count, failed, ok_ms, busy = [0] * minutes, [0] * minutes, [[] for _ in range(minutes)], [0.0] * minutes
    for r in story:
        m = int(r.ts // 60)
        count[m] += 1
        failed[m] += r.status >= 500
        if r.status < 500 and r.priority == "interactive":
            ok_ms[m].append(r.latency_ms)
        start, end = r.ts, r.ts + r.latency_ms / 1000
        for minute in range(int(start // 60), min(minutes, int(end // 60) + 1)):
            busy[minute] += max(0.0, min(end, 60 * (minute + 1)) - max(start, 60 * minute))
    median = nearest_rank([c for c in count if c], 50)
    return [{s for s, over in (("latency", bool(ok_ms[m]) and nearest_rank(ok_ms[m], 90) > traffic.SLOW_MS),
                               ("traffic", count[m] > 1.5 * median),
                               ("errors", bool(count[m]) and failed[m] / count[m] >= 0.05),
                               ("saturation", busy[m] / 60 / traffic.STORY.capacity >= 0.70)) if over}
            for m in range(minutes)]


def any_signal_precision(breached: list[set[str]]) -> float:
    """A page per run of consecutive breaching minutes; it is real when it overlaps a paging
    incident in time and breached a signal that incident moves (the handout's scoring)."""
    pages, start = [], None
    for m, signals in enumerate([*breached, set()]):
        if signals and start is None:
            start, seen = m, set()
        if signals:
            seen |= signals
        elif start is not None:
            pages.append((60 * start, 60 * m, seen))
            start = None
    real = [i for i in traffic.STORY.incidents if i.page]
    return sum(any(a < i.end_s and i.start_s < b and seen & set(i.signals) for i in real)
               for a, b, seen in pages) / len(pages)


def bernoulli_cusum(stream, p0: float, p1: float, h: float) -> list[float]:
    """Reynolds & Stoumbos (1999): add ln(p1/p0) per fail, ln((1-p1)/(1-p0)) per pass, floor 0,
    alarm above h and start over. Returns the alarm times."""
    level, alarms = 0.0, []
    for ts, failed in stream:
        level = max(0.0, level + (math.log(p1 / p0) if failed else math.log((1 - p1) / (1 - p0))))
        if level > h:
            alarms.append(ts)
            level = 0.0
    return alarms


def tabular_cusum(stream, mean: float, k: float = 0.5, h: float = 5.0) -> list[float]:
    """Montgomery's tabular CUSUM on standardized values: S = max(0, S + z - k), alarm above h."""
    sigma, level, alarms = math.sqrt(mean * (1 - mean)), 0.0, []
    for ts, failed in stream:
        level = max(0.0, level + (failed - mean) / sigma - k)
        if level > h:
            alarms.append(ts)
            level = 0.0
    return alarms


def page_hinkley(stream, delta: float, threshold: float, alpha: float = 0.9999, min_n: int = 30):
    """river's PageHinkley for an increase: m = alpha m + (x - running mean - delta); alarm when
    m - min(m) exceeds the threshold after min_n values, then start over."""
    n = mean = m = low = 0.0
    alarms = []
    for ts, failed in stream:
        n += 1
        mean += (failed - mean) / n
        m = alpha * m + (failed - mean - delta)
        low = min(low, m)
        if n >= min_n and m - low > threshold:
            alarms.append(ts)
            n = mean = m = low = 0.0
    return alarms


def lab3(story) -> dict[str, str]:
    launch = STORY["content drift"].start_s
    answered = [r for r in story if r.status < 500]
    kept = [(r, 1.0 if r.feedback == "down" else 10.0, fraction(r.trace_id) < 0.1) for r in answered
            if fraction(r.trace_id) < 0.1 or r.feedback == "down"]
    judged = [(r, w, judge(r.answer, r.retrieved_docs)) for r, w, _ in kept]

    def weighted(items):               # the Hajek estimate, and Kish's effective sample size
        total = sum(w for _, w, _ in items)
        return (sum(w * v.passed for _, w, v in items) / total,
                total * total / sum(w * w for _, w, _ in items))

    before = [x for x in judged if x[0].ts < launch]
    after = [x for x in judged if x[0].ts >= launch]
    window = [x for x in after if x[0].ts < launch + 900]
    rate, n = weighted(window)
    low, high = wilson(rate * n, n)
    # the golden set: 8 answered interactive questions per pre-launch topic, highest hash first
    golden = []
    for topic, _ in traffic.STORY.topics:
        mine = [r for r in answered if r.ts < launch and r.topic == topic and r.priority == "interactive"]
        golden += sorted(mine, key=lambda r: fraction(r.trace_id), reverse=True)[:8]
    passed = sum(judge(r.answer, r.retrieved_docs).passed for r in golden)
    gate_low, gate_high = wilson(passed, len(golden))
    chance = [(r, judge(r.answer, r.retrieved_docs)) for r, _, by_chance in kept if by_chance]
    flagged = [r for r, v in chance if not v.grounded]
    truly_bad = [v for r, v in chance if not r.acceptable]
    smartsync = [x for x in after if x[0].topic == traffic.STORY.launch_topic]
    # the sequential detectors on the random sample's fail stream after the reference hour, scaled
    # by its fail rate before 1:00; a 10-point rise is worth an alarm
    reference = [v.passed for r, v in chance if r.ts < 3600]
    p0 = 1 - sum(reference) / len(reference)
    stream = [(r.ts, not v.passed) for r, v in chance if r.ts >= 3600]
    cusum = bernoulli_cusum(stream, p0, p0 + 0.10, math.log(10_000))
    first = min(t for t in cusum if t > launch)
    river = min(t for t in page_hinkley(stream, 0.005, 50.0) if t > launch)
    # the z-test of each 15-minute window's weighted pass rate against the gate, one-sided at 1 %
    z_alarms = []
    for start in range(3600, 6 * 3600, 900):
        inside = [x for x in judged if start <= x[0].ts < start + 900]
        if sum(1 for r, w, v in inside if fraction(r.trace_id) < 0.1) < 30:
            continue
        rate_w, n_w = weighted(inside)
        pooled = (rate_w * n_w + passed) / (n_w + len(golden))
        z = (rate_w - passed / len(golden)) / math.sqrt(pooled * (1 - pooled) * (1 / n_w + 1 / len(golden)))
        if 0.5 * math.erfc(-z / math.sqrt(2)) < 0.01:
            z_alarms.append(start + 900)
    share = sum(w for _, w, _ in smartsync) / sum(w for _, w, _ in after)
    return {
        "golden": str(len(golden)), "gate": f"{100 * passed / len(golden):.1f} %",
        "answers": comma(len(answered)), "judged": comma(len(kept)),
        "by hash": comma(sum(c for *_, c in kept)), "thumbs-down": comma(sum(not c for *_, c in kept)),
        "weight": f"{1 / 0.1:.1f}",
        "weighted": f"{100 * weighted(after)[0]:.1f} %",
        "unweighted": f"{100 * sum(v.passed for *_, v in after) / len(after):.1f} %",
        "precision": f"{100 * sum(not r.grounded for r in flagged) / len(flagged):.1f} %",
        "recall": f"{100 * sum(not r.grounded for r in flagged) / sum(not r.grounded for r, _ in chance):.1f} %",
        "combined": f"{100 * sum(not v.passed for v in truly_bad) / len(truly_bad):.1f} %",
        "window": f"{clock(launch)}-{clock(launch + 900)}", "window rate": f"{100 * rate:.1f} %",
        "wilson": f"{100 * low:.1f}-{100 * high:.1f} %",
        "gate wilson": f"{100 * gate_low:.1f}-{100 * gate_high:.1f} %",
        "share": f"{100 * share:.0f} %", "slice rate": f"{100 * weighted(smartsync)[0]:.1f} %",
        # the slice's part of the drop: share x (pass rate before - its pass rate after)
        "points": f"{100 * share * (weighted(before)[0] - weighted(smartsync)[0]):.1f}",
        "z-test fires": clock(min(z_alarms)) if min(z_alarms) > launch else "a false alarm",
        "cusum": clock(first), "cusum delay": f"{(first - launch) / 60:.1f} min",
        "false alarms": str(sum(t <= launch for t in tabular_cusum(stream, p0))),
        "river delay": f"{(river - launch) / 60:.1f} min",
    }


def gateway_replay(story, capacity=10, max_in_flight=15, shed_at=0.8, rate_x=2.0, burst=10,
                   tpm=100_000):
    """The story through a gateway, from the handout's rules (Stripe's order): each tenant's token
    bucket (twice its usual rate, 10 at once); its tokens per minute (a bucket of 100,000 refilled
    over a minute: a request reserves prompt + max_tokens and gets the unused part back when it
    completes); the service's limit of 15 in flight (10 slots and 5 waiting: 503 "overload");
    batch shed once 8 of the 10 slots are busy (503 "shed"). A request refused at a step gets back
    what the steps before it took. Admitted ones take the first free slot, first come first served,
    for their own latency. The daily quota (50,000) is more than any tenant sends in a day.
    Returns {trace id: wait for a slot in s, or the refusal reason}, and (ts, tenant, reason)."""
    rates = {t.name: rate_x * t.rate_rps for t in traffic.STORY.tenants}
    tokens = {name: float(burst) for name in rates}
    budget = {name: float(tpm) for name in rates}
    last, budget_last = dict.fromkeys(rates, 0.0), dict.fromkeys(rates, 0.0)

    def refill_budget(tenant, now):
        budget[tenant] = min(tpm, budget[tenant] + (now - budget_last[tenant]) * tpm / 60)
        budget_last[tenant] = max(budget_last[tenant], now)

    slots, finishing, outcome, refusals = [0.0] * capacity, [], {}, []
    for r in sorted(story, key=lambda r: r.ts):
        for done, tenant, unused in sorted(f for f in finishing if f[0] <= r.ts):
            refill_budget(tenant, done)
            budget[tenant] = min(tpm, budget[tenant] + unused)
        finishing = [f for f in finishing if f[0] > r.ts]          # admitted requests in flight
        tokens[r.tenant] = min(burst, tokens[r.tenant] + (r.ts - last[r.tenant]) * rates[r.tenant])
        last[r.tenant] = r.ts
        refill_budget(r.tenant, r.ts)
        cost = r.prompt_tokens + r.max_tokens
        if tokens[r.tenant] < 1:
            reason = "rate"
        elif budget[r.tenant] < cost:
            reason = "tokens"
        elif len(finishing) >= max_in_flight:
            reason = "overload"
        elif r.priority == "batch" and len(finishing) >= shed_at * capacity:
            reason = "shed"
        else:
            tokens[r.tenant] -= 1
            budget[r.tenant] -= cost
            wait, latency = take_slot(slots, r)
            finishing.append((r.ts + latency, r.tenant, r.max_tokens - r.completion_tokens))
            outcome[r.trace_id] = (wait, latency)
            continue
        outcome[r.trace_id] = reason
        refusals.append((r.ts, r.tenant, reason))
    return outcome, refusals


TIMEOUT_S = 30.0          # the gateway's timeout: nothing runs longer


def take_slot(slots: list[float], r) -> tuple[float, float]:
    """A first-come-first-served queue in front of the slots (a list, not a heap): the request
    takes the slot that frees up first, waits for it if it is busy, and holds it for the time it
    needs with a free slot; the 30 s timeout ends it (one still waiting then never takes a slot).
    Returns (wait, latency) in seconds."""
    slot = min(range(len(slots)), key=lambda i: slots[i])
    wait = max(0.0, slots[slot] - r.ts)
    if wait >= TIMEOUT_S:
        return TIMEOUT_S, TIMEOUT_S
    latency = min(wait + r.service_ms / 1000, TIMEOUT_S)
    slots[slot] = r.ts + latency
    return wait, latency


def in_time(r, latency: float) -> bool:
    """The handout's "in time": a person's answer in 6 s (the latency SLO's limit), a batch job's
    before the 30 s timeout."""
    return latency < (traffic.SLOW_MS / 1000 if r.priority == "interactive" else TIMEOUT_S)


def good(r, latency: float) -> bool:
    """Goodput: in time, and not a failure of its own (a timeout the queue alone caused is not)."""
    own = r.error is not None and not (r.error == "timeout" and r.service_ms < 30_000)
    return in_time(r, latency) and not own


def lab4(story) -> dict[str, str]:
    plans = {t.name: t.rate_rps for t in traffic.STORY.tenants}      # the plan: 2x usual, burst 10
    refused = {name: bucket_refusals(sorted(r.ts for r in story if r.tenant == name), 2 * rate, 10)
               for name, rate in plans.items()}
    slowdown, noisy = STORY["provider slowdown"], STORY["noisy batch tenant"]
    # Without limits: every request, in arrival order, through the queue (the capacity model)
    free, latency, waited = [0.0] * traffic.STORY.capacity, {}, []
    for r in sorted(story, key=lambda r: r.ts):
        wait, latency[r.trace_id] = take_slot(free, r)
        if noisy.start_s <= r.ts < noisy.end_s:
            waited.append(wait)
    flood = [r for r in story if noisy.start_s <= r.ts < noisy.end_s]
    others = [r for r in flood if r.tenant != "umbrella"]

    def goodput(priority: str) -> int:
        return sum(good(r, latency[r.trace_id]) for r in flood if r.priority == priority)

    # With limits: the same requests through the gateway's rules
    outcome, refusals = gateway_replay(story)
    admitted = {r.trace_id: outcome[r.trace_id][1] for r in story
                if not isinstance(outcome[r.trace_id], str)}
    in_flood = [r for r in flood if r.trace_id in admitted]

    def limited_goodput(priority: str) -> int:
        return sum(good(r, admitted[r.trace_id]) for r in in_flood if r.priority == priority)

    # the refusals around the slowdown: one spell, refusals less than 5 minutes apart
    spell = [x for x in refusals if slowdown.start_s <= x[0] < slowdown.end_s]
    while (more := [x for x in refusals if x not in spell and
                    any(abs(x[0] - y[0]) < 300 for y in spell)]):
        spell += more
    return {
        "limited accepted": comma(sum(r.tenant == "umbrella" and r.trace_id in admitted for r in story)),
        "limited refused": comma(sum(t == "umbrella" and why == "rate" for _, t, why in refusals)),
        "limited flood p99": f"{nearest_rank([admitted[r.trace_id] for r in in_flood if r.priority == 'interactive'], 99):.1f} s",
        "limited longest wait": f"{max(o[0] for o in outcome.values() if not isinstance(o, str)):.1f} s at most",
        "limited others in time": f"{100 * sum(r.trace_id in admitted and in_time(r, admitted[r.trace_id]) for r in others) / len(others):.1f} %",
        "limited interactive goodput": comma(limited_goodput("interactive")),
        "limited batch goodput": comma(limited_goodput("batch")),
        "shed": f"{sum(why == 'shed' for _, _, why in spell)} x 503 shed",
        "acme overload": f"acme {sum(t == 'acme' and why == 'overload' for _, t, why in spell)} x 503 overload",
        "limited day p99": f"{nearest_rank([admitted[r.trace_id] for r in story if r.trace_id in admitted and r.priority == 'interactive'], 99):.1f} s",
        "day p99": f"{nearest_rank([latency[r.trace_id] for r in story if r.priority == 'interactive'], 99):.1f} s",
        "flood p99": f"{nearest_rank([latency[r.trace_id] for r in flood if r.priority == 'interactive'], 99):.1f} s",
        "longest wait": f"0 to {max(waited):.0f} s",
        "others in time": f"{100 * sum(in_time(r, latency[r.trace_id]) for r in others) / len(others):.1f} %",
        "interactive goodput": comma(goodput("interactive")), "batch goodput": comma(goodput("batch")),
        "offered": comma(sum(r.tenant == "umbrella" for r in story)),
        "flood": f"{clock(min(refused['umbrella']))}-{clock(max(refused['umbrella']))}",
        "retry refusals": str(len(refused["globex"])),
        "retry": f"{clock(min(refused['globex']))}-{clock(max(refused['globex']))}",
        "slowdown": f"{clock(slowdown.start_s)}-{clock(slowdown.end_s)}",
    }


def flywheel(world, classes, week1, spent1, turning: bool, catch=0.9, speedup=4.0, mitigate=0.5,
             backlog=0.2, freeze=0.2, chance=1.0) -> list[dict]:
    """The flywheel's weeks, from the lab's stated model. Each week a class happens when its die
    falls under its weekly chance x `chance` (x `freeze` for a "change" class while releases are
    frozen); a live prevent guard stops those whose catch die is under `catch`; detect divides the
    time to detect by `speedup`; mitigate multiplies the share harmed by `mitigate`. Each
    incident's postmortem files a prevent, a detect and a mitigate item; one whose backlog die is
    under `backlog` stays in the backlog, the rest go live 1-3 weeks later; without the flywheel
    none do. Week 1 spends `spent1`; a later week (baseline errors + bad minutes) / the 4-week
    allowance (SRE Workbook: 0.005 x 28 days = 201.6 min); releases freeze while the last four
    weeks spent the whole budget."""
    allowance, baseline = 0.005 * 28 * 24 * 60, traffic.BASE_ERROR_RATE * 7 * 24 * 60
    spent, frozen, seen = [baseline / allowance] * 3, False, set()
    live_from = {c.name: {} for c in classes}          # class -> guard -> week it goes live
    weeks = []
    for week, dice in enumerate(world, 1):
        guards = {name: {g for g, at in plan.items() if at is not None and at <= week}
                  for name, plan in live_from.items()}
        happened, stopped = (list(week1), 0) if week == 1 else ([], 0)
        for c, die in zip(classes, dice):
            held = freeze if frozen and c.cause == "change" else 1
            if week == 1 or die.occur >= c.weekly_chance * chance * held:
                continue
            if "prevent" in guards[c.name] and die.catch < catch:
                stopped += 1
                continue
            happened.append((c.name, c.ttd_min * die.ttd_factor / (speedup if "detect" in guards[c.name] else 1),
                             c.ttm_min * die.ttm_factor,
                             c.severity * (mitigate if "mitigate" in guards[c.name] else 1), c.name in seen,
                             "prevent" in guards[c.name]))
        for name, *_ in happened:
            seen.add(name)
            if turning:
                die = dice[[c.name for c in classes].index(name)]
                for guard, (roll, delay) in zip(("prevent", "detect", "mitigate"), die.fates):
                    if live_from[name].get(guard) is None:
                        live_from[name][guard] = None if roll < backlog else week + delay
        if week == 1:
            spent.append(spent1)
        else:
            spent.append((baseline + sum((x[1] + x[2]) * x[3] for x in happened)) / allowance)
        weeks.append({"happened": happened, "stopped": stopped, "budget": sum(spent[-4:]),
                      "frozen": frozen})
        frozen = sum(spent[-4:]) >= 1.0
    return weeks


def story_week(story):
    """Week 1 as the story had it: each paging incident detected when lab 2's burn rules first
    paged on a signal it moves (a run of firing minutes overlapping its window: the latency SLO
    pages on latency, the availability SLO on errors), or never; its severity, the share of its
    requests that failed beyond the baseline in the minutes no shorter incident shares; the
    week's spend, the story's failed share x its 360 minutes plus the baseline for the rest."""
    minutes = 360
    errors, total, slow, served = per_minute(story, minutes)
    runs = []                                  # (start s, fired s, end s, signal)
    for signal, bad, events, budget in (("errors", errors, total, 0.005), ("latency", slow, served, 0.01)):
        for rule in ((60, 5, 0.02 * 720), (360, 30, 0.05 * 120)):
            fired, _ = burn_rule(bad, events, budget, *rule)
            for end in fired:
                if runs and runs[-1][3] == signal and runs[-1][2] == (end - 1) * 60:
                    runs[-1] = (runs[-1][0], runs[-1][1], end * 60, signal)
                else:
                    runs.append(((end - 1) * 60, end * 60, end * 60, signal))
    week1, measured = [], {}
    for i in (i for i in traffic.STORY.incidents if i.page):
        caught = [f for a, f, b, sig in runs if a < i.end_s and i.start_s < b and sig in i.signals]
        window = (i.end_s - i.start_s) / 60
        ttd = (min(caught) - i.start_s) / 60 if caught else None
        shorter = [o for o in traffic.STORY.incidents if o.end_s - o.start_s < i.end_s - i.start_s]
        alone = [r for r in story if i.covers(r.ts) and not any(o.covers(r.ts) for o in shorter)]
        severity = max(0.0, sum(r.status >= 500 for r in alone) / len(alone) - traffic.BASE_ERROR_RATE)
        measured[i.name] = (ttd, window, severity)
        week1.append((i.name, window if ttd is None else ttd, 0.0 if ttd is None else window - ttd,
                      severity, False, False))
    failed = sum(r.status >= 500 for r in story) / len(story)
    story_share = failed * 360 / 201.6
    return week1, measured, story_share, story_share + 0.002 * (7 * 1440 - 360) / 201.6


def lab5(story) -> dict[str, str]:
    import dataclasses
    from solution.failures import failure_classes
    from solution.lab5_flywheel import draw_world       # the world's dice: the input, as the story
    paging = [i for i in traffic.STORY.incidents if i.page]
    week1, measured, story_share, spent1 = story_week(story)
    classes = []
    for c in failure_classes():                   # the data; the story's classes as measured
        if c.name in measured:
            ttd, window, severity = measured[c.name]
            c = dataclasses.replace(c, severity=severity, ttd_min=window if ttd is None else ttd,
                                    ttm_min=c.ttm_min if ttd is None else window - ttd)
        classes.append(c)
    worlds = {seed: draw_world(seed, 12, len(classes)) for seed in range(7, 48)}

    def repeats(weeks):
        return sum(x[4] for w in weeks for x in w["happened"])

    def cut(seed, **model):
        before, after = (repeats(flywheel(worlds[seed], classes, week1, spent1, t, **model))
                         for t in (False, True))
        return None if before == 0 else 1 - after / before

    runs = {turning: flywheel(worlds[7], classes, week1, spent1, turning) for turning in (False, True)}
    count = {t: repeats(weeks) for t, weeks in runs.items()}
    # like with like: the incidents both runs met after week 1 (same week, same class)
    met = {(n, x[0]): x[1] for n, w in enumerate(runs[False], 1) if n > 1 for x in w["happened"]}
    pairs = [(met[(n, x[0])], x[1]) for n, w in enumerate(runs[True], 1) if n > 1
             for x in w["happened"] if (n, x[0]) in met]
    cuts = [cut(seed) for seed in range(8, 18)]
    short = [seed for seed in range(8, 48) if cut(seed) is None or cut(seed) < 0.5]
    early = 0                                  # shortfalls whose repeats mostly came unguarded
    for seed in short:
        weeks = flywheel(worlds[seed], classes, week1, spent1, True)
        back = [x for w in weeks for x in w["happened"] if x[4]]
        early += 2 * sum(not x[5] for x in back) >= len(back)
    halved = {}
    for name, value in (("prevent_catch", {"catch": 0.45}), ("detect_speedup", {"speedup": 2.0}),
                        ("mitigate_factor", {"mitigate": 0.25}), ("backlog_chance", {"backlog": 0.1}),
                        ("freeze_factor", {"freeze": 0.1}), ("chance_factor", {"chance": 0.5})):
        mine = cut(7, **value)
        others = sum(c is not None and c >= 0.5 for c in (cut(s, **value) for s in range(8, 18)))
        halved[name] = f"{100 * mine:.0f} % {others:>2}"
    detected = {name: ttd for name, (ttd, _, _) in measured.items()}
    return {
        "incidents": str(len(paging)),
        "slowdown ttd": f"{detected['provider slowdown']:.0f}",
        "burst ttd": f"{detected['upstream error burst']:.0f}",
        "noisy ttd": f"{detected['noisy batch tenant']:.0f}",
        "story share": f"{100 * story_share:.1f} %",
        "after week 1": f"{math.floor(100 * runs[True][0]['budget'])} %",
        "peak": f"{math.floor(100 * max(w['budget'] for w in runs[False]))} %",
        "frozen": f"{sum(w['frozen'] for w in runs[False])}F",
        "falls to": f"{math.floor(100 * runs[True][-1]['budget'])} %",
        "repeats": f"{count[False]} without the flywheel, {count[True]} with it: "
                   f"{100 * (1 - count[True] / count[False]):.0f} % fewer",
        "stopped": str(sum(w["stopped"] for w in runs[True])),
        "pairs": str(len(pairs)),
        "pairs without": f"{statistics.median(a for a, _ in pairs):.0f} min without",
        "pairs with": f"{statistics.median(b for _, b in pairs):.0f} with",
        "halved": f"half on {sum(c >= 0.5 for c in cuts)} of seeds 8-17",
        "short": f"{len(short)} of the 40 seeds", "early": f"{early} before its guard was live",
        **{name: text for name, text in halved.items()},
        "after fix": str(list(traffic.FIXED_INDEX[traffic.STORY.launch_topic])),
    }


RECOMPUTE = {"lab1": lab1, "lab2": lab2, "lab3": lab3, "lab4": lab4, "lab5": lab5}

SETTING = "a setting the lab states, not a result"
CHECKED_ELSEWHERE = {
    "lab1": {"10 %": SETTING},
    "lab2": {
        "not enough history (6h)": "test_lab2_dashboard.py::test_the_six_hour_and_three_day_rules_say_when_history_is_short",
    },
    "lab3": {
        "90 %": SETTING, "10 %": SETTING, "15 min": SETTING, "95 %": SETTING, "0.25": SETTING,
        "77 %": "a simulation: test_stattests.py::"
                "test_fixed_psi_thresholds_misfire_on_small_samples_more_than_the_chi_square_says",
        "50": "the simulation's sample size", "23 %": "as 77 %", "100": "the simulation's sample size",
    },
    "lab4": {},
    "lab5": {
        "[700]": "test_lab5_flywheel.py::test_the_drift_regression_case_fails_before_the_fix_and_passes_after",
    },
}


@pytest.fixture(scope="module")
def recomputed(story):
    return {lab: make(story) for lab, make in RECOMPUTE.items()}


@pytest.mark.parametrize("lab", sorted(RECOMPUTE))
def test_every_number_recomputed_here_is_the_one_the_handout_shows(lab, recomputed):
    shown = bold_in_what_to_look_for(lab)
    wrong = {name: value for name, value in recomputed[lab].items() if value not in shown}
    assert not wrong, f"{lab}'s handout does not show the recomputed {wrong}; it shows {shown}"


@pytest.mark.parametrize("lab", sorted(RECOMPUTE))
def test_every_bold_number_is_recomputed_or_says_where_it_is_checked(lab, recomputed):
    shown = bold_in_what_to_look_for(lab)
    elsewhere = CHECKED_ELSEWHERE[lab]
    unaccounted = [n for n in shown if n not in recomputed[lab].values() and n not in elsewhere]
    assert not unaccounted, f"{lab}: no independent check for {unaccounted}"
    stale = [n for n in elsewhere if n not in shown]
    assert not stale, f"{lab}: CHECKED_ELSEWHERE lists {stale}, which the handout no longer shows"


@pytest.mark.parametrize("lab", sorted(CHECKED_ELSEWHERE))
def test_every_test_named_as_the_check_exists(lab):
    for reason in CHECKED_ELSEWHERE[lab].values():
        for module, name in re.findall(r"(test_\w+)\.py::(test_\w+)", reason):
            source = (ROOT / "tests" / f"{module}.py").read_text(encoding="utf-8")
            assert f"def {name}(" in source, f"{module}.py has no {name}"
        for name in re.findall(r"(?<![:\w])(test_\w+)\b(?!\.py)", reason):
            assert f"def {name}(" in Path(__file__).read_text(encoding="utf-8"), name


def test_umbrellas_refusals_are_the_plain_bucket_less_the_refunds(story):
    # the gateway gives a request's token back when a later check refuses it, so it refuses a
    # little less than a bucket without refunds: within 1 % of it, never more
    plain = len(bucket_refusals(sorted(r.ts for r in story if r.tenant == "umbrella"), 0.2, 10))
    shown = bold_in_what_to_look_for("lab4")
    offered = f"{sum(r.tenant == 'umbrella' for r in story):,}"     # the handout: offered, accepted, refused
    gateway = int(shown[shown.index(offered) + 2].replace(",", ""))
    assert 0.99 * plain <= gateway <= plain, (gateway, plain)


def test_the_helpers_agree_with_worked_examples():
    assert nearest_rank([15, 20, 35, 40, 50], 30) == 20          # Wikipedia's nearest-rank example
    assert nearest_rank([15, 20, 35, 40, 50], 100) == 50
    low, high = wilson(81, 263)                                  # Newcombe 1998, table I: 81/263
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    # 10 values, 9 of them at or under 0.1 s: rank 9.9 lies in the 0.1-0.25 bucket, 0.9 of the way
    assert bucket_quantile(0.99, [0.05] * 9 + [0.2]) == pytest.approx(0.1 + 0.15 * 0.9)
    assert bucket_refusals([0, 0, 0, 1, 1], rate=1, burst=2) == [0, 1]
    assert clock(7740) == "2:09" and fraction("0" * 16 + "8" + "0" * 15) == 0.5


def test_the_token_limit_never_binds_and_no_tenant_nears_its_daily_quota(story):
    """The handout: "nobody is over a limit" but the request rate. The replay's token buckets
    refuse nothing, and a six-hour day holds far fewer than 50,000 requests of any tenant."""
    _, refusals = gateway_replay(story)
    assert {why for _, _, why in refusals} == {"rate", "overload", "shed"}
    assert max(sum(r.tenant == t.name for r in story) for t in traffic.STORY.tenants) < 50_000
    # and the token limit is live: at a tenth of the tier the flood's reservations are refused
    _, tight = gateway_replay(story, tpm=10_000)
    assert any(why == "tokens" for _, _, why in tight)


@pytest.mark.parametrize("tpm", [10_000, 30_000])
def test_the_replay_written_here_and_the_lessons_gateway_refuse_the_same(story, tpm):
    """Two implementations of the handout's rules, one in the lesson (limiters, Gateway, replay)
    and one above, written apart: where the token limit binds too, they refuse the same requests
    for the same reasons, tenant by tenant."""
    from solution import lab4_limits
    _, refusals = gateway_replay(story, tpm=tpm)
    here = Counter((tenant, why) for _, tenant, why in refusals)
    lesson = lab4_limits.run(requests=story, limits=lab4_limits.Limits(tokens_per_minute=tpm)).limited
    there = Counter({(t, why): n for t, reasons in lesson.refused.items() for why, n in reasons.items() if n})
    assert here[("umbrella", "tokens")] > 0 and here == there
