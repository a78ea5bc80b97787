"""Project promises: standard library only, nothing shadows it, CI runs the README's command."""

import ast
import doctest
import importlib
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CODE = sorted(p for d in ("solution", "starters") for p in (ROOT / d).rglob("*.py"))
OWN = {"solution", "starters"} | {p.stem for p in CODE}


def imported_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_checker_sees_imports_and_would_catch_a_third_party_one(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import json, numpy.linalg\nfrom requests import get\nfrom . import x\n")
    assert imported_names(sample) == {"json", "numpy", "requests"}


@pytest.mark.parametrize("path", CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_only_the_standard_library_and_our_own_modules_are_imported(path):
    foreign = imported_names(path) - set(sys.stdlib_module_names) - OWN - {"__future__"}
    assert not foreign, f"{path.name} imports {sorted(foreign)}"


def test_no_file_shadows_a_standard_library_module():
    shadows = [p.name for p in CODE if p.stem in sys.stdlib_module_names]
    assert CODE and not shadows


def test_ci_runs_the_readme_test_command_word_for_word():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = [line for line in ci.splitlines() if "pytest" in line and not line.startswith("#")]
    assert len(command) == 1
    assert command[0].strip() in readme


def test_pyproject_asks_for_python_3_10_and_no_runtime_dependency():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'requires-python\s*=\s*">=3\.10"', text)
    assert re.search(r"dependencies\s*=\s*\[\]", text)
    assert re.search(r'test\s*=\s*\["pytest"\]', text)


@pytest.mark.parametrize("name", sorted(p.stem for p in (ROOT / "solution").glob("*.py")
                                        if p.stem != "__init__"))
def test_docstring_examples_hold(name):
    module = importlib.import_module(f"solution.{name}")
    assert module.__doc__, f"solution/{name}.py has no module docstring"
    failures, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert failures == 0
