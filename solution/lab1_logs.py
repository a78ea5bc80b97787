"""Lab 1: structured, correlated logs you can query, and one failing request's whole story.

The question: when half the requests fail, can you find which ones, where they failed, and what
one of them went through, from the logs alone? Yes, if every line is a JSON object that carries
its request's trace id and its span id. Extends M20 (observability).

Read it in this order (about ten minutes):
1. the record: `severity`, `traceparent`, numeric.py's `rfc3339`: OpenTelemetry's and W3C's;
2. emission with the standard `logging` module: `bound` puts the trace context in `contextvars`,
   `TraceContextFilter` copies it onto each record, `JsonFormatter` renders one JSON object per
   line (strings redacted by solution/redaction.py), `TailSamplingHandler` keeps a whole trace
   or none (`keep_trace`); `json_logger` wires them; `log_request` logs one request's spans;
3. reading back: `load_log` (SQLite, `json_extract`) and `trace_records`; the spans of one trace
   are drawn by `waterfall` and `draw_waterfall` (solution/spans.py);
4. `run()` logs the story's error burst and asks it; `report()` is the screen; `main()` the flags.

    python3 solution/lab1_logs.py                     the error burst, logged and queried
    python3 solution/lab1_logs.py --sample 0.05       what if tail sampling kept 5 %?

The same building blocks as a practitioner's tool (write the story's log, query any JSON-lines
log, pull one request's story from a big file): python3 solution/tools/logs.py --help

    >>> traceparent("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'

Remember: a log line is a record, not a sentence: give it the trace id and you can pull one
request's whole story out of a million lines; give it a secret and you have leaked it forever.
"""

from __future__ import annotations

import argparse
import contextvars
import io
import json
import logging
import re
import sqlite3
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):          # run as a script: make the `solution` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from solution import logschema as F
from solution import traffic
from solution.cli import fraction, positive_float, refuse_ignored, run_cli, seed_value
from solution.numeric import parse_rfc3339, percent, rfc3339, trace_fraction
from solution.redaction import KINDS, redact, redact_value
from solution.spans import SpanRow, draw_waterfall, ms, waterfall
from solution.terminal import table

LOGGER_NAME = "opslab.lab1"
SAMPLE_RATE = 0.10          # tail sampling: the share of healthy, fast traces kept
SLOW_MS = traffic.SLOW_MS  # tail sampling: a trace at least this slow is always kept (6 s)
PROVIDER = "opslab"         # gen_ai.provider.name of the story's model provider


# ── 1. the record: OpenTelemetry's fields ───────────────────────────────────────────────────────

# OpenTelemetry Logs Data Model, SeverityNumber: TRACE 1-4, DEBUG 5-8, INFO 9-12, WARN 13-16,
# ERROR 17-20, FATAL 21-24; its mapping of Python's levels takes the first number of each range.
SEVERITY = {logging.DEBUG: ("DEBUG", 5), logging.INFO: ("INFO", 9), logging.WARNING: ("WARN", 13),
            logging.ERROR: ("ERROR", 17), logging.CRITICAL: ("FATAL", 21)}


def severity(levelno: int) -> tuple[str, int]:
    """OpenTelemetry's (SeverityText, SeverityNumber) for a Python level: the standard level at
    or below it (a custom level 25 reads as INFO).

    >>> severity(logging.ERROR), severity(25)
    (('ERROR', 17), ('INFO', 9))
    """
    return SEVERITY[max([lvl for lvl in SEVERITY if lvl <= levelno], default=logging.DEBUG)]


def traceparent(trace_id: str, span_id: str, sampled: bool = True) -> str:
    """The W3C Trace Context header a service passes downstream: version 00, the trace id, the
    caller's span id (the parent-id of whoever receives it), and the flags (01 = sampled)."""
    return f"00-{trace_id}-{span_id}-{'01' if sampled else '00'}"


TRACEPARENT = re.compile(r"00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]")


def scrub(key: str, value):
    """An attribute as it may be logged (solution/redaction.py): redacted whole when a key names
    a secret (`password`, at any depth), else to its last string; a traceparent kept whole."""
    keep = key == "traceparent" and isinstance(value, str) and TRACEPARENT.fullmatch(value)
    return value if keep else redact_value(value, key)


# ── 2. emission: contextvars, a Filter, a Formatter, a tail-sampling handler ────────────────────

