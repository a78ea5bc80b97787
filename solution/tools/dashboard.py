"""Lab 2 as a practitioner's tool: the golden-signals dashboard on a JSON-lines log, as a
self-contained HTML page, and as a Prometheus text exposition.

    python3 solution/tools/dashboard.py                            the story, with the composite alert
    python3 solution/tools/dashboard.py --from story.jsonl         a lab-1 log (its request.completed lines)
    python3 solution/tools/dashboard.py --html dashboard.html --prom metrics.prom
    python3 solution/tools/dashboard.py --rules slo.rules.yml --rules-test slo.test.yml \
        --scrape-config prometheus.yml       lab 2's SLOs as Prometheus rules, proven by promtool

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
import os
import re
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
from solution.redaction import neutralize
from solution.terminal import use_color
from solution.tools.logread import (JsonLines, LogReadError, Reading, add_reading_flags,
                                    duration_ms, explain, in_stretches, joined, open_log_file,
                                    parse_time, reading_from, reason, rfc3339_seconds,
                                    splittable, usable)
from solution.tools import promtext as prom
from solution.tools import slorules
from solution.tools.gateway import DURATION_BUCKETS
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

    def measured(self, capacity: int | None) -> lab2.Measurements:
        """What lab 2's measure() would make of these requests, for its run()."""
        return self.tally.measured(self.zero, self.duration_s, capacity)


# What one request can be: a latency or a time to first token up to a day, a count of tokens up
# to a trillion, an HTTP status of three digits (RFC 9110, section 15). A log that says 1.7e308 ms
# has a broken field, not a slow request: the line is counted as bad, never summed.
MAX_LATENCY_MS = 86_400_000.0
MAX_TOKENS = 10 ** 12
# and a start from the Unix epoch to the year 3000: 9999-12-31T23:59:59.999Z is a clock gone wild
LATEST_START = 32_503_680_000.0


def dashboard_of(log: LogRead, source: str, capacity: int | None,
                 measured: lab2.Measurements | None = None, **knobs) -> lab2.Result:
    """Lab 2's dashboard of a log, composed of its building blocks: run() on the log's
    measurements (saturation against `capacity`), scored against the story's incidents on the
    log's clock when the log is the story's (none otherwise), the log named as its source."""
    scenario = replace(knobs.pop("scenario", traffic.STORY), incidents=log.incidents,
                       capacity=capacity)
    measured = log.measured(capacity) if measured is None else measured
    result = lab2.run(measured=measured, scenario=scenario, **knobs)
    return replace(result, source=source, has_truth=log.from_story)


