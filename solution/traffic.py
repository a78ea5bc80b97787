"""The shared story: a seeded fake-traffic generator for an AI support assistant.

What service are we operating?  A retrieval-augmented support assistant for a fictional product,
used by four tenants: three interactive ones (a person waits for each answer) and one batch tenant
(summaries made in bulk). Each request passes through four stages, the spans of its trace:

    gateway ── retrieval (vector store) ── llm (model provider) ── guardrail (output checks)

The generator knows the truth of every request (was the answer grounded? acceptable?) and the truth
of every incident window, so that each lab can score its own detectors against ground truth:
something a real system never gives you.

    >>> from solution.traffic import generate, STORY
    >>> requests = generate(seed=7)
    >>> len(requests) > 20_000, requests[0].ts <= requests[1].ts
    (True, True)

Run it to see the story:  python3 solution/traffic.py [--seed N]

Determinism: every random draw comes from one `random.Random(seed)`; time is the simulated clock,
seconds since the scenario start. The same seed gives the same list in any process.

Remember: a lab is only as honest as its traffic; here the traffic tells the truth, so every lab can
say how often it was right.
"""

from __future__ import annotations

import argparse
import bisect
import gc
import itertools
import math
import random
import re
import sys
import textwrap
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Callable, NamedTuple

DEFAULT_SEED = 7


# ── the shape of the story ──────────────────────────────────────────────────────────────────────

@dataclass(frozen=True)
class Tenant:
    name: str
    priority: str          # "interactive" (a person waits) or "batch" (bulk work, can wait)
    rate_rps: float        # baseline requests per second


@dataclass(frozen=True)
class Incident:
    """One ground-truth window of the story and what it does to the traffic.

    kind    what the generator changes inside [start_s, end_s):
            "latency"  the model provider's time to first token and per-token time x factor
            "errors"   a share `factor` of requests fail at `stage` with `error_type`
            "traffic"  tenant `tenant` sends `factor` times its baseline rate
            "drift"    from start_s, a share `factor` of interactive requests ask about the
                       launched topic, which the retriever has no documents for
    signals the golden signals (or "quality") the window is meant to move: the truth detectors
            are scored against
    page    True for a real incident that deserves a human; False for a short blip (noise)
    """
    name: str
    kind: str
    start_s: float
    end_s: float
    factor: float
    signals: tuple[str, ...]
    page: bool
    description: str
    tenant: str | None = None
    stage: str | None = None
    error_type: str | None = None
    status: int | None = None

    def covers(self, ts: float) -> bool:
        return self.start_s <= ts < self.end_s


@dataclass(frozen=True)
class Scenario:
    name: str
    duration_s: float
    epoch: str                      # the wall-clock instant of ts = 0, RFC 3339 UTC (for logs)
    tenants: tuple[Tenant, ...]
    topics: tuple[tuple[str, float], ...]   # pre-launch topics and their weights
    launch_topic: str               # the new product: no documents in the retriever
    capacity: int                   # concurrent requests the model deployment can serve
    slo_availability: float         # the availability SLO the service meets outside incidents
    incidents: tuple[Incident, ...]
    slo_latency: float = 0.99       # the latency SLO: this share of interactive answers under SLOW_MS


class Stage(NamedTuple):
    """One span of a request: offsets are milliseconds from the request's start."""
    name: str
    span_id: str            # 16 lowercase hex (W3C parent-id format)
    parent: str | None      # the parent stage's name; None for the root (gateway)
    start_ms: float
    duration_ms: float
    outcome: str            # "ok" or "error"


