"""The challenge's grader cannot be fooled, scores by the contract, and grades a class without
hanging.

A folder of submissions, each an honest answer, a plausible wrong one, a way to pass without
solving the task or a way to break a grader, is graded once by tests/grade.py's main() (every
file in its own worker, every call with a time limit); the tests read its table and its CSV. The
grader's tests use tests/fixtures/starter_extend.py, a pristine copy of the starter: the shipped
starters/extend.py is the student's to edit, and no test here reads it (but one: it checks that
the copy still agrees with it, in the parts a student never edits).
"""

import ast
import contextlib
import csv
import io
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from contract import CASES, POINTS, run_case
from tests import grade

from solution.paging import SIGNALS, Page

ROOT = Path(__file__).resolve().parents[1]
PRISTINE = ROOT / "tests" / "fixtures" / "starter_extend.py"
SHIPPED = ROOT / "starters" / "extend.py"

SUBMISSIONS = {
    # honest, and written differently from the reference: a plain loop, no pages_from; it prints
    "honest_loop": '''
from solution.paging import SIGNALS, Page


def composite_alert(breached, window_s=60.0, min_signals=2, gap_windows=0):
    if min_signals < 1:
        raise ValueError("min_signals must be at least 1")
    print("debugging: a student's print must not confuse the grader")
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
    # plausible but wrong: the right windows, one page each: it never merges
    "never_merges": '''
from solution.paging import SIGNALS, Page


def composite_alert(breached, window_s=60.0, min_signals=2, gap_windows=0):
    if min_signals < 1:
        raise ValueError("min_signals must be 1 or more")
    return [Page("composite", i * window_s, (i + 1) * window_s, (i + 1) * window_s,
                 tuple(s for s in SIGNALS if s in b))
            for i, b in enumerate(breached) if len(set(b)) >= min_signals]
''',
    # right, but hangs on inputs of more than 480 windows (six cases, merging and signals): it
    # keeps the credit of the rest
    "hangs_on_big": '''
import time

from solution.paging import pages_from


def composite_alert(breached, window_s=60.0, min_signals=2, gap_windows=0):
    if min_signals < 1:
        raise ValueError("min_signals must be 1 or more")
    while len(breached) > 480:
        time.sleep(0.05)
    paging = [len(set(b)) >= min_signals for b in breached]
    return pages_from(paging, breached, window_s, "composite")
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
    # shortcut 3: an object equal to anything, where a list of Page is promised
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
    # ways to break a grader: an endless loop, an exit or a crash at import
    "endless": "import time\n\n\ndef composite_alert(breached, window_s=60.0, min_signals=2, "
               "gap_windows=0):\n    while True:\n        time.sleep(0.05)\n",
    "exits": "import sys\n\nsys.exit(3)\n",
    "crashes": "import solution.paging\n\nraise RuntimeError('half-written file')\n",
}
ZERO_REASONS = {
    "imports_reference": "imports the reference",
    "through_a_tool": "imports the reference",
    "endless": "endless loop",
    "exits": "sys.exit(3) at import",
    "crashes": "crash at import: RuntimeError: half-written file",
    "untouched_starter": "untouched starter: composite_alert is not written yet",
}
CASE_TIMEOUT_S = 0.5


@pytest.fixture(scope="module")
def graded():
    """The folder graded once: (the table printed, the CSV rows by student)."""
    with tempfile.TemporaryDirectory(prefix="opslab-grading-") as tmp:
        folder = Path(tmp)
        for name, text in SUBMISSIONS.items():
            (folder / f"{name}.py").write_text(text.lstrip(), encoding="utf-8")
        (folder / "untouched_starter.py").write_bytes(PRISTINE.read_bytes())
        # the grader's main() here (its stories are the session's), its workers in processes,
        # four at once (the two that hang mostly wait)
        table, errors = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(table), contextlib.redirect_stderr(errors):
            status = grade.main([str(folder), "--csv", str(folder / "grades.csv"),
                                 "--case-timeout", str(CASE_TIMEOUT_S), "--jobs", "4"])
        assert status == 0, errors.getvalue()
        with (folder / "grades.csv").open(encoding="utf-8") as sheet:
            rows = {row["student"]: row for row in csv.DictReader(sheet)}
    return table.getvalue(), rows


