"""Lab 2's SLOs as Prometheus rules, a promtool test that proves them on the story, a scrape
config and a Sloth spec: the lesson's burn-rate alerts, on your own Prometheus.

    python3 solution/tools/dashboard.py --rules slo.rules.yml --rules-test slo.test.yml
    promtool check rules slo.rules.yml && promtool test rules slo.test.yml

What it writes, all from lab 2's building blocks (solution/slo.py), never a copy of them:

    rule_groups(sli, slo)    per SLO, one group: a recording rule for the error ratio over every
                             window the SRE Workbook uses (5m 30m 1h 2h 6h 1d 3d), then an alert for
                             each burn-rate pair, its threshold burn_rate_threshold(budget
                             fraction, period, long window) x (1 - SLO), compared with > (Workbook)
    rules_test(...)          a `promtool test rules` file: the story's counters minute by minute as
                             input series (in promtool's expanding notation), and at every minute
                             the alerts lab 2's verdicts say fire (expected_alerts)
    scrape_config(...)       prometheus.yml: scrape the gateway's /metrics, load the rules
    sloth_spec(...)          the same SLOs for Sloth (sloth.dev), which writes rules of this kind

The YAML is written by hand, with the standard library: block style, every scalar a JSON value
(YAML's double-quoted strings are a superset of JSON's), short maps and lists in JSON flow
style. promtool reads it as YAML; a test reads it back with a twenty-line parser.

Where Prometheus and lab 2 differ (the README's "From the lab to your Prometheus"):
- before a window has filled, lab 2 says "not enough history"; Prometheus reads the window over
  the data it has, so a 6 h rule judges the first hour on that hour: the test expects what
  burn_rate() says of the data there is, and marks those minutes;
- `for` holds an alert pending for that long before it fires: the test shifts lab 2's minutes;
- rate() extrapolates to the ends of its range: the test's samples sit on the minute from a
  zero, so nothing is extrapolated; two promql_expr_tests show a window read before it has
  filled, and increase() extrapolated off the minute (increase(), Prometheus's formula);
- a burn within a hair of its threshold is left unasserted (floats in another order).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Sequence

from solution import traffic
from solution.paging import pages_from
from solution.slo import (WORKBOOK_RULES, BurnRule, RuleVerdict, burn_rate, burn_rate_threshold,
                          hours_text, multiwindow)
from solution.tools.promtext import le as le_text

# The Workbook's own PromQL adds a fourth pair, a ticket when 10 % of the budget burns in a day
# (1d & 2h, 3x at 30 days); Sloth writes all four. Lab 2's three come from solution/slo.py.
TICKET_1D = BurnRule("ticket", 0.10, 24)
PAIRS = tuple(sorted((*WORKBOOK_RULES, TICKET_1D),
                     key=lambda r: (r.severity != "page", r.long_hours)))
WINDOWS_H = tuple(sorted({h for r in PAIRS for h in (r.long_hours, r.short_hours)}))

RECORD = "opslab:slo_errors_per_request:ratio_rate"     # + window: the Workbook's naming
ALERT = "SLOErrorBudgetBurn"
EDGE = 1e-6                 # a burn this close to its threshold (relative) is not asserted

# What the gateway (solution/tools/gateway.py) exports; an outcome answered with a 5xx is an
# error (lab 2: 5xx over all requests): 502 upstream_error, 504 upstream_timeout, 503 overload
# and shed.
GATEWAY_TOTAL = "opslab_gateway_requests_total"
GATEWAY_ERRORS = ('opslab_gateway_requests_total'
                  '{outcome=~"upstream_error|upstream_timeout|overload|shed"}')
GATEWAY_DURATION = "opslab_gateway_request_duration_seconds"
GATEWAY_SERVED = 'outcome="ok"'


# ── series selectors, read and written ──────────────────────────────────────────────────────────

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\\n]|\\.)*)"\s*')


@dataclass(frozen=True)
class Selector:
    """A PromQL series selector: a metric name and label matchers (label, op, value)."""
    name: str
    matchers: tuple[tuple[str, str, str], ...] = ()

    def with_matchers(self, more: Sequence[tuple[str, str, str]]) -> "Selector":
        return Selector(self.name, (*self.matchers, *more))

    def text(self, suffix: str = "") -> str:
        inside = ",".join(f'{k}{op}"{_escape(v)}"' for k, op, v in self.matchers)
        return f"{self.name}{suffix}{{{inside}}}" if inside else f"{self.name}{suffix}"

    def matches(self, name: str, labels: dict[str, str]) -> bool:
        """Would this selector pick that series? (Prometheus regexes are anchored: fullmatch.)"""
        def ok(label, op, value):
            got = labels.get(label, "")
            if op in ("=", "!="):
                return (got == value) == (op == "=")
            return bool(re.fullmatch(value, got)) == (op == "=~")
        return name == self.name and all(ok(*m) for m in self.matchers)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), value)


def parse_matchers(text: str) -> tuple[tuple[str, str, str], ...]:
    """`job="api",code=~"5.."` -> ((label, op, value), ...); ValueError with what is wrong."""
    out, pos = [], 0
    while pos < len(text) and text[pos:].strip():
        m = _MATCHER.match(text, pos)
        if not m:
            raise ValueError(f"cannot read the label matcher at {text[pos:]!r}: write "
                             'label="value" (or !=, =~, !~), comma-separated')
        label, op, value = m.group(1), m.group(2), _unescape(m.group(3))
        if op in ("=~", "!~"):
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"{label}{op}{value!r}: not a regular expression ({exc})") \
                    from None
        out.append((label, op, value))
        pos = m.end()
        if pos < len(text):
            if text[pos] != ",":
                raise ValueError(f"expected a comma at {text[pos:]!r}")
            pos += 1
    return tuple(out)


def parse_selector(text: str) -> Selector:
    """`name` or `name{matchers}` -> Selector; ValueError if it is neither.

    >>> parse_selector('http_requests_total{code=~"5..",job="api"}').text()
    'http_requests_total{code=~"5..",job="api"}'
    """
    text = text.strip()
    name = _NAME.match(text)
    if not name:
        raise ValueError(f"{text!r} does not start with a metric name")
    rest = text[name.end():].strip()
    if rest and not (rest.startswith("{") and rest.endswith("}")):
        raise ValueError(f"{text!r}: after the metric name, only {{label matchers}} may follow")
    return Selector(name.group(), parse_matchers(rest[1:-1]) if rest else ())


# ── the SLOs as rules ───────────────────────────────────────────────────────────────────────────

@dataclass(frozen=True)
class SLI:
    """Where the events of lab 2's two SLOs live in Prometheus. Availability: errors over all
    requests (two counters, or one with a label that tells them apart). Latency: of the served
    requests (a histogram), those slower than the limit, i.e. not in the limit's bucket; the
    limit must be one of the histogram's bucket bounds, written as the exporter writes it."""
    total: Selector = parse_selector(GATEWAY_TOTAL)
    errors: Selector = parse_selector(GATEWAY_ERRORS)
    duration: Selector = Selector(GATEWAY_DURATION, parse_matchers(GATEWAY_SERVED))
    latency_limit_s: float = traffic.SLOW_MS / 1000
    common: tuple[tuple[str, str, str], ...] = ()      # added to every selector (job="...")

    def selectors(self) -> dict[str, Selector]:
        """The series each SLO reads, with the common matchers."""
        bucket = self.duration.with_matchers([("le", "=", le_text(self.latency_limit_s))])
        return {key: s.with_matchers(self.common) for key, s in (
            ("total", self.total), ("errors", self.errors),
            ("count", Selector(self.duration.name + "_count", self.duration.matchers)),
            ("bucket", Selector(self.duration.name + "_bucket", bucket.matchers)))}

    def ratio(self, slo_name: str, window: str) -> str:
        """The PromQL error ratio of one SLO over one window (the Workbook's recording rule)."""
        s = self.selectors()

        def rate(key: str) -> str:
            return f"sum(rate({s[key].text()}[{window}]))"
        if slo_name == "availability":
            return f"{rate('errors')} / {rate('total')}"
        return f"({rate('count')} - {rate('bucket')}) / {rate('count')}"