class Request(NamedTuple):
    """One request of the story: what a trace shows, plus the truth a real system never has.

    An immutable record. (A NamedTuple rather than a frozen dataclass: on CPython a frozen
    dataclass spends ~6 us per instance in __init__, a third of the story's time budget.)
    """
    trace_id: str           # 32 lowercase hex, never all zeros (W3C Trace Context)
    ts: float               # start, seconds since the scenario start: the simulated clock
    tenant: str
    priority: str           # "interactive" or "batch"
    topic: str
    model: str
    prompt: str             # the user's text; a few carry fake personal data and secrets
    prompt_tokens: int
    max_tokens: int
    completion_tokens: int
    latency_ms: float       # end to end, as the user waited
    ttft_ms: float          # time to first token, as the user saw it
    status: int             # the HTTP status the service answered
    error: str | None       # None, or an OpenTelemetry error.type
    error_stage: str | None  # the stage that failed
    stage_ms: tuple[float, float, float, float]  # gateway's own time, retrieval, llm, guardrail
    span_ids: str           # four 16-hex span ids, one per stage, concatenated
    retrieved_docs: tuple[int, ...]
    answer: str
    # the truth a real system never has
    grounded: bool
    acceptable: bool
    feedback: str | None    # "up", "down" or None (most users say nothing)

    @property
    def ok(self) -> bool:
        """Did the service answer (no 5xx)?"""
        return self.status < 500

    @property
    def stages(self) -> tuple[Stage, ...]:
        """The request's spans: the gateway as root, the stages end to end beneath it, up to and
        including the one that failed. Built on demand: only the logging lab needs them."""
        ids = [self.span_ids[i:i + 16] for i in range(0, 64, 16)]
        root = Stage(name="gateway", span_id=ids[0], parent=None, start_ms=0.0,
                     duration_ms=self.latency_ms, outcome="error" if self.error_stage else "ok")
        spans, start = [root], self.stage_ms[0]
        for name, span_id, duration in zip(STAGES[1:], ids[1:], self.stage_ms[1:]):
            failed = name == self.error_stage
            spans.append(Stage(name=name, span_id=span_id, parent="gateway", start_ms=start,
                               duration_ms=duration, outcome="error" if failed else "ok"))
            start += duration
            if failed:
                break
        return tuple(spans)


STAGES = ("gateway", "retrieval", "llm", "guardrail")
MINUTE = 60.0

STORY = Scenario(
    name="support-assistant, six hours on a Monday",
    duration_s=6 * 3600.0,
    epoch="2026-11-02T09:00:00Z",
    tenants=(
        Tenant("acme", "interactive", 0.40),
        Tenant("globex", "interactive", 0.30),
        Tenant("initech", "interactive", 0.20),
        Tenant("umbrella", "batch", 0.10),
    ),
    topics=(("billing", 0.25), ("login", 0.20), ("shipping", 0.15),
            ("api", 0.15), ("account", 0.15), ("refunds", 0.10)),
    launch_topic="smartsync",
    capacity=10,
    slo_availability=0.995,
    incidents=(
        Incident(name="latency blip", kind="latency", start_s=25 * MINUTE, end_s=27 * MINUTE,
                 factor=2.5, signals=("latency",), page=False,
                 description="cold cache after a routine deploy: slow answers for two minutes"),
        Incident(name="provider slowdown", kind="latency", start_s=60 * MINUTE, end_s=80 * MINUTE,
                 factor=4.0, signals=("latency", "saturation"), page=True,
                 description="the model provider serves tokens four times slower; "
                             "requests pile up"),
        Incident(name="error blip", kind="errors", start_s=100 * MINUTE, end_s=101 * MINUTE,
                 factor=0.12, signals=("errors",), page=False,
                 description="a one-minute hiccup at the provider", stage="llm",
                 error_type="provider_error", status=502),
        Incident(name="upstream error burst", kind="errors", start_s=120 * MINUTE,
                 end_s=140 * MINUTE, factor=0.5, signals=("errors",), page=True,
                 description="the vector store is unavailable: half of all requests fail fast "
                             "with 503",
                 stage="retrieval", error_type="vector_store_unavailable", status=503),
        Incident(name="traffic blip", kind="traffic", start_s=160 * MINUTE, end_s=161 * MINUTE,
                 factor=4.0, signals=("traffic",), page=False,
                 description="a client's retry loop: one tenant sends four times its rate for "
                             "a minute",
                 tenant="globex"),
        Incident(name="content drift", kind="drift", start_s=180 * MINUTE, end_s=360 * MINUTE,
                 factor=0.35, signals=("quality",), page=True,
                 description="SmartSync launches: a third of questions are about it, the "
                             "retriever has no documents, answers go ungrounded; latency and "
                             "errors stay normal"),
        Incident(name="noisy batch tenant", kind="traffic", start_s=240 * MINUTE,
                 end_s=260 * MINUTE, factor=15.0, signals=("traffic", "saturation"), page=True,
                 description="the batch tenant re-runs a month of summaries at fifteen times "
                             "its rate",
                 tenant="umbrella"),
        Incident(name="latency blip", kind="latency", start_s=300 * MINUTE, end_s=302 * MINUTE,
                 factor=2.5, signals=("latency",), page=False,
                 description="a noisy neighbour at the provider for two minutes"),
        Incident(name="error blip", kind="errors", start_s=330 * MINUTE, end_s=331 * MINUTE,
                 factor=0.12, signals=("errors",), page=False,
                 description="a one-minute hiccup at the provider", stage="llm",
                 error_type="provider_error", status=502),
    ),
)

