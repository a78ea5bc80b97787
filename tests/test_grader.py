"""The challenge's grader cannot be fooled, and grades a class without hanging.

A folder of submissions, each a way to pass without solving the task or a way to break a grader,
is graded once with `python3 -m tests.grade` (every file in its own process, with a time limit);
the tests read its table and its CSV. The reference itself is graded by tests/test_extend.py in
the normal run of the suite.
"""

import csv
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from grade import parts_of_tests

ROOT = Path(__file__).resolve().parents[1]

SUBMISSIONS = {
    # honest, and written differently from the reference: a plain loop, no pages_from
    "honest_loop": '''
from solution.paging import SIGNALS, Page


def composite_alert(breached, window_s=60.0, min_signals=2, gap_windows=0):
    if min_signals < 1:
        raise ValueError("min_signals must be at least 1")
    pages, start, seen = [], None, set()
    windows = list(breached)
    for i in range(len(windows) + 1):
        if i < len(windows) and len(set(windows[i])) >= min_signals:
            if start is None:
                start, seen = i, set()
            seen |= set(windows[i])
        elif start is not None:
            pages.append(Page("composite", start * window_s, (start + 1) * window_s,
                              i * window_s, tuple(s for s in SIGNALS if s in seen)))
            start = None
    return pages
''',
    # plausible but wrong: the right windows, one page each
    "one_per_window": '''
from solution.paging import SIGNALS, Page


def composite_alert(breached, window_s=60.0, min_signals=2, gap_windows=0):
    if min_signals < 1:
        raise ValueError("min_signals must be 1 or more")
    return [Page("composite", i * window_s, (i + 1) * window_s, (i + 1) * window_s,
                 tuple(s for s in SIGNALS if s in b))
            for i, b in enumerate(breached) if len(set(b)) >= min_signals]
''',
    # shortcut 1: the reference answer, imported, or reached through another module
    "imports_reference": "from solution.extend import composite_alert  # noqa: F401\n",
    "through_a_tool": "import solution.tools.dashboard as d\n\ncomposite_alert = d.composite_alert\n",
    # shortcut 2: knows the story and the hand-worked cases, nothing else
    "lookup_table": '''
from solution.paging import Page

STORY = [Page("composite", 3600.0, 3660.0, 4800.0, ("latency", "saturation")),
         Page("composite", 14400.0, 14460.0, 15600.0, ("traffic", "saturation"))]
TABLE = {((), ("latency", "saturation"), ()): [Page("composite", 60.0, 120.0, 120.0,
                                                    ("latency", "saturation"))]}


def composite_alert(breached, window_s=60.0, min_signals=2, gap_windows=0):
    if min_signals < 1:
        raise ValueError("no")
    if len(breached) == 360:
        return list(STORY)
    return list(TABLE.get(tuple(tuple(b) for b in breached), []))
''',
    # shortcut 3: an object equal to anything, and a tuple where a list is promised
    "always_equal": '''
class Anything(list):
    def __eq__(self, other):
        return True


def composite_alert(breached, window_s=60.0, min_signals=2, gap_windows=0):
    if min_signals < 1:
        raise ValueError("no")
    return Anything()
''',
    # shortcut 4: refuses min_signals < 1 only when some window would page
    "refuses_sometimes": '''
from solution.paging import pages_from


def composite_alert(breached, window_s=60.0, min_signals=2, gap_windows=0):
    paging = [len(set(b)) >= min_signals for b in breached]
    if min_signals < 1 and any(len(b) for b in breached):
        raise ValueError("min_signals must be 1 or more")
    return pages_from(paging, breached, window_s, "composite")
''',
    # ways to break a grader: an endless loop, an exit at import
    "endless": "import time\n\n\ndef composite_alert(breached, window_s=60.0, min_signals=2, "
               "gap_windows=0):\n    while True:\n        time.sleep(1)\n",
    "exits": "import sys\n\nsys.exit(3)\n",
}
SHORTCUT_REASONS = {
    "imports_reference": "uses the reference answer (solution.extend)",
    "through_a_tool": "loads the reference answer, solution.extend",
    "always_equal": "returned a Anything, not a list of Page",
    "refuses_sometimes": "min_signals=0 on [] returned instead of raising ValueError",
    "endless": "took over 10 s (an endless loop?)",
    "exits": "ended the process (exit status 3: sys.exit?)",
}


_grading: dict = {}


