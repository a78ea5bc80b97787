"""Lab 3: online evaluation on sampled live traffic catches the drift the offline gate missed.

The question: the release passed its offline gate, so is the assistant still answering well? A
gate only tests the questions someone thought of. At 3:00 a launch (SmartSync) brings a topic the
golden set never had; the retriever has no documents for it and the answers go ungrounded, while
latency and errors stay normal: the dashboard stays green. Only judging live answers can see it.
Extends M26 (judges and golden sets) and M30 (monitoring a deployed model).

Read it in this order (about ten minutes):
1. `golden_set`: the offline gate, judged by the code judges (solution/judges.py);
2. `live_sample`: keep answers by trace-id hash plus every thumbs-down, judge them, weigh each by
   one over its chance of being kept (solution/sampling.py: Horvitz-Thompson);
3. the detectors on the 0/1 pass stream (solution/detectors.py), scaled to it (`BernoulliCusum`,
   `PageHinkley`), and the textbook settings that misfire on it (`NormalCusum`,
   `RiverPageHinkley`), run answer by answer (`run_sequential`);
4. `drift_window`: each window against the gate and the reference hour (solution/stattests.py);
5. `run()`: detectors scored on delay and false alarms, the slice behind the drop, regression
   cases for the golden set (lab 5); `report()` (the --detector's level too), `main()`.

    python3 solution/lab3_online_eval.py [--sample-rate 0.1] [--window 15] [--detector cusum]

Remember: the offline gate tests the questions you thought of; online evaluation tests the ones
your users ask; a drift detector is only as good as its false alarms and its delay.
"""

from __future__ import annotations

import argparse
import bisect
import functools
import heapq
import math
import random
import sys
import textwrap
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Sequence

if __package__ in (None, ""):          # run as a script: make the `solution` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from solution import traffic
from solution.cli import fraction, positive_int, refuse_ignored, run_cli, seed_value
from solution.detectors import BernoulliCusum, NormalCusum, PageHinkley, RiverPageHinkley
from solution.judges import JudgeScore, RegressionCase, judge_all, regression_cases, score_judges
from solution.numeric import percent
from solution.paging import Detection, score_alarms
from solution.sampling import (Sampled, Slice, estimate, hash_sample, reservoir_sample, slices,
                               weighted_pass_rate)
from solution.stattests import (bin_counts, chi_square, ks_2samp, psi, psi_null_exceedance,
                                quantile_cuts, two_proportion_z, wilson_interval)
from solution.terminal import sparkline, squeeze, table, wrap

SAMPLE_RATE = 0.10          # LangSmith, Langfuse, Arize: model-graded judges on 5-10 % of traces
WINDOW_MIN = 15             # minutes per drift window
GOLDEN_PER_TOPIC = 8        # golden cases per pre-launch topic: 6 topics x 8 = 48 cases
GATE_THRESHOLD = 0.90       # the offline gate passes at a pass rate of 90 % or more
REFERENCE_S = 3600.0        # the first live hour: the reference every window is compared to
MIN_SAMPLES = 30            # fewer random samples than this in a window: "insufficient data"
ALPHA = 0.01                # false-alarm rate of each test, per window
PSI_RULE = 0.25             # the rule of thumb: < 0.1 stable, 0.1-0.25 moderate, > 0.25 major
TOKEN_BINS = 10             # prompt-token bins: the reference's deciles


# ── 1. the offline gate: a golden set from before the launch ───────────────────────────────────