# Baseline failures, outside every incident: rare, and a third of them slow (a gateway timeout).
BASE_ERROR_RATE = 0.002
GATEWAY_TIMEOUT_MS = 30_000.0
# One limit for "slow" in every lab: an answer slower than this breaks the latency SLO (lab 2),
# is kept by the tail sampler (lab 1), and counts as harm in a slowdown (lab 5).
SLOW_MS = 6_000.0
MODEL = "opslab-chat-1"


# ── what people ask, and what the assistant answers ─────────────────────────────────────────────

QUESTIONS = {
    "billing": ("Why was I charged twice this month?", "How do I change my billing plan?",
                "Where can I download last month's invoice?"),
    "login": ("I cannot log in after resetting my password.", "How do I turn on two-factor login?",
              "My account is locked, what now?"),
    "shipping": ("Where is my order {order}?", "Can I change the address on order {order}?",
                 "How long does express shipping take?"),
    "api": ("The API returns 401 with my key, why?", "What is the rate limit of the API?",
            "How do I paginate the orders endpoint?"),
    "account": ("How do I add a teammate to my account?", "How do I delete my account?",
                "Can I rename my workspace?"),
    "refunds": ("How do I get a refund for order {order}?", "How long do refunds take?",
                "Can I return an opened item?"),
    "smartsync": ("How do I set up SmartSync on my tablet and my phone at the same time?",
                  "SmartSync keeps duplicating my calendar entries after the update, how do I fix it?",
                  "Does SmartSync work offline, and what happens to conflicting edits?"),
}
BATCH_PROMPT = "Summarize support ticket #{order} for the weekly report."

# Personal data and secrets some users paste into prompts: lab 1 must redact them before logging.
# All fake: example.com addresses, 555 phone numbers, test card numbers, made-up keys.
LEAKS = (
    " My email is {name}@example.com.",
    " Call me on +1 415 555 {four}.",
    " My key is sk-test{key}.",
    " Card 4111 1111 1111 1111 was charged.",
    " Our AWS key AKIA{upper} stopped working.",
    " I send Authorization: Bearer {key}.",
)
LEAK_RATE = 0.03
# A rare user tries to forge a log line (CR/LF, U+2028) and to colour the terminal (ANSI escape).
INJECTION = '\r\n{"severity_text": "INFO", "body": "forged"}\u2028\x1b[31mALERT\x1b[0m'
INJECTION_RATE = 0.002

NAMES = ("jane.doe", "omar.haddad", "li.wei", "ana.souza", "sam.okafor")
ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

REFUSAL = "I'm sorry, I can't help with that request."
PER_TOKEN_MS = 15.0         # the provider's time per output token, outside incidents


# ── the generator ───────────────────────────────────────────────────────────────────────────────

def generate(seed: int = DEFAULT_SEED, scenario: Scenario = STORY) -> list[Request]:
    """Every request of the scenario, sorted by start time. Pure: same seed, same list."""
    rng = random.Random(seed)
    arrivals = []
    for index, tenant in enumerate(scenario.tenants):
        arrivals += [(ts, index) for ts in _arrivals(rng, tenant, scenario)]
    arrivals.sort()
    edges = sorted({e for i in scenario.incidents for e in (i.start_s, i.end_s)})
    moments = [_Moment.at(scenario, lo) for lo in [0.0, *edges]]
    request = _storyteller(rng, scenario)
    # ~200,000 new tuples that form no reference cycles: pause the cyclic garbage collector,
    # which would otherwise re-scan them again and again for nothing (a tenth of the time)
    collecting = gc.isenabled()
    gc.disable()
    try:
        return [request(ts, scenario.tenants[index], moments[bisect.bisect_right(edges, ts)])
                for ts, index in arrivals]
    finally:
        if collecting:
            gc.enable()


