"""Lab 5: does learning from incidents pay? The reliability flywheel, measured over twelve weeks.

Extends M30 (evaluation gates) and M31 (SLOs and error budgets). The story's day (week 1) had four
paging incidents. Each gets a postmortem; its typed action items become guards: a regression case
in the offline gate (prevent), an alert rule (detect), a limiter or a validation rule (mitigate).
The same seeded world then runs twelve weeks twice: with action items that get done (the
flywheel), and with action items that stay in the backlog.

Read it in this order (about ten minutes); the failure classes it runs on are data
(solution/failures.py); the SLO burn rules and the error budget policy are in solution/slo.py:
1. the guard constants, `respond`: how the guards in force shape one incident; `story_incidents`:
   week 1, detected when the story's SLO burn rules paged (the same minutes as in lab 2);
2. `Postmortem`, `file_action_items`, `write_postmortem`: the SRE book's record, and the backlog;
3. the drift's regression case, run against the service before and after the fix (judges.py);
4. `simulate`: week after week, with the error budget policy freezing releases; `run()` also
   repeats it on ten more seeds, so that a lucky seed cannot carry the claim; `report()`, `main()`.

    python3 solution/lab5_flywheel.py [--weeks 26 --seed 3 | --no-flywheel]

    >>> result = run(weeks=12)
    >>> result.flywheel.repeats <= result.without.repeats / 2
    True

Remember: an incident you only fix comes back; an incident you turn into a guard comes back
smaller, later, or not at all.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

if __package__ in (None, ""):          # run as a script: make the `solution` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from solution import traffic
from solution.traffic import FIXED_INDEX, PRE_LAUNCH_INDEX
from solution.cli import at_most, positive_int, run_cli, seed_value
from solution.failures import STORY_FAILURES, FailureClass, failure_classes
from solution.judges import CHECKS, RegressionCase, passes
from solution.numeric import percent
from solution.paging import matches
from solution.slo import (BUDGET_WEEKS, WEEK_MIN, budget_allowance, burn_alert, per_minute,
                          releases_frozen, slo_verdicts)
from solution.terminal import plural, sparkline, squeeze, wrap


# ── one incident: the guards in place decide how it goes ───────────────────────────────────────

# What a guard is worth: assumptions of this model, not measurements. Change them and rerun.
GUARD_TYPES = ("prevent", "detect", "mitigate")   # the future-facing action items become guards
PREVENT_CATCH = 0.9      # a regression case stops 9 in 10 recurrences; a variant slips through
DETECT_SPEEDUP = 4.0     # an alert rule notices in a quarter of the time a person does
MITIGATE_FACTOR = 0.5    # a limiter or a validation rule halves the share of requests harmed
DURATION_SIGMA = 0.8     # durations vary log-normally (sigma 0.8): a heavy tail, as in life
OTHER_SEEDS = 10         # the claim is checked again on the ten seeds after the chosen one


class Draw(NamedTuple):
    """The world's dice for one class in one week, thrown before either run: both runs meet the
    very same world."""
    occur: float                            # the class happens if occur < its weekly chance
    catch: float                            # a live prevent guard stops it if catch < PREVENT_CATCH
    ttd_factor: float                       # this incident's detection time / the class median
    ttm_factor: float                       # its mitigation time / the class median
    fates: tuple[tuple[float, int], ...]    # per guard type, if filed now: (backlog roll, delay)


@dataclass(frozen=True)
class IncidentRecord:
    week: int
    failure: str
    repeat: bool                 # the same failure class had an incident before
    ttd_min: float
    ttm_min: float
    severity: float
    guards: tuple[str, ...]      # the guards in force that shaped it
    start_s: float | None = None  # on the story's clock (week 1 only)

    @property
    def minutes(self) -> float:
        return self.ttd_min + self.ttm_min

    @property
    def bad_minutes(self) -> float:          # minutes of full outage: duration x share harmed
        return self.minutes * self.severity


def respond(failure: FailureClass, draw: Draw, guards: set[str] | frozenset[str], week: int,
            repeat: bool = False) -> IncidentRecord | None:
    """One occurrence of a failure class, shaped by the guards in force (None: a prevent guard
    stopped it). Prevent decides whether it happens, detect how soon it is seen, mitigate how
    many requests it harms."""
    if "prevent" in guards and draw.catch < PREVENT_CATCH:
        return None
    ttd = failure.ttd_min * draw.ttd_factor / (DETECT_SPEEDUP if "detect" in guards else 1.0)
    severity = failure.severity * (MITIGATE_FACTOR if "mitigate" in guards else 1.0)
    return IncidentRecord(week=week, failure=failure.name, repeat=repeat, ttd_min=ttd,
                          ttm_min=failure.ttm_min * draw.ttm_factor, severity=severity,
                          guards=tuple(g for g in GUARD_TYPES if g in guards))


def story_incidents(requests, scenario: traffic.Scenario = traffic.STORY) -> list[IncidentRecord]:
    """Week 1 is the story's day: its paging incidents (blips paged nobody: no postmortem). The
    SLO burn rules page the on-call, computed from the story as lab 2 does (solution/slo.py): an
    incident was detected when they paged, else in its class's median; then mitigated."""
    counts = per_minute(requests, math.ceil(scenario.duration_s / 60), traffic.SLOW_MS / 1000)
    pages = burn_alert(slo_verdicts(counts, scenario.slo_availability, scenario.slo_latency))
    records = []
    for incident in (i for i in scenario.incidents if i.page):
        failure = STORY_FAILURES[incident.name]
        page = next((p for p in pages if matches(p, incident)), None)
        ttd = (page.fired_s - incident.start_s) / 60 if page else failure.ttd_min
        ttm = max(0.0, (incident.end_s - incident.start_s) / 60 - ttd)
        records.append(IncidentRecord(week=1, failure=failure.name, repeat=False, ttd_min=ttd,
                                      ttm_min=ttm, severity=failure.severity, guards=(),
                                      start_s=incident.start_s))
    return records


