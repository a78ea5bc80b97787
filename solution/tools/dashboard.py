"""Lab 2 as a practitioner's tool: the golden-signals dashboard on a JSON-lines log, as a
self-contained HTML page, and as a Prometheus text exposition.

    python3 solution/tools/dashboard.py                            the story, with the composite alert
    python3 solution/tools/dashboard.py --from story.jsonl         a lab-1 log (its request.completed lines)
    python3 solution/tools/dashboard.py --html dashboard.html --prom metrics.prom

It calls lab 2's building blocks (solution/lab2_dashboard.py) and scores the challenge's reference
composite alert (solution/extend.py) beside lab 2's own policies. A log's lines are read by the
tool wing's one reader (tools/logread.py): broken lines are skipped and counted, never fatal.
"""

from __future__ import annotations

import argparse
import bisect
import dataclasses
import math
import shlex
import sys
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

if __package__ in (None, ""):          # run as a script: make the `solution` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from solution import lab2_dashboard as lab2
from solution import logschema as F
from solution import traffic
from solution.cli import at_most, cannot_write, fail, positive_int, refuse_ignored, run_cli, write_file
from solution.extend import composite_alert
from solution.numeric import DEFAULT_BUCKETS, cumulative_buckets
from solution.logschema import Observation
from solution.numeric import parse_rfc3339
from solution.terminal import use_color
from solution.tools.logread import (JsonLines, LogReadError, field_map, in_stretches, joined,
                                    open_log_file, parse_field_map, parse_time, splittable, usable)
from solution.tools import promtext as prom
from solution.tools.page import html_page
from solution.tools.show import breach_card, lab2_charts, lab2_tables


# ── reading a lab-1 log ─────────────────────────────────────────────────────────────────────────

@dataclass
class LogRead:
    observations: Requests              # sorted by start; ts on the log's clock
    from_story: bool                    # every start falls inside the story's six hours
    clock_zero: str                     # the instant of 0:00 on that clock, RFC 3339
    incidents: tuple[traffic.Incident, ...]   # the story's truth on that clock; () if not the story
    bad: int                            # lines skipped: not JSON, not an object, bad fields
    reasons: dict[str, int]
    warnings: list[str]                 # for stderr: how many lines were skipped, why, where


class Requests(Sequence):
    """Requests in columns (the array module: 8 bytes a number, not an object each), an
    Observation made only when one is read: a day of logs is millions of requests, and lab 2
    reads them a few times over, one at a time. A sequence like the list of Observations it
    stands for, and equal to another with the same requests in the same order."""

    def __init__(self):
        self.ts, self.latency, self.ttft = array("d"), array("d"), array("d")     # ttft: NaN = None
        self.status, self.tokens_in, self.tokens_out = array("q"), array("q"), array("q")
        self.priority, self.names = array("H"), []                  # a code, and the names

    def append(self, r: Observation) -> None:
        if r.priority not in self.names:
            self.names.append(r.priority)
        self.ts.append(r.ts)
        self.latency.append(r.latency_ms)
        self.ttft.append(math.nan if r.ttft_ms is None else r.ttft_ms)
        self.status.append(r.status)
        self.priority.append(self.names.index(r.priority))
        self.tokens_in.append(r.prompt_tokens)
        self.tokens_out.append(r.completion_tokens)

    def extend(self, other: "Requests") -> None:
        for name in other.names:
            if name not in self.names:
                self.names.append(name)
        codes = [self.names.index(name) for name in other.names]     # theirs, in my numbering
        for mine, theirs in zip(self._columns()[:-1], other._columns()[:-1]):
            mine.extend(theirs)
        self.priority.extend(codes[c] for c in other.priority)

    def _columns(self):
        return self.ts, self.latency, self.ttft, self.status, self.tokens_in, self.tokens_out, self.priority

    def reorder(self, order) -> None:
        """Put the requests in this order (a list of their positions)."""
        for column in self._columns():
            column[:] = type(column)(column.typecode, (column[i] for i in order))

    def __len__(self) -> int:
        return len(self.ts)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        ttft = self.ttft[i]
        return Observation(self.ts[i], self.latency[i], None if ttft != ttft else ttft, self.status[i],
                           self.names[self.priority[i]], self.tokens_in[i], self.tokens_out[i])

    def __iter__(self):
        names = self.names
        for ts, latency, ttft, status, code, tokens_in, tokens_out in zip(
                self.ts, self.latency, self.ttft, self.status, self.priority, self.tokens_in, self.tokens_out):
            yield Observation(ts, latency, None if ttft != ttft else ttft, status, names[code],
                              tokens_in, tokens_out)

    def __eq__(self, other) -> bool:
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))