def _number(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError("not a number")
    return float(value)


def _in_range(value: float, key: str, most: float) -> float:
    """A request's number, from 0 to `most`; BadRequest naming the field otherwise."""
    if not 0 <= value <= most:
        raise BadRequest(reason(f"{key} out of range", f"0 to {most:,.0f}"))
    return value


MAX_SPAN_DAYS = 7        # one window a minute: a week is 10,080 windows
STRAY_WINDOWS = 20_000   # windows held for lines far from the rest, before the span is known


class TooManyWindows(LogReadError):
    """The log's requests are spread over more windows than a chart holds."""


class BadRequest(ValueError):
    """A request.completed record without a usable field: its reason, with the fix."""

    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


def _field_reason(attrs: dict, key: str, unit: str) -> str:
    """Why the number at `key` cannot be read, and the --map conversion that would read it."""
    value = attrs.get(key)
    fix = f"--map attributes.{key}=<your field>"
    if key not in attrs:
        return reason(f"no {key}", f"{fix}{unit}")
    if isinstance(value, str):
        try:
            duration_ms(value)
            return reason(f"{key} is text", f"{value[:12]!r} is a duration: {fix}:duration")
        except ValueError:
            return reason(f"{key} is text", f"{value[:12]!r}: {fix}:number")
    return reason(f"{key} not a number")


def _request(rec: dict) -> tuple:
    """The request of a request.completed record: (start in epoch seconds, latency_ms, ttft_ms,
    status, priority, input tokens, output tokens); BadRequest, with the reason and the --map
    that would fix it, when a field is missing or unusable."""
    attrs = rec.get("attributes")
    if not isinstance(attrs, dict):
        raise BadRequest(reason("no attributes", "--map attributes=* reads the other fields as attributes"))
    try:
        latency = _number(attrs[F.LATENCY_MS])
    except (KeyError, ValueError):
        raise BadRequest(_field_reason(attrs, F.LATENCY_MS, " (:seconds if in seconds)")) from None
    status = attrs.get(F.STATUS)
    if isinstance(status, bool) or not isinstance(status, int):
        raise BadRequest(_field_reason(attrs, F.STATUS, ""))
    if latency < 0:
        raise BadRequest(reason(f"{F.LATENCY_MS} negative"))
    _in_range(latency, F.LATENCY_MS, MAX_LATENCY_MS)
    if not 100 <= status <= 599:
        raise BadRequest(reason(f"{F.STATUS} not an HTTP status", "100 to 599"))
    ttft = attrs.get(F.TTFT_MS)
    start = parse_time(rec["timestamp"]) - latency / 1000.0
    if not 0 <= start < LATEST_START:
        raise BadRequest(reason("start out of range", "from 1970 to the year 3000"))
    return (start, latency,
            None if ttft is None else _in_range(_number(ttft), F.TTFT_MS, MAX_LATENCY_MS),
            status, str(attrs.get(F.PRIORITY, "interactive")),
            int(_in_range(_number(attrs.get(F.INPUT_TOKENS, 0)), F.INPUT_TOKENS, MAX_TOKENS)),
            int(_in_range(_number(attrs.get(F.OUTPUT_TOKENS, 0)), F.OUTPUT_TOKENS, MAX_TOKENS)))


@dataclass
class Read:
    """What one stretch of a log gave: its tally, its bad lines, its request lines without usable
    fields (by reason), and counts: requests outside the span, requests that bear the story's
    mark, requests under a millisecond (seconds in a millisecond field?)."""
    tally: Tally
    bad: JsonLines
    fields: JsonLines
    outside: int = 0
    marked: int = 0
    tiny: int = 0


def _requests(stream, window_s: float, latency_limit_s: float, since: float, until: float,
              epoch: float, reading: Reading = Reading()) -> Read:
    """The tally of a stream's requests (tools/tally.py), those that started in [since, until);
    the bad lines; the request lines without usable fields; the requests outside the span. One
    record at a time, summed into its window and let go: a line that does not spell
    request.completed is no request, and is not even parsed (four lines in five of lab 1's log).
    A request line is read as every reader reads a line (a time and a body: F.REQUIRED), with
    the command's --map, --tz, --format and --max-line (`reading`)."""
    read = Read(tally=Tally(window_s, latency_limit_s), bad=JsonLines(), fields=JsonLines())
    tally = read.tally
    most = int(MAX_SPAN_DAYS * 86_400 // window_s) + STRAY_WINDOWS   # a week, and stray lines
    for number, rec in usable(stream, F.REQUIRED, read.bad, naming=F.REQUEST_COMPLETED.encode(),
                              reading=reading):
        if rec.get("body") != F.REQUEST_COMPLETED:
            continue
        try:
            request = _request(rec)
        except BadRequest as exc:
            read.fields.skip(number, exc.why)
            continue
        except (KeyError, TypeError, ValueError, OverflowError):
            read.fields.skip(number, "bad request fields")
            continue
        read.marked += rec["attributes"].get(F.MODEL) == traffic.MODEL
        read.tiny += request[1] < 1.0
        if epoch - 1.0 <= request[0] < epoch:     # the log's milliseconds, rounded: the
            request = (epoch, *request[1:])       # story's first requests start at its 0:00
        if since <= request[0] < until:
            tally.add(*request)
            if len(tally.slots) > most:
                raise TooManyWindows(
                    f"the requests' start times fall in more than {most:,} windows of {window_s:g} s "
                    "(over a week, or a clock gone wild); give --since and --until to pick the "
                    "part to chart")
        else:
            read.outside += 1
    return read


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
             latency_limit_s: float = traffic.SLOW_MS / 1000,
             reading: Reading = Reading()) -> LogRead:
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
                   reading=reading,
                   since=-math.inf if since is None else since,
                   until=math.inf if until is None else until)
    try:
        with open_log_file(path) as stream:            # a big plain file: a stretch a process
            parts = in_stretches(path, work) if splittable(path, stream, reading) else [work(stream)]
    except TooManyWindows as exc:
        raise LogReadError(f"{path}: {exc}") from None
    tally = parts[0].tally
    for part in parts[1:]:
        tally.merge(part.tally)
    lines, fields = joined([part.bad for part in parts]), joined([part.fields for part in parts])
    warnings = [lines.summary(path)] if lines.bad else []
    reasons = dict(lines.reasons)
    for why, n in fields.reasons.items():
        reasons[why] = reasons.get(why, 0) + n
    outside = sum(part.outside for part in parts)
    if fields.bad:
        warnings.append(f"{path}: skipped {fields.bad} request.completed line(s) without a usable "
                        f"latency_ms or http.response.status_code: "
                        f"{explain(fields.reasons, fields.first, fields.hints)}")
    if not len(tally) and not outside:
        both = {**lines.reasons, **fields.reasons}
        why = explain(both, {**lines.first, **fields.first}, {**lines.hints, **fields.hints})
        raise LogReadError(f"{path}: no usable request.completed lines" + (f": {why}" if both else ""))
    marked, requests = sum(part.marked for part in parts), len(tally) + outside
    if 2 * sum(part.tiny for part in parts) > requests:
        warnings.append(f"{path}: most latency_ms values are under 1 ms: if they are seconds, read "
                        "them with --map attributes.latency_ms=<your field>:seconds")
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
    # the story's log is known by its mark (every request names the story's model), never by
    # its dates alone: a log of your own from the same hours is not scored against its incidents
    from_story = marked == requests and epoch - 1.0 <= first and last < epoch + scenario.duration_s
    incidents = tuple(_shifted(i, zero - epoch) for i in scenario.incidents
                      if i.end_s > zero - epoch and i.start_s <= last - epoch) if from_story else ()
    clock_zero = datetime.fromtimestamp(zero, timezone.utc).isoformat(timespec="milliseconds")
    return LogRead(tally=tally, zero=zero, duration_s=last - zero + 1e-6, from_story=from_story,
                   clock_zero=clock_zero.replace("+00:00", "Z"), incidents=incidents,
                   bad=sum(reasons.values()), reasons=reasons, warnings=warnings)


