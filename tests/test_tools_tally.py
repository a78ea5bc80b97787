"""The dashboard's one-pass tally (solution/tools/tally.py): the same dashboard as lab 2's lesson,
the same tally in any order or split, percentiles within the sketch's stated bound, and memory
bounded by the windows, not the requests."""

import dataclasses
import math
import random

import pytest

from solution import lab2_dashboard as lesson
from solution import traffic
from solution.extend import composite_alert
from solution.logschema import Observation
from solution.numeric import nearest_rank
from solution.tools import tally as T


def test_the_tally_of_the_story_gives_lab_2s_own_dashboard(story):
    plain = lesson.run(story, composite=composite_alert)
    summed = lesson.run(measured=T.tally_of(story).measured(0.0, traffic.STORY.duration_s,
                                                            traffic.STORY.capacity),
                        composite=composite_alert)
    # busy seconds are summed in whole nanoseconds (the same in any order): saturation agrees
    # to 1e-9; every other field is equal, and so is the screen
    for a, b in zip(plain.windows, summed.windows):
        assert b.saturation == pytest.approx(a.saturation, rel=1e-9, abs=1e-12)
        assert dataclasses.replace(b, saturation=a.saturation) == a
    assert dataclasses.replace(summed, windows=plain.windows) == plain
    assert lesson.report(summed) == lesson.report(plain)


def shuffled(story, seed):
    requests = list(story[:4000])
    random.Random(seed).shuffle(requests)
    return requests


def test_a_tally_is_the_same_in_any_order_and_any_split(story, monkeypatch):
    monkeypatch.setattr(T, "EXACT", 16)             # past the cap too: the sketches must agree
    whole = T.tally_of(story[:4000])
    for seed in (1, 2):
        requests = shuffled(story, seed)
        parts = [T.tally_of(requests[i::3]) for i in range(3)]
        for part in parts[1:]:
            parts[0].merge(part)
        assert parts[0] == whole and T.tally_of(requests) == whole
    assert not whole.slots[0].ok.is_exact               # a minute of ~60 answers, cap 16


def test_a_sketched_percentile_is_within_half_a_percent_of_the_exact_one():
    # DDSketch's guarantee (Masson, Rim & Lee 2019): every value read back is within ALPHA of
    # the value it stands for, so a nearest-rank percentile is too. Checked on lognormal,
    # uniform and heavy-tailed samples against numeric.nearest_rank on the whole list.
    rng = random.Random(5)
    samples = [[rng.lognormvariate(7, 1.2) for _ in range(3000)],
               [rng.uniform(1, 60_000) for _ in range(3000)],
               [1000 * rng.paretovariate(1.1) for _ in range(3000)],
               [0.0] * 40 + [rng.expovariate(1 / 300) for _ in range(500)]]
    for values in samples:
        sketch = T.Values(cap=10)
        for x in values:
            sketch.add(x)
        assert not sketch.is_exact and len(sketch) == len(values)
        for q in (1, 25, 50, 90, 95, 99, 99.9, 100):
            exact = nearest_rank(values, q)
            assert abs(sketch.rank(q) - exact) <= T.ALPHA * exact + 1e-12, (q, exact)
    assert T.ALPHA == 0.005 and T.GAMMA == pytest.approx(1.005 / 0.995)


def test_the_exact_regime_is_the_lessons_nearest_rank_and_empty_is_none():
    values = T.Values()
    assert values.rank(50) is None
    for x in (15, 20, 35, 40, 50):                    # Wikipedia's nearest-rank example
        values.add(x)
    assert values.is_exact and (values.rank(40), values.rank(100)) == (20, 50)


def test_memory_is_bounded_by_the_windows_not_the_requests(monkeypatch):
    # ten one-minute windows, fed 1,000 then 10,000 requests each (both past the EXACT values a
    # window keeps before it sketches): what is held does not grow
    def held(per_window):
        rng = random.Random(3)
        tally = T.Tally()
        for k in range(10):
            for i in range(per_window):
                tally.add(60.0 * k + 59.0 * i / per_window, rng.lognormvariate(7, 0.8), 300.0,
                          200 if i % 9 else 503, "interactive", 500, 80)
        numbers = sum(len(v.exact) + len(v.buckets or ()) for s in tally.slots.values()
                      for v in (s.ok, s.bad, s.ttft) if v is not None)
        return len(tally), numbers
    small, big = held(1_000), held(10_000)
    assert (small[0], big[0]) == (10_000, 100_000) and 1_000 > T.EXACT
    # at most 3 x EXACT numbers a window exact; sketched, at most the buckets the values' range
    # spans (here e^(7 +/- 6 sd) ms: under 1,300 buckets of 1 %); ten times the requests, and
    # the sketches hold under twice the buckets (a longer tail reaches a few more of them)
    assert big[1] <= 10 * 3 * max(T.EXACT, 1300) and big[1] < 2 * small[1]