# The trace context of the code now running. contextvars follow the flow of control: asyncio
# tasks copy them, while a new thread (or ThreadPoolExecutor worker) starts with an empty one.
current_trace_id = contextvars.ContextVar("trace_id", default=None)
current_span = contextvars.ContextVar("span", default=None)     # (span_id, parent_span_id)


@contextmanager
def bound(variable: contextvars.ContextVar, value):
    """Set a context variable for the code inside the `with` block, and reset it after."""
    token = variable.set(value)
    try:
        yield
    finally:
        variable.reset(token)


class TraceContextFilter(logging.Filter):
    """Copies the trace context onto every record the handler sees: the logging cookbook's
    pattern, so no call site has to remember to pass the ids."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.trace_id = current_trace_id.get()
        record.span_id, record.parent_span_id = current_span.get() or (None, None)
        return True


class JsonFormatter(logging.Formatter):
    """One record, one JSON object, one line, in OpenTelemetry's field names.

    The time is the record's `at` (seconds since the Unix epoch) when the caller gives one, as a
    replay from a simulated clock does; otherwise the moment the record was made. Every string
    attribute is redacted (see scrub). `json.dumps` escapes every line break, U+2028 and U+0085
    included, so no attribute can split the line, whatever redaction missed.
    """

    def format(self, record: logging.LogRecord) -> str:
        text, number = severity(record.levelno)
        attributes = {key: scrub(key, value)
                      for key, value in getattr(record, "attributes", {}).items()}
        if record.exc_info:                     # OpenTelemetry semantic conventions: exception.*
            attributes["exception.type"] = record.exc_info[0].__name__
            attributes["exception.message"] = redact(str(record.exc_info[1]))
        return json.dumps({
            "timestamp": rfc3339(getattr(record, "at", record.created)),
            "severity_text": text,
            "severity_number": number,
            "body": redact(record.getMessage()),
            "trace_id": getattr(record, "trace_id", None),
            "span_id": getattr(record, "span_id", None),
            "parent_span_id": getattr(record, "parent_span_id", None),
            "attributes": attributes,
        })


def keep_trace(trace_id: str, failed: bool, latency_ms: float, rate: float = SAMPLE_RATE,
               slow_ms: float = SLOW_MS) -> bool:
    """Tail sampling's decision, made once the request has ended: keep every failed trace and
    every slow one, and a `rate` share of the rest chosen by the trace id's hash (the same traces
    on every machine: see numeric.trace_fraction). A head sampler decides at the start, before it
    can know, so it keeps errors only at `rate`."""
    return bool(failed) or latency_ms >= slow_ms or trace_fraction(trace_id) < rate


class TailSamplingHandler(logging.StreamHandler):
    """Holds each trace's records until its `request.completed` record, then writes all of them
    or none, as keep_trace decides (formatted only then: a trace dropped costs no JSON). Records
    without a trace id pass straight through; traces still open at close() are written, since
    nobody could decide against them."""

    def __init__(self, stream, rate: float = 1.0, slow_ms: float = SLOW_MS):
        super().__init__(stream)
        self.rate, self.slow_ms = rate, slow_ms
        self.pending: dict[str, list] = {}          # trace id -> [records, failed so far]
        self.lines = self.lines_kept = self.traces_kept = self.failed = self.failed_kept = 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines += 1
            trace_id = getattr(record, "trace_id", None)
            if trace_id is None:
                self._write([record])
                return
            held = self.pending.setdefault(trace_id, [[], False])
            held[0].append(record)
            held[1] = held[1] or record.levelno >= logging.ERROR
            if record.msg == F.REQUEST_COMPLETED:
                records, failed = self.pending.pop(trace_id)
                latency = getattr(record, "attributes", {}).get(F.LATENCY_MS, 0.0)
                kept = keep_trace(trace_id, failed, latency, self.rate, self.slow_ms)
                if kept:
                    self.traces_kept += 1
                    self._write(records)
                if failed:
                    self.failed += 1
                    self.failed_kept += 1 if kept else 0
        except Exception:                           # logging's rule: never raise into the caller
            self.handleError(record)

    def _write(self, records: list[logging.LogRecord]) -> None:
        self.lines_kept += len(records)
        self.stream.write("\n".join(map(self.format, records)) + "\n")

    def close(self) -> None:
        for records, _ in self.pending.values():
            self._write(records)
        self.pending.clear()
        self.flush()
        super().close()


@contextmanager
def json_logger(stream, rate: float = 1.0, slow_ms: float = SLOW_MS):
    """The lab's logger, configured for the block and restored after it: `logging` is global
    state, so a handler left behind would double every line of the next run. Its records never
    propagate to the root logger (whose handlers, if any, print plain text)."""
    logger = logging.getLogger(LOGGER_NAME)
    handler = TailSamplingHandler(stream, rate=rate, slow_ms=slow_ms)
    handler.addFilter(TraceContextFilter())
    handler.setFormatter(JsonFormatter())
    level, propagate = logger.level, logger.propagate
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(handler)
    try:
        yield logger, handler
    finally:
        logger.removeHandler(handler)
        handler.close()
        logger.setLevel(level)
        logger.propagate = propagate


def log_request(logger: logging.Logger, r: traffic.Request, epoch: float) -> None:
    """Replay one request of the story through its spans, logging as the service would: the
    gateway when the request arrives, each stage when it ends, the canonical `request.completed`
    line when the answer leaves. Times come from the story's clock, never from time.time()."""
    root, *stages = r.stages
    start = epoch + r.ts
    with bound(current_trace_id, r.trace_id), bound(current_span, (root.span_id, None)):
        logger.info("gateway.received", extra={"at": start, "attributes": {
            F.TENANT: r.tenant, F.PRIORITY: r.priority,
            "http.request.method": "POST", "url.path": "/v1/answer",
            "traceparent": traceparent(r.trace_id, root.span_id),
            # GenAI semconv: message content is opt-in, since it carries personal data;
            # this service logs the prompt, redacted by the formatter
            "prompt": r.prompt}})
        for stage in stages:
            with bound(current_span, (stage.span_id, root.span_id)):
                failed = stage.outcome == "error"
                attributes = {"duration_ms": round(stage.duration_ms, 1)}
                if stage.name == "retrieval":
                    found = 0 if failed else len(r.retrieved_docs)
                    attributes.update({"gen_ai.operation.name": "retrieval",
                                       "retrieval.documents": found})
                elif stage.name == "llm":
                    attributes.update({"gen_ai.operation.name": "chat",
                                       "gen_ai.provider.name": PROVIDER, F.MODEL: r.model,
                                       "gen_ai.request.max_tokens": r.max_tokens,
                                       F.INPUT_TOKENS: r.prompt_tokens,
                                       F.OUTPUT_TOKENS: r.completion_tokens})
                if failed:
                    attributes[F.ERROR_TYPE] = r.error
                logger.log(logging.ERROR if failed else logging.INFO,
                           f"{stage.name}.{'failed' if failed else 'completed'}",
                           extra={"at": start + (stage.start_ms + stage.duration_ms) / 1000,
                                  "attributes": attributes})
        # The canonical line: one per request, everything lab 2 needs to compute its signals.
        attributes = {F.TENANT: r.tenant, F.PRIORITY: r.priority, F.TOPIC: r.topic,
                      F.STATUS: r.status, F.LATENCY_MS: round(r.latency_ms, 1), F.MODEL: r.model,
                      F.INPUT_TOKENS: r.prompt_tokens, F.OUTPUT_TOKENS: r.completion_tokens}
        if r.ttft_ms is not None:       # no first token, no time to it: a 503 logs none
            attributes[F.TTFT_MS] = round(r.ttft_ms, 1)
        if r.error:
            attributes[F.ERROR_TYPE] = r.error
        logger.log(logging.ERROR if r.status >= 500 else logging.INFO, F.REQUEST_COMPLETED,
                   extra={"at": start + r.latency_ms / 1000, "attributes": attributes})


