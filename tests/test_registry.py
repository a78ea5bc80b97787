"""One list of the labs (solution/labs.py): every lesson on disk is in it, every lab in it keeps the
contract, and the demo and the Show page read it, so a sixth lab is one row and its own files."""

import inspect
import re
from pathlib import Path

import pytest

from solution import labs
from solution.labs import LABS, Lesson
from solution.tools import show

ROOT = Path(__file__).resolve().parents[1]


def test_every_lesson_on_disk_is_listed_once_in_the_order_of_its_number():
    on_disk = sorted(p.stem for p in (ROOT / "solution").glob("lab*_*.py"))
    assert [lab.name for lab in LABS] == on_disk
    assert [int(re.match(r"lab(\d+)_", lab.name).group(1)) for lab in LABS] == list(labs.NUMBERS)
    assert list(labs.NUMBERS) == list(range(1, len(LABS) + 1))


@pytest.mark.parametrize("lab", LABS, ids=lambda lab: lab.name)
def test_every_lab_keeps_the_lesson_contract(lab):
    lesson = lab.lesson()
    assert isinstance(lesson, Lesson), f"{lab.module} lacks run, report or main"
    run = inspect.signature(lesson.run).parameters
    assert "requests" in run and run["seed"].kind is inspect.Parameter.KEYWORD_ONLY
    assert re.fullmatch(r"M\d\d(/M\d\d)*", lab.extends), lab.extends


def test_the_contract_is_checked_not_assumed():
    class NoReport:
        def run(self, requests=None, *, seed): ...
        def main(self, argv=None): ...
    assert not isinstance(NoReport(), Lesson)


def test_a_lab_that_is_not_there_is_named_as_such():
    assert labs.by_number(3).name == "lab3_online_eval"
    with pytest.raises(ValueError, match=f"there is no lab 0: the labs are 1-{len(LABS)}"):
        labs.by_number(0)


def test_the_show_page_says_and_draws_something_for_every_lab():
    for table in (show.FINDINGS, show.CHARTS, show.TABLES):
        assert sorted(table) == list(labs.NUMBERS)
