"""Lab 3: online evaluation on sampled live traffic catches the drift the offline gate missed.

The question: the release passed its offline gate (a golden set of questions, scored by code
judges), so is the assistant still answering well in production?  An offline gate can only test
the questions someone thought of before the release. At 3:00 in the story a product launch
(SmartSync) brings a topic the golden set never had; the retriever has no documents for it and the
answers go ungrounded, while latency and errors stay normal: the dashboard stays green. Only
judging live answers can see it.

Extends M26 (evaluation: judges and golden sets) and M30 (monitoring a deployed model). In order:
  1. the judges: deterministic code checks that read the answer, never the truth;
  2. evaluate the evaluator: each judge scored against the story's truth (precision, recall);
  3. the offline gate: a golden set of pre-launch questions, scored by the same judges; it passes;
  4. sampling: a hash of the trace id keeps a fixed fraction, plus every thumbs-down; the estimator
     weights each kept answer by one over its chance of being kept (Horvitz-Thompson);
  5. statistics from the standard library: Wilson, two-proportion z, PSI, KS, chi-square;
  6. sequential detectors (CUSUM, Page-Hinkley) on the 0/1 pass stream, scaled to it;
  7. drift, window by window; every detector scored on its delay after the drift began and its
     false alarms before it;
  8. the slice that drives the drop, and the regression cases to add to the golden set (lab 5).

Run it:   python3 solution/lab3_online_eval.py [--sample-rate 0.1] [--window 15] [--detector cusum]
          python3 solution/lab3_online_eval.py --help

    >>> wilson_interval(8, 10)            # 8 passes of 10: the interval is wide, and not symmetric
    (0.4901..., 0.9433...)

Remember: the offline gate tests the questions you thought of; online evaluation on sampled live
traffic tests the questions your users actually ask, and a drift detector is only as good as its
false alarms before the drift and its delay after it.
"""

from __future__ import annotations

import argparse
import bisect
import heapq
import math
import random
import re
import sys
import textwrap
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import NamedTuple, Sequence

if __package__ in (None, ""):          # run as a script: make the `solution` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from solution import traffic
from solution.cli import fraction, non_negative_int, positive_int, run_cli
from solution.stattests import (chi_square, ks_2samp, psi, psi_false_alarm_chance, psi_noise_bound,
                                 two_proportion_z, wilson_interval)
from solution.numeric import nearest_rank, percent, trace_fraction
from solution.terminal import sparkline, squeeze, table

SAMPLE_RATE = 0.10          # LangSmith, Langfuse, Arize: model-graded judges on 5-10 % of traces
WINDOW_MIN = 15             # minutes per drift window
GOLDEN_PER_TOPIC = 8        # golden cases per pre-launch topic: 6 topics x 8 = 48 cases
GATE_THRESHOLD = 0.90       # the offline gate passes at a pass rate of 90 % or more
REFERENCE_S = 3600.0        # the first live hour: the reference every window is compared to
MIN_SAMPLES = 30            # fewer random samples than this in a window: "insufficient data"
ALPHA = 0.01                # false-alarm rate of each test, per window
PSI_RULE = 0.25             # the rule of thumb: < 0.1 stable, 0.1-0.25 moderate, > 0.25 major
TOKEN_BINS = 10             # prompt-token bins: the reference's deciles
SHIFT = 0.10                # the smallest drop in pass rate worth an alarm: 10 points


# ── 1. the judges: deterministic code checks that read the answer, never the truth ──────────────

class Judgement(NamedTuple):
    """What the code judges say about one answer. True means the check passed."""
    grounded: bool      # cites at least one document, and only documents the retriever returned
    refusal: bool       # not a refusal
    format: bool        # a sentence of sane length with well-formed citations
    pii: bool           # no personal data or secret copied into the answer
    passed: bool        # the combined judge: every check above passed


JUDGES = Judgement._fields[:-1]
# Refusal phrases, matched on the lower-cased answer: substring tests are cheaper than a
# case-insensitive regex, and the judges run on every sampled answer.
REFUSALS = ("i'm sorry", "i am sorry", "i can't help", "i cannot help", "i'm unable", "i am unable")
# The personal data and secrets OWASP says never to disclose (LLM02), as they look in text. A bare
# long number is not one of them: the story's order numbers are ten digits and harmless.
PII = re.compile(r"\w@[\w-]+\.\w"                                # an e-mail address
                 r"|\+\d[\d ]{8,}\d"                              # an international phone number
                 r"|\b\d{4} \d{4} \d{4} \d{4}\b"                  # a card number
                 r"|sk-\w{8}|AKIA[A-Z0-9]{12}|Bearer\s+\w{8}")     # API keys and tokens
MAX_ANSWER_CHARS = 800


