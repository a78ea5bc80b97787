"""Lab 3: online evaluation. The handout's claims, each checked against independent numbers:
textbook and hand-worked values for the statistics, the story's own truth for the judges and the
detectors, never a number copied from a run of the lab."""

import inspect
import math
import random
from pathlib import Path

import pytest

from solution import judges, sampling
from solution import lab3_online_eval as lab
from solution import traffic
from solution.numeric import percent, trace_fraction
from solution.traffic import STORY

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "solution" / "lab3_online_eval.py"
DRIFT = next(i for i in STORY.incidents if i.kind == "drift")


@pytest.fixture(scope="module")
def result(default_results):
    return default_results[3]


@pytest.fixture(scope="module")
def screen(result):
    return lab.report(result)


# ── the sequential detectors, scaled and unscaled ───────────────────────────────────────────────

def test_bernoulli_cusum_alarms_after_the_worked_number_of_fails():
    # p0 = 0.05, p1 = 0.15: a fail adds ln 3 = 1.0986; h = ln 10,000 = 9.2103.
    # 8 fails: 8.789 < h; the 9th: 9.888 > h -> alarm on the 9th fail in a row.
    cusum = lab.BernoulliCusum(0.05, shift=0.10)
    alarms = [cusum.update(True) for _ in range(9)]
    assert alarms == [False] * 8 + [True]
    # a pass takes ln(0.85 / 0.95) = -0.1112 off, floored at 0
    cusum = lab.BernoulliCusum(0.05, shift=0.10)
    cusum.update(True)
    cusum.update(False)
    assert cusum.level == pytest.approx(math.log(3) + math.log(0.85 / 0.95))


def test_the_normal_cusum_misfires_on_two_close_fails_and_the_scaled_one_does_not():
    # p = 0.05, sigma = sqrt(0.0475) = 0.21794: a fail is z = 0.95 / 0.21794 = 4.359, minus
    # k = 3.859; a pass is -0.05 / 0.21794 - 0.5 = -0.729. fail, pass, fail: 6.99 > h = 5
    stream = [True, False, True]
    normal, scaled = lab.NormalCusum(0.05), lab.BernoulliCusum(0.05)
    assert [normal.update(x) for x in stream] == [False, False, True]
    assert not any(scaled.update(x) for x in stream)


def test_page_hinkley_scaled_is_fast_and_rivers_raw_threshold_is_slow():
    def fails_to_alarm(detector) -> int:
        for _ in range(200):
            detector.update(False)
        for n in range(1, 1000):
            if detector.update(True):
                return n
        return 1000
    # scaled: every fail adds about 1 - delta = 0.95 -> crosses 5 on the 6th fail
    assert fails_to_alarm(lab.PageHinkley()) <= 7
    # river's raw threshold of 50 needs fifty-odd fails: fine for a metric of size 100, not for 0/1
    assert fails_to_alarm(lab.RiverPageHinkley()) >= 50


# ── the judges read only what a trace shows, and are themselves scored against the truth ────────

def test_judges_read_only_the_answer_and_the_retrieved_documents():
    assert list(inspect.signature(judges.judge).parameters) == ["answer", "retrieved_docs"]
    docs = (101, 102, 103)
    grounded = "Per the billing guide, open Settings and follow the steps [doc:101]."
    assert judges.judge(grounded, docs).passed
    assert not judges.judge(traffic.REFUSAL, docs).refusal
    assert not judges.judge("For billing, you can usually fix this in Settings.", docs).grounded
    assert not judges.judge("SmartSync handles this automatically [doc:950].", ()).grounded
    assert not judges.judge(grounded + " Or write to jane.doe@example.com.", docs).pii
    assert not judges.judge(grounded + " Or call +1 415 555 0100.", docs).pii
    assert not judges.judge(grounded + " Card 4111 1111 1111 1111 was refunded.", docs).pii
    assert judges.judge("Order 1234567890 ships today [doc:101].", docs).pii   # not personal data
    assert not judges.judge("", docs).format
    # the blind spot: a retrieved document cited for a claim it does not make looks grounded
    assert judges.judge(grounded.replace("101", "102"), docs).grounded


def test_judging_many_answers_gives_each_the_verdict_it_gets_alone(story):
    sample = story[:3000]
    assert judges.judge_all(sample) == [judges.judge(r.answer, r.retrieved_docs) for r in sample]


