"""Lab 4: when one tenant floods the service, who pays? Rate limits, quotas, a concurrency limit,
and priority shedding, replayed on the story.

Extends M25 and M29: the model gateway gets the limits a real API has. The story's deployment
serves 10 requests at a time. At 4:00 the batch tenant re-runs a month of summaries at fifteen
times its rate: long requests that alone ask for about all of that capacity. Without limits the
queue grows and every tenant waits; with limits the gateway refuses the excess at the door, fast
and explicitly, and says when to come back. The lab replays the story's requests twice through a
simple capacity model of the service (without limits, then with them) and compares, tenant by
tenant.

The building blocks are the ones a service uses, ready to lift as they are: `TokenBucket` (a rate
and a burst; thread-safe; reads `time.monotonic()` unless given a clock), `TokenRateLimit` (tokens
per minute, reserved up front and refunded after, as LLM providers count), `Quota` (an allowance per
day), `ConcurrencyLimiter` (a cap on requests in flight) and `sheds` (batch before interactive).
`Gateway` applies them in Stripe's order and answers as a real API does: 429 with `Retry-After`
and the IETF draft's `RateLimit` headers when a tenant is over its limits, 503 when the service is.

    python3 solution/lab4_limits.py                 the story replayed, without and with limits
    python3 solution/lab4_limits.py --headroom 1.5 --max-in-flight 12    try other limits
    python3 solution/lab4_limits.py --live          a real HTTP gateway on 127.0.0.1, for seconds
    python3 solution/lab4_limits.py serve           the gateway, until Ctrl-C
    python3 solution/lab4_limits.py load --url http://127.0.0.1:8000/v1/chat --rps 20 --seconds 5

    >>> bucket = TokenBucket(rate=2, burst=4)          # 2 requests/s, 4 at once
    >>> [bucket.try_acquire(now=0.0).allowed for _ in range(5)]
    [True, True, True, True, False]
    >>> bucket.try_acquire(now=0.0).retry_after_s      # one token comes back in 1/2 s
    0.5
    >>> bucket.try_acquire(now=0.5).allowed
    True

Remember: a limit turns overload into fast, explicit refusals for the one who causes it, instead of
slow answers for everyone.
"""

from __future__ import annotations

import argparse
import bisect
import heapq
import math
import operator
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

if __package__ in (None, ""):          # run as a script: make the `solution` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from solution import traffic
from solution.cli import fraction, non_negative_int, positive_float, positive_int, run_cli
from solution.numeric import nearest_rank, percent
from solution.terminal import sparkline, squeeze, table


# ── the token bucket: a rate and a burst ───────────────────────────────────────────────────────

class Decision(NamedTuple):
    """What a limiter answered. `retry_after_s` is 0 when allowed; when refused, the seconds after
    which the same request would be allowed (math.inf if it never can be: it asks for more than
    the limit holds). `remaining` is what is left to spend after this decision."""
    allowed: bool
    retry_after_s: float
    remaining: float


_decision = tuple.__new__    # builds a Decision without NamedTuple's Python-level __new__: 2x faster

# Floating point: a client that waits exactly retry_after_s must find its token back, even when
# (cost - tokens) / rate * rate rounds to a hair below cost. A billionth of a token is the slack.
_SLACK = 1e-9


