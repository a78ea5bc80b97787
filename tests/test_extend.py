"""The challenge's grader: the composite alert of starters/extend.py, solution/extend.py, or any file.

    python3 -m pytest tests/test_extend.py --target starters     your starters/extend.py
    python3 -m pytest tests/test_extend.py --target alice.py     one student's file
    python3 -m pytest tests/test_extend.py -m merging            one part of the contract
    python3 -m tests.grade SUBMISSIONS/                           a whole folder, one line each

Each test is one promise of the contract in the starter's docstring, marked by the part it grades:
refusal (min_signals < 1), merging (one page per run of paging windows), signals (what a page
names), story (the default story and other seeds), further (the optional gap_windows tier). The
expected pages come from `oracle` below, written from the contract alone, and from pages worked
by hand; a failing test says what went wrong in the contract's words, with the input and both
pages, and never shows the reference answer.
"""

import ast
import json
import math
import random
import subprocess
import sys
from pathlib import Path

import pytest

from solution import traffic
from solution.lab2_dashboard import any_signal_alert, run
from solution.paging import SIGNALS, Page, matches

ROOT = Path(__file__).resolve().parents[1]
CORE = ("refusal", "merging", "signals", "story")
PROBE_S = 10            # loading a file and calling it once takes well under a second


# ── the oracle: the contract, as a plain loop over windows ──────────────────────────────────────

def oracle(breached, window_s=60.0, min_signals=2, gap_windows=0):
    """The pages the contract promises. A run of paging windows (with gaps of at most
    `gap_windows` quiet windows inside it) is one page: it starts with its first paging window,
    fires when that window closes, ends when its last paging window closes, and names the signals
    of its paging windows once each, in SIGNALS order."""
    if min_signals < 1 or gap_windows < 0:
        raise ValueError("min_signals must be 1 or more and gap_windows 0 or more")
    runs = []                                   # [first paging window, last paging window, signals]
    for i, signals in enumerate(breached):
        if len(set(signals)) < min_signals:
            continue
        if runs and i - runs[-1][1] - 1 <= gap_windows:
            runs[-1][1] = i
            runs[-1][2] |= set(signals)
        else:
            runs.append([i, i, set(signals)])
    return [Page("composite", a * window_s, (a + 1) * window_s, (b + 1) * window_s,
                 tuple(s for s in SIGNALS if s in seen)) for a, b, seen in runs]


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


def test_the_oracle_agrees_with_pages_worked_by_hand():
    # windows 1-2 page, window 3 is quiet, window 4 pages: two pages; with a gap of 1, one
    breached = [(), ("latency", "errors"), ("saturation", "latency"), ("traffic",), ("errors", "traffic")]
    assert oracle(breached) == [Page("composite", 60.0, 120.0, 180.0, ("latency", "errors", "saturation")),
                                Page("composite", 240.0, 300.0, 300.0, ("traffic", "errors"))]
    assert oracle(breached, gap_windows=1) == [
        Page("composite", 60.0, 120.0, 300.0, ("latency", "traffic", "errors", "saturation"))]


# ── the graded function, and honest comparisons ─────────────────────────────────────────────────