def _arrivals(rng: random.Random, tenant: Tenant, scenario: Scenario) -> list[float]:
    """A Poisson process at the tenant's rate, multiplied inside its traffic incidents.

    The rate is constant between incident edges, so each piece is a Poisson process of its own:
    exact, because waiting times are memoryless.
    """
    surges = [i for i in scenario.incidents if i.kind == "traffic" and i.tenant == tenant.name]
    inside = {t for s in surges for t in (s.start_s, s.end_s) if 0.0 < t < scenario.duration_s}
    edges = sorted({0.0, scenario.duration_s} | inside)        # nothing after the story ends
    times = []
    for lo, hi in zip(edges, edges[1:]):
        rate = tenant.rate_rps * math.prod(s.factor for s in surges if s.covers(lo))
        ts = lo + rng.expovariate(rate)
        while ts < hi:
            times.append(ts)
            ts += rng.expovariate(rate)
    return times


class _Moment(NamedTuple):
    """What the incidents do between two incident edges: worked out once, not once per request."""
    slow: float                         # latency multiplier
    drift_share: float                  # share of interactive requests on the launched topic
    failures: tuple[Incident, ...]      # error incidents in force

    @classmethod
    def at(cls, sc: Scenario, ts: float) -> "_Moment":
        active = [i for i in sc.incidents if i.covers(ts)]
        return cls(math.prod(i.factor for i in active if i.kind == "latency"),
                   sum(i.factor for i in active if i.kind == "drift"),
                   tuple(i for i in active if i.kind == "errors"))


# Inverse transform sampling: a normal draw is the normal quantile of a uniform draw. With each
# log-normal quantity tabulated at 4,096 quantiles, a draw is one random() and one index: several
# times faster than random.lognormvariate on CPython, exact to the table's resolution (the tails
# are cut at ~3.5 standard deviations, which a six-hour story does not miss).
_QUANTILES = [NormalDist().inv_cdf((i + 0.5) / 4096) for i in range(4096)]


def _lognormal(mu: float, sigma: float) -> list[float]:
    """exp(N(mu, sigma)) at the 4,096 quantiles: draw one with table[int(random() * 4096)]."""
    return [math.exp(mu + sigma * z) for z in _QUANTILES]


# the story's log-normal quantities: the median is exp(mu)
EXTRA_PROMPT = _lognormal(4.0, 0.5)       # interactive prompt beyond the fixed parts, ~55 tokens
ANSWER = _lognormal(4.4, 0.5)             # interactive answer, ~80 tokens
TICKET = _lognormal(7.0, 0.3)             # a batch ticket, ~1,100 tokens
SUMMARY = _lognormal(5.7, 0.3)            # a batch summary, ~300 tokens
RETRIEVAL_MS = _lognormal(4.1, 0.4)       # ~60 ms
JITTER = _lognormal(0.0, 0.3)             # x the provider's median time to first token
TOKEN_JITTER = _lognormal(0.0, 0.15)      # x the provider's time per token
GUARDRAIL_MS = _lognormal(3.2, 0.3)       # ~25 ms


_new = tuple.__new__    # Request(...) without its keyword-friendly __new__: a third of the cost


