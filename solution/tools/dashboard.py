"""Lab 2 as a practitioner's tool: the golden-signals dashboard on a JSON-lines log, as a
self-contained HTML page, and as a Prometheus text exposition.

    python3 solution/tools/dashboard.py                            the story, with the composite alert
    python3 solution/tools/dashboard.py --from story.jsonl         a lab-1 log (its request.completed lines)
    python3 solution/tools/dashboard.py --html dashboard.html --prom metrics.prom

It calls lab 2's building blocks (solution/lab2_dashboard.py) and scores the challenge's reference
composite alert (solution/extend.py) beside lab 2's own policies. A log's lines are read by the
tool wing's one reader (tools/logread.py): broken lines are skipped and counted, never fatal.
Each request is summed into its window as it is read (tools/tally.py) and let go: the memory is
the windows', whatever the size of the log.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import shlex
import sys
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

if __package__ in (None, ""):          # run as a script: make the `solution` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from solution import lab2_dashboard as lab2
from solution import logschema as F
from solution import traffic
from solution.cli import at_most, cannot_write, fail, positive_int, refuse_ignored, run_cli, write_file
from solution.extend import composite_alert
from solution.numeric import DEFAULT_BUCKETS, parse_rfc3339
from solution.terminal import use_color
from solution.tools.logread import (JsonLines, LogReadError, field_map, in_stretches, joined,
                                    open_log_file, parse_field_map, parse_time, splittable, usable)
from solution.tools import promtext as prom
from solution.tools.page import html_page
from solution.tools.show import breach_card, lab2_charts, lab2_tables
from solution.tools.tally import Tally, tally_of


# ── reading a lab-1 log ─────────────────────────────────────────────────────────────────────────

@dataclass
class LogRead:
    tally: Tally                        # the requests, summed by window (tools/tally.py)
    zero: float                         # the chart's 0:00, in seconds since the Unix epoch
    duration_s: float                   # from 0:00 to the last request's start
    from_story: bool                    # every start falls inside the story's six hours
    clock_zero: str                     # zero, RFC 3339
    incidents: tuple[traffic.Incident, ...]   # the story's truth on that clock; () if not the story
    bad: int                            # lines skipped: not JSON, not an object, bad fields
    reasons: dict[str, int]
    warnings: list[str]                 # for stderr: how many lines were skipped, why, where

    def measured(self, capacity: int | None) -> tuple:
        """What lab 2's measure() would make of these requests, for its run()."""
        return self.tally.measured(self.zero, self.duration_s, capacity)


