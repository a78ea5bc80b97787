"""Lab 4: when one tenant floods the service, who pays? Rate limits, quotas, a concurrency limit
and priority shedding, replayed on the story.

Extends M25 and M29: the model gateway gets the limits a real API has. The story's deployment
serves 10 requests at a time. At 4:00 the batch tenant re-runs a month of summaries at fifteen
times its rate. Without limits the queue grows and every tenant waits; with limits the gateway
refuses the excess at the door, fast and explicitly, and says when to come back.

Read it in this order (about ten minutes):
1. the limiters, in solution/limiters.py: `TokenBucket.try_acquire` (a dozen lines: the whole
   idea), `TokenRateLimit`, `Quota`, `ConcurrencyLimiter`, `sheds`;
2. `Gateway.admit`: the limiters in Stripe's order; 429 when the tenant is over its limits, 503
   when the service is, and what each refusal gives back;
3. `Limits` (each default says why), then `replay`: the story through a capacity model of the
   service, without and with the gateway; `summarize` and `episodes` say who paid, and when;
4. `run()`, `report()` (the screen), `main()` (the what-if flags).

    python3 solution/lab4_limits.py [--headroom 1.5 --max-in-flight 12 ...]   (--help for all)
    python3 solution/tools/gateway.py live         the same gateway over real HTTP, for seconds

Remember: a limit turns overload into fast, explicit refusals for the one who causes it, instead of
slow answers for everyone.
"""

from __future__ import annotations

import argparse
import bisect
import heapq
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

if __package__ in (None, ""):          # run as a script: make the `solution` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from solution import traffic
from solution.cli import fraction, positive_float, positive_int, run_cli, seed_value
from solution.limiters import (ConcurrencyLimiter, Decision, Quota, TokenBucket, TokenRateLimit,
                                sheds)
from solution.numeric import nearest_rank, percent
from solution.paging import Episode, describe_spell, episodes
from solution.terminal import plural, sparkline, squeeze, table


# ── the gateway: the limiters in Stripe's order, answered as HTTP does ─────────────────────────

class Plan(NamedTuple):
    """What one tenant may use: its limits, as a provider's tier states them."""
    priority: str             # "interactive" or "batch"
    rate: float               # requests per second, sustained (the bucket's refill)
    burst: float              # requests at once (the bucket's size)
    tokens_per_minute: int    # prompt + max_tokens reserved per minute
    requests_per_day: int     # the daily quota


