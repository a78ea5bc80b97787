"""Lab 5: does learning from incidents pay? The reliability flywheel, measured over twelve weeks.

Extends M30 (evaluation gates) and M31 (SLOs and error budgets). The story's day (week 1) had four
paging incidents. Each gets a postmortem; its action items become guards: a regression case in
the offline gate (prevent), an alert rule (detect), a limiter or a validation rule (mitigate).
The same seeded world then runs twelve weeks twice: with action items that get done (the
flywheel), and with action items left in the backlog. A model: what the story measures is
measured; what a guard is worth is an assumption (`Assumptions`), each halved in turn.

Read it in this order (about ten minutes); the failure classes and the postmortem record are in
solution/failures.py, the SLO burn rules and the error budget in solution/slo.py:
1. `Assumptions`, `respond`: how the guards in force shape one incident; `story_incidents`:
   week 1, detected when the story's SLO burn rules paged (lab 2's "SLO burn"), or not at all;
2. `file_action_items`: the postmortem's items, done or left in the backlog; the drift's
   regression case, run against the service before and after the fix (judges.py: `passes`);
3. `simulate`: week after week, the budget policy freezing releases; `run()` repeats it on other
   seeds and with each assumption halved; `report()`, `main()`.

    python3 solution/lab5_flywheel.py [--weeks 26 --seed 3 | --no-flywheel]

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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

if __package__ in (None, ""):          # run as a script: make the `solution` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from solution import traffic
from solution.traffic import FIXED_INDEX, PRE_LAUNCH_INDEX
from solution.cli import at_most, positive_int, run_cli, seed_value
from solution.failures import (FUTURE_ITEMS, FailureClass, Measured, Postmortem, failure_classes,
                               from_the_story, postmortem_lines, write_postmortem)
from solution.judges import CHECKS, RegressionCase, passes
from solution.numeric import percent
from solution.slo import BUDGET_WEEKS, WEEK_MIN, budget_allowance, releases_frozen
from solution.terminal import wrap


# ── one incident: the guards in place decide how it goes ───────────────────────────────────────

DURATION_SIGMA = 0.8     # durations vary log-normally (sigma 0.8): a heavy tail, as in life
OTHER_SEEDS = 10         # the claim is checked again on the ten seeds after the chosen one
SHARE_SEEDS = 40         # ... and where the flywheel does not help, on forty


@dataclass(frozen=True)
class Assumptions:
    """What a guard is worth and how a team works: this model's assumptions, not measurements.
    Change them and rerun; `run()` halves each in turn and reports how the headline moves."""
    prevent_catch: float = 0.9      # a regression case stops 9 in 10 recurrences; a variant slips
    detect_speedup: float = 4.0     # an alert rule notices in a quarter of the time
    mitigate_factor: float = 0.5    # a limiter or a validation rule halves the share harmed
    backlog_chance: float = 0.2     # a filed action item that nobody picks up
    freeze_factor: float = 0.2      # in a freeze only P0 and security fixes ship: a fifth
    chance_factor: float = 1.0      # x every class's weekly chance (solution/failures.py)


ASSUMED = Assumptions()
HALVED = (("prevent_catch", "a prevent guard stops a repeat"),
          ("detect_speedup", "an alert rule detects this x sooner"),
          ("mitigate_factor", "a mitigation leaves this share harmed"),
          ("backlog_chance", "an action item stays in the backlog"),
          ("freeze_factor", "a freeze lets this share of changes ship"),
          ("chance_factor", "x each class's weekly chance"))


class Draw(NamedTuple):
    """The world's dice for one class in one week, thrown before either run: both meet one world."""
    occur: float                            # the class happens if occur < its weekly chance
    catch: float                            # a live prevent guard stops it if catch < prevent_catch
    ttd_factor: float                       # this incident's detection time / the class median
    ttm_factor: float                       # its mitigation time / the class median
    fates: tuple[tuple[float, int], ...]    # per guard type, if filed now: (backlog roll, delay)


