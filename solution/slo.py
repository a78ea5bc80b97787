"""SLOs, error budgets and burn rates: the SRE Workbook's "Alerting on SLOs", in code.

An SLO promises a share of good events (99.5 % of requests answered); the error budget is the rest
(0.5 %). Burn rate = observed error ratio / (1 - SLO): at 1x the budget lasts exactly the SLO
period; at 14.4x a 30-day budget is gone in 50 hours. Budget consumed = burn x window / period,
so the burn that spends a fraction f of a period P within a window W is f x P / W.

    burn_rate(bad, total, slo)                      observed error ratio / budget
    burn_rate_threshold(fraction, window_hours=W)   f x P / W
    WORKBOOK_RULES                                  page 1 h & 5 m at 14.4x, page 6 h & 30 m at 6x,
                                                    ticket 3 d & 6 h at 1x (30-day budget)
    multiwindow(bad, total, slo, rule)              a rule evaluated every minute: long AND short
                                                    window over the threshold
    per_minute(requests, minutes, limit_s)          the counts the rules read, minute by minute
    slo_verdicts(counts, slo, latency_slo)          every rule on both SLOs, from those counts
    burn_alert(verdicts)                            the page-severity rules as pages
    budget_allowance(slo), releases_frozen(spent)   the four-week budget, and the Workbook's
                                                    error budget policy that freezes releases

Lab 2 measures the story's burn with it; lab 5's error budget policy is counted on the same budget.

    >>> burn_rate_threshold(0.02, period_days=30, window_hours=1)   # 2 % of the budget in 1 h
    14.4
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from solution import traffic
from solution.paging import Page, pages_from


def burn_rate(bad: int, total: int, slo: float) -> float | None:
    """Observed error ratio over the error budget; None with no events (no traffic, no verdict).

    >>> burn_rate(72, 1000, 0.995)     # 7.2 % bad against a 0.5 % budget
    14.4
    """
    if total == 0:
        return None
    return round(bad / total / (1.0 - slo), 9)      # round: 14.4, not 14.399999999999999


def burn_rate_threshold(budget_fraction: float, *, period_days: float = 30, window_hours: float) -> float:
    """The burn rate that spends `budget_fraction` of a `period_days` budget within `window_hours`
    (SRE Workbook): budget consumed = burn x window / period, so burn = fraction x period / window.

    >>> burn_rate_threshold(0.05, period_days=30, window_hours=6), burn_rate_threshold(0.10, window_hours=72)
    (6.0, 1.0)
    """
    return round(budget_fraction * period_days * 24 / window_hours, 9)


@dataclass(frozen=True)
class BurnRule:
    """One line of the Workbook's table: alert when the long window AND the short window (1/12 of
    the long) both burn above the threshold (the Workbook's rules compare with >). The long window proves the burn is real and big; the
    short one proves it is still going on, so the alert resets minutes after the fire is out."""
    severity: str           # "page" (wake someone) or "ticket" (next working day)
    budget_fraction: float  # of the period's budget this rule guards
    long_hours: float

    @property
    def short_hours(self) -> float:
        return self.long_hours / 12

    @property
    def name(self) -> str:
        return f"{self.severity} {hours_text(self.long_hours)} & {hours_text(self.short_hours)}"


def hours_text(h: float) -> str:
    if h >= 24 and h % 24 == 0:
        return f"{h / 24:g}d"
    return f"{h:g}h" if h >= 1 else f"{h * 60:g}m"


# SRE Workbook, "Alerting on SLOs", the recommended multiwindow rules (30-day budget): spending
# 2 % of the budget in 1 h or 5 % in 6 h pages; 10 % in 3 days files a ticket. The thresholds are
# computed from these, never typed in.
WORKBOOK_RULES = (BurnRule("page", 0.02, 1), BurnRule("page", 0.05, 6), BurnRule("ticket", 0.10, 72))


@dataclass(frozen=True)
class RuleVerdict:
    """A burn rule over one SLO, evaluated at the end of every minute, as a Prometheus rule is."""
    rule: str
    severity: str
    slo_name: str
    threshold: float
    firing: tuple[bool | None, ...]     # per minute: None = not enough history for the long window
    max_long_burn: float | None         # the highest long-window burn seen where it could be judged
    last_long_burn: float | None
    history_h: float                    # the data available

    @property
    def evaluated(self) -> int:
        return sum(f is not None for f in self.firing)

    def summary(self) -> str:
        """One rule on one SLO, in a few words: never judged, fired when, or quiet."""
        if not self.evaluated:
            return f"not enough history ({hours_text(self.history_h)})"
        if self.max_long_burn is None:
            return "no events to judge"
        fired = pages_from([bool(f) for f in self.firing], [()] * len(self.firing), 60.0, self.rule)
        if len(fired) == 1:
            return f"fired {traffic.clock(fired[0].fired_s)}-{traffic.clock(fired[0].end_s)} ({self.max_long_burn:.1f}x)"
        if fired:
            return f"fired {len(fired)}x, first {traffic.clock(fired[0].fired_s)} ({self.max_long_burn:.1f}x)"
        if self.evaluated == 1:                    # judged once, at the very end of the data
            return f"quiet: {self.last_long_burn:.3f}x at {traffic.clock(len(self.firing) * 60)}"
        return f"quiet (max {self.max_long_burn:.1f}x)"


def multiwindow(bad: Sequence[int], total: Sequence[int], slo: float, rule: BurnRule, *,
                period_days: float = 30, slo_name: str = "availability") -> RuleVerdict:
    """Evaluate one rule at the end of every minute from per-minute counts of bad and total
    events. Before the long window has data behind it, the verdict is None: "not enough
    history", never a burn computed on less data than the rule asks for."""
    threshold = burn_rate_threshold(rule.budget_fraction, period_days=period_days,
                                    window_hours=rule.long_hours)
    long_m, short_m = round(rule.long_hours * 60), max(1, round(rule.short_hours * 60))
    sum_bad, sum_total = [0], [0]
    for b, t in zip(bad, total):
        sum_bad.append(sum_bad[-1] + b)
        sum_total.append(sum_total[-1] + t)

    def burn_over(end: int, minutes: int) -> float | None:
        start = end - minutes
        return burn_rate(sum_bad[end] - sum_bad[start], sum_total[end] - sum_total[start], slo)

    firing: list[bool | None] = []
    long_burns = []
    for end in range(1, len(bad) + 1):
        if end < long_m:
            firing.append(None)
            continue
        long_burn, short_burn = burn_over(end, long_m), burn_over(end, short_m)
        if long_burn is not None:
            long_burns.append(long_burn)
        firing.append(long_burn is not None and short_burn is not None and
                      long_burn > threshold and short_burn > threshold)
    return RuleVerdict(rule=rule.name, severity=rule.severity, slo_name=slo_name,
                       threshold=threshold, firing=tuple(firing),
                       max_long_burn=max(long_burns, default=None),
                       last_long_burn=long_burns[-1] if long_burns else None,
                       history_h=len(bad) / 60)


def per_minute(requests, minutes: int, latency_limit_s: float) -> tuple[list[int], ...]:
    """Per-minute counts for the burn-rate rules: (5xx, all) for availability, (slow, interactive
    successes) for latency. The rules keep their own one-minute evaluation step, whatever the
    dashboard's window (a Prometheus rule is evaluated every minute or so)."""
    failed, total, slow, served = ([0] * minutes for _ in range(4))
    limit_ms = latency_limit_s * 1000.0
    for r in requests:
        m = int(r.ts // 60.0)
        if 0 <= m < minutes:
            total[m] += 1
            if r.status >= 500:
                failed[m] += 1
            elif r.priority == "interactive":
                served[m] += 1
                slow[m] += r.latency_ms > limit_ms
    return failed, total, slow, served


def slo_verdicts(counts: tuple[list[int], ...], slo: float, latency_slo: float,
                 period_days: float = 30) -> list[RuleVerdict]:
    """Every Workbook rule on both SLOs, from per_minute's counts: availability (5xx of all
    requests) and latency (interactive successes slower than the limit)."""
    failed, total, slow, served = counts
    return [multiwindow(bad, events, target, rule, period_days=period_days, slo_name=name)
            for name, bad, events, target in (("availability", failed, total, slo),
                                              ("latency", slow, served, latency_slo))
            for rule in WORKBOOK_RULES]


def rule_lines(verdicts: Sequence[RuleVerdict]) -> list[str]:
    """The Workbook's rules side by side on both SLOs, as lab 2's screen shows them: a row a rule,
    its burn threshold, what it did on availability and on latency."""
    lines = [f"{'burn-rate rule':<16} {'burn':>7} {'availability SLO (max)':<25} latency SLO"]
    by_slo = [[v for v in verdicts if v.slo_name == name] for name in ("availability", "latency")]
    for rule, avail, lat in zip(WORKBOOK_RULES, *by_slo):
        lines.append(f"  {rule.name:<14} {avail.threshold:>6.4g}x {avail.summary():<25} "
                     f"{lat.summary()}")
    return lines


def burn_alert(verdicts: Sequence[RuleVerdict]) -> list[Page]:
    """Page when any page-severity burn rule fires, on any SLO. An availability burn pages on
    "errors", a latency burn on "latency". Tickets do not page."""
    rules = [v for v in verdicts if v.severity == "page"]
    minutes = max((len(v.firing) for v in rules), default=0)
    paging, signals = [], []
    for m in range(minutes):
        hot = [v for v in rules if v.firing[m]]
        paging.append(bool(hot))
        signals.append({"errors" if v.slo_name == "availability" else "latency" for v in hot})
    return pages_from(paging, signals, 60.0, "SLO burn")


# ── the error budget policy ─────────────────────────────────────────────────────────────────────

WEEK_MIN = 7 * 24 * 60
BUDGET_WEEKS = 4
def budget_allowance(slo: float) -> float:
    """Bad minutes the four-week budget allows: (1 - SLO) x the period (SRE Workbook,
    "Implementing SLOs"). At 99.5 % over 28 days: 0.005 x 40,320 = 201.6 minutes.

    >>> round(budget_allowance(0.995), 1)
    201.6
    """
    return (1 - slo) * BUDGET_WEEKS * WEEK_MIN


def releases_frozen(spent: list[float]) -> bool:
    """The error budget policy (SRE Workbook, "Example Error Budget Policy"): when the last four
    weeks spent the whole budget, halt releases other than P0 and security fixes until the
    service is back within its SLO. `spent` is each week's share of the four-week budget.

    >>> releases_frozen([0.1, 0.5, 0.3, 0.2])
    True
    >>> releases_frozen([0.9, 0.1, 0.3, 0.2, 0.1])      # the bad week left the window
    False
    """
    return sum(spent[-BUDGET_WEEKS:]) >= 1.0
