"""The challenge as a command: the story's breaches through lab 2's any-signal alert and through
a composite alert, side by side, scored against the ground truth.

starters/extend.py and solution/extend.py both run it with their own `composite_alert`:

    python3 starters/extend.py                 your composite alert
    python3 solution/extend.py --seed 1        the reference, on another seed
"""

from __future__ import annotations

import argparse
import functools

from solution import lab2_dashboard as lab2
from solution import traffic
from solution.cli import at_most, fail, non_negative_int, positive_int
from solution.paging import caught, policy_lines


def challenge_main(composite_alert, argv: list[str] | None = None, prog: str | None = None) -> int:
    parser = lab2.add_flags(argparse.ArgumentParser(
        prog=prog, description="The any-signal alert and your composite alert on the story's "
                               "breaches, scored against the ground truth."))
    parser.add_argument("--min-signals", type=at_most(positive_int, 4), default=2, metavar="N",
                        help="the composite alert pages when N or more of the 4 signals breach (1-4, default 2)")
    parser.add_argument("--gap-windows", type=non_negative_int, default=0, metavar="G",
                        help="going further: windows at most G quiet windows apart are one page "
                             "(default 0: the core contract)")
    args = parser.parse_args(argv)
    if args.gap_windows:
        composite_alert = functools.partial(composite_alert, gap_windows=args.gap_windows)
    try:
        result = lab2.run(**lab2.settings(args), composite=composite_alert,
                          min_signals=args.min_signals)
    except NotImplementedError as exc:
        return fail(str(exc))
    scores = [s for s in result.scores if s.policy in ("any signal", "composite")]
    print(f"The any-signal alert and the composite alert ({args.min_signals}+ signals) on the story, "
          f"seed {args.seed}")
    print("\n".join(policy_lines(scores, result.incidents)))
    print("the composite's pages:")
    for p in scores[1].pages:
        print(f"  {traffic.clock(p.fired_s):>5}  {'+'.join(p.signals):<22} "
              f"{traffic.clock(p.start_s)}-{traffic.clock(p.end_s)}  {caught(p, result.incidents)}")
    return 0
