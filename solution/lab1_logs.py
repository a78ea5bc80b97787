"""Lab 1: structured, correlated logs you can query, and one failing request's whole story.

The question: when half the requests fail, can you find which ones, where they failed, and what
one of them went through, from the logs alone, in a second? Yes, if every line is a JSON object
that carries its request's trace id and its span id. This lab extends M20 (observability).

    python3 solution/lab1_logs.py                          the error burst, queried (the demo step)
    python3 solution/lab1_logs.py write --out story.jsonl  the whole story as a JSON-lines log
    python3 solution/lab1_logs.py story story.jsonl TRACE_ID          one request, as a waterfall
    python3 solution/lab1_logs.py query story.jsonl --where severity_text=ERROR --count-by body

How it works, in the order of the file:
1. The record: OpenTelemetry's field names (Logs Data Model; trace-context compatibility for JSON
   logs), RFC 3339 timestamps, severity numbers, the W3C `traceparent`.
2. `redact(text)`: secrets and personal data become typed placeholders before a line is written
   (OWASP Logging Cheat Sheet; OWASP Top 10 for LLM apps, LLM02), and control characters become
   visible escapes, so user text can neither forge a line nor drive your terminal.
3. Emission with the standard `logging` module, the way a service does it: a `Filter` on the
   handler copies the trace context (held in `contextvars`, bound per request and per span) onto
   each record, and a `Formatter` subclass renders it as one JSON object per line. The handler
   tail-samples: it holds each trace's lines until the request ends, then keeps all of them or
   none (every failed or slow trace, and a hash-chosen fraction of the rest).
4. Reading back: `query` loads a log into SQLite and asks it with `json_extract` (values bound as
   parameters); `story` pulls one trace's lines by searching the raw bytes for its id, then draws
   its spans as a waterfall.

    >>> redact("Write to jane.doe@example.com about order 1234567890.")
    'Write to [REDACTED:email] about order 1234567890.'

Remember: a log line is a record, not a sentence: give it the trace id and you can pull one
request's whole story out of a million lines; give it a secret and you have leaked it forever.
"""

from __future__ import annotations

import argparse
import bisect
import contextvars
import io
import json
import logging
import mmap
import re
import sqlite3
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

if __package__ in (None, ""):          # run as a script: make the `solution` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from solution import traffic
from solution.shared import (JsonLines, LogReadError, can_encode, fail, fraction, non_negative_int,
                             open_log_file, parse_command_line, parse_rfc3339, percent,
                             positive_float, positive_int, run_cli, svg_chart, table,
                             trace_fraction)

LOGGER_NAME = "opslab.lab1"
SAMPLE_RATE = 0.10          # tail sampling: the share of healthy, fast traces kept
SLOW_MS = 10_000.0          # tail sampling: a trace at least this slow is always kept
PROVIDER = "opslab"         # gen_ai.provider.name of the story's model provider


# ── 1. the record: OpenTelemetry's fields, rendered as one JSON line ────────────────────────────

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
    found = SEVERITY.get(levelno)
    if found is None:
        found = SEVERITY[max([lvl for lvl in SEVERITY if lvl <= levelno], default=logging.DEBUG)]
    return found


@lru_cache(maxsize=4096)
def _second(whole: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))


def rfc3339(seconds: float) -> str:
    """Seconds since the Unix epoch as an RFC 3339 UTC timestamp with milliseconds.

    >>> rfc3339(1793610003.1234)
    '2026-11-02T09:00:03.123Z'
    """
    whole, milli = divmod(round(seconds * 1000), 1000)
    return f"{_second(whole)}.{milli:03d}Z"


def traceparent(trace_id: str, span_id: str, sampled: bool = True) -> str:
    """The W3C Trace Context header a service passes downstream: version 00, the trace id, the
    caller's span id (the parent-id of whoever receives it), and the flags (01 = sampled).

    >>> traceparent("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
    """
    return f"00-{trace_id}-{span_id}-{'01' if sampled else '00'}"


# ── 2. redaction: what must never reach a log ───────────────────────────────────────────────────