# ── the postmortem: the SRE book's record, and action items that become guards ────────────────

# Action item types (Lunney et al., "Postmortem Action Items: Plan the Work and Work the Plan",
# ;login: 2017): investigate, mitigate, repair, detect future, mitigate future, prevent future.
# Only the future-facing ones become guards.
BACKLOG_CHANCE = 0.2     # a filed action item that nobody picks up
DELAY_WEEKS = (1, 3)     # a picked-up item takes effect 1 to 3 weeks after the postmortem


@dataclass(frozen=True)
class ActionItem:
    type: str                # "repair", "prevent", "detect" or "mitigate"
    text: str
    live_from: int | None    # the week its guard takes effect; None: it sits in the backlog


@dataclass(frozen=True)
class Postmortem:
    """The fields of a postmortem (Google SRE book, "Postmortem Culture: Learning from Failure",
    and its example postmortem), blameless: causes are in systems, not in people. `incident` is
    the record it was written for: its week and failure class, as numbers, not as title text."""
    incident: IncidentRecord
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


def file_action_items(draw: Draw, week: int, filed: dict[str, int | None]) -> dict[str, int | None]:
    """Each guard type's item once more: an item already scheduled keeps its week; one never filed,
    or left in the backlog by an earlier postmortem, is filed now and may be picked up this time
    (a repeat raises its priority). Returns the updated plan: guard type -> week live, or None."""
    plan = dict(filed)
    for kind, (roll, delay) in zip(GUARD_TYPES, draw.fates):
        if plan.get(kind) is None:
            plan[kind] = None if roll < BACKLOG_CHANCE else week + delay
    return plan


def write_postmortem(failure: FailureClass, record: IncidentRecord,
                     plan: dict[str, int | None], allowance: float) -> Postmortem:
    """The record an on-call team writes after an incident."""
    start = record.start_s
    if start is not None:      # on the story's clock
        timeline = (f"{traffic.clock(start)} started; {traffic.clock(start + record.ttd_min * 60)} "
                    f"detected; {traffic.clock(start + record.minutes * 60)} mitigated")
    else:
        timeline = (f"started; detected after {record.ttd_min:.0f} min; "
                    f"mitigated {record.ttm_min:.0f} min later")
    detection = f"after {record.ttd_min:.0f} min: {failure.noticed_by}"
    if "detect" in record.guards:
        detection = f"after {record.ttd_min:.0f} min, by the guard: {failure.actions['detect']}"
    items = (ActionItem("repair", failure.actions["repair"], record.week),
             *(ActionItem(kind, failure.actions[kind], plan.get(kind)) for kind in GUARD_TYPES))
    repeat = " (a repeat)" if record.repeat else ""
    impact = (f"{record.minutes:.0f} min x {100 * record.severity:.0f} % of requests = "
              f"{record.bad_minutes:.0f} bad min, {100 * record.bad_minutes / allowance:.0f} % "
              "of the budget")
    return Postmortem(
        incident=record, title=f"week {record.week}: {failure.name}",
        summary=f"{failure.harm} for {record.minutes:.0f} min{repeat}", impact=impact,
        timeline=timeline, root_cause=failure.root_cause, trigger=failure.trigger,
        detection=detection, resolution=failure.actions["repair"], action_items=items,
        lessons=failure.lesson)


