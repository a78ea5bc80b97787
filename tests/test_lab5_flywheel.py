"""Lab 5, the reliability flywheel: its claims measured, each expected value worked by hand."""

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from solution import failures, judges
from solution import lab5_flywheel as lab
from solution import traffic
from solution.traffic import STORY

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "solution" / "lab5_flywheel.py"


@pytest.fixture(scope="module")
def result(default_results):
    return default_results[5]


def count_repeats(incidents) -> int:
    """Repeats recounted from the incident records: an incident whose class had one before."""
    seen, repeats = set(), 0
    for incident in incidents:
        repeats += incident.failure in seen
        seen.add(incident.failure)
    return repeats


# A hand-built failure class and draw: 20 min to detect, 40 to mitigate, half the requests harmed.
# With no guard: (20 + 40) min x 0.5 = 30 bad minutes.
HAND = dataclasses.replace(failures.STORY_FAILURES["upstream error burst"], name="hand", ttd_min=20,
                           ttm_min=40, severity=0.5)


def hand_draw(catch: float) -> lab.Draw:
    return lab.Draw(occur=0.0, catch=catch, ttd_factor=1.0, ttm_factor=1.0,
                    fates=((0.5, 1), (0.5, 1), (0.5, 1)))


def test_week_one_is_the_storys_paging_incidents_and_the_blips_get_no_postmortem(result):
    week_one = [i for i in result.flywheel.incidents if i.week == 1]
    # the story pages four times: 1:00-1:20, 2:00-2:20, 3:00-6:00, 4:00-4:20
    assert [i.failure for i in week_one] == ["provider slowdown", "upstream error burst",
                                             "content drift", "noisy batch tenant"]
    assert [round(i.minutes) for i in week_one] == [20, 20, 180, 20]
    assert [i.start_s for i in week_one] == [3600, 7200, 10800, 14400]
    assert result.blips == 5          # two latency blips, two error blips, one traffic blip
    assert [i for i in result.without.incidents if i.week == 1] == week_one
    first = [p for p in result.flywheel.postmortems if p.incident.week == 1]
    assert [p.incident for p in first] == week_one
    assert [p.title for p in first] == [f"week 1: {i.failure}" for i in week_one]


def test_a_prevent_guard_stops_the_class_at_the_gate_and_changes_nothing_else():
    bare = lab.respond(HAND, hand_draw(catch=0.5), set(), week=5)
    assert bare.bad_minutes == 30.0
    assert lab.respond(HAND, hand_draw(catch=0.5), {"prevent"}, week=5) is None
    # the one recurrence in ten a regression case misses arrives exactly as it would have
    slipped = lab.respond(HAND, hand_draw(catch=0.95), {"prevent"}, week=5)
    assert dataclasses.replace(slipped, guards=()) == bare


def test_a_detect_guard_shortens_detection_and_changes_nothing_else():
    bare = lab.respond(HAND, hand_draw(catch=0.5), set(), week=5)
    seen = lab.respond(HAND, hand_draw(catch=0.5), {"detect"}, week=5)
    assert seen.ttd_min == 5.0                       # 20 min / 4
    assert (seen.ttm_min, seen.severity) == (bare.ttm_min, bare.severity) == (40.0, 0.5)
    assert seen.bad_minutes == 22.5                  # (5 + 40) x 0.5


def test_a_mitigate_guard_lowers_impact_and_changes_nothing_else():
    bare = lab.respond(HAND, hand_draw(catch=0.5), set(), week=5)
    softer = lab.respond(HAND, hand_draw(catch=0.5), {"mitigate"}, week=5)
    assert softer.severity == 0.25                   # half of 0.5
    assert (softer.ttd_min, softer.ttm_min) == (bare.ttd_min, bare.ttm_min) == (20.0, 40.0)
    assert softer.bad_minutes == 15.0                # 60 x 0.25


def test_all_three_guards_together_when_the_gate_misses():
    both = lab.respond(HAND, hand_draw(catch=0.95), {"prevent", "detect", "mitigate"}, week=5)
    assert both.bad_minutes == 11.25                 # (5 + 40) x 0.25
    assert both.guards == ("prevent", "detect", "mitigate")