@dataclass(frozen=True)
class Objective:
    """One SLO as the rules see it: its name, target and period (lab 2's flags)."""
    name: str                       # "availability" or "latency"
    target: float                   # 0.995
    period_days: float = 30

    @property
    def budget(self) -> float:
        return round(1 - self.target, 12)             # 0.005, not 0.0050000000000000044

    def threshold(self, rule: BurnRule) -> float:
        """The burn rate the rule fires over: fraction x period / long window (SRE Workbook)."""
        return burn_rate_threshold(rule.budget_fraction, period_days=self.period_days,
                                   window_hours=rule.long_hours)


def objectives(slo: float, latency_slo: float, period_days: float) -> tuple[Objective, ...]:
    return (Objective("availability", slo, period_days),
            Objective("latency", latency_slo, period_days))


def _number(x: float) -> str:
    """A number as PromQL and YAML both read it: 14.4, 0.005, 3 (repr, without a trailing .0)."""
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text


def _pct(x: float) -> str:
    return f"{100 * x:.4g} %"


def alert_expr(objective: Objective, rule: BurnRule) -> str:
    """Both windows over the threshold, the Workbook's multiwindow rule: `>`, not `>=`."""
    bound = f"({_number(objective.threshold(rule))} * {_number(objective.budget)})"
    return " and ".join(f'{RECORD}{hours_text(h)}{{slo="{objective.name}"}} > {bound}'
                        for h in (rule.long_hours, rule.short_hours))