def write_log(requests, stream, scenario: traffic.Scenario = traffic.STORY, rate: float = 1.0,
              slow_ms: float = SLOW_MS) -> TailSamplingHandler:
    """Log every request to the stream as JSON lines (tail-sampled at `rate`); the handler that
    wrote them carries the counts (lines, lines_kept, traces_kept, failed, failed_kept)."""
    epoch = parse_rfc3339(scenario.epoch)
    with json_logger(stream, rate=rate, slow_ms=slow_ms) as (logger, handler):
        for r in requests:
            log_request(logger, r, epoch)
    return handler


# ── 3. reading a log back: SQL for questions, the trace id for one request's story ─────────────

def load_log(lines) -> sqlite3.Connection:
    """The JSON lines in an in-memory SQLite table `log(n, line)`, and a view `records` with the
    top-level fields as columns, each read by `json_extract` (SQLite's JSON1)."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE log (n INTEGER PRIMARY KEY, line TEXT)")
    db.executemany("INSERT INTO log (line) VALUES (?)", ((line,) for line in lines if line.strip()))
    columns = ", ".join(f"json_extract(line, '$.{key}') AS {key}" for key in F.TOP_LEVEL)
    db.execute(f"CREATE VIEW records AS SELECT n, {columns} FROM log")
    return db


def trace_records(lines, trace_id: str) -> list[dict]:
    """Every record of one trace, in time order, each with its time in seconds added as `_at`.
    Only the lines that hold the id are parsed: a search, then a parse."""
    needle = f'"{trace_id}"'
    records = [json.loads(line) for line in lines if needle in line]
    records = [rec for rec in records if rec.get("trace_id") == trace_id]
    for rec in records:
        rec["_at"] = parse_rfc3339(rec["timestamp"])
    return sorted(records, key=lambda rec: rec["_at"])


# ── run(): the error burst, logged and queried ──────────────────────────────────────────────────

@dataclass
class Result:
    seed: int
    window: tuple[float, float]             # story seconds [start, end)
    requests: int
    lines: int
    kilobytes: float
    redacted: dict[str, int]                # placeholder kind -> count in the log
    injections: int                         # prompts that tried to break a line
    log: str                                # the JSON-lines log itself
    failed: int                             # failing requests found by the query
    failures: list[tuple[int, str, int]]    # (status, error.type, requests)
    by_stage: list[tuple[str, str, int]]    # (stage, error.type, ERROR lines)
    first_failure_s: float | None           # story seconds when the first failure arrived
    example: str | None                     # the trace id of the failing request drawn
    example_attributes: dict
    example_rows: list[SpanRow]
    sample_rate: float
    slow_ms: float
    sampled_lines: int                      # lines the tail sampler kept
    failed_traces: int                      # failing traces, and how many each sampler keeps:
    tail_failed_kept: int
    head_failed_kept: int


def run(requests=None, *, seed: int = traffic.DEFAULT_SEED,
        scenario: traffic.Scenario = traffic.STORY, sample: float = SAMPLE_RATE,
        slow_ms: float = SLOW_MS) -> Result:
    """Log the story's paging error burst, ask the log what failed, where, and what one failure
    went through; then log it again through the tail sampler, and compare with a head sampler."""
    requests = traffic.generate(seed=seed, scenario=scenario) if requests is None else requests
    burst = next(i for i in scenario.incidents if i.kind == "errors" and i.page)
    window = [r for r in requests if burst.start_s <= r.ts < burst.end_s]
    stream = io.StringIO()
    written = write_log(window, stream, scenario)
    text = stream.getvalue()
    lines = text.splitlines()
    db = load_log(lines)
    failures = db.execute("""
        SELECT json_extract(attributes, '$."http.response.status_code"') AS status,
               json_extract(attributes, '$."error.type"') AS error, count(*)
        FROM records WHERE body = 'request.completed' AND severity_number >= 17
        GROUP BY status, error ORDER BY count(*) DESC, status, error""").fetchall()
    by_stage = db.execute("""
        SELECT substr(body, 1, instr(body, '.') - 1) AS stage,
               json_extract(attributes, '$."error.type"') AS error, count(*)
        FROM records WHERE severity_number >= 17 AND body != 'request.completed'
        GROUP BY stage, error ORDER BY count(*) DESC, stage, error""").fetchall()
    first = db.execute("""SELECT trace_id FROM records WHERE body = 'request.completed'
                          AND severity_number >= 17 ORDER BY n LIMIT 1""").fetchone()
    example, attributes, rows, first_s = None, {}, [], None
    if first:
        example = first[0]
        records = trace_records(lines, example)
        rows = waterfall(records)
        completed = [rec for rec in records if rec["body"] == F.REQUEST_COMPLETED]
        attributes = completed[0]["attributes"]
        first_s = round(records[0]["_at"] - parse_rfc3339(scenario.epoch), 3)
    # The same requests through the tail sampler at `sample`; a head sampler at the same rate
    # decides when each request arrives, by the same hash, before it knows how it ends.
    tail = write_log(window, io.StringIO(), scenario, rate=sample, slow_ms=slow_ms)
    head = len([r for r in window if not r.ok and trace_fraction(r.trace_id) < sample])
    return Result(
        seed=seed, window=(burst.start_s, burst.end_s), requests=len(window), lines=written.lines,
        kilobytes=len(text.encode()) / 1000,
        redacted={kind: text.count(f"[REDACTED:{kind}]") for kind in KINDS},
        injections=len([r for r in window if not r.prompt.isprintable()]), log=text,
        failed=sum(n for _, _, n in failures), failures=failures, by_stage=by_stage,
        first_failure_s=first_s, example=example, example_attributes=attributes, example_rows=rows,
        sample_rate=sample, slow_ms=slow_ms, sampled_lines=tail.lines_kept,
        failed_traces=tail.failed, tail_failed_kept=tail.failed_kept, head_failed_kept=head)


# ── report(): the lab's screen ──────────────────────────────────────────────────────────────────

def report(result: Result) -> str:
    r = result
    start, end = (traffic.clock(s) for s in r.window)
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(r.redacted.items(), key=lambda kv: -kv[1])
                      if n)
    lines = [
        f"The error burst {start}-{end}, as the service logged it (seed {r.seed})",
        f"  {r.requests:,} requests -> {r.lines:,} JSON lines ({r.kilobytes:,.0f} kB), one line "
        "per record",
        f"  {r.injections} prompt(s) tried to forge a line: shown as escapes, never obeyed",
        f"  redacted before writing: {sum(r.redacted.values())} secrets and personal data",
        f"    {kinds or 'none'}",
        "",
        "Failing requests: body = 'request.completed' AND severity_number >= 17",
        f"  {r.failed:,} of {r.requests:,} requests failed "
        f"({percent(r.failed / r.requests) if r.requests else 'no requests'})",
    ]
    lines += ["  " + row for row in table([(s, e, f"{n:,}") for s, e, n in r.failures],
                                          ["status", "error.type", "requests"]).splitlines()]
    lines += ["", "Errors by stage: the ERROR lines other than request.completed"]
    lines += ["  " + row for row in table([(s, e, f"{n:,}") for s, e, n in r.by_stage],
                                          ["stage", "error.type", "lines"]).splitlines()]
    if r.example:
        a = r.example_attributes
        lines += ["", f"One failing request's whole story, trace {r.example}",
                  f"  {a.get(F.TENANT)}, {a.get(F.TOPIC)}: {a.get(F.STATUS)} "
                  f"{a.get(F.ERROR_TYPE)} after {ms(a.get(F.LATENCY_MS, 0.0))}"]
        lines += draw_waterfall(r.example_rows)
    rate = f"{r.sample_rate * 100:g} %"
    lines += [
        "",
        f"Tail sampling at {rate}: keep every error and every trace over {r.slow_ms / 1000:g} s",
        f"  keeps {r.sampled_lines:,} of {r.lines:,} lines: saves "
        f"{percent(1 - r.sampled_lines / r.lines) if r.lines else '0.0 %'}",
        f"  failing requests kept: {r.tail_failed_kept} of {r.failed_traces}; "
        f"a head sample at {rate} keeps {r.head_failed_kept}",
    ]
    return "\n".join(lines)


# ── main(): the what-if flags ───────────────────────────────────────────────────────────────────

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(
        "The story's error burst, logged as structured JSON lines and queried: what failed, "
        "where, one failing request's whole story, and what tail sampling keeps. Your own logs: "
        "solution/tools/logs.py."))
    parser.add_argument("--seed", type=seed_value, default=traffic.DEFAULT_SEED,
                        help=f"seed of the story (default {traffic.DEFAULT_SEED})")
    parser.add_argument("--sample", type=fraction, default=SAMPLE_RATE,
                        help="tail sampling: share of healthy, fast traces kept "
                             f"(default {SAMPLE_RATE})")
    parser.add_argument("--slow-ms", type=positive_float, default=SLOW_MS,
                        help="tail sampling: traces at least this slow (ms) are kept "
                             f"(default {SLOW_MS:g})")
    args = parser.parse_args(argv)
    slow_ms_matters = ("--slow-ms", args.sample < 1, "only matters when --sample is below 1")
    refuse_ignored(parser, argv, [slow_ms_matters])
    print(report(run(seed=args.seed, sample=args.sample, slow_ms=args.slow_ms)))
    return 0


if __name__ == "__main__":
    run_cli(main)