def golden_set(requests: Sequence[traffic.Request], scenario: traffic.Scenario, before_s: float,
               per_topic: int = GOLDEN_PER_TOPIC) -> list[traffic.Request]:
    """The golden set written down before the launch: per pre-launch topic, `per_topic` interactive
    questions answered before `before_s`, from the top of the hash range: spread over the period,
    the same every run, outside the live sample's random part (offline and online are independent
    samples). The launched topic cannot be in it: nobody asked about SmartSync before it existed."""
    by_topic: dict[str, list[traffic.Request]] = {topic: [] for topic, _ in scenario.topics}
    for r in requests[:bisect.bisect_left(requests, before_s, key=lambda r: r.ts)]:
        if r.ok and r.priority == "interactive" and r.topic in by_topic:
            by_topic[r.topic].append(r)
    # the hex digits trace_fraction reads sort as the number does: highest fraction first
    cases = [r for answered in by_topic.values()
             for r in heapq.nlargest(per_topic, answered, key=lambda r: r.trace_id[-16:])]
    return sorted(cases, key=lambda r: r.ts)


# ── 2. the live sample ──────────────────────────────────────────────────────────────────────────

def live_sample(answered, sample_rate: float, reservoir_per_hour: int | None,
                seed: int) -> list[Sampled]:
    """Sample the live answers (by hash, or a reservoir per hour) and judge the kept ones."""
    picked = (reservoir_sample(answered, reservoir_per_hour, seed) if reservoir_per_hour
              else hash_sample(answered, sample_rate))
    verdicts = judge_all([r for r, _, _ in picked])
    return [Sampled(request=r, verdict=v, weight=w, by_chance=chance)
            for (r, w, chance), v in zip(picked, verdicts)]


# ── 3. sequential detectors on the 0/1 pass stream ──────────────────────────────────────────────

# The --detector choices: two scaled to the 0/1 pass stream, and the two unscaled traps.
DETECTORS = {"cusum": BernoulliCusum, "page-hinkley": PageHinkley,
             "cusum-normal": NormalCusum, "page-hinkley-river": RiverPageHinkley}


# ── 4. drift, window by window, against the reference hour and the offline gate ─────────────────

WINDOW_TESTS = (("pass rate vs gate, z-test", "pass"), ("topic mix, chi-square", "topic_chi2"),
                ("topic mix, PSI > 0.25", "topic_psi"), ("prompt tokens, KS", "tokens_ks"),
                ("prompt tokens, PSI > 0.25", "tokens_psi"))


@dataclass(frozen=True)
class DriftWindow:
    """One drift window: its numbers, and which tests alarmed. None = insufficient data."""
    start_s: float
    end_s: float
    random_n: int                   # answers kept by chance: the uniform sample the tests use
    kept: int                       # all kept answers, thumbs-down included
    pass_rate: float | None = None          # the weighted estimate (Hajek) and its 95 % Wilson
    wilson: tuple[float, float] | None = None   # interval on Kish's effective sample size
    topic_psi: float | None = None
    topic_p: float | None = None            # chi-square p-value of the topic mix vs the reference
    tokens_ks: float | None = None
    tokens_p: float | None = None           # KS p-value of prompt tokens vs the reference
    tokens_psi: float | None = None
    alarms: tuple[str, ...] = ()            # the keys of WINDOW_TESTS that alarmed

    @property
    def insufficient(self) -> bool:
        return self.random_n < MIN_SAMPLES