def start_in_background() -> dict:
    """Write the folder and start grading it (called once the tests are collected, so that it runs
    while the rest of the suite does; see conftest.py)."""
    if not _grading:
        folder = Path(tempfile.mkdtemp(prefix="opslab-grading-"))
        for name, text in SUBMISSIONS.items():
            (folder / f"{name}.py").write_text(text.lstrip(), encoding="utf-8")
        (folder / "untouched_starter.py").write_text(
            (ROOT / "starters" / "extend.py").read_text(encoding="utf-8"), encoding="utf-8")
        _grading.update(folder=folder, start=time.monotonic(), process=subprocess.Popen(
            [sys.executable, "-m", "tests.grade", str(folder), "--csv", str(folder / "grades.csv"),
             "--timeout", "90"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True))
    return _grading


@pytest.fixture(scope="module")
def graded():
    """The folder graded once: (table printed, CSV rows by student, seconds it took)."""
    run = start_in_background()
    try:
        out, err = run["process"].communicate(timeout=600)
        seconds = time.monotonic() - run["start"]
        assert run["process"].returncode == 0, err
        with (run["folder"] / "grades.csv").open(encoding="utf-8") as sheet:
            rows = {row["student"]: row for row in csv.DictReader(sheet)}
        yield out, rows, seconds
    finally:
        run["process"].kill()
        shutil.rmtree(run["folder"], ignore_errors=True)


def lines_of(table: str, student: str) -> list[str]:
    """The table's lines for one student: the score line and the FAILED lines under it."""
    lines, mine = [], False
    for line in table.splitlines():
        if not line.startswith(" "):
            mine = line.split()[0] == student
        if mine:
            lines.append(line)
    return lines


def test_every_student_gets_a_line_and_a_row(graded):
    table, rows, _ = graded
    expected = set(SUBMISSIONS) | {"untouched_starter"}
    assert set(rows) == expected
    assert {line.split()[0] for line in table.splitlines() if not line.startswith(" ")} == expected


def test_an_honest_answer_written_differently_passes_every_core_test(graded):
    _, rows, _ = graded
    honest = rows["honest_loop"]
    assert int(honest["core passed"]) == int(honest["core total"]) > 100
    assert int(honest["further passed"]) < int(honest["further total"])   # it did not go further


def test_one_page_per_window_fails_only_the_tests_about_merging(graded):
    _, rows, _ = graded
    parts = parts_of_tests()
    wrong = rows["one_per_window"]
    failed = {name for name, marks in parts.items() if "further" not in marks
              and (lambda cell: cell.split("/")[0] != cell.split("/")[1])(wrong[name])}
    assert failed, "the wrong answer passed everything"
    assert all("merging" in parts[name] for name in failed), failed


@pytest.mark.parametrize("student", sorted(SHORTCUT_REASONS))
def test_every_shortcut_fails_with_a_message_that_names_why(graded, student):
    table, rows, _ = graded
    row = rows[student]
    assert int(row["core passed"]) < int(row["core total"]), f"{student} passed"
    assert SHORTCUT_REASONS[student] in "\n".join(lines_of(table, student))


def test_knowing_only_the_story_and_the_worked_cases_fails_the_random_windows_and_seeds(graded):
    table, rows, _ = graded
    row = rows["lookup_table"]
    assert int(row["core passed"]) < int(row["core total"]) / 4
    text = "\n".join(lines_of(table, "lookup_table"))
    assert "test_random_windows_page_where_the_contract_says" in text
    assert "test_other_seeds_of_the_story_page_as_the_contract_says" in text


def test_an_endless_loop_or_an_exit_scores_zero_and_the_class_is_still_graded(graded):
    _, rows, seconds = graded
    for student in ("endless", "exits"):
        assert rows[student]["core passed"] == "0"
    assert seconds < 300            # the endless loop cost its probe's 10 s, not the 90 s limit


def test_the_untouched_starter_fails_every_test_pointing_to_the_handout(graded):
    table, rows, _ = graded
    assert rows["untouched_starter"]["core passed"] == "0"
    text = "\n".join(lines_of(table, "untouched_starter"))
    assert "FAILED every test" in text and "composite_alert is not written yet" in text
    assert "labs/lab2_dashboard.md" in text


def test_the_starter_graded_in_place_says_so_without_a_traceback():
    out = subprocess.run([sys.executable, "-m", "pytest", "tests/test_extend.py", "--target",
                          "starters", "-q", "-p", "no:cacheprovider", "-k", "two_signals"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert "starters/extend.py: composite_alert is not written yet" in out.stdout
    assert "Traceback" not in out.stdout and "During handling" not in out.stdout


def test_target_works_from_the_project_root_without_a_test_path():
    out = subprocess.run([sys.executable, "-m", "pytest", "--target", "starters", "--collect-only",
                          "-q", "-p", "no:cacheprovider"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.search(r"\d+ tests collected", out.stdout)


def test_the_csv_gradebook_has_a_column_per_test_function(graded):
    _, rows, _ = graded
    columns = set(next(iter(rows.values())))
    assert set(parts_of_tests()) <= columns
    assert {"student", "core passed", "core total", "further passed", "further total"} <= columns