def test_judges_are_scored_against_the_truth_and_the_screen_prints_those_numbers(story, result,
                                                                                 screen):
    random_part = [r for r in story if r.ok and trace_fraction(r.trace_id) < 0.10]
    verdicts = [(judges.judge(r.answer, r.retrieved_docs), r) for r in random_part]
    ungrounded = [r for _, r in verdicts if not r.grounded]
    caught = [r for v, r in verdicts if not v.grounded and not r.grounded]
    flagged = [r for v, r in verdicts if not v.grounded]
    grounded = result.judges[0]
    assert grounded.name == "grounded" and grounded.labelled == len(random_part)
    assert (grounded.fails, grounded.true_fails, grounded.bad) == (len(flagged), len(caught),
                                                                    len(ungrounded))
    # honest, not perfect: cited-but-unsupported answers slip past, so recall is below 100 %
    assert 0.8 < grounded.recall < 1.0
    combined = result.judges[-1]
    unacceptable = [r for _, r in verdicts if not r.acceptable]
    assert combined.name == "combined" and combined.bad == len(unacceptable)
    assert combined.recall < grounded.recall + 0.05 and combined.recall < 1.0
    for j in result.judges:
        row = f"{j.name:<8}  {j.fails:>5,}  {percent(j.precision):>9}  {percent(j.recall):>6}"
        assert row in screen


# ── sampling: deterministic, honest about its rate and about the thumbs-down slice ──────────────

def test_hash_sampling_is_deterministic_and_honours_its_rate(story):
    answered = [r for r in story if r.ok]
    for rate in (0.02, 0.10, 0.50):
        kept = sampling.hash_sample(answered, rate)
        by_chance = sum(chance for _, _, chance in kept)
        # binomial: 3 standard deviations of the share, sqrt(rate (1 - rate) / n)
        sd = math.sqrt(rate * (1 - rate) / len(answered))
        assert abs(by_chance / len(answered) - rate) < 3 * sd
        assert kept == sampling.hash_sample(answered, rate)
    kept = {r.trace_id for r, _, _ in sampling.hash_sample(answered, 0.10)}
    assert all(r.trace_id in kept for r in answered if r.feedback == "down")
    only_down = [(r, 1.0, False) for r in answered if r.feedback == "down"]
    assert sampling.hash_sample(answered, 0.0) == only_down


def test_the_weights_are_honest_about_the_over_sampled_thumbs_down_slice(story, result):
    answered = [r for r in story if r.ok]
    kept = sampling.hash_sample(answered, 0.10)
    # Horvitz-Thompson: the weights add up to the population they stand for (within 3 %)
    assert sum(w for _, w, _ in kept) == pytest.approx(len(answered), rel=0.03)
    # the judges' pass rate over every answer after the launch: what the estimate should find
    after = [r for r in answered if r.ts >= DRIFT.start_s]
    truth = sum(judges.judge(r.answer, r.retrieved_docs).passed for r in after) / len(after)
    assert abs(result.online_after - truth) < 0.02
    assert truth - result.naive_after > 0.2        # counting each kept answer once: badly biased


def test_reservoir_sampling_keeps_k_items_each_with_chance_k_over_n():
    assert sampling.reservoir(range(3), 5, random.Random(1)) == [0, 1, 2]
    counts = [0] * 10
    for seed in range(3000):
        kept = sampling.reservoir(range(10), 3, random.Random(seed))
        assert len(kept) == 3 and len(set(kept)) == 3
        for item in kept:
            counts[item] += 1
    # each item kept with chance 3/10: 900 of 3000, sd sqrt(3000 * 0.3 * 0.7) = 25; 4 sd = 100
    assert all(abs(c - 900) < 100 for c in counts)