def _number(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError("not a number")
    return float(value)


MAX_SPAN_DAYS = 7        # one window a minute: a week is 10,080 windows


def _in_span(requests: Requests, since: float | None, until: float | None):
    """The requests (sorted by start, in epoch seconds) inside the span to chart, and a note on
    those left out. Given no span, it is the bulk of the log: Tukey's fences for "far out" values
    (Exploratory Data Analysis, 1977), 3 interquartile ranges beyond the quartiles of the start
    times, and at least an hour. One line dated 1970 in a log of today is a broken clock, not a
    reason to draw fifty-six years of empty minutes."""
    if since is None and until is None:
        rank = lambda p: requests.ts[max(1, math.ceil(p / 100 * len(requests))) - 1]  # noqa: E731
        low, high = rank(25), rank(75)                 # the quartiles, by nearest rank
        margin = max(3600.0, 3 * (high - low))
        since, until, why = low - margin, high + margin, "far outside the bulk of the log"
    else:
        why = "outside --since/--until"
    since = -math.inf if since is None else since
    until = math.inf if until is None else until
    first, last = bisect.bisect_left(requests.ts, since), bisect.bisect_left(requests.ts, until)
    left_out = len(requests) - (last - first)
    if left_out:
        requests.reorder(range(first, last))
    return requests, (f"left out {left_out} request line(s) that started {why}" if left_out else None)


def _observation(rec: dict) -> Observation:
    """The request of a request.completed record, its ts the start in epoch seconds; ValueError
    and the like when a field is missing or unusable."""
    attrs = rec.get("attributes")
    if not isinstance(attrs, dict):
        raise ValueError("no attributes")
    latency = _number(attrs[F.LATENCY_MS])
    status = attrs[F.STATUS]
    if isinstance(status, bool) or not isinstance(status, int) or latency < 0:
        raise ValueError("bad status or latency")
    ttft = attrs.get(F.TTFT_MS)
    priority = str(attrs.get(F.PRIORITY, "interactive"))
    tokens_in, tokens_out = int(_number(attrs.get(F.INPUT_TOKENS, 0))), int(_number(attrs.get(F.OUTPUT_TOKENS, 0)))
    share = _SHARED.setdefault                          # one object for every equal value
    return Observation(parse_time(rec["timestamp"]) - latency / 1000.0, latency,
                       None if ttft is None else _number(ttft), share(status, status),
                       share(priority, priority), share(tokens_in, tokens_in), share(tokens_out, tokens_out))


# A million requests hold a million equal "interactive"s and 200s unless they share one: a third
# of a request's memory (the dashboard holds every request of the span it charts).
_SHARED: dict = {}


def _requests(stream) -> tuple[Requests, JsonLines, int]:
    """The requests of a stream of lines, their start (epoch seconds) as ts; the bad lines; the
    request lines without usable fields. One record at a time, kept as an Observation only: a
    line that does not spell request.completed is no request, and is not even parsed (four lines
    in five of lab 1's log)."""
    requests, bad, unusable = Requests(), JsonLines(), 0
    for _, rec in usable(stream, ("body",), bad, naming=F.REQUEST_COMPLETED.encode()):
        if rec.get("body") != F.REQUEST_COMPLETED:
            continue
        try:
            requests.append(_observation(rec))
        except (KeyError, TypeError, ValueError, OverflowError):
            unusable += 1
    return requests, bad, unusable


def read_log(path: str, scenario: traffic.Scenario = traffic.STORY, since: float | None = None,
             until: float | None = None) -> LogRead:
    """The requests of a lab-1 JSON-lines log: its `request.completed` lines. Other events are
    ignored (they are not requests, and a line that does not name request.completed is not even
    read); request lines that are not JSON, or lack a usable timestamp, latency or status, are
    skipped and counted. The timestamp is when the request COMPLETED, so it started latency_ms
    earlier.

    The clock: a log of the story (every start inside its six hours) keeps the story's minutes,
    from the first minute it holds (a log of 2:00-2:20 starts its clock at 2:00), and the story's
    ground truth comes along, on that clock. Any other log starts its clock at its first request,
    and has no ground truth."""
    with open_log_file(path) as stream:                # a big plain file: a stretch a process
        parts = in_stretches(path, _requests) if splittable(path, stream) else [_requests(stream)]
    starts = parts[0][0]
    for part, _, _ in parts[1:]:
        starts.extend(part)
    lines = joined([bad for _, bad, _ in parts])
    warnings = [lines.summary(path)] if lines.bad else []
    reasons = dict(lines.reasons)
    unusable = sum(fields for _, _, fields in parts)
    if unusable:
        reasons["bad request fields"] = unusable
    fields = reasons.get("bad request fields", 0)
    if fields:
        warnings.append(f"{path}: skipped {fields} request.completed line(s) without a usable "
                        "timestamp, latency_ms or http.response.status_code")
    if not starts:
        raise LogReadError(f"{path}: no usable request.completed lines")
    starts.reorder(sorted(range(len(starts)), key=starts.ts.__getitem__))     # by start
    starts, note = _in_span(starts, since, until)
    if note:
        warnings.append(f"{path}: {note}")
    if not starts:
        raise LogReadError(f"{path}: no request started between --since and --until")
    days = (starts.ts[-1] - starts.ts[0]) / 86_400
    if days > MAX_SPAN_DAYS:
        raise LogReadError(f"{path}: the requests span {days:,.1f} days, more than "
                           f"{MAX_SPAN_DAYS}; give --since and --until to pick the part to chart")
    epoch = parse_rfc3339(scenario.epoch)
    first, last = starts.ts[0], starts.ts[-1]
    incidents: tuple[traffic.Incident, ...] = ()
    from_story = epoch - 1.0 <= first and last < epoch + scenario.duration_s
    if from_story:
        shift = 60.0 * max(0, math.floor((first - epoch) / 60.0))      # the story's minute grid
        zero = epoch + shift
        incidents = tuple(_shifted(i, shift) for i in scenario.incidents
                          if i.end_s > shift and i.start_s <= last - epoch)
    else:
        zero = first
    clock_zero = datetime.fromtimestamp(zero, timezone.utc).isoformat(timespec="milliseconds")
    starts.ts = array("d", (max(0.0, t - zero) for t in starts.ts))     # onto the chart's clock
    return LogRead(starts, from_story,
                   clock_zero.replace("+00:00", "Z"), incidents, sum(reasons.values()), reasons,
                   warnings)


def _shifted(incident: traffic.Incident, shift_s: float) -> traffic.Incident:
    return replace(incident, start_s=incident.start_s - shift_s, end_s=incident.end_s - shift_s)



# ── Prometheus text exposition ──────────────────────────────────────────────────────────────────

@dataclass(frozen=True)
class Histogram:
    """One Prometheus histogram series: cumulative counts per `le` bound, the sum and the count."""
    name: str
    labels: tuple[tuple[str, str], ...]
    counts: tuple[int, ...]
    total_s: float

    @property
    def count(self) -> int:
        return self.counts[-1]


def span_totals(requests) -> tuple[dict, dict, dict, tuple[int, int]]:
    """Over the whole span: latencies in seconds by (priority, "success" | "failure"), times to
    first token of successes by priority, request counts by (priority, status), and the input
    and output tokens: what a Prometheus client would have counted."""
    latency_s: dict[tuple[str, str], list[float]] = {}
    ttft_s: dict[str, list[float]] = {}
    codes: dict[tuple[str, int], int] = {}
    tokens_in = tokens_out = 0
    for r in requests:
        ok = r.status < 500
        latency_s.setdefault((r.priority, "success" if ok else "failure"), []).append(r.latency_ms / 1000)
        if ok and r.ttft_ms is not None:
            ttft_s.setdefault(r.priority, []).append(r.ttft_ms / 1000)
        codes[(r.priority, r.status)] = codes.get((r.priority, r.status), 0) + 1
        tokens_in += r.prompt_tokens
        tokens_out += r.completion_tokens
    return latency_s, ttft_s, codes, (tokens_in, tokens_out)


def histogram(name: str, labels: dict[str, str], values_s: list[float]) -> Histogram:
    return Histogram(name, tuple(labels.items()), tuple(cumulative_buckets(values_s)), sum(values_s))


def exposition(requests, result: lab2.Result) -> str:
    """The counters and histograms in the Prometheus text format (tools/promtext.py)."""
    latency_s, ttft_s, codes, tokens = span_totals(requests)
    histograms = [histogram("opslab_request_duration_seconds", {"priority": p, "outcome": o}, values)
                  for (p, o), values in sorted(latency_s.items())]
    histograms += [histogram("opslab_time_to_first_token_seconds", {"priority": p}, values)
                   for p, values in sorted(ttft_s.items())]
    out = [prom.family("opslab_requests_total", "counter",
                       "Requests answered, by priority and HTTP status code.",
                       [((("priority", p), ("code", s)), n) for (p, s), n in sorted(codes.items())]),
           prom.family("opslab_tokens_total", "counter",
                       "Tokens processed (gen_ai.usage.*_tokens), by type.",
                       [((("type", "input"),), tokens[0]), ((("type", "output"),), tokens[1])])]
    helps = {"opslab_request_duration_seconds":
             "End-to-end latency in seconds; successes and failures apart (SRE book).",
             "opslab_time_to_first_token_seconds": "Time to first token of successful requests, seconds."}
    for name, text in helps.items():
        out += [f"# HELP {name} {text}", f"# TYPE {name} histogram"]
        for h in (h for h in histograms if h.name == name):
            out += prom.histogram_samples(name, h.labels, DEFAULT_BUCKETS, h.counts, h.total_s)
    last = result.windows[-1]
    if last.saturation is not None:                     # unknown without a capacity
        out.append(prom.family("opslab_saturation_ratio", "gauge",
                               "Mean requests in flight over capacity, last window.",
                               [((), f"{last.saturation:.4f}")]))
    return "\n".join(out) + "\n"


# ── the page and the command line ───────────────────────────────────────────────────────────────

def html_report(result: lab2.Result, log: str | None = None, command: str = "") -> str:
    """The dashboard as a page to post: the breach to post on top, the charts, the tables. A log
    is named by its file name only: a page that travels should not carry the path of somebody's
    home directory."""
    if log and log != "-":
        result = dataclasses.replace(result, source=result.source.replace(log, Path(log).name, 1))
    card = breach_card(result, command or "python3 solution/tools/dashboard.py")
    return html_page("opslab lab 2: the golden signals and SLO burn",
                     "\n".join(([card] if card else []) + lab2_charts(result) + lab2_tables(result)))


def reproduce(argv: list[str]) -> str:
    """The command line that draws the same dashboard, for the page: without the output files,
    and with a log named by its file name only."""
    kept, skip = [], False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        option = arg.split("=", 1)[0]
        if option in ("--html", "--prom", "--force"):
            skip = "=" not in arg and option != "--force"
            continue
        if i and argv[i - 1] == "--from" and arg != "-":
            arg = Path(arg).name
        elif option == "--from" and "=" in arg:
            arg = "--from=" + Path(arg.split("=", 1)[1]).name
        kept.append(arg)
    return shlex.join(["python3", "solution/tools/dashboard.py", *kept])


def timestamp(text: str) -> float:
    """An argparse type: an RFC 3339 timestamp, as seconds since the Unix epoch."""
    try:
        return parse_rfc3339(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an RFC 3339 time with a zone, such as "
                                         "2026-11-02T11:00:00Z") from None


def main(argv: list[str] | None = None) -> int:
    parser = lab2.add_flags(argparse.ArgumentParser(
        prog="dashboard.py",
        description="Lab 2's golden-signals dashboard, with the composite alert scored beside the "
                    "others, on the story or on a JSON-lines log; as text, an HTML page, or "
                    "Prometheus metrics."))
    parser.add_argument("--min-signals", type=at_most(positive_int, 4), default=2, metavar="N",
                        help="the composite alert pages when N or more of the 4 signals breach (1-4, default 2)")
    parser.add_argument("--from", dest="log", metavar="FILE",
                        help="read the requests from a lab-1 JSON-lines log (its request.completed lines); "
                             "gzip'd or not, - for standard input")
    for flag, side in (("--since", "before"), ("--until", "at or after")):
        parser.add_argument(flag, type=timestamp, metavar="TIME",
                            help=f"with --from: leave out requests that started {side} TIME, in "
                                 "RFC 3339 (2026-11-02T11:00:00Z); by default, only lines far "
                                 "outside the bulk of the log are left out, and counted")
    parser.add_argument("--map", action="append", default=[], metavar="NAME=PATH",
                        help="with --from: map a field of your log onto one this tool reads, e.g. "
                             "body=event, attributes=* (see logs.py query --help); repeat")
    parser.add_argument("--html", metavar="FILE",
                        help="also write a self-contained HTML page with charts (- for standard output)")
    parser.add_argument("--prom", metavar="FILE",
                        help="also write the Prometheus text exposition (- for standard output)")
    parser.add_argument("--force", action="store_true", help="overwrite the --html and --prom files")
    parser.add_argument("--capacity", type=positive_int, metavar="N",
                        help="with --from: requests your service serves at once, for saturation "
                             "(without it, a log from elsewhere has no saturation signal)")
    args = parser.parse_args(argv)
    from_log = "only applies with --from FILE (the story knows its own)"
    refuse_ignored(parser, argv, [
        ("--seed", not args.log, "makes the story; with --from the requests come from the log"),
        ("--since", bool(args.log), from_log), ("--until", bool(args.log), from_log),
        ("--capacity", bool(args.log), from_log), ("--map", bool(args.log), from_log),
        ("--force", bool(args.html or args.prom), "only applies with --html or --prom FILE")])
    settings = lab2.settings(args)
    try:
        if args.log:
            with field_map(parse_field_map(args.map)):
                log = read_log(args.log, since=args.since, until=args.until)
            requests = log.observations
            if args.capacity or not log.from_story:        # the story's 10 slots are not yours
                settings["scenario"] = dataclasses.replace(traffic.STORY, capacity=args.capacity)
            if not args.capacity and not log.from_story:
                log.warnings.append("saturation left out: how many requests your service serves at "
                                    "once is not in the log; give --capacity N")
            result = lab2.run(requests, **settings, composite=composite_alert,
                              min_signals=args.min_signals, duration_s=requests[-1].ts + 1e-6,
                              incidents=log.incidents, has_truth=log.from_story,
                              source=f"{'standard input' if args.log == '-' else args.log} (0:00 = {log.clock_zero})")
        else:
            requests = traffic.generate(seed=args.seed)
            result = lab2.run(requests, **settings, composite=composite_alert,
                              min_signals=args.min_signals)
    except (LogReadError, ValueError) as exc:
        return fail(str(exc))
    if args.log:
        for warning in log.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        if log.bad:
            why = ", ".join(f"{n} {reason}" for reason, n in sorted(log.reasons.items()))
            print(f"skipped {log.bad} bad line(s): {why}", file=sys.stderr)
    if args.html == args.prom == "-":
        return fail("--html and --prom cannot both go to standard output (-)")
    if "-" not in (args.html, args.prom):          # else standard output is the page or metrics
        print(lab2.report(result, color=use_color()))
    command = reproduce(sys.argv[1:] if argv is None else argv)
    for path, text in ((args.html, lambda: html_report(result, args.log, command)),
                       (args.prom, lambda: exposition(requests, result))):
        if path:
            try:
                write_file(path, lambda stream: stream.write(text()), args.force)
            except OSError as exc:
                return cannot_write(path, exc)
            print(f"wrote {'standard output' if path == '-' else path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    run_cli(main)