def drift_window(items: Sequence[Sampled], start_s: float, end_s: float,
                 reference: Sequence[Sampled], topics: Sequence[str],
                 gate: tuple[int, int]) -> DriftWindow:
    """Every test of one window. Only answers kept by chance enter the distribution tests: the
    thumbs-down extras are a biased slice (unhappy users ask about the broken topic more)."""
    chance = [s for s in items if s.by_chance]
    if len(chance) < MIN_SAMPLES or len(reference) < MIN_SAMPLES:      # insufficient data: no alarm
        return DriftWindow(start_s=start_s, end_s=end_s, random_n=len(chance), kept=len(items))
    rate, n_eff = weighted_pass_rate(items)
    z, _ = two_proportion_z(rate * n_eff, n_eff, *gate)
    ref_topics = Counter(s.request.topic for s in reference)
    win_topics = Counter(s.request.topic for s in chance)
    ref_mix, win_mix = [ref_topics[t] for t in topics], [win_topics[t] for t in topics]
    topic_psi = psi(ref_mix, win_mix)
    _, _, topic_p = chi_square([ref_mix, win_mix])
    ref_tokens = [s.request.prompt_tokens for s in reference]
    win_tokens = [s.request.prompt_tokens for s in chance]
    ks, ks_p = ks_2samp(ref_tokens, win_tokens)
    cuts = quantile_cuts(ref_tokens, TOKEN_BINS)
    tokens_psi = psi(bin_counts(ref_tokens, cuts), bin_counts(win_tokens, cuts))
    alarmed = {"pass": NormalDist().cdf(z) < ALPHA,       # one-sided: is the window below the gate?
               "topic_chi2": topic_p < ALPHA, "topic_psi": topic_psi > PSI_RULE,
               "tokens_ks": ks_p < ALPHA, "tokens_psi": tokens_psi > PSI_RULE}
    alarms = [key for _, key in WINDOW_TESTS if alarmed[key]]
    return DriftWindow(start_s=start_s, end_s=end_s, random_n=len(chance), kept=len(items),
                       pass_rate=rate, wilson=wilson_interval(rate * n_eff, n_eff),
                       topic_psi=topic_psi, topic_p=topic_p, tokens_ks=ks, tokens_p=ks_p,
                       tokens_psi=tokens_psi, alarms=tuple(alarms))


def run_sequential(detector, stream: Sequence[Sampled]) -> tuple[list[float], list[tuple]]:
    """Feed the 0/1 fail stream to a detector: (alarm times, (time, its level) every answer)."""
    alarms, levels = [], []
    for s in stream:
        if detector.update(not s.verdict.passed):
            alarms.append(s.request.ts)
        levels.append((s.request.ts, detector.level))
    return alarms, levels


@functools.cache
def psi_trap() -> tuple[tuple[int, float], ...]:
    """(n, how often PSI > 0.25 between two samples of n from one distribution): the rule of
    thumb's false alarms by sample size, simulated on seeded draws. The same on every run, so a
    process works it out once."""
    return tuple((n, psi_null_exceedance(PSI_RULE, n, n, TOKEN_BINS, 2000 if n < 1000 else 200,
                                          random.Random(f"lab3 psi trap {n}")))
                 for n in (50, 100, 1000))


# ── 5. run: the whole lab on the story ──────────────────────────────────────────────────────────

@dataclass(frozen=True)
class Result:
    sample_rate: float
    reservoir_per_hour: int | None
    window_s: float
    detector: str
    drift_start_s: float | None
    answered: int                       # answered requests (a failed one has no answer to judge)
    kept: int                           # answers kept by the sampler
    kept_by_chance: int                 # ... by its random part; the rest only for a thumbs-down
    golden_cases: int
    golden_passed: int
    judges: tuple[JudgeScore, ...]
    online_before: float | None         # weighted pass rate before the drift began
    online_after: float | None          # ... and after
    naive_after: float | None           # every kept answer counted once: biased by the thumbs-down
    windows: tuple[DriftWindow, ...]
    detections: tuple[Detection, ...]   # the window tests, then the sequential detectors
    sequential_levels: tuple[tuple[float, float], ...]  # the --detector's (time, level) by answer
    sequential_threshold: float
    psi_trap: tuple[tuple[int, float], ...]   # (n, P(PSI > 0.25)) for two samples of n, no drift
    slices: tuple[Slice, ...]
    regression: tuple[RegressionCase, ...]

    @property
    def gate_pass_rate(self) -> float:
        return self.golden_passed / self.golden_cases if self.golden_cases else math.nan

    @property
    def gate_passed(self) -> bool:
        return self.golden_cases > 0 and self.gate_pass_rate >= GATE_THRESHOLD

    def detection(self, name: str) -> Detection:
        return next(d for d in self.detections if d.name == name)

    @property
    def chosen(self) -> tuple[Detection, str]:
        """The --detector's detection, and its short name."""
        return self.detection(DETECTORS[self.detector].name), DETECTORS[self.detector].short


