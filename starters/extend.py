"""The challenge: a composite alert that pages only when several golden signals breach at once.

Lab 2's dashboard pages on any single breaching signal, and on the story it pages eight times, five
of them on short blips. One breaching signal is often noise; several at once is an incident.
This is the real-world cure for alert fatigue (Datadog's composite monitors, CloudWatch's composite
alarms): page on A AND B.

Your task: write `composite_alert` below. The handout, labs/lab2_dashboard.md, section
"The challenge", walks you through it. Then:

    python3 starters/extend.py                                  your alert beside the naive one
    python3 -m pytest tests/test_extend.py --target starters    the grader

The contract (what the grader checks):

    composite_alert(breached, window_s=60.0, min_signals=2, gap_windows=0) -> list[Page]

    breached     one entry per window, in time order: the golden signals over their threshold in
                 that window, as lab 2's `breaches()` returns them, e.g.
                 [(), ("latency", "saturation"), ("errors",), ...]. Window i spans
                 [i * window_s, (i + 1) * window_s) seconds on the story's clock.
    window_s     the length of one window, in seconds.
    min_signals  a window pages when at least this many different signals breach in it.
                 1 makes it the any-signal alert; less than 1 raises ValueError.

    Returns one Page (solution/paging.py) per run of consecutive paging windows: many paging
    windows in a row are ONE page, not many. For a run from window a to window b (inclusive):
        Page(policy="composite",
             start_s=a * window_s,           the start of the first paging window
             fired_s=(a + 1) * window_s,     when it paged: the end of that window
             end_s=(b + 1) * window_s,       the end of the last paging window
             signals=...)                    the signals that breached in the run's paging
                                             windows, each once, in SIGNALS order
    The pages come in time order; no window pages, no page: [].

    gap_windows  Going further (optional, graded apart: pytest -m further). Paging windows at
                 most this many quiet windows apart belong to one page: one incident whose
                 saturation dips for a minute is still one page. The page starts and fires with
                 its first paging window, ends with its last, and names the signals of its
                 paging windows only. 0 (the default) is the core contract; less than 0 raises
                 ValueError.

Remember: an alert is worth what its precision and recall are worth; count them before you ship it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Collection, Sequence

if __package__ in (None, ""):          # run as a script: make the `solution` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# The alerting vocabulary lab 2 uses. Read any_signal_alert in solution/lab2_dashboard.py and
# pages_from in solution/paging.py: the any-signal alert is your composite alert with min_signals=1.
from solution.paging import SIGNALS, Page, pages_from  # noqa: F401

from solution.challenge import challenge_main
from solution.cli import run_cli


def composite_alert(breached: Sequence[Collection[str]], window_s: float = 60.0,
                    min_signals: int = 2, gap_windows: int = 0) -> list[Page]:
    """Page only in windows where at least `min_signals` golden signals breach; consecutive
    paging windows are one page. See the module docstring for the full contract."""
    # TODO 1: refuse min_signals < 1 with a ValueError that says why.
    # TODO 2: decide, window by window, whether it pages: count the different signals it breached.
    # TODO 3: turn runs of consecutive paging windows into Pages (pages_from can do it for you,
    #         or write the loop yourself: it is the heart of "one page per incident").
    # TODO 4 (going further, optional): merge pages at most gap_windows quiet windows apart.
    raise NotImplementedError(
        "composite_alert is not written yet: open starters/extend.py and follow "
        "labs/lab2_dashboard.md, section 'The challenge'")


def main(argv: list[str] | None = None) -> int:
    return challenge_main(composite_alert, argv, prog="starters/extend.py")


if __name__ == "__main__":
    run_cli(main)