def _luhn_ok(digits: str) -> bool:
    """The Luhn checksum every payment card number passes (ISO/IEC 7812-1): double every second
    digit from the right, subtract 9 from results over 9, and the sum is a multiple of 10."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


# Each kind: its hints (one of them is in every match), the digits every match holds at least,
# and its pattern. The first two are cheap tests that spare most text the pattern. Order
# matters: a key is gone before the card pattern reads its digits.
SECRETS = (
    ("email", ("@",), 0,
     re.compile(r"(?<![\w.%+-])[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")),
    # RFC 6750: "Bearer" then a b64token (with a digit, as real tokens have, so "bearer of bad
    # news" stays; not ending in the sentence's full stop); the group `keep` stays, so a reader
    # sees what was there
    ("bearer_token", ("earer", "EARER"), 0,
     re.compile(r"(?P<keep>\b(?i:bearer)\s+)"
                r"(?=[A-Za-z._~+/-]*\d)[A-Za-z0-9._~+/-]{7,}[A-Za-z0-9_~+/-]=*")),
    # provider keys: sk-/sk_/rk_ (OpenAI, Anthropic sk-ant-, Stripe), GitHub, Google, Slack
    ("api_key", ("k-", "k_", "gh", "AIza", "xox"), 0,
     re.compile(r"\b(?:[sr]k[-_][A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{36,}"
                r"|AIza[0-9A-Za-z_-]{35}|xox[abprs]-[A-Za-z0-9-]{10,})")),
    ("aws_access_key_id", ("AKIA", "ASIA"), 0, re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")),
    # 13 to 19 digits, in groups or not; kept unless the Luhn check passes (see _luhn_ok)
    ("card", (), 13, re.compile(r"(?<![\d.])\d(?:[ -]?\d){12,18}(?!\d)")),
    # international (+ and 8-15 digits, E.164) or North American with separators; ten digits
    # in a row are an order number, not a phone
    ("phone", (), 8, re.compile(r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}(?!\d)"
                               r"|(?<![\w(])(?:\(\d{3}\) ?|\d{3}[-. ])\d{3}[-. ]\d{4}(?!\d)")),
)
# Control characters (C0, DEL, C1 such as U+0085 NEL) and the Unicode line and paragraph
# separators: str.splitlines() breaks lines on several of them, terminals obey ESC.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _visible(match: re.Match) -> str:
    ch = match.group()
    return _ESCAPES.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")


def neutralize(text: str) -> str:
    """Control characters as visible escapes: the text stays one line and cannot drive a terminal
    (OWASP: sanitize CR/LF against log injection).

    >>> neutralize("ok\\r\\nforged\\u2028\\x1b[31m")
    'ok\\\\r\\\\nforged\\\\u2028\\\\x1b[31m'
    """
    return text if text.isprintable() else _CONTROL.sub(_visible, text)


def _placeholder(kind: str):
    def replace(match: re.Match) -> str:
        if kind == "card" and not _luhn_ok(re.sub(r"\D", "", match.group())):
            return match.group()
        if kind == "phone" and not 8 <= len(re.sub(r"\D", "", match.group())) <= 15:
            return match.group()
        return (match.groupdict().get("keep") or "") + f"[REDACTED:{kind}]"
    return replace


_REPLACE = {kind: _placeholder(kind) for kind, *_ in SECRETS}
_NO_DIGITS = str.maketrans("", "", "0123456789")


def redact(text: str) -> str:
    """The text with secrets and personal data replaced by typed placeholders, and control
    characters made visible: safe to write to a log.

    >>> redact("Card 4111 1111 1111 1111, key sk-test0123456789abcdef01, order 4111111111.")
    'Card [REDACTED:card], key [REDACTED:api_key], order 4111111111.'
    """
    text = neutralize(text)
    digits = len(text) - len(text.translate(_NO_DIGITS))
    for kind, hints, least, pattern in SECRETS:
        if digits >= least and (not hints or any(hint in text for hint in hints)):
            text = pattern.sub(_REPLACE[kind], text)
    return text


# Attribute values repeat (tenant, topic, model): a small cache makes their check nearly free.
_redact_cached = lru_cache(maxsize=4096)(redact)


# ── 3. emission: contextvars, a Filter, a Formatter, a handler ──────────────────────────────────

# The trace context of the code now running. contextvars follow the flow of control: asyncio
# tasks copy them, while a new thread (or ThreadPoolExecutor worker) starts with an empty one.
current_trace_id: contextvars.ContextVar[str | None] = \
    contextvars.ContextVar("trace_id", default=None)
current_span: contextvars.ContextVar[tuple[str, str | None] | None] = \
    contextvars.ContextVar("span", default=None)     # (span_id, parent_span_id)


class _Bound:
    """Set a context variable for the code inside a `with` block, and reset it after. (A small
    class rather than @contextmanager: a service enters several per request, and this is about
    three times cheaper.)"""

    def __init__(self, variable: contextvars.ContextVar, value):
        self.variable, self.value = variable, value

    def __enter__(self) -> None:
        self.token = self.variable.set(self.value)

    def __exit__(self, *exc) -> None:
        self.variable.reset(self.token)


def bound_trace(trace_id: str) -> _Bound:
    """Bind a request's trace id for the code inside the block."""
    return _Bound(current_trace_id, trace_id)


def bound_span(span_id: str, parent_span_id: str | None = None) -> _Bound:
    """Bind a span (and its parent) for the code inside the block."""
    return _Bound(current_span, (span_id, parent_span_id))