def alert_labels(objective: Objective, rule: BurnRule) -> dict[str, str]:
    return {"severity": rule.severity, "slo": objective.name,
            "long_window": hours_text(rule.long_hours),
            "short_window": hours_text(rule.short_hours)}


def alert_annotations(objective: Objective, rule: BurnRule) -> dict[str, str]:
    """Static text (promtool's tests compare annotations exactly): what burned, how fast."""
    days = f"{objective.period_days:g}-day"
    return {"summary": f"{objective.name} SLO {_pct(objective.target)}: "
                       f"{_pct(rule.budget_fraction)} of the {days} error budget burned in "
                       f"{hours_text(rule.long_hours)}",
            "description": f"The error ratio is over {_number(objective.threshold(rule))}x the "
                           f"budget ({_pct(objective.budget)}) over both the last "
                           f"{hours_text(rule.long_hours)} and the last "
                           f"{hours_text(rule.short_hours)}: at "
                           f"{_number(objective.threshold(rule))}x the {days} budget is gone in "
                           f"{_lasts(objective, rule)}."}


def _lasts(objective: Objective, rule: BurnRule) -> str:
    hours = objective.period_days * 24 / objective.threshold(rule)
    return f"{hours:.3g} hours" if hours < 72 else f"{hours / 24:.3g} days"