@dataclass(frozen=True)
class IncidentRecord:
    week: int
    failure: str
    repeat: bool                 # the same failure class had an incident before
    ttd_min: float               # not detected: the whole time it ran
    ttm_min: float
    severity: float
    guards: tuple[str, ...]      # the guards in force that shaped it
    start_s: float | None = None  # on the story's clock (week 1 only)
    detected: bool = True

    @property
    def minutes(self) -> float:
        return self.ttd_min + self.ttm_min

    @property
    def bad_minutes(self) -> float:          # minutes of full outage: duration x share harmed
        return self.minutes * self.severity


def respond(failure: FailureClass, draw: Draw, guards: set[str] | frozenset[str], week: int,
            repeat: bool = False, model: Assumptions = ASSUMED) -> IncidentRecord | None:
    """One occurrence of a failure class, shaped by the guards in force (None: a prevent guard
    stopped it): prevent decides whether, detect how soon it is seen, mitigate how much it harms."""
    if "prevent" in guards and draw.catch < model.prevent_catch:
        return None
    speedup = model.detect_speedup if "detect" in guards else 1.0
    severity = failure.severity * (model.mitigate_factor if "mitigate" in guards else 1.0)
    return IncidentRecord(week=week, failure=failure.name, repeat=repeat,
                          ttd_min=failure.ttd_min * draw.ttd_factor / speedup,
                          ttm_min=failure.ttm_min * draw.ttm_factor, severity=severity,
                          guards=tuple(g for g in FUTURE_ITEMS if g in guards))


def story_incidents(measured: dict[str, Measured]) -> list[IncidentRecord]:
    """Week 1, the story's paging incidents as failures.from_the_story measured them: detected
    when lab 2's SLO burn rules paged, mitigated by the window's end; or never detected."""
    return [IncidentRecord(week=1, failure=name, repeat=False, severity=m.severity, guards=(),
                           ttd_min=m.minutes if m.detected_min is None else m.detected_min,
                           ttm_min=0.0 if m.detected_min is None else m.minutes - m.detected_min,
                           start_s=m.start_s, detected=m.detected_min is not None)
            for name, m in measured.items()]


def story_spent(requests, scenario: traffic.Scenario, allowance: float) -> float:
    """The share of the four-week budget the story's six hours spent, counted as lab 2 counts it:
    its failed share x its minutes = bad minutes (SRE Workbook: budget = (1 - SLO) x events)."""
    failed = sum(1 for r in requests if r.status >= 500) / len(requests) if requests else 0.0
    return failed * scenario.duration_s / 60 / allowance


# ── the postmortem's action items become guards; the drift's becomes an eval case ─────────────

# Action item types (Lunney et al., "Postmortem Action Items: Plan the Work and Work the Plan",
# ;login: 2017): investigate, mitigate, repair, detect future, mitigate future, prevent future.
# Only the future-facing ones become guards.
DELAY_WEEKS = (1, 3)     # a picked-up item takes effect 1 to 3 weeks after the postmortem


def file_action_items(draw: Draw, week: int, filed: dict[str, int | None],
                      model: Assumptions = ASSUMED) -> dict[str, int | None]:
    """Each guard type's item once more: one scheduled keeps its week; one never filed, or left in
    the backlog, may be picked up now. The updated plan: guard type -> week live, or None."""
    plan = dict(filed)
    for kind, (roll, delay) in zip(FUTURE_ITEMS, draw.fates):
        if plan.get(kind) is None:
            plan[kind] = None if roll < model.backlog_chance else week + delay
    return plan


# judges.passes runs it against the service with a given index: (passed, answer, documents).
DRIFT_CASE = RegressionCase(traffic.QUESTIONS[traffic.STORY.launch_topic][0], CHECKS["grounded"],
                            "content drift")    # a SmartSync question, the check it failed (lab 3)


# ── the weeks, under the error budget policy (solution/slo.py) ───────────────────────────────

def weekly_chance(failure: FailureClass, frozen: bool, model: Assumptions = ASSUMED) -> float:
    """A freeze holds back what ships with releases; the world's failures come anyway."""
    held = model.freeze_factor if frozen and failure.cause == "change" else 1.0
    return failure.weekly_chance * model.chance_factor * held


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