class TraceContextFilter(logging.Filter):
    """Copies the trace context onto every record the handler sees: the logging cookbook's
    pattern, so no call site has to remember to pass the ids."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.trace_id = current_trace_id.get()
        record.span_id, record.parent_span_id = current_span.get() or (None, None)
        return True


# json.dumps with its defaults, less the check for circular references: a record is a flat dict
# built just above, never circular. ensure_ascii stays on: it is what escapes U+2028.
_ENCODER = json.JSONEncoder(check_circular=False)


class JsonFormatter(logging.Formatter):
    """One record, one JSON object, one line, in OpenTelemetry's field names.

    The time is the record's `at` (seconds since the Unix epoch) when the caller gives one, as
    a replay from a simulated clock does; otherwise the moment the record was made. Every
    string attribute is redacted. `json.dumps` escapes every line break, U+2028 and U+0085
    included, so no attribute can split the line, whatever redaction missed.
    """

    def format(self, record: logging.LogRecord) -> str:
        text, number = severity(record.levelno)
        attributes = {key: _redact_cached(value) if type(value) is str else value
                      for key, value in getattr(record, "attributes", {}).items()}
        if record.exc_info:                     # OpenTelemetry semantic conventions: exception.*
            attributes["exception.type"] = record.exc_info[0].__name__
            attributes["exception.message"] = redact(str(record.exc_info[1]))
        return _ENCODER.encode({
            "timestamp": rfc3339(getattr(record, "at", record.created)),
            "severity_text": text,
            "severity_number": number,
            "body": _redact_cached(record.getMessage()),
            "trace_id": getattr(record, "trace_id", None),
            "span_id": getattr(record, "span_id", None),
            "parent_span_id": getattr(record, "parent_span_id", None),
            "attributes": attributes,
        })


def keep_trace(trace_id: str, failed: bool, latency_ms: float, rate: float = SAMPLE_RATE,
               slow_ms: float = SLOW_MS) -> bool:
    """Tail sampling's decision, made once the request has ended: keep every failed trace and
    every slow one, and a `rate` share of the rest chosen by the trace id's hash (the same
    traces on every machine and in every service: see shared.trace_fraction). A head sampler
    decides at the start, before it can know, so it keeps errors only at `rate`."""
    return bool(failed) or latency_ms >= slow_ms or trace_fraction(trace_id) < rate


class TailSamplingHandler(logging.StreamHandler):
    """A stream handler that holds each trace's lines until its request completes (the record
    whose message is `last_event`), then writes all of them or none, as keep_trace decides.

    With rate 1.0 it keeps everything and still writes each trace in one piece, with one write
    per request instead of a flush per line. Lines without a trace id pass straight through;
    traces still open at close() are written, since nobody could decide against them.
    """

    def __init__(self, stream, rate: float = 1.0, slow_ms: float = SLOW_MS,
                 last_event: str = "request.completed"):
        super().__init__(stream)
        self.rate, self.slow_ms, self.last_event = rate, slow_ms, last_event
        self.pending: dict[str, list] = {}          # trace id -> [lines, failed so far]
        self.lines = self.lines_kept = self.traces = self.traces_kept = 0
        self.failed = self.failed_kept = 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            self.lines += 1
            trace_id = getattr(record, "trace_id", None)
            if trace_id is None:
                self._write([line])
                return
            held = self.pending.setdefault(trace_id, [[], False])
            held[0].append(line)
            held[1] = held[1] or record.levelno >= logging.ERROR
            if record.msg == self.last_event:
                lines, failed = self.pending.pop(trace_id)
                latency = getattr(record, "attributes", {}).get("latency_ms", 0.0)
                self.traces += 1
                self.failed += failed
                if keep_trace(trace_id, failed, latency, self.rate, self.slow_ms):
                    self.traces_kept += 1
                    self.failed_kept += failed
                    self._write(lines)
        except Exception:                           # logging's rule: never raise into the caller
            self.handleError(record)

    def _write(self, lines: list[str]) -> None:
        self.lines_kept += len(lines)
        self.stream.write("\n".join(lines) + "\n")

    def close(self) -> None:
        self.acquire()
        try:
            for lines, _ in self.pending.values():
                self._write(lines)
            self.pending.clear()
            self.flush()
        finally:
            self.release()
        super().close()


# The logging HOWTO, "Optimization": a record need not look up its caller's source line, thread,
# process or asyncio task when no formatter prints them: about a quarter of the cost of a line
# here. The switches are module globals, so json_logger sets them only for its block and puts
# them back.
LEAN_RECORDS = {"_srcfile": None, "logThreads": False, "logProcesses": False,
                "logMultiprocessing": False, "logAsyncioTasks": False}


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
    switches = {name: getattr(logging, name) for name in LEAN_RECORDS if hasattr(logging, name)}
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(handler)
    for name in switches:
        setattr(logging, name, LEAN_RECORDS[name])
    try:
        yield logger, handler
    finally:
        for name, value in switches.items():
            setattr(logging, name, value)
        logger.removeHandler(handler)
        handler.close()
        logger.setLevel(level)                      # setLevel also clears the level cache
        logger.propagate = propagate


def epoch_seconds(scenario: traffic.Scenario = traffic.STORY) -> float:
    """The wall-clock instant of the story's ts = 0, as seconds since the Unix epoch."""
    return parse_rfc3339(scenario.epoch)


def log_request(logger: logging.Logger, r: traffic.Request, epoch: float) -> None:
    """Replay one request of the story through its spans, logging as the service would: the
    gateway when the request arrives, each stage when it ends, the canonical `request.completed`
    line when the answer leaves. Times come from the story's clock, never from time.time()."""
    root, *stages = r.stages
    start = epoch + r.ts
    with bound_trace(r.trace_id), bound_span(root.span_id):
        logger.info("gateway.received", extra={"at": start, "attributes": {
            "tenant": r.tenant, "priority": r.priority,
            "http.request.method": "POST", "url.path": "/v1/answer",
            "traceparent": traceparent(r.trace_id, root.span_id),
            # GenAI semconv: message content is opt-in, since it carries personal data;
            # this service logs the prompt, redacted by the formatter
            "prompt": r.prompt}})
        for stage in stages:
            with bound_span(stage.span_id, root.span_id):
                failed = stage.outcome == "error"
                attributes = {"duration_ms": round(stage.duration_ms, 1)}
                if stage.name == "retrieval":
                    found = 0 if failed else len(r.retrieved_docs)
                    attributes.update({"gen_ai.operation.name": "retrieval",
                                       "retrieval.documents": found})
                elif stage.name == "llm":
                    attributes.update({"gen_ai.operation.name": "chat",
                                       "gen_ai.provider.name": PROVIDER,
                                       "gen_ai.request.model": r.model,
                                       "gen_ai.request.max_tokens": r.max_tokens,
                                       "gen_ai.usage.input_tokens": r.prompt_tokens,
                                       "gen_ai.usage.output_tokens": r.completion_tokens})
                if failed:
                    attributes["error.type"] = r.error
                logger.log(logging.ERROR if failed else logging.INFO,
                           f"{stage.name}.{'failed' if failed else 'completed'}",
                           extra={"at": start + (stage.start_ms + stage.duration_ms) / 1000,
                                  "attributes": attributes})
        # The canonical line: one per request, everything lab 2 needs to compute its signals.
        attributes = {
            "tenant": r.tenant, "priority": r.priority, "topic": r.topic,
            "http.response.status_code": r.status,
            "latency_ms": round(r.latency_ms, 1), "ttft_ms": round(r.ttft_ms, 1),
            "gen_ai.request.model": r.model,
            "gen_ai.usage.input_tokens": r.prompt_tokens,
            "gen_ai.usage.output_tokens": r.completion_tokens}
        if r.error:
            attributes["error.type"] = r.error
        logger.log(logging.ERROR if r.status >= 500 else logging.INFO, "request.completed",
                   extra={"at": start + r.latency_ms / 1000, "attributes": attributes})


@dataclass
class Written:
    """What write_log wrote: counts from the tail-sampling handler."""
    requests: int
    lines: int
    lines_kept: int
    traces_kept: int
    failed: int
    failed_kept: int


def write_log(requests, stream, scenario: traffic.Scenario = traffic.STORY, rate: float = 1.0,
              slow_ms: float = SLOW_MS) -> Written:
    """Log every request of the list to the stream as JSON lines (tail-sampled at `rate`)."""
    epoch = epoch_seconds(scenario)
    with json_logger(stream, rate=rate, slow_ms=slow_ms) as (logger, handler):
        for r in requests:
            log_request(logger, r, epoch)
    return Written(len(requests), handler.lines, handler.lines_kept, handler.traces_kept,
                   handler.failed, handler.failed_kept)