def test_reservoir_sampling_per_hour_is_seeded_and_fills_every_hour(story):
    answered = [r for r in story if r.ok]
    first = sampling.reservoir_sample(answered, 200, seed=7)
    assert first == sampling.reservoir_sample(answered, 200, seed=7)
    assert first != sampling.reservoir_sample(answered, 200, seed=8)
    for hour in range(6):
        assert sum(chance for r, _, chance in first if int(r.ts // 3600) == hour) == 200
    assert sum(w for _, w, _ in first) == pytest.approx(len(answered), rel=0.05)


# ── the lab's claims on the story ───────────────────────────────────────────────────────────────

def test_offline_gate_passes_but_online_eval_catches_drift(story, result):
    golden = lab.golden_set(story, STORY, before_s=DRIFT.start_s)
    assert len(golden) == result.golden_cases == 48
    assert all(r.ts < DRIFT.start_s and r.topic != STORY.launch_topic for r in golden)
    assert {r.topic for r in golden} == {t for t, _ in STORY.topics}
    assert result.gate_passed and result.gate_pass_rate >= lab.GATE_THRESHOLD
    assert result.online_before > 0.9 and result.online_after < lab.GATE_THRESHOLD - 0.1
    sound = ("pass rate vs gate, z-test", "topic mix, chi-square", "prompt tokens, KS",
             "CUSUM, Bernoulli (scaled)", "Page-Hinkley (scaled)")
    for name in sound:
        detection = result.detection(name)
        assert detection.false_alarms == 0, name
        assert DRIFT.start_s < detection.first_alarm_s <= DRIFT.start_s + 3600 * 0.25, name
    assert result.detection("CUSUM, Bernoulli (scaled)").delay_s(DRIFT.start_s) < 10 * 60


def test_the_detected_slice_is_the_launched_topic(result):
    top = result.slices[0]
    assert top.topic == STORY.launch_topic and top.pass_rate < 0.1
    drop = result.online_before - result.online_after
    assert sum(s.points_lost for s in result.slices) == pytest.approx(drop)
    assert top.points_lost > 0.9 * drop


def test_the_regression_cases_are_the_launched_topics_questions(result):
    assert 1 <= len(result.regression) <= 5
    for case in result.regression:
        assert case.prompt in traffic.QUESTIONS[STORY.launch_topic]
        assert case.check == "cites a retrieved document"


def test_unscaled_detectors_misfire_or_lag(result):
    assert result.detection("CUSUM, normal k, h (unscaled)").false_alarms > 0
    assert result.detection("Page-Hinkley, river (unscaled)").delay_s(DRIFT.start_s) > 15 * 60


def test_small_windows_report_insufficient_data_never_an_alarm(story):
    tiny = lab.run(requests=story, window_min=1)      # ~6 random answers a minute at 10 %
    assert all(w.insufficient and not w.alarms and w.pass_rate is None for w in tiny.windows)
    assert all(d.first_alarm_s is None and d.false_alarms == 0
               for d in tiny.detections[:len(lab.WINDOW_TESTS)])
    assert "insufficient data, no alarm" in lab.report(tiny)


def test_the_fixed_psi_rule_misfires_on_five_minute_windows_where_ks_does_not(story):
    small = lab.run(requests=story, window_min=5)     # ~30 random answers a window
    fixed = small.detection("prompt tokens, PSI > 0.25").false_alarms
    assert fixed >= 3 and small.detection("prompt tokens, KS").false_alarms == 0


def test_the_screen_says_the_lesson_in_the_numbers_computed(result, screen):
    lines = screen.splitlines()
    assert len(lines) <= 36 and max(len(line) for line in lines) <= 80
    assert f"gate passed at {percent(result.gate_pass_rate)}" in screen
    assert f"fell to {percent(result.online_after)}" in screen
    assert f"{result.kept:,} of {result.answered:,} answers kept" in screen
    assert STORY.launch_topic in screen


@pytest.mark.parametrize("flags", [dict(sample_rate=0.0), dict(sample_rate=1.0),
                                   dict(reservoir_per_hour=360), dict(window_min=400),
                                   dict(detector="page-hinkley-river")])
def test_every_setting_fits_the_screen(story, flags):
    lines = lab.report(lab.run(requests=story, **flags)).splitlines()
    assert len(lines) <= 36 and max(len(line) for line in lines) <= 80



def test_the_reference_fail_rate_and_its_sigma_jump_are_what_the_docs_say(story):
    # notes.md and NormalCusum's docstring: the reference hour's random answers fail 4.3 % of the
    # time, so one fail is sqrt((1 - p) / p) = 4.7 standard deviations above the mean
    kept = lab.live_sample([r for r in story if r.ok], lab.SAMPLE_RATE, None, traffic.DEFAULT_SEED)
    reference = [s for s in kept if s.by_chance and s.request.ts < lab.REFERENCE_S]
    p = 1 - sum(s.verdict.passed for s in reference) / len(reference)
    assert round(100 * p, 1) == 4.3 and round(math.sqrt((1 - p) / p), 1) == 4.7
    rate, jump = f"{100 * p:.1f} %", f"{math.sqrt((1 - p) / p):.1f}-sigma"
    notes = (ROOT / "notes.md").read_text(encoding="utf-8")
    lab3 = " ".join(notes[notes.index("\n## Lab 3"):notes.index("\n## Lab 4")].split())
    for said in (lab3, " ".join(lab.NormalCusum.__doc__.split())):
        assert rate in said and jump in said
