"""Limiters: the building blocks a service puts in front of a model, ready to lift as they are.

    TokenBucket(rate, burst)         a rate and a burst; the refill is lazy and exact
    TokenRateLimit(tokens_per_min)   tokens per minute, reserved up front and refunded after, as
                                     LLM providers count them
    Quota(limit, period_s)           an allowance per period (a day), whole again at the boundary
    ConcurrencyLimiter(max)          a cap on requests in flight (Little's law says why)
    sheds(priority, in_flight, ...)  priority shedding: batch before interactive

Each answers a Decision(allowed, retry_after_s, remaining). Each is thread-safe (one lock makes
read, refill and spend a single step) and reads a real clock unless given `now`, so a simulation
passes its own clock and a server passes none. Lab 4 composes them into a gateway.

    >>> bucket = TokenBucket(rate=2, burst=4)          # 2 requests/s, 4 at once
    >>> [bucket.try_acquire(now=0.0).allowed for _ in range(5)]
    [True, True, True, True, False]
    >>> bucket.try_acquire(now=0.0).retry_after_s      # one token comes back in 1/2 s
    0.5
    >>> bucket.try_acquire(now=0.5).allowed
    True
"""

from __future__ import annotations

import math
import threading
import time
from typing import NamedTuple


# ── the token bucket: a rate and a burst ───────────────────────────────────────────────────────


def _amount(value: float, what: str) -> None:
    """A cost, an amount or a refund must be a finite number, 0 or more."""
    if not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"{what} must be 0 or more, not {value!r}")


def _time(now: float | None, clock) -> float:
    """`now`, or the clock's reading when None; a time that is not a finite number (inf, NaN)
    is refused: it would mint a full bucket, or open a period that never ends."""
    if now is None:
        return clock()
    if isinstance(now, bool) or not isinstance(now, (int, float)) or not math.isfinite(now):
        raise ValueError(f"now must be a finite number of seconds, not {now!r}")
    return now


class Decision(NamedTuple):
    """What a limiter answered. `retry_after_s` is 0 when allowed; when refused, the seconds after
    which the same request would be allowed (math.inf if it never can be: it asks for more than
    the limit holds). `remaining` is what is left to spend after this decision."""
    allowed: bool
    retry_after_s: float
    remaining: float


# Floating point: a client that waits exactly retry_after_s must find its token back, even when
# (cost - tokens) / rate * rate rounds to a hair below cost (a billionth of a token), and when
# now + retry_after_s rounds to the clock's resolution: math.ulp(now) is 1.9 ns after 116 days of
# time.monotonic(), worth rate x 1.9 ns of tokens. The slack covers both, and no more.
_SLACK = 1e-9


def _slack(rate: float, now: float) -> float:
    return _SLACK + 4 * rate * math.ulp(now)


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
        _amount(cost, "cost")
        now = _time(now, time.monotonic)
        with self._lock:
            tokens = self._tokens
            if now > self._last:                 # only time moving forward adds tokens
                tokens += (now - self._last) * self.rate
                if tokens > self.burst:
                    tokens = self.burst
                self._last = now
            if tokens >= cost - _slack(self.rate, now):
                tokens -= cost
                self._tokens = tokens = tokens if tokens > 0.0 else 0.0
                return Decision(True, 0.0, tokens)
            self._tokens = tokens
            wait = (cost - tokens) / self.rate if cost <= self.burst else math.inf
            return Decision(False, wait, tokens)

    def refund(self, amount: float, now: float | None = None) -> None:
        """Give back tokens that were taken but not used (never above burst)."""
        _amount(amount, "a refund")
        now = _time(now, time.monotonic)
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

    def __init__(self, tokens_per_minute: float):
        if not (tokens_per_minute > 0 and math.isfinite(tokens_per_minute)):
            raise ValueError(f"tokens per minute must be greater than 0, not {tokens_per_minute!r}")
        super().__init__(tokens_per_minute / 60.0, tokens_per_minute)

    reserve = TokenBucket.try_acquire
    settle = TokenBucket.refund

    def charge(self, amount: float, now: float | None = None) -> None:
        """Take tokens an answer used beyond what it reserved, even below zero: the tenant owes
        them, and its next requests wait until the bucket has refilled past the debt."""
        _amount(amount, "a charge")
        now = _time(now, time.monotonic)
        with self._lock:
            tokens = self._tokens
            if now > self._last:
                tokens = min(self.burst, tokens + (now - self._last) * self.rate)
                self._last = now
            self._tokens = tokens - amount


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

    def __init__(self, limit: int, period_s: float = 86_400.0):
        if not (limit > 0 and math.isfinite(limit)):
            raise ValueError(f"a quota must be greater than 0, not {limit!r}")
        if not (period_s > 0 and math.isfinite(period_s)):
            raise ValueError(f"a quota period must be greater than 0 seconds, not {period_s!r}")
        self.limit, self.period_s = limit, float(period_s)
        self._left, self._resets_at = limit, -math.inf     # no period yet: the first call opens one
        self._lock = threading.Lock()

    def try_consume(self, amount: int = 1, now: float | None = None) -> Decision:
        _amount(amount, "amount")
        now = _time(now, time.time)
        with self._lock:
            if now >= self._resets_at:        # a new period: the allowance is whole again
                self._left = self.limit
                self._resets_at = (now // self.period_s + 1) * self.period_s
            left = self._left
            if amount <= left:
                self._left = left = left - amount
                return Decision(True, 0.0, left)
            wait = self._resets_at - now if amount <= self.limit else math.inf
            return Decision(False, wait, left)

    def refund(self, amount: int, now: float | None = None) -> None:
        """Give back units taken by a request that was refused further on (within the period)."""
        _amount(amount, "a refund")
        now = _time(now, time.time)
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

    def __init__(self, max_in_flight: int):
        if isinstance(max_in_flight, bool) or not (isinstance(max_in_flight, int) and max_in_flight > 0):
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
