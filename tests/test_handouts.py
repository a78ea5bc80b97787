"""The handouts cannot drift from the code: every command they quote runs as written, every
number they promise is printed.

The commands are subprocesses, and there are many: they start in the background as soon as the
tests are collected (see conftest.py), one document per worker, each document in its own copy of
the project, its commands in order (later ones read files the earlier ones wrote).
"""

import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HANDOUTS = sorted((ROOT / "labs").glob("lab*_*.md"))
DOCS = [ROOT / "README.md", ROOT / "labs" / "README.md", *HANDOUTS]


def commands(path: Path) -> list[str]:
    """Every line of every ```sh block: the commands a learner is told to run."""
    return commands_in(path.read_text(encoding="utf-8"))


def commands_in(text: str) -> list[str]:
    blocks = re.findall(r"^```sh\n(.*?)^```", text, re.M | re.S)
    return [line.strip() for block in blocks for line in block.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def bold_numbers(path: Path) -> list[str]:
    """The bold tokens with a digit in the handout's 'What to look for' section."""
    text = path.read_text(encoding="utf-8")
    match = re.search(r"^## What to look for\n(.*?)(?=^## )", text, re.M | re.S)
    assert match, f"{path.name} has no '## What to look for' section"
    return [t for t in re.findall(r"\*\*(.+?)\*\*", match.group(1)) if re.search(r"\d", t)]


def run_document(doc: Path) -> dict[str, subprocess.CompletedProcess]:
    """Run a document's commands in order, as a newcomer would, in a fresh copy of the project."""
    results = {}
    with tempfile.TemporaryDirectory(prefix="opslab-newcomer-") as tmp:
        copy = Path(tmp) / "opslab"
        shutil.copytree(ROOT, copy, ignore=lambda folder, names: [   # what a run leaves behind,
            n for n in names if n in (".git", "__pycache__") or         # but not the fixtures
            n.endswith((".jsonl", ".html", ".prom")) and "fixtures" not in folder])
        env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "PYTHONHASHSEED": "0",
               "HOME": tmp, "LANG": "C.UTF-8"}
        for command in commands(doc):
            if "pytest" in command:          # the grader runs the tests: not from inside them
                continue
            try:
                results[command] = subprocess.run(command, shell=True, cwd=copy, env=env,
                                                  capture_output=True, text=True, timeout=120,
                                                  executable="/bin/bash")
            except subprocess.TimeoutExpired as exc:
                results[command] = subprocess.CompletedProcess(command, -1, "", f"timed out: {exc}")
    return results


_pool: ThreadPoolExecutor | None = None
_runs: dict[Path, Future] = {}


def start_in_background() -> None:
    """Start every document's commands on worker threads (called once tests are collected)."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="handouts")
        # the longest documents first, so that they do not finish last
        for doc in sorted(DOCS, key=lambda d: -len(commands(d))):
            _runs[doc] = _pool.submit(run_document, doc)


def results_of(doc: Path) -> dict[str, subprocess.CompletedProcess]:
    start_in_background()
    return _runs[doc].result()


def test_the_checks_find_commands_and_numbers(tmp_path):
    sample = tmp_path / "lab9_x.md"
    sample.write_text("## Steps\n```sh\npython3 a.py\n# note\n\npython3 b.py --x 1\n```\n"
                      "```text\npython3 serve.py\n```\n## What to look for\nthe **41.2 %** "
                      "and **the word**\n## Questions\n**9**\n")
    assert commands(sample) == ["python3 a.py", "python3 b.py --x 1"]
    assert bold_numbers(sample) == ["41.2 %"]


def test_there_is_one_handout_per_lab():
    assert [p.name.split("_")[0] for p in HANDOUTS] == [f"lab{n}" for n in range(1, 6)]


@pytest.mark.parametrize("handout", HANDOUTS, ids=lambda p: p.name)
def test_every_handout_has_the_parts_of_a_handout(handout):
    core, deeper = core_and_deeper(handout)
    for part in ("Goal", "Extends", "Before you start", "Steps", "What to look for"):
        assert re.search(rf"^(## {part}|\*\*{part}\.?\*\*)", core, re.M), f"{handout.name}: no {part}"
    for part in ("Read the lesson", "Questions", "Try this"):
        assert re.search(rf"^### {part}$", deeper, re.M), f"{handout.name}: no {part} under Going deeper"
    assert re.search(r"\bM\d\d\b", core), f"{handout.name} names no module it extends"


def core_and_deeper(handout: Path) -> tuple[str, str]:
    """A handout's core path (up to '## Going deeper') and the rest."""
    text = handout.read_text(encoding="utf-8")
    assert text.count("\n## Going deeper\n") == 1, f"{handout.name} marks no 'Going deeper'"
    core, deeper = text.split("\n## Going deeper\n")
    return core, deeper