class Admission(NamedTuple):
    """The gateway's answer: HTTP status, why, when to come back, the deciding limiter's view."""
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
    2. the concurrency limit on requests in flight (one model serves every tenant): 503;
    3. priority shedding: batch is refused first once the service is busy: 503.

    A request refused at one step is not charged by the steps before it: each gives its share back.
    `admit()` answers, and counts each refusal in `refused` (tenant -> reason -> count: the metric a
    real gateway exports). Every admitted request must be followed by `complete()`, which frees
    its slot and refunds its unused tokens. `now` is the clock for the buckets (None reads
    time.monotonic()) and for the quotas (None reads time.time()); a simulation passes its own.
    Each limiter is thread-safe, the gateway as a whole is not: a server that shares one between
    threads takes a lock around admit() and complete() (solution/tools/gateway.py does).
    """

    def __init__(self, plans: dict[str, Plan], capacity: int, max_in_flight: int, shed_at: float):
        if not (isinstance(capacity, int) and capacity > 0):
            raise ValueError(f"capacity must be a whole number greater than 0, not {capacity!r}")
        if not 0.0 <= shed_at <= 1.0:
            raise ValueError(f"shed_at must be between 0 and 1, not {shed_at!r}")
        self.capacity, self.shed_at = capacity, shed_at
        self.concurrency = ConcurrencyLimiter(max_in_flight)
        self.tenants = {name: _Limits(plan=plan, requests=TokenBucket(plan.rate, plan.burst),
                                      tokens=TokenRateLimit(plan.tokens_per_minute),
                                      quota=Quota(plan.requests_per_day, 86_400.0))
                        for name, plan in sorted(plans.items())}
        self.refused = {name: dict.fromkeys(REASONS, 0) for name in self.tenants}

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
            return Admission(status=200, reason="ok", retry_after_s=0.0, decision=decision)
        requests.refund(1, now)
        tokens.settle(cost, now)
        quota.refund(1, now)
        return self._refuse(tenant, reason, OVERLOAD_RETRY_AFTER_S, None)

    def _refuse(self, tenant: str, reason: str, retry_after_s: float,
                decision: Decision | None) -> Admission:
        self.refused[tenant][reason] += 1
        return Admission(status=STATUS[reason], reason=reason, retry_after_s=retry_after_s,
                         decision=decision)

    def complete(self, tenant: str, unused_tokens: int, now: float | None = None) -> None:
        """An admitted request finished (or failed): free its slot, refund its unused tokens."""
        self.concurrency.release()
        self.tenants[tenant].tokens.settle(unused_tokens, now)


# ── the service: a capacity model, replayed ─────────────────────────────────────────────────────

DEADLINE_S = traffic.GATEWAY_TIMEOUT_MS / 1000   # a client that waited 30 s has given up


@dataclass(frozen=True)
class Limits:
    """The gateway's settings, and why these defaults.

    headroom   each tenant may send this multiple of its usual rate, sustained;
    burst      ... and this many requests at once. Why 2x and 10: a bucket of b requests refilled
               at h times a Poisson arrival rate refuses a request (holds fewer than one token)
               with a chance of at most e^(-theta (b - 1)), where theta solves e^theta - 1 =
               h theta (the Lundberg exponent of the bucket's deficit, a queue of unit jobs):
               theta = 1.26 at h = 2, so e^-11.3, 12 in a million. Usual traffic is never refused;
               a retry loop at 4x or a re-run at 15x empties the bucket within seconds.
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
    return {t.name: Plan(priority=t.priority, rate=limits.headroom * t.rate_rps, burst=limits.burst,
                         tokens_per_minute=limits.tokens_per_minute,
                         requests_per_day=limits.requests_per_day)
            for t in scenario.tenants}


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
    slots = [0.0] * capacity                          # when each slot frees up: a min-heap
    completions: list[tuple[float, str, int]] = []    # (finish, tenant, unused tokens): a min-heap
    waits: list[float | str] = []
    for r in requests:
        if gateway:
            while completions and completions[0][0] <= r.ts:
                done, tenant, unused = heapq.heappop(completions)
                gateway.complete(tenant, unused, done)
            verdict = gateway.admit(r.tenant, r.prompt_tokens, r.max_tokens, r.ts)
            if verdict.status != 200:
                waits.append(verdict.reason)
                continue
        begin = max(slots[0], r.ts)
        finish = begin + r.latency_ms / 1000
        heapq.heapreplace(slots, finish)
        if gateway:
            heapq.heappush(completions, (finish, r.tenant, r.max_tokens - r.completion_tokens))
        waits.append(begin - r.ts)
    while completions:                                # the day is over: the last requests finish
        done, tenant, unused = heapq.heappop(completions)
        gateway.complete(tenant, unused, done)
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
    lo = bisect.bisect_left(requests, window[0], key=lambda r: r.ts)
    hi = bisect.bisect_left(requests, window[1], key=lambda r: r.ts)
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
            window_goodput[r.tenant] += 1 if r.status < 500 else 0
    p99 = nearest_rank(latencies, 99) if latencies else 0.0
    window_p99 = nearest_rank(window_latencies, 99) if window_latencies else 0.0
    return Replay(accepted=accepted, refused=refused, interactive_p99_s=p99,
                  window_interactive_p99_s=window_p99, window_offered=window_offered,
                  window_in_time=window_in_time, window_goodput=window_goodput,
                  worst_wait_s=worst, refusals=refusals)


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
    offered = Counter(r.tenant for r in requests)
    names = [t.name for t in scenario.tenants]
    conserved = gateway.concurrency.in_flight == 0 and all(
        offered[n] == without.accepted[n]
        == limited.accepted[n] + sum(gateway.refused[n].values())
        and gateway.refused[n] == limited.refused[n] for n in names)
    others = [n for n in names if n != noisy]
    return Result(limits=limits, capacity=scenario.capacity,
                  tenants=[(t.name, t.priority) for t in scenario.tenants],
                  offered={n: offered[n] for n in names}, without=without, limited=limited,
                  window=(start, end), noisy=noisy, others_success=success(limited, others),
                  others_success_without=success(without, others), conserved=conserved,
                  episodes=episodes(limited.refusals))


# ── the screen ──────────────────────────────────────────────────────────────────────────────────

NOTABLE = 5      # spells with fewer refusals than this are folded into one line ...
LISTED = 6       # ... and so are the spells after the sixth


def clock_span(start: float, end: float) -> str:
    return f"{traffic.clock(start)}-{traffic.clock(end)}"


def _comparison(result: Result) -> list[str]:
    """Without limits and with them: latency, the other tenants' success, goodput in the window."""
    w, r = result.without, result.limited
    window = clock_span(*result.window)
    batch = [n for n, p in result.tenants if p == "batch"]
    interactive = [n for n, p in result.tenants if p == "interactive"]
    def served(replay_: Replay, tenants: list[str]) -> str:
        return f"{sum(replay_.window_goodput[t] for t in tenants):,}"
    return table([
        ["interactive p99 latency, all day", f"{w.interactive_p99_s:.1f} s",
         f"{r.interactive_p99_s:.1f} s"],
        [f"interactive p99 latency, {window}", f"{w.window_interactive_p99_s:.1f} s",
         f"{r.window_interactive_p99_s:.1f} s"],
        [f"other tenants' success, {window}", percent(result.others_success_without),
         percent(result.others_success)],
        [f"goodput {window}, interactive", served(w, interactive), served(r, interactive)],
        [f"goodput {window}, batch", served(w, batch), served(r, batch)],
    ], ["", "without limits", "with limits"]).splitlines() + [
        f"  success: admitted and answered in {DEADLINE_S:.0f} s; "
        "goodput: those answered OK, in time"]


def report(result: Result) -> str:
    lim, w, r = result.limits, result.without, result.limited
    lines = [f"The story replayed twice through {result.capacity} slots: without limits, "
             "then with them.",
             f"Limits: each tenant {lim.headroom:g}x its usual rate, {lim.burst} at once; "
             f"{lim.tokens_per_minute:,} tokens/min and",
             f"{lim.requests_per_day:,} requests/day each; at most {lim.max_in_flight} in flight; "
             f"batch shed above {lim.shed_at * 100:.0f} % busy.", ""]
    rows = [[name, priority, f"{result.offered[name]:,}", f"{r.accepted[name]:,}",
             *(f"{r.refused[name][reason]:,}" for reason in REASONS)]
            for name, priority in result.tenants]
    lines += table(rows, ["tenant", "kind", "offered", "accepted", *REASONS]).splitlines()
    lines += ["  429 for rate, tokens, quota: the tenant is over; 503 for the rest: we are busy",
              "  offered = accepted + every refusal, for every tenant: "
              + ("holds" if result.conserved else "BROKEN"), ""] + _comparison(result) + [""]
    top = max(max(w.worst_wait_s), 1.0)
    lines.append(f"Longest wait for a slot per 5 minutes, 0 to {top:.0f} s "
                 f"(with limits, {max(r.worst_wait_s):.1f} s at most):")
    for label, series in (("without", w.worst_wait_s), ("with", r.worst_wait_s)):
        lines.append(f"{label:<8}{sparkline(squeeze(series, 72), low=0.0, high=top)}")
    lines += ["", "What the limits refused, and when:"]
    notable = [e for e in result.episodes if e.refused >= NOTABLE][:LISTED]
    lines += [f"  {clock_span(e.start_s, e.end_s):>9}  {describe_spell(e, STATUS, 66)}"
              for e in notable]
    rest = [e for e in result.episodes if e not in notable]
    if rest:
        when = ", ".join(traffic.clock(e.start_s) for e in rest[:4])
        when += ", ..." if len(rest) > 4 else ""
        lines.append(f"  and {sum(e.refused for e in rest):,} more in "
                     f"{plural(len(rest), 'other spell')} ({when})")
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
    for flag, kind, default, what in (
            ("--seed", seed_value, traffic.DEFAULT_SEED, "seed of the story"),
            ("--headroom", positive_float, defaults.headroom,
             "each tenant may send this multiple of its usual rate"),
            ("--burst", positive_int, defaults.burst, "requests a tenant may send at once"),
            ("--tpm", positive_int, defaults.tokens_per_minute,
             "tokens per minute per tenant, prompt + max_tokens reserved"),
            ("--rpd", positive_int, defaults.requests_per_day, "requests per day per tenant"),
            ("--max-in-flight", positive_int, defaults.max_in_flight,
             "requests in flight the gateway allows, waiting ones included "
             "(10 slots + a queue of 5)"),
            ("--shed-at", fraction, defaults.shed_at,
             "shed batch requests once this share of the slots is busy")):
        parser.add_argument(flag, type=kind, default=default, metavar="N",
                            help=f"{what} (default {default:g})")
    args = parser.parse_args(argv)
    limits = Limits(headroom=args.headroom, burst=args.burst, tokens_per_minute=args.tpm,
                    requests_per_day=args.rpd, max_in_flight=args.max_in_flight,
                    shed_at=args.shed_at)
    print(report(run(seed=args.seed, limits=limits)))
    return 0


if __name__ == "__main__":
    run_cli(main)