def _shifted(incident: traffic.Incident, shift_s: float) -> traffic.Incident:
    return replace(incident, start_s=incident.start_s - shift_s, end_s=incident.end_s - shift_s)



# ── Prometheus text exposition ──────────────────────────────────────────────────────────────────

def exposition(tally: Tally, result: lab2.Result) -> str:
    """The counters and histograms in the Prometheus text format (tools/promtext.py), over the
    span charted: what a Prometheus client would have counted."""
    latency, ttft, codes, tokens = tally.totals()
    note = tally.label_note()
    out = [f"# opslab: {note}"] if note else []
    out += [prom.family("opslab_requests_total", "counter",
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


OUTPUTS = ("--html", "--prom", "--rules", "--rules-test", "--scrape-config")
RULE_FLAGS = ("--metric-total", "--metric-errors", "--metric-duration", "--selector", "--for")


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
    the output files (and the flags that shape only the rules), the log named by `shown_path`, and
    the story's seed said even when it was the default (`seed`: None for a log)."""
    kept, skip = [], False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        option = arg.split("=", 1)[0]
        if option in (*OUTPUTS, *RULE_FLAGS, "--scrape-target") or option == "--force":
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


# ── lab 2's SLOs as Prometheus rules (tools/slorules.py) ───────────────────────────────────────


def duration_value(text: str) -> float:
    """A Prometheus duration, 90s, 2m or 1h30m, as seconds (0 to a day)."""
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", text)
    if not text or not match:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}: write 90s, 2m or 1h30m")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total > 86_400:
        raise argparse.ArgumentTypeError(f"{text!r} is out of range: at most a day (24h)")
    return float(total)


def add_rule_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "Prometheus rules", "lab 2's SLOs (these --slo, --latency-slo, --latency-limit, "
        "--period-days) as recording and alerting rules, the Workbook's burn-rate pairs")
    group.add_argument("--rules", metavar="FILE",
                       help="write the rules (promtool check rules passes), and beside them "
                            "the same SLOs as a Sloth spec: FILE with the suffix .sloth.yml "
                            "(slo.rules.yml: slo.rules.sloth.yml)")
    group.add_argument("--rules-test", metavar="FILE",
                       help="with --rules, write a promtool test of them: the story's (or "
                            "--from log's) counters minute by minute, and at every minute the "
                            "alerts lab 2's verdicts fire (promtool test rules FILE)")
    group.add_argument("--scrape-config", metavar="FILE",
                       help="write a prometheus.yml that scrapes the gateway's /metrics and loads "
                            "--rules (- prints it)")
    group.add_argument("--scrape-target", default="127.0.0.1:8000", metavar="HOST:PORT",
                       help="the gateway to scrape (default 127.0.0.1:8000)")
    group.add_argument("--metric-total", default=slorules.GATEWAY_TOTAL, metavar="SELECTOR",
                       help=f"the counter of all requests (default {slorules.GATEWAY_TOTAL}, "
                            "the gateway's)")
    group.add_argument("--metric-errors", default=slorules.GATEWAY_ERRORS, metavar="SELECTOR",
                       help="the failed requests: a counter, with matchers (default: the "
                            "gateway's outcomes answered with a 5xx)")
    group.add_argument("--metric-duration", metavar="SELECTOR",
                       default=f"{slorules.GATEWAY_DURATION}{{{slorules.GATEWAY_SERVED}}}",
                       help="the latency histogram's name, with matchers for the requests the "
                            "latency SLO counts (default: the gateway's, outcome ok); it needs a "
                            "bucket bound at --latency-limit")
    group.add_argument("--selector", default="", metavar="MATCHERS",
                       help='label matchers added to every series, e.g. job="opslab-gateway"')
    group.add_argument("--for", dest="for_s", type=duration_value, default=0.0, metavar="DURATION",
                       help="hold each alert pending this long before it fires (default none, as "
                            "the Workbook's rules)")


