"""The labs of the class, in the order it teaches them, and what every lab module promises.

LABS is the one list of the labs: the demo runs them from it, the Show page draws them from it,
and the tests check every one of them. A lab is a lesson module, `solution/labN_topic.py`, that
keeps the contract below (`Lesson`); adding a lab is adding its module, its handout, its row here
and what the Show page says about it (solution/tools/show.py).

    >>> [lab.number for lab in LABS] == list(range(1, len(LABS) + 1))
    True
    >>> by_number(2).module
    'solution.lab2_dashboard'

Remember: every lab answers the same three calls, so one loop can run them all.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Protocol, Sequence, runtime_checkable


@runtime_checkable
class Lesson(Protocol):
    """The contract of a lab module (a module satisfies a Protocol as an object does, PEP 544).

    run(requests=..., seed=...) takes the story (or generates it from `seed` when `requests` is
    None) with the lesson's own knobs as keyword arguments, and returns a Result: a dataclass of
    plain values, what the tests assert on. report(result) is the lab's screen as text, at most
    80 columns. main(argv) is the command line; it prints and returns the exit status."""

    def run(self, requests: Sequence[Any] | None = None, *, seed: int) -> Any: ...

    def report(self, result: Any) -> str: ...

    def main(self, argv: list[str] | None = None) -> int: ...


@dataclass(frozen=True)
class Lab:
    """One lab of the class: its number, its lesson module, its title and the modules it extends."""
    number: int
    name: str                  # the lesson's file, solution/<name>.py, and its handout, labs/<name>.md
    title: str
    extends: str

    @property
    def module(self) -> str:
        return f"solution.{self.name}"

    def lesson(self) -> Lesson:
        """The lesson module, imported when first asked for (the demo may run one lab alone)."""
        return importlib.import_module(self.module)


LABS = (
    Lab(number=1, name="lab1_logs", title="structured, correlated logs", extends="M20"),
    Lab(number=2, name="lab2_dashboard", title="golden signals and SLO burn", extends="M20/M31"),
    Lab(number=3, name="lab3_online_eval", title="online evaluation catches drift",
        extends="M26/M30"),
    Lab(number=4, name="lab4_limits", title="rate limits, quotas, load shedding", extends="M25/M29"),
    Lab(number=5, name="lab5_flywheel", title="the reliability flywheel", extends="M30/M31"),
)
NUMBERS = tuple(lab.number for lab in LABS)


def by_number(number: int) -> Lab:
    """The lab with that number; a ValueError names the labs there are."""
    for lab in LABS:
        if lab.number == number:
            return lab
    raise ValueError(f"there is no lab {number}: the labs are {NUMBERS[0]}-{NUMBERS[-1]}")
