"""One story, one truth: the same event at the same minute in every lab that names it, and one
value for each fact the labs share (the limit for "slow", the SLOs)."""

from dataclasses import replace

import pytest

from solution import lab1_logs, lab2_dashboard, lab3_online_eval, lab4_limits, lab5_flywheel
from solution import failures, traffic
from solution.extend import composite_alert
from solution.paging import matches

INCIDENT = {i.name: i for i in traffic.STORY.incidents}


@pytest.fixture(scope="module")
def labs(story):
    return (lab1_logs.run(requests=story), lab2_dashboard.run(requests=story, composite=composite_alert),
            lab3_online_eval.run(requests=story), lab4_limits.run(requests=story),
            lab5_flywheel.run(requests=story))


def first_page(pages, incident):
    return next(p for p in pages if matches(p, incident)).fired_s


def test_the_burn_pages_of_lab_2_are_when_lab_5s_week_1_detected_the_incident(labs):
    _, lab2, _, _, lab5 = labs
    burn = lab2.scores[1].pages
    week1 = {r.failure: r for r in lab5.flywheel.incidents if r.week == 1}
    for name, clock in (("provider slowdown", "1:15"), ("upstream error burst", "2:09")):
        incident = INCIDENT[name]
        fired = first_page(burn, incident)
        assert traffic.clock(fired) == clock
        assert incident.start_s + week1[name].ttd_min * 60 == pytest.approx(fired)
        # and the failure class's median is that same detection, not a second number
        assert failures.STORY_FAILURES[name].ttd_min == week1[name].ttd_min
    # no burn page catches the noisy tenant or the drift: people detected them, as stated
    for name in ("noisy batch tenant", "content drift"):
        assert not any(matches(p, INCIDENT[name]) for p in burn)
        assert week1[name].ttd_min == failures.STORY_FAILURES[name].ttd_min


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


def test_one_limit_for_slow_and_one_value_for_each_slo():
    assert traffic.SLOW_MS == 6_000.0
    assert lab1_logs.SLOW_MS == traffic.SLOW_MS
    assert lab2_dashboard.Thresholds().latency_s * 1000 == traffic.SLOW_MS
    assert "6 s" in failures.STORY_FAILURES["provider slowdown"].harm
    result = lab2_dashboard.run(requests=[], scenario=replace(traffic.STORY, duration_s=60.0,
                                                              incidents=()))
    assert (result.slo, result.latency_slo, result.latency_limit_s) == \
        (traffic.STORY.slo_availability, traffic.STORY.slo_latency, traffic.SLOW_MS / 1000)
