"""All the labs in the order of the class, one screen each, in about a second; solution/labs.py
lists them.

    python3 solution/demo.py              the story, then every lab, then what each one caught
    python3 solution/demo.py --lab 3      the story and one lab
    python3 solution/demo.py --html show.html   one self-contained page to post in "Show"

The story is generated once and every lab reads the same requests, so the closing timeline can
join what each lab found. Every run prints the same bytes: the story is seeded, the clock simulated.

Remember: each lab sees a different side of the same six hours; no single one sees it all.
"""

from __future__ import annotations

import argparse
import html
import sys
from pathlib import Path

if __package__ in (None, ""):          # run as a script: make the `solution` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from solution import traffic
from solution.cli import cannot_write, refuse_ignored, run_cli, seed_value, write_file
from solution.extend import composite_alert
from solution.labs import LABS, NUMBERS
from solution.tools.page import html_page
from solution.tools.show import CHARTS, FINDINGS, TABLES, show_card, story_tables, timeline_chart

# The labs and their contract (run, report) are in solution/labs.py; tools/show.py says what each
# found (FINDINGS) and draws it (CHARTS, TABLES).
RULE = "=" * 78


def header(number: int, title: str, extends: str) -> str:
    return f"{RULE}\nLab {number} of {len(LABS)}: {title}, extends {extends}\n{RULE}"


def run(seed: int = traffic.DEFAULT_SEED, labs: tuple[int, ...] = NUMBERS) -> dict:
    """Generate the story once and run the chosen labs on it:
    {"requests": the story, "labs": {number: (module, result)}}."""
    requests = traffic.generate(seed=seed)
    results = {}
    for lab in LABS:
        if lab.number in labs:
            module = lab.lesson()
            # lab 2's dashboard scores the challenge too: the composite alert, answered
            extra = {"composite": composite_alert} if lab.name == "lab2_dashboard" else {}
            results[lab.number] = (module, module.run(requests=requests, seed=seed, **extra))
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
    for lab in LABS:
        if lab.number in outcome["labs"]:
            module, result = outcome["labs"][lab.number]
            screens += ["", header(lab.number, lab.title, lab.extends), module.report(result)]
    if len(outcome["labs"]) > 1:
        screens += ["", timeline(outcome)]
    return "\n".join(screens)


def render_html(outcome: dict) -> str:
    """One self-contained page of every lab, its charts and its tables: the thing to post in
    "Show", with the finding to post on top."""
    card = show_card(outcome["labs"][3][1], outcome["seed"]) if 3 in outcome["labs"] else None
    body = ([card] if card else []) + ["<h2>The story</h2>", *story_tables(outcome["requests"])]
    for lab in LABS:
        if lab.number in outcome["labs"]:
            _, result = outcome["labs"][lab.number]
            title = html.escape(lab.title)
            body.append(f"<h2>Lab {lab.number}: {title} (extends {lab.extends})</h2>")
            body += CHARTS[lab.number](result) + TABLES[lab.number](result)
    if len(outcome["labs"]) > 1:
        found = {n: FINDINGS[n](result) for n, (_, result) in outcome["labs"].items()}
        body += ["<h2>On one clock</h2>", timeline_chart(found, traffic.STORY.duration_s)]
    return html_page("opslab: the operations labs on one story", "\n".join(body))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run the shared story and the operations labs in sequence.")
    parser.add_argument("--lab", type=int, choices=NUMBERS, metavar="N",
                        help=f"run only lab N ({NUMBERS[0]}-{NUMBERS[-1]})")
    parser.add_argument("--seed", type=seed_value, default=traffic.DEFAULT_SEED,
                        help=f"seed of the story (default {traffic.DEFAULT_SEED})")
    parser.add_argument("--html", metavar="FILE",
                        help="also write one self-contained HTML page of all the labs (- for standard output)")
    parser.add_argument("--force", action="store_true", help="overwrite the --html file if it exists")
    args = parser.parse_args(argv)
    refuse_ignored(parser, argv, [("--force", bool(args.html), "only applies with --html FILE")])
    outcome = run(seed=args.seed, labs=(args.lab,) if args.lab else NUMBERS)
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