def test_prometheus_sums_are_exact_to_the_microsecond():
    tally = T.Tally()
    for latency in (100.1, 200.2, 300.3):               # 0.6006 s; a float sum gives 0.6005999999
        tally.add(1.0, latency, None, 200, "interactive", 0, 0)
    (counts, total_s), = tally.totals()[0].values()
    # cumulative per le: 0 at or under 0.1 s, 0.1001 and 0.2002 under 0.25, all three under 0.5
    assert total_s == 0.6006 and counts[5:8] == [0, 2, 3] and counts[-1] == 3


def test_busy_seconds_split_at_window_edges_as_lab_2_splits_them():
    # a 150 s request from 0:30: 30 s in the first minute, 60 in the second, 60 in the third
    tally = T.Tally()
    tally.add(30.0, 150_000.0, None, 200, "batch", 0, 0)
    windows = tally.measured(0.0, 180.0, capacity=1).windows
    assert [w.saturation for w in windows] == [0.5, 1.0, 1.0]
    assert [w.saturation for w in lesson.golden_signals(
        [Observation(30.0, 150_000.0, None, 200, "batch", 0, 0)], duration_s=180.0, capacity=1,
        latency_limit_s=6.0)] == [0.5, 1.0, 1.0]
    assert math.lcm(45, 60) == T.Tally(window_s=45).grid() == 180


def test_a_busy_window_on_the_command_line_is_sketched_within_its_bound_and_says_so(tmp_path, capsys):
    # 1,200 interactive answers in one minute (more than EXACT), latencies 1,000 ms to 7,000 ms
    # in 5 ms steps, shuffled: the p90 by nearest rank is the 1,080th smallest, 6,395 ms
    import json
    from solution.tools import dashboard
    rng = random.Random(8)
    latencies = [1000.0 + 5 * i for i in range(1200)]
    rng.shuffle(latencies)
    lines = []
    for i, ms in enumerate(latencies):
        start = 1740830400.0 + i * 0.045                 # 2025-03-01T12:00:00Z, then every 45 ms
        end = start + ms / 1000
        lines.append(json.dumps({"timestamp": end * 1000, "body": "request.completed",
                                 "attributes": {"priority": "interactive", "latency_ms": ms,
                                                "http.response.status_code": 200}}))
    path = tmp_path / "busy.jsonl"
    path.write_text("\n".join(lines) + "\n")
    assert nearest_rank(latencies, 90) == 6395.0
    log = dashboard.read_log(str(path))
    [window] = log.measured(None).windows
    assert window.requests == 1200 and window.p90_s == pytest.approx(6.395, rel=T.ALPHA)
    assert window.p90_s != 6.395                          # a bucket's value, not the exact one
    assert any("1 window(s) held more than 512 latencies of a kind: their percentiles are within "
               "0.5 % (a DDSketch), not exact" in w for w in log.warnings)
    assert dashboard.main(["--from", str(path)]) == 0
    assert "within 0.5 % (a DDSketch)" in capsys.readouterr().err


def test_the_span_past_its_exact_cap_is_sketched_and_said_so(monkeypatch):
    # two windows of 30 answers each, every window exact; the span's 60 past a cap of 40
    monkeypatch.setattr(T, "SPAN_EXACT", 40)
    tally = T.Tally()
    latencies = [100.0 + 37 * i for i in range(60)]
    for i, ms in enumerate(latencies):
        tally.add(2.0 * i, ms, None, 200, "interactive", 0, 0)
    assert tally.inexact() == ("the span holds more than 40 latencies: their percentiles are "
                               "within 0.5 % (a DDSketch), not exact")
    measured = tally.measured(0.0, 120.0, None)
    windows, ((p50, p95, p99), _) = measured.windows, measured.latency
    assert [w.requests for w in windows] == [30, 30]
    for got, q in ((p50, 50), (p95, 95), (p99, 99)):
        exact = nearest_rank(latencies, q) / 1000
        assert abs(got - exact) <= T.ALPHA * exact + 1e-12
    monkeypatch.setattr(T, "SPAN_EXACT", 60)
    assert tally.inexact() is None
