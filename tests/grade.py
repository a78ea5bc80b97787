"""Grade a whole class: every .py in a folder is one student's composite_alert.

    python3 -m tests.grade SUBMISSIONS/                      a table: points per part, and why
    python3 -m tests.grade SUBMISSIONS/ --csv grades.csv     the same for a gradebook
    python3 -m tests.grade alice.py                          one file

The cases are tests/contract.py's, the ones a student runs with pytest (tests/test_extend.py). Each
file is graded in a worker process of its own; every call of the student's function has a time
limit (--case-timeout), so an answer that hangs on some inputs keeps the credit of the cases it
passes, and the whole file has one too (--timeout). Points follow the contract: refusal 10, merging
50, signals 20, story 20 (the core, 100), each part's points the share of its cases passed; going
further (gap_windows) is a bonus of 10, apart. A score of zero always says why (endless loop,
sys.exit at import, crash, untouched starter, imports the reference). The class summary comes after
the students.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

LOAD_S = 10.0           # loading a student's file
GIVE_UP_AFTER = 3       # the first cases all hang or kill the worker: the rest would too


@dataclass
class Grade:
    student: str
    hints: dict[str, str] = field(default_factory=dict)      # case id -> '' (passed) or its hint
    problem: str = ""                                        # why it could not be graded (fully)
    seconds: float = 0.0

    def points(self, part: str) -> float:
        """The part's points: its stated points times the share of its cases passed."""
        from tests.contract import BONUS, CASES, POINTS
        ids = [c.id for c in CASES if c.part == part]
        passed = sum(1 for i in ids if self.hints.get(i) == "")
        return round({**POINTS, **BONUS}[part] * passed / len(ids), 1)

    @property
    def core(self) -> float:
        from tests.contract import POINTS
        return round(sum(self.points(p) for p in POINTS), 1)


def student_problem(path: Path) -> str:
    """Why a file is not graded at all: it uses the reference answer, or it is not Python."""
    from tests.contract import source_problems
    try:
        problems = source_problems(path)
    except (SyntaxError, ValueError, UnicodeDecodeError) as exc:
        return f"crash: the file is not Python ({type(exc).__name__}: {exc})"[:200]
    return f"imports the reference: {problems[0]}" if problems else ""


# ── the worker: one student's file, the cases in order, one JSON line each ──────────────────────

