"""The challenge's grader discriminates: it fails the untouched starter with a readable message,
fails a plausible wrong answer, and passes the reference.

Each grading runs tests/test_extend.py (and only it: never this file, so nothing recurses) in a
subprocess, inside a copy of the project in a temporary folder, with a time limit.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STARTER = ROOT / "starters" / "extend.py"

# A plausible wrong answer: it pages on the right windows but once per window, not once per run.
ONE_PAGE_PER_WINDOW = '''
def composite_alert(breached, window_s=60.0, min_signals=2):
    if min_signals < 1:
        raise ValueError("min_signals must be 1 or more")
    return [Page("composite", i * window_s, (i + 1) * window_s, (i + 1) * window_s,
                 tuple(s for s in SIGNALS if s in b))
            for i, b in enumerate(breached) if len(set(b)) >= min_signals]
'''


def project_copy(folder: Path, starter_text: str) -> Path:
    """The few files the grader needs, with `starter_text` as starters/extend.py."""
    for sub in ("solution", "starters", "tests"):
        (folder / sub).mkdir(parents=True)
    shutil.rmtree(folder / "solution")
    shutil.copytree(ROOT / "solution", folder / "solution",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("conftest.py", "test_extend.py"):
        shutil.copy(ROOT / "tests" / name, folder / "tests" / name)
    shutil.copy(ROOT / "pyproject.toml", folder / "pyproject.toml")
    (folder / "starters" / "extend.py").write_text(starter_text, encoding="utf-8")
    return folder


def start_grading(folder: Path, target: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             "tests/test_extend.py", "--target", target],
                            cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(process: subprocess.Popen) -> tuple[int, str]:
    try:
        output, _ = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail("the grader took more than 120 s")
    return process.returncode, output


def counts(output: str) -> dict[str, int]:
    """pytest's closing line, e.g. '3 failed, 9 passed in 1.2s' -> {'failed': 3, 'passed': 9}."""
    return {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|error)", output.splitlines()[-1])}


@pytest.fixture(scope="module")
def gradings(tmp_path_factory) -> dict[str, tuple[int, str]]:
    """Grade three answers at once (in parallel): the untouched starter, a wrong answer, the reference."""
    starter = STARTER.read_text(encoding="utf-8")
    if "raise NotImplementedError" not in starter:
        pytest.skip("starters/extend.py has been worked on: this check needs the untouched starter")
    wrong = starter[:starter.index("def composite_alert")] + ONE_PAGE_PER_WINDOW.lstrip() + \
        starter[starter.index("def main"):]
    runs = {
        "untouched starter": start_grading(project_copy(tmp_path_factory.mktemp("a"), starter), "starters"),
        "wrong answer": start_grading(project_copy(tmp_path_factory.mktemp("b"), wrong), "starters"),
        "reference": start_grading(project_copy(tmp_path_factory.mktemp("c"), starter), "solution"),
    }
    return {name: finish(process) for name, process in runs.items()}


def test_the_untouched_starter_fails_every_test_with_a_message_that_points_to_the_handout(gradings):
    status, output = gradings["untouched starter"]
    assert status == 1, output
    assert counts(output).get("failed", 0) >= 10 and "passed" not in counts(output)
    assert "starters/extend.py: composite_alert is not written yet" in output
    assert "labs/lab2_dashboard.md" in output
    assert "Traceback" not in output and "During handling" not in output


def test_a_wrong_answer_fails_the_tests_that_catch_its_mistake(gradings):
    status, output = gradings["wrong answer"]
    assert status == 1, output
    assert "FAILED tests/test_extend.py::test_consecutive_paging_windows_are_one_page" in output
    assert "FAILED tests/test_extend.py::test_on_the_story_it_pages_once_for_each" in output
    assert counts(output).get("passed", 0) >= 5       # it is right about everything else


def test_the_reference_passes_every_test(gradings):
    status, output = gradings["reference"]
    assert status == 0, output
    assert counts(output).get("passed", 0) >= 10 and "failed" not in counts(output)