def _number(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError("not a number")
    return float(value)


MAX_SPAN_DAYS = 7        # one window a minute: a week is 10,080 windows
STRAY_WINDOWS = 20_000   # windows held for lines far from the rest, before the span is known


class TooManyWindows(LogReadError):
    """The log's requests are spread over more windows than a chart holds."""


def _request(rec: dict) -> tuple:
    """The request of a request.completed record: (start in epoch seconds, latency_ms, ttft_ms,
    status, priority, input tokens, output tokens); ValueError and the like when a field is
    missing or unusable."""
    attrs = rec.get("attributes")
    if not isinstance(attrs, dict):
        raise ValueError("no attributes")
    latency = _number(attrs[F.LATENCY_MS])
    status = attrs[F.STATUS]
    if isinstance(status, bool) or not isinstance(status, int) or latency < 0:
        raise ValueError("bad status or latency")
    ttft = attrs.get(F.TTFT_MS)
    return (parse_time(rec["timestamp"]) - latency / 1000.0, latency, None if ttft is None else _number(ttft),
            status, str(attrs.get(F.PRIORITY, "interactive")),
            int(_number(attrs.get(F.INPUT_TOKENS, 0))), int(_number(attrs.get(F.OUTPUT_TOKENS, 0))))


def _requests(stream, window_s: float, latency_limit_s: float, since: float, until: float,
              epoch: float):
    """The tally of a stream's requests (tools/tally.py), those that started in [since, until);
    the bad lines; the request lines without usable fields; the requests outside the span. One
    record at a time, summed into its window and let go: a line that does not spell
    request.completed is no request, and is not even parsed (four lines in five of lab 1's log)."""
    tally, bad, unusable, outside = Tally(window_s, latency_limit_s), JsonLines(), 0, 0
    most = int(MAX_SPAN_DAYS * 86_400 // window_s) + STRAY_WINDOWS   # a week, and stray lines
    for _, rec in usable(stream, ("body",), bad, naming=F.REQUEST_COMPLETED.encode()):
        if rec.get("body") != F.REQUEST_COMPLETED:
            continue
        try:
            request = _request(rec)
            if epoch - 1.0 <= request[0] < epoch:     # the log's milliseconds, rounded: the
                request = (epoch, *request[1:])       # story's first requests start at its 0:00
        except (KeyError, TypeError, ValueError, OverflowError):
            unusable += 1
            continue
        if since <= request[0] < until:
            tally.add(*request)
            if len(tally.slots) > most:
                raise TooManyWindows(
                    f"the requests' start times fall in more than {most:,} windows of {window_s:g} s "
                    "(over a week, or a clock gone wild); give --since and --until to pick the "
                    "part to chart")
        else:
            outside += 1
    return tally, bad, unusable, outside


def _bulk(tally: Tally) -> tuple[float, float]:
    """The span to chart when none is given: the bulk of the log, by Tukey's fences for "far out"
    values (Exploratory Data Analysis, 1977), 3 interquartile ranges beyond the quartiles of the
    start times, and at least an hour. One line dated 1970 in a log of today is a broken clock,
    not a reason to draw fifty-six years of empty minutes. The quartiles are read from the
    windows (the first start in the window that holds each): to within a window."""
    slots = tally.requests()
    total, seen, quartiles = sum(s.count for _, s in slots), 0, []
    ranks = iter(max(1, math.ceil(p / 100 * total)) for p in (25, 75))
    wanted = next(ranks)
    for _, slot in slots:
        seen += slot.count
        while wanted is not None and seen >= wanted:
            quartiles.append(slot.first)
            wanted = next(ranks, None)
    low, high = quartiles
    margin = max(3600.0, 3 * (high - low))
    return low - margin, high + margin


def read_log(path: str, scenario: traffic.Scenario = traffic.STORY, since: float | None = None,
             until: float | None = None, window_s: float = 60.0,
             latency_limit_s: float = traffic.SLOW_MS / 1000) -> LogRead:
    """The requests of a lab-1 JSON-lines log (its `request.completed` lines), summed by window
    as they are read: memory for the windows, whatever the number of lines. Other events are
    ignored (they are not requests, and a line that does not name request.completed is not even
    read); request lines that are not JSON, or lack a usable timestamp, latency or status, are
    skipped and counted. The timestamp is when the request COMPLETED, so it started latency_ms
    earlier.

    The clock: the chart's 0:00 is the first request's window, on a grid of lcm(window, 60 s)
    since the Unix epoch (tools/tally.py). A log of the story (every start inside its six hours)
    keeps the story's minutes (a log of 2:00-2:20 starts its clock at 2:00), and the story's
    ground truth comes along, on that clock; any other log has no ground truth."""
    if window_s != round(window_s):
        raise ValueError(f"--window {window_s:g}: with --from, a window is a whole number of seconds "
                         "(windows are cut on a grid as the log is read)")
    epoch = parse_rfc3339(scenario.epoch)
    work = partial(_requests, window_s=window_s, latency_limit_s=latency_limit_s, epoch=epoch,
                   since=-math.inf if since is None else since,
                   until=math.inf if until is None else until)
    try:
        with open_log_file(path) as stream:            # a big plain file: a stretch a process
            parts = in_stretches(path, work) if splittable(path, stream) else [work(stream)]
    except TooManyWindows as exc:
        raise LogReadError(f"{path}: {exc}") from None
    tally = parts[0][0]
    for part, _, _, _ in parts[1:]:
        tally.merge(part)
    lines = joined([bad for _, bad, _, _ in parts])
    warnings = [lines.summary(path)] if lines.bad else []
    reasons = dict(lines.reasons)
    unusable, outside = sum(part[2] for part in parts), sum(part[3] for part in parts)
    if unusable:
        reasons["bad request fields"] = unusable
        warnings.append(f"{path}: skipped {unusable} request.completed line(s) without a usable "
                        "timestamp, latency_ms or http.response.status_code")
    if not len(tally) and not outside:
        raise LogReadError(f"{path}: no usable request.completed lines")
    why = "outside --since/--until"
    if len(tally) and since is None and until is None:
        outside, why = tally.keep(*_bulk(tally)), "far outside the bulk of the log"
    if outside:
        warnings.append(f"{path}: left out {outside} request line(s) that started {why}")
    if not len(tally):
        raise LogReadError(f"{path}: no request started between --since and --until")
    if note := tally.inexact():
        warnings.append(f"{path}: {note}")
    first, last = tally.first(), tally.last()
    days = (last - first) / 86_400
    if days > MAX_SPAN_DAYS:
        raise LogReadError(f"{path}: the requests span {days:,.1f} days, more than "
                           f"{MAX_SPAN_DAYS}; give --since and --until to pick the part to chart")
    grid = tally.grid()
    zero = math.floor(first / grid) * grid
    from_story = epoch - 1.0 <= first and last < epoch + scenario.duration_s
    incidents = tuple(_shifted(i, zero - epoch) for i in scenario.incidents
                      if i.end_s > zero - epoch and i.start_s <= last - epoch) if from_story else ()
    clock_zero = datetime.fromtimestamp(zero, timezone.utc).isoformat(timespec="milliseconds")
    return LogRead(tally, zero, last - zero + 1e-6, from_story, clock_zero.replace("+00:00", "Z"),
                   incidents, sum(reasons.values()), reasons, warnings)


def _shifted(incident: traffic.Incident, shift_s: float) -> traffic.Incident:
    return replace(incident, start_s=incident.start_s - shift_s, end_s=incident.end_s - shift_s)



# ── Prometheus text exposition ──────────────────────────────────────────────────────────────────

def exposition(tally: Tally, result: lab2.Result) -> str:
    """The counters and histograms in the Prometheus text format (tools/promtext.py), over the
    span charted: what a Prometheus client would have counted."""
    latency, ttft, codes, tokens = tally.totals()
    out = [prom.family("opslab_requests_total", "counter",
                       "Requests answered, by priority and HTTP status code.",
                       [((("priority", p), ("code", s)), n) for (p, s), n in sorted(codes.items())]),
           prom.family("opslab_tokens_total", "counter",
                       "Tokens processed (gen_ai.usage.*_tokens), by type.",
                       [((("type", "input"),), tokens[0]), ((("type", "output"),), tokens[1])])]
    for name, text, series, label in (
            ("opslab_request_duration_seconds",
             "End-to-end latency in seconds; successes and failures apart (SRE book).", latency,
             lambda key: (("priority", key[0]), ("outcome", key[1]))),
            ("opslab_time_to_first_token_seconds", "Time to first token of successful requests, seconds.",
             ttft, lambda key: (("priority", key),))):
        out += [f"# HELP {name} {text}", f"# TYPE {name} histogram"]
        for key, (counts, total_s) in sorted(series.items()):
            out += prom.histogram_samples(name, label(key), DEFAULT_BUCKETS, counts, total_s)
    last = result.windows[-1]
    if last.saturation is not None:                     # unknown without a capacity
        out.append(prom.family("opslab_saturation_ratio", "gauge",
                               "Mean requests in flight over capacity, last window.",
                               [((), f"{last.saturation:.4f}")]))
    return "\n".join(out) + "\n"


# ── the page and the command line ───────────────────────────────────────────────────────────────

def html_report(result: lab2.Result, log: str | None = None, command: str = "") -> str:
    """The dashboard as a page to post: the breach to post on top, the charts, the tables. A log
    is named as `shown_path` names it: as given, but never by an absolute path that would carry
    somebody's home directory or machine with the page."""
    if log and log != "-":
        result = dataclasses.replace(result, source=result.source.replace(log, shown_path(log), 1))
    card = breach_card(result, command or "python3 solution/tools/dashboard.py")
    return html_page("opslab lab 2: the golden signals and SLO burn",
                     "\n".join(([card] if card else []) + lab2_charts(result) + lab2_tables(result)))


def shown_path(path: str) -> str:
    """A log's path as a page may show it: a relative path as given (the command reproduces from
    the same folder); an absolute one made relative to the working folder when inside it, else
    to the home folder (~/...), else only its file name (run the command from the log's folder)."""
    given = Path(path)
    if not given.is_absolute():
        return path
    for base, prefix in ((Path.cwd(), ""), (Path.home(), "~/")):
        try:
            return prefix + str(given.relative_to(base))
        except ValueError:
            continue
    return given.name


def reproduce(argv: list[str], seed: int | None = None) -> str:
    """The command line that draws the same dashboard, for the page: the flags as given, without
    the output files, the log named by `shown_path`, and the story's seed said even when it was
    the default (`seed`: None for a log)."""
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
            arg = shown_path(arg)
        elif option == "--from" and "=" in arg:
            arg = "--from=" + shown_path(arg.split("=", 1)[1])
        kept.append(arg)
    if seed is not None and not any(a.split("=", 1)[0] == "--seed" for a in kept):
        kept = ["--seed", str(seed), *kept]
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
                    "Prometheus metrics.",
        epilog="A log is read in one pass (a big file by one process a core), each request summed "
               "into its window and let go: memory grows with the windows charted, not with the "
               "lines (a day of one-minute windows: about 50 MB). With --from, --window is a whole "
               "number of seconds, and windows lie on a grid of lcm(window, 60 s) from the Unix "
               "epoch. Latency percentiles are exact up to 512 latencies a window, past that within "
               "0.5 % (a DDSketch), and stderr says so."))
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
                log = read_log(args.log, since=args.since, until=args.until, window_s=args.window,
                               latency_limit_s=args.latency_limit)
            scenario = traffic.STORY                        # the story's 10 slots are not yours
            if args.capacity or not log.from_story:
                scenario = settings["scenario"] = dataclasses.replace(scenario, capacity=args.capacity)
            if not args.capacity and not log.from_story:
                log.warnings.append("saturation left out: how many requests your service serves at "
                                    "once is not in the log; give --capacity N")
            result = lab2.run(**settings, composite=composite_alert, min_signals=args.min_signals,
                              measured=log.measured(scenario.capacity),
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
    command = reproduce(sys.argv[1:] if argv is None else argv, None if args.log else args.seed)
    for path, text in ((args.html, lambda: html_report(result, args.log, command)),
                       (args.prom, lambda: exposition(log.tally if args.log else tally_of(
                           requests, args.window, args.latency_limit), result))):
        if path:
            try:
                write_file(path, lambda stream: stream.write(text()), args.force)
            except OSError as exc:
                return cannot_write(path, exc)
            print(f"wrote {'standard output' if path == '-' else path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    run_cli(main)
