"""The handouts cannot drift from the code: every command they quote runs as written, every
number they promise is printed.

Each document runs once, when a test first needs it, in a fresh copy of the project, its commands
in order (later ones read files the earlier ones wrote). A `python3 solution/....py ARGS` command
runs in this process, with its arguments, folder and a UTF-8 pipe for output (a script that ends in
`if __name__ == "__main__": run_cli(main)` as its imported module's `run_cli(main)`, any other as
`__main__` by runpy), which spares some seventy interpreter starts; there a story of a seed is
generated once (conftest.generated_once), and a lab's run() with the same arguments on the same
story runs once: the demo's run of every lab on the default story serves `python3
solution/demo.py`, the labs run with their defaults, and `demo.py --lab N` (their screens are
rendered afresh each time; test_demo.py checks that a fresh interpreter prints what the session's
run renders). A `python3 -c "import solution...."` runs here too, on fresh copies of the modules it
imports (it may change their settings). The rest (shell pipes, the live gateway, any other `python3
-c`) run in a shell, as written. A command quoted word for word in two documents, that writes no
file, runs once.
"""

import ast
import contextlib
import importlib
import inspect
import io
import os
import re
import runpy
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from unittest import mock

import pytest

from solution import traffic
from solution.cli import run_cli
from solution.labs import LABS

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


IN_PROCESS = re.compile(r"python3 (solution/(?!tools/gateway)[\w/]+\.py)(?: (.*))?")
IN_PROCESS_CODE = re.compile(r'python3 -c "(?:import|from) solution\.[^"]*"')
BESIDE = re.compile(r"python3 solution/tools/gateway\.py ")    # seconds of waiting, no file
WRITES = re.compile(r"--out|--html|--prom|>")         # a command that leaves a file behind


_lab_runs: dict = {}                   # (lab, its run()'s arguments) -> the run's result


def lab_run_key(module, run, args: tuple, kwargs: dict):
    """The memo's key of one call of a lab's run(): its arguments as run() binds them (the
    story as the tuple of its requests), or None when one of them cannot be a key."""
    bound = inspect.signature(run).bind(*args, **kwargs)
    bound.apply_defaults()
    arguments = dict(bound.arguments)
    requests, story = arguments["requests"], ("the story of", arguments["seed"],
                                              arguments.get("scenario"))
    if requests is None or tuple(requests) == tuple(traffic.generate(seed=story[1], **(
            {"scenario": story[2]} if story[2] is not None else {}))):
        arguments["requests"] = story          # run() generates the seed's story when given none
    else:
        arguments["requests"] = tuple(requests)
    key = (module.__name__, tuple(sorted(arguments.items())))
    try:
        hash(key)
    except TypeError:
        return None
    return key


def run_once(module):
    """A lab's run(), each set of arguments run once for the session."""
    real = module.run

    def run(*args, **kwargs):
        key = lab_run_key(module, real, args, kwargs)
        if key is None:
            return real(*args, **kwargs)
        if key not in _lab_runs:
            _lab_runs[key] = real(*args, **kwargs)
        return _lab_runs[key]
    return run


GUARD = 'if __name__ == "__main__":\n    run_cli(main)\n'


def ends_in_the_guard(script: Path) -> bool:
    """The script ends in `if __name__ == "__main__": run_cli(main)`: running it as a command is
    calling run_cli(main) (so its module, imported once, can run it: a lesson's run() the memo
    serves, a tool's two thousand lines compiled once)."""
    return script.read_text(encoding="utf-8").endswith("\n\n" + GUARD)


def run_script(copy: Path, command: str) -> subprocess.CompletedProcess:
    """`python3 solution/X.py ARGS`, run as __main__ in this process, in the copy's folder."""
    script, args = IN_PROCESS.fullmatch(command).groups()

    def run() -> None:
        if ends_in_the_guard(copy / script):       # what the guard runs, on the module's main()
            run_cli(importlib.import_module(script.removesuffix(".py").replace("/", ".")).main)
        else:
            runpy.run_path(str(copy / script), run_name="__main__")
    return in_process(copy, command, [script, *shlex.split(args or "")], run)


def run_code(copy: Path, command: str) -> subprocess.CompletedProcess:
    """`python3 -c "import solution.X ..."`, in this process: the modules the code imports are
    loaded afresh for it (it may change their settings) and put back after."""
    code = shlex.split(command)[2]
    tree = ast.parse(code)
    named = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
             for alias in node.names}
    named |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}

    def run() -> None:
        saved = {name: sys.modules.pop(name) for name in named if name in sys.modules}
        try:
            exec(compile(code, "<string>", "exec"), {"__name__": "__main__"})
        finally:
            for name in named:
                sys.modules.pop(name, None)
            sys.modules.update(saved)
    return in_process(copy, command, ["-c"], run)