# ── the regression guard from the drift, made concrete: an eval case in the offline gate ───────

# The drift's regression case: a SmartSync question, the check its live answers failed (lab 3).
# judges.passes runs it against the service with a given index: (passed, answer, documents).
DRIFT_CASE = RegressionCase(traffic.QUESTIONS[traffic.STORY.launch_topic][0], CHECKS["grounded"],
                            "content drift")


# ── the error budget policy (solution/slo.py) freezes releases ─────────────────────────────────

FREEZE_FACTOR = 0.2      # in a freeze only P0 and security fixes ship: a fifth of the changes


def weekly_chance(failure: FailureClass, frozen: bool) -> float:
    """A freeze holds back what ships with releases; the world's failures come anyway."""
    return failure.weekly_chance * (FREEZE_FACTOR if frozen and failure.cause == "change" else 1)


# ── the weeks ──────────────────────────────────────────────────────────────────────────────────

@dataclass(frozen=True)
class Week:
    week: int
    incidents: int
    repeats: int
    stopped: int                  # occurrences a prevent guard stopped before users saw them
    median_ttd_min: float | None  # None: no incident that week
    spent: float                  # this week's share of the four-week budget
    budget: float                 # the last four weeks' share: what the policy reads
    frozen: bool                  # releases were frozen during this week
    guards: int                   # guards in force during this week


@dataclass(frozen=True)
class Run:
    flywheel: bool
    weeks: list[Week]
    incidents: list[IncidentRecord]
    postmortems: list[Postmortem]

    @property
    def repeats(self) -> int:
        return sum(w.repeats for w in self.weeks)

    @property
    def median_ttd_min(self) -> float | None:
        return statistics.median(i.ttd_min for i in self.incidents) if self.incidents else None


def draw_world(seed: int, weeks: int, classes: int) -> list[list[Draw]]:
    """Every die the world will throw, in a fixed order: week by week, class by class."""
    rng = random.Random(seed)
    return [[Draw(occur=rng.random(), catch=rng.random(),
                  ttd_factor=rng.lognormvariate(0, DURATION_SIGMA),
                  ttm_factor=rng.lognormvariate(0, DURATION_SIGMA),
                  fates=tuple((rng.random(), rng.randint(*DELAY_WEEKS)) for _ in GUARD_TYPES))
             for _ in range(classes)] for _ in range(weeks)]


def simulate(world: list[list[Draw]], classes: tuple[FailureClass, ...], flywheel: bool,
             week1: list[IncidentRecord], scenario: traffic.Scenario = traffic.STORY) -> Run:
    """Week after week: failures happen, guards shape them, postmortems file action items, the
    budget policy freezes releases. Without the flywheel, the items stay in the backlog."""
    allowance = budget_allowance(scenario.slo_availability)
    baseline = traffic.BASE_ERROR_RATE * WEEK_MIN          # the service's errors outside incidents
    plans: dict[str, dict[str, int | None]] = {c.name: {} for c in classes}
    by_name = {c.name: c for c in classes}
    seen: set[str] = set()
    spent = [baseline / allowance] * (BUDGET_WEEKS - 1)     # the quiet month before the story
    weeks, incidents, postmortems = [], [], []
    frozen = False
    for week, draws in enumerate(world, 1):
        live = {name: frozenset(kind for kind, at in plan.items() if at is not None and at <= week)
                for name, plan in plans.items()}
        if week == 1:
            happened, stopped = week1, 0
        else:
            happened, stopped = [], 0
            for failure, draw in zip(classes, draws):
                if draw.occur >= weekly_chance(failure, frozen):
                    continue
                record = respond(failure, draw, live[failure.name], week, failure.name in seen)
                if record is None:
                    stopped += 1
                else:
                    happened.append(record)
        for record in happened:
            failure = by_name[record.failure]
            seen.add(failure.name)
            if flywheel:
                plans[failure.name] = file_action_items(draws[classes.index(failure)], week,
                                                        plans[failure.name])
            postmortems.append(write_postmortem(failure, record, plans[failure.name], allowance))
        incidents += happened
        spent.append((baseline + sum(r.bad_minutes for r in happened)) / allowance)
        ttd = statistics.median(r.ttd_min for r in happened) if happened else None
        weeks.append(Week(week=week, incidents=len(happened),
                          repeats=len([r for r in happened if r.repeat]), stopped=stopped,
                          median_ttd_min=ttd, spent=spent[-1], budget=sum(spent[-BUDGET_WEEKS:]),
                          frozen=frozen, guards=sum(len(g) for g in live.values())))
        frozen = releases_frozen(spent)
    return Run(flywheel=flywheel, weeks=weeks, incidents=incidents, postmortems=postmortems)