class TokenBucket:
    """A token bucket: it holds at most `burst` tokens and gains `rate` tokens per second; a request
    of cost n is allowed iff the bucket holds n tokens, which it then spends.

    Sustained, a client gets `rate` requests per second; after a quiet spell, `burst` at once.
    The refill is lazy and exact: nothing ticks in the background; each call adds
    rate x (now - last) and caps at burst (the same arithmetic as a leaky bucket or GCRA, with
    the state kept as tokens rather than as a theoretical arrival time). A new bucket is full.

    `now` is seconds on any clock that only moves forward; None reads time.monotonic(), which wall
    clock adjustments cannot move. Should a caller's clock step backwards anyway, the bucket keeps
    its latest time: no token is ever minted from time that did not pass. Thread-safe: one lock
    makes the read, refill and spend a single step, so two threads can never spend one token.
    """
    __slots__ = ("rate", "burst", "_tokens", "_last", "_lock")

    def __init__(self, rate: float, burst: float):
        if not (rate > 0 and math.isfinite(rate)):
            raise ValueError(f"rate must be a number greater than 0, not {rate!r}")
        if not (burst > 0 and math.isfinite(burst)):
            raise ValueError(f"burst must be a number greater than 0, not {burst!r}")
        self.rate, self.burst = float(rate), float(burst)
        self._tokens = self.burst
        self._last = -math.inf       # never refilled: the first call fills it to burst (it starts full)
        self._lock = threading.Lock()

    def try_acquire(self, cost: float = 1, now: float | None = None) -> Decision:
        """Spend `cost` tokens if the bucket holds them: Decision(allowed, retry_after_s, remaining)."""
        if not cost >= 0:
            raise ValueError(f"cost must be 0 or more, not {cost!r}")
        if now is None:
            now = time.monotonic()
        with self._lock:
            tokens = self._tokens
            if now > self._last:                 # only time moving forward adds tokens
                tokens += (now - self._last) * self.rate
                if tokens > self.burst:
                    tokens = self.burst
                self._last = now
            if tokens >= cost - _SLACK:
                tokens -= cost
                self._tokens = tokens = tokens if tokens > 0.0 else 0.0
                return _decision(Decision, (True, 0.0, tokens))
            self._tokens = tokens
            wait = (cost - tokens) / self.rate if cost <= self.burst else math.inf
            return _decision(Decision, (False, wait, tokens))

    def refund(self, amount: float, now: float | None = None) -> None:
        """Give back tokens that were taken but not used (never above burst)."""
        if not amount >= 0:
            raise ValueError(f"a refund must be 0 or more, not {amount!r}")
        if now is None:
            now = time.monotonic()
        with self._lock:
            tokens = self._tokens + amount
            if now > self._last:
                tokens += (now - self._last) * self.rate
                self._last = now
            self._tokens = tokens if tokens < self.burst else self.burst


# ── tokens per minute: reserve up front, refund what the answer did not use ────────────────────

class TokenRateLimit(TokenBucket):
    """Tokens per minute (TPM), the way LLM providers count: a request reserves its prompt tokens
    plus its max_tokens before it runs, because nobody knows yet how long the answer will be; when
    it completes, the unused part of max_tokens comes back. Anthropic documents its limits as token
    buckets; OpenAI counts max_tokens against the limit up front. So: a bucket of one minute's
    tokens, refilled at tokens_per_minute / 60 per second.

        tpm.reserve(prompt_tokens + max_tokens)         before the request runs
        tpm.settle(max_tokens - completion_tokens)      after it completes
    """
    __slots__ = ()

    def __init__(self, tokens_per_minute: float):
        if not (tokens_per_minute > 0 and math.isfinite(tokens_per_minute)):
            raise ValueError(f"tokens per minute must be greater than 0, not {tokens_per_minute!r}")
        super().__init__(tokens_per_minute / 60.0, tokens_per_minute)

    reserve = TokenBucket.try_acquire
    settle = TokenBucket.refund


# ── a quota: an allowance per period that resets at the boundary ───────────────────────────────