# ── 4. reading a log back: SQLite for questions, a byte search for one trace ───────────────────

REQUIRED = ("timestamp", "severity_number", "body", "trace_id", "span_id")
TOP_LEVEL = ("timestamp", "severity_text", "severity_number", "body", "trace_id", "span_id",
             "parent_span_id", "attributes")
MAX_LISTED = 5


def _skip(bad: JsonLines, number: int, reason: str) -> None:
    """Count one bad line the way shared.read_jsonl does."""
    bad.bad += 1
    bad.reasons[reason] = bad.reasons.get(reason, 0) + 1
    if len(bad.bad_lines) < MAX_LISTED:
        bad.bad_lines.append(number)


def load_log(raw_lines) -> tuple[sqlite3.Connection, JsonLines]:
    """Load JSON lines (bytes, or str) into an in-memory SQLite table `log`, one row per usable line,
    and count the rest as shared.read_jsonl would: not UTF-8, not JSON, not an object, missing
    fields. SQLite checks the JSON itself (json_valid), in C: several times faster than
    json.loads line by line. `log` has the top-level fields as columns, `attributes` as JSON
    text, `line` as written and `n` its line number."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE raw (n INTEGER PRIMARY KEY, line TEXT)")
    bad = JsonLines()

    def decoded():
        for number, raw in enumerate(raw_lines, 1):
            if not raw.strip():
                continue
            try:
                text = raw if isinstance(raw, str) else raw.decode("utf-8")
            except UnicodeDecodeError:
                _skip(bad, number, "not UTF-8")
                continue
            if "\x00" in text:            # SQLite would read the text only up to the NUL
                _skip(bad, number, "not JSON")
                continue
            yield number, text

    db.executemany("INSERT INTO raw VALUES (?, ?)", decoded())
    columns = ", ".join(f"json_extract(line, '$.{key}')" for key in TOP_LEVEL)
    present = " AND ".join(f"{key} IS NOT NULL" for key in REQUIRED)
    db.execute(f"CREATE TABLE log (n INTEGER PRIMARY KEY, {', '.join(TOP_LEVEL)}, line TEXT)")
    db.execute(f"INSERT INTO log SELECT n, {columns}, line FROM raw "
               "WHERE json_valid(line) AND json_type(line) = 'object'")
    db.execute(f"DELETE FROM log WHERE NOT ({present})")
    # Only the rejected lines are looked at again, to say why; the first few listed are the
    # first in the file, whichever check refused them.
    early, bad.bad_lines = bad.bad_lines, []
    for number, reason in db.execute("""
            SELECT n, CASE WHEN NOT json_valid(line) THEN 'not JSON'
                           WHEN json_type(line) != 'object' THEN 'not an object'
                           ELSE 'missing fields' END
            FROM raw WHERE n NOT IN (SELECT n FROM log) ORDER BY n"""):
        _skip(bad, number, reason)
    bad.bad_lines = sorted(early + bad.bad_lines)[:MAX_LISTED]
    db.execute("DROP TABLE raw")
    db.create_function("keep_trace", 5, keep_trace, deterministic=True)
    db.create_function("trace_fraction", 1, trace_fraction, deterministic=True)
    return db, bad


def open_log(path: str) -> tuple[sqlite3.Connection, JsonLines]:
    """load_log on a file; LogReadError if it is missing or holds no usable line."""
    with open_log_file(path) as stream:
        db, bad = load_log(stream)
    if db.execute("SELECT count(*) FROM log").fetchone()[0] == 0:
        why = f" ({bad.summary(path)})" if bad.bad else ""
        raise LogReadError(f"{path}: no usable line{why}")
    return db, bad


KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
CONDITION = re.compile(r"(.*?)(!=|>=|<=|=|>|<)(.*)", re.S)


def json_path(key: str) -> str:
    """The SQLite JSON path of a --where/--count-by key: a top-level field (`body`), or an
    attribute, by its own name (`tenant`, `gen_ai.request.model`) or as `attributes.NAME`.
    Dotted attribute names need the quotes: `$.attributes."error.type"`.

    >>> json_path("body"), json_path("error.type")
    ('$.body', '$.attributes."error.type"')
    """
    if not KEY.fullmatch(key):
        raise ValueError(f"invalid key {key!r}: use letters, digits, '_' and '.', "
                         "e.g. body, tenant, error.type")
    if key in TOP_LEVEL:
        return f"$.{key}"
    return f'$.attributes."{key.removeprefix("attributes.")}"'


def _number(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return None


def where_clause(conditions: list[str]) -> tuple[str, list]:
    """SQL for --where conditions (KEY=VALUE, KEY!=VALUE, KEY>NUMBER, ...), AND-ed, with every
    key and value bound as a parameter: nothing a user types becomes SQL. A value that reads as
    a number matches the number or the text ("200" finds 200; true and false find JSON's
    booleans); != also matches lines without the key. ValueError for an invalid condition."""
    sql, params = [], []
    for condition in conditions:
        match = CONDITION.fullmatch(condition)
        if not match:
            raise ValueError(f"invalid condition {condition!r}: write KEY=VALUE, KEY!=VALUE, "
                             "KEY>NUMBER, ...")
        key, op, value = match.groups()
        path, number = json_path(key), _number(value)
        if op == "=":
            sql.append("json_extract(line, ?) IN (?, ?)")
        elif op == "!=":
            sql.append("coalesce(json_extract(line, ?) NOT IN (?, ?), 1)")
        elif number is None:
            raise ValueError(f"invalid condition {condition!r}: {op} needs a number")
        else:
            sql.append(f"json_extract(line, ?) {op} ?")
            params += [path, number]
            continue
        typed = {"true": 1, "false": 0}.get(value, value if number is None else number)
        params += [path, typed, value]
    return (" WHERE " + " AND ".join(sql)) if sql else "", params


def query(db: sqlite3.Connection, where: list[str] = (), count_by: list[str] = (),
          sums: list[str] = (), limit: int = 20) -> tuple[list[str], list[tuple]]:
    """(header, rows) for --where, --count-by and --sum: the lines and sums per value of the
    count-by keys (the busiest first), or else the matching lines in time order."""
    clause, params = where_clause(list(where))
    if count_by or sums:
        paths = [json_path(key) for key in [*count_by, *sums]]
        groups = [f"v{i}" for i in range(len(count_by))]
        columns = [f"json_extract(line, ?) AS {g}" for g in groups] + ["count(*) AS lines"] + \
                  ["sum(json_extract(line, ?))" for _ in sums]
        grouping = f" GROUP BY {', '.join(groups)} ORDER BY lines DESC, {', '.join(groups)}" \
            if groups else ""
        rows = db.execute(f"SELECT {', '.join(columns)} FROM log{clause}{grouping}",
                          paths + params).fetchall()
        return [*count_by, "lines", *(f"sum {key}" for key in sums)], rows
    if limit:
        clause, params = clause + " ORDER BY timestamp, n LIMIT ?", params + [limit]
    else:
        clause += " ORDER BY timestamp, n"
    rows = db.execute(f"SELECT line FROM log{clause}", params).fetchall()
    return ["line"], rows


def run_sql(db: sqlite3.Connection, sql: str) -> tuple[list[str], list[tuple]]:
    """(header, rows) of the user's own SELECT on the read-only table `log`."""
    db.execute("PRAGMA query_only = ON")
    cursor = db.execute(sql)
    return [d[0] for d in cursor.description or ()], cursor.fetchall()