def reduction(without: Run, flywheel: Run) -> float | None:
    """The share of repeats the flywheel removed; None when there were none to remove."""
    return 1 - flywheel.repeats / without.repeats if without.repeats else None


def halved_on(spread: list[tuple[int, float | None]]) -> int:
    """On how many seeds the flywheel removed at least half of the repeats."""
    return len([cut for _, cut in spread if cut is not None and cut >= 0.5])


@dataclass(frozen=True)
class Result:
    seed: int
    weeks: int
    blips: int                        # story incidents that paged nobody: no postmortem
    without: Run
    flywheel: Run | None              # None when run with flywheel=False
    spread: list[tuple[int, float | None]]   # (seed, reduction) on the ten seeds after `seed`
    case: RegressionCase
    before: tuple[bool, str, tuple[int, ...]]    # the case against the pre-launch service
    after: tuple[bool, str, tuple[int, ...]]     # and against the fixed one


def run(requests: list[traffic.Request] | None = None, *, seed: int = traffic.DEFAULT_SEED,
        scenario: traffic.Scenario = traffic.STORY, weeks: int = 12,
        flywheel: bool = True) -> Result:
    """Both runs on `seed`, and the flywheel's cut of repeats on the ten seeds after it. Week 1 is
    the story's incidents (`requests`: the story; generated when not given); the weeks after it,
    this lab's own seeded model."""
    requests = traffic.generate(seed=seed, scenario=scenario) if requests is None else requests
    week1, classes = story_incidents(requests, scenario), failure_classes(scenario)
    world = draw_world(seed, weeks, len(classes))
    without = simulate(world, classes, False, week1, scenario)
    turned = simulate(world, classes, True, week1, scenario) if flywheel else None
    spread = []
    if flywheel:
        for other in range(seed + 1, seed + 1 + OTHER_SEEDS):
            other_world = draw_world(other, weeks, len(classes))
            spread.append((other, reduction(simulate(other_world, classes, False, week1, scenario),
                                            simulate(other_world, classes, True, week1, scenario))))
    blips = len([i for i in scenario.incidents if not i.page])
    return Result(seed=seed, weeks=weeks, blips=blips, without=without, flywheel=turned,
                  spread=spread, case=DRIFT_CASE, before=passes(DRIFT_CASE, PRE_LAUNCH_INDEX),
                  after=passes(DRIFT_CASE, FIXED_INDEX))


# ── the screen ─────────────────────────────────────────────────────────────────────────────────

def _week_cells(week: Week, flywheel: bool) -> str:
    """One run's columns of one week: inc rep [stop] TTD budget [guards]."""
    stop = f"{week.stopped:>4} " if flywheel else ""
    ttd = "-" if week.median_ttd_min is None else f"{week.median_ttd_min:.0f}"
    budget = f"{math.floor(100 * week.budget)} %"                # 99.9 % is not 100
    cells = (f"{week.incidents:>3} {week.repeats:>3} {stop}{ttd:>4} "
             f"{budget:>5}{'F' if week.frozen else ' '}")
    return cells + (f" {week.guards:>6}" if flywheel else "")


def _total_cells(run_: Run) -> str:
    stop = f"{sum(w.stopped for w in run_.weeks):>4} " if run_.flywheel else ""
    ttd = "-" if run_.median_ttd_min is None else f"{run_.median_ttd_min:.0f}"
    return (f"{len(run_.incidents):>3} {run_.repeats:>3} {stop}{ttd:>4} "
            f"{len([w for w in run_.weeks if w.frozen]):>5}F")