@dataclass
class RuleOutputs:
    files: list                         # (path, text thunk)
    expected: slorules.Expected | None  # what the test expects, for the comparison on stderr
    warnings: list

    def __iter__(self):
        return iter(self.files)


def _relative(path: str, start_file: str) -> str:
    """`path` as seen from the directory of `start_file` (how promtool and Prometheus resolve
    rule_files)."""
    return os.path.relpath(Path(path).resolve(), Path(start_file).resolve().parent)


def rule_sli(args) -> slorules.SLI:
    """Where the SLOs' events live, from the flags; ValueError naming the flag that is wrong."""
    parsed = {}
    for flag, text, parse in (("--metric-total", args.metric_total, slorules.parse_selector),
                              ("--metric-errors", args.metric_errors, slorules.parse_selector),
                              ("--metric-duration", args.metric_duration, slorules.parse_selector),
                              ("--selector", args.selector, slorules.parse_matchers)):
        try:
            parsed[flag] = parse(text)
        except ValueError as exc:
            raise ValueError(f"{flag}: {exc}") from None
    return slorules.SLI(total=parsed["--metric-total"], errors=parsed["--metric-errors"],
                        duration=parsed["--metric-duration"], latency_limit_s=args.latency_limit,
                        common=parsed["--selector"])


def rule_outputs(args, sli: slorules.SLI, result: lab2.Result,
                 measured: lab2.Measurements) -> RuleOutputs:
    """The files --rules, --rules-test and --scrape-config ask for; ValueError if one cannot be."""
    out = RuleOutputs([], None, [])
    if not (args.rules or args.scrape_config):
        return out
    slos = slorules.objectives(result.slo, result.latency_slo, result.period_days)
    if warning := slorules.missing_bucket(sli, DURATION_BUCKETS):
        out.warnings.append(warning)
    if args.rules:
        groups = slorules.rule_groups(sli, slos, args.for_s)
        out.files.append((args.rules, lambda: slorules.yaml_text({"groups": groups}, [
            "Prometheus rules: lab 2's SLOs and the SRE Workbook's burn-rate alerts "
            "(solution/tools/slorules.py)", "Check: promtool check rules THIS"])))
        if args.rules != "-":
            out.files.append((str(Path(args.rules).with_suffix("")) + ".sloth.yml",
                              lambda: slorules.sloth_spec(sli, slos)))
    if args.rules_test:
        source = "the story" if not args.log else f"{Path(args.log).name}"
        text, out.expected = slorules.rules_test(
            _relative(args.rules, args.rules_test), sli, measured.per_minute, result.verdicts, slos,
            args.for_s, source=source)
        out.files.append((args.rules_test, lambda: text))
    if args.scrape_config:
        rules = None
        if args.rules and args.rules != "-":
            rules = args.rules
            if args.scrape_config != "-":
                rules = _relative(args.rules, args.scrape_config)
        out.files.append((args.scrape_config,
                          lambda: slorules.scrape_config(rules, args.scrape_target)))
    return out