def worker(path: str, stories: str, start: int, limit_s: float) -> int:
    """Load the file, then run the cases from `start` on, reporting each as a JSON line on the
    real standard output (the student's prints go nowhere)."""
    report = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    sys.stdout = open(os.devnull, "w", encoding="utf-8")
    import importlib.util
    spec = importlib.util.spec_from_file_location("_student", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        function = module.composite_alert
    except SystemExit as exc:
        report.write(json.dumps({"problem": f"sys.exit({exc.code!r}) at import"}) + "\n")
        return 0
    except BaseException as exc:                              # noqa: BLE001 - the student's crash
        report.write(json.dumps({"problem": f"crash at import: {type(exc).__name__}: {exc}"[:200]})
                     + "\n")
        return 0
    if "solution.extend" in sys.modules:
        report.write(json.dumps({"problem": "imports the reference: the file loads "
                                 "solution.extend (directly or through another module)"}) + "\n")
        return 0
    from tests import contract as grader
    grader._stories.update({int(k): [tuple(w) for w in v]
                            for k, v in json.loads(Path(stories).read_text()).items()})
    report.write(json.dumps({"loaded": True}) + "\n")
    for case in in_running_order()[start:]:
        report.write(json.dumps({"case": case.id, "hint": grader.run_case(case, function, limit_s)})
                     + "\n")
    return 0


def in_running_order():
    """The cases, smallest inputs first (the folder grader's order; the table keeps the file's)."""
    from tests.contract import CASES
    return sorted(CASES, key=lambda case: case.windows)


# ── the parent: a worker per file, restarted past a case that hung it ───────────────────────────

def grade(path: Path, stories: Path, limit_s: float, budget_s: float) -> Grade:
    """One student's file, through the cases, in worker processes."""
    result = Grade(path.stem)
    begun = time.monotonic()
    result.problem = student_problem(path)
    order = [case.id for case in in_running_order()]
    start = 0
    while not result.problem and start < len(order):
        command = [sys.executable, "-m", "tests.grade", "--worker", str(path.resolve()), str(stories),
                   str(start), str(limit_s)]
        process = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True,
                                   env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [lines.put(x) for x in process.stdout] + [lines.put(None)],
                         daemon=True).start()
        wait = LOAD_S
        try:
            while not result.problem:
                left = budget_s - (time.monotonic() - begun)
                if left <= 0:
                    result.problem = f"over the file's time limit of {budget_s:g} s"
                    break
                try:
                    line = lines.get(timeout=min(wait, left))
                except queue.Empty:
                    line = "hung"
                if line is None and start >= len(order):        # done, every case reported
                    break
                if line in (None, "hung") and wait == LOAD_S:     # it never finished loading
                    result.problem = (f"endless loop at import (over {LOAD_S:g} s)" if line else
                                      f"crash at import: the process ended (exit status "
                                      f"{process.wait()})")
                elif line in (None, "hung"):              # the case it was on hung or killed it
                    result.hints[order[start]] = (
                        f"composite_alert took over {limit_s:g} s (killed)" if line else
                        "the process ended during this case (sys.exit or os._exit?)")
                    start += 1
                    result.problem = given_up(result, order)
                    break
                else:
                    event = json.loads(line)
                    result.problem = event.get("problem", "")
                    if "case" in event:
                        result.hints[event["case"]] = event["hint"]
                        start += 1
                        result.problem = given_up(result, order)
                    wait = limit_s * 4 + 5                    # the worker's own alarm comes first
        finally:
            process.kill()
            process.wait()
    for case_id in order:                               # whatever did not run did not pass
        result.hints.setdefault(case_id, result.problem or "not run")
    if not result.problem and result.core == 0:
        result.problem = zero_reason(result)
    result.seconds = time.monotonic() - begun
    return result


def given_up(g: Grade, order: list[str]) -> str:
    """'' while the file is worth running on; else why not: its first cases all hung (an endless
    loop) or all ended the process (a crash), so the rest would too."""
    first = [g.hints.get(case_id) for case_id in order[:GIVE_UP_AFTER]]
    if all(h and "took over" in h for h in first):
        return f"endless loop: {first[0]}"
    if all(h and "process ended" in h for h in first):
        return f"crash: {first[0]}"
    return ""


def zero_reason(g: Grade) -> str:
    """Why a file that ran scored nothing: the commonest first line of its hints."""
    from tests.contract import NOT_WRITTEN
    firsts = Counter(h.splitlines()[0] for h in g.hints.values() if h)
    if any(h.startswith(NOT_WRITTEN) for h in firsts):
        return f"untouched starter: {NOT_WRITTEN}"
    common = firsts.most_common(1)[0][0] if firsts else "no case ran"
    return f"failed every core case: {common}"[:200]


# ── the report: a table, the class summary, a gradebook ─────────────────────────────────────────