def test_the_grader_runs_as_a_command_and_refuses_an_empty_folder(tmp_path):
    out = subprocess.run([sys.executable, "-m", "tests.grade", str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stderr.startswith("error: no .py file in ")
    assert "Traceback" not in out.stderr


def lines_of(table: str, student: str) -> list[str]:
    """The table's lines for one student: the score line and the FAILED lines under it."""
    lines, mine = [], False
    for line in table.splitlines():
        if not line.startswith(" "):
            mine = line.split()[0] == student
        if mine:
            lines.append(line)
    return lines


def test_every_student_gets_a_line_and_a_row_and_the_class_a_summary(graded):
    table, rows = graded
    expected = set(SUBMISSIONS) | {"untouched_starter"}
    assert set(rows) == expected
    names = [line.split()[0] for line in table.splitlines()[1:-1] if not line.startswith(" ")]
    assert sorted(names) == sorted(expected)
    summary = table.splitlines()[-1]
    assert summary.startswith(f"class of {len(expected)}: mean core ")
    assert all(part in summary for part in POINTS)
    zeros = [name for name, row in rows.items() if float(row["core"]) == 0]
    assert f"{len(zeros)} at zero (" in summary and "1 endless loop" in summary


def test_the_csv_has_a_column_per_part_the_total_and_the_problem(graded):
    _, rows = graded
    assert list(next(iter(rows.values()))) == ["student", *POINTS, "core", "further", "total",
                                               "problem"]
    for row in rows.values():
        assert float(row["core"]) == pytest.approx(sum(float(row[p]) for p in POINTS), abs=0.15)
        assert float(row["total"]) == pytest.approx(float(row["core"]) + float(row["further"]),
                                                    abs=0.15)


def test_an_honest_answer_written_differently_gets_every_core_point(graded):
    _, rows = graded
    honest = rows["honest_loop"]
    assert float(honest["core"]) == 100 and honest["problem"] == ""
    assert float(honest["further"]) < 10                        # it did not go further


def test_correct_ranks_over_never_merging_over_an_endless_loop(graded):
    _, rows = graded
    core = {name: float(row["core"]) for name, row in rows.items()}
    assert core["honest_loop"] > core["never_merges"] > core["endless"] == 0
    assert core["never_merges"] < 50                            # merging is the heart of it


def test_never_merging_loses_only_the_parts_about_merging(graded):
    table, rows = graded
    wrong = rows["never_merges"]
    assert float(wrong["refusal"]) == POINTS["refusal"] and float(wrong["signals"]) == POINTS["signals"]
    assert float(wrong["merging"]) < POINTS["merging"] / 4
    failed = [line.split()[:2] for line in lines_of(table, "never_merges")[1:]]
    assert failed and all(part in ("merging", "story", "further") for _, part in failed)
    kinds = [kind for kind, _ in failed]                        # core failures first, bonus apart
    assert kinds == ["FAILED"] * kinds.count("FAILED") + ["bonus"] * kinds.count("bonus")
    assert all((kind == "bonus") == (part == "further") for kind, part in failed)


def test_a_file_that_hangs_on_big_inputs_keeps_the_credit_of_the_rest(graded):
    table, rows = graded
    row = rows["hangs_on_big"]
    assert 80 < float(row["core"]) < 100 and row["problem"] == ""
    assert f"took over {CASE_TIMEOUT_S:g} s" in "\n".join(lines_of(table, "hangs_on_big"))


@pytest.mark.parametrize("student", sorted(ZERO_REASONS))
def test_a_score_of_zero_always_says_why_in_one_line(graded, student):
    table, rows = graded
    assert float(rows[student]["core"]) == 0
    assert rows[student]["problem"].startswith(ZERO_REASONS[student])
    assert len(lines_of(table, student)) == 1                  # one line, not one per test


@pytest.mark.parametrize("student,why", [
    ("always_equal", "returned a Anything, not a list of Page"),
    ("refuses_sometimes", "min_signals=0 on [] returned instead of raising ValueError"),
    ("lookup_table", "random_windows_page_where_the_contract_says")])
def test_every_shortcut_fails_with_a_line_that_names_why(graded, student, why):
    table, rows = graded
    assert float(rows[student]["core"]) < 100
    assert why in "\n".join(lines_of(table, student))
    if student == "lookup_table":                               # the random windows and seeds
        assert float(rows[student]["core"]) < 40


# ── hints a student reads ───────────────────────────────────────────────────────────────────────

def never_merging(breached, window_s=60.0, min_signals=2, gap_windows=0):
    return [Page("composite", i * window_s, (i + 1) * window_s, (i + 1) * window_s,
                 tuple(s for s in SIGNALS if s in b))
            for i, b in enumerate(breached) if len(set(b)) >= min_signals]


def test_a_failed_case_says_it_in_12_lines_on_its_smallest_input():
    case = next(c for c in CASES if c.id == "random_windows_page_where_the_contract_says-seed3")
    assert case.windows > 100
    hint = run_case(case, never_merging)
    lines = hint.splitlines()
    assert 5 <= len(lines) <= 12
    assert lines[0] == "expected 1 page(s), got 2" and "shrunk from" in hint
    call = ast.literal_eval(hint.split("composite_alert(", 1)[1].split("]", 1)[0] + "]")
    assert len(call) == 2 and all(len(set(w)) >= 2 for w in call)   # two windows: one page
    assert "expected 1 page(s):" in hint and "got 2 page(s):" in hint


def test_a_call_that_hangs_is_stopped_by_its_time_limit_and_the_next_case_runs():
    def slow(breached, window_s=60.0, min_signals=2, gap_windows=0):
        if len(breached) > 100:
            time.sleep(5)
        return never_merging(breached, window_s, min_signals)
    big = next(c for c in CASES if c.windows > 100 and c.part == "signals")
    small = next(c for c in CASES if c.id == "one_signal_at_a_time_never_pages")
    began = time.monotonic()
    assert "took over 0.2 s" in run_case(big, slow, limit_s=0.2)
    assert time.monotonic() - began < 2 and run_case(small, slow, limit_s=0.2) == ""


def test_the_untouched_starter_graded_with_pytest_fails_in_one_line():
    out = subprocess.run([sys.executable, "-m", "pytest", "tests/test_extend.py", "--target",
                          str(PRISTINE), "-q", "-p", "no:cacheprovider"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    failed = [line for line in out.stdout.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1 and "1 failed" in out.stdout and "skipped" in out.stdout
    assert "starter_extend.py: refusal: composite_alert is not written yet" in out.stdout
    assert "labs/lab2_dashboard.md" in out.stdout
    assert "Traceback" not in out.stdout and "During handling" not in out.stdout


def test_target_is_an_option_of_every_pytest_command_from_the_project_root():
    # --markers reads the options and the configuration, then stops: no test is collected
    out = subprocess.run([sys.executable, "-m", "pytest", "--target", "starters", "--markers",
                          "-p", "no:cacheprovider"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and "unrecognized arguments" not in out.stderr, out.stderr
    assert "@pytest.mark.merging" in out.stdout


# ── the pristine starter: the grader's own copy ─────────────────────────────────────────────────

def never_edited(source: str) -> dict:
    """The parts of the starter a student never edits: the contract (the module docstring), the
    imports of the alerting vocabulary, composite_alert's signature, main() and the script guard."""
    tree = ast.parse(source)
    top = {getattr(node, "name", None): node for node in tree.body}
    function = top["composite_alert"]
    return {"contract": ast.get_docstring(tree),
            "vocabulary": [ast.dump(n) for n in tree.body if isinstance(n, ast.ImportFrom)
                           and n.module and n.module.startswith("solution.")],
            "signature": ast.dump(function.args),
            "main": ast.dump(top["main"]),
            "guard": ast.dump(tree.body[-1])}


def test_the_graders_copy_of_the_starter_agrees_with_the_shipped_one():
    # Byte for byte while nobody has touched the shipped starter; once a student has, in the
    # parts a student never edits: a change to the contract needs the copy changed too.
    shipped, pristine = SHIPPED.read_text(encoding="utf-8"), PRISTINE.read_text(encoding="utf-8")
    if shipped != pristine:
        ours, theirs = never_edited(pristine), never_edited(shipped)
        changed = [part for part in ours if ours[part] != theirs[part]]
        assert not changed, (f"starters/extend.py and tests/fixtures/starter_extend.py differ in "
                             f"{changed}: if you changed the starter, copy it to the fixture")


def test_the_agreement_check_sees_a_changed_contract_and_ignores_a_students_body():
    pristine = PRISTINE.read_text(encoding="utf-8")
    body = pristine.replace("    raise NotImplementedError(", "    return []\n    raise NotImplementedError(")
    assert body != pristine and never_edited(body) == never_edited(pristine)
    contract = pristine.replace("min_signals=2", "min_signals=3", 1)
    signature = pristine.replace("min_signals: int = 2", "min_signals: int = 3")
    assert never_edited(contract)["contract"] != never_edited(pristine)["contract"]
    assert never_edited(signature)["signature"] != never_edited(pristine)["signature"]