def run(requests: Sequence[traffic.Request] | None = None, *, seed: int = traffic.DEFAULT_SEED,
        scenario: traffic.Scenario = traffic.STORY, sample_rate: float = SAMPLE_RATE,
        window_min: int = WINDOW_MIN, detector: str = "cusum",
        reservoir_per_hour: int | None = None) -> Result:
    """The lab on the story: gate offline, sample and judge live answers, look for drift."""
    if not (0.0 <= sample_rate <= 1.0 and window_min > 0 and detector in DETECTORS
            and (reservoir_per_hour is None or reservoir_per_hour > 0)):
        raise ValueError(f"impossible setting: sample rate {sample_rate} (0 to 1), window "
                         f"{window_min} min (1 or more), detector {detector!r} (one of "
                         f"{', '.join(DETECTORS)}), reservoir {reservoir_per_hour} (1 or more)")
    requests = traffic.generate(seed=seed, scenario=scenario) if requests is None else requests
    drift = next((i.start_s for i in scenario.incidents if i.kind == "drift"), None)
    launch = scenario.duration_s if drift is None else drift          # no drift: all "before"
    topics = [t for t, _ in scenario.topics] + [scenario.launch_topic]
    golden = golden_set(requests, scenario, before_s=launch)                    # 1. offline gate
    gate = (len([v for v in judge_all(golden) if v.passed]), len(golden))
    answered = [r for r in requests if r.ok]                                    # 2. live sample
    kept = live_sample(answered, sample_rate, reservoir_per_hour, seed)
    chance = [s for s in kept if s.by_chance]
    before = [s for s in kept if s.request.ts < launch]
    after = [s for s in kept if s.request.ts >= launch]
    reference = [s for s in chance if s.request.ts < REFERENCE_S]               # 3. drift windows
    window_s, end_s = window_min * 60.0, scenario.duration_s
    count = math.ceil((end_s - REFERENCE_S) / window_s)
    edges = [REFERENCE_S + i * window_s for i in range(count + 1)]
    edges[-1], times = min(edges[-1], end_s), [s.request.ts for s in kept]
    windows = [drift_window(kept[bisect.bisect_left(times, lo):bisect.bisect_left(times, hi)],
                            lo, hi, reference, topics, gate) for lo, hi in zip(edges, edges[1:])]
    short = len([w for w in windows if w.insufficient])
    detections = [score_alarms(name, [w.end_s for w in windows if key in w.alarms], drift, short)
                  for name, key in WINDOW_TESTS]
    # 4. sequential detectors on the random sample's 0/1 stream, scaled by the reference fail rate
    stream = []
    if len(reference) >= MIN_SAMPLES:
        stream = [s for s in chance if s.request.ts >= REFERENCE_S]
    fail_rate = 0.05
    if reference:
        fail_rate = 1 - len([s for s in reference if s.verdict.passed]) / len(reference)
    for key, make in DETECTORS.items():
        machine = make(fail_rate)
        alarms, trace = run_sequential(machine, stream)
        detections.append(score_alarms(machine.name, alarms, drift))
        if key == detector:
            levels, threshold = trace, machine.threshold
    # 5. the slice that drives the drop, and what to add to the golden set
    online_before, online_after = estimate(before, MIN_SAMPLES), estimate(after, MIN_SAMPLES)
    cuts = slices(before, after, topics) if None not in (online_before, online_after) else []
    judged = [(s.verdict, s.request.grounded, s.request.acceptable) for s in chance]
    naive_after = len([s for s in after if s.verdict.passed]) / len(after) if after else None
    return Result(
        sample_rate=sample_rate, reservoir_per_hour=reservoir_per_hour, window_s=window_s,
        detector=detector, drift_start_s=drift, answered=len(answered), kept=len(kept),
        kept_by_chance=len(chance), golden_cases=gate[1], golden_passed=gate[0],
        judges=tuple(score_judges(judged)), online_before=online_before,
        online_after=online_after, naive_after=naive_after, windows=tuple(windows),
        detections=tuple(detections), sequential_levels=tuple(levels),
        sequential_threshold=threshold, psi_trap=psi_trap(), slices=tuple(cuts),
        regression=tuple(regression_cases(after, cuts[0].topic) if cuts else ()))