def test_guards_take_effect_after_a_delay_and_some_items_stay_in_the_backlog():
    draw = lab.Draw(0.0, 0.0, 1.0, 1.0, fates=((0.05, 2), (0.5, 3), (0.9, 1)))
    plan = lab.file_action_items(draw, week=3, filed={})
    assert plan == {"prevent": None, "detect": 6, "mitigate": 4}   # 0.05 < 0.2: backlog
    # a repeat's postmortem files the backlog item again; a scheduled one keeps its week
    again = lab.file_action_items(lab.Draw(0.0, 0.0, 1.0, 1.0, ((0.7, 1), (0.7, 1), (0.7, 1))),
                                  week=5, filed=plan)
    assert again == {"prevent": 6, "detect": 6, "mitigate": 4}


def test_in_the_run_a_guard_lands_one_to_three_weeks_after_the_postmortem_that_scheduled_it(result):
    scheduled = {}          # (failure, guard type) -> (week of the postmortem, week it lands)
    backlog = 0
    for pm in result.flywheel.postmortems:
        week, failure = pm.incident.week, pm.incident.failure
        for item in pm.action_items[1:]:
            backlog += item.live_from is None
            if item.live_from is not None:
                scheduled.setdefault((failure, item.type), (week, item.live_from))
    assert scheduled and all(1 <= lands - week <= 3 for week, lands in scheduled.values())
    assert backlog > 0                      # not magic: some items are never picked up
    for incident in result.flywheel.incidents:        # and no guard acts before it lands
        for guard in incident.guards:
            assert scheduled[(incident.failure, guard)][1] <= incident.week


def test_without_the_flywheel_every_action_item_stays_in_the_backlog(result):
    items = [i for p in result.without.postmortems for i in p.action_items if i.type != "repair"]
    assert items and all(i.live_from is None for i in items)
    assert all(w.guards == 0 and w.stopped == 0 for w in result.without.weeks)
    assert all(not i.guards for i in result.without.incidents)


def test_the_four_week_budget_and_the_release_freeze_follow_the_sre_workbook(result, story):
    assert lab.budget_allowance(0.995) == pytest.approx(201.6)     # 0.005 x 28 x 1440
    # week 1 counts as lab 2 counts: the story's failed share x its 360 minutes (bad minutes),
    # then the baseline 0.002 x (10,080 - 360) for the rest of the week; over 201.6
    failed = sum(1 for r in story if r.status >= 500) / len(story)
    week_one = result.without.weeks[0]
    assert week_one.spent == pytest.approx((failed * 360 + 0.002 * (10_080 - 360)) / 201.6)
    # the story's six hours alone: lab 2's burn x 6 h / 28 days, the figure lab 2 converts to
    burn = failed / 0.005
    assert result.story_spent == pytest.approx(burn * 6 / (28 * 24))
    assert f"spent {100 * burn * 6 / (28 * 24):.1f} % of the 4-week budget" in " ".join(lab.report(result).split())
    # the three weeks before the story were quiet: 0.1 each
    assert week_one.budget == pytest.approx(0.3 + week_one.spent)
    quiet = [w for w in result.without.weeks if w.incidents == 0]
    assert quiet and all(w.spent == pytest.approx(0.1) for w in quiet)
    frozen_somewhere = lab.run(requests=story, seed=4)     # a world whose budget runs out
    for run_ in (result.without, result.flywheel, frozen_somewhere.without):
        weeks = run_.weeks
        assert not weeks[0].frozen
        for before, after in zip(weeks, weeks[1:]):
            assert after.frozen == (before.budget >= 1.0)
            assert after.budget == pytest.approx(sum(w.spent for w in weeks[max(0, after.week - 4):
                                                                            after.week])
                                                 + 0.1 * max(0, 4 - after.week))
    assert any(w.frozen for w in frozen_somewhere.without.weeks)      # the budget ran out


