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
# The starter as shipped: the grader's pristine copy (starters/extend.py is the student's to edit,
# and tests/test_grader.py checks that the two agree)
STARTER = ROOT / "tests" / "fixtures" / "starter_extend.py"
CODE = sorted([p for p in (ROOT / "solution").rglob("*.py") if "__pycache__" not in p.parts]
              + [STARTER])
OWN = {"solution", "starters"} | {p.stem for p in CODE}


def module_name(path: Path) -> str:
    if path == STARTER:
        return "starters.extend"
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
                                        if p != STARTER and p.stem != "__init__"))
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


# ── plain lessons: no squeeze, records by keyword, no tool in a lesson's tests ────────────────────

LESSON_FILES = [ROOT / "solution" / f"{lab.name}.py" for lab in LABS]
LESSON_TESTS = [ROOT / "tests" / f"test_{lab.name}.py" for lab in LABS]
MAX_LINE = 100
MAX_LESSON_LINES = 450          # a lesson read in one sitting (DESIGN.md)
MAX_POSITIONAL_FIELDS = 3       # a record of more fields is built with keywords


def is_boolean(node: ast.AST) -> bool:
    """An expression that is a bool by its form: a comparison, and/or, not, bool(...)."""
    return (isinstance(node, (ast.Compare, ast.BoolOp))
            or isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)
            or isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "bool")


def squeezes(source: str) -> list[str]:
    """Where a lesson squeezes: arithmetic on booleans (an operand that is a bool by its form, a
    sum of bools), an assigned lambda, a conditional expression inside another."""
    found = []
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.BinOp) and (is_boolean(node.left) or is_boolean(node.right)) \
                or isinstance(node, ast.AugAssign) and is_boolean(node.value):
            found.append(f"line {line}: arithmetic on a boolean")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id == "sum" and node.args \
                and isinstance(node.args[0], (ast.GeneratorExp, ast.ListComp)) \
                and is_boolean(node.args[0].elt):
            found.append(f"line {line}: a sum of booleans")
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Lambda):
            found.append(f"line {line}: an assigned lambda")
        elif isinstance(node, ast.IfExp) and any(
                isinstance(inner, ast.IfExp) for part in (node.test, node.body, node.orelse)
                for inner in ast.walk(part)):
            found.append(f"line {line}: a conditional expression inside another")
    return found


def records(paths) -> dict[str, int]:
    """Every record class (a dataclass or a NamedTuple) in these files: name -> most fields of a
    record of that name (several lessons have their own Result)."""
    fields: dict[str, int] = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ClassDef):
                continue
            marks = [ast.unparse(d) for d in node.decorator_list] + [ast.unparse(b) for b in node.bases]
            if any(m.split("(")[0].endswith(("dataclass", "NamedTuple")) for m in marks):
                count = sum(1 for item in node.body if isinstance(item, ast.AnnAssign)
                            and "ClassVar" not in ast.unparse(item.annotation))
                fields[node.name] = max(count, fields.get(node.name, 0))
    return fields


def positional_records(source: str, known: dict[str, int]) -> list[str]:
    """Where a record of ours of more than three fields is built with positional arguments: a
    class of this file or imported from ours, or `module.Name` of a module of ours."""
    tree = ast.parse(source)
    names = {node.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in OWN:
            for alias in node.names:
                (modules if alias.name in OWN else names).add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            modules |= {alias.asname or alias.name for alias in node.names
                        if alias.name.split(".")[0] in OWN}
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        func, name = node.func, None
        if isinstance(func, ast.Name) and func.id in names:
            name = func.id
        elif isinstance(func, ast.Attribute) and ast.unparse(func.value) in modules:
            name = func.attr
        if known.get(name, 0) > MAX_POSITIONAL_FIELDS:
            found.append(f"line {node.lineno}: {name}(...) with {len(node.args)} positional")
    return found


def test_the_hygiene_checks_see_what_they_look_for():
    source = ("from dataclasses import dataclass\n@dataclass\nclass R:\n    a: int\n    b: int\n"
              "    c: int\n    d: int\nr = R(1, 2, c=3, d=4)\nok = R(a=1, b=2, c=3, d=4)\n"
              "x = ['a'] * (1 < 2)\ny = f'{t}, ' * bool(t)\nn = sum(v > 1 for v in z)\n"
              "f = lambda v: v\nw = 1 if a else 2 if b else 3\nfine = [1 if a else 2]\n")
    assert positional_records(source, {"R": 4}) == ["line 8: R(...) with 2 positional"]
    assert positional_records("from urllib.request import Request\nRequest(url)\n"
                              "import solution.traffic as t\nt.Request(1, 2, 3, 4)\n",
                              {"Request": 20}) == ["line 4: Request(...) with 4 positional"]
    assert sorted(s.split(": ")[1] for s in squeezes(source)) == [
        "a conditional expression inside another", "a sum of booleans", "an assigned lambda",
        "arithmetic on a boolean", "arithmetic on a boolean"]


@pytest.mark.parametrize("path", LESSON_FILES, ids=lambda p: p.name)
def test_a_lesson_has_lines_of_at_most_100_characters_and_no_squeeze(path):
    source = path.read_text(encoding="utf-8")
    assert len(source.splitlines()) <= MAX_LESSON_LINES, f"{path.name} is over {MAX_LESSON_LINES}"
    long = [n for n, line in enumerate(source.splitlines(), 1) if len(line) > MAX_LINE]
    assert not long, f"{path.name}: lines over {MAX_LINE} characters: {long}"
    assert not squeezes(source), f"{path.name}: {squeezes(source)}"


@pytest.fixture(scope="module")
def known_records() -> dict[str, int]:
    """The records of the whole code, read once for every file's check."""
    return records(CODE)


@pytest.mark.parametrize("path", [p for p in CODE if p.parts[-2] != "starters"],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_a_record_of_more_than_three_fields_is_built_with_keywords(path, known_records):
    known = known_records
    assert {"Result", "Window"} <= {n for n, count in known.items() if count > 3}
    bad = positional_records(path.read_text(encoding="utf-8"), known)
    assert not bad, f"{path.relative_to(ROOT)}: {bad}"


@pytest.mark.parametrize("path", LESSON_TESTS, ids=lambda p: p.name)
def test_a_lessons_tests_import_no_tool(path):
    imported = imported_modules(path.read_text(encoding="utf-8"), "tests")
    tools = sorted(m for m in imported if m.startswith("solution.tools"))
    assert not tools, f"{path.name} imports {tools}: a tool's checks go in tests/test_tools_*.py"
