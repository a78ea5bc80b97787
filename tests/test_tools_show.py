"""What the Show page and the demo's closing timeline say of each lab (solution/tools/show.py):
timeline texts that fit 60 characters and say when and what, and charts drawn as inline SVG.
These were the tool checks of the lessons' own tests; a lesson's test imports no tool."""

import re

from solution import traffic
from solution.numeric import percent
from solution.tools import show
from solution.traffic import STORY

INCIDENT = {i.name: i for i in STORY.incidents}
SVG = re.compile(r'<div class="wide chart-wide"><svg.*</svg></div>', re.S)


def test_lab1_the_timeline_texts_fit_60_and_its_chart_is_inline_svg(default_results):
    lab1 = default_results[1]
    assert all(len(text) <= 60 for _, text in show.lab1_findings(lab1))
    charts = show.lab1_charts(lab1)
    assert len(charts) == 1 and SVG.fullmatch(charts[0])


def test_lab2_findings_say_which_policy_paged_when(default_results):
    lab2 = default_results[2]
    found = show.lab2_findings(lab2)
    assert all(len(text) <= 60 for _, text in found)
    timed = [(traffic.clock(t), text) for t, text in found if t is not None]
    # the slowdown's first window closes at 1:01: the naive and the composite alert page on it
    assert any(c == "1:01" and "composite" in t and "latency+errors+saturation" in t
               for c, t in timed)
    assert any(c in ("2:08", "2:09", "2:10") and t.startswith("page by SLO burn: errors")
               for c, t in timed)
    assert [t for t, _ in found if t is not None] == sorted(t for t, _ in found if t is not None)


def test_lab3_findings_tell_the_timeline_when_what_and_how_much(default_results):
    lab3 = default_results[3]
    found = show.lab3_findings(lab3)
    assert found and all(len(text) <= 60 for _, text in found)
    drift = next(i for i in STORY.incidents if i.kind == "drift")
    times = [ts for ts, _ in found if ts is not None]
    assert times and all(drift.start_s < ts < STORY.duration_s for ts in times)
    joined = " ".join(text for _, text in found)
    assert STORY.launch_topic in joined and percent(lab3.gate_pass_rate) in joined


def test_lab3_the_charts_are_inline_svg(default_results):
    lab3 = default_results[3]
    charts = show.lab3_charts(lab3)
    assert len(charts) == 2 and all(SVG.fullmatch(c) for c in charts)


def test_lab4_the_findings_say_what_was_shed_and_when(default_results):
    lab4 = default_results[4]
    found = show.lab4_findings(lab4)
    assert all(len(words) <= 60 for _, words in found)
    moments = [ts for ts, _ in found if ts is not None]
    noisy, retry_loop = INCIDENT["noisy batch tenant"], INCIDENT["traffic blip"]
    assert any(noisy.covers(ts) for ts in moments) and any(retry_loop.covers(ts) for ts in moments)
    assert any(ts is None and re.search(r"\d+\.\d % success", words) for ts, words in found)
    assert len(show.lab4_charts(lab4)) == 3


def test_lab5_findings_are_notes_without_a_time(default_results):
    lab5 = default_results[5]
    found = show.lab5_findings(lab5)
    assert found and all(ts is None and len(text) <= 60 for ts, text in found)
    assert any(f"repeats {lab5.without.repeats} without" in text for _, text in found)


def test_lab5_charts_are_inline_svg(default_results):
    lab5 = default_results[5]
    charts = show.lab5_charts(lab5)
    assert len(charts) == 2 and all(SVG.fullmatch(c) for c in charts)