def test_a_freeze_holds_back_failures_that_ship_with_releases_only():
    release = next(c for c in failures.MORE_FAILURES if c.name == "bad prompt release")
    provider = failures.STORY_FAILURES["provider slowdown"]
    assert lab.weekly_chance(release, frozen=True) == pytest.approx(0.25 * 0.2)
    assert lab.weekly_chance(release, frozen=False) == 0.25
    assert lab.weekly_chance(provider, frozen=True) == 0.30


def test_the_flywheel_at_least_halves_repeats_on_the_default_seed(result):
    without = count_repeats(result.without.incidents)
    turned = count_repeats(result.flywheel.incidents)
    assert (without, turned) == (result.without.repeats, result.flywheel.repeats)
    assert without >= 5 and turned <= without / 2


def test_the_flywheel_at_least_halves_repeats_on_8_of_10_other_seeds(result):
    # the spread reuses the default story's week 1 on the other seeds' worlds: on three of them
    # (the first, a middle one, the last) a whole run on that seed's own story, its repeats
    # recounted here, gives the same cut
    seeds = list(range(traffic.DEFAULT_SEED + 1, traffic.DEFAULT_SEED + 11))
    assert [seed for seed, _ in result.spread] == seeds
    spread = dict(result.spread)
    for seed in (seeds[0], seeds[4], seeds[-1]):
        other = lab.run(seed=seed)
        without = count_repeats(other.without.incidents)
        turned = count_repeats(other.flywheel.incidents)
        assert spread[seed] == pytest.approx(1 - turned / without), seed
    halved = sum(cut >= 0.5 for cut in spread.values())
    assert halved >= 8
    screen = " ".join(lab.report(result).split())
    assert f"at least half on {halved} of seeds 8-17" in screen


def test_the_weekly_time_to_detect_is_a_median(result):
    # week 1: three incidents detected by the burn pages within 20 min, the drift never (it runs
    # its 180 min unseen): the median is the mean of the middle two; the mean, over 50, would let
    # the one unseen incident speak for all four
    ttds = sorted(r.ttd_min for r in result.without.incidents if r.week == 1)
    assert ttds[-1] == 180 and ttds[2] <= 20
    assert result.without.weeks[0].median_ttd_min == (ttds[1] + ttds[2]) / 2
    assert sum(ttds) / 4 > 50


def test_the_postmortem_record_holds_every_field(result):
    fields = {f.name for f in dataclasses.fields(lab.Postmortem)}
    assert fields >= {"summary", "impact", "timeline", "root_cause", "trigger", "detection",
                      "resolution", "action_items", "lessons"}
    for pm in result.flywheel.postmortems + result.without.postmortems:
        assert all(getattr(pm, name) for name in fields), pm.title
        assert [i.type for i in pm.action_items] == ["repair", "prevent", "detect", "mitigate"]
        assert all(i.text for i in pm.action_items)
    drift = next(p for p in result.flywheel.postmortems
                 if p.incident.week == 1 and p.incident.failure == "content drift")
    assert drift.timeline == "3:00 started; not detected by 6:00, when the story ends"
    # the drift fails nothing (lab 3: latency and errors stay normal): it spends none of the
    # availability budget, which does not count an ungrounded answer as bad
    assert drift.impact == "180 min x 0 % of requests failed = 0 bad min, 0 % of the budget"
    assert drift.detection.startswith("none in 180 min: no page fired")


def test_the_drift_regression_case_fails_before_the_fix_and_passes_after():
    case = lab.DRIFT_CASE
    assert case.prompt in traffic.QUESTIONS[STORY.launch_topic]
    assert case.check == "cites a retrieved document" and case.source == "content drift"
    ok, text, docs = lab.passes(case, lab.PRE_LAUNCH_INDEX)
    assert not ok and docs == () and traffic.cited_docs(text) == []
    assert STORY.launch_topic not in lab.PRE_LAUNCH_INDEX
    ok, text, docs = lab.passes(case, lab.FIXED_INDEX)
    assert ok and traffic.cited_docs(text) == [docs[0]]


def test_the_case_check_is_not_fooled_by_a_citation_that_was_not_retrieved():
    assert not judges.grounded("See [doc:950].", ())
    assert not judges.grounded("See [doc:101] and [doc:950].", (101, 102))
    assert judges.grounded("See [doc:101] and [doc:102].", (101, 102))


