"""The challenge's grader: the composite alert of starters/extend.py (or solution/extend.py).

    python3 -m pytest tests/test_extend.py                     grades the reference answer
    python3 -m pytest tests/test_extend.py --target starters   grades your starters/extend.py

Each test is one promise of the contract in the starter's docstring. Expected pages are worked out
by hand from the windows given; on the story, from its ground truth (python3 solution/traffic.py).
"""

import pytest

from solution import traffic
from solution.lab2_dashboard import run
from solution.paging import SIGNALS, Page, matches


@pytest.fixture(scope="module")
def composite_alert(load_target, target):
    """The graded function; an unwritten one fails every test with the starter's own message."""
    function = load_target("extend").composite_alert

    def call(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except NotImplementedError as exc:
            message = str(exc)
        pytest.fail(f"{target}/extend.py: {message}", pytrace=False)
    return call


@pytest.fixture(scope="module")
def story_breaches(story):
    """Lab 2's breaches of the default story, one tuple of signals per one-minute window."""
    return run(requests=story).breached


def composite(start_s, fired_s, end_s, signals):
    """The page the contract promises: start of its first window, when it fired, end, signals."""
    return Page("composite", start_s, fired_s, end_s, signals)


def test_two_signals_in_one_window_make_one_page(composite_alert):
    # window 1 spans [60, 120): it pages when it closes, at 120
    pages = composite_alert([(), ("latency", "saturation"), ()])
    assert pages == [composite(60.0, 120.0, 120.0, ("latency", "saturation"))]
    assert all(isinstance(p, Page) for p in pages)


def test_one_signal_at_a_time_never_pages(composite_alert):
    assert composite_alert([("latency",), ("errors",), ("traffic",), ("saturation",), ()]) == []


def test_no_windows_no_pages(composite_alert):
    assert composite_alert([]) == []


def test_consecutive_paging_windows_are_one_page_and_a_gap_starts_another(composite_alert):
    breached = [("latency", "saturation")] * 3 + [()] + [("traffic", "saturation")]
    # windows 0-2 page: one page from 0 to 180, fired at 60; window 4 pages alone: 240 to 300
    assert composite_alert(breached) == [
        composite(0.0, 60.0, 180.0, ("latency", "saturation")),
        composite(240.0, 300.0, 300.0, ("traffic", "saturation")),
    ]


def test_a_page_names_the_signals_of_its_paging_windows_once_each_in_signals_order(composite_alert):
    breached = [("errors", "latency"), ("saturation", "latency"), ("traffic",)]
    # windows 0 and 1 page (two signals each), window 2 does not (one): traffic is not named;
    # latency, errors, saturation come in the SRE book's order, latency first
    assert SIGNALS == ("latency", "traffic", "errors", "saturation")
    assert composite_alert(breached) == [composite(0.0, 60.0, 120.0, ("latency", "errors", "saturation"))]


def test_the_same_signal_twice_is_one_signal(composite_alert):
    assert composite_alert([("latency", "latency")]) == []


def test_min_signals_is_a_parameter(composite_alert):
    breached = [("latency", "traffic", "errors"), ("latency", "saturation")]
    assert composite_alert(breached, min_signals=3) == [
        composite(0.0, 60.0, 60.0, ("latency", "traffic", "errors"))]
    # min_signals=1 is the any-signal alert: both windows page, as one page
    assert composite_alert(breached, min_signals=1) == [composite(0.0, 60.0, 120.0, SIGNALS)]


def test_the_window_length_sets_the_clock(composite_alert):
    # five-minute windows: window 2 spans [600, 900)
    assert composite_alert([(), (), ("errors", "latency")], window_s=300.0) == [
        composite(600.0, 900.0, 900.0, ("latency", "errors"))]


@pytest.mark.parametrize("bad", [0, -1])
def test_a_minimum_below_one_signal_is_refused(composite_alert, bad):
    with pytest.raises(ValueError):
        composite_alert([("latency", "saturation")], min_signals=bad)


def test_on_the_story_it_pages_once_for_each_multi_signal_incident(composite_alert, story_breaches):
    # The truth: the provider slowdown (1:00-1:20) moves latency + saturation and the noisy batch
    # tenant (4:00-4:20) traffic + saturation; each is caught by its first one-minute window,
    # so the pages go out at 1:01 and 4:01, once each.
    pages = composite_alert(story_breaches, window_s=60.0)
    assert [(traffic.clock(p.fired_s), p.signals) for p in pages] == [
        ("1:01", ("latency", "saturation")), ("4:01", ("traffic", "saturation"))]


def test_on_the_story_it_never_pages_on_a_blip(composite_alert, story_breaches):
    blips = [i for i in traffic.STORY.incidents if not i.page]
    assert len(blips) == 5
    for page in composite_alert(story_breaches):
        assert not any(matches(page, blip) for blip in blips), page
        assert any(matches(page, i) for i in traffic.STORY.incidents if i.page), page
