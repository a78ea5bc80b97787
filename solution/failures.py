"""The failure classes of the story's service: what goes wrong, how often, how badly, and what
the postmortem says about it. The data lab 5's weekly model runs on.

The story's paging incidents (STORY_FAILURES, keyed by their names in traffic.STORY) and the
classes a service like it meets in a year besides them (MORE_FAILURES). For the story's four,
what the story can measure is measured, never typed: `from_the_story` reads when the SLO burn
rules paged on each (the pages lab 2 shows as "SLO burn", computed with solution/slo.py) and the
share of its requests that failed. The rest is an assumption of the model, stated here to be
read and changed: how often a class comes back, and, for classes the story does not have, how
badly and how long. Last, the record a team writes about each incident: `Postmortem`,
`write_postmortem`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from solution import traffic
from solution.paging import matches
from solution.slo import burn_alert, per_minute, slo_verdicts


@dataclass(frozen=True)
class FailureClass:
    """One way the service fails, with the postmortem's words for it.

    cause          "change": it ships with a release (a launch, a prompt, an index), so a release
                   freeze holds it back; "world": it comes from outside (a provider, a tenant, an
                   attacker) and a freeze does not stop it
    weekly_chance  the chance it happens in a given week (an assumption)
    severity       the share of requests that count against the availability budget while it
                   lasts (failed; for a class outside the story, an assumption); None: measured
    ttd_min        median minutes to detect it when no new alert rule watches for it; None:
                   measured (the story's SLO burn page, or its whole window if none came)
    ttm_min        median minutes from detection to mitigation; None: measured (the rest of its
                   window in the story)
    harm           what users saw
    actions        the postmortem's action items, by type: "repair" is done during the incident;
                   "prevent", "detect" and "mitigate" are the future-facing items that become guards
    """
    name: str
    cause: str
    weekly_chance: float
    severity: float | None
    ttd_min: float | None
    ttm_min: float | None
    harm: str
    trigger: str
    root_cause: str
    noticed_by: str
    actions: dict[str, str]
    lesson: str


# The story's four paging incidents, keyed by their names in traffic.STORY: how badly, how soon
# seen and how soon mitigated are measured from the story's day (`from_the_story`); the content
# drift's 30 minutes to mitigate is the one assumption (the story ends before anybody sees it).
STORY_FAILURES = {
    "provider slowdown": FailureClass(
        name="provider slowdown", cause="world", weekly_chance=0.30, severity=None,
        ttd_min=None, ttm_min=None,
        harm="answers took over 6 s",
        trigger="the model provider served tokens four times slower",
        root_cause="one provider, no fallback model, no cap on requests in flight",
        noticed_by="the latency SLO burn page (1 h & 5 min rule)",
        actions={"repair": "waited for the provider to recover",
                 "prevent": "gate case: 4x slower provider -> fallback model",
                 "detect": "alert: TTFT p95 and in-flight breach together",
                 "mitigate": "concurrency limit that sheds batch first (lab 4)"},
        lesson="latency is the first sign of saturation"),
    "upstream error burst": FailureClass(
        name="upstream error burst", cause="world", weekly_chance=0.25, severity=None,
        ttd_min=None, ttm_min=None,
        harm="half the requests failed fast with 503",
        trigger="the vector store became unavailable",
        root_cause="retrieval had no fallback: a store outage became a 503",
        noticed_by="the availability SLO burn page (1 h & 5 min rule)",
        actions={"repair": "restarted the vector store",
                 "prevent": "gate case: vector store down -> degraded answer",
                 "detect": "alert: retrieval 503s, before the SLO burn pages",
                 "mitigate": "retry once on a second replica"},
        lesson="a dependency's outage must degrade the answer, not fail it"),
    "content drift": FailureClass(
        name="content drift", cause="change", weekly_chance=0.20, severity=None,
        ttd_min=None, ttm_min=30,
        harm="SmartSync questions got ungrounded answers",
        trigger="the SmartSync launch",
        root_cause="the launched topic had no documents, and the gate no case for it",
        noticed_by="thumbs-down reached support",
        actions={"repair": "indexed the SmartSync documents",
                 "prevent": "eval case: SmartSync answers cite retrieved docs",
                 "detect": "online eval alert: grounded rate drops (lab 3)",
                 "mitigate": "say 'no documents yet' when retrieval finds none"},
        lesson="an offline gate only knows the questions of the past"),
    "noisy batch tenant": FailureClass(
        name="noisy batch tenant", cause="world", weekly_chance=0.30, severity=None,
        ttd_min=None, ttm_min=None,
        harm="every tenant waited in the queue behind a batch burst",
        trigger="the batch tenant re-ran a month of summaries at 15x",
        root_cause="no per-tenant limit: batch and interactive share capacity",
        noticed_by="the latency SLO burn page (1 h & 5 min rule)",
        actions={"repair": "asked the tenant to pause the job",
                 "prevent": "gate case: 15x batch burst, interactive p95 flat",
                 "detect": "alert: one tenant above 5x its usual rate",
                 "mitigate": "per-tenant token buckets (lab 4)"},
        lesson="without limits, one tenant's burst is everyone's outage"),
}

# More classes an AI service meets, not (yet) in the story: new classes that can enter.
MORE_FAILURES = (
    FailureClass(
        name="prompt injection", cause="world", weekly_chance=0.15, severity=0.05, ttd_min=240,
        ttm_min=60,
        harm="the assistant obeyed instructions a user injected",
        trigger="a user pasted 'ignore your instructions' text",
        root_cause="user text reached the model with the weight of instructions",
        noticed_by="a customer posted a screenshot",
        actions={"repair": "blocked the account, hardened the system prompt",
                 "prevent": "gate case: known injection prompts get a refusal",
                 "detect": "alert: the guardrail flags injection patterns",
                 "mitigate": "input validation: quote user text, strip markup"},
        lesson="user text is data, never instructions (OWASP LLM01)"),
    FailureClass(
        name="personal data in an answer", cause="change", weekly_chance=0.10, severity=0.02,
        ttd_min=300, ttm_min=60,
        harm="answers showed another customer's e-mail address",
        trigger="an index refresh took in tickets with customer e-mails",
        root_cause="documents were indexed without redaction",
        noticed_by="a customer saw another customer's e-mail address",
        actions={"repair": "removed the documents, re-indexed them redacted",
                 "prevent": "gate case: no answer holds an e-mail or a phone",
                 "detect": "alert: the output guardrail finds personal data",
                 "mitigate": "output filter redacts personal data"},
        lesson="what the retriever can read, the model can repeat (LLM02)"),
    FailureClass(
        name="bad prompt release", cause="change", weekly_chance=0.25, severity=0.25, ttd_min=45,
        ttm_min=20,
        harm="answers got worse after a prompt change",
        trigger="a system prompt change shipped",
        root_cause="the new prompt never ran against the golden set",
        noticed_by="the thumbs-down rate rose",
        actions={"repair": "rolled the prompt back",
                 "prevent": "gate: golden set >= 95 % pass before it ships",
                 "detect": "alert: thumbs-down rate above 2x its baseline",
                 "mitigate": "canary: a new prompt serves 5 % of traffic first"},
        lesson="a prompt is code: test it, canary it, keep the rollback"),
)


class Measured(NamedTuple):
    """What the story's day says about one paging incident."""
    start_s: float                  # on the story's clock
    minutes: float                  # its window
    detected_min: float | None      # minutes from its start to the first SLO burn page on it
    severity: float                 # share of its requests that failed, beyond the baseline


def from_the_story(requests, scenario: traffic.Scenario = traffic.STORY) -> dict[str, Measured]:
    """Each paging incident as the story's day had it: when the SLO burn rules paged on it (the
    Workbook's page rules on both SLOs, evaluated minute by minute as lab 2 does), None when no
    page caught it; and the share of its requests that failed (5xx: the availability SLO's bad
    events) beyond the baseline, in the minutes no shorter incident shares with it."""
    minutes = math.ceil(scenario.duration_s / 60)
    pages = burn_alert(slo_verdicts(per_minute(requests, minutes, traffic.SLOW_MS / 1000),
                                    scenario.slo_availability, scenario.slo_latency))
    out = {}
    for incident in (i for i in scenario.incidents if i.page):
        span = incident.end_s - incident.start_s
        # the shorter incidents that overlap it: the minutes they share are theirs
        others = [i for i in scenario.incidents if i.end_s - i.start_s < span
                  and i.start_s < incident.end_s and incident.start_s < i.end_s]
        inside = [r for r in requests if incident.start_s <= r.ts < incident.end_s]
        alone = [r for r in inside if not any(o.covers(r.ts) for o in others)]
        failed = sum(r.status >= 500 for r in alone) / len(alone) if alone else 0.0
        page = next((p for p in pages if matches(p, incident)), None)
        out[incident.name] = Measured(
            start_s=incident.start_s, minutes=(incident.end_s - incident.start_s) / 60,
            detected_min=None if page is None else (page.fired_s - incident.start_s) / 60,
            severity=max(0.0, failed - traffic.BASE_ERROR_RATE))
    return out


def measured_class(failure: FailureClass, seen: Measured) -> FailureClass:
    """A story class with what the story measured filled in: detected when the burn page came
    (else it ran its whole window unseen), mitigated in the rest of its window."""
    ttd = seen.minutes if seen.detected_min is None else seen.detected_min
    ttm = failure.ttm_min if failure.ttm_min is not None else seen.minutes - ttd
    return replace(failure, severity=seen.severity, ttd_min=ttd, ttm_min=ttm)


def failure_classes(scenario: traffic.Scenario = traffic.STORY,
                    measured: dict[str, Measured] | None = None) -> tuple[FailureClass, ...]:
    """The story's paging incidents (in the story's order), then the classes yet to enter; with
    `measured` (from_the_story), the story's classes carry what their day measured."""
    paging = [i.name for i in scenario.incidents if i.page]
    unknown = [name for name in paging if name not in STORY_FAILURES]
    if unknown:
        raise ValueError(f"no failure class for the paging incident(s) {unknown}")
    story = [STORY_FAILURES[name] for name in dict.fromkeys(paging)]
    if measured is not None:
        story = [measured_class(c, measured[c.name]) for c in story]
    return tuple(story) + MORE_FAILURES


# ── the postmortem: the SRE book's record ───────────────────────────────────────────────────────

FUTURE_ITEMS = ("prevent", "detect", "mitigate")   # the action items that become guards


@dataclass(frozen=True)
class ActionItem:
    type: str                # "repair", "prevent", "detect" or "mitigate"
    text: str
    live_from: int | None    # the week its guard takes effect; None: it sits in the backlog


@dataclass(frozen=True)
class Postmortem:
    """The fields of a postmortem (Google SRE book, "Postmortem Culture: Learning from Failure",
    and its example postmortem), blameless: causes are in systems, not in people. `incident` is
    the record it was written for (lab 5's IncidentRecord): its week and failure class, as
    numbers, not as title text."""
    incident: Any
    title: str
    summary: str
    impact: str
    timeline: str
    root_cause: str
    trigger: str
    detection: str
    resolution: str
    action_items: tuple[ActionItem, ...]
    lessons: str


def write_postmortem(failure: FailureClass, record,
                     plan: dict[str, int | None], allowance: float) -> Postmortem:
    """The record an on-call team writes after an incident (`record`: lab 5's IncidentRecord,
    what happened; `plan`: when each future-facing item goes live, None: the backlog)."""
    start = record.start_s
    if start is not None and not record.detected:
        timeline = (f"{traffic.clock(start)} started; not detected by "
                    f"{traffic.clock(start + record.minutes * 60)}, when the story ends")
    elif start is not None:      # on the story's clock
        timeline = (f"{traffic.clock(start)} started; {traffic.clock(start + record.ttd_min * 60)} "
                    f"detected; {traffic.clock(start + record.minutes * 60)} mitigated")
    else:
        timeline = (f"started; detected after {record.ttd_min:.0f} min; "
                    f"mitigated {record.ttm_min:.0f} min later")
    detection = f"after {record.ttd_min:.0f} min: {failure.noticed_by}"
    if "detect" in record.guards:
        detection = f"after {record.ttd_min:.0f} min, by the guard: {failure.actions['detect']}"
    elif not record.detected:
        detection = f"none in {record.minutes:.0f} min: no page fired; {failure.noticed_by}"
    items = (ActionItem("repair", failure.actions["repair"], record.week),
             *(ActionItem(kind, failure.actions[kind], plan.get(kind)) for kind in FUTURE_ITEMS))
    repeat = " (a repeat)" if record.repeat else ""
    impact = (f"{record.minutes:.0f} min x {100 * record.severity:.0f} % of requests failed = "
              f"{record.bad_minutes:.0f} bad min, {100 * record.bad_minutes / allowance:.0f} % "
              "of the budget")
    return Postmortem(
        incident=record, title=f"week {record.week}: {failure.name}",
        summary=f"{failure.harm} for {record.minutes:.0f} min{repeat}", impact=impact,
        timeline=timeline, root_cause=failure.root_cause, trigger=failure.trigger,
        detection=detection, resolution=failure.actions["repair"], action_items=items,
        lessons=failure.lesson)


def postmortem_lines(pm: Postmortem) -> list[str]:
    """A postmortem as the terminal shows it: a label, then the field."""
    lines = [f"Postmortem, {pm.title} (blameless, the SRE book's fields)"]
    for label, text in (("summary", pm.summary), ("impact", pm.impact), ("timeline", pm.timeline),
                        ("root cause", pm.root_cause), ("trigger", pm.trigger),
                        ("detection", pm.detection), ("resolution", pm.resolution)):
        lines.append(f"  {label:<11}{text}")
    futures = [i for i in pm.action_items if i.type != "repair"]
    for n, item in enumerate(futures):
        when = "backlog" if item.live_from is None else f"week {item.live_from}"
        lines.append(f"  {'actions' if n == 0 else '':<11}{item.type:<9}{when:<9}{item.text}")
    lines.append(f"  {'lessons':<11}{pm.lessons}")
    return lines
