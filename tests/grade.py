"""Grade a whole class: every .py in a folder is one student's composite_alert.

    python3 -m tests.grade SUBMISSIONS/                 a table: score per student and per part
    python3 -m tests.grade SUBMISSIONS/ --csv grades.csv     the same for a gradebook
    python3 -m tests.grade alice.py                     one file

Each file is graded by tests/test_extend.py in a pytest process of its own, with a time limit: an
infinite loop, a crash or a sys.exit() is that student's failure, never the grader's hang. The
score counts the core tests (refusal, merging, signals, story); the optional going-further tier
(gap_windows) is scored apart. For each failed test the table gives the first line of its hint.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests" / "test_extend.py"
PARTS = ("refusal", "merging", "signals", "story", "further")


def parts_of_tests() -> dict[str, tuple[str, ...]]:
    """Each test function of the grader and the parts (pytest markers) it grades."""
    import ast
    parts = {}
    for node in ast.parse(TESTS.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            parts[node.name] = tuple(d.attr for d in node.decorator_list   # @pytest.mark.PART
                                     if isinstance(d, ast.Attribute) and d.attr in PARTS)
    return {name: marks for name, marks in parts.items() if marks}


@dataclass
class Grade:
    student: str
    results: dict[str, bool] = field(default_factory=dict)     # test id -> passed
    hints: dict[str, str] = field(default_factory=dict)        # test function -> first failure
    problem: str = ""                                          # timed out, crashed the grader

    def score(self, parts: dict[str, tuple[str, ...]], core: bool = True) -> tuple[int, int]:
        """(passed, total) over the core tests, or over the going-further tests."""
        chosen = [t for t in self.results if ("further" not in parts.get(t.split("[")[0], ())) == core]
        return sum(self.results[t] for t in chosen), len(chosen)


def grade(path: Path, timeout_s: float, expected: list[str]) -> Grade:
    """One student's file through the grader, in its own process."""
    result = Grade(path.stem)
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.xml"
        command = [sys.executable, "-m", "pytest", str(TESTS), "--target", str(path.resolve()),
                   "-q", "-p", "no:cacheprovider", f"--junitxml={report}", "-o", "junit_family=xunit1"]
        try:
            subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout_s,
                           stdin=subprocess.DEVNULL, env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
        except subprocess.TimeoutExpired:
            result.problem = f"timed out after {timeout_s:g} s (an endless loop?)"
        if report.exists() and not result.problem:
            for case in ElementTree.parse(report).getroot().iter("testcase"):
                failure = case.find("failure")
                if failure is None:
                    failure = case.find("error")
                name = case.get("name", "?")
                result.results[name] = failure is None
                if failure is not None:
                    first = (failure.get("message") or failure.text or "").strip().splitlines()
                    hint = first[0].removeprefix("Failed: ") if first else "failed"
                    result.hints.setdefault(name.split("[")[0], hint)
        elif not result.problem:
            result.problem = "the grader could not run on this file"
    for test in expected:                       # whatever did not run did not pass
        result.results.setdefault(test, False)
    parts = parts_of_tests()
    result.results = {t: ok for t, ok in result.results.items() if t.split("[")[0] in parts}
    return result


def expected_tests() -> list[str]:
    """The test ids the grader runs, collected once from the reference."""
    out = subprocess.run([sys.executable, "-m", "pytest", str(TESTS), "--collect-only", "-q",
                          "-p", "no:cacheprovider"], cwd=ROOT, capture_output=True, text=True)
    return [line.split("::", 1)[1] for line in out.stdout.splitlines() if "::" in line]


def table(grades: list[Grade], parts: dict[str, tuple[str, ...]]) -> str:
    lines = []
    for g in grades:
        passed, total = g.score(parts)
        extra, extra_total = g.score(parts, core=False)
        by_part = []
        for part in PARTS:
            ids = [t for t in g.results if part in parts.get(t.split("[")[0], ())]
            by_part.append(f"{part} {sum(g.results[t] for t in ids)}/{len(ids)}")
        lines.append(f"{g.student:<20} {passed:>4}/{total:<4} core; {', '.join(by_part)}"
                     + (f"  [{g.problem}]" if g.problem else ""))
        hints = {test: hint for test, hint in g.hints.items() if test in parts}
        if len(hints) > 2 and len(set(hints.values())) == 1:    # one reason fails them all
            lines.append(f"    FAILED every test: {next(iter(hints.values()))[:160]}")
        else:
            lines += [f"    FAILED {test}: {hint[:160]}" for test, hint in sorted(hints.items())]
    return "\n".join(lines)


def write_csv(grades: list[Grade], parts: dict[str, tuple[str, ...]], path: str) -> None:
    """A gradebook: one row per student, the core score, then each test function's result."""
    functions = sorted(parts)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["student", "core passed", "core total", "further passed", "further total",
                     "problem", *functions])
    for g in grades:
        cells = []
        for name in functions:
            ids = [t for t in g.results if t.split("[")[0] == name]
            cells.append(f"{sum(g.results[t] for t in ids)}/{len(ids)}")
        writer.writerow([g.student, *g.score(parts), *g.score(parts, core=False), g.problem, *cells])
    target = Path(path)
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.write_text(buffer.getvalue(), encoding="utf-8")
    temporary.replace(target)                  # all or nothing: never a half-written gradebook


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m tests.grade", description=__doc__.split("\n\n")[0])
    parser.add_argument("submissions", nargs="+", metavar="FOLDER_OR_FILE",
                        help="folders of students' .py files, or single files")
    parser.add_argument("--csv", metavar="FILE", help="also write the grades as CSV")
    parser.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS",
                        help="time limit per submission (default 120)")
    parser.add_argument("--jobs", type=int, default=2, metavar="N",
                        help="submissions graded at once (default 2)")
    args = parser.parse_args(argv)
    files = []
    for where in map(Path, args.submissions):
        found = sorted(where.glob("*.py")) if where.is_dir() else [where]
        files += [f for f in found if f.is_file() and f.suffix == ".py" and f.name != "__init__.py"]
    if not files:
        print(f"error: no .py file in {' '.join(args.submissions)}", file=sys.stderr)
        return 2
    if not (args.timeout > 0 and args.jobs > 0):
        print("error: --timeout and --jobs must be greater than 0", file=sys.stderr)
        return 2
    parts, expected = parts_of_tests(), expected_tests()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        grades = list(pool.map(lambda f: grade(f, args.timeout, expected), files))
    print(table(grades, parts))
    if args.csv:
        write_csv(grades, parts, args.csv)
        print(f"wrote {args.csv}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