def lines_naming(buffer, trace_id: str) -> list[tuple[int, bytes]]:
    """The (offset, line) of every line that holds the text "<trace_id>" (with its quotes),
    found with bytes.find over the raw buffer, never parsing the lines that do not. Most lines
    of a big log are skipped at the speed of a memory search: that is the whole trick."""
    needle = f'"{trace_id}"'.encode()
    found, at = [], buffer.find(needle)
    while at != -1:
        start = buffer.rfind(b"\n", 0, at) + 1
        end = buffer.find(b"\n", at)
        end = len(buffer) if end == -1 else end
        found.append((start, buffer[start:end]))
        at = buffer.find(needle, end)
    return found


def trace_records(buffer, trace_id: str) -> tuple[list[dict], JsonLines]:
    """Every usable record of one trace (from bytes or a memory map), in time order (file order
    among equal times), each with its time in seconds added as `_at`; and the bad lines among
    those that name the trace, counted as shared.read_jsonl counts them."""
    bad, records = JsonLines(), []
    for offset, raw in lines_naming(buffer, trace_id):
        reason = None
        try:
            record = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            reason = "not UTF-8"
        except ValueError:
            reason = "not JSON"
        else:
            if not isinstance(record, dict):
                reason = "not an object"
            elif any(key not in record for key in REQUIRED):
                reason = "missing fields"
            elif record["trace_id"] == trace_id:
                try:
                    record["_at"] = parse_rfc3339(str(record["timestamp"]))
                    records.append(record)
                except ValueError:
                    reason = "bad timestamp"
        if reason:                      # rare: only now count the lines before it
            _skip(bad, buffer[:offset].count(b"\n") + 1, reason)
    records.sort(key=lambda rec: rec["_at"])
    return records, bad


def _usable(line: bytes) -> bool:
    try:
        record = json.loads(line.decode("utf-8"))
    except ValueError:                                      # UnicodeDecodeError is one too
        return False
    return isinstance(record, dict) and all(key in record for key in REQUIRED)


def read_trace(path: str, trace_id: str) -> tuple[list[dict], JsonLines]:
    """trace_records on a file, memory-mapped: the search runs over the page cache, and a log
    bigger than memory works too. LogReadError if the file cannot be read, or if the trace is
    not in it because no line of it is usable (usually the first line says so)."""
    with open_log_file(path) as stream:
        try:
            buffer = mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:                                  # an empty file cannot be mapped
            raise LogReadError(f"{path}: no usable line (the file is empty)") from None
        with buffer:
            records, bad = trace_records(buffer, trace_id)
            if not records and not any(_usable(line) for line in iter(buffer.readline, b"")):
                raise LogReadError(f"{path}: no usable line")
    return records, bad


@dataclass(frozen=True)
class SpanRow:
    """One span of a waterfall: times in milliseconds from the trace's first moment."""
    name: str
    span_id: str
    depth: int
    start_ms: float
    duration_ms: float
    failed: bool
    error_type: str | None
    origin: bool            # the failed span where the failure began (no failed child)


class _Span(NamedTuple):
    name: str
    parent: str | None
    start: float                # seconds since the Unix epoch
    duration_ms: float
    failed: bool
    error_type: str | None


def _span(recs: list[dict]) -> _Span:
    """What the records of one span say about it (see waterfall)."""
    end = max(rec["_at"] for rec in recs)
    attributes = [rec["attributes"] for rec in recs if isinstance(rec.get("attributes"), dict)]
    duration = next((a[key] for a in attributes for key in ("duration_ms", "latency_ms")
                     if isinstance(a.get(key), (int, float))), None)
    if duration is None:
        duration = (end - min(rec["_at"] for rec in recs)) * 1000
    failing = [rec for rec in recs if isinstance(rec.get("severity_number"), (int, float))
               and rec["severity_number"] >= 17]
    error = next((rec["attributes"].get("error.type") for rec in failing
                  if isinstance(rec.get("attributes"), dict)), None)
    return _Span(str(recs[0]["body"]).split(".")[0], recs[0].get("parent_span_id"),
                 end - duration / 1000, float(duration), bool(failing), error)


