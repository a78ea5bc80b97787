"""The demo: every lab on one story, one screen each, the same bytes on every run."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from solution.labs import LABS

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "solution" / "demo.py"


def run_demo(*args: str, hashseed: str = "0", cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONHASHSEED=hashseed)
    env.pop("NO_COLOR", None)
    return subprocess.run([sys.executable, str(DEMO), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def show(tmp_path_factory) -> Path:
    """The folder where the demo ran once, as for "Show": `--html show.html`."""
    return tmp_path_factory.mktemp("show")


@pytest.fixture(scope="module")
def demo_output(show) -> str:
    out = run_demo("--html", "show.html", cwd=show)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_the_demo_prints_identical_bytes_whatever_the_hash_seed(demo_output, show, tmp_path):
    again = run_demo("--html", "show.html", hashseed="987654", cwd=tmp_path)
    assert again.returncode == 0 and again.stdout == demo_output
    assert (tmp_path / "show.html").read_bytes() == (show / "show.html").read_bytes()


def test_the_demo_runs_the_story_then_every_lab_in_the_order_of_the_class(demo_output):
    count = len(LABS)
    marks = ["The service you are about to operate"] + \
            [f"Lab {lab.number} of {count}: {lab.title}, extends {lab.extends}" for lab in LABS] + \
            ["What each lab caught, on one clock", "What to open next"]
    positions = [demo_output.find(mark) for mark in marks]
    assert -1 not in positions and positions == sorted(positions)
    assert f"Lab 2 of {count}: golden signals and SLO burn, extends M20/M31" in demo_output


def test_every_screen_fits_an_80_column_terminal_in_about_30_lines(demo_output):
    assert max(len(line) for line in demo_output.splitlines()) <= 80
    screens = demo_output.split("=" * 78)
    lab_screens = [s for s in screens if s.strip() and not s.lstrip().startswith("Lab ")]
    assert all(len(s.strip().splitlines()) <= 42 for s in lab_screens)   # a terminal's height


def test_the_closing_timeline_joins_what_every_lab_found(demo_output):
    closing = demo_output[demo_output.index("What each lab caught"):]
    for lab in LABS:
        assert f"lab {lab.number}  " in closing, f"lab {lab.number} reports nothing on the clock"


def test_one_lab_alone_on_another_seed_tells_another_story(demo_output):
    out = run_demo("--lab", "3", "--seed", "3")
    assert out.returncode == 0, out.stderr
    assert f"Lab 3 of {len(LABS)}" in out.stdout and f"Lab 2 of {len(LABS)}" not in out.stdout
    volume = lambda text: next(line for line in text.splitlines() if "requests in" in line)  # noqa: E731
    assert volume(out.stdout) != volume(demo_output)


def test_bad_flags_are_refused_with_the_reason():
    out = run_demo("--lab", "9")
    assert out.returncode == 2 and "invalid choice" in out.stderr and "Traceback" not in out.stderr
    out = run_demo("--seed", "-1")
    assert out.returncode == 2 and "a seed is a whole number from 0" in out.stderr


def test_the_html_page_is_self_contained_and_holds_every_labs_charts(demo_output, show, html_tags):
    assert "wrote" not in demo_output                  # status to stderr: stdout is the lesson
    tags, external = html_tags((show / "show.html").read_text(encoding="utf-8"))
    assert "script" not in tags and not external
    assert tags.count("h2") >= 7 and tags.count("svg") >= 4


def test_an_unwritable_html_path_is_a_clear_error(tmp_path):
    out = run_demo("--lab", "1", "--html", str(tmp_path / "missing" / "show.html"))
    assert out.returncode == 2 and "cannot write" in out.stderr and "Traceback" not in out.stderr


def test_the_show_page_is_not_overwritten_unasked(tmp_path):
    page = tmp_path / "show.html"
    page.write_text("a page I edited by hand")
    out = run_demo("--lab", "1", "--html", str(page))
    assert out.returncode == 2 and "exists (add --force to overwrite it)" in out.stderr
    assert page.read_text() == "a page I edited by hand"
    out = run_demo("--lab", "1", "--html", str(page), "--force")
    assert out.returncode == 0 and page.read_text().startswith("<!DOCTYPE html>")


def test_html_to_standard_output_is_the_page_alone():
    out = run_demo("--lab", "1", "--html", "-")
    assert out.returncode == 0 and out.stdout.startswith("<!DOCTYPE html>")
    assert out.stdout.rstrip().endswith("</html>") and out.stderr == "wrote standard output\n"
