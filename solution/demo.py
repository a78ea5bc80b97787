"""All five labs in the order of the class, one screen each, in about a second.

    python3 solution/demo.py              the story, then labs 1 to 5, then what each one caught
    python3 solution/demo.py --lab 3      the story and one lab
    python3 solution/demo.py --html show.html   one self-contained page to post in "Show"

The story is generated once and every lab reads the same requests, so the closing timeline can
join what each lab found. Every run prints the same bytes: the story is seeded, the clock simulated.

Remember: each lab sees a different side of the same six hours; no single one sees it all.
"""

from __future__ import annotations

import argparse
import gc
import html
import importlib
import sys
from pathlib import Path

if __package__ in (None, ""):          # run as a script: make the `solution` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from solution import traffic
from solution.cli import cannot_write, refuse_ignored, run_cli, seed_value, write_file
from solution.extend import composite_alert
from solution.tools.page import html_page
from solution.tools.show import CHARTS, FINDINGS, TABLES, show_card, story_tables, timeline_chart

# Each lab module offers the same two calls: run(requests=..., seed=...) -> result and
# report(result) -> the screen; tools/show.py says what each found (FINDINGS) and draws it (CHARTS).
LABS = (
    (1, "lab1_logs", "structured, correlated logs", "M20"),
    (2, "lab2_dashboard", "golden signals and SLO burn", "M20/M31"),
    (3, "lab3_online_eval", "online evaluation catches drift", "M26/M30"),
    (4, "lab4_limits", "rate limits, quotas, load shedding", "M25/M29"),
    (5, "lab5_flywheel", "the reliability flywheel", "M30/M31"),
)
RULE = "=" * 78


def header(number: int, title: str, extends: str) -> str:
    return f"{RULE}\nLab {number} of 5: {title}, extends {extends}\n{RULE}"


def run(seed: int = traffic.DEFAULT_SEED, labs: tuple[int, ...] = (1, 2, 3, 4, 5)) -> dict:
    """Generate the story once and run the chosen labs on it:
    {"requests": the story, "labs": {number: (module, result)}}."""
    requests = traffic.generate(seed=seed)
    # The story is ~200,000 immutable objects that live to the end: stop the cyclic garbage
    # collector from re-scanning them while the labs allocate (a tenth of the demo's time).
    gc.freeze()
    results = {}
    for number, name, _, _ in LABS:
        if number in labs:
            module = importlib.import_module(f"solution.{name}")
            extra = {"composite": composite_alert} if number == 2 else {}   # the challenge, answered
            results[number] = (module, module.run(requests=requests, seed=seed, **extra))
    return {"seed": seed, "requests": requests, "labs": results}


def timeline(outcome: dict) -> str:
    """What every lab found, joined on the story's clock, then what to open next."""
    events, notes = [], []
    for number, (module, result) in sorted(outcome["labs"].items()):
        for ts, text in FINDINGS[number](result):
            (events if ts is not None else notes).append((ts, number, text))
    lines = [RULE, "What each lab caught, on one clock", RULE]
    for ts, number, text in sorted(events):
        lines.append(f"  {traffic.clock(ts):>5}  lab {number}  {text}")
    for _, number, text in notes:
        lines.append(f"         lab {number}  {text}")
    lines += ["", "What to open next: labs/README.md for the run of show; one lab script, e.g.",
              "  python3 solution/lab2_dashboard.py --help; the challenge: starters/extend.py."]
    return "\n".join(lines)


def render(outcome: dict) -> str:
    """The whole demo as text: the story, each lab's screen, the joined timeline."""
    screens = [f"{RULE}\nThe story: six hours of one AI service\n{RULE}",
               traffic.describe(outcome["requests"])]
    for number, name, title, extends in LABS:
        if number in outcome["labs"]:
            module, result = outcome["labs"][number]
            screens += ["", header(number, title, extends), module.report(result)]
    if len(outcome["labs"]) > 1:
        screens += ["", timeline(outcome)]
    return "\n".join(screens)


def render_html(outcome: dict) -> str:
    """One self-contained page of every lab, its charts and its tables: the thing to post in
    "Show", with the finding to post on top."""
    card = show_card(outcome["labs"][3][1], outcome["seed"]) if 3 in outcome["labs"] else None
    body = ([card] if card else []) + ["<h2>The story</h2>", *story_tables(outcome["requests"])]
    for number, name, title, extends in LABS:
        if number in outcome["labs"]:
            _, result = outcome["labs"][number]
            body.append(f"<h2>Lab {number}: {html.escape(title)} (extends {extends})</h2>")
            body += CHARTS[number](result) + TABLES[number](result)
    if len(outcome["labs"]) > 1:
        found = {n: FINDINGS[n](result) for n, (_, result) in outcome["labs"].items()}
        body += ["<h2>On one clock</h2>", timeline_chart(found, traffic.STORY.duration_s)]
    return html_page("opslab: five operations labs on one story", "\n".join(body))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run the shared story and the five operations labs in sequence.")
    parser.add_argument("--lab", type=int, choices=range(1, 6), metavar="N",
                        help="run only lab N (1-5)")
    parser.add_argument("--seed", type=seed_value, default=traffic.DEFAULT_SEED,
                        help=f"seed of the story (default {traffic.DEFAULT_SEED})")
    parser.add_argument("--html", metavar="FILE",
                        help="also write one self-contained HTML page of all the labs (- for standard output)")
    parser.add_argument("--force", action="store_true", help="overwrite the --html file if it exists")
    args = parser.parse_args(argv)
    refuse_ignored(parser, argv, [("--force", bool(args.html), "only applies with --html FILE")])
    outcome = run(seed=args.seed, labs=(args.lab,) if args.lab else (1, 2, 3, 4, 5))
    if args.html != "-":                            # else standard output is the page
        print(render(outcome))
    if args.html:
        try:
            write_file(args.html, lambda stream: stream.write(render_html(outcome)), args.force)
        except OSError as exc:
            return cannot_write(args.html, exc)
        print(f"wrote {'standard output' if args.html == '-' else args.html}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    run_cli(main)