def waterfall(records: list[dict]) -> list[SpanRow]:
    """The spans of one trace, parents before children, siblings by start time.

    A span is named after its first record's event (`retrieval.completed` -> retrieval); it
    ends at its last record; its duration is its `duration_ms` (or `latency_ms`) attribute when
    it has one, else the time between its records. A span whose parent is not in the log is
    drawn as a root. Log timestamps have millisecond resolution, so starts are +-1 ms.
    """
    by_span: dict[str, list[dict]] = {}
    for record in records:
        by_span.setdefault(record["span_id"], []).append(record)
    spans = {span_id: _span(recs) for span_id, recs in by_span.items()}
    children: dict[str | None, list[str]] = {}
    for span_id, span in spans.items():
        parent = span.parent if span.parent in spans and span.parent != span_id else None
        children.setdefault(parent, []).append(span_id)
    origin = min(span.start for span in spans.values())
    rows: list[SpanRow] = []

    def visit(parent: str | None, depth: int, seen: set) -> None:
        for span_id in sorted(children.get(parent, []), key=lambda s: spans[s].start):
            if span_id in seen:                             # a cycle, in a foreign log
                continue
            seen.add(span_id)
            span = spans[span_id]
            failed_child = any(spans[c].failed for c in children.get(span_id, []))
            rows.append(SpanRow(span.name, span_id, depth, round((span.start - origin) * 1000, 1),
                                span.duration_ms, span.failed, span.error_type,
                                span.failed and not failed_child))
            visit(span_id, depth + 1, seen)

    visit(None, 0, set())
    return rows


def draw_waterfall(rows: list[SpanRow], width: int = 20, ascii: bool | None = None) -> list[str]:
    """The waterfall as text: one line per span, its bar placed on the trace's time axis, the
    failed spans marked ERROR and the one where the failure began marked `<- failed here`."""
    if ascii is None:
        ascii = not can_encode("█")
    bar_char = "#" if ascii else "█"
    total = max((r.start_ms + r.duration_ms for r in rows), default=0.0) or 1.0
    lines = [f"  {'span':<14} {'start':>7} {'duration':>9}  timeline"]
    for r in rows:
        left = min(width - 1, round(r.start_ms / total * width))
        right = max(left + 1, round((r.start_ms + r.duration_ms) / total * width))
        bar = (" " * left + bar_char * (right - left))[:width].ljust(width)
        mark = ("ERROR" + (" <- failed here" if r.origin else "")) if r.failed else ""
        name = neutralize("  " * r.depth + r.name)[:14]
        lines.append(f"  {name:<14} {_ms(r.start_ms, '+'):>7} {_ms(r.duration_ms):>9}  "
                     f"|{bar}| {mark}".rstrip())
    return lines


def _ms(value: float, sign: str = "") -> str:
    """Milliseconds for people: 21.4 ms, 1,234 ms, 30.0 s."""
    if value >= 10_000:
        return f"{sign}{value / 1000:.1f} s"
    return f"{sign}{value:,.0f} ms" if value >= 1000 or sign else f"{value:.1f} ms"


def describe_record(record: dict, label: str, full_time: bool = False) -> str:
    """One record as a line for a person: time, severity, event, a label (the span's name or the
    trace id), attributes. Control characters from the file are shown, never obeyed."""
    attrs = record.get("attributes") if isinstance(record.get("attributes"), dict) else {}
    pairs = " ".join(f"{k}={json.dumps(v)}" for k, v in attrs.items())
    stamp = str(record["timestamp"]) if full_time else str(record["timestamp"])[11:23]
    return neutralize(f"{stamp}  {str(record.get('severity_text', '')):<5}  "
                      f"{str(record['body']):<20} {label:<10} {pairs}")


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
    example_attributes: dict = field(default_factory=dict)
    example_rows: list[SpanRow] = field(default_factory=list)
    per_minute: list[tuple[int, int, int]] = field(default_factory=list)  # (minute, req, failed)
    sample_rate: float = SAMPLE_RATE
    slow_ms: float = SLOW_MS
    sampled_lines: int = 0
    sampled_traces: int = 0
    failed_truth: int = 0                   # failing requests in the story's ground truth
    failed_truth_kept: int = 0
    head_failed_kept: int = 0               # what a head sampler at the same rate would keep


def error_burst(scenario: traffic.Scenario = traffic.STORY) -> traffic.Incident:
    """The story's paging error incident: the window the default run logs."""
    return next(i for i in scenario.incidents if i.kind == "errors" and i.page)


