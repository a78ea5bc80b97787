"""The challenge's contract as cases: the promises of starters/extend.py's docstring, each a
case with its part, its input and what the contract expects (`oracle`, written from the contract
alone), and `run_case`, which calls a student's composite_alert on one case under a time limit and
says in at most 12 lines why it fails. tests/test_extend.py turns each case into a pytest test;
tests/grade.py's workers, grading a folder, load this module alone (no pytest to import).
"""

from __future__ import annotations

import ast
import functools
import json
import math
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable


from solution import traffic
from solution.lab2_dashboard import any_signal_alert, run
from solution.paging import SIGNALS, Page, matches

ROOT = Path(__file__).resolve().parents[1]
POINTS = {"refusal": 10, "merging": 50, "signals": 20, "story": 20}     # the core: 100 points
BONUS = {"further": 10}                                                   # graded apart
PARTS = (*POINTS, *BONUS)
LIMIT_S = 2.0           # one call of the student's function; the reference takes well under 1 ms
PROBE_S = 10            # loading a file and calling it once, in a fresh interpreter
HINT_LINES = 12
NOT_WRITTEN = "composite_alert is not written yet"


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


def any_signal(breached, window_s=60.0, **_):
    """Lab 2's any-signal alert, as composite pages: what min_signals=1 must give, page for page."""
    return [Page("composite", p.start_s, p.fired_s, p.end_s, p.signals)
            for p in any_signal_alert(breached, window_s)]


# ── honest comparisons, and hints a student reads ───────────────────────────────────────────────

class Broken(Exception):
    """A promise of the contract the graded function did not keep; the message is the hint."""


class TimeLimit(BaseException):
    """A call ran past its time limit (BaseException: a student's `except Exception` keeps out)."""


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


def differs(actual, expected) -> str:
    """'' when `actual` is exactly the `expected` pages, else what is wrong, in a few words."""
    problem = shape_problem(actual)
    if problem:
        return problem
    if len(actual) != len(expected):
        return f"expected {len(expected)} page(s), got {len(actual)}"
    wrong = [n for n, (a, e) in enumerate(zip(actual, expected), 1) if not same(a, e)]
    return f"page {wrong[0]} is not as expected" if wrong else ""


def outcome(alert, breached, kwargs, expected_of) -> tuple[str, object]:
    """(what is wrong or '', what came back) for one call."""
    try:
        got = alert(list(breached), **kwargs)
    except NotImplementedError:                               # not written yet: said once, apart
        raise
    except Exception as exc:                                  # noqa: BLE001 - the student's error
        return f"raised {type(exc).__name__}: {str(exc)[:100]}", None
    return differs(got, expected_of(breached, **kwargs)), got