# ── report: the lab's screen ────────────────────────────────────────────────────────────────────

def _interval(low_high: tuple[float, float]) -> str:
    return f"{100 * low_high[0]:.1f}-{100 * low_high[1]:.1f} %"


def _minutes(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 60:.1f} min"


def _top(result: Result) -> list[str]:
    """The gate, the sample, the judges against the truth, the pass rate window by window."""
    r, drift = result, "-" if result.drift_start_s is None else traffic.clock(result.drift_start_s)
    weight = f"{1 / r.sample_rate:.1f}" if r.sample_rate else "-"   # 1 / the chance of being kept
    sampler = f"{r.kept_by_chance:,} by hash at {percent(r.sample_rate, 0)} (weight {weight})"
    if r.reservoir_per_hour:
        sampler = f"{r.kept_by_chance:,} by reservoir, {r.reservoir_per_hour}/h (weight n/k)"
    lines = [f"Offline gate: {r.golden_cases} golden cases (pre-launch topics) pass "
             f"{percent(r.gate_pass_rate)} >= {percent(GATE_THRESHOLD, 0)}: "
             + ("PASSED" if r.gate_passed else "FAILED"),
             f"Live sample: {r.kept:,} of {r.answered:,} answers kept",
             f"  {sampler} + {r.kept - r.kept_by_chance:,} thumbs-down only (weight 1)",
             f"  pass rate after {drift}: {percent(r.online_after)} weighted; "
             f"{percent(r.naive_after)} counting each kept one once",
             f"Judges vs the truth on the {r.kept_by_chance:,} random answers "
             "(evaluate the evaluator):"]
    rows = [(j.name, f"{j.fails:,}", percent(j.precision), percent(j.recall),
             f"{j.bad:,} {j.truth}") for j in r.judges]
    lines += ["  " + line for line in table(
        rows, ("judge", "fails", "precision", "recall", "truly bad")).splitlines()]
    head = (f"Pass rate per {r.window_s / 60:g} min from {traffic.clock(REFERENCE_S)} "
            f"(gate {percent(r.gate_pass_rate)}): ")
    rates = squeeze([w.pass_rate for w in r.windows], 79 - len(head), how=min)
    lines.append(head + sparkline(rates, low=0.5, high=1.0))
    below = next((w for w in r.windows if "pass" in w.alarms), None)
    if below is not None:
        gate = wilson_interval(r.golden_passed, r.golden_cases)          # the gate is a sample too
        lines.append(f"  first below: {traffic.clock(below.start_s)}-{traffic.clock(below.end_s)} "
                     f"{percent(below.pass_rate)}, 95 % Wilson {_interval(below.wilson)} "
                     f"(gate {_interval(gate)})")
    return lines