def run(requests=None, *, seed: int = traffic.DEFAULT_SEED,
        scenario: traffic.Scenario = traffic.STORY, start_s: float | None = None,
        end_s: float | None = None, sample: float = SAMPLE_RATE,
        slow_ms: float = SLOW_MS) -> Result:
    """Log a window of the story (default: the error burst), then ask the log what failed,
    where, what one failure went through, and what tail sampling would keep."""
    if requests is None:
        requests = traffic.generate(seed=seed, scenario=scenario)
    burst = error_burst(scenario)
    start_s = burst.start_s if start_s is None else start_s
    end_s = burst.end_s if end_s is None else end_s
    starts = [r.ts for r in requests]
    window = requests[bisect.bisect_left(starts, start_s):bisect.bisect_left(starts, end_s)]

    stream = io.StringIO()
    written = write_log(window, stream, scenario)
    text = stream.getvalue()
    data = text.encode()
    db, _ = load_log(text.split("\n"))

    failures = db.execute("""
        SELECT json_extract(attributes, '$."http.response.status_code"') AS status,
               json_extract(attributes, '$."error.type"') AS error, count(*)
        FROM log WHERE body = 'request.completed' AND severity_number >= 17
        GROUP BY status, error ORDER BY count(*) DESC, status, error""").fetchall()
    by_stage = db.execute("""
        SELECT substr(body, 1, instr(body, '.') - 1) AS stage,
               json_extract(attributes, '$."error.type"') AS error, count(*)
        FROM log WHERE severity_number >= 17 AND body != 'request.completed'
        GROUP BY stage, error ORDER BY count(*) DESC, stage, error""").fetchall()
    first = db.execute("""SELECT trace_id FROM log WHERE body = 'request.completed'
                          AND severity_number >= 17 ORDER BY n LIMIT 1""").fetchone()
    per_minute = db.execute("""
        SELECT substr(timestamp, 1, 16) AS minute, count(*),
               sum(severity_number >= 17) FROM log WHERE body = 'request.completed'
        GROUP BY minute ORDER BY minute""").fetchall()
    # Tail sampling, decided per trace by the same keep_trace the handler uses (here a SQLite
    # function): a trace failed if any of its lines is an ERROR.
    decided = db.execute("""
        SELECT trace_id, count(*), keep_trace(trace_id, max(severity_number) >= 17,
               coalesce(max(CASE WHEN body = 'request.completed'
                                 THEN json_extract(attributes, '$.latency_ms') END), 0), ?, ?)
        FROM log GROUP BY trace_id""", (sample, slow_ms)).fetchall()
    kept = {trace_id for trace_id, _, keep in decided if keep}
    truth = [r for r in window if not r.ok]
    failed = sum(n for _, _, n in failures)

    example, attributes, rows, first_s = None, {}, [], None
    if first:
        example = first[0]
        records, _ = trace_records(data, example)
        rows = waterfall(records)
        attributes = next(rec["attributes"] for rec in records
                          if rec["body"] == "request.completed")
        first_s = round(records[0]["_at"] - epoch_seconds(scenario), 3)
    return Result(
        seed=seed, window=(start_s, end_s), requests=len(window), lines=written.lines,
        kilobytes=len(data) / 1000,
        redacted={kind: text.count(f"[REDACTED:{kind}]") for kind, *_ in SECRETS},
        injections=sum(not r.prompt.isprintable() for r in window),
        log=text, failed=failed, failures=failures, by_stage=by_stage,
        first_failure_s=first_s,
        example=example, example_attributes=attributes, example_rows=rows,
        per_minute=[(int((parse_rfc3339(m + ":00Z") - epoch_seconds(scenario)) // 60), n, f)
                    for m, n, f in per_minute],
        sample_rate=sample, slow_ms=slow_ms,
        sampled_lines=sum(lines for _, lines, keep in decided if keep), sampled_traces=len(kept),
        failed_truth=len(truth), failed_truth_kept=sum(r.trace_id in kept for r in truth),
        head_failed_kept=sum(trace_fraction(r.trace_id) < sample for r in truth))


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
                  f"  {a.get('tenant')}, {a.get('topic')}: {a.get('http.response.status_code')} "
                  f"{a.get('error.type')} after {_ms(a.get('latency_ms', 0.0))}"]
        lines += draw_waterfall(r.example_rows)
    rate = f"{r.sample_rate * 100:g} %"
    lines += [
        "",
        f"Tail sampling at {rate}: keep every error and every trace over {r.slow_ms / 1000:g} s",
        f"  keeps {r.sampled_lines:,} of {r.lines:,} lines: saves "
        f"{percent(1 - r.sampled_lines / r.lines) if r.lines else '0.0 %'}",
        f"  failing requests kept: {r.failed_truth_kept} of {r.failed_truth}; "
        f"a head sample at {rate} keeps {r.head_failed_kept}",
    ]
    return "\n".join(lines)


def findings(result: Result) -> list[tuple[float | None, str]]:
    """What the logs showed, for the demo's closing timeline."""
    out: list[tuple[float | None, str]] = []
    if result.first_failure_s is not None and result.by_stage:
        stage, _, lines = result.by_stage[0]
        out.append((result.first_failure_s, f"logs: {result.failed:,} of {result.requests:,} "
                                            f"failed, {lines:,} at {stage}"[:60]))
    saved = 1 - result.sampled_lines / max(1, result.lines)
    out.append((None, f"tail sampling kept {result.failed_truth_kept}/{result.failed_truth} "
                      f"failures, saved {percent(saved)} of lines"[:60]))
    return out


def svg_charts(result: Result) -> list[str]:
    """Failed requests per minute, counted from the log's request.completed lines."""
    if not result.per_minute:
        return []
    return [svg_chart([f for _, _, f in result.per_minute],
                      "failed requests per minute, from the JSON logs", unit=" req",
                      x_label=f"minutes {traffic.clock(result.window[0])}-"
                              f"{traffic.clock(result.window[1])}")]


# ── main(): the command line ────────────────────────────────────────────────────────────────────

def _print_table(header: list[str], rows: list[tuple]) -> None:
    cells = [[neutralize("null" if v is None else str(round(v, 3) if isinstance(v, float) else v))
              for v in row] for row in rows]
    if cells:
        print(table(cells, header))


def _cmd_write(args) -> int:
    requests = traffic.generate(seed=args.seed)
    start = args.from_minute * 60.0
    end = start + args.minutes * 60.0 if args.minutes else traffic.STORY.duration_s
    window = [r for r in requests if start <= r.ts < end]
    if not window:
        span = f" for {args.minutes} minute(s)" if args.minutes else ""
        return fail(f"no requests from minute {args.from_minute}{span}: the story runs "
                    f"{traffic.STORY.duration_s / 60:g} minutes")
    try:
        with open(args.out, "w", encoding="utf-8") as stream:
            written = write_log(window, stream, rate=args.sample, slow_ms=args.slow_ms)
    except OSError as exc:
        return fail(f"cannot write {args.out}: {exc.strerror}")
    until = traffic.clock(min(end, traffic.STORY.duration_s))
    print(f"wrote {written.lines_kept:,} lines ({written.requests:,} requests, "
          f"{traffic.clock(start)}-{until}) to {args.out}")
    if args.sample < 1:
        print(f"tail sampling at {args.sample * 100:g} %: kept {written.lines_kept:,} of "
              f"{written.lines:,} lines ({written.traces_kept:,} of {written.requests:,} traces), "
              f"{written.failed_kept} of {written.failed} failing traces")
    return 0


def _report_bad(path: str, bad: JsonLines) -> None:
    if bad.bad:
        print(neutralize(bad.summary(path)), file=sys.stderr)


def _cmd_story(args) -> int:
    trace_id = args.trace_id.lower()
    if not re.fullmatch(r"[0-9a-f]{32}", trace_id):
        return fail(f"{args.trace_id!r} is not a trace id: expected 32 hexadecimal characters")
    try:
        records, bad = read_trace(args.file, trace_id)
    except LogReadError as exc:
        return fail(str(exc))
    _report_bad(args.file, bad)
    if not records:
        return fail(f"trace {trace_id} is not in {args.file}")
    if args.json:
        for record in records:
            record.pop("_at")
            print(json.dumps(record))
        return 0
    rows = waterfall(records)
    names = {row.span_id: row.name for row in rows}
    failed = any(row.failed for row in rows)
    print(f"trace {trace_id}: {len(records)} records, {len(rows)} spans, "
          f"{'FAILED' if failed else 'ok'}")
    print("\n".join(draw_waterfall(rows)))
    print("\nrecords in time order:")
    for record in records:
        print("  " + describe_record(record, names.get(record["span_id"], "?")))
    return 0


def _cmd_query(args) -> int:
    if args.sql and (args.where or args.count_by or args.sum):
        return fail("--sql stands alone: put the conditions in its WHERE clause")
    try:
        for key in args.count_by + args.sum:
            json_path(key)
        where_clause(args.where)
    except ValueError as exc:
        return fail(str(exc))
    try:
        db, bad = open_log(args.file)
    except LogReadError as exc:
        return fail(str(exc))
    _report_bad(args.file, bad)
    try:
        if args.sql:
            header, rows = run_sql(db, args.sql)
        else:
            header, rows = query(db, args.where, args.count_by, args.sum, args.limit)
    except sqlite3.Error as exc:
        return fail(f"SQL: {exc}")
    if header == ["line"]:
        clause, params = where_clause(args.where)
        total = db.execute("SELECT count(*) FROM log" + clause, params).fetchone()[0]
        for (line,) in rows:
            record = json.loads(line)
            print(json.dumps(record) if args.json
                  else describe_record(record, str(record["trace_id"]), full_time=True))
        if not args.json:
            shown = f", first {len(rows)} shown" if len(rows) < total else ""
            print(f"{total:,} matching line(s){shown}")
        return 0
    _print_table(header, rows)
    if not rows:
        print("no rows")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Structured, correlated JSON logs: write the story's logs, query any "
                    "JSON-lines log with SQLite, and pull one request's whole story. "
                    "With no command: the story's error burst, logged and queried.")
    parser.add_argument("--seed", type=non_negative_int, default=traffic.DEFAULT_SEED,
                        help=f"seed of the story (default {traffic.DEFAULT_SEED})")
    parser.add_argument("--sample", type=fraction, default=SAMPLE_RATE,
                        help="tail sampling: share of healthy, fast traces kept "
                             f"(default {SAMPLE_RATE})")
    parser.add_argument("--slow-ms", type=positive_float, default=SLOW_MS,
                        help="tail sampling: traces at least this slow (ms) are kept "
                             f"(default {SLOW_MS:g})")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    write = commands.add_parser("write", help="write the story's logs as JSON lines",
                                description="Replay the story through the logger into a "
                                            "JSON-lines file.")
    write.add_argument("--out", required=True, metavar="FILE", help="the file to write")
    write.add_argument("--seed", type=non_negative_int, default=argparse.SUPPRESS,
                       help=f"seed of the story (default {traffic.DEFAULT_SEED})")
    write.add_argument("--from-minute", type=non_negative_int, default=0, metavar="M",
                       help="first minute of the story to log (default 0)")
    write.add_argument("--minutes", type=positive_int, default=None, metavar="K",
                       help="how many minutes to log (default: to the end of the story)")
    write.add_argument("--sample", type=fraction, default=1.0, metavar="RATE",
                       help="tail sampling: share of healthy, fast traces kept (default 1: all)")
    write.add_argument("--slow-ms", type=positive_float, default=SLOW_MS,
                       help="tail sampling: traces at least this slow (ms) are kept "
                            f"(default {SLOW_MS:g})")

    story = commands.add_parser("story", help="one request's records as a waterfall of spans",
                                description="Every record of one trace, in time order, drawn "
                                            "as a waterfall of its spans; the failing span marked.")
    story.add_argument("file", metavar="FILE", help="a JSON-lines log")
    story.add_argument("trace_id", metavar="TRACE_ID", help="32 hexadecimal characters")
    story.add_argument("--json", action="store_true", help="print the records as JSON lines")

    ask = commands.add_parser("query", help="ask a JSON-lines log with SQLite",
                              description="Query a JSON-lines log. KEY is a top-level field "
                                          "(body, severity_text, trace_id, ...) or an attribute "
                                          "(tenant, error.type, gen_ai.request.model, ...). "
                                          "--sql runs your own SELECT on the table "
                                          "log(n, timestamp, severity_text, severity_number, "
                                          "body, trace_id, span_id, parent_span_id, attributes, "
                                          "line), e.g. "
                                          "json_extract(attributes, '$.\"error.type\"').")
    ask.add_argument("file", metavar="FILE", help="a JSON-lines log")
    ask.add_argument("--where", action="append", default=[], metavar="KEY=VALUE",
                     help="keep lines where KEY=VALUE (also !=, >, >=, <, <=); repeat to AND")
    ask.add_argument("--count-by", action="append", default=[], metavar="KEY",
                     help="count the matching lines per value of KEY (repeat for several keys)")
    ask.add_argument("--sum", action="append", default=[], metavar="KEY",
                     help="also sum the numbers of KEY per group, e.g. gen_ai.usage.input_tokens")
    ask.add_argument("--sql", metavar="SELECT", help="your own read-only SQL on the table log")
    ask.add_argument("--limit", type=non_negative_int, default=20,
                     help="lines to print without --count-by (default 20; 0 = all)")
    ask.add_argument("--json", action="store_true", help="print matching lines as JSON")

    args = parse_command_line(parser, commands, argv)
    if args.command == "write":
        return _cmd_write(args)
    if args.command == "story":
        return _cmd_story(args)
    if args.command == "query":
        return _cmd_query(args)
    print(report(run(seed=args.seed, sample=args.sample, slow_ms=args.slow_ms)))
    return 0


if __name__ == "__main__":
    run_cli(main)
