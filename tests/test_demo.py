"""The demo: every lab on one story, one screen each, the same bytes on every run."""

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from solution import demo
from solution.labs import LABS

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "solution" / "demo.py"


def run_demo(*args: str, cwd: Path = ROOT) -> tuple[int, str, str]:
    """The demo's main() in this process, as the command would run it into a pipe, UTF-8:
    (status, stdout, stderr)."""
    out, err = (io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="\n") for _ in "12")
    here = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = demo.main(list(args))
            except SystemExit as exc:                   # argparse refuses a flag
                status = exc.code
    finally:
        os.chdir(here)
    out.flush(), err.flush()
    return status, out.buffer.getvalue().decode("utf-8"), err.buffer.getvalue().decode("utf-8")


@pytest.fixture(scope="module")
def demo_output(demo_outcome) -> str:
    """What the whole demo prints into a UTF-8 pipe (the session's one run of it, rendered as
    main() renders it, whatever terminal pytest itself writes to)."""
    pipe = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with contextlib.redirect_stdout(pipe):
        text = demo.render(demo_outcome)
    return text + "\n"


@pytest.fixture(scope="module")
def show(demo_outcome, tmp_path_factory) -> Path:
    """A folder holding the demo's page, as for "Show": `--html show.html`."""
    folder = tmp_path_factory.mktemp("show")
    (folder / "show.html").write_text(demo.render_html(demo_outcome), encoding="utf-8")
    return folder


def test_the_demo_prints_identical_bytes_whatever_the_hash_seed(demo_output, show, tmp_path):
    # the one end-to-end run: a fresh interpreter, another hash seed, the same bytes as the
    # session's run, on the terminal and in the page (the story's summary and every lab's
    # report: the labs' own tests run their scripts in a subprocess only for --help)
    env = dict(os.environ, PYTHONHASHSEED="987654")
    env.pop("NO_COLOR", None)
    again = subprocess.run([sys.executable, str(DEMO), "--html", "show.html"], cwd=tmp_path,
                           env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and again.stdout == demo_output, again.stderr
    assert again.stderr == "wrote show.html\n"
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
    status, out, err = run_demo("--lab", "3", "--seed", "3")
    assert status == 0, err
    assert f"Lab 3 of {len(LABS)}" in out and f"Lab 2 of {len(LABS)}" not in out
    volume = lambda text: next(line for line in text.splitlines() if "requests in" in line)  # noqa: E731
    assert volume(out) != volume(demo_output)


def test_bad_flags_are_refused_with_the_reason():
    status, _, err = run_demo("--lab", "9")
    assert status == 2 and "invalid choice" in err and "Traceback" not in err
    status, _, err = run_demo("--seed", "-1")
    assert status == 2 and "a seed is a whole number from 0" in err


def test_the_html_page_is_self_contained_and_holds_every_labs_charts(demo_output, show, html_tags):
    assert "wrote" not in demo_output                  # status to stderr: stdout is the lesson
    tags, external = html_tags((show / "show.html").read_text(encoding="utf-8"))
    assert "script" not in tags and not external
    assert tags.count("h2") >= 7 and tags.count("svg") >= 4


def test_an_unwritable_html_path_is_a_clear_error(tmp_path):
    status, _, err = run_demo("--lab", "5", "--html", str(tmp_path / "missing" / "show.html"))
    assert status == 2 and "cannot write" in err and "Traceback" not in err


def test_the_show_page_is_not_overwritten_unasked(tmp_path):
    page = tmp_path / "show.html"
    page.write_text("a page I edited by hand")
    status, _, err = run_demo("--lab", "5", "--html", str(page))
    assert status == 2 and "exists (add --force to overwrite it)" in err
    assert page.read_text() == "a page I edited by hand"
    status, _, _ = run_demo("--lab", "5", "--html", str(page), "--force")
    assert status == 0 and page.read_text().startswith("<!DOCTYPE html>")


def test_html_to_standard_output_is_the_page_alone():
    status, out, err = run_demo("--lab", "5", "--html", "-")
    assert status == 0 and out.startswith("<!DOCTYPE html>")
    assert out.rstrip().endswith("</html>") and err == "wrote standard output\n"