class Quota:
    """An allowance of `limit` units (requests or tokens) per period, for one tenant: "50,000
    requests per day". Periods are aligned on the clock (a day runs from one midnight to the next),
    and the whole allowance comes back at the boundary, not bit by bit as in a bucket.
    A request that would overdraw it is refused; what is left never goes below zero.

    `now` is seconds on the clock the periods are counted on; None reads time.time(), the wall
    clock, because a daily quota resets at midnight (UTC here), which the monotonic clock knows
    nothing about. A clock that steps back into an earlier period does not reopen it.
    """
    __slots__ = ("limit", "period_s", "_left", "_resets_at", "_lock")

    def __init__(self, limit: int, period_s: float = 86_400.0):
        if not (limit > 0 and math.isfinite(limit)):
            raise ValueError(f"a quota must be greater than 0, not {limit!r}")
        if not (period_s > 0 and math.isfinite(period_s)):
            raise ValueError(f"a quota period must be greater than 0 seconds, not {period_s!r}")
        self.limit, self.period_s = limit, float(period_s)
        self._left, self._resets_at = limit, -math.inf     # no period yet: the first call opens one
        self._lock = threading.Lock()

    def try_consume(self, amount: int = 1, now: float | None = None) -> Decision:
        if not amount >= 0:
            raise ValueError(f"amount must be 0 or more, not {amount!r}")
        if now is None:
            now = time.time()
        with self._lock:
            if now >= self._resets_at:        # a new period: the allowance is whole again
                self._left = self.limit
                self._resets_at = (now // self.period_s + 1) * self.period_s
            left = self._left
            if amount <= left:
                self._left = left = left - amount
                return _decision(Decision, (True, 0.0, left))
            wait = self._resets_at - now if amount <= self.limit else math.inf
            return _decision(Decision, (False, wait, left))

    def refund(self, amount: int, now: float | None = None) -> None:
        """Give back units taken by a request that was refused further on (within the period)."""
        if now is None:
            now = time.time()
        with self._lock:
            if now < self._resets_at:
                self._left = min(self.limit, self._left + amount)


# ── a concurrency limit, and priority shedding ──────────────────────────────────────────────────

class Overloaded(Exception):
    """Raised by `with limiter:` when every slot is taken: answer 503 with Retry-After."""


class ConcurrencyLimiter:
    """At most `max_in_flight` requests at once. Little's law (in flight = throughput x latency)
    says why it matters: when the service slows down, requests in flight pile up; a cap turns the
    pile into fast refusals instead of a queue that makes everyone wait.

        limiter = ConcurrencyLimiter(8)
        with limiter:          # raises Overloaded when full; the slot is freed even if work raises
            work()

    `try_acquire()` / `release()` are the same thing for callers whose work ends elsewhere.
    """
    __slots__ = ("max_in_flight", "_in_flight", "_lock")

    def __init__(self, max_in_flight: int):
        if not (isinstance(max_in_flight, int) and max_in_flight > 0):
            raise ValueError(f"max_in_flight must be a whole number greater than 0, "
                             f"not {max_in_flight!r}")
        self.max_in_flight = max_in_flight
        self._in_flight = 0
        self._lock = threading.Lock()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def try_acquire(self) -> bool:
        with self._lock:
            if self._in_flight >= self.max_in_flight:
                return False
            self._in_flight += 1
            return True

    def release(self) -> None:
        with self._lock:
            if self._in_flight == 0:
                raise RuntimeError("release() without a matching acquire")
            self._in_flight -= 1

    def __enter__(self) -> "ConcurrencyLimiter":
        if not self.try_acquire():
            raise Overloaded(f"{self.max_in_flight} requests already in flight")
        return self

    def __exit__(self, *exc_info) -> bool:
        self.release()
        return False              # never swallow the work's exception


def sheds(priority: str, in_flight: int, capacity: int, shed_at: float) -> bool:
    """Priority shedding: once `shed_at` of the capacity is busy, refuse batch work so that
    interactive work (a person is waiting) keeps the rest. Interactive work is refused only by the
    hard concurrency limit. Google SRE ("Handling Overload"): reject a criticality only once every
    lower one is rejected; Stripe's fleet usage load shedder reserves capacity for critical traffic.

    >>> sheds("batch", 8, 10, 0.8), sheds("interactive", 9, 10, 0.8), sheds("batch", 7, 10, 0.8)
    (True, False, False)
    """
    return priority == "batch" and in_flight >= shed_at * capacity


# ── the gateway: the limiters in Stripe's order, answered as HTTP does ─────────────────────────

class Plan(NamedTuple):
    """What one tenant may use: its limits, as a provider's tier states them."""
    priority: str             # "interactive" or "batch"
    rate: float               # requests per second, sustained (the bucket's refill)
    burst: float              # requests at once (the bucket's size)
    tokens_per_minute: int    # prompt + max_tokens reserved per minute
    requests_per_day: int     # the daily quota


class Admission(NamedTuple):
    """The gateway's answer: HTTP status, why, when to come back, and the deciding limiter's view."""
    status: int               # 200, 429 (the tenant is over its limits) or 503 (the service is)
    reason: str               # "ok", or the refusal reason: one of REASONS
    retry_after_s: float
    decision: Decision | None


# The refusal reasons, in the order the gateway checks them (Stripe, "Scaling your API with rate
# limiters": request rate limiter, concurrent requests limiter, fleet usage load shedder, worker
# utilization load shedder). The three per-tenant limits answer 429; the two that protect the
# service answer 503.
REASONS = ("rate", "tokens", "quota", "overload", "shed")
STATUS = {"rate": 429, "tokens": 429, "quota": 429, "overload": 503, "shed": 503}
OVERLOAD_RETRY_AFTER_S = 1.0     # a slot frees up within about one request's time


class _Limits(NamedTuple):
    plan: Plan
    requests: TokenBucket
    tokens: TokenRateLimit
    quota: Quota


class Gateway:
    """Every tenant's limits plus the service's, applied in Stripe's order:

    1. request rate (a token bucket per tenant), then tokens per minute, then the daily quota: 429;
    2. the concurrency limit on requests in flight (the whole deployment: one model serves all): 503;
    3. priority shedding: batch is refused first once the service is busy: 503.

    A request refused at one step is not charged by the steps before it: each gives its share back.
    `admit()` answers, and counts each refusal in `refused` (tenant -> reason -> count: the metric a
    real gateway exports). Every admitted request must be followed by `complete()`, which frees
    its slot and refunds its unused tokens. `now` is the clock for the buckets (None reads
    time.monotonic()) and for the quotas (None reads time.time()); a simulation passes its own.
    """

    def __init__(self, plans: dict[str, Plan], capacity: int, max_in_flight: int, shed_at: float):
        if not (isinstance(capacity, int) and capacity > 0):
            raise ValueError(f"capacity must be a whole number greater than 0, not {capacity!r}")
        if not 0.0 <= shed_at <= 1.0:
            raise ValueError(f"shed_at must be between 0 and 1, not {shed_at!r}")
        self.capacity, self.shed_at = capacity, shed_at
        self.concurrency = ConcurrencyLimiter(max_in_flight)
        self.tenants = {name: _Limits(plan, TokenBucket(plan.rate, plan.burst),
                                      TokenRateLimit(plan.tokens_per_minute),
                                      Quota(plan.requests_per_day, 86_400.0))
                        for name, plan in sorted(plans.items())}
        self.refused = {name: dict.fromkeys(REASONS, 0) for name in self.tenants}
        self._count_lock = threading.Lock()

    def admit(self, tenant: str, prompt_tokens: int, max_tokens: int,
              now: float | None = None) -> Admission:
        plan, requests, tokens, quota = self.tenants[tenant]
        decision = requests.try_acquire(1, now)
        if not decision.allowed:
            return self._refuse(tenant, "rate", decision.retry_after_s, decision)
        cost = prompt_tokens + max_tokens
        refused = tokens.reserve(cost, now)
        if not refused.allowed:
            requests.refund(1, now)
            return self._refuse(tenant, "tokens", refused.retry_after_s, refused)
        refused = quota.try_consume(1, now)
        if not refused.allowed:
            requests.refund(1, now)
            tokens.settle(cost, now)
            return self._refuse(tenant, "quota", refused.retry_after_s, refused)
        concurrency = self.concurrency
        if not concurrency.try_acquire():
            reason = "overload"
        elif sheds(plan.priority, concurrency.in_flight - 1, self.capacity, self.shed_at):
            concurrency.release()
            reason = "shed"
        else:
            return _decision(Admission, (200, "ok", 0.0, decision))
        requests.refund(1, now)
        tokens.settle(cost, now)
        quota.refund(1, now)
        return self._refuse(tenant, reason, OVERLOAD_RETRY_AFTER_S, None)

    def _refuse(self, tenant: str, reason: str, retry_after_s: float,
                decision: Decision | None) -> Admission:
        with self._count_lock:
            self.refused[tenant][reason] += 1
        return Admission(STATUS[reason], reason, retry_after_s, decision)

    def complete(self, tenant: str, unused_tokens: int, now: float | None = None) -> None:
        """An admitted request finished (or failed): free its slot, refund its unused tokens."""
        self.concurrency.release()
        self.tenants[tenant].tokens.settle(unused_tokens, now)


_POLICY = {"ok": "requests", "rate": "requests", "tokens": "tokens", "quota": "day"}


def response_headers(verdict: Admission, plan: Plan) -> list[tuple[str, str]]:
    """The headers a client needs to back off well.

    Retry-After (RFC 9110, section 10.2.3) in whole seconds, rounded up: a client that waits that
    long finds what it needs. RateLimit-Policy and RateLimit from the IETF draft "RateLimit header
    fields for HTTP" (draft-ietf-httpapi-ratelimit-headers): each policy's quota q over a window of
    w seconds; for the policy that decided, the units r that remain and the seconds t until it is
    whole again. A 503 is about the service, not the tenant's policies: it gets Retry-After only.
    A request that can never fit (retry_after_s is infinite) gets no Retry-After: waiting won't help.

    >>> plan = Plan("interactive", rate=2.0, burst=10, tokens_per_minute=60_000, requests_per_day=5_000)
    >>> for header in response_headers(Admission(429, "rate", 0.2, Decision(False, 0.2, 0.6)), plan):
    ...     print(*header, sep=": ")
    RateLimit-Policy: "requests";q=10;w=5, "tokens";q=60000;w=60, "day";q=5000;w=86400
    Retry-After: 1
    RateLimit: "requests";r=0;t=5
    """
    policies = {"requests": (plan.burst, plan.burst / plan.rate),
                "tokens": (plan.tokens_per_minute, 60.0),
                "day": (plan.requests_per_day, 86_400.0)}
    headers = [("RateLimit-Policy", ", ".join(f'"{name}";q={int(q)};w={math.ceil(w)}'
                                              for name, (q, w) in policies.items()))]
    if verdict.status != 200 and math.isfinite(verdict.retry_after_s):
        headers.append(("Retry-After", str(max(1, math.ceil(verdict.retry_after_s)))))
    if verdict.decision is not None:
        name = _POLICY[verdict.reason]
        quota, window = policies[name]
        remaining = verdict.decision.remaining
        if name == "day":            # refused: whole again at the period boundary
            reset = verdict.retry_after_s
        else:                        # a bucket: whole again once it has refilled
            reset = (quota - remaining) / quota * window
        headers.append(("RateLimit", f'"{name}";r={int(remaining)};t={math.ceil(reset)}'))
    return headers


# ── the service: a capacity model, replayed ─────────────────────────────────────────────────────

DEADLINE_S = traffic.GATEWAY_TIMEOUT_MS / 1000   # a client that waited 30 s has given up


@dataclass(frozen=True)
class Limits:
    """The gateway's settings, and why these defaults.

    headroom   each tenant may send this multiple of its usual rate, sustained;
    burst      ... and this many requests at once. Why 2x and 10: a bucket of b requests refilled
               at h times a Poisson arrival rate is empty at a random moment with a chance of at
               most e^(-theta b), where theta solves e^theta - 1 = h theta (the Lundberg exponent
               of the bucket's deficit, a queue of unit jobs): theta = 1.26 at h = 2, so e^-12.6,
               3 in a million. Usual traffic is never refused; a retry loop at 4x or a re-run at
               15x empties the bucket within seconds.
    tokens_per_minute, requests_per_day   a provider-style tier for every tenant. The story's
               tenants stay well inside them (the request rate binds first): they are there for
               the tenant who sends a few huge requests, or keeps going all day.
    max_in_flight   the service's 10 slots plus a queue of 5: a Poisson burst waits a moment, a
               flood is refused. The wait is bounded: at most 5 requests ahead, and slots free up
               at capacity / mean latency (Little's law): 10 / 2.1 s, about 1 s for 5; about
               4 s in the provider slowdown.
    shed_at    batch is shed once 80 % of the slots are busy: a fifth of the capacity is kept for
               interactive traffic, as Stripe's fleet usage load shedder keeps some for critical
               requests.
    """
    headroom: float = 2.0
    burst: int = 10
    tokens_per_minute: int = 100_000
    requests_per_day: int = 50_000
    max_in_flight: int = 15
    shed_at: float = 0.8


def plans_for(scenario: traffic.Scenario, limits: Limits) -> dict[str, Plan]:
    """Each tenant's plan: its usual rate times the headroom; the same burst and token tiers."""
    return {t.name: Plan(t.priority, limits.headroom * t.rate_rps, limits.burst,
                         limits.tokens_per_minute, limits.requests_per_day)
            for t in scenario.tenants}


_tenant_of, _ts_of = operator.attrgetter("tenant"), operator.attrgetter("ts")


def replay(requests: list[traffic.Request], capacity: int,
           gateway: Gateway | None = None) -> list[float | str]:
    """Replay the story through a service of `capacity` slots, with or without a gateway in front.
    For each request: the seconds it waited for a slot, or the reason it was refused.

    The capacity model: an admitted request takes the first slot to come free, first come first
    served (a min-heap of the times each slot frees up); if none is free it waits: overload turns
    into queueing delay. It then holds the slot for the story's own latency (which already carries
    the provider's slowdown). A client that waited past the deadline has gone, but the service does
    not know and does the work anyway. With a gateway, a second heap holds each admitted request's
    completion, so that its concurrency slot and unused tokens go back to the gateway at that time.
    """
    slots = [0.0] * capacity
    completions: list[tuple[float, str, int]] = []
    waits: list[float | str] = []
    # local names for what the loop calls once per request (CPython looks them up faster)
    record, heappush, heappop = waits.append, heapq.heappush, heapq.heappop
    heapreplace = heapq.heapreplace
    admit, complete = (gateway.admit, gateway.complete) if gateway else (None, None)
    for r in requests:
        now = r.ts
        if admit:
            while completions and completions[0][0] <= now:
                done, tenant, unused = heappop(completions)
                complete(tenant, unused, done)
            verdict = admit(r.tenant, r.prompt_tokens, r.max_tokens, now)
            if verdict.status != 200:
                record(verdict.reason)
                continue
        free = slots[0]
        begin = free if free > now else now
        finish = begin + r.latency_ms / 1000
        heapreplace(slots, finish)
        if admit:
            heappush(completions, (finish, r.tenant, r.max_tokens - r.completion_tokens))
        record(begin - now)
    while completions:                        # the day is over: the last requests finish
        done, tenant, unused = heappop(completions)
        complete(tenant, unused, done)
    return waits


@dataclass
class Replay:
    """One replay of the story, summed up: per tenant, inside the watched window, per minute."""
    accepted: dict[str, int]
    refused: dict[str, dict[str, int]]          # tenant -> reason -> count
    interactive_p99_s: float                    # latency = wait for a slot + service; admitted
    window_interactive_p99_s: float             # the same, inside the window
    window_offered: dict[str, int]
    window_in_time: dict[str, int]              # admitted and answered within the deadline
    window_goodput: dict[str, int]              # ... and answered OK (no 5xx)
    worst_wait_s: list[float]                   # per minute: the longest wait for a slot
    refusals: list[tuple[float, str, str]]      # (ts, tenant, reason), in time order


def summarize(requests: list[traffic.Request], waits: list[float | str],
              scenario: traffic.Scenario, window: tuple[float, float]) -> Replay:
    names = [t.name for t in scenario.tenants]
    accepted = dict.fromkeys(names, 0)
    refused = {n: dict.fromkeys(REASONS, 0) for n in names}
    latencies, refusals = [], []
    worst = [0.0] * (int(scenario.duration_s // 60) + 1)
    for r, w in zip(requests, waits):
        if isinstance(w, str):
            refused[r.tenant][w] += 1
            refusals.append((r.ts, r.tenant, w))
            continue
        accepted[r.tenant] += 1
        if w and w > worst[int(r.ts // 60)]:
            worst[int(r.ts // 60)] = w
        if r.priority == "interactive":
            latencies.append(w + r.latency_ms / 1000)
    # the window: the requests are in time order, so it is one slice
    lo = bisect.bisect_left(requests, window[0], key=_ts_of)
    hi = bisect.bisect_left(requests, window[1], key=_ts_of)
    window_offered, window_in_time, window_goodput = (dict.fromkeys(names, 0) for _ in range(3))
    window_latencies = []
    for r, w in zip(requests[lo:hi], waits[lo:hi]):
        window_offered[r.tenant] += 1
        if isinstance(w, str):
            continue
        latency = w + r.latency_ms / 1000
        if r.priority == "interactive":
            window_latencies.append(latency)
        if latency <= DEADLINE_S:
            window_in_time[r.tenant] += 1
            window_goodput[r.tenant] += r.status < 500
    return Replay(accepted, refused, nearest_rank(latencies, 99) if latencies else 0.0,
                  nearest_rank(window_latencies, 99) if window_latencies else 0.0,
                  window_offered, window_in_time, window_goodput, worst, refusals)


class Episode(NamedTuple):
    """A spell of refusals: refusals less than EPISODE_GAP_S apart belong to one episode."""
    start_s: float
    end_s: float
    counts: tuple[tuple[str, str, int], ...]     # (tenant, reason, count), largest first

    @property
    def refused(self) -> int:
        return sum(n for *_, n in self.counts)


EPISODE_GAP_S = 300.0


def episodes(refusals: list[tuple[float, str, str]]) -> list[Episode]:
    """Group the refusals into spells: what the limiter shed, and when.

    >>> episodes([(10.0, "a", "rate"), (20.0, "a", "rate"), (900.0, "b", "shed")])[0]
    Episode(start_s=10.0, end_s=20.0, counts=(('a', 'rate', 2),))
    """
    spells: list[list[tuple[float, str, str]]] = []
    for refusal in refusals:
        if spells and refusal[0] - spells[-1][-1][0] < EPISODE_GAP_S:
            spells[-1].append(refusal)
        else:
            spells.append([refusal])
    out = []
    for spell in spells:
        counts = Counter((tenant, reason) for _, tenant, reason in spell)
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        out.append(Episode(spell[0][0], spell[-1][0], tuple((t, r, n) for (t, r), n in ranked)))
    return out


@dataclass
class Result:
    """Both replays, the limits, and what the comparison shows."""
    limits: Limits
    capacity: int
    tenants: list[tuple[str, str]]               # (name, priority)
    offered: dict[str, int]
    without: Replay
    limited: Replay
    window: tuple[float, float]                  # the noisy tenant's burst
    noisy: str                                   # its tenant
    others_success: float                        # the other tenants, in the window, with limits
    others_success_without: float
    conserved: bool                              # offered = accepted + every refusal, each tenant
    episodes: list[Episode]


def noisy_window(scenario: traffic.Scenario) -> tuple[str, float, float]:
    """The window to watch: the biggest traffic surge of a batch tenant (else of anyone)."""
    priority = {t.name: t.priority for t in scenario.tenants}
    surges = sorted((i for i in scenario.incidents if i.kind == "traffic"),
                    key=lambda i: (priority.get(i.tenant) != "batch", -i.factor, i.start_s))
    if not surges:
        return "", 0.0, scenario.duration_s
    return surges[0].tenant, surges[0].start_s, surges[0].end_s


def success(replay_: Replay, tenants: list[str]) -> float:
    """The share of these tenants' requests in the window that were admitted and answered in time
    (the story's own failures aside: no limiter causes them or cures them)."""
    offered = sum(replay_.window_offered[t] for t in tenants)
    return sum(replay_.window_in_time[t] for t in tenants) / offered if offered else 1.0


def run(requests: list[traffic.Request] | None = None, *, seed: int = traffic.DEFAULT_SEED,
        scenario: traffic.Scenario = traffic.STORY, limits: Limits = Limits()) -> Result:
    """Replay the story without limits and with them; check conservation; compare."""
    if requests is None:
        requests = traffic.generate(seed=seed, scenario=scenario)
    noisy, start, end = noisy_window(scenario)
    gateway = Gateway(plans_for(scenario, limits), scenario.capacity, limits.max_in_flight,
                      limits.shed_at)
    without = summarize(requests, replay(requests, scenario.capacity), scenario, (start, end))
    limited = summarize(requests, replay(requests, scenario.capacity, gateway), scenario,
                        (start, end))
    # Conservation, from independent counts: the requests the story offered, those the service
    # served, those the gateway counted as refused; and every admitted request gave its slot back.
    offered = Counter(map(_tenant_of, requests))
    names = [t.name for t in scenario.tenants]
    conserved = gateway.concurrency.in_flight == 0 and all(
        offered[n] == without.accepted[n]
        == limited.accepted[n] + sum(gateway.refused[n].values())
        and gateway.refused[n] == limited.refused[n] for n in names)
    others = [n for n in names if n != noisy]
    return Result(limits, scenario.capacity, [(t.name, t.priority) for t in scenario.tenants],
                  {n: offered[n] for n in names}, without, limited, (start, end), noisy,
                  success(limited, others), success(without, others), conserved,
                  episodes(limited.refusals))


# ── the screen ──────────────────────────────────────────────────────────────────────────────────

NOTABLE = 5      # spells with fewer refusals than this are folded into one line ...
LISTED = 6       # ... and so are the spells after the sixth


def clock_span(start: float, end: float) -> str:
    return f"{traffic.clock(start)}-{traffic.clock(end)}"


def describe_spell(e: Episode, width: int = 60) -> str:
    """One spell of refusals in words, the biggest first, as many as fit in `width` characters.

    >>> describe_spell(Episode(0.0, 60.0, (("umbrella", "shed", 65), ("acme", "overload", 5))))
    'umbrella 65 x 503 shed, acme 5 x 503 overload'
    """
    total = e.refused
    text, shown = "", 0
    for tenant, reason, n in e.counts:
        candidate = f"{text}, " * bool(text) + f"{tenant} {n:,} x {STATUS[reason]} {reason}"
        rest = total - shown - n
        if text and len(candidate) + (len(f", +{rest:,} more") if rest else 0) > width:
            break
        text, shown = candidate, shown + n
    return f"{text}, +{total - shown:,} more" if shown < total else text


def report(result: Result) -> str:
    lim, w, r = result.limits, result.without, result.limited
    start, end = result.window
    window = clock_span(start, end)
    batch = [n for n, p in result.tenants if p == "batch"]
    interactive = [n for n, p in result.tenants if p == "interactive"]
    lines = [
        f"The story replayed twice through {result.capacity} slots: without limits, then with them.",
        f"Limits: each tenant {lim.headroom:g}x its usual rate, {lim.burst} at once; "
        f"{lim.tokens_per_minute:,} tokens/min and",
        f"{lim.requests_per_day:,} requests/day each; at most {lim.max_in_flight} in flight; "
        f"batch shed above {lim.shed_at * 100:.0f} % busy.",
        "",
    ]
    rows = [[name, priority, f"{result.offered[name]:,}", f"{r.accepted[name]:,}",
             *(f"{r.refused[name][reason]:,}" for reason in REASONS)]
            for name, priority in result.tenants]
    lines += table(rows, ["tenant", "kind", "offered", "accepted", *REASONS]).splitlines()
    lines.append("  429 for rate, tokens, quota: the tenant is over; 503 for the rest: we are busy")
    lines.append("  offered = accepted + every refusal, for every tenant: "
                 + ("holds" if result.conserved else "BROKEN"))
    lines.append("")

    def served(replay_: Replay, tenants: list[str]) -> str:
        return f"{sum(replay_.window_goodput[t] for t in tenants):,}"

    lines += table([
        ["interactive p99 latency, all day", f"{w.interactive_p99_s:.1f} s",
         f"{r.interactive_p99_s:.1f} s"],
        [f"interactive p99 latency, {window}", f"{w.window_interactive_p99_s:.1f} s",
         f"{r.window_interactive_p99_s:.1f} s"],
        [f"other tenants' success, {window}", percent(result.others_success_without),
         percent(result.others_success)],
        [f"goodput {window}, interactive", served(w, interactive), served(r, interactive)],
        [f"goodput {window}, batch", served(w, batch), served(r, batch)],
    ], ["", "without limits", "with limits"]).splitlines()
    lines.append(f"  success: admitted and answered in {DEADLINE_S:.0f} s; goodput: those answered OK,"
                 f" in time")
    lines.append("")
    top = max(max(w.worst_wait_s), 1.0)
    lines.append(f"Longest wait for a slot per 5 minutes, 0 to {top:.0f} s "
                 f"(with limits, {max(r.worst_wait_s):.1f} s at most):")
    for label, series in (("without", w.worst_wait_s), ("with", r.worst_wait_s)):
        lines.append(f"{label:<8}{sparkline(squeeze(series, 72), low=0.0, high=top)}")
    lines.append("")
    lines.append("What the limits refused, and when:")
    notable = [e for e in result.episodes if e.refused >= NOTABLE]
    for e in notable[:LISTED]:
        lines.append(f"  {clock_span(e.start_s, e.end_s):>9}  {describe_spell(e, 66)}")
    rest = [e for e in result.episodes if e not in notable[:LISTED]]
    if rest:
        n = sum(e.refused for e in rest)
        when = ", ".join(traffic.clock(e.start_s) for e in rest[:4]) + ", ..." * (len(rest) > 4)
        lines.append(f"  and {n:,} more in {len(rest)} other spell{'s' * (len(rest) > 1)} "
                     f"({when})")
    return "\n".join(lines)


# ── the command line ────────────────────────────────────────────────────────────────────────────

def main(argv: list[str] | None = None) -> int:
    defaults = Limits()
    parser = argparse.ArgumentParser(
        description="Replay the story through a gateway of rate limits, quotas, a concurrency\n"
                    "limit and priority shedding, and compare with no limits at all.\n"
                    "The gateway over real HTTP: solution/tools/gateway.py.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  %(prog)s --headroom 15                  the token limit binds instead\n"
               "  %(prog)s --headroom 15 --tpm 1000000    only shedding protects the service\n"
               "  %(prog)s --rpd 3000                     the daily quota runs out")
    parser.add_argument("--seed", metavar="N", type=non_negative_int, default=traffic.DEFAULT_SEED,
                        help=f"seed of the story (default {traffic.DEFAULT_SEED})")
    parser.add_argument("--headroom", metavar="X", type=positive_float, default=defaults.headroom,
                        help="each tenant may send this multiple of its usual rate "
                             f"(default {defaults.headroom:g})")
    parser.add_argument("--burst", type=positive_int, metavar="N", default=defaults.burst,
                        help=f"requests a tenant may send at once (default {defaults.burst})")
    parser.add_argument("--tpm", metavar="N", type=positive_int, default=defaults.tokens_per_minute,
                        help="tokens per minute per tenant, prompt + max_tokens reserved "
                             f"(default {defaults.tokens_per_minute:,})")
    parser.add_argument("--rpd", metavar="N", type=positive_int, default=defaults.requests_per_day,
                        help=f"requests per day per tenant (default {defaults.requests_per_day:,})")
    parser.add_argument("--max-in-flight", metavar="N", type=positive_int,
                        default=defaults.max_in_flight,
                        help="requests in flight the gateway allows, waiting ones included "
                             f"(default {defaults.max_in_flight}: 10 slots + a queue of 5)")
    parser.add_argument("--shed-at", metavar="F", type=fraction, default=defaults.shed_at,
                        help="shed batch requests once this share of the slots is busy "
                             f"(default {defaults.shed_at:g})")
    args = parser.parse_args(argv)
    limits = Limits(args.headroom, args.burst, args.tpm, args.rpd, args.max_in_flight, args.shed_at)
    print(report(run(seed=args.seed, limits=limits)))
    return 0


if __name__ == "__main__":
    run_cli(main)
