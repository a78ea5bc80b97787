"""Shared test fixtures, and the grader's target (the --target option is registered in the
project's top conftest.py, so that it works with or without a test path).

    python3 -m pytest                                          grade the reference solution
    python3 -m pytest tests/test_extend.py --target starters   grade a learner's starters/extend.py
    python3 -m pytest tests/test_extend.py --target alice.py   grade one student's file
    python3 -m tests.grade SUBMISSIONS/                         grade a folder: points per part

Nothing starts at collection time: slow runs (the demo, a graded folder) are fixtures, run once.
The story of a seed is generated once per session (`generated_once`: the generator is pure, and
tests/test_traffic.py checks, on the real generator, that one seed gives one story in any
process), and each lab's default run on the default story is the demo's (`default_results`).
"""

import gc
import importlib.util
import inspect
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from solution import traffic  # noqa: E402


def target_path(target: str) -> Path:
    """The file a --target names: solution/extend.py, starters/extend.py, or the path itself."""
    if target in ("solution", "starters"):
        return ROOT / target / "extend.py"
    return Path(target).resolve()


@pytest.fixture(scope="session")
def target(request) -> Path:
    path = target_path(request.config.getoption("--target"))
    if not path.is_file():
        pytest.fail(f"--target {request.config.getoption('--target')}: {path} is not a file",
                    pytrace=False)
    return path


@pytest.fixture(scope="session")
def load_target(target):
    """load_target() -> the graded file, loaded as a module of its own (never as solution.extend)."""
    def load():
        spec = importlib.util.spec_from_file_location(f"_graded_{abs(hash(str(target)))}", target)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return load


_generate = traffic.generate
_stories: dict = {}


def generated_once(*args, **kwargs) -> list:
    """traffic.generate, each story generated once in this process; a fresh list every call (its
    requests are immutable records)."""
    try:
        bound = inspect.signature(_generate).bind(*args, **kwargs)
        bound.apply_defaults()
        key = tuple(bound.arguments.items())
        hash(key)
    except TypeError:                                         # an unhashable argument: no cache
        return _generate(*args, **kwargs)
    if key not in _stories:
        _stories[key] = _generate(*args, **kwargs)
    return list(_stories[key])


@pytest.fixture(scope="session", autouse=True)
def stories_generated_once():
    """Every test of the session reads the stories through generated_once. The session keeps
    a few stories and the demo's run alive (hundreds of thousands of objects): the cyclic
    garbage collector runs a thirtieth as often, instead of scanning them thousands of times."""
    traffic.generate = generated_once
    thresholds = gc.get_threshold()
    gc.set_threshold(20_000, *thresholds[1:])
    yield
    gc.set_threshold(*thresholds)
    traffic.generate = _generate


@pytest.fixture(scope="session")
def story() -> list:
    """The default story, generated once for the whole test session."""
    return traffic.generate(seed=traffic.DEFAULT_SEED)


@pytest.fixture(scope="session")
def demo_outcome():
    """The whole demo (the story and every lab, default seed), run once for the session: what
    `python3 solution/demo.py` prints is `demo.render` of it, its --html page `demo.render_html`."""
    from solution import demo
    return demo.run()


@pytest.fixture(scope="session")
def default_results(demo_outcome) -> dict:
    """{lab number: the lab's run() on the default story}, as the demo ran it (lab 2 with the
    challenge's composite alert, as its own tests and the demo ask for it)."""
    return {number: result for number, (_, result) in demo_outcome["labs"].items()}


@pytest.fixture
def command(capsys):
    """command(main, *argv) -> (status, stdout, stderr): a script's main() run in this process
    as its command line would run it (argparse's refusal is exit status 2, on stderr)."""
    def run(main, *argv):
        try:
            status = main([str(arg) for arg in argv])
        except SystemExit as exc:
            status = exc.code
        out = capsys.readouterr()
        return status, out.out, out.err
    return run


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