def draw_world(seed: int, weeks: int, classes: int) -> list[list[Draw]]:
    """Every die the world will throw, in a fixed order: week by week, class by class."""
    rng = random.Random(seed)
    return [[Draw(occur=rng.random(), catch=rng.random(),
                  ttd_factor=rng.lognormvariate(0, DURATION_SIGMA),
                  ttm_factor=rng.lognormvariate(0, DURATION_SIGMA),
                  fates=tuple((rng.random(), rng.randint(*DELAY_WEEKS)) for _ in FUTURE_ITEMS))
             for _ in range(classes)] for _ in range(weeks)]


def simulate(world: list[list[Draw]], classes: tuple[FailureClass, ...], flywheel: bool,
             week1: list[IncidentRecord], week1_spent: float, model: Assumptions = ASSUMED,
             scenario: traffic.Scenario = traffic.STORY) -> Run:
    """Week after week: failures happen, guards shape them, postmortems file action items, the
    budget policy freezes releases. Without the flywheel, the items stay in the backlog."""
    allowance = budget_allowance(scenario.slo_availability)
    baseline = traffic.BASE_ERROR_RATE * WEEK_MIN          # the service's errors outside incidents
    plans: dict[str, dict[str, int | None]] = {c.name: {} for c in classes}
    by_name = {c.name: c for c in classes}
    spent = [baseline / allowance] * (BUDGET_WEEKS - 1)     # the quiet month before the story
    weeks, incidents, postmortems, seen, frozen = [], [], [], set(), False
    for week, draws in enumerate(world, 1):
        live = {name: frozenset(kind for kind, at in plan.items() if at is not None and at <= week)
                for name, plan in plans.items()}
        happened, stopped = (list(week1) if week == 1 else []), 0
        for failure, draw in zip(classes, draws):
            if week == 1 or draw.occur >= weekly_chance(failure, frozen, model):
                continue
            record = respond(failure, draw, live[failure.name], week, failure.name in seen, model)
            if record is None:
                stopped += 1
            else:
                happened.append(record)
        for record in happened:
            failure = by_name[record.failure]
            seen.add(failure.name)
            if flywheel:
                plans[failure.name] = file_action_items(draws[classes.index(failure)], week,
                                                        plans[failure.name], model)
            postmortems.append(write_postmortem(failure, record, plans[failure.name], allowance))
        incidents += happened
        bad = baseline + sum(r.bad_minutes for r in happened)
        spent.append(week1_spent if week == 1 else bad / allowance)
        ttd = statistics.median(r.ttd_min for r in happened) if happened else None
        weeks.append(Week(week=week, incidents=len(happened), stopped=stopped,
                          repeats=len([r for r in happened if r.repeat]), median_ttd_min=ttd,
                          spent=spent[-1], budget=sum(spent[-BUDGET_WEEKS:]), frozen=frozen,
                          guards=sum(len(g) for g in live.values())))
        frozen = releases_frozen(spent)
    return Run(flywheel=flywheel, weeks=weeks, incidents=incidents, postmortems=postmortems)


def reduction(without: Run, flywheel: Run) -> float | None:
    """The share of repeats the flywheel removed; None when there were none to remove."""
    return 1 - flywheel.repeats / without.repeats if without.repeats else None


def halved_on(spread: list[tuple[int, float | None]]) -> int:
    """On how many seeds the flywheel removed at least half of the repeats."""
    return len([cut for _, cut in spread if cut is not None and cut >= 0.5])


def shortfall(without: Run, flywheel: Run) -> str | None:
    """Why the flywheel cut fewer than half of the repeats on this world (None: it cut half or
    more): there were none to cut, or most of its repeats came before a prevent guard was live
    (its item still in the backlog, or not yet done), or slipped past a live one."""
    cut = reduction(without, flywheel)
    if cut is None or cut >= 0.5:
        return None if cut is not None else "no repeat to cut"
    early = len([r for r in flywheel.incidents if r.repeat and "prevent" not in r.guards])
    return "before its guard was live" if 2 * early >= flywheel.repeats else "slipped past it"


def both_met(without: Run, flywheel: Run) -> list[tuple[float, float]]:
    """Minutes to detect of the incidents both runs met (same week, same class, after week 1):
    like with like, since the flywheel's own median leaves out the incidents it prevented."""
    met = {(r.week, r.failure): r.ttd_min for r in without.incidents if r.week > 1}
    return [(met[(r.week, r.failure)], r.ttd_min) for r in flywheel.incidents
            if (r.week, r.failure) in met]