def rule_groups(sli: SLI, slos: Sequence[Objective], for_s: float = 0.0) -> list[dict]:
    """One rule group per SLO: recording rules first, then the alerts (a group is evaluated in
    order, so each alert reads the ratios of the same evaluation)."""
    groups = []
    for objective in slos:
        rules: list[dict] = [{"#": f"{objective.name}: the share of bad events over "
                                   f"{hours_text(h)}",
                              "record": f"{RECORD}{hours_text(h)}",
                              "expr": sli.ratio(objective.name, hours_text(h)),
                              "labels": {"slo": objective.name}} for h in WINDOWS_H]
        for rule in PAIRS:
            alert = {"#": f"{rule.name}: {_number(objective.threshold(rule))}x = "
                          f"{_number(rule.budget_fraction)} x {objective.period_days:g} d / "
                          f"{hours_text(rule.long_hours)} (SRE Workbook)",
                     "alert": ALERT, "expr": alert_expr(objective, rule)}
            if for_s:
                alert["for"] = duration_text(for_s)
            alert["labels"] = alert_labels(objective, rule)
            alert["annotations"] = alert_annotations(objective, rule)
            rules.append(alert)
        groups.append({"name": f"opslab-slo-{objective.name}", "interval": "1m", "rules": rules})
    return groups