def report(result: Result) -> str:
    """The lab's screen: the gate, the sample, the judges, the detectors, the lesson."""
    drift = "-" if result.drift_start_s is None else traffic.clock(result.drift_start_s)
    lines = _top(result) + [f"Drift detectors, scored against the drift that began at {drift}:"]
    chosen, short = result.chosen
    rows = []
    for d in result.detections:
        first = "never"
        if d.insufficient and d.insufficient == len(result.windows):
            first = "no data"
        if d.first_alarm_s is not None:
            first = traffic.clock(d.first_alarm_s)
        rows.append((d.name + (" *" if d is chosen else ""), first,
                     _minutes(d.delay_s(result.drift_start_s)), f"{d.false_alarms}"))
    lines += ["  " + line for line in table(
        rows, ("detector (* = --detector)", "alarm", "delay", "false alarms")).splitlines()]
    h, per = result.sequential_threshold, f"{result.window_s / 60:g} min"
    peaks = [max((v for t, v in result.sequential_levels if w.start_s <= t < w.end_s), default=0.0)
             for w in result.windows]                         # the * detector, window by window
    lines.append(f"  * level per {per}: {sparkline(peaks, low=0.0, high=h)} (alarm above {h:.1f})")
    if result.detections[0].insufficient:
        lines.append(f"  {result.detections[0].insufficient} of {len(result.windows)} windows had "
                     f"< {MIN_SAMPLES} random answers: insufficient data, no alarm")
    (n1, p1), (n2, p2), (n3, p3) = result.psi_trap
    lines.append(f"PSI > {PSI_RULE} by noise alone, simulated: {percent(p1, 0)} at n = {n1}, "
                 f"{percent(p2, 0)} at {n2}, {percent(p3, 0)} at {n3:,}")
    # the lesson in numbers: gate, online rate, detection delay, slice, regression cases
    delay = chosen.delay_s(result.drift_start_s)
    fired = f"{short} never fired"
    if delay is not None:
        fired = f"{short} fired {_minutes(delay)} after the drift began"
    online = (f"online, the pass rate fell to {percent(result.online_after)} after the launch"
              if result.online_after is not None else "online, too few random answers to tell")
    text = f"Lesson: the offline gate passed at {percent(result.gate_pass_rate)}; {online}; {fired}"
    if not result.slices:
        return "\n".join(lines + wrap(text + "; no slice: insufficient data.", 79))
    top, drop = result.slices[0], sum(s.points_lost for s in result.slices)
    lost, whole = round(100 * top.points_lost, 1), round(100 * drop, 1)
    others = ""
    if lost > whole:                            # the other topics rose: one slice is more than all
        others = f" (the other topics gained {lost - whole:.1f})"
    lines += wrap(f"{text}; the slice is topic {top.topic}: {percent(top.share, 0)} of answers, "
                  f"{percent(top.pass_rate)} pass, {lost:.1f} of the {whole:.1f}-point drop"
                  f"{others}.", 79)
    if result.regression:
        checks = " / ".join(sorted({case.check for case in result.regression}))
        lines += wrap(f'Add to the golden set (lab 5), each to pass "{checks}":', 79)
        lines += [f'  "{textwrap.shorten(case.prompt, width=74, placeholder=" ...")}"'
                  for case in result.regression]
    return "\n".join(lines)


# ── main ────────────────────────────────────────────────────────────────────────────────────────

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Online evaluation on sampled live traffic: the offline gate passes, the "
                    "launch of a new topic drifts the answers, and online judges and drift "
                    "detectors catch it. Try --sample-rate 0.02, --window 5, "
                    "--detector cusum-normal.")
    parser.add_argument("--sample-rate", type=fraction, default=SAMPLE_RATE, metavar="RATE",
                        help="share of answers kept by trace-id hash (default 0.1), "
                             "thumbs-down too")
    parser.add_argument("--window", type=positive_int, default=WINDOW_MIN, metavar="MINUTES",
                        help="minutes per drift window (default 15)")
    parser.add_argument("--detector", choices=tuple(DETECTORS), default="cusum",
                        help="detector whose level is drawn (default cusum); -normal/-river: traps")
    parser.add_argument("--reservoir", type=positive_int, metavar="N",
                        help="sample N answers an hour by reservoir sampling (Algorithm R)")
    parser.add_argument("--seed", type=seed_value, default=traffic.DEFAULT_SEED,
                        help="seed of the story and the reservoir "
                             f"(default {traffic.DEFAULT_SEED})")
    args = parser.parse_args(argv)
    one_sampler = ("--sample-rate", args.reservoir is None,
                   "is the hash sampler's; --reservoir samples instead: give one or the other")
    refuse_ignored(parser, argv, [one_sampler])
    print(report(run(seed=args.seed, sample_rate=args.sample_rate, window_min=args.window,
                     detector=args.detector, reservoir_per_hour=args.reservoir)))
    return 0


if __name__ == "__main__":
    run_cli(main)