class Halved(NamedTuple):
    """One row of the sensitivity table: an assumption halved, and what the headline became."""
    field: str
    what: str
    assumed: float
    halved: float
    cut: float | None         # the cut on the chosen seed
    on: int                   # seeds of the ten after it where the repeats still halve


@dataclass(frozen=True)
class Result:
    seed: int
    weeks: int
    blips: int                        # story incidents that paged nobody: no postmortem
    without: Run
    flywheel: Run | None              # None when run with flywheel=False
    spread: list[tuple[int, float | None]]   # (seed, reduction) on the ten seeds after `seed`
    short: list[tuple[int, float | None, str]]   # (seed, cut, why): under half, of SHARE_SEEDS
    sensitivity: list[Halved]         # each assumption halved in turn
    story_spent: float                # the four-week budget's share the story's six hours spent
    case: RegressionCase
    before: tuple[bool, str, tuple[int, ...]]    # the case against the pre-launch service
    after: tuple[bool, str, tuple[int, ...]]     # and against the fixed one


def run(requests: list[traffic.Request] | None = None, *, seed: int = traffic.DEFAULT_SEED,
        scenario: traffic.Scenario = traffic.STORY, weeks: int = 12,
        flywheel: bool = True) -> Result:
    """Both runs on `seed`, the cut on the seeds after it, and with each assumption halved. Week 1
    is the story's (`requests`: the story; generated when not given); then the seeded model."""
    requests = traffic.generate(seed=seed, scenario=scenario) if requests is None else requests
    measured = from_the_story(requests, scenario)
    week1, classes = story_incidents(measured), failure_classes(scenario, measured)
    allowance = budget_allowance(scenario.slo_availability)
    story = story_spent(requests, scenario, allowance)     # the rest of week 1 at the baseline:
    spent1 = story + traffic.BASE_ERROR_RATE * (WEEK_MIN - scenario.duration_s / 60) / allowance
    worlds = [draw_world(s, weeks, len(classes)) for s in range(seed, seed + 1 + SHARE_SEEDS)]
    def both(world, model=ASSUMED) -> tuple[Run, Run]:      # the same world, without and with
        return (simulate(world, classes, False, week1, spent1, model, scenario),
                simulate(world, classes, True, week1, spent1, model, scenario))
    without, turned = both(worlds[0])
    spread, short, sensitivity = [], [], []
    if flywheel:
        for other, world in enumerate(worlds[1:], seed + 1):
            runs = both(world)
            spread.append((other, reduction(*runs)))
            if shortfall(*runs):
                short.append((other, reduction(*runs), shortfall(*runs)))
        for field, what in HALVED:
            assumed = getattr(ASSUMED, field)
            model = replace(ASSUMED, **{field: assumed / 2})
            cuts = [(s, reduction(*both(w, model))) for s, w in enumerate(worlds, seed)
                    if s <= seed + OTHER_SEEDS]
            sensitivity.append(Halved(field=field, what=what, assumed=assumed,
                                      halved=assumed / 2, cut=cuts[0][1], on=halved_on(cuts[1:])))
    blips = len([i for i in scenario.incidents if not i.page])
    return Result(seed=seed, weeks=weeks, blips=blips,
                  without=without, flywheel=turned if flywheel else None,
                  spread=spread[:OTHER_SEEDS], short=short, sensitivity=sensitivity,
                  story_spent=story, case=DRIFT_CASE, before=passes(DRIFT_CASE, PRE_LAUNCH_INDEX),
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
    ttd = f"{statistics.median(i.ttd_min for i in run_.incidents):.0f}" if run_.incidents else "-"
    return (f"{len(run_.incidents):>3} {run_.repeats:>3} {stop}{ttd:>4} "
            f"{len([w for w in run_.weeks if w.frozen]):>5}F")


def _story_lines(result: Result, postmortems: int) -> list[str]:
    """Week 1: the story's incidents, when lab 2's SLO burn pages detected them, the budget."""
    week1 = [r for r in result.without.incidents if r.week == 1]
    seen, unseen = ([r for r in week1 if r.detected is flag] for flag in (True, False))
    return wrap(f"Week 1 is the story (seed {result.seed}), {postmortems} postmortems; SLO burn "
                "pages caught them after (min): "
                + ", ".join(f"{r.failure} {r.ttd_min:.0f}" for r in seen)
                + "".join(f"; {r.failure}: never" for r in unseen)
                + f"; its 6 h spent {100 * result.story_spent:.1f} % of the 4-week budget.", 79)


def _model_lines(result: Result, without: Run, turned: Run) -> list[str]:
    """The headline, on this seed and the others, and where it cuts less than half and why;
    detection like with like; how the headline moves with each assumption halved."""
    cut = reduction(without, turned)
    back = Counter(r.failure for r in turned.incidents if r.repeat)
    came = ", ".join(f"{n} {k}" for k, n in sorted(back.items()))
    why = ", ".join(f"{n} {reason}" for reason, n in sorted(Counter(
        reason for *_, reason in result.short).items()))
    none = len([c for _, c, _ in result.short if c is None or c <= 0])
    lines = wrap(f"Repeats: {without.repeats} without the flywheel, {turned.repeats} with it: "
                 + ("none to cut" if cut is None else f"{percent(cut, 0)} fewer")
                 + (f" (back: {came})" if back else "") + f"; at least half on "
                 f"{halved_on(result.spread)} of seeds {result.spread[0][0]}-"
                 f"{result.spread[-1][0]}, under half on {len(result.short)} of the "
                 f"{SHARE_SEEDS} seeds after {result.seed}"
                 + (f" (none cut on {none})" if none else "") + (f": {why}." if why else "."), 79)
    pairs = both_met(without, turned)
    if pairs:                       # the TTD column leaves out what the flywheel prevented
        lines.append(f"TTD like with like, the {len(pairs)} incidents both runs met: median "
                     f"{statistics.median(a for a, _ in pairs):.0f} min without, "
                     f"{statistics.median(b for _, b in pairs):.0f} with")
    lines.append(f"Each assumption halved: the cut on seed {result.seed}; seeds of "
                 f"{result.spread[0][0]}-{result.spread[-1][0]} where repeats halve")
    cells = [f"{field:<15} {f'{assumed:g}->{halved:g}':<9} {'-' if c is None else percent(c, 0):>4}"
             f" {on:>2}" for field, _, assumed, halved, c, on in result.sensitivity]
    lines += [f"  {left:<38}{right}" for left, right in zip(cells[::2], cells[1::2] + [""])]
    return lines


def report(result: Result) -> str:
    """Both runs, the model's headline and what moves it, one postmortem and its regression case."""
    without, turned = result.without, result.flywheel
    runs = [r for r in (without, turned) if r is not None]
    first = len([p for p in runs[-1].postmortems if p.incident.week == 1])
    lines = [*_story_lines(result, first),
             "      without the flywheel" + ("      with the flywheel" if turned else "")
             + "   (TTD median min; F frozen)",
             "week  inc rep  TTD budget" + ("   inc rep stop  TTD budget guards" if turned else "")]
    for n, week in enumerate(without.weeks):
        lines.append(f"{week.week:>4}  {_week_cells(week, False)}"
                     + (f"   {_week_cells(turned.weeks[n], True)}" if turned else ""))
    lines.append(" all  " + "   ".join(_total_cells(r) for r in runs))
    if turned:
        lines += _model_lines(result, without, turned)
    for drift in (p for p in runs[-1].postmortems
                  if p.incident.week == 1 and p.incident.failure == result.case.source):
        lines += postmortem_lines(drift)
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
                    "repeats. A model of the weeks after the story's day, on one seeded world, "
                    "without and with the flywheel, and how its headline moves with each "
                    "assumption halved.")
    parser.add_argument("--weeks", type=at_most(positive_int, 104), default=12,
                        help="weeks to simulate, week 1 the story's day (default 12, at most 104)")
    parser.add_argument("--seed", type=seed_value, default=traffic.DEFAULT_SEED,
                        help=f"seed of the story and of the weekly model (default "
                             f"{traffic.DEFAULT_SEED}); the spread uses the seeds after it")
    parser.add_argument("--no-flywheel", action="store_true",
                        help="show only the run whose action items stay in the backlog")
    args = parser.parse_args(argv)
    print(report(run(seed=args.seed, weeks=args.weeks, flywheel=not args.no_flywheel)))
    return 0


if __name__ == "__main__":
    run_cli(main)