def source_problems(path: Path) -> list[str]:
    """Reasons the file is not the student's own work: it imports or names the reference answer."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(body[0].value) for body in (getattr(n, "body", None) for n in ast.walk(tree))
                  if isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                  and isinstance(body[0].value, ast.Constant)}
    problems = []
    for node in ast.walk(tree):
        if id(node) in docstrings:                       # prose may name the reference; code may not
            continue
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module or ""]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names = [node.value.replace("/", ".").replace("\\", ".")]
        if any("solution.extend" in name for name in names):
            problems.append(f"line {node.lineno} uses the reference answer (solution.extend)")
    return problems


def loaded_modules(path: Path) -> tuple[list[str], str]:
    """The solution modules a fresh interpreter holds after loading the file and calling it once."""
    probe = ("import importlib.util, json, sys\n"
             f"sys.path.insert(0, {str(ROOT)!r})\n"
             f"spec = importlib.util.spec_from_file_location('graded', {str(path)!r})\n"
             "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
             "try:\n    module.composite_alert([('latency', 'errors')])\nexcept Exception:\n    pass\n"
             "print(json.dumps(sorted(m for m in sys.modules if m.startswith('solution'))))\n")
    try:
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                             timeout=PROBE_S, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return [], (f"loading the file and calling composite_alert once took over {PROBE_S} s "
                    "(an endless loop?)")
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        said = out.stderr.strip().splitlines()
        return [], ("loading the file failed: " + said[-1] if said else
                    f"loading the file ended the process (exit status {out.returncode}: sys.exit?)")
    return json.loads(lines[-1]), ""


@pytest.fixture(scope="module")
def graded(load_target, target):
    """The student's composite_alert, if the file is the student's own; else every test fails with
    the reason. An unwritten starter fails every test with the starter's own message."""
    reference = target == ROOT / "solution" / "extend.py"       # it may name itself
    problems = [] if reference else source_problems(target)
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
def composite_alert(graded, target):
    function, problems = graded
    name = target.relative_to(ROOT) if target.is_relative_to(ROOT) else target.name

    def call(*args, **kwargs):
        if problems:                                  # every test fails, and says why
            pytest.fail(f"{name}: " + "; ".join(problems), pytrace=False)
        try:
            return function(*args, **kwargs)
        except NotImplementedError as exc:
            why = str(exc)
        except SystemExit:
            why = "composite_alert called sys.exit(): return the pages instead"
        pytest.fail(f"{name}: {why}", pytrace=False)  # outside the except: no chained traceback
    return call


def shape_problem(pages) -> str:
    """Why `pages` is not what the contract returns (a plain list of Page), or ''."""
    if type(pages) is not list:
        return f"composite_alert returned a {type(pages).__name__}, not a list of Page"
    for n, page in enumerate(pages, 1):
        if type(page) is not Page:
            return f"page {n} is a {type(page).__name__}, not solution.paging.Page"
        if type(page.policy) is not str or type(page.signals) is not tuple \
                or not all(type(s) is str for s in page.signals):
            return f"page {n}: policy must be a str and signals a tuple of str, got {page!r:.80}"
        if not all(isinstance(getattr(page, f), (int, float)) and not isinstance(getattr(page, f), bool)
                   for f in ("start_s", "fired_s", "end_s")):
            return f"page {n}: start_s, fired_s and end_s must be numbers"
    return ""


def same(page: Page, other: Page) -> bool:
    """Field by field, never through the objects' own ==; times to a billionth."""
    return (page.policy == other.policy and page.signals == other.signals
            and all(math.isclose(getattr(page, f), getattr(other, f), rel_tol=1e-9, abs_tol=1e-9)
                    for f in ("start_s", "fired_s", "end_s")))


def show(pages) -> list[str]:
    return [f"    start {p.start_s:>9g}  fired {p.fired_s:>9g}  end {p.end_s:>9g}  "
            f"{'+'.join(p.signals) or '(no signals)'}  [{p.policy}]" for p in pages] or ["    (no pages)"]


