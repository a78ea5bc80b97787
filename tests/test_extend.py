"""The challenge's grader: the composite alert of starters/extend.py, solution/extend.py, or any file.

    python3 -m pytest tests/test_extend.py --target starters     your starters/extend.py
    python3 -m pytest tests/test_extend.py --target alice.py     one student's file
    python3 -m pytest tests/test_extend.py -m merging            one part of the contract
    python3 -m tests.grade SUBMISSIONS/                           a whole folder, with points

The contract (starters/extend.py's docstring) has four parts, each worth stated points, and an
optional tier graded apart:

    refusal  10   min_signals < 1 is a ValueError, whatever the input
    merging  50   one page per run of consecutive paging windows, at the contract's times
    signals  20   a page names the signals of its paging windows, once each, in SIGNALS order
    story    20   the default story and other seeds
    further  +10  going further (gap_windows): a bonus, graded apart

Each case (tests/contract.py) is one promise of the contract. The expected pages come from
`oracle`, written from the contract alone (and checked against pages worked by hand), or from lab
2's any-signal alert. A failing case prints at most 12 lines: the smallest input that still fails
(a random case is shrunk to its fewest windows), what the contract expected and what came back.
Each call has a time limit (`LIMIT_S`), so an answer that hangs on some inputs keeps the credit of
the others.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from contract import (CASES, NOT_WRITTEN, PARTS, POINTS, ROOT, Case, loaded_modules,
                      oracle, run_case, same, shape_problem, source_problems)
from solution.paging import Page


@pytest.fixture(scope="module")
def graded(load_target, target):
    """(the student's composite_alert or None, the reasons it cannot be graded)."""
    if target == ROOT / "solution" / "extend.py":             # the reference: nothing to suspect
        return load_target().composite_alert, []
    problems = source_problems(target)
    modules, error = loaded_modules(target)
    if "solution.extend" in modules:
        problems.append("the file loads the reference answer, solution.extend (directly or "
                        "through another module)")
    function = None
    if error:                                  # never load here what hung or crashed there
        problems.append(error)
    else:
        try:
            function = load_target().composite_alert
        except (Exception, SystemExit) as exc:                # a crash at import is the student's
            problems.append(f"the file cannot be loaded: {type(exc).__name__}: {exc}")
    if function is not None and Path(function.__code__.co_filename).resolve() != target:
        problems.append(f"composite_alert is defined in {function.__code__.co_filename}, "
                        "not in the graded file: write your own")
    return function, problems


@pytest.fixture(scope="module")
def verdict(graded, target):
    """verdict(case) fails the test with the case's hint. When the function is not written yet, or
    the file cannot be graded, the first test says why and the others step aside: one line, not
    one per test."""
    function, problems = graded
    name = target.relative_to(ROOT) if target.is_relative_to(ROOT) else target.name
    said = []

    def judge(case: Case) -> None:
        if said:
            pytest.skip(f"{name}: {said[0]} (see the first failure)")
        why = "; ".join(problems) or run_case(case, function)
        if why.startswith(NOT_WRITTEN) or problems:
            said.append(why.splitlines()[0][:120])
        if why:
            pytest.fail(f"{name}: {case.part}: {why}", pytrace=False)
    return judge


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=getattr(pytest.mark, c.part))
                                  for c in CASES])
def test_the_contract(case, verdict):
    verdict(case)


# ── the grader's own checks: the oracle and the comparisons can be trusted ──────────────────────

def test_the_oracle_agrees_with_pages_worked_by_hand():
    # windows 1-2 page, window 3 is quiet, window 4 pages: two pages; with a gap of 1, one
    breached = [(), ("latency", "errors"), ("saturation", "latency"), ("traffic",), ("errors", "traffic")]
    assert oracle(breached) == [Page("composite", 60.0, 120.0, 180.0, ("latency", "errors", "saturation")),
                                Page("composite", 240.0, 300.0, 300.0, ("traffic", "errors"))]
    assert oracle(breached, gap_windows=1) == [
        Page("composite", 60.0, 120.0, 300.0, ("latency", "traffic", "errors", "saturation"))]


def test_only_a_plain_list_of_pages_is_what_the_contract_returns():
    page = Page("composite", 0.0, 60.0, 60.0, ("latency", "errors"))

    class Anything(list):
        def __eq__(self, other):
            return True

    class Lenient(Page):
        def __eq__(self, other):
            return True
    assert shape_problem([page]) == "" and shape_problem([]) == ""
    assert "not a list" in shape_problem((page,)) and "not a list" in shape_problem(Anything())
    assert "not solution.paging.Page" in shape_problem([Lenient(*page.__dict__.values())])
    assert "tuple of str" in shape_problem([Page("composite", 0.0, 60.0, 60.0, ["latency"])])
    assert not same(page, Page("composite", 0.0, 60.0, 120.0, page.signals))


def test_every_part_has_cases_and_the_core_is_worth_100_points():
    assert sum(POINTS.values()) == 100 and set(PARTS) == {c.part for c in CASES}
    assert len({c.id for c in CASES}) == len(CASES)
