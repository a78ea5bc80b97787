"""The handouts cannot drift from the code: every command they quote runs, every number they
promise is printed."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HANDOUTS = sorted((ROOT / "labs").glob("lab*_*.md"))
DOCS = [ROOT / "labs" / "README.md", ROOT / "README.md", *HANDOUTS]


def commands(path: Path) -> list[str]:
    """Every line of every ```sh block: the commands a learner is told to run."""
    blocks = re.findall(r"^```sh\n(.*?)^```", path.read_text(encoding="utf-8"), re.M | re.S)
    return [line.strip() for block in blocks for line in block.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def bold_numbers(path: Path) -> list[str]:
    """The bold tokens with a digit in the handout's 'What to look for' section."""
    text = path.read_text(encoding="utf-8")
    match = re.search(r"^## What to look for\n(.*?)(?=^## )", text, re.M | re.S)
    assert match, f"{path.name} has no '## What to look for' section"
    return [t for t in re.findall(r"\*\*(.+?)\*\*", match.group(1)) if re.search(r"\d", t)]


def test_the_checks_find_commands_and_numbers(tmp_path):
    sample = tmp_path / "lab9_x.md"
    sample.write_text("## Steps\n```sh\npython3 a.py\n# note\n\npython3 b.py --x 1\n```\n"
                      "```text\npython3 serve.py\n```\n## What to look for\nthe **41.2 %** "
                      "and **the word**\n## Questions\n**9**\n")
    assert commands(sample) == ["python3 a.py", "python3 b.py --x 1"]
    assert bold_numbers(sample) == ["41.2 %"]


def test_there_is_one_handout_per_lab():
    assert [p.name.split("_")[0] for p in HANDOUTS] == [f"lab{n}" for n in range(1, 6)]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A copy of the project, so that commands writing files leave the checkout clean."""
    copy = tmp_path_factory.mktemp("newcomer") / "opslab"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".git", "__pycache__", "*.jsonl",
                                                              "*.html", "*.prom"))
    return copy


def _all_commands() -> list[tuple[str, str]]:
    seen, out = set(), []
    for path in DOCS:
        if path.exists():
            for command in commands(path):
                if command not in seen and "pytest" not in command:
                    seen.add(command)
                    out.append((path.name, command))
    return out


@pytest.mark.parametrize("doc,command", _all_commands(), ids=lambda v: v[:60])
def test_every_quoted_command_runs_as_written(workspace, doc, command):
    out = subprocess.run(command, shell=True, cwd=workspace, capture_output=True, text=True,
                         timeout=120, executable="/bin/bash",
                         env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
                              "PYTHONHASHSEED": "0", "HOME": str(workspace)})
    assert out.returncode == 0, f"{doc}: `{command}` exited {out.returncode}:\n{out.stderr[-2000:]}"
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("handout", HANDOUTS, ids=lambda p: p.name)
def test_every_number_the_handout_promises_is_printed(handout):
    script = ROOT / "solution" / f"{handout.stem}.py"
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    numbers = bold_numbers(handout)
    assert numbers, f"{handout.name} promises no number in 'What to look for'"
    missing = [n for n in numbers if n not in out.stdout]
    assert not missing, f"{handout.name} promises {missing}, which {script.name} does not print"
