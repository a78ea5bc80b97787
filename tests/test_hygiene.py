"""Project promises: standard library only, nothing shadows it, CI runs the README's command."""

import ast
import doctest
import importlib
import re
import sys
from pathlib import Path

import pytest

from solution.labs import LABS

ROOT = Path(__file__).resolve().parents[1]
CODE = sorted(p for d in ("solution", "starters") for p in (ROOT / d).rglob("*.py")
              if "__pycache__" not in p.parts)
OWN = {"solution", "starters"} | {p.stem for p in CODE}


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


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


@pytest.mark.parametrize("name", sorted(module_name(p) for p in CODE
                                        if p.parts[-2:][0] != "starters" and p.stem != "__init__"))
def test_docstring_examples_hold(name):
    module = importlib.import_module(name)
    assert module.__doc__, f"{name} has no module docstring"
    failures, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert failures == 0


# ── the house: floors, and no circle of imports ─────────────────────────────────────────────────

def imported_modules(source: str, package: str) -> set[str]:
    """Every module a source imports, at the top or inside a function, relative ones resolved."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            found |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return found


def import_edges(path: Path) -> set[str]:
    """The modules of ours a file imports (packages are no floor: only modules count)."""
    name = module_name(path)
    ours = {module_name(p) for p in CODE if p.name != "__init__.py"}
    found = imported_modules(path.read_text(encoding="utf-8"), name.rsplit(".", 1)[0])
    return {m for m in found if m in ours and m != name}


GRAPH = {module_name(p): import_edges(p) for p in CODE}
LESSONS = [lab.module for lab in LABS]


def test_the_graph_checker_sees_lazy_and_relative_imports():
    source = ("import solution.traffic\nfrom . import numeric\nfrom .lab1_logs import run\n"
              "def main():\n    from solution.extend import composite_alert\n")
    found = imported_modules(source, "solution")
    assert {"solution.traffic", "solution.numeric", "solution.lab1_logs",
            "solution.extend"} <= found
    assert "solution.extend" in GRAPH["solution.demo"]        # the demo passes the composite in


def test_there_is_no_circle_of_imports_anywhere():
    state: dict[str, int] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(GRAPH[module]):
            assert state.get(target) != 1, " -> ".join(path + [target])
            if target not in state:
                visit(target, path + [target])
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])


@pytest.mark.parametrize("lesson", LESSONS)
def test_a_lesson_imports_no_other_lab_and_no_tool(lesson):
    bad = [m for m in GRAPH[lesson] if m in LESSONS or m.startswith("solution.tools")
           or m in ("solution.extend", "solution.challenge", "solution.demo")]
    assert not bad, f"{lesson} imports {bad}"


def test_the_floors_hold_toolbox_below_lessons_below_challenge_below_tools():
    toolbox = {m for m in GRAPH if m.startswith("solution.") and m.count(".") == 1
               and m not in LESSONS and m not in ("solution.extend", "solution.challenge", "solution.demo")}
    for module in toolbox:
        assert not [m for m in GRAPH[module] if m not in toolbox], module
    for module in ("solution.extend", "solution.challenge", "starters.extend"):
        assert not [m for m in GRAPH[module] if m.startswith("solution.tools") or m == "solution.demo"]