def run_of_show() -> dict[str, int]:
    """Minutes the run of show (labs/README.md) gives each lab: the gap to the next row."""
    text = (ROOT / "labs" / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\d+):(\d\d) \|[^|]*\|\s*(\[lab\d)?", text, re.M)
    starts = [(int(h) * 60 + int(m), (link or "")[1:]) for h, m, link in rows]
    return {lab: nxt - start for (start, lab), (nxt, _) in zip(starts, starts[1:]) if lab}


# A learner reads a handout at about 200 words a minute, and spends about half a minute on each
# command (type it, run it, look at its screen): what the core path may ask in its slot.
WORDS_A_MINUTE, MINUTES_A_COMMAND = 200, 0.5


def test_the_run_of_show_gives_every_lab_a_slot_and_lasts_about_fifty_minutes():
    slots = run_of_show()
    assert sorted(slots) == [f"lab{n}" for n in range(1, 6)], slots
    assert all(6 <= minutes <= 10 for minutes in slots.values()), slots


@pytest.mark.parametrize("handout", HANDOUTS, ids=lambda p: p.name)
def test_the_core_path_fits_the_labs_slot_in_the_run_of_show(handout):
    core, _ = core_and_deeper(handout)
    slot = run_of_show()[handout.stem.split("_")[0]]
    said = re.search(r"^\*\*Core path, about (\d+) minutes:\*\*", core, re.M)
    assert said, f"{handout.name} does not say how long its core path takes"
    assert int(said.group(1)) == slot, f"{handout.name} says {said.group(1)} min, the run of show {slot}"
    prose = re.sub(r"^```.*?^```", "", core, flags=re.M | re.S)
    estimate = len(prose.split()) / WORDS_A_MINUTE + MINUTES_A_COMMAND * len(commands_in(core))
    assert estimate <= slot, f"{handout.name}: the core path takes about {estimate:.1f} min, not {slot}"


@pytest.mark.parametrize("handout", HANDOUTS, ids=lambda p: p.name)
def test_every_name_a_handout_points_into_exists_in_its_module(handout):
    import importlib
    text = " ".join(handout.read_text(encoding="utf-8").split())
    pointed = re.findall(r"`solution/(\w+)\.py` \(([^)]*)\)", text)
    assert pointed, f"{handout.name} points into no module"
    for module, names in pointed:
        found = importlib.import_module(f"solution.{module}")
        missing = [n for n in re.findall(r"`(\w+)`", names) if not hasattr(found, n)]
        assert not missing, f"{handout.name}: solution/{module}.py has no {missing}"


def test_the_challenge_is_in_the_dashboard_handout_with_its_grading_command():
    text = (ROOT / "labs" / "lab2_dashboard.md").read_text(encoding="utf-8")
    assert "starters/extend.py" in text
    assert "python3 -m pytest tests/test_extend.py --target starters" in text


@pytest.mark.parametrize("doc,command", [(d, c) for d in DOCS for c in commands(d)
                                         if "pytest" not in c],
                         ids=lambda v: str(v.relative_to(ROOT)) if isinstance(v, Path) else v[:60])
def test_every_quoted_command_runs_as_written(doc, command):
    out = results_of(doc)[command]
    assert out.returncode == 0, f"{doc.name}: `{command}` exited {out.returncode}:\n{out.stderr[-2000:]}"
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("handout", HANDOUTS, ids=lambda p: p.name)
def test_every_number_the_handout_promises_is_printed(handout):
    # labs/README.md runs every lab with its defaults: reuse that run
    out = results_of(ROOT / "labs" / "README.md")[f"python3 solution/{handout.stem}.py"]
    assert out.returncode == 0, out.stderr
    numbers = bold_numbers(handout)
    assert numbers, f"{handout.name} promises no number in 'What to look for'"
    missing = [n for n in numbers if n not in out.stdout]
    assert not missing, f"{handout.name} promises {missing}, which {handout.stem}.py does not print"


@pytest.mark.parametrize("handout", HANDOUTS, ids=lambda p: p.name)
def test_the_reading_path_names_the_lessons_functions_in_order_at_their_lines(handout):
    import ast
    text = " ".join(handout.read_text(encoding="utf-8").split())
    match = re.search(r"\*\*Read this\.\*\* `(solution/lab\d_\w+\.py)`, (\d+) lines(.*?)\. ", text)
    assert match, f"{handout.name} has no '**Read this.**' reading path"
    path, lines, listed = ROOT / match.group(1), int(match.group(2)), match.group(3)
    assert path.stem == handout.stem
    source = path.read_text(encoding="utf-8")
    assert lines == len(source.splitlines()) <= 450, "the handout's line count is the file's"
    starts = {node.name: node.lineno for node in ast.parse(source).body
              if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    named = [(name, int(line)) for name, line in re.findall(r"`(\w+)` \((\d+)\)", listed)]
    assert {"run", "report", "main"} <= set(dict(named)), "the path reaches run, report, main"
    for name, line in named:
        assert starts.get(name) == line, f"{handout.name}: {name} starts at {starts.get(name)}, not {line}"
    assert [line for _, line in named] == sorted(line for _, line in named), "not in reading order"
    public = [n for n in starts if not n.startswith("_")]
    assert [n for n, _ in named] == public, "every public function and class, none left out"


def test_every_function_a_handout_places_in_a_file_is_defined_there():
    """A handout that says `name` in `path` names a function or class that `path` defines, at
    its top level or as a method (labs/lab2_dashboard.md once placed pages_from in the lab)."""
    import ast
    for handout in sorted((ROOT / "labs").glob("lab*.md")):
        text = " ".join(handout.read_text(encoding="utf-8").split())
        for names, path in re.findall(r"((?:`\w+`(?:, | and )?)+) in `(solution/[\w/]+\.py)`", text):
            tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
            defined = {n.name for n in ast.walk(tree)
                       if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
            for name in re.findall(r"`(\w+)`", names):
                assert name in defined, f"{handout.name}: {name} is not in {path}"