def shrink(alert, breached, kwargs, expected_of, budget_s: float = 0.5) -> list:
    """The smallest input that still fails, found by dropping chunks of windows, then single
    windows, then single signals (delta debugging), within a time budget."""
    deadline = time.monotonic() + budget_s
    current = [tuple(w) for w in breached]

    def fails(candidate) -> bool:
        return time.monotonic() < deadline and bool(outcome(alert, candidate, kwargs, expected_of)[0])
    try:
        chunk = max(1, len(current) // 2)
        while chunk >= 1 and time.monotonic() < deadline:
            i, removed = 0, False
            while i < len(current):
                candidate = current[:i] + current[i + chunk:]
                if candidate != current and fails(candidate):
                    current, removed = candidate, True
                else:
                    i += chunk
            if not removed:
                chunk //= 2
        for i in range(len(current)):                       # fewer signals in each window
            for name in current[i]:
                candidate = current[:i] + [tuple(s for s in current[i] if s != name)] + current[i + 1:]
                if fails(candidate):
                    current = candidate
    except TimeLimit:                                         # shrinking is a courtesy, not a test
        pass
    return current


def show_pages(pages, most: int = 2) -> list[str]:
    lines = [f"    start {p.start_s:g}, fired {p.fired_s:g}, end {p.end_s:g}: "
             f"{'+'.join(p.signals) or '(no signals)'}" for p in pages[:most]]
    if len(pages) > most:
        lines.append(f"    ... and {len(pages) - most} more")
    return lines or ["    (no pages)"]


def show_call(breached, kwargs) -> list[str]:
    """The call, as a student would type it; long inputs by their paging windows only."""
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    windows = [tuple(w) for w in breached]
    text = f"composite_alert({windows!r}{', ' + args if args else ''})"
    if len(text) <= 200:
        return textwrap.wrap(text, 96, initial_indent="    ", subsequent_indent="      ")
    busy = [f"{i}: {'+'.join(w)}" for i, w in enumerate(windows) if w]
    return [f"    composite_alert(<{len(windows)} windows>{', ' + args if args else ''}), windows with "
            f"breaches: {', '.join(busy[:6])}{' ...' if len(busy) > 6 else ''}"[:200]]


def expect(alert, breached, contract: str, expected_of=oracle, **kwargs) -> None:
    """Raise Broken, with a hint of at most 12 lines, unless the pages are the contract's."""
    what, got = outcome(alert, breached, kwargs, expected_of)
    if not what:
        return
    small = shrink(alert, breached, kwargs, expected_of) if len(breached) > 1 else list(breached)
    small_what, small_got = outcome(alert, small, kwargs, expected_of)
    shrunk = ""
    if small_what and len(small) < len(breached):
        shrunk = f" (shrunk from {len(breached)} windows to {len(small)})"
        breached, what, got = small, small_what, small_got
    expected = expected_of(breached, **kwargs)
    lines = [what, f"  the contract: {contract}", f"  the smallest failing input{shrunk}:",
             *show_call(breached, kwargs), f"  expected {len(expected)} page(s):",
             *show_pages(expected)]
    if got is not None and not shape_problem(got):
        lines += [f"  got {len(got)} page(s):", *show_pages(got)]
    raise Broken("\n".join(lines[:HINT_LINES]))


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


RANDOM = [(seed, rng.randint(0, 500), rng.choice((1.0, 30.0, 60.0, 90.5, 300.0, 3600.0)),
           rng.randint(1, 4)) for seed, rng in ((s, random.Random(s)) for s in range(120))]

_stories: dict[int, list] = {}


def story_breaches(seed: int = traffic.DEFAULT_SEED) -> list:
    """Lab 2's breaches of the story with this seed, one tuple of signals per one-minute window
    (computed once per process; the folder grader hands them to its workers ready-made)."""
    if seed not in _stories:
        _stories[seed] = [tuple(w) for w in run(seed=seed).breached]
    return _stories[seed]


STORY_SEEDS = (traffic.DEFAULT_SEED, 1, 2, 3)


# ── the cases: one promise each ─────────────────────────────────────────────────────────────────

def refused(call, what: str) -> bool:
    """Whether call() raised ValueError; any other error is the answer's, said in the hint."""
    try:
        call()
    except ValueError:
        return True
    except NotImplementedError:
        raise
    except Exception as exc:                                  # noqa: BLE001
        raise Broken(f"{what} raised {type(exc).__name__}, not ValueError") from None
    return False


def refuses_a_minimum_below_one_whatever_the_input(alert, bad):
    for breached in ([], [()], [("latency", "saturation")], [("errors",)] * 3):
        if refused(lambda: alert(breached, min_signals=bad), f"min_signals={bad}"):
            continue
        raise Broken(f"min_signals={bad} on {breached!r} returned instead of raising ValueError:\n"
                     "  the contract: less than 1 raises ValueError, whatever the windows say, "
                     "the empty list included")


def accepts_every_minimum_of_one_or_more(alert):
    for n in (1, 2, 3, 4, 5):
        expect(alert, [], "no windows, no pages", min_signals=n)


def two_signals_in_one_window_make_one_page(alert):
    expect(alert, [(), ("latency", "saturation"), ()],
           "window 1 spans [60, 120) and pages when it closes, at 120")


def consecutive_paging_windows_are_one_page_and_a_gap_starts_another(alert):
    expect(alert, [("latency", "saturation")] * 3 + [()] + [("traffic", "saturation")],
           "windows 0-2 are one page (0 to 180, fired at 60); the quiet window 3 ends it, so "
           "window 4 is a page of its own")


def the_window_length_sets_the_clock(alert):
    expect(alert, [(), (), ("errors", "latency")], "window i spans [i x window_s, (i + 1) x window_s)",
           window_s=300.0)


def random_windows_page_where_the_contract_says(alert, seed, n, window_s, min_signals):
    expect(alert, random_breaches(random.Random(seed), n),
           "one page per run of consecutive windows with at least min_signals different signals",
           window_s=window_s, min_signals=min_signals)


def min_signals_one_is_lab_2s_any_signal_alert_page_for_page(alert, seed):
    breached = story_breaches() if seed is None else random_breaches(random.Random(seed), 300)
    expect(alert, breached, "with min_signals=1 every breach pages: lab 2's any-signal alert",
           expected_of=any_signal, min_signals=1)


def one_signal_at_a_time_never_pages(alert):
    expect(alert, [("latency",), ("errors",), ("traffic",), ("saturation",), ()],
           "one breaching signal is not an incident")


def the_same_signal_twice_is_one_signal(alert):
    expect(alert, [("latency", "latency"), ["errors", "errors", "errors"]],
           "count different signals: a name twice is one")


def a_page_names_its_signals_once_each_in_signals_order(alert):
    expect(alert, [(), ("saturation", "errors", "latency"), ()],
           "signals once each, in SIGNALS order (latency, traffic, errors, saturation)")


def min_signals_is_a_parameter(alert):
    expect(alert, [(), ("latency", "traffic", "errors"), (), ("latency", "saturation"), ()],
           "a window pages when at least min_signals different signals breach in it", min_signals=3)


def random_isolated_windows_name_the_right_signals(alert, seed, n, window_s, min_signals):
    expect(alert, random_breaches(random.Random(seed), n, isolated=True),
           "each paging window, apart from the others, is a page naming its own signals",
           window_s=window_s, min_signals=min_signals)


def on_the_story_it_pages_once_for_each_multi_signal_incident(alert):
    # The truth: the provider slowdown (1:00-1:20) moves latency + saturation, the noisy batch
    # tenant (4:00-4:20) traffic + saturation; each is caught by its first one-minute window.
    expect(alert, story_breaches(), "the story pages at 1:01 (latency+saturation) and 4:01 "
           "(traffic+saturation), once each")


def on_the_story_it_never_pages_on_a_blip(alert):
    blips = [i for i in traffic.STORY.incidents if not i.page]
    pages = alert(story_breaches())
    for page in pages if type(pages) is list else [None]:
        if type(page) is not Page or any(matches(page, blip) for blip in blips):
            raise Broken(f"a page on a blip (a one-signal noise), or not a Page: {page!r:.100}\n"
                         "  the contract: a window pages only with min_signals different signals")


def other_seeds_of_the_story_page_as_the_contract_says(alert, seed, min_signals):
    expect(alert, story_breaches(seed), f"the story with seed {seed}: not only the default story",
           min_signals=min_signals)


def further_a_short_quiet_gap_does_not_start_a_new_page(alert, gap):
    expect(alert, [("latency", "saturation"), ("latency", "saturation"), ("latency",),
                   ("latency", "saturation"), (), (), ("traffic", "saturation")],
           "with gap_windows=g, paging windows at most g quiet windows apart are one page; the "
           "page names only the signals of its paging windows", gap_windows=gap)


def further_random_windows_merge_across_gaps(alert, seed):
    rng = random.Random(1000 + seed)
    breached, gap = random_breaches(rng, rng.randint(0, 300)), rng.randint(0, 4)
    expect(alert, breached, "runs with gaps of at most gap_windows quiet windows are one page",
           gap_windows=gap)


def further_a_negative_gap_is_refused(alert):
    if refused(lambda: alert([], gap_windows=-1), "gap_windows=-1"):
        return
    raise Broken("gap_windows=-1 returned instead of raising ValueError\n"
                 "  the contract: gap_windows less than 0 raises ValueError")


@dataclass(frozen=True)
class Case:
    """One promise, with its arguments: `check(alert, *args)` raises Broken when it is not kept."""
    part: str
    check: Callable
    args: tuple = ()
    label: str = ""
    windows: int = 0          # its largest input: the folder grader runs small cases first
    id: str = field(init=False)

    def __post_init__(self):
        name = self.check.__name__ + (f"-{self.label}" if self.label else "")
        object.__setattr__(self, "id", name)


def cases() -> list[Case]:
    """Every case of the grader, part by part."""
    out = [Case("refusal", refuses_a_minimum_below_one_whatever_the_input, (bad,), f"{bad}", 3)
           for bad in (0, -1, -5)]
    out.append(Case("refusal", accepts_every_minimum_of_one_or_more))
    out += [Case("merging", two_signals_in_one_window_make_one_page, windows=3),
            Case("merging", consecutive_paging_windows_are_one_page_and_a_gap_starts_another,
                 windows=5),
            Case("merging", the_window_length_sets_the_clock, windows=3)]
    out += [Case("merging", random_windows_page_where_the_contract_says, args, f"seed{args[0]}",
                 args[1]) for args in RANDOM[:60]]
    out += [Case("merging", min_signals_one_is_lab_2s_any_signal_alert_page_for_page, (seed,),
                 "story" if seed is None else f"seed{seed}", 360 if seed is None else 300)
            for seed in (None, 0, 1, 2, 3, 4)]
    out += [Case("signals", one_signal_at_a_time_never_pages, windows=5),
            Case("signals", the_same_signal_twice_is_one_signal, windows=2),
            Case("signals", a_page_names_its_signals_once_each_in_signals_order, windows=3),
            Case("signals", min_signals_is_a_parameter, windows=5)]
    out += [Case("signals", random_isolated_windows_name_the_right_signals, args,
                 f"seed{args[0]}", args[1]) for args in RANDOM[60:]]
    out += [Case("story", on_the_story_it_pages_once_for_each_multi_signal_incident, windows=360),
            Case("story", on_the_story_it_never_pages_on_a_blip, windows=360)]
    out += [Case("story", other_seeds_of_the_story_page_as_the_contract_says, (seed, m),
                 f"seed{seed}-min{m}", 360) for seed in STORY_SEEDS[1:] for m in (2, 3)]
    out += [Case("further", further_a_short_quiet_gap_does_not_start_a_new_page, (gap,), f"gap{gap}",
                 7) for gap in (1, 2)]
    out += [Case("further", further_random_windows_merge_across_gaps, (seed,), f"seed{seed}", 300)
            for seed in range(20)]
    out.append(Case("further", further_a_negative_gap_is_refused))
    return out


CASES = cases()


# ── the graded file: loaded once, its own work, every call under a time limit ───────────────────

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


def time_limited(function, limit_s: float = LIMIT_S):
    """`function`, each call stopped with TimeLimit after `limit_s` seconds (a timer signal: on
    POSIX, in the main thread; elsewhere the call runs without a limit)."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        return function

    def on_alarm(signum, frame):
        raise TimeLimit

    @functools.wraps(function)
    def call(*args, **kwargs):
        before = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, limit_s)
        try:
            return function(*args, **kwargs)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, before)
    return call


def run_case(case: Case, alert, limit_s: float = LIMIT_S) -> str:
    """'' when the case passes, else its hint: what went wrong, in the contract's words."""
    try:
        case.check(time_limited(alert, limit_s), *case.args)
    except Broken as broken:
        return str(broken)
    except TimeLimit:
        return (f"composite_alert took over {limit_s:g} s on {case.windows} windows (an endless "
                "loop, or far too slow?)")
    except NotImplementedError as exc:
        return str(exc) or NOT_WRITTEN
    except SystemExit:
        return "composite_alert called sys.exit(): return the pages instead"
    except Exception as exc:                                  # noqa: BLE001 - the student's crash
        return f"composite_alert raised {type(exc).__name__}: {str(exc)[:160]}"
    return ""