def _storyteller(rng: random.Random, sc: Scenario) -> Callable[[float, Tenant, _Moment], Request]:
    """The life of one request, as a function of its start, its tenant and the incidents in force.

    What is the same for every request (topic weights, where each topic's documents start, the
    ids already used) is worked out once, here, so that the story's 23,000 requests cost little.
    """
    u, bits = rng.random, rng.getrandbits
    choice, choices, randrange = rng.choice, rng.choices, rng.randrange
    topics = [t for t, _ in sc.topics]
    cumulative = list(itertools.accumulate(w for _, w in sc.topics))
    first_doc = {topic: 100 * (i + 1) for i, topic in enumerate(topics)}
    seen: set[str] = set()

    def request(ts: float, tenant: Tenant, now: _Moment) -> Request:
        interactive = tenant.priority == "interactive"

        # what is asked
        if interactive and now.drift_share and u() < now.drift_share:
            topic = sc.launch_topic
        else:
            topic = topics[bisect.bisect(cumulative, u() * cumulative[-1])]
        if interactive:
            questions = QUESTIONS[topic]
            prompt = questions[int(u() * len(questions))]
        else:
            prompt = BATCH_PROMPT
        if "{order}" in prompt:     # an order number: a long number that is not personal data
            prompt = prompt.format(order=1_000_000_000 + int(u() * 9_000_000_000))
        if u() < LEAK_RATE:
            prompt += choice(LEAKS).format(
                name=choice(NAMES), four=randrange(1000, 10000),
                key="".join(choices(ALNUM, k=24)), upper="".join(choices(UPPER, k=16)))
        if u() < INJECTION_RATE:
            prompt += INJECTION

        # retrieval finds three neighbouring chunks for every topic but the launched one
        if topic == sc.launch_topic:
            docs: tuple[int, ...] = ()
        else:
            first = first_doc[topic] + int(u() * 98)
            docs = (first, first + 1, first + 2)
        if interactive:
            prompt_tokens = (120 + len(prompt) // 4 + 150 * len(docs)
                             + int(EXTRA_PROMPT[int(u() * 4096)]))
            max_tokens, completion = 512, int(ANSWER[int(u() * 4096)])          # median ~80
            ttft_median = 350.0
        else:
            prompt_tokens = 1500 + 150 * len(docs) + int(TICKET[int(u() * 4096)])  # a whole ticket
            max_tokens, completion = 1024, int(SUMMARY[int(u() * 4096)])         # median ~300
            ttft_median = 900.0
        if completion > max_tokens:
            completion = max_tokens
        elif completion < 5:
            completion = 5

        # how long each stage takes (milliseconds)
        gateway_ms = 3.0 + 7.0 * u()
        retrieval_ms = RETRIEVAL_MS[int(u() * 4096)]                                  # median ~60
        first_token_ms = JITTER[int(u() * 4096)] * ttft_median * now.slow
        token_jitter = TOKEN_JITTER[int(u() * 4096)]
        llm_ms = first_token_ms + completion * PER_TOKEN_MS * token_jitter * now.slow
        guardrail_ms = GUARDRAIL_MS[int(u() * 4096)]                                  # median ~25

        # does it fail, and where?
        status, error, stage = 200, None, None
        for incident in now.failures:
            if u() < incident.factor:
                status, error, stage = incident.status, incident.error_type, incident.stage
        if error is None and u() < BASE_ERROR_RATE:
            status, error, stage = ((504, "timeout", "llm") if u() < 1 / 3
                                    else (502, "provider_error", "llm"))
        ttft_ms = gateway_ms + retrieval_ms + first_token_ms
        if stage == "retrieval":        # fails fast (connection refused); no first token, ever
            retrieval_ms, llm_ms, guardrail_ms = 5.0 + 20.0 * u(), 0.0, 0.0
            ttft_ms = gateway_ms + retrieval_ms
        elif error == "timeout":        # the gateway gives up on the provider
            llm_ms, guardrail_ms = GATEWAY_TIMEOUT_MS - gateway_ms - retrieval_ms, 0.0
            ttft_ms = GATEWAY_TIMEOUT_MS
        elif stage == "llm":            # the provider fails before the first token
            llm_ms, guardrail_ms = first_token_ms, 0.0
            ttft_ms = gateway_ms + retrieval_ms + llm_ms
        latency_ms = gateway_ms + retrieval_ms + llm_ms + guardrail_ms

        # the answer, and the truth about it
        if error:
            answer, grounded, acceptable, completion = "", False, False, 0
        else:
            answer, grounded, acceptable = _answer(u, topic, docs)

        # its ids (W3C): unique, and no run of 16 zeros, so that no id is all zeros
        ids = bits(384).to_bytes(48, "big").hex()
        while "0000000000000000" in ids or ids[:32] in seen:
            ids = bits(384).to_bytes(48, "big").hex()     # rare: a needless redraw is harmless
        seen.add(ids[:32])
        return _new(Request, (ids[:32], ts, tenant.name, tenant.priority, topic, MODEL, prompt,
                              prompt_tokens, max_tokens, completion, latency_ms, ttft_ms, status,
                              error, stage, (gateway_ms, retrieval_ms, llm_ms, guardrail_ms),
                              ids[32:], docs, answer, grounded, acceptable,
                              _feedback(u(), acceptable)))

    return request


def _answer(u, topic: str, docs: tuple[int, ...]) -> tuple[str, bool, bool]:
    """The answer text and its truth: grounded (supported by a retrieved document), acceptable."""
    roll = u()
    if roll < 0.01:
        return REFUSAL, False, False
    if docs:
        answer = f"Per the {topic} guide, open Settings and follow the steps [doc:{docs[0]}]."
        if roll < 0.04:     # the model ignored its documents and answered from memory
            return f"For {topic}, you can usually fix this in Settings.", False, False
        if roll < 0.06:     # cites a document that does not say this: looks grounded, is not
            return answer, False, False
        if roll < 0.062:    # copies a customer's e-mail address from the document into the answer
            return answer + " Or write to jane.doe@example.com.", True, False
        return answer, True, u() >= 0.01          # 1 %: wrong for reasons no code judge sees
    if roll < 0.05:         # no documents, yet a made-up citation
        return f"SmartSync handles this automatically [doc:{900 + int(u() * 100)}].", False, False
    return "SmartSync should sync on its own; try restarting the app.", False, False