def table(grades: list[Grade]) -> str:
    from tests.contract import BONUS, CASES, POINTS
    parts = [*POINTS, *BONUS]
    head = (f"{'student':<22} {'core':>5}  " + "  ".join(f"{p} /{pts}" for p, pts in POINTS.items())
            + f"  further +{BONUS['further']}")
    lines = [head]
    for g in grades:
        cells = "  ".join(f"{g.points(p):>{len(p) + len(str(POINTS[p])) + 2}g}" for p in POINTS)
        lines.append(f"{g.student:<22} {g.core:>5g}  {cells}  {g.points('further'):>10g}"
                     + (f"  [{g.problem}]" if g.problem else ""))
        if g.problem:                                   # one reason for every case: one line
            continue
        for core in (True, False):                      # core failures first, further apart
            promises: dict[str, list] = {}
            for case in CASES:
                if (case.part in POINTS) == core:
                    promises.setdefault(case.check.__name__, []).append(case)
            for name, cases in promises.items():
                failed = [c for c in cases if g.hints.get(c.id)]
                if failed:
                    first = g.hints[failed[0].id].splitlines()[0]
                    lines.append(f"    {'FAILED' if core else 'bonus '} {failed[0].part:<8} {name} "
                                 f"({len(failed)} of {len(cases)}): {first}"[:200])
    lines.append(summary(grades, parts))
    return "\n".join(lines)


def summary(grades: list[Grade], parts: list[str]) -> str:
    """The class: mean points per part, and how many scored zero, and why."""
    n = len(grades)
    means = ", ".join(f"{p} {sum(g.points(p) for g in grades) / n:.1f}" for p in parts)
    zero = Counter(g.problem.split(":")[0] for g in grades if g.core == 0)
    why = ", ".join(f"{count} {reason}" for reason, count in sorted(zero.items()))
    return (f"class of {n}: mean core {sum(g.core for g in grades) / n:.1f} of 100 ({means}); "
            f"{sum(zero.values())} at zero" + (f" ({why})" if why else ""))


def write_csv(grades: list[Grade], path: str) -> None:
    """A gradebook: one row per student, a column per part, the core, the total, the problem."""
    from tests.contract import BONUS, POINTS
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["student", *POINTS, "core", *BONUS, "total", "problem"])
    for g in grades:
        bonus = [g.points(p) for p in BONUS]
        writer.writerow([g.student, *(g.points(p) for p in POINTS), g.core, *bonus,
                         round(g.core + sum(bonus), 1), g.problem])
    target = Path(path)
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.write_text(buffer.getvalue(), encoding="utf-8")
    temporary.replace(target)                  # all or nothing: never a half-written gradebook


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        return worker(argv[1], argv[2], int(argv[3]), float(argv[4]))
    parser = argparse.ArgumentParser(prog="python3 -m tests.grade", description=__doc__.split("\n\n")[0])
    parser.add_argument("submissions", nargs="+", metavar="FOLDER_OR_FILE",
                        help="folders of students' .py files, or single files")
    parser.add_argument("--csv", metavar="FILE", help="also write the grades as CSV")
    parser.add_argument("--case-timeout", type=float, default=2.0, metavar="SECONDS",
                        help="time limit of one call of a student's function (default 2)")
    parser.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS",
                        help="time limit of one student's file, all cases (default 120)")
    parser.add_argument("--jobs", type=int, default=2, metavar="N",
                        help="files graded at once (default 2)")
    args = parser.parse_args(argv)
    files = []
    for where in map(Path, args.submissions):
        found = sorted(where.glob("*.py")) if where.is_dir() else [where]
        files += [f for f in found if f.is_file() and f.suffix == ".py" and f.name != "__init__.py"]
    if not files:
        print(f"error: no .py file in {' '.join(args.submissions)}", file=sys.stderr)
        return 2
    if not (args.timeout > 0 and args.case_timeout > 0 and args.jobs > 0):
        print("error: --timeout, --case-timeout and --jobs must be greater than 0", file=sys.stderr)
        return 2
    from tests.contract import STORY_SEEDS, story_breaches
    with tempfile.TemporaryDirectory(prefix="opslab-grade-") as tmp:
        stories = Path(tmp) / "stories.json"          # the story's breaches, computed once
        stories.write_text(json.dumps({seed: story_breaches(seed) for seed in STORY_SEEDS}))
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            grades = list(pool.map(lambda f: grade(f, stories, args.case_timeout, args.timeout),
                                   files))
    print(table(grades))
    if args.csv:
        write_csv(grades, args.csv)
        print(f"wrote {args.csv}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
