"""Sampling live traffic for online evaluation: which answers to judge, and what each one weighs.

    hash_sample(requests, rate)              keep a trace when its hash falls under the rate, plus
                                             every thumbs-down (LangSmith, Langfuse sample so)
    reservoir(items, k, rng)                 Algorithm R: a uniform sample of k from a stream
    reservoir_sample(requests, per_hour, s)  a fixed budget of answers every hour, plus thumbs-down

Each returns (request, weight, by_chance) triples: weight = 1 / the chance of being kept (the
Horvitz-Thompson weight); by_chance says whether the random part kept it (a uniform sample), as
opposed to a thumbs-down alone (a biased slice). Once judged, a kept answer is a `Sampled`, and
`weighted_pass_rate` and `estimate` say what the sample says of all the answers, and `slices`
which topic drives a drop.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import NamedTuple, Sequence

from solution import traffic
from solution.judges import Judgement
from solution.numeric import trace_fraction
from solution.stattests import weighted_mean


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


class Sampled(NamedTuple):
    """One kept answer. `weight` = 1 / (its chance of being kept): the Horvitz-Thompson weight.
    `by_chance`: kept by the random part of the sampler (a uniform sample of all answers), as
    opposed to kept only because the user clicked thumbs-down (a biased slice)."""
    request: traffic.Request
    verdict: Judgement
    weight: float
    by_chance: bool


def weighted_pass_rate(items: Sequence[Sampled]) -> tuple[float, float]:
    """The estimated pass rate of all answers, and the effective sample size behind it: each kept
    answer weighs 1 / its chance of being kept (stattests.weighted_mean: Hajek, Kish). Counting
    every kept answer once instead lets the over-sampled thumbs-down slice drag the rate down."""
    return weighted_mean([s.verdict.passed for s in items], [s.weight for s in items])


def estimate(items: Sequence[Sampled], least: int = 30) -> float | None:
    """The weighted pass rate, or None when fewer than `least` answers were kept by chance:
    thumbs-down answers alone say nothing about the answers nobody rated."""
    if sum(s.by_chance for s in items) < least:
        return None
    return weighted_pass_rate(items)[0]


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
            rows.append(Slice(topic=topic, share=share, pass_rate=rate,
                              points_lost=share * (pass_before - rate)))
    return sorted(rows, key=lambda row: (-row.points_lost, row.topic))