def duration_text(seconds: float) -> str:
    """A Prometheus duration: 90 -> 1m30s."""
    whole = int(round(seconds))
    parts = [(whole // 3600, "h"), (whole % 3600 // 60, "m"), (whole % 60, "s")]
    return "".join(f"{n}{unit}" for n, unit in parts if n) or "0s"


# ── YAML, by hand ───────────────────────────────────────────────────────────────────────────────

FLOW_WIDTH = 100
WIDE = ("exp_alerts",)


def _scalar(value) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise ValueError(f"{value} has no JSON form")
        return _number(value) if isinstance(value, float) else str(value)
    return json.dumps(str(value))                  # ASCII, every control character escaped


def _flow(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return _scalar(value)


def _key(key: str) -> str:
    return key if re.fullmatch(r"[a-z_][a-z0-9_]*", key) else json.dumps(key)


def _commented(value) -> bool:
    """Does a "#" key (a comment) sit anywhere inside? Comments need block style."""
    if isinstance(value, dict):
        return "#" in value or any(_commented(v) for v in value.values())
    return isinstance(value, list) and any(_commented(v) for v in value)


def _block(value, indent: int, wide: bool = False) -> list[str]:
    """A dict or list in block style; what fits on a line, in flow style (a `wide` list's items
    always: promtool's expected alerts, one a line)."""
    pad, lines = " " * indent, []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "#":
                lines.append(f"{pad}# {_comment(item)}")
            elif not isinstance(item, (dict, list)) or not item or (
                    len(pad) + len(key) + len(_flow(item)) + 2 <= FLOW_WIDTH
                    and not _commented(item)):
                lines.append(f"{pad}{_key(key)}: {_flow(item)}")
            else:
                lines += [f"{pad}{_key(key)}:", *_block(item, indent + 2, key in WIDE)]
        return lines
    for item in value:
        comment = item.get("#") if isinstance(item, dict) else None
        if comment:
            lines.append(f"{pad}# {_comment(comment)}")
            item = {k: v for k, v in item.items() if k != "#"}
        if isinstance(item, (dict, list)) and item and not wide and \
                len(pad) + 2 + len(_flow(item)) > FLOW_WIDTH:
            inner = _block(item, indent + 2)
            lines.append(f"{pad}- {inner[0].lstrip()}")
            lines += inner[1:]
        else:
            lines.append(f"{pad}- {_flow(item)}")
    return lines


def yaml_text(document: dict, header: Sequence[str] = ()) -> str:
    """A YAML document from dicts, lists and scalars; `#` keys become comments."""
    return "\n".join([*(f"# {_comment(line)}" for line in header), *_block(document, 0)]) + "\n"


def _comment(text: str) -> str:
    """A comment stays on its line: a log's name with a line break in it does not end it."""
    return re.sub(r"[\x00-\x1f\x7f\x85\u2028\u2029]", "?", str(text))


# ── the proof on the story: a promtool test ─────────────────────────────────────────────────────

def expanding(values: Sequence[int]) -> str:
    """promtool's expanding notation: a run of equal steps as `start+stepxN` (N + 1 values).

    >>> expanding([0, 5, 10, 15, 15, 17])
    '0+5x3 15 17'
    """
    out, i = [], 0
    while i < len(values):
        j = i + 1
        while j < len(values) and values[j] - values[j - 1] == values[i + 1] - values[i]:
            j += 1
        if j - i >= 3:
            out.append(f"{values[i]}+{values[i + 1] - values[i]}x{j - 1 - i}")
            i = j
        else:
            out.append(str(values[i]))
            i += 1
    return " ".join(out)


def cumulative(per_minute: Sequence[int]) -> list[int]:
    """A counter sampled at the start of every minute: 0, then the running total."""
    out = [0]
    for n in per_minute:
        out.append(out[-1] + n)
    return out


_ERROR_VALUES = ("500", "502", "503", "504", "5xx", "error", "upstream_error")
_GOOD_VALUES = ("ok", "200", "2xx", "success", "good")


def _value_for(label: str, op: str, value: str, want: bool,
               candidates: Sequence[str]) -> str | None:
    """A label value that makes the matcher true (want) or false: a literal alternative of its
    regex, or one of the candidates (numbers first for a code or status); None if none does."""
    literal = value.split("|") if op in ("=~", "!~") else [value]
    if "code" in label or "status" in label:
        candidates = sorted(candidates, key=lambda v: not v.isdigit())
    for v in (*(v for v in literal if re.fullmatch(r"[\w:/-]+", v)), *candidates):
        if Selector("x", ((label, op, value),)).matches("x", {label: v}) == want:
            return v
    return None


def _labels_for(selector: Selector, candidates: Sequence[str]) -> dict[str, str]:
    labels = {}
    for label, op, value in selector.matchers:
        if label in labels or Selector("x", ((label, op, value),)).matches("x", {}):
            continue                                   # the label left out satisfies it
        chosen = _value_for(label, op, value, True, candidates)
        if chosen is not None:
            labels[label] = chosen
    if not selector.matches(selector.name, labels):
        raise ValueError(f"--rules-test cannot write a series that {selector.text()} selects: use "
                         'label="value" matchers, or a regex with a literal alternative (a|b)')
    return labels


def input_series(sli: SLI, counts: Sequence[Sequence[int]]) -> list[dict]:
    """The story's counters as the rules' metrics would carry them, one sample a minute from 0:
    (5xx, all, slow, served) per minute, lab 2's per_minute counts."""
    failed, total, slow, served = counts
    s = sli.selectors()
    errors = _labels_for(s["errors"], _ERROR_VALUES)
    series = [(s["errors"].name, errors, cumulative(failed))]
    if s["errors"].name == s["total"].name:           # one counter: the good ones apart
        good = dict(errors)
        for label, op, value in s["errors"].matchers:
            if s["errors"].matches(s["errors"].name, good):
                good_value = _value_for(label, op, value, False, _GOOD_VALUES)
                if good_value is None:
                    good.pop(label, None)
                else:
                    good[label] = good_value
        series.append((s["total"].name, good, cumulative([t - f for t, f in zip(total, failed)])))
        if s["errors"].matches(s["total"].name, good) or not all(
                s["total"].matches(s["total"].name, labels) for _, labels, _ in series):
            raise ValueError("--rules-test cannot write series that tell the errors from the "
                             f"rest: {s['errors'].text()} within {s['total'].text()}")
    else:
        series.append((s["total"].name, _labels_for(s["total"], _GOOD_VALUES), cumulative(total)))
    histogram = _labels_for(Selector(sli.duration.name, s["count"].matchers), _GOOD_VALUES)
    series.append((s["count"].name, histogram, cumulative(served)))
    series.append((s["bucket"].name, {**histogram, "le": le_text(sli.latency_limit_s)},
                   cumulative([n - k for n, k in zip(served, slow)])))
    return [{"series": Selector(name, tuple((k, "=", v) for k, v in labels.items())).text(),
             "values": expanding(values)} for name, labels, values in series]


@dataclass
class Expected:
    """Per minute (evaluated at its end), the alerts that fire, and how each was decided."""
    firing: list[list[dict]] = field(default_factory=list)   # exp_alerts, per minute
    skipped: list[int] = field(default_factory=list)          # minutes left unasserted (edges)
    partial: list[int] = field(default_factory=list)          # minutes judged on partial windows
    early: dict = field(default_factory=dict)     # minute -> rules firing on a part-filled window
    tracks: dict = field(default_factory=dict)    # (slo, rule) -> (lab 2's verdict per minute,
                                                  #                 Prometheus's firing per minute)


def _burn(bad: list[int], events: list[int], end: int, minutes: int, slo: float) -> float | None:
    """burn_rate() over the minutes [end - minutes, end), or fewer where the data starts."""
    start = max(0, end - minutes)
    return burn_rate(bad[end] - bad[start], events[end] - events[start], slo)


def _near(burn: float | None, threshold: float) -> bool:
    return burn is not None and abs(burn - threshold) <= EDGE * threshold


def expected_alerts(counts: Sequence[Sequence[int]], verdicts: Sequence[RuleVerdict],
                    slos: Sequence[Objective], for_s: float = 0.0) -> Expected:
    """The alerts that fire at the end of each minute: lab 2's verdict wherever lab 2 judged the
    rule; where it had not enough history, what Prometheus does instead, burn_rate() over the
    data there is; with `for`, only once a rule has held for that long. A minute where a burn
    sits within EDGE of its threshold is skipped: the two sides compute it in another order."""
    failed, total, slow, served = (cumulative(c) for c in counts)
    events = {"availability": (failed, total), "latency": (slow, served)}
    minutes, hold = len(counts[0]), math.ceil(for_s / 60)
    out = Expected(firing=[[] for _ in range(minutes)])
    unsure, partial = set(), set()
    for objective in slos:
        bad, all_ = events[objective.name]
        for rule in PAIRS:
            verdict = _verdict(verdicts, counts, objective, rule)
            threshold, held, fires = objective.threshold(rule), 0, []
            for m in range(minutes):
                burns = [_burn(bad, all_, m + 1, round(h * 60), objective.target)
                         for h in (rule.long_hours, rule.short_hours)]
                if any(_near(b, threshold) for b in burns):
                    unsure.update(range(m, m + hold + 1))
                hot = verdict.firing[m]
                if hot is None:                          # lab 2: not enough history
                    partial.add(m)
                    hot = all(b is not None and b > threshold for b in burns)
                held = held + 1 if hot else 0
                fires.append(held > hold)
                if held > hold and verdict.firing[m] is None:
                    out.early.setdefault(m, []).append(f"{objective.name} {rule.name}")
                if held > hold:
                    out.firing[m].append({"exp_labels": alert_labels(objective, rule),
                                          "exp_annotations": alert_annotations(objective, rule)})
            out.tracks[(objective.name, rule.name)] = (verdict.firing, fires)
    out.skipped = sorted(m for m in unsure if m < minutes)
    out.partial = sorted(partial)
    return out


def _verdict(verdicts, counts, objective: Objective, rule: BurnRule) -> RuleVerdict:
    """Lab 2's verdict on this rule and SLO; the Workbook's fourth pair, which lab 2 does not
    run, is judged by the same multiwindow()."""
    for v in verdicts:
        if v.rule == rule.name and v.slo_name == objective.name:
            return v
    bad, events = counts[0], counts[1]
    if objective.name == "latency":
        bad, events = counts[2], counts[3]
    return multiwindow(bad, events, objective.target, rule, period_days=objective.period_days,
                       slo_name=objective.name)


def spells(firing: Sequence[bool | None]) -> str:
    """Runs of firing minutes on the story's clock, from the end of the first minute to the end
    of the last (as lab 2 says "fired 2:09-2:24"); one minute alone: '1:59'; 'none'.

    >>> spells([False, True, True, False, True])
    '0:02-0:03, 0:05'
    """
    runs = pages_from([bool(f) for f in firing], [() for _ in firing], 60.0, "")
    texts = [traffic.clock(p.fired_s) if p.fired_s == p.end_s
             else f"{traffic.clock(p.fired_s)}-{traffic.clock(p.end_s)}" for p in runs]
    return ", ".join(texts) or "none"


def comparison(expected: Expected) -> list[str]:
    """Each rule on each SLO: where lab 2 fires, and where Prometheus (the test) fires."""
    rows = []
    for (slo_name, rule), (lab, prom) in expected.tracks.items():
        judged = sum(f is not None for f in lab)
        said = spells(lab) if judged else "not enough history"
        if judged and judged < len(lab):
            said += f" (judged {judged} min)"
        rows.append((slo_name, rule, said, spells(prom)))
    wide = max([len("lab 2"), *(len(said) for _, _, said, _ in rows)])   # lab 2's column fits
    return [f"{'SLO':<13} {'rule':<15} {'lab 2':<{wide}} Prometheus (promtool test)",
            *(f"{slo:<13} {rule:<15} {said:<{wide}} {prom}" for slo, rule, said, prom in rows)]


def increase(first: float, last: float, sampled_s: float, to_start_s: float, to_end_s: float,
             samples: int) -> float:
    """What increase() returns for a counter sampled `samples` times, first to last, sampled_s
    apart end to end, to_start_s and to_end_s from the range's edges (Prometheus 2.x,
    promql/functions.go, extrapolatedRate): a counter is extrapolated to an edge nearer than
    1.1 sample intervals, else half an interval; never below zero."""
    result = last - first
    average = sampled_s / (samples - 1)
    if result > 0 and first >= 0:
        to_start_s = min(to_start_s, sampled_s * (first / result))
    span = sampled_s
    span += to_start_s if to_start_s < average * 1.1 else average / 2
    span += to_end_s if to_end_s < average * 1.1 else average / 2
    return result * (span / sampled_s)


def rules_test(rules_path: str, sli: SLI, counts, verdicts, slos, for_s: float = 0.0,
               source: str = "the story") -> tuple[str, Expected]:
    """The promtool test file, and what it expects."""
    expected = expected_alerts(counts, verdicts, slos, for_s)
    minutes = len(counts[0])
    asserted = []
    for m in range(minutes):
        if m in expected.skipped:
            continue
        entry = {"eval_time": f"{m + 1}m", "alertname": ALERT, "exp_alerts": expected.firing[m]}
        if m in expected.early:
            entry = {"#": f"{traffic.clock((m + 1) * 60)}: lab 2 has not enough history for "
                          f"{', '.join(expected.early[m])}; Prometheus reads the data there is",
                     **entry}
        asserted.append(entry)
    s, failed, total = sli.selectors(), cumulative(counts[0]), cumulative(counts[1])
    exprs = []
    if minutes >= 30:
        exprs.append({"#": "range selection: at 30m, [1h] holds the 31 samples from 0m, and "
                           "nothing is extrapolated from a counter that starts at 0",
                      "expr": f"sum(increase({s['errors'].text()}[1h]))", "eval_time": "30m",
                      "exp_samples": [{"labels": "{}", "value": increase(
                          failed[0], failed[30], 1800.0, 1800.0, 0.0, 31)}]})
        exprs.append({"#": "extrapolation: at 20m30s, [5m] holds the samples of 16m..20m; "
                           "increase() stretches their 4 minutes to the range's 5",
                      "expr": f"sum(increase({s['total'].text()}[5m]))", "eval_time": "20m30s",
                      "exp_samples": [{"labels": "{}", "value": increase(
                          total[16], total[20], 240.0, 30.0, 30.0, 5)}]})
    document = {"rule_files": [rules_path], "evaluation_interval": "1m", "tests": [{
        "name": f"lab 2's verdicts on {source}, minute by minute",
        "interval": "1m", "input_series": input_series(sli, counts),
        "alert_rule_test": asserted, "promql_expr_test": exprs}]}
    header = [f"promtool test rules: {source}, {minutes} minutes, against {rules_path}.",
              "Expected alerts come from lab 2's verdicts (solution/slo.py), never from "
              "Prometheus.",
              f"Minutes where a long window is part-filled: {len(expected.partial)}; left "
              f"unasserted (a burn within {EDGE:g} of its threshold): {len(expected.skipped)}."]
    return yaml_text(document, header), expected


# ── the three-step path: scrape config, and a Sloth spec beside the rules ───────────────────────

def scrape_config(rules_path: str | None, target: str = "127.0.0.1:8000") -> str:
    """prometheus.yml: scrape the gateway every 15 s, evaluate rules every minute (as lab 2
    does), and load the rules (without a rules file: say where they would go)."""
    document: dict = {"global": {"scrape_interval": "15s", "evaluation_interval": "1m"}}
    if rules_path:
        document["rule_files"] = [rules_path]
    else:
        document["#"] = "rule_files: [\"slo.rules.yml\"]   (write them with --rules FILE)"
    document["scrape_configs"] = [{"job_name": "opslab-gateway", "metrics_path": "/metrics",
                                   "static_configs": [{"targets": [target]}]}]
    return yaml_text(document, [
        "Prometheus: scrape the opslab gateway (solution/tools/gateway.py serve) and load the",
        "SLO rules. Check: promtool check config THIS. Run: prometheus --config.file=THIS",
        "--web.listen-address=127.0.0.1:9090, then open http://127.0.0.1:9090/alerts"])


def missing_bucket(sli: SLI, bounds: Sequence[float]) -> str | None:
    """A warning when the histogram is the gateway's and has no bound at the latency limit:
    its latency rules would find no series."""
    if sli.duration.name != GATEWAY_DURATION or sli.latency_limit_s in bounds:
        return None
    shown = ", ".join(_number(b) for b in bounds if math.isfinite(b))
    return (f"the gateway's latency histogram has no bucket bound at "
            f"{_number(sli.latency_limit_s)} s "
            f"(its bounds: {shown}): the latency rules will find no series there; give "
            "--latency-limit one of those bounds")


def sloth_spec(sli: SLI, slos: Sequence[Objective]) -> str:
    """The same two SLOs in Sloth's prometheus/v1 spec: `sloth generate -i FILE` writes rules of
    the same shape (its windows are 30 or 28 days: --default-slo-period)."""
    s = sli.selectors()
    queries = {"availability": (f"sum(rate({s['errors'].text()}[{{{{.window}}}}]))",
                                f"sum(rate({s['total'].text()}[{{{{.window}}}}]))"),
               "latency": (f"(sum(rate({s['count'].text()}[{{{{.window}}}}])) - "
                           f"sum(rate({s['bucket'].text()}[{{{{.window}}}}])))",
                           f"sum(rate({s['count'].text()}[{{{{.window}}}}]))")}
    slo_list = [{"name": o.name, "objective": round(100 * o.target, 10),
                 "description": f"lab 2's {o.name} SLO",
                 "sli": {"events": {"error_query": queries[o.name][0],
                                    "total_query": queries[o.name][1]}},
                 "alerting": {"name": ALERT, "page_alert": {"labels": {"severity": "page"}},
                              "ticket_alert": {"labels": {"severity": "ticket"}}}}
                for o in slos]
    return yaml_text({"version": "prometheus/v1", "service": "opslab", "slos": slo_list}, [
        f"Sloth (sloth.dev) spec of the same SLOs, {slos[0].period_days:g}-day period: "
        "sloth generate -i THIS"])