def in_process(copy: Path, command: str, argv: list[str], run) -> subprocess.CompletedProcess:
    """Run a command's body in this process as the command would run: its arguments, the copy's
    folder, a UTF-8 pipe for each output, its exit status; every lab's run() through run_once."""
    out, err = (io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="\n") for _ in "12")
    saved = sys.argv, list(sys.path), os.getcwd()
    sys.argv = argv
    os.chdir(copy)
    status = 0
    try:
        with contextlib.ExitStack() as stack:
            stack.enter_context(contextlib.redirect_stdout(out))
            stack.enter_context(contextlib.redirect_stderr(err))
            for lab in LABS:
                module = lab.lesson()
                stack.enter_context(mock.patch.object(module, "run", run_once(module)))
            run()
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else (exc.code is not None)
    except Exception as exc:                                  # noqa: BLE001 - reported as a failure
        status, _ = 1, err.write(f"Traceback (in process): {type(exc).__name__}: {exc}\n")
    finally:
        sys.argv, sys.path[:], _ = saved[0], saved[1], os.chdir(saved[2])
    out.flush(), err.flush()
    return subprocess.CompletedProcess(command, status, out.buffer.getvalue().decode("utf-8"),
                                       err.buffer.getvalue().decode("utf-8"))


_runs: dict[Path, dict] = {}
_once: dict[str, subprocess.CompletedProcess] = {}        # commands that write nothing, by text


def run_document(doc: Path) -> dict[str, subprocess.CompletedProcess]:
    """Run a document's commands in order, as a newcomer would, in a fresh copy of the project.
    A gateway command (it runs for seconds by the clock, and writes nothing) runs beside the ones
    after it, and is waited for at the end."""
    results, beside = {}, {}
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
            if command in _once:
                results[command] = _once[command]
                continue
            if IN_PROCESS.fullmatch(command):
                results[command] = run_script(copy, command)
            elif IN_PROCESS_CODE.fullmatch(command):
                results[command] = run_code(copy, command)
            else:
                started = subprocess.Popen(command, shell=True, cwd=copy, env=env, text=True,
                                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                           executable="/bin/bash")
                beside[command] = started
                if not BESIDE.match(command) or WRITES.search(command):
                    results[command] = finished(beside.pop(command))
            if command in results and not WRITES.search(command):
                _once[command] = results[command]
        for command, started in beside.items():
            results[command] = _once[command] = finished(started)
    return results


def finished(started: subprocess.Popen) -> subprocess.CompletedProcess:
    """A shell command's result, once it ends (or its two minutes are up)."""
    try:
        out, err = started.communicate(timeout=120)
    except subprocess.TimeoutExpired as exc:
        started.kill()
        started.communicate()
        return subprocess.CompletedProcess(started.args, -1, "", f"timed out: {exc}")
    return subprocess.CompletedProcess(started.args, started.returncode, out, err)


def results_of(doc: Path, demo_outcome: dict | None = None) -> dict:
    """A document's results, run once; the session's demo run (when given) joins the memo of
    lab runs first, under the arguments the demo gave each lab."""
    if demo_outcome is not None and not _lab_runs:
        from solution import demo
        for module, result in demo_outcome["labs"].values():
            extra = {"composite": demo.composite_alert} if module.__name__.endswith("dashboard") else {}
            key = lab_run_key(module, module.run, (), {"requests": demo_outcome["requests"],
                                           "seed": demo_outcome["seed"], **extra})
            _lab_runs[key] = result
    if doc not in _runs:
        _runs[doc] = run_document(doc)
    return _runs[doc]


def test_the_checks_find_commands_and_numbers(tmp_path):
    sample = tmp_path / "lab9_x.md"
    sample.write_text("## Steps\n```sh\npython3 a.py\n# note\n\npython3 b.py --x 1\n```\n"
                      "```text\npython3 serve.py\n```\n## What to look for\nthe **41.2 %** "
                      "and **the word**\n## Questions\n**9**\n")
    assert commands(sample) == ["python3 a.py", "python3 b.py --x 1"]
    assert bold_numbers(sample) == ["41.2 %"]


def test_there_is_one_handout_per_lab():
    assert [p.stem for p in HANDOUTS] == [lab.name for lab in LABS]


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
    assert sorted(slots) == [f"lab{lab.number}" for lab in LABS], slots
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
def test_every_quoted_command_runs_as_written(doc, command, demo_outcome):
    out = results_of(doc, demo_outcome)[command]
    assert out.returncode == 0, f"{doc.name}: `{command}` exited {out.returncode}:\n{out.stderr[-2000:]}"
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("handout", HANDOUTS, ids=lambda p: p.name)
def test_every_number_the_handout_promises_is_printed(handout, demo_outcome):
    # labs/README.md runs every lab with its defaults: reuse that run
    out = results_of(ROOT / "labs" / "README.md", demo_outcome)[f"python3 solution/{handout.stem}.py"]
    assert out.returncode == 0, out.stderr
    numbers = bold_numbers(handout)
    assert numbers, f"{handout.name} promises no number in 'What to look for'"
    missing = [n for n in numbers if n not in out.stdout]
    assert not missing, f"{handout.name} promises {missing}, which {handout.stem}.py does not print"


# ── the reading path: a ten-minute core named by function, the rest under "go deeper" ─────────────