def check(actual, expected, breached, hint: str, **kwargs) -> None:
    """Fail with a readable account unless `actual` is exactly the `expected` pages."""
    problem = shape_problem(actual)
    if not problem and len(actual) == len(expected) and all(map(same, actual, expected)):
        return
    first = next((n for n, (a, e) in enumerate(zip(actual, expected)) if not same(a, e)),
                 min(len(actual), len(expected))) if not problem else 0
    around = expected[first] if first < len(expected) else (actual[first] if first < len(actual) else None)
    window_s = kwargs.get("window_s", 60.0)
    lo = max(0, int(around.start_s // window_s) - 2) if around else 0
    call = ", ".join([f"<{len(breached)} windows>"] + [f"{k}={v!r}" for k, v in kwargs.items()])
    what = problem or (f"expected {len(expected)} page(s), got {len(actual)}"
                       if len(actual) != len(expected) else f"page {first + 1} is not as expected")
    lines = [f"composite_alert({call}): {what}", f"  the contract: {hint}"]
    lines.append(f"  windows {lo} to {min(len(breached), lo + 8) - 1} of the input:")
    lines += [f"    window {i} [{i * window_s:g}, {(i + 1) * window_s:g}): "
              f"{', '.join(breached[i]) or '-'}" for i in range(lo, min(len(breached), lo + 8))]
    lines += [f"  expected {len(expected)} page(s):"] + show(expected)
    if not problem:
        lines += [f"  got {len(actual)} page(s):"] + show(actual)
    pytest.fail("\n".join(lines), pytrace=False)


def random_breaches(rng: random.Random, n: int, isolated: bool = False) -> list:
    """n windows of random breaches, in the shapes the contract allows (tuples, lists, sets,
    repeated names). isolated: no two windows with a breach side by side."""
    out = []
    for i in range(n):
        if isolated and out and out[-1]:
            out.append(())
            continue
        k = rng.choice((0, 0, 0, 1, 1, 2, 2, 3, 4))
        names = rng.sample(SIGNALS, k) + ([rng.choice(SIGNALS)] if k and rng.random() < 0.2 else [])
        out.append(rng.choice((tuple, list, set))(names) if names else ())
    return out


CASES = [(seed, rng.randint(0, 500), rng.choice((1.0, 30.0, 60.0, 90.5, 300.0, 3600.0)),
          rng.randint(1, 4)) for seed, rng in ((s, random.Random(s)) for s in range(120))]


# ── refusal ─────────────────────────────────────────────────────────────────────────────────────

@pytest.mark.refusal
@pytest.mark.parametrize("bad", [0, -1, -5])
def test_a_minimum_below_one_signal_is_refused_whatever_the_input(composite_alert, bad):
    for breached in ([], [()], [("latency", "saturation")], [("errors",)] * 3):
        with pytest.raises(ValueError):
            composite_alert(breached, min_signals=bad)
            pytest.fail(f"min_signals={bad} on {breached!r} returned instead of raising ValueError: "
                        "refuse it whatever the windows say, the empty list included", pytrace=False)


@pytest.mark.refusal
def test_every_minimum_of_one_or_more_is_accepted(composite_alert):
    for n in (1, 2, 3, 4, 5):
        check(composite_alert([], min_signals=n), [], [], "no windows, no pages", min_signals=n)


# ── merging: one page per run of paging windows ─────────────────────────────────────────────────

@pytest.mark.merging
def test_two_signals_in_one_window_make_one_page(composite_alert):
    breached = [(), ("latency", "saturation"), ()]
    check(composite_alert(breached), oracle(breached), breached,
          "window 1 spans [60, 120) and pages when it closes, at 120")


@pytest.mark.merging
def test_consecutive_paging_windows_are_one_page_and_a_gap_starts_another(composite_alert):
    breached = [("latency", "saturation")] * 3 + [()] + [("traffic", "saturation")]
    check(composite_alert(breached), oracle(breached), breached,
          "windows 0-2 are one page (0 to 180, fired at 60); the quiet window 3 ends it, so window "
          "4 is a page of its own")


@pytest.mark.merging
def test_the_window_length_sets_the_clock(composite_alert):
    breached = [(), (), ("errors", "latency")]
    check(composite_alert(breached, window_s=300.0), oracle(breached, 300.0), breached,
          "window i spans [i x window_s, (i + 1) x window_s)", window_s=300.0)


@pytest.mark.merging
@pytest.mark.parametrize("seed,n,window_s,min_signals", CASES[:60])
def test_random_windows_page_where_the_contract_says(composite_alert, seed, n, window_s, min_signals):
    breached = random_breaches(random.Random(seed), n)
    check(composite_alert(breached, window_s=window_s, min_signals=min_signals),
          oracle(breached, window_s, min_signals), breached,
          "a page per run of consecutive windows with at least min_signals different signals",
          window_s=window_s, min_signals=min_signals)


@pytest.mark.merging
def test_min_signals_one_is_lab_2s_any_signal_alert_page_for_page(composite_alert, story_breaches):
    for breached in [story_breaches] + [random_breaches(random.Random(s), 300) for s in range(5)]:
        naive = any_signal_alert(breached, 60.0)
        expected = [Page("composite", p.start_s, p.fired_s, p.end_s, p.signals) for p in naive]
        check(composite_alert(breached, min_signals=1), expected, breached,
              "with min_signals=1 every breach pages: lab 2's any-signal alert", min_signals=1)


# ── signals: what a page names ──────────────────────────────────────────────────────────────────

@pytest.mark.signals
def test_one_signal_at_a_time_never_pages(composite_alert):
    breached = [("latency",), ("errors",), ("traffic",), ("saturation",), ()]
    check(composite_alert(breached), [], breached, "one breaching signal is not an incident")


@pytest.mark.signals
def test_the_same_signal_twice_is_one_signal(composite_alert):
    breached = [("latency", "latency"), ["errors", "errors", "errors"]]
    check(composite_alert(breached), [], breached, "count different signals: a name twice is one")


@pytest.mark.signals
def test_a_page_names_its_signals_once_each_in_signals_order(composite_alert):
    assert SIGNALS == ("latency", "traffic", "errors", "saturation")
    breached = [(), ("saturation", "errors", "latency"), ()]
    check(composite_alert(breached), oracle(breached), breached,
          "signals once each, in SIGNALS order (latency, traffic, errors, saturation)")


@pytest.mark.signals
def test_min_signals_is_a_parameter(composite_alert):
    breached = [(), ("latency", "traffic", "errors"), (), ("latency", "saturation"), ()]
    check(composite_alert(breached, min_signals=3), oracle(breached, min_signals=3), breached,
          "a window pages when at least min_signals different signals breach in it", min_signals=3)


@pytest.mark.signals
@pytest.mark.parametrize("seed,n,window_s,min_signals", CASES[60:])
def test_random_isolated_windows_name_the_right_signals(composite_alert, seed, n, window_s,
                                                        min_signals):
    breached = random_breaches(random.Random(seed), n, isolated=True)
    check(composite_alert(breached, window_s=window_s, min_signals=min_signals),
          oracle(breached, window_s, min_signals), breached,
          "each paging window, apart from the others, is a page naming its own signals",
          window_s=window_s, min_signals=min_signals)


# ── the story ───────────────────────────────────────────────────────────────────────────────────

@pytest.fixture(scope="module")
def story_breaches(story):
    """Lab 2's breaches of the default story, one tuple of signals per one-minute window."""
    return run(requests=story).breached


@pytest.mark.story
@pytest.mark.merging
def test_on_the_story_it_pages_once_for_each_multi_signal_incident(composite_alert, story_breaches):
    # The truth: the provider slowdown (1:00-1:20) moves latency + saturation, the noisy batch
    # tenant (4:00-4:20) traffic + saturation; each is caught by its first one-minute window.
    pages = composite_alert(story_breaches, window_s=60.0)
    check(pages, oracle(story_breaches), story_breaches,
          "the story pages at 1:01 (latency+saturation) and 4:01 (traffic+saturation), once each")


@pytest.mark.story
def test_on_the_story_it_never_pages_on_a_blip(composite_alert, story_breaches):
    blips = [i for i in traffic.STORY.incidents if not i.page]
    assert len(blips) == 5
    for page in composite_alert(story_breaches):
        if type(page) is not Page or any(matches(page, blip) for blip in blips):
            pytest.fail(f"a page on a blip (a one-signal noise): {show([page])[0].strip()}",
                        pytrace=False)


@pytest.mark.story
@pytest.mark.merging
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_other_seeds_of_the_story_page_as_the_contract_says(composite_alert, seed):
    breached = run(seed=seed).breached
    for min_signals in (2, 3):
        check(composite_alert(breached, min_signals=min_signals), oracle(breached, min_signals=min_signals),
              breached, f"the story with seed {seed}: not only the default story", min_signals=min_signals)


# ── going further (optional, graded apart): one incident, one page, across a short gap ─────────

@pytest.mark.further
def test_further_a_short_quiet_gap_does_not_start_a_new_page(composite_alert):
    breached = [("latency", "saturation"), ("latency", "saturation"), ("latency",),
                ("latency", "saturation"), (), (), ("traffic", "saturation")]
    for gap in (1, 2):
        check(composite_alert(breached, gap_windows=gap), oracle(breached, gap_windows=gap), breached,
              "with gap_windows=g, paging windows at most g quiet windows apart are one page; the "
              "page names only the signals of its paging windows", gap_windows=gap)


@pytest.mark.further
@pytest.mark.parametrize("seed", range(20))
def test_further_random_windows_merge_across_gaps(composite_alert, seed):
    rng = random.Random(1000 + seed)
    breached, gap, window_s = random_breaches(rng, rng.randint(0, 300)), rng.randint(0, 4), 60.0
    check(composite_alert(breached, window_s=window_s, gap_windows=gap), oracle(breached, gap_windows=gap),
          breached, "runs with gaps of at most gap_windows quiet windows are one page", gap_windows=gap)


@pytest.mark.further
def test_further_a_negative_gap_is_refused(composite_alert):
    with pytest.raises(ValueError):
        composite_alert([], gap_windows=-1)
        pytest.fail("gap_windows=-1 returned instead of raising ValueError", pytrace=False)