def judge(answer: str, retrieved_docs: Sequence[int]) -> Judgement:
    """Judge one answer from what a trace shows: the answer text and the documents retrieved.

    It takes only those two, so it cannot peek at the story's truth fields even by accident.

    >>> judge("Open Settings [doc:101].", (101, 102, 103))
    Judgement(grounded=True, refusal=True, format=True, pii=True, passed=True)
    >>> judge("Open Settings [doc:950].", ()).grounded      # a made-up citation
    False
    """
    cited = traffic.cited_docs(answer)
    lowered = answer.lower()
    grounded = bool(cited) and set(cited) <= set(retrieved_docs)
    refusal = not any(phrase in lowered for phrase in REFUSALS)
    form = (20 <= len(answer) <= MAX_ANSWER_CHARS and answer.rstrip()[-1:] in ".!?"
            and answer.count("[doc") == len(cited))
    pii = not PII.search(answer)
    return Judgement(grounded, refusal, form, pii, grounded and refusal and form and pii)


def judge_all(requests: Sequence[traffic.Request]) -> list[Judgement]:
    """Judge many answers, each from its answer text and retrieved documents only."""
    return [judge(r.answer, r.retrieved_docs) for r in requests]


# ── 2. evaluate the evaluator: each judge scored against the story's truth ──────────────────────

@dataclass(frozen=True)
class JudgeScore:
    """How well a judge's "fail" finds truly bad answers (a real team gets the truth by labelling)."""
    name: str
    truth: str          # what counts as truly bad for this judge
    labelled: int       # answers labelled
    fails: int          # answers the judge failed
    true_fails: int     # ... of which truly bad
    bad: int            # truly bad answers

    @property
    def precision(self) -> float | None:
        """Of the answers the judge failed, the share truly bad: is its alarm worth anything?"""
        return self.true_fails / self.fails if self.fails else None

    @property
    def recall(self) -> float | None:
        """Of the truly bad answers, the share the judge failed: what does it miss?"""
        return self.true_fails / self.bad if self.bad else None


def score_judges(labelled: Sequence[tuple[Judgement, bool, bool]]) -> list[JudgeScore]:
    """Score every judge, and the combined one, on (verdict, truly grounded, truly acceptable)
    triples: the grounded judge against groundedness, the others against acceptability."""
    scores = []
    for name in (*JUDGES, "combined"):
        truth = "not grounded" if name == "grounded" else "not acceptable"
        fails = true_fails = bad = 0
        for verdict, grounded, acceptable in labelled:
            failed = not getattr(verdict, "passed" if name == "combined" else name)
            truly_bad = not grounded if name == "grounded" else not acceptable
            fails += failed
            bad += truly_bad
            true_fails += failed and truly_bad
        scores.append(JudgeScore(name, truth, len(labelled), fails, true_fails, bad))
    return scores


# ── 3. the offline gate: a golden set from before the launch, scored by the same judges ─────────

def golden_set(requests: Sequence[traffic.Request], scenario: traffic.Scenario, before_s: float,
               per_topic: int = GOLDEN_PER_TOPIC) -> list[traffic.Request]:
    """The golden set a learner wrote down before the launch: for every pre-launch topic,
    `per_topic` interactive questions the service answered before `before_s`, with its answers.

    Drawn from the story itself, so the gate scores the very service behaviour that then runs
    live. Chosen by hash, from the top of the hash range (trace_fraction nearest 1): spread over
    the whole pre-launch period, the same on every run, and outside the random part of the live
    sample at any sensible rate, so offline and online are two independent samples. The launched
    topic cannot be in it: nobody asked about SmartSync before SmartSync existed.
    """
    by_topic: dict[str, list[traffic.Request]] = {topic: [] for topic, _ in scenario.topics}
    for r in requests[:bisect.bisect_left(requests, before_s, key=lambda r: r.ts)]:
        if r.ok and r.priority == "interactive" and r.topic in by_topic:
            by_topic[r.topic].append(r)
    cases = []
    for answered in by_topic.values():
        # the hex digits trace_fraction reads sort as the number does: highest fraction first
        cases += heapq.nlargest(per_topic, answered, key=lambda r: r.trace_id[-16:])
    return sorted(cases, key=lambda r: r.ts)


# ── 4. sampling live traffic, and estimating honestly from the sample ───────────────────────────

class Sampled(NamedTuple):
    """One kept answer. `weight` = 1 / (its chance of being kept): the Horvitz-Thompson weight.
    `by_chance`: kept by the random part of the sampler (a uniform sample of all answers), as
    opposed to kept only because the user clicked thumbs-down (a biased slice)."""
    request: traffic.Request
    verdict: Judgement
    weight: float
    by_chance: bool


def hash_sample(requests: Sequence[traffic.Request],
                rate: float) -> list[tuple[traffic.Request, float, bool]]:
    """Keep an answer when trace_fraction(trace_id) < rate, and every answer with a thumbs-down.

    Deterministic by a hash of the trace id (as LangSmith and Langfuse sample online evaluators):
    every run, every process, every service keeps the same traces. A thumbs-down answer is kept
    with probability 1, any other with probability `rate`: their weights are 1 and 1 / rate.
    Returns (request, weight, by_chance) triples.
    """
    kept = []
    for r in requests:
        chance = trace_fraction(r.trace_id) < rate
        down = r.feedback == "down"
        if chance or down:
            kept.append((r, 1.0 if down else 1.0 / rate, chance))
    return kept


