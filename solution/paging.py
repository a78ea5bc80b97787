"""Pages: what an alert policy does to a person, and how good the policy is.

The vocabulary lab 2, the challenge (starters/extend.py) and its grader share, kept below all of
them so that none imports another to get it:

    SIGNALS        the four golden signals, in the SRE book's order
    Page           one page: a run of consecutive paging windows is one page, not many
    pages_from     per-window verdicts -> pages
    either         two policies run together: overlapping pages are one
    matches, score a policy's pages against the ground truth: precision, recall, time to detect
                   (the SRE Workbook's criteria for an alert)
    policy_lines   the policies' scores side by side, as lab 2 and the challenge print them
    score_alarms   a detector's alarms against a change that began at a known moment
    episodes       refusals (or any events) less than a gap apart are one spell: what was shed, when
    describe_spell one spell in words, as lab 4 and its page say it

    >>> pages_from([False, True, True, False], [(), ("errors",), ("latency",), ()], 60.0, "demo")
    [Page(policy='demo', start_s=60.0, fired_s=120.0, end_s=180.0, signals=('latency', 'errors'))]
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Collection, NamedTuple, Sequence

from solution import traffic
from solution.numeric import percent
from solution.terminal import table, wrap

# The SRE book's order. Every list of signals is kept in this order.
SIGNALS = ("latency", "traffic", "errors", "saturation")


@dataclass(frozen=True)
class Page:
    """One page: consecutive paging windows are one page, not many (nobody wants 20 calls for one
    incident). Times are seconds on the story's clock."""
    policy: str
    start_s: float                  # start of the first window that paged
    fired_s: float                  # when it paged: that window's end (a window is judged once closed)
    end_s: float                    # end of the last consecutive paging window
    signals: tuple[str, ...]        # the signals that breached in its windows, in SIGNALS order


def pages_from(paging: Sequence[bool], signals: Sequence[Collection[str]], step_s: float,
               policy: str) -> list[Page]:
    """Turn per-window verdicts into pages: a run of consecutive paging windows is one page, whose
    signals are those of its paging windows. Window i spans [i x step_s, (i + 1) x step_s)."""
    out: list[Page] = []
    run_start, seen = None, set()
    for i, (pages_now, sig) in enumerate([*zip(paging, signals), (False, ())]):
        if pages_now:
            if run_start is None:
                run_start, seen = i, set()
            seen |= set(sig)
        elif run_start is not None:
            out.append(Page(policy=policy, start_s=run_start * step_s,
                            fired_s=(run_start + 1) * step_s, end_s=i * step_s,
                            signals=tuple(s for s in SIGNALS if s in seen)))
            run_start = None
    return out


def either(first: Sequence[Page], second: Sequence[Page], policy: str) -> list[Page]:
    """Run two policies together: pages that overlap in time are one page (an on-call engineer
    already paged for an incident is not paged again for it)."""
    out: list[Page] = []
    for p in sorted([*first, *second], key=lambda p: (p.start_s, p.end_s)):
        if out and p.start_s <= out[-1].end_s:
            last = out[-1]
            merged = set(last.signals) | set(p.signals)
            out[-1] = Page(policy=policy, start_s=last.start_s,
                           fired_s=min(last.fired_s, p.fired_s), end_s=max(last.end_s, p.end_s),
                           signals=tuple(s for s in SIGNALS if s in merged))
        else:
            out.append(Page(policy=policy, start_s=p.start_s, fired_s=p.fired_s, end_s=p.end_s,
                            signals=p.signals))
    return out


def matches(page: Page, incident: traffic.Incident) -> bool:
    """Did this page catch this incident? It overlaps the incident's window in time AND it paged on
    a signal the incident moves: a latency page during the drift does not catch the drift."""
    return (page.start_s < incident.end_s and incident.start_s < page.end_s
            and bool(set(page.signals) & set(incident.signals)))


def visible(incident: traffic.Incident) -> bool:
    """Can the golden signals see this incident at all? (The content drift moves only quality.)"""
    return bool(set(incident.signals) & set(SIGNALS))


@dataclass(frozen=True)
class Score:
    """An alert policy against the ground truth (the Workbook's criteria: precision, recall,
    detection time). Recall counts the real incidents the golden signals can see."""
    policy: str
    pages: tuple[Page, ...]
    on_real: int                    # pages that caught a real incident
    on_blips: int                   # pages on a blip only: noise the story put there
    on_nothing: int                 # pages on no incident at all
    precision: float | None         # on_real / pages; None without pages
    recall: float | None            # real incidents caught / real incidents the signals can see
    detect_s: tuple[float | None, ...]   # per real visible incident: seconds from its start to
                                         # the first page that caught it; None: missed


def score(policy: str, pages: Sequence[Page], incidents: Sequence[traffic.Incident]) -> Score:
    """Score one policy's pages against the ground truth: each page caught a real incident, a
    blip (the story's noise), or nothing; each real incident was caught, or missed."""
    real = [i for i in incidents if i.page and visible(i)]
    blips = [i for i in incidents if not i.page]
    on_real = sum(any(matches(p, i) for i in real) for p in pages)
    on_blips = sum(not any(matches(p, i) for i in real) and any(matches(p, i) for i in blips)
                   for p in pages)
    detect = tuple(min((max(0.0, p.fired_s - i.start_s) for p in pages if matches(p, i)), default=None)
                   for i in real)
    return Score(policy=policy, pages=tuple(pages), on_real=on_real, on_blips=on_blips,
                 on_nothing=len(pages) - on_real - on_blips,
                 precision=on_real / len(pages) if pages and incidents else None,
                 recall=sum(d is not None for d in detect) / len(real) if real else None,
                 detect_s=detect)


