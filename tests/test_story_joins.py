"""One story, one truth: the same event at the same minute in every lab that names it, and one
value for each fact the labs share (the limit for "slow", the SLOs)."""

import math
from dataclasses import replace

import pytest

from solution import lab1_logs, lab2_dashboard, lab5_flywheel
from solution import failures, traffic
from solution.paging import matches

INCIDENT = {i.name: i for i in traffic.STORY.incidents}


@pytest.fixture(scope="module")
def labs(default_results):
    """Every lab's default run on the story (lab 2 with the composite alert), as the demo ran it."""
    return tuple(default_results[number] for number in range(1, 6))


def first_page(pages, incident):
    return next(p for p in pages if matches(p, incident)).fired_s


def test_the_burn_pages_of_lab_2_are_when_lab_5s_week_1_detected_the_incident(labs):
    """Every detection time lab 5 prints for the story's day is lab 2's first SLO burn page on
    that incident, or "not detected" when no burn page caught it: nothing typed in."""
    _, lab2, _, _, lab5 = labs
    burn = lab2.scores[1].pages
    week1 = {r.failure: r for r in lab5.flywheel.incidents if r.week == 1}
    screen = " ".join(lab5_flywheel.report(lab5).split())
    for name, record in week1.items():
        incident = INCIDENT[name]
        caught = [p for p in burn if matches(p, incident)]
        assert failures.STORY_FAILURES[name].ttd_min is None          # not a typed median
        if caught:
            assert record.detected
            assert incident.start_s + record.ttd_min * 60 == pytest.approx(caught[0].fired_s)
            assert f"{name} {record.ttd_min:.0f}" in screen
        else:
            assert not record.detected and record.ttd_min * 60 == incident.end_s - incident.start_s
            assert f"{name}: never" in screen
    # the slowdown, the burst and (with the queue) the noisy tenant page; the drift never does
    assert [n for n, r in week1.items() if not r.detected] == ["content drift"]
    assert traffic.clock(first_page(burn, INCIDENT["upstream error burst"])) in ("2:08", "2:09")


def test_lab_2_and_lab_5_count_the_same_budget_one_converted_to_the_others_period(labs, story):
    """One accounting: lab 2's availability budget over 30 days, converted to four weeks, is what
    lab 5 says the story's six hours spent of its four-week budget."""
    _, lab2, _, _, lab5 = labs
    screen2 = " ".join(lab2_dashboard.report(lab2).split())
    screen5 = " ".join(lab5_flywheel.report(lab5).split())
    burn = sum(1 for r in story if r.status >= 500) / len(story) / 0.005
    four_weeks = f"{100 * burn * 6 / (28 * 24):.1f} %"
    assert f"{100 * burn * 6 / (30 * 24):.1f} % of the 30-day budget = {four_weeks} of a four-week" in screen2
    assert f"spent {four_weeks} of the 4-week budget" in screen5


def test_the_error_burst_is_the_same_twenty_minutes_in_labs_1_2_and_5(labs):
    lab1, lab2, _, _, lab5 = labs
    burst = INCIDENT["upstream error burst"]
    assert lab1.window == (burst.start_s, burst.end_s)
    assert lab1.first_failure_s // 60 == burst.start_s // 60                      # 2:00
    assert traffic.clock(first_page(lab2.scores[0].pages, burst)) == "2:01"       # any signal
    record = next(r for r in lab5.flywheel.incidents if r.week == 1 and r.failure == burst.name)
    assert record.start_s == burst.start_s and record.minutes == pytest.approx(20.0)


def test_the_drift_begins_at_3_00_in_labs_3_and_5_and_no_golden_signal_pages_on_it(labs):
    _, lab2, lab3, _, lab5 = labs
    drift = INCIDENT["content drift"]
    assert lab3.drift_start_s == drift.start_s
    assert drift.start_s < lab3.detection("CUSUM, Bernoulli (scaled)").first_alarm_s < drift.start_s + 600
    assert not any(matches(p, drift) for s in lab2.scores for p in s.pages)
    record = next(r for r in lab5.flywheel.incidents if r.week == 1 and r.failure == drift.name)
    assert record.start_s == drift.start_s


def test_the_noisy_tenant_is_refused_from_4_00_and_paged_at_4_01(labs):
    _, lab2, _, lab4, _ = labs
    noisy = INCIDENT["noisy batch tenant"]
    assert lab4.window == (noisy.start_s, noisy.end_s) and lab4.noisy == noisy.tenant
    spell = next(e for e in lab4.episodes if e.start_s >= noisy.start_s)
    assert traffic.clock(spell.start_s) == "4:00" and spell.end_s <= noisy.end_s
    assert traffic.clock(first_page(lab2.scores[2].pages, noisy)) == "4:01"       # composite


def test_lab_2_and_lab_4_see_one_queue_in_the_noisy_tenants_burst(labs, story):
    """The story queues; lab 2 measures that queue and lab 4's replay without limits is it: the
    interactive p99 in the burst is the story's own (nearest rank, worked here), and the minutes
    lab 2 finds over capacity are the ones where lab 4 finds a wait."""
    _, lab2, _, lab4, _ = labs
    noisy = INCIDENT["noisy batch tenant"]
    waited = sorted(r.latency_ms / 1000 for r in story
                    if noisy.covers(r.ts) and r.priority == "interactive")
    p99 = waited[math.ceil(0.99 * len(waited)) - 1]
    assert lab4.without.window_interactive_p99_s == pytest.approx(p99)
    minutes = range(int(noisy.start_s // 60), int(noisy.end_s // 60))
    over = [m for m in minutes if lab2.windows[m].saturation > 1.0]
    assert len(over) >= 15 and all(lab4.without.worst_wait_s[m] > 0 for m in over)
    assert all("latency" in lab2.breached[m] for m in over[-10:])      # every tenant waits


def test_one_limit_for_slow_and_one_value_for_each_slo():
    assert traffic.SLOW_MS == 6_000.0
    assert lab1_logs.SLOW_MS == traffic.SLOW_MS
    assert lab2_dashboard.Thresholds().latency_s * 1000 == traffic.SLOW_MS
    assert "6 s" in failures.STORY_FAILURES["provider slowdown"].harm
    result = lab2_dashboard.run(requests=[], scenario=replace(traffic.STORY, duration_s=60.0,
                                                              incidents=()))
    assert (result.slo, result.latency_slo, result.latency_limit_s) == \
        (traffic.STORY.slo_availability, traffic.STORY.slo_latency, traffic.SLOW_MS / 1000)