READING_PACE = 20           # lines of code a minute: the ten-minute path holds about 200 of them
CORE_LINES = 200


def definitions(path: Path) -> dict[str, tuple[int, int]]:
    """Every top-level function and class of a module, and every method as Class.method:
    name -> (first line, decorators included; last line)."""
    found = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            found[node.name] = (min([node.lineno] + [d.lineno for d in node.decorator_list]),
                                node.end_lineno)
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    found[f"{node.name}.{item.name}"] = (item.lineno, item.end_lineno)
    return found


def reading_list(handout: Path, label: str) -> tuple[str, list[tuple[str, str]]]:
    """The paragraph that opens with **label...** in the handout: its bold opening, and the
    (module file, name) pairs it lists, each name under the last `solution/....py` before it."""
    text = handout.read_text(encoding="utf-8")
    match = re.search(rf"^\*\*({re.escape(label)}[^*]*)\*\*(.*?)(?:\n\n|\Z)", text, re.M | re.S)
    assert match, f"{handout.name} has no paragraph opening with **{label}**"
    listed, module = [], None
    for token in re.findall(r"`([^`]+)`", match.group(2)):
        if re.fullmatch(r"solution/[\w/]+\.py", token):
            module = token
        else:
            assert module, f"{handout.name}: `{token}` is named before any module"
            listed.append((module, token))
    return match.group(1), listed


def check_listed(handout: Path, listed: list[tuple[str, str]]) -> int:
    """Every (module, name) exists, the names of each module come in its own order; the lines of
    code they hold, in all."""
    lines, last = 0, {}
    for module, name in listed:
        found = definitions(ROOT / module)
        assert name in found, f"{handout.name}: {module} has no `{name}`"
        first, end = found[name]
        assert first > last.get(module, 0), f"{handout.name}: `{name}` is out of {module}'s order"
        last[module] = end
        lines += end - first + 1
    return lines


def test_the_reading_checks_find_names_in_their_modules_and_their_order(tmp_path):
    sample = tmp_path / "lab9_x.md"
    sample.write_text("**Read this first, ten minutes.** `solution/slo.py`: `burn_rate`, "
                      "`burn_rate_threshold`; `solution/lab1_logs.py`: `TailSamplingHandler.emit`.\n\n"
                      "**Go deeper, about 5 minutes.** `solution/slo.py`: `multiwindow`, `burn_rate`.\n")
    bold, core = reading_list(sample, "Read this first")
    assert bold == "Read this first, ten minutes." and len(core) == 3
    assert 0 < check_listed(sample, core) < 100
    _, deeper = reading_list(sample, "Go deeper")
    with pytest.raises(AssertionError, match="out of solution/slo.py's order"):
        check_listed(sample, deeper)
    with pytest.raises(AssertionError, match="has no `nothing`"):
        check_listed(sample, [("solution/slo.py", "nothing")])


@pytest.mark.parametrize("handout", HANDOUTS, ids=lambda p: p.name)
def test_the_ten_minute_path_names_functions_in_order_and_holds_about_200_lines(handout):
    bold, core = reading_list(handout, "The ten-minute path")
    lesson = f"solution/{handout.stem}.py"
    assert (lesson, "run") in core, f"{handout.name}: the path reaches run()"
    lines = check_listed(handout, core)
    assert lines <= CORE_LINES, f"{handout.name}: the ten-minute path holds {lines} lines of code"


@pytest.mark.parametrize("handout", HANDOUTS, ids=lambda p: p.name)
def test_everything_else_is_under_go_deeper_with_its_own_estimate(handout):
    _, core = reading_list(handout, "The ten-minute path")
    bold, deeper = reading_list(handout, "Go deeper")
    said = re.fullmatch(r"Go deeper, about (\d+) minutes[.:]", bold)
    assert said, f"{handout.name}: 'Go deeper' says no estimate in minutes"
    lines = check_listed(handout, deeper)
    minutes = int(said.group(1))
    assert lines / (2 * READING_PACE) <= minutes <= lines / (READING_PACE / 2) + 5, \
        f"{handout.name}: {lines} lines to go deeper is not about {minutes} minutes"
    lesson = f"solution/{handout.stem}.py"
    public = [n for n in definitions(ROOT / lesson) if not n.startswith("_") and "." not in n]
    named = {name.split(".")[0] for module, name in core + deeper if module == lesson}
    assert set(public) <= named, f"{handout.name}: {sorted(set(public) - named)} named nowhere"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_no_document_points_into_the_code_by_line_number(doc):
    text = doc.read_text(encoding="utf-8")
    pointer = (r"`\w+(\.\w+)?(\(\))?` \(\d+\)"             # `run` (260)
               r"|\.py`?:\d+"                                # lab2_dashboard.py:260
               r"|\.py`?, \d+ lines"                          # `solution/x.py`, 450 lines
               r"|\blines? \d+(-\d+)? (of|in) `?solution/")   # line 260 of solution/x.py
    assert not re.search(pointer, text), doc.name


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