def policy_lines(scores: Sequence[Score], incidents, has_truth: bool = True) -> list[str]:
    """The alert policies side by side: pages, what they caught, precision, recall, and the minutes
    from each real incident's start to its first page (the Workbook's detection time)."""
    real = [i for i in incidents if i.page and visible(i)]
    rows = [[s.policy, len(s.pages), s.on_real, s.on_blips, s.on_nothing,
             percent(s.precision, 0), percent(s.recall, 0)]
            + ["-" if d is None else f"{d / 60:.0f}" for d in s.detect_s] for s in scores]
    lines = table(rows, ["alert policy", "pages", "real", "blip", "none", "precision", "recall"]
                  + [traffic.clock(i.start_s) for i in real]).splitlines()
    if real:
        notes = "the last columns: minutes to the first page after " + ", ".join(
            f"{traffic.clock(i.start_s)} {i.name}" for i in real)
    elif has_truth:
        notes = "no real incident of the story in this span: pages are counted, not scored"
    else:
        notes = "no ground truth for this log: pages are counted, not scored"
    for i in incidents:
        if i.page and not visible(i):
            notes += (f". Not scored: {traffic.clock(i.start_s)} {i.name}, which moves "
                      f"{'+'.join(i.signals)} only: no golden signal sees it (lab 3 does)")
    return lines + wrap(notes + ".")


def caught(page: Page, incidents: Sequence[traffic.Incident]) -> str:
    """What a page caught: a real incident, a blip, or nothing."""
    for wanted in (True, False):
        for i in incidents:
            if i.page is wanted and matches(page, i):
                return i.name if wanted else f"{i.name}, noise"
    return "nothing"


@dataclass(frozen=True)
class Detection:
    """How one detector did against a change that began at a known moment (lab 3: the drift): the
    Workbook's numbers for an alert, as the first alarm after the change and the alarms before."""
    name: str
    first_alarm_s: float | None     # the first alarm at or after the drift began
    false_alarms: int               # alarms before the drift began
    insufficient: int = 0           # windows that could not be judged

    def delay_s(self, drift_start_s: float | None) -> float | None:
        if self.first_alarm_s is None or drift_start_s is None:
            return None
        return self.first_alarm_s - drift_start_s


def score_alarms(name: str, alarm_times: Sequence[float], drift_start_s: float | None,
                 insufficient: int = 0) -> Detection:
    """An alarm whose evidence all came before the drift began is a false alarm; the first one
    after it is the detection. (A window alarms at its end, when its data is complete.)

    >>> score_alarms("z-test", [600.0, 11700.0, 12600.0], 10800.0)
    Detection(name='z-test', first_alarm_s=11700.0, false_alarms=1, insufficient=0)
    """
    start = math.inf if drift_start_s is None else drift_start_s
    false = sum(t <= start for t in alarm_times)
    first = next((t for t in alarm_times if t > start), None)
    return Detection(name=name, first_alarm_s=first, false_alarms=false, insufficient=insufficient)


class Episode(NamedTuple):
    """A spell of refusals: refusals less than EPISODE_GAP_S apart belong to one episode."""
    start_s: float
    end_s: float
    counts: tuple[tuple[str, str, int], ...]     # (tenant, reason, count), largest first

    @property
    def refused(self) -> int:
        return sum(n for *_, n in self.counts)


EPISODE_GAP_S = 300.0


def episodes(refusals: list[tuple[float, str, str]]) -> list[Episode]:
    """Group the refusals into spells: what the limiter shed, and when.

    >>> episodes([(10.0, "a", "rate"), (20.0, "a", "rate"), (900.0, "b", "shed")])[0]
    Episode(start_s=10.0, end_s=20.0, counts=(('a', 'rate', 2),))
    """
    spells: list[list[tuple[float, str, str]]] = []
    for refusal in refusals:
        if spells and refusal[0] - spells[-1][-1][0] < EPISODE_GAP_S:
            spells[-1].append(refusal)
        else:
            spells.append([refusal])
    out = []
    for spell in spells:
        counts = Counter((tenant, reason) for _, tenant, reason in spell)
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        out.append(Episode(spell[0][0], spell[-1][0], tuple((t, r, n) for (t, r), n in ranked)))
    return out


def describe_spell(e: Episode, status: dict[str, int], width: int = 60) -> str:
    """One spell of refusals in words, the biggest first, as many as fit in `width` characters;
    `status`: the HTTP status of each refusal reason (lab 4's STATUS).

    >>> describe_spell(Episode(0.0, 60.0, (("umbrella", "shed", 65), ("acme", "overload", 5))),
    ...                {"shed": 503, "overload": 503})
    'umbrella 65 x 503 shed, acme 5 x 503 overload'
    """
    total = e.refused
    text, shown = "", 0
    for tenant, reason, n in e.counts:
        prefix = f"{text}, " if text else ""
        candidate = f"{prefix}{tenant} {n:,} x {status[reason]} {reason}"
        rest = total - shown - n
        more = len(f", +{rest:,} more") if rest else 0
        if text and len(candidate) + more > width:
            break
        text, shown = candidate, shown + n
    return f"{text}, +{total - shown:,} more" if shown < total else text