def timestamp(text: str) -> float:
    """An argparse type: an RFC 3339 timestamp, as seconds since the Unix epoch."""
    try:
        return rfc3339_seconds(text)
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
    add_reading_flags(parser, "with --from")
    parser.add_argument("--html", metavar="FILE",
                        help="also write a self-contained HTML page with charts (- for standard output)")
    parser.add_argument("--prom", metavar="FILE",
                        help="also write the Prometheus text exposition (- for standard output)")
    parser.add_argument("--force", action="store_true",
                        help="overwrite the --html, --prom, --rules (and its Sloth spec), "
                             "--rules-test and --scrape-config files")
    parser.add_argument("--capacity", type=positive_int, metavar="N",
                        help="with --from: requests your service serves at once, for saturation "
                             "(without it, a log from elsewhere has no saturation signal)")
    add_rule_flags(parser)
    args = parser.parse_args(argv)
    from_log = "only applies with --from FILE (the story knows its own)"
    refuse_ignored(parser, argv, [
        ("--seed", not args.log, "makes the story; with --from the requests come from the log"),
        ("--since", bool(args.log), from_log), ("--until", bool(args.log), from_log),
        ("--capacity", bool(args.log), from_log), ("--map", bool(args.log), from_log),
        ("--tz", bool(args.log), from_log), ("--format", bool(args.log), from_log),
        ("--max-line", bool(args.log), from_log),
        ("--force", any(getattr(args, o[2:].replace("-", "_")) for o in OUTPUTS),
         "only applies with --html or --prom FILE (or --rules, --rules-test, --scrape-config)"),
        *((flag, bool(args.rules), "only applies with --rules FILE") for flag in RULE_FLAGS),
        ("--rules-test", bool(args.rules),
         "tests the rules it is written beside: give --rules FILE"),
        ("--scrape-target", bool(args.scrape_config), "only applies with --scrape-config FILE")])
    settings = lab2.settings(args)
    try:
        sli = rule_sli(args)
        if args.rules_test and args.rules == "-":
            raise ValueError("--rules-test names the rules file it tests: give --rules FILE, not -")
        if args.rules_test == "-":
            raise ValueError("--rules-test needs a file (promtool finds the rules beside it)")
        if args.log:
            log = read_log(args.log, since=args.since, until=args.until, window_s=args.window,
                           latency_limit_s=args.latency_limit, reading=reading_from(args))
            capacity = traffic.STORY.capacity               # the story's 10 slots are not yours
            if args.capacity or not log.from_story:
                capacity = args.capacity
            if not args.capacity and not log.from_story:
                log.warnings.append("saturation left out: how many requests your service serves at "
                                    "once is not in the log; give --capacity N")
            measured = log.measured(capacity)
            name = "standard input" if args.log == "-" else neutralize(args.log)
            result = dashboard_of(log, f"{name} (0:00 = {log.clock_zero})", capacity, measured,
                                  **settings, composite=composite_alert,
                                  min_signals=args.min_signals)
        else:
            requests = traffic.generate(seed=args.seed)
            measured = lab2.measure(requests, window_s=args.window, capacity=traffic.STORY.capacity,
                                    duration_s=traffic.STORY.duration_s,
                                    latency_limit_s=args.latency_limit)
            result = lab2.run(**settings, composite=composite_alert, min_signals=args.min_signals,
                              measured=measured)
        outputs = rule_outputs(args, sli, result, measured)
    except (LogReadError, ValueError) as exc:
        return fail(str(exc))
    if args.log and args.prom and (note := log.tally.label_note()):
        log.warnings.append(note)
    if args.log:
        for warning in log.warnings:                # (a hint may quote the log: shown, not obeyed)
            print(neutralize(f"warning: {warning}"), file=sys.stderr)
    to_stdout = [o for o in OUTPUTS if getattr(args, o[2:].replace("-", "_")) == "-"]
    if len(to_stdout) > 1:
        return fail(f"{' and '.join(to_stdout)} cannot all go to standard output (-)")
    if not to_stdout:                                # else standard output is that file
        print(lab2.report(result, color=use_color()))
    command = reproduce(sys.argv[1:] if argv is None else argv, None if args.log else args.seed)
    files = [(path, text) for path, text in (
        (args.html, lambda: html_report(result, args.log, command)),
        (args.prom, lambda: exposition(log.tally if args.log else tally_of(
            requests, args.window, args.latency_limit), result)), *outputs) if path]
    named = [Path(p).resolve() for p, _ in files if p != "-"]
    if len(set(named)) < len(named):
        return fail("two of the files to write are the same file: give each its own name")
    taken = [p for p, _ in files if p != "-" and Path(p).is_file()]
    if taken and not args.force:                     # all of them, or none: nothing half-written
        return fail(f"{', '.join(taken)} exist(s): add --force to overwrite")
    for path, text in files:
        if path:
            try:
                write_file(path, lambda stream: stream.write(text()), args.force)
            except OSError as exc:
                return cannot_write(path, exc)
            print(f"wrote {'standard output' if path == '-' else neutralize(path)}", file=sys.stderr)
    for line in [*(f"warning: {w}" for w in outputs.warnings),
                 *(slorules.comparison(outputs.expected) if outputs.expected else [])]:
        print(line, file=sys.stderr)
    return 0


if __name__ == "__main__":
    run_cli(main)
