"""The challenge, answered: a composite alert that pages only when several golden signals breach.

Extends lab 2 (solution/lab2_dashboard.py): it reads lab 2's breaches, one tuple of breaching
signals per window, and turns them into pages. The learner's version is starters/extend.py, with
the same contract; grade it with

    python3 -m pytest tests/test_extend.py --target starters

Run it to compare the two alert policies on the story:  python3 solution/extend.py

Remember: one breaching signal is often noise; several at once is an incident. That is why
Datadog's composite monitors and CloudWatch's composite alarms exist.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Collection, Sequence

if __package__ in (None, ""):          # run as a script: make the `solution` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from solution.challenge import challenge_main
from solution.cli import run_cli
from solution.paging import SIGNALS, Page, pages_from


def composite_alert(breached: Sequence[Collection[str]], window_s: float = 60.0,
                    min_signals: int = 2, gap_windows: int = 0) -> list[Page]:
    """Page only in windows where at least `min_signals` golden signals breach; consecutive
    paging windows are one page. Going further: paging windows at most `gap_windows` quiet
    windows apart are one page too. (The full contract is in starters/extend.py.)

    >>> composite_alert([(), ("latency", "saturation"), ("latency", "saturation"), ("errors",)])
    [Page(policy='composite', start_s=60.0, fired_s=120.0, end_s=180.0, signals=('latency', 'saturation'))]
    """
    if min_signals < 1:
        raise ValueError(f"min_signals must be 1 or more, not {min_signals}")
    if gap_windows < 0:
        raise ValueError(f"gap_windows must be 0 or more, not {gap_windows}")
    paging = [len(set(signals)) >= min_signals for signals in breached]
    pages: list[Page] = []
    for page in pages_from(paging, breached, window_s, "composite"):
        quiet = round((page.start_s - pages[-1].end_s) / window_s) if pages else None
        if quiet is not None and quiet <= gap_windows:      # a short gap: the same incident
            last = pages.pop()
            seen = set(last.signals) | set(page.signals)
            page = Page(policy="composite", start_s=last.start_s, fired_s=last.fired_s,
                        end_s=page.end_s, signals=tuple(s for s in SIGNALS if s in seen))
        pages.append(page)
    return pages


def main(argv: list[str] | None = None) -> int:
    return challenge_main(composite_alert, argv, prog="solution/extend.py")


if __name__ == "__main__":
    run_cli(main)