CITATION = re.compile(r"\[doc:(\d+)\]")


def cited_docs(answer: str) -> list[int]:
    """The document ids an answer cites, in the story's citation format `[doc:12]`.

    >>> cited_docs("Open Settings [doc:12], then Billing [doc:13].")
    [12, 13]
    """
    return [int(n) for n in CITATION.findall(answer)]


def _feedback(roll: float, acceptable: bool) -> str | None:
    """What the user clicked: most say nothing; unhappy users say so far more often."""
    if acceptable:
        return "up" if roll < 0.10 else "down" if roll < 0.11 else None
    return "down" if roll < 0.35 else "up" if roll < 0.37 else None


# ── the story in one screen ─────────────────────────────────────────────────────────────────────

# A tiny model of the story's service, for lab 5's regression case: a retriever index by topic, and
# an answer that cites what it got. The story's documents are numbered 100 x (topic's place) + n;
# the launched topic comes seventh (FIXED_INDEX: after the fix, its documents are indexed).
PRE_LAUNCH_INDEX = {topic: tuple(100 * place + n for n in range(3))
                    for place, (topic, _) in enumerate(STORY.topics, 1)}
FIXED_INDEX = {**PRE_LAUNCH_INDEX,
               STORY.launch_topic: tuple(100 * (len(PRE_LAUNCH_INDEX) + 1) + n
                                                 for n in range(3))}


def retrieve(index: dict[str, tuple[int, ...]], question: str) -> tuple[int, ...]:
    """A keyword retriever: the documents of every topic the question names."""
    words = question.lower()
    return tuple(doc for topic, docs in index.items() if topic in words for doc in docs)


def answer_from(index: dict[str, tuple[int, ...]], question: str) -> tuple[str, tuple[int, ...]]:
    """The service in one function: retrieve, then answer, citing a document when there is one
    (the story's citation format), or from the model's memory when there is none."""
    docs = retrieve(index, question)
    if docs:
        return f"Per the guide, open Settings and follow the steps [doc:{docs[0]}].", docs
    return "It should sync on its own; try restarting the app.", docs


def clock(seconds: float) -> str:
    """Simulated seconds as h:mm (the story's wall clock starts at 0:00)."""
    minutes = int(seconds // 60)
    return f"{minutes // 60}:{minutes % 60:02d}"


def describe(requests: list[Request], scenario: Scenario = STORY) -> str:
    """The story in one screen (80 columns): volume per hour, tenants, the incident timeline."""
    hours = int(scenario.duration_s // 3600)
    per_hour = Counter(int(r.ts // 3600) for r in requests)
    per_tenant = Counter(r.tenant for r in requests)
    failed = sum(not r.ok for r in requests)
    lines = [
        f"The service you are about to operate: {scenario.name}",
        f"  {len(requests):,} requests in {hours} simulated hours, {failed} failed "
        f"({failed / len(requests):.1%}); SLO {scenario.slo_availability:.1%} available",
        "  per hour: " + "  ".join(f"{h}h {per_hour[h]:,}" for h in range(hours)),
        *textwrap.wrap("tenants: " + ", ".join(
            f"{t.name} {t.priority} {t.rate_rps:.2f}/s ({per_tenant[t.name]:,})"
            for t in scenario.tenants) + f"; capacity {scenario.capacity} in flight",
            78, initial_indent="  ", subsequent_indent="    "),
        "",
        "  Incident timeline (ground truth; * = deserves a page, the others are blips):",
    ]
    for i in scenario.incidents:
        mark = "*" if i.page else " "
        lines.append(f"  {mark} {clock(i.start_s):>5}-{clock(i.end_s):<5} {i.name:<21} "
                     f"moves {'+'.join(i.signals)}")
        lines += textwrap.wrap(i.description, 78, initial_indent=" " * 17,
                               subsequent_indent=" " * 17)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Print the shared story: the seeded fake traffic all five labs operate on.")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help=f"random seed of the story (default {DEFAULT_SEED}); "
                             "the same seed always gives the same requests")
    args = parser.parse_args(argv)
    print(describe(generate(seed=args.seed)))
    return 0


if __name__ == "__main__":
    if __package__ in (None, ""):      # run as a script: make the `solution` package importable
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from solution.cli import run_cli
    run_cli(main)