def test_the_case_fails_every_smartsync_answer_the_story_gave(story):
    launched = [r for r in story if r.topic == STORY.launch_topic and r.ok]
    grounded = [r for r in story if r.grounded][:2000]
    assert launched and not any(judges.grounded(r.answer, r.retrieved_docs)
                                for r in launched)
    assert all(judges.grounded(r.answer, r.retrieved_docs) for r in grounded)


def test_the_story_classes_last_as_long_as_the_storys_windows(story):
    """What the story measures is measured: a class detected on the story's day takes its
    detection time and the rest of its window; one never detected took its whole window unseen
    and keeps only its stated time to mitigate (an assumption)."""
    measured = failures.from_the_story(story)
    classes = {c.name: c for c in failures.failure_classes(measured=measured)}
    for incident in (i for i in STORY.incidents if i.page):
        typed, failure = failures.STORY_FAILURES[incident.name], classes[incident.name]
        window = (incident.end_s - incident.start_s) / 60
        assert typed.severity is None and typed.ttd_min is None          # nothing typed
        if measured[incident.name].detected_min is None:
            assert failure.ttd_min == window and failure.ttm_min == typed.ttm_min
        else:
            assert failure.ttd_min + failure.ttm_min == window


def test_the_requests_are_accepted_and_change_nothing(story, result):
    assert lab.run(requests=story) == result


def test_the_screen_fits_80_columns_and_prints_the_numbers_computed(result):
    screen = lab.report(result)
    assert all(len(line) <= 80 for line in screen.splitlines())
    assert (f"Repeats: {result.without.repeats} without the flywheel, "
            f"{result.flywheel.repeats} with it" in screen)
    assert '"How do I set up SmartSync on my tablet and my phone at the same time?"' in screen
    assert "FAIL: the gate blocks it" in screen and "-> PASS" in screen


def _cli(*args, cwd=ROOT, hashseed="0"):
    env = dict(os.environ, PYTHONHASHSEED=hashseed)
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60)


def test_the_script_runs_from_any_directory_as_a_file_and_as_a_module(tmp_path):
    # (its screen, the same bytes in a fresh interpreter with another hash seed: test_demo.py,
    # whose demo prints this lab's report)
    for args, cwd in (([str(SCRIPT), "--help"], tmp_path),
                      (["-m", "solution.lab5_flywheel", "--help"], ROOT)):
        out = _cli(*args, cwd=cwd)
        assert out.returncode == 0 and "--weeks" in out.stdout, out.stderr


@pytest.mark.parametrize("args, reason", [
    (["--weeks", "0"], "greater than 0"),
    (["--weeks", "1000"], "at most 104"),
    (["--weeks", "many"], "not a number"),
    (["--seed", "-3"], "a seed is a whole number from 0"),
])
def test_bad_flags_are_refused_with_the_reason(command, args, reason):
    status, _, err = command(lab.main, *args)
    assert status == 2 and reason in err and "Traceback" not in err


def test_no_flywheel_shows_the_run_without_it_alone(command):
    status, out, err = command(lab.main, "--no-flywheel", "--weeks", "6")
    assert status == 0, err
    assert "with the flywheel" not in out and "without the flywheel" in out
    weeks = [line.split()[0] for line in out.splitlines() if line[:4].strip().isdigit()]
    assert weeks == ["1", "2", "3", "4", "5", "6"]
    assert "backlog" in out and "week 2" not in out.split("Postmortem")[1]


def test_a_budget_just_short_of_spent_never_prints_as_spent():
    # 99.997 % rounds to 100 %, yet releases stay open: the screen rounds the budget down
    week = lambda share: lab.Week(2, 0, 0, 0, None, 0.0, share, False, 0)      # noqa: E731
    assert " 99 %" in lab._week_cells(week(0.99997), False)
    assert "100 %" in lab._week_cells(week(1.0), False)
    assert not lab.releases_frozen([0.99997]) and lab.releases_frozen([1.0])
