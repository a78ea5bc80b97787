"""Shared test fixtures, and the grader's switch: --target {solution,starters}.

    python3 -m pytest                                        grade the reference solution
    python3 -m pytest tests/test_extend.py --target starters grade a learner's starters/extend.py
"""

import importlib.util
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from solution import traffic  # noqa: E402


def pytest_addoption(parser):
    parser.addoption("--target", choices=("solution", "starters"), default="solution",
                     help="which folder's challenge code to grade (default: solution)")


@pytest.fixture(scope="session")
def target(request) -> str:
    return request.config.getoption("--target")


@pytest.fixture(scope="session")
def load_target(target):
    """load_target("extend") -> the module <target>/extend.py, loaded from its file."""
    def load(name: str):
        path = ROOT / target / f"{name}.py"
        if not path.exists():
            pytest.fail(f"{path} does not exist")
        spec = importlib.util.spec_from_file_location(f"_graded_{target}_{name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return load


@pytest.fixture(scope="session")
def story() -> list:
    """The default story, generated once for the whole test session."""
    return traffic.generate(seed=traffic.DEFAULT_SEED)


def pytest_collection_modifyitems(config, items):
    """The handouts' tests go last: their commands run in the background meanwhile."""
    items.sort(key=lambda item: item.path.name == "test_handouts.py")


def pytest_collection_finish(session):
    """The handouts' commands are slow subprocesses: once the tests are collected, start them in
    the background (if their tests were selected), so they run while the rest of the suite does."""
    runners = [item.module for item in session.items if item.path.name == "test_handouts.py"
               and item.originalname.startswith(("test_every_quoted", "test_every_number"))]
    if runners:
        runners[0].start_in_background()


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.external = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.external += [v for k, v in attrs if k in ("src", "href") and v and "//" in v]


@pytest.fixture(scope="session")
def html_tags():
    """html_tags(page) -> (tags, external): every start tag of an HTML page, in order, and every
    src or href that points off the page (a self-contained page has none)."""
    def parse(page: str) -> tuple[list[str], list[str]]:
        parser = _Tags()
        parser.feed(page)
        return parser.tags, parser.external
    return parse