def reservoir(items, k: int, rng: random.Random) -> list:
    """Algorithm R (Vitter 1985, after Waterman): a uniform sample of k items from a stream of
    unknown length, in one pass and O(k) memory. Keep the first k; item i (0-based) then replaces
    slot j = randrange(i + 1) when j < k. Every item ends up kept with probability k / n.

    >>> reservoir(range(3), 5, random.Random(1))         # fewer items than slots: all kept
    [0, 1, 2]
    """
    kept = []
    for i, item in enumerate(items):
        if i < k:
            kept.append(item)
        else:
            j = rng.randrange(i + 1)
            if j < k:
                kept[j] = item
    return kept


def reservoir_sample(requests: Sequence[traffic.Request], per_hour: int,
                     seed: int) -> list[tuple[traffic.Request, float, bool]]:
    """A reservoir of `per_hour` answers in every hour (a fixed evaluation budget whatever the
    traffic does), plus every thumbs-down. In an hour of n answers each is kept with chance
    per_hour / n, so an answer without a thumbs-down weighs n / per_hour; a thumbs-down weighs 1."""
    rng = random.Random(f"lab3 reservoir {seed}")     # salted: not the story generator's stream
    hours: dict[int, list[traffic.Request]] = {}
    for r in requests:
        hours.setdefault(int(r.ts // 3600), []).append(r)
    kept = []
    for hour in sorted(hours):
        answers = hours[hour]
        chosen = {r.trace_id for r in reservoir(answers, per_hour, rng)}
        weight = max(1.0, len(answers) / per_hour)
        for r in answers:
            chance = r.trace_id in chosen
            down = r.feedback == "down"
            if chance or down:
                kept.append((r, 1.0 if down else weight, chance))
    return kept


def weighted_pass_rate(items: Sequence[Sampled]) -> tuple[float, float]:
    """The estimated pass rate of all answers, and the effective sample size behind it.

    Hajek's ratio form of the Horvitz-Thompson estimator: sum(w * passed) / sum(w). Counting every
    kept answer once instead would let the over-sampled thumbs-down slice drag the rate down.
    Kish's effective sample size (Survey Sampling, 1965): n_eff = (sum w)^2 / sum w^2; unequal
    weights buy less certainty than the raw count suggests.
    """
    total = sum(s.weight for s in items)
    if not total:
        return math.nan, 0.0
    passed = sum(s.weight for s in items if s.verdict.passed)
    return passed / total, total * total / sum(s.weight ** 2 for s in items)


def estimate(items: Sequence[Sampled]) -> float | None:
    """The weighted pass rate, or None when fewer than MIN_SAMPLES answers were kept by chance:
    thumbs-down answers alone say nothing about the answers nobody rated."""
    if sum(s.by_chance for s in items) < MIN_SAMPLES:
        return None
    return weighted_pass_rate(items)[0]


# ── 5. statistics, from the standard library only ───────────────────────────────────────────────

# ── 6. sequential detectors on the 0/1 pass stream ──────────────────────────────────────────────

class BernoulliCusum:
    """CUSUM (Page 1954) for a 0/1 stream: the log-likelihood ratio form of Reynolds & Stoumbos
    (1999). Each answer adds ln(p1/p0) if it failed, ln((1-p1)/(1-p0)) if it passed; the sum is
    floored at 0, and an alarm sounds when it exceeds h.

    Scaled to the stream: p0 is the live fail rate before, p1 = p0 + SHIFT the rate worth an alarm,
    h = ln(10,000) keeps the run between false alarms above ~10,000 answers (Lorden's bound
    ARL0 >= e^h). The textbook k = 0.5 sigma, h = 5 sigma assumes a normal stream: on answers that
    fail 5 % of the time, two fails a few answers apart would cross it (see NormalCusum).
    """
    name, short = "CUSUM, Bernoulli (scaled)", "CUSUM"

    def __init__(self, fail_rate: float, shift: float = SHIFT, h: float = math.log(10_000)):
        p0 = min(max(fail_rate, 0.005), 0.9)
        p1 = min(p0 + shift, 0.99)
        self.on_fail, self.on_pass = math.log(p1 / p0), math.log((1 - p1) / (1 - p0))
        self.threshold, self.level = h, 0.0

    def update(self, failed: bool) -> bool:
        """Add one answer; True when the detector alarms (it then starts over)."""
        self.level = max(0.0, self.level + (self.on_fail if failed else self.on_pass))
        if self.level > self.threshold:
            self.level = 0.0
            return True
        return False


class NormalCusum:
    """The textbook tabular CUSUM for a normal stream (Montgomery, Introduction to Statistical
    Quality Control): standardize each value, S = max(0, S + z - k), alarm when S > h, with
    k = 0.5 and h = 5 in units of sigma. Kept here to show it misfiring on a 0/1 stream: with a
    5 % fail rate one fail is a 4.4-sigma jump, and two fails a few answers apart cross h."""
    name, short = "CUSUM, normal k, h (unscaled)", "the unscaled CUSUM"

    def __init__(self, fail_rate: float, k: float = 0.5, h: float = 5.0):
        self.mean = min(max(fail_rate, 0.005), 0.9)
        self.sigma = math.sqrt(self.mean * (1 - self.mean))
        self.k, self.threshold, self.level = k, h, 0.0

    def update(self, failed: bool) -> bool:
        """Add one answer; True when the detector alarms (it then starts over)."""
        z = ((1.0 if failed else 0.0) - self.mean) / self.sigma
        self.level = max(0.0, self.level + z - self.k)
        if self.level > self.threshold:
            self.level = 0.0
            return True
        return False


class PageHinkley:
    """Page-Hinkley test (Page 1954; Hinkley 1971), after river's PageHinkley, for a rise in the
    fail rate: m_t = alpha m_(t-1) + (x_t - mean_t - delta), mean_t the running mean; alarm when
    m_t - min m > threshold, after at least min_instances answers. It learns its mean from the
    stream, so `fail_rate` is unused (kept so every detector is built the same way).

    river's defaults (delta 0.005, threshold 50) are in raw units that suit a metric of size ~100;
    on a 0/1 stream a threshold of 50 means fifty fails beyond the mean. Scaled to the stream:
    delta = SHIFT / 2 (half the drop worth an alarm, as CUSUM's k) and threshold = 5 fails.
    """
    name, short = "Page-Hinkley (scaled)", "Page-Hinkley"

    def __init__(self, fail_rate: float = 0.0, delta: float = SHIFT / 2, threshold: float = 5.0,
                 min_instances: int = 30, alpha: float = 0.9999):
        self.delta, self.threshold, self.alpha = delta, threshold, alpha
        self.min_instances = min_instances
        self._reset()

    def _reset(self) -> None:
        self.n, self.mean, self.sum, self.minimum, self.level = 0, 0.0, 0.0, 0.0, 0.0

    def update(self, failed: bool) -> bool:
        x = 1.0 if failed else 0.0
        self.n += 1
        self.mean += (x - self.mean) / self.n
        self.sum = self.alpha * self.sum + (x - self.mean - self.delta)
        self.minimum = min(self.minimum, self.sum)
        self.level = self.sum - self.minimum
        if self.n >= self.min_instances and self.level > self.threshold:
            self._reset()
            return True
        return False


class RiverPageHinkley(PageHinkley):
    """Page-Hinkley with river's defaults in raw units (delta 0.005, threshold 50): the trap."""
    name, short = "Page-Hinkley, river (unscaled)", "river's Page-Hinkley"

    def __init__(self, fail_rate: float = 0.0):
        super().__init__(fail_rate, delta=0.005, threshold=50.0)


# The --detector choices: two scaled to the 0/1 pass stream, and the two unscaled traps.
DETECTORS = {"cusum": BernoulliCusum, "page-hinkley": PageHinkley,
             "cusum-normal": NormalCusum, "page-hinkley-river": RiverPageHinkley}


# ── 7. drift, window by window, against the reference hour and the offline gate ─────────────────

WINDOW_TESTS = (
    ("pass rate vs gate, z-test", "pass"),
    ("topic mix, chi-square", "topic_chi2"),
    ("topic mix, PSI > 0.25", "topic_psi"),
    ("prompt tokens, KS", "tokens_ks"),
    ("prompt tokens, PSI > 0.25", "tokens_psi"),
    ("prompt tokens, PSI > noise", "tokens_psi_bound"),
)


@dataclass(frozen=True)
class DriftWindow:
    """One drift window: its numbers, and which tests alarmed. None = insufficient data."""
    start_s: float
    end_s: float
    random_n: int                   # answers kept by chance: the uniform sample the tests use
    kept: int                       # all kept answers, thumbs-down included
    pass_rate: float | None = None          # the weighted estimate (Hajek)
    n_eff: float = 0.0                      # Kish's effective sample size behind it
    wilson: tuple[float, float] | None = None
    z: float | None = None                  # two-proportion z of this window against the gate
    topic_psi: float | None = None
    topic_p: float | None = None            # chi-square p-value of the topic mix vs the reference
    tokens_ks: float | None = None
    tokens_p: float | None = None           # KS p-value of prompt tokens vs the reference
    tokens_psi: float | None = None
    tokens_psi_bound: float | None = None   # the PSI that noise alone exceeds with chance ALPHA
    alarms: tuple[str, ...] = ()            # the keys of WINDOW_TESTS that alarmed

    @property
    def insufficient(self) -> bool:
        return self.random_n < MIN_SAMPLES


def _bins(reference_tokens: Sequence[int]) -> list[int]:
    """The cut points of TOKEN_BINS equally filled bins of the reference (its deciles)."""
    deciles = (nearest_rank(reference_tokens, 100 * i / TOKEN_BINS) for i in range(1, TOKEN_BINS))
    return sorted(set(deciles))


def bin_counts(values: Sequence[int], cuts: Sequence[int]) -> list[int]:
    counts = [0] * (len(cuts) + 1)
    for v in values:
        counts[bisect.bisect_left(cuts, v)] += 1
    return counts


def drift_window(items: Sequence[Sampled], start_s: float, end_s: float,
                 reference: Sequence[Sampled], topics: Sequence[str], gate: tuple[int, int]) -> DriftWindow:
    """Every test of one window. Only answers kept by chance enter the distribution tests: the
    thumbs-down extras are a biased slice (unhappy users ask about the broken topic more)."""
    chance = [s for s in items if s.by_chance]
    if len(chance) < MIN_SAMPLES or len(reference) < MIN_SAMPLES:
        return DriftWindow(start_s, end_s, len(chance), len(items))      # insufficient data: no alarm
    alarms = []
    rate, n_eff = weighted_pass_rate(items)
    z, _ = two_proportion_z(rate * n_eff, n_eff, *gate)
    if NormalDist().cdf(z) < ALPHA:             # one-sided: is the window below the gate?
        alarms.append("pass")

    ref_topics = Counter(s.request.topic for s in reference)
    win_topics = Counter(s.request.topic for s in chance)
    ref_mix, win_mix = [ref_topics[t] for t in topics], [win_topics[t] for t in topics]
    topic_psi = psi(ref_mix, win_mix)
    _, _, topic_p = chi_square([ref_mix, win_mix])
    alarms += ["topic_chi2"] * (topic_p < ALPHA) + ["topic_psi"] * (topic_psi > PSI_RULE)

    ref_tokens = [s.request.prompt_tokens for s in reference]
    win_tokens = [s.request.prompt_tokens for s in chance]
    ks, ks_p = ks_2samp(ref_tokens, win_tokens)
    cuts = _bins(ref_tokens)
    tokens_psi = psi(bin_counts(ref_tokens, cuts), bin_counts(win_tokens, cuts))
    bound = psi_noise_bound(len(ref_tokens), len(win_tokens), len(cuts) + 1, ALPHA)
    alarms += (["tokens_ks"] * (ks_p < ALPHA) + ["tokens_psi"] * (tokens_psi > PSI_RULE)
               + ["tokens_psi_bound"] * (tokens_psi > bound))
    return DriftWindow(start_s, end_s, len(chance), len(items), rate, n_eff,
                  wilson_interval(rate * n_eff, n_eff), z, topic_psi, topic_p, ks, ks_p,
                  tokens_psi, bound, tuple(alarms))


@dataclass(frozen=True)
class Detection:
    """How one detector did against the story's drift: the numbers the SRE Workbook asks of an
    alert (detection time, precision), here as the first alarm after the drift and the alarms
    before it."""
    name: str
    first_alarm_s: float | None     # the first alarm at or after the drift began
    false_alarms: int               # alarms before the drift began
    insufficient: int = 0           # windows that could not be judged

    def delay_s(self, drift_start_s: float | None) -> float | None:
        if self.first_alarm_s is None or drift_start_s is None:
            return None
        return self.first_alarm_s - drift_start_s


def score_alarms(name: str, alarm_times: Sequence[float], drift_start_s: float | None,
                 insufficient: int = 0) -> Detection:
    """An alarm whose evidence all came before the drift began is a false alarm; the first one
    after it is the detection. (A window alarms at its end, when its data is complete.)"""
    start = math.inf if drift_start_s is None else drift_start_s
    false = sum(t <= start for t in alarm_times)
    first = next((t for t in alarm_times if t > start), None)
    return Detection(name, first, false, insufficient)


def run_sequential(detector, stream: Sequence[Sampled]) -> tuple[list[float], list[float]]:
    """Feed the 0/1 fail stream to a detector: (alarm times, its level after every answer)."""
    alarms, levels = [], []
    for s in stream:
        if detector.update(not s.verdict.passed):
            alarms.append(s.request.ts)
        levels.append(detector.level)
    return alarms, levels


# ── 8. the slice that drives the drop, and the regression cases it calls for ────────────────────

@dataclass(frozen=True)
class Slice:
    topic: str
    share: float            # of answers after the drift began (weighted)
    pass_rate: float        # its pass rate after the drift began
    points_lost: float      # share x (pass rate before - its pass rate): they sum to the drop


def slices(before: Sequence[Sampled], after: Sequence[Sampled],
           topics: Sequence[str]) -> list[Slice]:
    """Which topic drives the drop? Split the drop of the overall pass rate into one term per
    topic: share_t x (pass before - pass_t after). The terms sum to the whole drop exactly
    (the shares sum to 1), so the largest term names the slice to look at first."""
    pass_before, _ = weighted_pass_rate(before)
    total = sum(s.weight for s in after)
    rows = []
    for topic in topics:
        mine = [s for s in after if s.request.topic == topic]
        if mine:
            rate, _ = weighted_pass_rate(mine)
            share = sum(s.weight for s in mine) / total
            rows.append(Slice(topic, share, rate, share * (pass_before - rate)))
    return sorted(rows, key=lambda row: (-row.points_lost, row.topic))


@dataclass(frozen=True)
class RegressionCase:
    """A failed live answer turned into a golden-set case: the input, and the check it must pass."""
    prompt: str
    check: str


CHECKS = {"grounded": "cites a retrieved document", "refusal": "not a refusal",
          "format": "a well-formed answer", "pii": "no personal data"}


def regression_cases(after: Sequence[Sampled], topic: str, limit: int = 5) -> list[RegressionCase]:
    """The distinct questions of the slice whose live answers failed, with the check they failed:
    the cases to add to the golden set so the next gate sees this drift (lab 5's flywheel).
    A prompt carrying personal data or control characters is skipped: not in a test set."""
    cases, seen = [], set()
    for s in after:
        prompt = s.request.prompt
        if (s.request.topic == topic and not s.verdict.passed and prompt not in seen
                and prompt.isprintable() and not PII.search(prompt)):
            seen.add(prompt)
            failed = next(name for name in JUDGES if not getattr(s.verdict, name))
            cases.append(RegressionCase(prompt, CHECKS[failed]))
    return cases[:limit]


# ── run: the whole lab on the story ─────────────────────────────────────────────────────────────

@dataclass(frozen=True)
class Result:
    sample_rate: float
    reservoir_per_hour: int | None
    window_s: float
    detector: str
    drift_start_s: float | None
    answered: int                       # answered requests (a failed one has no answer to judge)
    kept: int                           # answers kept by the sampler
    kept_by_chance: int
    kept_for_feedback: int              # kept only because of a thumbs-down
    chance_weight: float                # the weight of an answer kept by chance (1 / rate)
    golden_cases: int
    golden_passed: int
    gate_threshold: float
    judges: tuple[JudgeScore, ...]
    online_before: float | None         # weighted pass rate before the drift began
    online_after: float | None          # ... and after
    naive_after: float | None           # every kept answer counted once: biased by the thumbs-down
    windows: tuple[DriftWindow, ...]
    detections: tuple[Detection, ...]   # the window tests, then the sequential detectors
    sequential_levels: tuple[float, ...]  # the chosen detector's level, answer by answer
    sequential_threshold: float
    psi_trap: tuple[tuple[int, float], ...]   # (n, P(PSI > 0.25)) for two samples of n, no drift
    slices: tuple[Slice, ...]
    regression: tuple[RegressionCase, ...]

    @property
    def gate_pass_rate(self) -> float:
        return self.golden_passed / self.golden_cases if self.golden_cases else math.nan

    @property
    def gate_interval(self) -> tuple[float, float]:
        """The gate's pass rate is a sample too: its 95 % Wilson interval."""
        return wilson_interval(self.golden_passed, self.golden_cases)

    @property
    def gate_passed(self) -> bool:
        return self.golden_cases > 0 and self.gate_pass_rate >= self.gate_threshold

    def detection(self, name: str) -> Detection:
        return next(d for d in self.detections if d.name == name)


def run(requests: Sequence[traffic.Request] | None = None, *, seed: int = traffic.DEFAULT_SEED,
        scenario: traffic.Scenario = traffic.STORY, sample_rate: float = SAMPLE_RATE,
        window_min: int = WINDOW_MIN, detector: str = "cusum",
        reservoir_per_hour: int | None = None) -> Result:
    """The lab on the story: gate offline, sample and judge live answers, look for drift."""
    if not 0.0 <= sample_rate <= 1.0:
        raise ValueError(f"sample rate must be between 0 and 1, not {sample_rate}")
    if window_min <= 0:
        raise ValueError(f"window must be at least 1 minute, not {window_min}")
    if detector not in DETECTORS:
        raise ValueError(f"unknown detector {detector!r}: choose one of {', '.join(DETECTORS)}")
    if reservoir_per_hour is not None and reservoir_per_hour <= 0:
        raise ValueError("a reservoir needs at least one slot per hour")
    if requests is None:
        requests = traffic.generate(seed=seed, scenario=scenario)
    drift = next((i for i in scenario.incidents if i.kind == "drift"), None)
    drift_start = drift.start_s if drift else None
    launch = drift_start if drift_start is not None else scenario.duration_s   # none: all "before"
    topics = [t for t, _ in scenario.topics] + [scenario.launch_topic]

    # 1. the offline gate
    golden = golden_set(requests, scenario, before_s=launch)
    golden_passed = sum(v.passed for v in judge_all(golden))

    # 2. sample the live answers and judge the kept ones (failed requests have no answer to judge)
    answered = [r for r in requests if r.ok]
    if reservoir_per_hour:
        picked = reservoir_sample(answered, reservoir_per_hour, seed)
    else:
        picked = hash_sample(answered, sample_rate)
    verdicts = judge_all([r for r, _, _ in picked])
    kept = [Sampled(r, v, w, chance) for (r, w, chance), v in zip(picked, verdicts)]
    chance = [s for s in kept if s.by_chance]
    judges = score_judges([(s.verdict, s.request.grounded, s.request.acceptable) for s in chance])

    before = [s for s in kept if s.request.ts < launch]
    after = [s for s in kept if s.request.ts >= launch]
    naive = sum(s.verdict.passed for s in after) / len(after) if after else None

    # 3. drift windows from the end of the reference hour
    reference = [s for s in chance if s.request.ts < REFERENCE_S]
    window_s = window_min * 60.0
    edges = [REFERENCE_S + i * window_s
             for i in range(math.ceil((scenario.duration_s - REFERENCE_S) / window_s) + 1)]
    edges[-1] = min(edges[-1], scenario.duration_s)
    times = [s.request.ts for s in kept]
    windows = []
    for lo, hi in zip(edges, edges[1:]):
        items = kept[bisect.bisect_left(times, lo):bisect.bisect_left(times, hi)]
        windows.append(drift_window(items, lo, hi, reference, topics, (golden_passed, len(golden))))
    short = sum(w.insufficient for w in windows)
    detections = [score_alarms(name, [w.end_s for w in windows if key in w.alarms], drift_start,
                               short) for name, key in WINDOW_TESTS]

    # 4. sequential detectors on the random sample's 0/1 stream, scaled by the reference fail rate
    stream = [s for s in chance if s.request.ts >= REFERENCE_S]
    fail_rate = 1 - sum(s.verdict.passed for s in reference) / len(reference) if reference else 0.05
    levels: list[float] = []
    threshold = 0.0
    for key, make in DETECTORS.items():
        machine = make(fail_rate)
        alarms, trace = run_sequential(machine, stream if len(reference) >= MIN_SAMPLES else [])
        detections.append(score_alarms(machine.name, alarms, drift_start))
        if key == detector:
            levels, threshold = trace, machine.threshold

    # 5. the slice that drives the drop, and what to add to the golden set
    online_before, online_after = estimate(before), estimate(after)
    enough = online_before is not None and online_after is not None
    cuts = slices(before, after, topics) if enough else []
    regression = regression_cases(after, cuts[0].topic) if cuts else []

    # 6. the small-sample trap: how often noise alone crosses the fixed PSI rule
    trap = tuple((n, psi_false_alarm_chance(PSI_RULE, n, n, TOKEN_BINS)) for n in (50, 100, 1000))
    if reservoir_per_hour:
        chance_weight = math.nan                # it varies hour by hour: n / k
    else:
        chance_weight = 1 / sample_rate if sample_rate else math.inf
    return Result(
        sample_rate=sample_rate, reservoir_per_hour=reservoir_per_hour, window_s=window_s,
        detector=detector, drift_start_s=drift_start,
        answered=len(answered), kept=len(kept), kept_by_chance=len(chance),
        kept_for_feedback=len(kept) - len(chance), chance_weight=chance_weight,
        golden_cases=len(golden), golden_passed=golden_passed, gate_threshold=GATE_THRESHOLD,
        judges=tuple(judges), online_before=online_before, online_after=online_after,
        naive_after=naive, windows=tuple(windows), detections=tuple(detections),
        sequential_levels=tuple(levels), sequential_threshold=threshold, psi_trap=trap,
        slices=tuple(cuts), regression=tuple(regression))


# ── report: the lab's screen ────────────────────────────────────────────────────────────────────

def _range(interval: tuple[float, float]) -> str:
    return f"{100 * interval[0]:.1f}-{100 * interval[1]:.1f} %"


def _minutes(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 60:.1f} min"


def _sampler(result: Result) -> str:
    if result.reservoir_per_hour:
        return f"{result.kept_by_chance:,} by reservoir, {result.reservoir_per_hour}/h (weight n/k)"
    weight = "-" if math.isinf(result.chance_weight) else f"{result.chance_weight:.1f}"
    return f"{result.kept_by_chance:,} by hash at {percent(result.sample_rate, 0)} (weight {weight})"


def chosen_detector(result: Result) -> tuple[Detection, str]:
    """The --detector's detection, and its short name."""
    detector = DETECTORS[result.detector]
    return result.detection(detector.name), detector.short


def report(result: Result) -> str:
    """The lab's screen: the gate, the sample, the judges, the detectors, the lesson."""
    drift = "-" if result.drift_start_s is None else traffic.clock(result.drift_start_s)
    verdict = "PASSED" if result.gate_passed else "FAILED"
    lines = [
        f"Offline gate: {result.golden_cases} golden cases (pre-launch topics) pass "
        f"{percent(result.gate_pass_rate)} >= {percent(result.gate_threshold, 0)}: {verdict}",
        f"Live sample: {result.kept:,} of {result.answered:,} answers kept",
        f"  {_sampler(result)} + {result.kept_for_feedback:,} thumbs-down only (weight 1)",
        f"  pass rate after {drift}: {percent(result.online_after)} weighted; "
        f"{percent(result.naive_after)} counting each kept one once",
        f"Judges vs the truth on the {result.kept_by_chance:,} random answers "
        "(evaluate the evaluator):",
    ]
    rows = [(j.name, f"{j.fails:,}", percent(j.precision), percent(j.recall), f"{j.bad:,} {j.truth}")
            for j in result.judges]
    lines += ["  " + line for line in table(
        rows, ("judge", "fails", "precision", "recall", "truly bad")).splitlines()]

    head = (f"Pass rate per {result.window_s / 60:g} min from {traffic.clock(REFERENCE_S)} "
            f"(gate {percent(result.gate_pass_rate)}): ")
    rates = [w.pass_rate for w in result.windows]
    lines.append(head + sparkline(squeeze(rates, 79 - len(head), how=min), low=0.5, high=1.0))
    below = next((w for w in result.windows if "pass" in w.alarms), None)
    if below is not None:
        lines.append(f"  first below: {traffic.clock(below.start_s)}-{traffic.clock(below.end_s)} "
                     f"{percent(below.pass_rate)}, 95 % Wilson {_range(below.wilson)} "
                     f"(gate {_range(result.gate_interval)})")
    lines.append(f"Drift detectors, scored against the drift that began at {drift}:")
    rows = []
    chosen, _ = chosen_detector(result)
    for d in result.detections:
        if d.first_alarm_s is not None:
            first = traffic.clock(d.first_alarm_s)
        else:
            no_data = d.insufficient and d.insufficient == len(result.windows)
            first = "no data" if no_data else "never"
        rows.append((d.name + (" *" if d is chosen else ""), first,
                     _minutes(d.delay_s(result.drift_start_s)), f"{d.false_alarms}"))
    lines += ["  " + line for line in table(
        rows, ("detector (* = --detector)", "alarm", "delay", "false alarms")).splitlines()]
    short = result.detections[0].insufficient
    if short:
        lines.append(f"  {short} of {len(result.windows)} windows had < {MIN_SAMPLES} random "
                     "answers: insufficient data, no alarm")
    (n1, p1), (n2, p2), (n3, p3) = result.psi_trap
    lines.append(f"PSI > {PSI_RULE} by noise alone ({TOKEN_BINS} bins): {percent(p1, 0)} at n = {n1}, "
                 f"{percent(p2, 0)} at {n2}, {percent(p3, 0)} at {n3:,}")
    return "\n".join(lines + _lesson(result))


def _wrap(text: str) -> list[str]:
    """Wrap a sentence to the screen, never splitting a number from its unit ("69.5 %")."""
    glued = re.sub(r"(\d) (%|min\b|points?\b)", "\\1\u00a0\\2", text)
    return [line.replace("\u00a0", " ") for line in
            textwrap.wrap(glued, width=79, subsequent_indent="  ", break_on_hyphens=False)]


def _lesson(result: Result) -> list[str]:
    """The lesson in numbers: gate, online rate, detection delay, slice, regression cases."""
    chosen, short = chosen_detector(result)
    delay = chosen.delay_s(result.drift_start_s)
    fired = (f"{short} fired {_minutes(delay)} after the drift began" if delay is not None
             else f"{short} never fired")
    online = (f"online, the pass rate fell to {percent(result.online_after)} after the launch"
              if result.online_after is not None else "online, too few random answers to tell")
    text = f"Lesson: the offline gate passed at {percent(result.gate_pass_rate)}; {online}; {fired}"
    if not result.slices:
        return _wrap(text + "; no slice: insufficient data.")
    top = result.slices[0]
    drop = sum(s.points_lost for s in result.slices)
    lines = _wrap(f"{text}; the slice is topic {top.topic}: {percent(top.share, 0)} of answers, "
                  f"{percent(top.pass_rate)} pass, {100 * top.points_lost:.1f} of the "
                  f"{100 * drop:.1f}-point drop.")
    if result.regression:
        checks = " / ".join(sorted({case.check for case in result.regression}))
        lines += _wrap(f'Add to the golden set (lab 5), each to pass "{checks}":')
        for case in result.regression:
            lines.append(f'  "{textwrap.shorten(case.prompt, width=74, placeholder=" ...")}"')
    return lines


# ── main ────────────────────────────────────────────────────────────────────────────────────────

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Online evaluation on sampled live traffic: the offline gate passes, the launch "
                    "of a new topic drifts the answers, and online judges and drift detectors "
                    "catch it.",
        epilog="examples:  --sample-rate 0.02   --window 5   --detector cusum-normal   "
               "--reservoir 360")
    parser.add_argument("--sample-rate", type=fraction, default=SAMPLE_RATE, metavar="RATE",
                        help=f"share of answers kept by trace-id hash, 0 to 1 "
                             f"(default {SAMPLE_RATE}); every thumbs-down is kept as well")
    parser.add_argument("--window", type=positive_int, default=WINDOW_MIN, metavar="MINUTES",
                        help=f"minutes per drift window (default {WINDOW_MIN})")
    parser.add_argument("--detector", choices=tuple(DETECTORS), default="cusum",
                        help="the sequential detector on the pass stream (default cusum); the "
                             "-normal and -river ones are unscaled, to show the trap")
    parser.add_argument("--reservoir", type=positive_int, metavar="N",
                        help="sample N answers an hour by reservoir sampling (Algorithm R) "
                             "instead of by hash")
    parser.add_argument("--seed", type=non_negative_int, default=traffic.DEFAULT_SEED,
                        help="seed of the story and the reservoir "
                             f"(default {traffic.DEFAULT_SEED})")
    args = parser.parse_args(argv)
    result = run(seed=args.seed, sample_rate=args.sample_rate, window_min=args.window,
                 detector=args.detector, reservoir_per_hour=args.reservoir)
    print(report(result))
    return 0


if __name__ == "__main__":
    run_cli(main)