def _postmortem_lines(pm: Postmortem) -> list[str]:
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


def report(result: Result) -> str:
    """Both runs, the spread over seeds, one postmortem and its regression case."""
    without, turned = result.without, result.flywheel
    runs = [r for r in (without, turned) if r is not None]
    first = len([p for p in runs[-1].postmortems if p.incident.week == 1])
    lines = [f"{plural(result.weeks, 'week')} from the story's day (seed {result.seed}), "
             + ("without and with the flywheel" if turned else "without the flywheel"),
             f"Week 1 is the story: {first} paging incidents -> {first} postmortems; "
             f"its {result.blips} blips get none.",
             *wrap("Detected after (min): " + ", ".join(
                 f"{r.failure} {r.ttd_min:.0f}" for r in runs[-1].incidents if r.week == 1)
                 + "; by lab 2's SLO burn pages where they fired", 79),
             "       without the flywheel" + ("     with the flywheel" if turned else ""),
             "week  inc rep  TTD budget" + ("   inc rep stop  TTD budget guards" if turned else "")]
    for n, week in enumerate(without.weeks):
        lines.append(f"{week.week:>4}  {_week_cells(week, False)}"
                     + (f"   {_week_cells(turned.weeks[n], True)}" if turned else ""))
    lines.append(" all  " + "   ".join(_total_cells(r) for r in runs))
    for label, value in (("repeats", lambda w: w.repeats), ("budget", lambda w: w.budget)):
        series = [squeeze([value(w) for w in r.weeks], 24) for r in runs]
        top = max(v for s in series for v in s)
        lines.append(f"{label:<8} " + "   ".join(f"{sparkline(s, low=0, high=top)} {name}"
                                                 for s, name in zip(series, ("without", "with"))))
    lines.append("TTD: median min to detect; budget: last 4 weeks' share; F: releases frozen")
    if turned:                    # the cut, the classes that still came back, the other seeds
        cut = reduction(without, turned)
        back = Counter(r.failure for r in turned.incidents if r.repeat)
        seeds = " ".join("-" if r is None else f"{100 * r:.0f}" for _, r in result.spread)
        lines += wrap(f"Repeats: {without.repeats} without the flywheel, {turned.repeats} with it: "
                      + ("none to cut" if cut is None else f"{percent(cut, 0)} fewer")
                      + (f" (came back: {', '.join(f'{n} {k}' for k, n in sorted(back.items()))})"
                         if back else "") + ". Seeds "
                      f"{result.spread[0][0]}-{result.spread[-1][0]}: {seeds} % fewer; at least "
                      f"half on {halved_on(result.spread)} of {len(result.spread)}.", 79)
    for drift in (p for p in runs[-1].postmortems
                  if p.incident.week == 1 and p.incident.failure == result.case.source):
        lines += _postmortem_lines(drift)
    lines += [f"Its regression case for the offline gate: the answer {result.case.check}",
              f'  "{result.case.prompt}"']
    for label, (ok, text, docs) in (("the service at launch:", result.before),
                                    ("after the fix:", result.after)):
        lines.append(f"  {label:<23}retrieved {list(docs)}, cites {traffic.cited_docs(text)} -> "
                     + ("PASS" if ok else "FAIL: the gate blocks it"))
    return "\n".join(line.rstrip() for line in lines)


# ── the command line ───────────────────────────────────────────────────────────────────────────

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="The reliability flywheel: incidents -> postmortems -> guards -> fewer "
                    "repeats. Simulates the weeks after the story's day on one seeded world, "
                    "without and with the flywheel.")
    parser.add_argument("--weeks", type=at_most(positive_int, 104), default=12,
                        help="weeks to simulate, week 1 being the story's day (default 12, "
                             "at most 104)")
    parser.add_argument("--seed", type=seed_value, default=traffic.DEFAULT_SEED,
                        help=f"seed of the weekly model (default {traffic.DEFAULT_SEED}); "
                             f"the spread uses the ten seeds after it")
    parser.add_argument("--no-flywheel", action="store_true",
                        help="show only the run whose action items stay in the backlog")
    args = parser.parse_args(argv)
    print(report(run(seed=args.seed, weeks=args.weeks, flywheel=not args.no_flywheel)))
    return 0


if __name__ == "__main__":
    run_cli(main)
