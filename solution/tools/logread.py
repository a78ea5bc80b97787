"""Reading logs as programs write them: every line is read, or counted as bad with the reason,
its first line and what would fix it. Never fatal.

One reader, `usable` (through `records_in`), decides for every tool (query, story, the
dashboard's --from). A record needs a time and a body (or an event's name); its ids are read
when they are there. A line is refused as

    not UTF-8        the bytes are not text
    not JSON         a truncated line, a stray blob, a NUL byte (or a line of another --format)
    not an object    valid JSON, but a list, a string or a number
    number too large beyond a double (1e999, read as infinity) or a 64-bit integer
    missing fields   a record without its time or its body (the --map that would give them)
    time without a zone, bad timestamp, cannot convert (a --map conversion), ids not text

The shapes: this tool's JSON lines, OTLP/JSON and protobuf's JSON mapping of it, the OTel SDK's
records (one a line or pretty-printed), Docker's json-file, Kubernetes' CRI lines (partial lines
joined), journald's JSON, logfmt, Google Cloud's structured JSON; --map for other names.

A key given twice in one object has its last value, in every reader (as Python's json,
JavaScript's JSON.parse and jq have it).

    >>> classify(b'{"body": "x"}', ("body",))
    ({'body': 'x'}, None)
    >>> classify(b'[1, 2]', ())
    (None, 'not an object')
"""

from __future__ import annotations

import base64
import binascii
import calendar
import functools
import gzip
import io
import itertools
import json
import math
import multiprocessing
import os
import re
import stat
import sys
import threading
import time
import zlib
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone, tzinfo
from dataclasses import dataclass, field, replace
from typing import Iterable, Iterator

from solution.cli import positive_int


MAX_LISTED = 5          # bad line numbers remembered, to say where the first ones are
MAX_LINE_BYTES = 1 << 20    # a longer line is read away in pieces and counted, never held whole
TOO_LONG = b"<a line longer than MAX_LINE_BYTES>"
BOM = "\ufeff"
# what a log's first line may start with and lose (a byte-order mark); a stretch of a split log
# that starts inside the file has no first line of its own: there it is b"" (set by _stretch)
HEAD_BOM = BOM.encode()


@dataclass(frozen=True)
class Reading:
    """How a command reads its logs, handed to every reader as a parameter (a default Reading()
    reads this tool's own log): the field map (--map, parse_field_map), the zone of times written
    without one (--tz; None: refuse them), the shape of the lines (--format) and the longest line
    held (--max-line). Frozen: two reads in one process, or in two threads, never share one's
    settings with the other; it travels whole to the processes that read a stretch each."""
    fields: tuple[tuple[str, str], ...] = ()
    zone: tzinfo | None = None
    format: str = "auto"
    max_line: int = MAX_LINE_BYTES


@dataclass
class JsonLines:
    """What a reader got: the good records, and the bad lines counted by reason."""
    records: list[dict] = field(default_factory=list)
    bad: int = 0                                          # lines skipped
    bad_lines: list[int] = field(default_factory=list)    # their numbers (first few)
    reasons: dict[str, int] = field(default_factory=dict)
    lines: int = 0                                        # lines read, good and bad and blank
    first: dict[str, int] = field(default_factory=dict)   # each reason's first line
    hints: dict[str, str] = field(default_factory=dict)   # each reason's fix, when one is known

    def skip(self, number: int, reason: str) -> None:
        """Count one bad line (a Reason carries the hint that would fix it)."""
        self.bad += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1
        self.first.setdefault(reason, number)
        if getattr(reason, "hint", "") and reason not in self.hints:
            self.hints[reason] = reason.hint
        if len(self.bad_lines) < MAX_LISTED:
            self.bad_lines.append(number)

    def summary(self, path: str) -> str:
        """One line for stderr: how many lines were skipped, and for the main reasons how many,
        the first line of each and what would fix it."""
        return f"{path}: skipped {self.bad} bad line(s): {explain(self.reasons, self.first, self.hints)}"


MAX_REASONS = 4         # reasons named in a summary; the rest counted together


def explain(reasons: dict[str, int], first: dict[str, int], hints: dict[str, str]) -> str:
    """The main reasons, the commonest first: `N REASON (first at line K; HINT)`.

    >>> explain({"not JSON": 2, "time without a zone": 5}, {"not JSON": 7, "time without a zone": 1},
    ...         {"time without a zone": "give --tz UTC"})
    '5 time without a zone (first at line 1; give --tz UTC), 2 not JSON (first at line 7)'
    """
    ranked = sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
    parts = []
    for reason, n in ranked[:MAX_REASONS]:
        where = f"first at line {first[reason]}" if reason in first else ""
        notes = "; ".join(x for x in (where, hints.get(reason, "")) if x)
        parts.append(f"{n} {reason}" + (f" ({notes})" if notes else ""))
    rest = sum(n for _, n in ranked[MAX_REASONS:])
    if rest:
        parts.append(f"{rest} for {len(ranked) - MAX_REASONS} other reason(s)")
    return ", ".join(parts)


class Reason(str):
    """Why a line was refused, with the hint that would fix it (a --map, a --tz, a --format)."""
    hint = ""


def reason(text: str, hint: str = "") -> str:
    out = Reason(text)
    out.hint = hint
    return out


class LogReadError(Exception):
    """The log cannot be read at all: missing, unreadable, or without one usable line."""


def _not_json(constant: str):
    """NaN and Infinity are Python's, not JSON's (RFC 8259): SQLite's JSON functions refuse them."""
    raise ValueError(f"{constant} is not JSON")


class _TooLarge(ValueError):
    pass


def _finite(text: str) -> float:
    """A JSON number a double holds (RFC 8259 section 6 lets a reader refuse one beyond it):
    1e999 would be read as infinity, and that is no latency or token count."""
    value = float(text)
    if not math.isfinite(value):
        raise _TooLarge(text)
    return value


def _int64(text: str) -> int:
    """A JSON integer a 64-bit signed integer holds, as SQLite's and OTLP's do."""
    value = int(text)
    if not -2 ** 63 <= value < 2 ** 63:
        raise _TooLarge(text)
    return value


# one decoder for every line (json.loads with hooks would build a new one each call)
_DECODER = json.JSONDecoder(parse_constant=_not_json, parse_float=_finite, parse_int=_int64)


def classify(raw: bytes | str, required: Iterable[str] = ()) -> tuple[dict | None, str | None]:
    """(record, None) for a usable line, (None, reason) for a bad one: the one rule every reader
    follows."""
    try:
        text = raw if isinstance(raw, str) else raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, "not UTF-8"
    try:
        record = _DECODER.decode(text)
    except _TooLarge:
        return None, "number too large"
    except (ValueError, RecursionError):
        return None, "not JSON"
    if not isinstance(record, dict):
        return None, "not an object"
    if "\\u" in text and _SURROGATE_ESCAPE.search(text):
        record = _without_lone_surrogates(record)
    if any(key not in record for key in required):
        return None, "missing fields"
    return record, None


# A lone surrogate escape ("\ud800" with no partner) is valid JSON text (RFC 8259 section 8.2 says
# only that readers' behaviour is unpredictable) but no UTF-8 text: printing it, binding it for
# SQLite or encoding it fails. Each becomes U+FFFD, the replacement character, as Go's and
# Rust's JSON readers do; a pair stays the one character it spells.
_SURROGATE_ESCAPE = re.compile(r"\\[uU][dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _without_lone_surrogates(record: dict) -> dict:
    """The record with every lone surrogate in its keys and strings, at any depth, replaced."""
    def fixed(value):
        return _LONE_SURROGATE.sub("\ufffd", value) if isinstance(value, str) else value
    out = {}
    stack = [(record, out)]                     # a loop, not recursion: any depth the reader took
    while stack:
        source, target = stack.pop()
        pairs = source.items() if isinstance(source, dict) else enumerate(source)
        for key, value in pairs:
            if isinstance(value, (dict, list)):
                copy = {} if isinstance(value, dict) else [None] * len(value)
                stack.append((value, copy))
                value = copy
            if isinstance(target, dict):
                target[fixed(key)] = fixed(value)
            else:
                target[key] = fixed(value)
    return out


def _any_value(value: dict):
    """An OTLP AnyValue as a plain value (int64 travels as a string in OTLP/JSON)."""
    if not isinstance(value, dict):
        return value
    if "intValue" in value:
        return int(value["intValue"])
    if "arrayValue" in value:
        return [_any_value(v) for v in value["arrayValue"].get("values", [])]
    if "kvlistValue" in value:
        return {kv["key"]: _any_value(kv.get("value")) for kv in value["kvlistValue"].get("values", [])}
    for kind in ("stringValue", "boolValue", "doubleValue", "bytesValue"):
        if kind in value:
            return value[kind]
    return None


def _nanos_to_rfc3339(nanos) -> str | None:
    nanos = int(nanos or 0)
    if not nanos:
        return None
    return rfc3339(nanos // 1000 / 1e6)


def _empty(value) -> bool:
    """No body at all: absent, null, "", or OTLP's empty AnyValue {} (an event's body)."""
    return value is None or value == "" or value == {}


def _resource(resource) -> dict:
    """A resource's attributes as a dict: service.name and the rest."""
    if not isinstance(resource, dict):
        return {}
    return {kv["key"]: _any_value(kv.get("value")) for kv in resource.get("attributes") or []}


def otlp_records(request: dict) -> list[dict]:
    """The log records of one OTLP/JSON export request (resourceLogs / scopeLogs / logRecords, as
    the OpenTelemetry Collector's file exporter writes one per line), in this tool's shape:
    timestamp (from timeUnixNano, else observedTimeUnixNano), severity (a number, or the enum's
    name as protobuf's JSON mapping writes it), body (an event's name when it has none), trace
    and span ids (hex, or base64 as protobuf's JSON mapping writes bytes: made hex), attributes
    as a dict, and the resource's attributes as `resource` (service.name for every record).
    ValueError if the request is not of that shape."""
    records = []
    try:
        for resource_logs in request["resourceLogs"]:
            resource = _resource(resource_logs.get("resource"))
            for scope in resource_logs.get("scopeLogs", []):
                for log in scope.get("logRecords", []):
                    attributes = {kv["key"]: _any_value(kv.get("value")) for kv in log.get("attributes", [])}
                    body = _any_value(log.get("body"))
                    severity = log.get("severityNumber")
                    if isinstance(severity, str):
                        severity = SEVERITY_ENUM.get(severity, severity)
                    records.append({
                        "timestamp": _nanos_to_rfc3339(log.get("timeUnixNano"))
                        or _nanos_to_rfc3339(log.get("observedTimeUnixNano")),
                        "severity_text": log.get("severityText"),
                        "severity_number": severity,
                        "body": log.get("eventName") if _empty(body) else body,
                        "trace_id": hex_id(log.get("traceId"), 16),
                        "span_id": hex_id(log.get("spanId"), 8),
                        "parent_span_id": None,            # a log record does not carry it
                        "attributes": attributes,
                        "resource": resource or None})
    except (KeyError, TypeError, AttributeError, ValueError, OverflowError, OSError) as exc:
        raise ValueError(f"not an OTLP logs export ({exc})") from None
    return [{key: value for key, value in rec.items() if value is not None or key == "parent_span_id"}
            for rec in records]


# protobuf's JSON mapping writes an enum by its name (OTLP/JSON by its number)
SEVERITY_ENUM = {"SEVERITY_NUMBER_UNSPECIFIED": 0, **{
    f"SEVERITY_NUMBER_{name}{'' if k == 0 else k + 1}": base + k
    for base, name in ((1, "TRACE"), (5, "DEBUG"), (9, "INFO"), (13, "WARN"), (17, "ERROR"), (21, "FATAL"))
    for k in range(4)}}
_HEX = re.compile(r"[0-9a-fA-F]+")
_LOWER_HEX = re.compile(r"[0-9a-f]+")
_ZEROS = {16: "0" * 32, 8: "0" * 16}


def hex_id(value, size: int):
    """A trace id (16 bytes) or span id (8 bytes) as lowercase hex, whatever way it was written:
    hex, `0x` hex (the OTel SDK's console exporter), base64 (protobuf's JSON mapping of bytes),
    `projects/P/traces/ID` (Google Cloud). An all-zero id is no id (W3C Trace Context): None.
    Anything else is left as it is, for the reader to refuse.

    >>> hex_id("W/kvNXezTaajzpKdDg5HNg==", 16), hex_id("0x00f067aa0ba902b7", 8), hex_id("0" * 32, 16)
    ('5bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7', None)
    """
    if not isinstance(value, str) or not value:
        return value or None
    if len(value) == 2 * size and _LOWER_HEX.fullmatch(value):          # as this tool writes it
        return None if value == _ZEROS[size] else value
    if value.strip("0") in ("", "x", "X"):      # 0, 0x000...: outside a span
        return None
    text = value
    if text[:2] in ("0x", "0X"):
        text = text[2:]
    elif "/traces/" in text:
        text = text.rsplit("/", 1)[1]
    if len(text) == 2 * size and _HEX.fullmatch(text):
        text = text.lower()
    elif len(text) in (4 * ((size + 2) // 3), (8 * size + 5) // 6):  # base64, padded or not
        try:
            raw = base64.b64decode(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4),
                                   validate=True)
        except (binascii.Error, ValueError):
            return value
        if len(raw) != size:
            return value
        text = raw.hex()
    else:
        return value
    return None if text.strip("0") == "" else text


# `--map NAME=PATH[:CONVERSION]`: where a foreign log keeps a field this tool reads. NAME is one
# of this tool's fields (timestamp, severity_text, severity_number, body, trace_id, span_id,
# parent_span_id) or `attributes.KEY`; PATH names the foreign field, dotted for a nested one
# (`extra.tenant`), a part in double quotes when its own name holds dots
# (`"logging.googleapis.com/trace"`, `httpRequest."x.y"`); `attributes=*`: every top-level field
# not mapped elsewhere becomes an attribute; `*=PATH:json`: the record is the JSON object in the
# text at PATH (over the other fields). CONVERSION (CONVERSIONS) turns the value into what the
# tool reads. A command's map is its Reading's `fields`; every reader applies it through records_in.
TARGETS = ("timestamp", "severity_text", "severity_number", "body", "trace_id", "span_id",
           "parent_span_id", "attributes")
# OpenTelemetry's severity numbers for the level names loggers write (logs data model, "Mapping
# of SeverityNumber"); a foreign log often has only the name
SEVERITY_NUMBERS = {"trace": 1, "debug": 5, "info": 9, "notice": 10, "warn": 13, "warning": 13,
                    "error": 17, "exception": 17, "critical": 21, "fatal": 21}
# syslog's priorities (RFC 5424: 0 emergency ... 7 debug) as OpenTelemetry severity numbers, as
# OpenTelemetry PHP maps PSR-3's syslog levels; 3 (error) and below are errors (17 and above)
SYSLOG_SEVERITY = {0: 22, 1: 21, 2: 18, 3: 17, 4: 13, 5: 10, 6: 9, 7: 5}
SEVERITY_NAMES = ((21, "FATAL"), (17, "ERROR"), (13, "WARN"), (9, "INFO"), (5, "DEBUG"), (1, "TRACE"))
CONVERSIONS = {
    "json": "the text is JSON: read it (Docker's log, journald's MESSAGE)",
    "seconds": "a number of seconds, made milliseconds (nginx's $request_time as latency_ms)",
    "duration": 'a duration such as "1.289s", "350ms" or "1m2.5s", made milliseconds',
    "number": 'text that is a number ("503", "12.5"), made the number',
    "utc": "a time written without a zone is UTC",
    "syslog": "a syslog priority 0-7 (0 emergency, 3 error, 6 info), made a severity number",
}


def severity_name(number: int) -> str:
    """The OpenTelemetry short name of a severity number: 17 -> ERROR."""
    return next((name for low, name in SEVERITY_NAMES if number >= low), "UNSPECIFIED")


def parse_field_map(pairs: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """The --map pairs, checked: ValueError with the reason for one that cannot be.

    >>> parse_field_map(["body=event", "attributes.tenant=extra.tenant", "attributes=*"])
    (('body', 'event'), ('attributes.tenant', 'extra.tenant'), ('attributes', '*'))
    >>> parse_field_map(['trace_id="logging.googleapis.com/trace"', "attributes.latency_ms=rt:seconds"])
    (('trace_id', '"logging.googleapis.com/trace"'), ('attributes.latency_ms', 'rt:seconds'))
    """
    out = []
    for pair in pairs:
        target, _, source = pair.partition("=")
        target, source = target.strip(), source.strip()
        whole = target == "*" and source.endswith(":json") and len(source) > 5
        if not whole and (not source or target.split(".", 1)[0] not in TARGETS
                          or (target == "attributes") != (source == "*")):
            raise ValueError(f"--map {pair}: NAME=PATH[:CONVERSION], NAME one of "
                             f"{', '.join(TARGETS[:-1])} or attributes.KEY (or attributes=* for "
                             "every field not mapped, or *=PATH:json for a record inside a field)")
        try:
            _source(source)
        except ValueError as exc:
            raise ValueError(f"--map {pair}: {exc}") from None
        out.append((target, source))
    return tuple(out)


@functools.lru_cache(maxsize=256)
def _source(source: str) -> tuple[tuple[str, ...], str | None]:
    """A --map PATH[:CONVERSION] as (its parts, the conversion or None).

    >>> _source('httpRequest.latency:duration'), _source('"logging.googleapis.com/trace"')
    ((('httpRequest', 'latency'), 'duration'), (('logging.googleapis.com/trace',), None))
    """
    if source == "*":
        return ("*",), None
    conversion = None
    path, colon, tail = source.rpartition(":")
    if colon and tail in CONVERSIONS and path:
        source, conversion = path, tail
    elif colon and re.fullmatch(r"[a-z_]+", tail) and path and not path.endswith('"'):
        raise ValueError(f"no conversion {tail!r}: one of {', '.join(CONVERSIONS)}")
    parts = [m.group(1) if m.group(1) is not None else m.group(2)
             for m in re.finditer(r'"([^"]*)"|([^."]+)', source)]
    if not parts or source.count('"') % 2 or any(not part for part in parts):
        raise ValueError(f"PATH {source!r} is not a field's name (a quote left open?)")
    return tuple(parts), conversion


def _lookup(record: dict, path: str):
    """record[path], or the dotted path into nested objects (a quoted part may hold dots);
    KeyError if it is not there."""
    if path in record:
        return record[path]
    value = record
    for part in _source(path)[0] if '"' in path else path.split("."):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(path)
        value = value[part]
    return value


class ConversionError(ValueError):
    """A --map conversion that cannot be made of this value."""


_DURATION = re.compile(r"([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_MS = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "μs": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4, "h": 3.6e6}


def duration_ms(value) -> float:
    """A duration as milliseconds: "1.289s" (Google's httpRequest.latency, protobuf's Duration),
    Go's "1m2.5s" and "350ms", or a bare number of seconds.

    >>> duration_ms("1.289s"), duration_ms("1m2.5s"), duration_ms("350ms"), duration_ms(0.25)
    (1289.0, 62500.0, 350.0, 250.0)
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return round(value * 1000.0, 6)
    if isinstance(value, dict) and ("seconds" in value or "nanos" in value):   # a Duration object
        return round(float(value.get("seconds", 0)) * 1e3 + float(value.get("nanos", 0)) / 1e6, 6)
    text = str(value).strip()
    if not text or not re.fullmatch(f"(?:{_DURATION.pattern})+", text):
        raise ConversionError(f"{text[:20]!r} is not a duration")
    return round(sum(float(n) * _UNIT_MS[unit] for n, unit in _DURATION.findall(text)), 6)


def _as_number(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    if re.fullmatch(r"-?[0-9]{1,18}", text):
        return int(text)
    try:
        number = float(text)
    except ValueError:
        raise ConversionError(f"{text[:20]!r} is not a number") from None
    if not math.isfinite(number):
        raise ConversionError(f"{text[:20]!r} is not a number")
    return number


def convert(value, conversion: str | None):
    """A --map CONVERSION (CONVERSIONS) made of one value; ConversionError if it cannot be."""
    if conversion is None:
        return value
    if conversion == "json":
        if not isinstance(value, str):
            return value
        inner, why = classify(value)
        if why:
            raise ConversionError(f"the text is {why}")
        return inner
    if conversion == "seconds":
        return round(float(_as_number(value)) * 1000.0, 6)
    if conversion == "duration":
        return duration_ms(value)
    if conversion == "number":
        return _as_number(value)
    if conversion == "utc":
        return rfc3339(parse_time(value, timezone.utc))
    number = _as_number(value)                          # syslog
    if number not in SYSLOG_SEVERITY:
        raise ConversionError(f"{value!r} is not a syslog priority 0-7")
    return SYSLOG_SEVERITY[number]


def _mapped_fields(record: dict, pairs: tuple[tuple[str, str], ...]) -> dict:
    """The record with the field map applied: mapped fields moved to their names, converted."""
    for target, source in pairs:                        # *=PATH:json first: the record inside
        if target == "*":
            path = _source(source)[0]
            try:
                inner = convert(_lookup(record, source[:-5]), "json")
            except (KeyError, ConversionError):
                continue
            if isinstance(inner, dict):
                outer = {k: v for k, v in record.items() if k != path[0]}
                record = {**outer, **inner}
    out, used = dict(record), set()
    attributes = dict(record["attributes"]) if isinstance(record.get("attributes"), dict) else {}
    for target, source in pairs:
        if source == "*" or target == "*":
            continue
        path, conversion = _source(source)
        try:
            value = _lookup(record, source.rsplit(":", 1)[0] if conversion else source)
        except KeyError:
            continue
        try:
            value = convert(value, conversion)
        except ConversionError as exc:
            raise ConversionError(f"--map {target}={source}: {exc}") from None
        used.add(path[0])
        if target.startswith("attributes."):
            attributes[target.removeprefix("attributes.")] = value
        else:
            out[target] = value
    if ("attributes", "*") in pairs:
        named = {t for t, _ in pairs} | used
        attributes.update({k: v for k, v in record.items()
                           if k not in named and k not in TARGETS and k != "resource"})
    for key in used - set(TARGETS):
        out.pop(key, None)
    if attributes or "attributes" in out:
        out["attributes"] = attributes
    return out


# ── the shapes programs write: an envelope around the line, or other names for the fields ──────

def _inner(text) -> dict:
    """What a program wrote on one line, inside an envelope (Docker's log, CRI's message,
    journald's MESSAGE): the JSON object it is, or else its text as the body."""
    if isinstance(text, list) and all(isinstance(b, int) and 0 <= b < 256 for b in text):
        text = bytes(text).decode("utf-8", "replace")     # journald: bytes that are not text
    text = str(text).rstrip("\r\n")
    if text.lstrip().startswith("{"):
        inner, why = classify(text)
        if not why:
            return inner
    return {"body": text}


def _docker(record: dict) -> tuple[dict, dict]:
    """Docker's json-file driver: {"log": "<line>\\n", "stream": "stdout", "time": RFC 3339}."""
    return _inner(record["log"]), {"timestamp": record.get("time"),
                                   "attributes": {"log.iostream": record.get("stream")}}


def _journald(record: dict) -> tuple[dict, dict]:
    """journalctl -o json: MESSAGE, PRIORITY (syslog 0-7), __REALTIME_TIMESTAMP (µs, a string);
    the unit and the host become the resource."""
    envelope = {"timestamp": record.get("__REALTIME_TIMESTAMP")}
    try:
        number = convert(record["PRIORITY"], "syslog")
        envelope.update(severity_number=number, severity_text=severity_name(number))
    except (KeyError, ConversionError):
        pass
    resource = {"service.name": record.get("SYSLOG_IDENTIFIER"), "host.name": record.get("_HOSTNAME"),
                "systemd.unit": record.get("_SYSTEMD_UNIT")}
    envelope["resource"] = {k: v for k, v in resource.items() if isinstance(v, str)}
    return _inner(record.get("MESSAGE", "")), envelope


GCP = "logging.googleapis.com/"


def _gcp_time(value):
    if isinstance(value, dict):                           # {"seconds": ..., "nanos": ...}
        return rfc3339(float(value.get("seconds", 0)) + float(value.get("nanos", 0)) / 1e9)
    return value


def _google(record: dict) -> dict:
    """Google Cloud's structured logging: severity, message, logging.googleapis.com/trace and
    spanId, time or timestamp, httpRequest (status, latency as "1.289s"); the other fields,
    and the labels, are attributes."""
    out = {"body": record.get("message"), "severity_text": record.get("severity"),
           "trace_id": record.get(GCP + "trace"), "span_id": record.get(GCP + "spanId")}
    if "timestampSeconds" in record:
        out["timestamp"] = _gcp_time({"seconds": record["timestampSeconds"],
                                      "nanos": record.get("timestampNanos", 0)})
    else:
        out["timestamp"] = _gcp_time(record.get("timestamp", record.get("time")))
    attributes = {k: v for k, v in record.items() if not k.startswith(GCP) and k not in (
        "message", "severity", "timestamp", "time", "timestampSeconds", "timestampNanos",
        "httpRequest", "attributes", *TARGETS)}
    labels = record.get(GCP + "labels")
    if isinstance(labels, dict):
        attributes.update(labels)
    request = record.get("httpRequest")
    if isinstance(request, dict):
        if "status" in request:
            attributes.setdefault("http.response.status_code", request["status"])
        if "requestMethod" in request:
            attributes.setdefault("http.request.method", request["requestMethod"])
        if "latency" in request:
            try:
                attributes.setdefault("latency_ms", duration_ms(request["latency"]))
            except ConversionError:
                attributes.setdefault("latency_ms", request["latency"])
    if isinstance(record.get("attributes"), dict):
        attributes.update(record["attributes"])
    out["attributes"] = attributes
    return {k: v for k, v in out.items() if not _empty(v) or k == "attributes"}


def _envelope(record: dict) -> tuple[dict, dict]:
    """(the record inside, what its envelope says) for Docker's and journald's lines; the
    record itself and {} for any other."""
    if "log" in record and "stream" in record and "time" in record:
        return _docker(record)
    if "__REALTIME_TIMESTAMP" in record or ("MESSAGE" in record and "PRIORITY" in record):
        return _journald(record)
    return record, {}


_GCP_KEYS = (GCP + "trace", GCP + "labels", GCP + "spanId")


def _is_google(record: dict) -> bool:
    if "body" in record:
        return False
    return ("severity" in record and "message" in record) or any(k in record for k in _GCP_KEYS)


def _normal(record: dict, reading: Reading = Reading()) -> dict:
    """A JSON-lines record in this tool's shape: an envelope (Docker, CRI, journald) opened, the
    field map applied (--map), Google Cloud's names read, and the OTel SDK's habits undone: ids
    written `0x...` (its console exporter), all zeros outside a span, an event's name standing
    in for an absent body, the resource's attributes flattened; a level name alone gives its
    OpenTelemetry severity number. ConversionError if a --map conversion fails."""
    envelope, named = record.pop(ENVELOPE, None) or {}, reading.format
    if envelope:
        pass
    elif named == "docker" and isinstance(record.get("log"), str):      # --format says so
        record, envelope = _docker(record)
    elif named == "journald" and "MESSAGE" in record:
        record, envelope = _journald(record)
    elif "log" in record or "MESSAGE" in record or "__REALTIME_TIMESTAMP" in record:
        record, envelope = _envelope(record)
    if pairs := reading.fields:
        record = _mapped_fields(record, pairs)
    if named == "gcp" or _is_google(record):
        record = _google(record)
    for key, value in envelope.items():                 # the program's own fields first
        if key in ("attributes", "resource"):
            inner = record.get(key) if isinstance(record.get(key), dict) else {}
            record[key] = {**{k: v for k, v in value.items() if v is not None}, **inner}
        elif key not in record and value is not None:
            record[key] = value
    for key, size in _IDS:
        written = record.get(key)
        if written.__class__ is str:
            value = hex_id(written, size)
            if value is None:
                record.pop(key)
            elif value is not written:
                record[key] = value
    if "event_name" in record and _empty(record.get("body")) and record["event_name"]:
        record["body"] = record["event_name"]
    if "observed_timestamp" in record and record.get("timestamp") is None:
        record["timestamp"] = record["observed_timestamp"]
    resource = record.get("resource")
    if resource and isinstance(resource, dict) and isinstance(resource.get("attributes"), dict):
        record["resource"] = resource["attributes"]          # the SDK's {attributes, schema_url}
    if record.get("severity_number") is None and isinstance(record.get("severity_text"), str):
        number = SEVERITY_NUMBERS.get(record["severity_text"].lower())
        if number:
            record["severity_number"] = number
    return record


ENVELOPE = "\0envelope"
_IDS = (("trace_id", 16), ("span_id", 8), ("parent_span_id", 8))     # what a CRI line's envelope says, beside the record inside it

# where programs keep the body and the time, for a hint when a record has neither
BODY_KEYS = ("event", "message", "msg", "MESSAGE", "event_name", "eventName", "log", "text")
TIME_KEYS = ("time", "ts", "@timestamp", "asctime", "datetime", "date", "created", "t",
             "timestamp_ms", "observed_timestamp")


def _hint_missing(record: dict, missing: list[str]) -> str:
    """The --map that would give a record the fields it lacks, if it has a likely one."""
    maps = []
    for name, keys in (("body", BODY_KEYS), ("timestamp", TIME_KEYS)):
        if name in missing:
            key = next((k for k in keys if k in record), None)
            if key:
                maps.append(f"--map {name}={key}")
    if "timestamp" in missing and not maps and any(k.startswith(GCP) for k in record):
        return ("Google's handler leaves the time to Cloud Logging: read the lines where the "
                "platform stamped them (GKE's CRI files), or export them with their timestamp")
    return f"try {' '.join(maps)}" if maps else ""


_RFC3339_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z")


def _checked_time(record: dict, zone: tzinfo | None = None) -> str | None:
    """Check a record's timestamp, and write it as RFC 3339 UTC when it was not (a number, a
    time in a zone, journald's µs): every reader then reads the same instant. The reason, if
    it is no time."""
    value = record.get("timestamp")
    if isinstance(value, str) and _RFC3339_Z.fullmatch(value):
        return None                                     # this tool's own: read as it is
    try:
        record["timestamp"] = rfc3339(parse_time(value, zone))
    except NoZone:
        return reason("time without a zone", "give --tz UTC, or the zone the log's clock was in")
    except (ValueError, OverflowError):
        return reason("bad timestamp", "RFC 3339 with a zone, or seconds/ms/µs/ns since the epoch")
    return None


def records_in(raw: bytes | str, required: Iterable[str] = (), shape: str = "json",
               reading: Reading = Reading()) -> tuple[list[dict], str | None]:
    """The records one line holds, or ([], reason): a line of this tool's JSON lines (or the OTel
    SDK's, Docker's, journald's, Google Cloud's), one record; an OTLP/JSON export request, all of
    its log records; a CRI or logfmt line (`shape`), one record. A missing field is named in the
    reason, with the --map that would supply it when the record has a likely field."""
    if shape == "cri":
        record, why = cri_record(raw)
    elif shape == "logfmt":
        record, why = logfmt_record(raw)
    else:
        record, why = classify(raw)
    if why:
        return [], why
    if "resourceLogs" in record:
        try:
            records = otlp_records(record)
        except ValueError:
            return [], "not an OTLP logs export"
    else:
        try:
            records = [_normal(record, reading)]
        except ConversionError as exc:
            return [], reason("cannot convert", str(exc))
    for rec in records:
        missing = [key for key in required if _empty(rec.get(key))]
        if missing:
            missing = sorted({key for rec in records for key in required if _empty(rec.get(key))})
            return [], reason(f"missing fields ({', '.join(missing)})", _hint_missing(record, missing))
        if not isinstance(rec.get("trace_id", ""), str) or not isinstance(rec.get("span_id", ""), str) \
                or not isinstance(rec.get("parent_span_id"), (str, type(None))):
            return [], "ids not text"
        if "timestamp" in required and (why := _checked_time(rec, reading.zone)):
            return [], why
    return records, None


# ── lines that are not JSON: Kubernetes' CRI log format, logfmt ────────────────────────────────

_CRI = re.compile(rb"(\S+) (stdout|stderr) ([PF])(?::\S*)? ?(.*?)\r?\n?", re.S)


def cri_record(raw: bytes | str) -> tuple[dict | None, str | None]:
    """A CRI log line (what the kubelet writes under /var/log/pods: `TIME STREAM P|F MESSAGE`,
    TIME RFC 3339 in nanoseconds) as the record its message holds, the envelope's time and
    stream beside it. Partial lines (P) are joined before they get here (join_cri)."""
    data = raw.encode() if isinstance(raw, str) else raw
    match = _CRI.fullmatch(data)
    if not match:
        return None, reason("not a CRI line", "CRI lines are TIME STREAM P|F MESSAGE; --format json?")
    try:
        message = match.group(4).decode("utf-8")
        stamp = match.group(1).decode("ascii")
    except UnicodeDecodeError:
        return None, "not UTF-8"
    record = _inner(message)
    record[ENVELOPE] = {"timestamp": stamp, "attributes": {"log.iostream": match.group(2).decode()}}
    return record, None


def join_cri(numbered: Iterable[tuple[int, bytes]]) -> Iterator[tuple[int, bytes]]:
    """CRI lines with their partial pieces (P) joined up to the full one (F), per stream, as one
    line numbered as its first piece; a joined line longer than MAX_LINE_BYTES is TOO_LONG."""
    pending: dict[bytes, tuple[int, bytes, list[bytes], int]] = {}
    for number, raw in numbered:
        match = _CRI.fullmatch(raw) if raw is not TOO_LONG else None
        if not match:
            yield number, raw
            continue
        stamp, stream, tag, message = match.groups()
        first, head, parts, size = pending.pop(stream, (number, stamp, [], 0))
        parts.append(message)
        size += len(message)
        if tag == b"P" and size <= MAX_LINE_BYTES:
            pending[stream] = (first, head, parts, size)
        elif size > MAX_LINE_BYTES:
            yield first, TOO_LONG
        else:
            yield first, head + b" " + stream + b" F " + b"".join(parts) + b"\n"
    for stream, (first, head, parts, _) in pending.items():     # a last partial line: what there is
        yield first, head + b" " + stream + b" F " + b"".join(parts) + b"\n"


_LOGFMT = re.compile(r'\s*([^\s="]+)(?:=("(?:[^"\\]|\\.)*"|[^\s"]*))?')
_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")


def logfmt_record(raw: bytes | str) -> tuple[dict | None, str | None]:
    """A logfmt line (`key=value key2="quoted value" flag`) as a flat record: a value that reads
    as a JSON number is that number (except a key naming an id), a quoted one is unescaped, a
    key alone is true.

    >>> logfmt_record('ts=2026-11-02T09:00:03Z level=info msg="a b" n=3 trace_id=0012 ok')[0]
    {'ts': '2026-11-02T09:00:03Z', 'level': 'info', 'msg': 'a b', 'n': 3, 'trace_id': '0012', 'ok': True}
    """
    try:
        text = raw if isinstance(raw, str) else raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, "not UTF-8"
    text, record, at = text.rstrip("\r\n"), {}, 0
    while at < len(text.rstrip()):
        match = _LOGFMT.match(text, at)
        if not match or match.end() == at:
            return None, reason("not logfmt", "logfmt is key=value key2=\"quoted value\"")
        key, value = match.group(1), match.group(2)
        at = match.end()
        if value is None:
            record[key] = True
        elif value.startswith('"'):
            try:
                record[key] = json.loads(value)
            except ValueError:
                return None, reason("not logfmt", "a quoted value with a bad escape")
        elif _NUMBER.fullmatch(value) and not key.lower().endswith("id") and len(value) < 19:
            record[key] = _as_number(value)
        else:
            record[key] = value
    if not record:
        return None, "not logfmt"
    return record, None


GZIP_MAGIC = b"\x1f\x8b"


def _open(path: str):
    """open(path, "rb"), but a FIFO without a writer does not wait forever (it reads as empty),
    and a device that never ends (/dev/zero, /dev/urandom) is refused."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISCHR(mode) and not os.isatty(fd):
            raise LogReadError(f"{path}: is a device, not a log file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def parse_time(value, zone: tzinfo | None = None) -> float:
    """A log's timestamp as seconds since the Unix epoch: RFC 3339 text with a zone (any number of
    fraction digits, `T` or a space, `Z` or an offset; a time without a zone is read in the zone
    `--tz` gave, else refused: whose clock?), or a number of seconds, milliseconds, microseconds
    or nanoseconds since the epoch, told apart by size (OpenTelemetry's timeUnixNano is the
    last), as a number or as digits in a string (journald's __REALTIME_TIMESTAMP, in µs).

    >>> parse_time("2026-11-02T09:00:03.123Z"), parse_time(1793610003123), parse_time(1793610003.5)
    (1793610003.123, 1793610003.123, 1793610003.5)
    >>> parse_time("2026-11-02T10:00:03.123456789+01:00"), parse_time("1793610003123456")
    (1793610003.123457, 1793610003.123456)
    """
    if isinstance(value, bool):
        raise ValueError("a timestamp, not true or false")
    if isinstance(value, str) and _EPOCH_TEXT.fullmatch(value):
        value = float(value) if "." in value else int(value)
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"timestamp {value!r} is not a time")
        for scale in (1, 1e3, 1e6, 1e9):              # seconds until the year 5138, and so on
            if value < 1e11 * scale:
                return round(value / scale, 6)
        raise ValueError(f"timestamp {value!r} is too large")
    if not isinstance(value, str):
        raise ValueError(f"timestamp {type(value).__name__} is not a time")
    text = value
    # the common shape, 2026-11-02T09:00:03.123Z: its whole second parsed once, the fraction added
    # (a log's lines come in time order, so a few seconds' worth of cache serves thousands)
    if len(text) <= 30 and text[-1:] == "Z" and (len(text) == 20 or _FRACTION.fullmatch(text, 19, len(text) - 1)):
        base = _SECONDS.get(text[:19])
        if base is None:
            if len(_SECONDS) > 4096:
                _SECONDS.clear()
            base = _SECONDS[text[:19]] = rfc3339_seconds(text[:19] + "Z")
        return round(base + (float(text[19:-1]) if len(text) > 20 else 0.0), 6)
    return rfc3339_seconds(text, zone)


_SECONDS: dict[str, float] = {}
_FRACTION = re.compile(r"\.[0-9]{1,6}")        # beyond microseconds: the full parser
_EPOCH_TEXT = re.compile(r"[0-9]{1,25}(\.[0-9]{1,9})?")
# RFC 3339 (and what loggers write near it: a space for the T, a comma before the fraction, as
# Python's asctime does, an offset without its colon, a trailing UTC); parsed by hand, so that
# Python 3.10 (whose fromisoformat takes 3 or 6 fraction digits and no Z) reads what 3.13 does
_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9})\d*)?"
                   r"(?:(?P<z>[Zz]| ?UTC| ?GMT)|(?P<sign>[+-])(?P<oh>\d\d)(?::?(?P<om>\d\d))?)?")


class NoZone(ValueError):
    """A time without a zone, and no --tz to say whose clock it was."""


def rfc3339_seconds(text: str, zone: tzinfo | None = None) -> float:
    """RFC 3339 text as seconds since the epoch (the doctests of parse_time show it); NoZone for
    a time without a zone when no `zone` (--tz) is given, ValueError for text that is no time.

    >>> rfc3339_seconds("2026-11-02 09:00:03,5 UTC"), rfc3339_seconds("2026-11-02T09:00:03.1-0130")
    (1793610003.5, 1793615403.1)
    """
    match = _TIME.fullmatch(text.strip())
    if not match:
        raise ValueError(f"timestamp {text[:40]!r} is not RFC 3339")
    year, month, day, hour, minute, second = (int(g) for g in match.group(1, 2, 3, 4, 5, 6))
    datetime(year, month, day, hour, minute, min(second, 59))      # 2026-02-30: ValueError
    if second > 60:
        raise ValueError(f"timestamp {text[:40]!r}: second {second}")
    if match.group("z"):
        offset = 0.0
    elif match.group("sign"):
        offset = int(match.group("oh")) * 3600 + int(match.group("om") or 0) * 60
        offset = -offset if match.group("sign") == "-" else offset
    else:
        if zone is None:
            raise NoZone(f"timestamp {text[:40]!r} is written without a time zone")
        local = datetime(year, month, day, hour, minute, min(second, 59), tzinfo=zone)
        offset = local.utcoffset().total_seconds()
    fraction = match.group(7)
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)) - offset
    return round(seconds + (int(fraction.ljust(9, "0")) / 1e9 if fraction else 0.0), 6)


def parse_zone(text: str) -> tzinfo:
    """--tz: UTC, an offset (+02:00, -0530) or an IANA zone name (Europe/Paris, where the system
    has the zone database). ValueError with the reason otherwise.

    >>> parse_zone("+02:00"), parse_zone("utc")
    (datetime.timezone(datetime.timedelta(seconds=7200)), datetime.timezone.utc)
    """
    if text.upper() in ("UTC", "Z", "GMT"):
        return timezone.utc
    if match := re.fullmatch(r"([+-])(\d\d):?(\d\d)", text):
        minutes = int(match.group(2)) * 60 + int(match.group(3))
        return timezone(timedelta(minutes=-minutes if match.group(1) == "-" else minutes))
    try:
        from zoneinfo import ZoneInfo
        return ZoneInfo(text)
    except (ImportError, ValueError, OSError, KeyError):     # ZoneInfoNotFoundError is a KeyError
        raise ValueError(f"--tz {text}: give UTC, an offset such as +02:00, or a zone name "
                         "such as Europe/Paris") from None


def rfc3339(seconds: float) -> str:
    """Seconds since the epoch as RFC 3339 UTC text, to the microsecond.

    >>> rfc3339(1793610003.5)
    '2026-11-02T09:00:03.500000Z'
    """
    moment = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=round(seconds * 1e6))
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


@contextmanager
def open_log_file(path: str):
    """Open a log for reading bytes: `-` is standard input, and a gzip'd log (known by its first
    two bytes, whatever its name) is read decompressed. A missing, unreadable, corrupt or
    directory path becomes one LogReadError that says which and why, never a traceback."""
    try:
        stream = sys.stdin.buffer if path == "-" else _open(path)
    except FileNotFoundError:
        raise LogReadError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise LogReadError(f"{path}: is a directory, not a log file") from None
    except OSError as exc:
        raise LogReadError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        if stream.peek(2)[:2] == GZIP_MAGIC:
            counted = _Counted(stream)
            with gzip.GzipFile(fileobj=counted) as unzipped:
                inflated = _Inflated(unzipped, counted, path)
                yield _one_request(inflated, path) or inflated
        else:
            yield _one_request(stream, path) or stream
    except (OSError, EOFError, zlib.error) as exc:       # a corrupt or truncated gzip, a read error
        reason = exc.strerror or str(exc) if isinstance(exc, OSError) else str(exc) or "truncated"
        raise LogReadError(f"{path}: cannot read ({reason})") from None
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


# A gzip whose text outgrows its compressed size this many times is no log (JSON lines compress
# about 10 times; deflate's limit is 1,032, reached by a file of one repeated byte: 100 KB of
# newlines is 100 MB of empty lines), checked once the text passes GZIP_FLOOR_BYTES.
MAX_GZIP_RATIO = 200
GZIP_FLOOR_BYTES = 1 << 20


class _Counted:
    """A binary stream that counts the bytes read from it (a gzip's compressed bytes)."""

    def __init__(self, stream):
        self.stream, self.count = stream, 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.count += len(data)
        return data

    def __getattr__(self, name):
        return getattr(self.stream, name)


class _Inflated(io.BufferedReader):
    """A gzip's text, stopped with a LogReadError once it outgrows MAX_GZIP_RATIO times the
    compressed bytes read: a gzip bomb ends in a clear error, not in minutes of empty lines."""

    def __init__(self, unzipped, counted: _Counted, path: str):
        super().__init__(_RatioChecked(unzipped, counted, path), 1 << 16)
        self.fileobj = counted.stream           # for Progress: how far into the compressed file


class _RatioChecked(io.RawIOBase):
    def __init__(self, unzipped, counted: _Counted, path: str):
        self.unzipped, self.counted, self.path, self.out = unzipped, counted, path, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.unzipped.readinto(buffer)
        self.out += n
        if self.out > GZIP_FLOOR_BYTES and self.out > MAX_GZIP_RATIO * max(1, self.counted.count):
            raise LogReadError(f"{self.path}: stopped: the gzip unpacks to over {MAX_GZIP_RATIO} "
                               "times its size (a gzip bomb, not a log)")
        return n


MAX_REQUEST_BYTES = 256 << 20     # a file that is one OTLP request is read whole: up to this


def _one_request(stream, path: str) -> io.BytesIO | None:
    """A file that is one OTLP/JSON export request, pretty-printed over many lines (as a request
    saved by hand, or by curl), as JSON lines: one small export request a log record, which
    every reader takes as it takes the Collector's request a line. None for any other file (its
    first line is JSON by itself, or it names no resourceLogs): read it as lines."""
    head = stream.peek(1 << 16)[:1 << 16]
    if not head.lstrip().startswith(b"{") or b'"resourceLogs"' not in head:
        return None
    try:
        json.loads(head.split(b"\n", 1)[0])
        return None                                   # JSON lines, a request a line
    except ValueError:
        pass
    data = stream.read(MAX_REQUEST_BYTES + 1)
    if len(data) > MAX_REQUEST_BYTES:
        raise LogReadError(f"{path}: one OTLP request over {MAX_REQUEST_BYTES >> 20} MB: "
                           "export a request a line (the Collector's file exporter does)")
    request, _ = classify(data)
    if not isinstance(request, dict) or not isinstance(request.get("resourceLogs"), list):
        return io.BytesIO(data)                       # not one request: its lines, counted
    lines = []
    for resource in request["resourceLogs"]:
        for scope in (resource.get("scopeLogs") or []) if isinstance(resource, dict) else [resource]:
            for record in (scope.get("logRecords") or []) if isinstance(scope, dict) else [scope]:
                lines.append(json.dumps({"resourceLogs": [{
                    "resource": resource.get("resource", {}) if isinstance(resource, dict) else {},
                    "scopeLogs": [{"scope": scope.get("scope", {}) if isinstance(scope, dict) else {},
                                   "logRecords": [record]}]}]}))
    return io.BytesIO("\n".join(lines).encode() + b"\n")


def bounded_lines(stream, limit: int | None = None) -> Iterator[bytes]:
    """A binary stream's lines, none held longer than `limit` bytes (a Reading's max_line; by
    default MAX_LINE_BYTES): a longer one is read away in pieces and stands as TOO_LONG (a log
    of one endless line cannot fill the memory). A long read shows its progress on a terminal (Progress)."""
    limit = limit or MAX_LINE_BYTES
    progress, count = Progress(stream), 0
    try:
        while line := stream.readline(limit + 1):
            count += 1
            if not count & 0xFFFF:                      # every 65,536 lines: a glance at the clock
                progress.show(count)
            if len(line) > limit and not line.endswith(b"\n"):
                while (rest := stream.readline(limit)) and not rest.endswith(b"\n"):
                    pass
                yield TOO_LONG
            else:
                yield line
    finally:
        progress.clear()


class Progress:
    """A progress line on stderr while a log is read: lines read, their rate, and the time left
    when the file's size is known (for a gzip, by its compressed bytes). Shown only once a read
    has taken more than a second, and only when stderr is a terminal: a pipe or a file gets
    nothing, and the line is wiped when the read ends."""
    DELAY_S = 1.0

    def __init__(self, stream):
        self.started, self.shown = time.monotonic(), False
        self.raw = getattr(stream, "fileobj", None) or stream        # a gzip's compressed file
        try:
            self.size = os.fstat(self.raw.fileno()).st_size or None
        except (AttributeError, OSError, ValueError):
            self.size = len(stream.getbuffer()) if isinstance(stream, io.BytesIO) else None

    def show(self, lines: int) -> None:
        elapsed = time.monotonic() - self.started
        if elapsed < self.DELAY_S or not sys.stderr.isatty():
            return
        text = f"read {lines:,} lines, {lines / elapsed:,.0f}/s"
        try:
            done = self.raw.tell() / self.size if self.size else None
        except (AttributeError, OSError, ValueError):
            done = None
        if done:
            text += f", {100 * done:.0f} %, about {elapsed * (1 - done) / done:.0f} s left"
        print(f"\r{text:<70}", end="", file=sys.stderr, flush=True)
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            print(f"\r{'':<70}\r", end="", file=sys.stderr, flush=True)


# --format: the shape of a log's lines, named, or found from its first line ("auto"). JSON
# lines cover this tool's own, OTLP/JSON, the OTel SDK's, Docker's json-file, journald's JSON and
# Google Cloud's structured logs (each record is known by its fields); "pretty" is JSON objects
# written over several lines each (the OTel SDK's console exporter by default)
FORMATS = ("auto", "json", "pretty", "docker", "cri", "journald", "logfmt", "gcp")
LINE_SHAPES = {"journald": "json", "gcp": "json"}    # JSON, each record known by its fields


def detect_shape(first: bytes) -> str:
    """The shape of a log, from its first line that is not blank: "cri", "logfmt", "pretty" or
    "json" (JSON lines, or lines to be counted as bad).

    >>> [detect_shape(x) for x in (b'{"a": 1}', b'{', b'2026-11-02T09:00:00.1Z stdout F hi', b'a=1 b=x')]
    ['json', 'pretty', 'cri', 'logfmt']
    """
    line = first.strip()
    if line.startswith(b"{"):
        if line == b"{":
            return "pretty"
        record, _ = classify(line)
        docker = isinstance(record, dict) and isinstance(record.get("log"), str) and "stream" in record
        return "docker" if docker and "time" in record else "json"
    if _CRI.fullmatch(line) and line[:1].isdigit():
        return "cri"
    record, why = logfmt_record(line)
    if not why and len(record) >= 2 and sum(v is not True for v in record.values()) >= 2:
        return "logfmt"
    return "json"


def file_shape(stream, reading: Reading = Reading()) -> str:
    """The shape of an open log, from --format or its first line that is not blank (peeked,
    never consumed): "json", "pretty", "cri" or "logfmt"."""
    named = LINE_SHAPES.get(reading.format, reading.format)
    if named != "auto":
        return named
    head = stream.getvalue()[:1 << 16] if isinstance(stream, io.BytesIO) else stream.peek(1 << 16)[:1 << 16]
    first = next((line for line in head.removeprefix(BOM.encode()).split(b"\n") if line.strip()), b"")
    return detect_shape(first)


def add_reading_flags(parser, scope: str = "") -> None:
    """--map, --tz, --format and --max-line, the same on every command that reads a log."""
    scope = f"{scope}: " if scope else ""
    parser.add_argument("--map", action="append", default=[], metavar="NAME=PATH[:CONV]",
                        help=f"{scope}map a field of your log onto one this tool reads, e.g. "
                             "body=event, severity_text=level, attributes.tenant=extra.tenant, "
                             "attributes=* (every other top-level field), "
                             "attributes.latency_ms=request_time:seconds; CONV is one of "
                             f"{', '.join(CONVERSIONS)}; repeat")
    parser.add_argument("--tz", metavar="ZONE",
                        help=f"{scope}the zone of times written without one (UTC, +02:00, "
                             "Europe/Paris); without it such a line is refused, and counted")
    parser.add_argument("--format", dest="log_format", choices=FORMATS, default="auto",
                        help=f"{scope}the shape of the log's lines (default auto: found from the "
                             "first line; JSON lines cover this tool's own, OTLP/JSON, the OTel "
                             "SDK's, Docker's, journald's and Google Cloud's)")
    parser.add_argument("--max-line", type=positive_int, default=MAX_LINE_BYTES, metavar="BYTES",
                        help=f"{scope}a line longer than BYTES is skipped and counted as too "
                             f"long, never held whole (default {MAX_LINE_BYTES:,}: 1 MiB)")


def reading_from(args) -> Reading:
    """The Reading of a command line's --map, --tz, --format and --max-line; ValueError for a
    bad one."""
    fields = parse_field_map(args.map)
    zone = parse_zone(args.tz) if args.tz else None
    return Reading(fields=fields, zone=zone, format=args.log_format, max_line=args.max_line)


def _shaped(numbered: Iterator[tuple[int, bytes]],
            named: str = "auto") -> tuple[str, Iterator[tuple[int, bytes]]]:
    """(the shape, the lines as records: partial CRI lines joined, pretty JSON objects gathered)."""
    shape = LINE_SHAPES.get(named, named)
    head = []
    if shape == "auto":
        shape = "json"
        for number, raw in numbered:
            head.append((number, raw))
            if raw is not TOO_LONG and raw.strip():
                shape = detect_shape(raw)
                break
    lines = itertools.chain(head, numbered)
    if shape == "cri":
        return shape, join_cri(lines)
    if shape == "pretty":
        return "json", join_objects(lines)
    if shape == "docker":
        return "json", join_docker(lines)
    return shape, lines


def join_docker(numbered: Iterable[tuple[int, bytes]]) -> Iterator[tuple[int, bytes]]:
    """Docker's json-file lines with a long line's pieces joined: the driver cuts a line of more
    than 16 KiB into entries whose `log` does not end in a newline, up to the one that does (per
    stream). A joined line is one entry, numbered as its first piece."""
    pending: dict[str, tuple[int, dict, list[str], int]] = {}
    for number, raw in numbered:
        record, why = classify(raw) if raw is not TOO_LONG else (None, "too long")
        text = record.get("log") if isinstance(record, dict) else None
        if not isinstance(text, str):
            yield number, raw
            continue
        stream = str(record.get("stream"))
        first, head, parts, size = pending.pop(stream, (number, record, [], 0))
        parts.append(text)
        size += len(text)
        if not text.endswith("\n") and size <= MAX_LINE_BYTES:
            pending[stream] = (first, head, parts, size)
        elif size > MAX_LINE_BYTES:
            yield first, TOO_LONG
        elif len(parts) == 1:
            yield number, raw
        else:
            yield first, json.dumps({**head, "log": "".join(parts)}).encode()
    for first, head, parts, _ in pending.values():      # a last piece: what there is
        yield first, json.dumps({**head, "log": "".join(parts)}).encode()


_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')


def join_objects(numbered: Iterable[tuple[int, bytes]]) -> Iterator[tuple[int, bytes]]:
    """JSON objects written over several lines each, one after the other (the OTel SDK's
    ConsoleLogRecordExporter writes each record indented), as one line each, numbered as its
    first line; an object that never closes within MAX_LINE_BYTES is TOO_LONG."""
    parts, depth, first, size = [], 0, 0, 0
    for number, raw in numbered:
        if raw is TOO_LONG:
            parts, depth, size = [], 0, 0
            yield number, TOO_LONG
            continue
        if not parts and not raw.strip():
            continue
        if not parts:
            first = number
        parts.append(raw)
        size += len(raw)
        bare = _STRING.sub(b"", raw)
        depth += bare.count(b"{") + bare.count(b"[") - bare.count(b"}") - bare.count(b"]")
        if depth <= 0 or size > MAX_LINE_BYTES:
            yield first, TOO_LONG if size > MAX_LINE_BYTES else b" ".join(p.strip() for p in parts)
            parts, depth, size = [], 0, 0
    if parts:
        yield first, b" ".join(p.strip() for p in parts)


def usable(lines: Iterable[bytes | str], required: Iterable[str], bad: JsonLines,
           naming: bytes | None = None, reading: Reading = Reading()) -> Iterator[tuple[int, dict]]:
    """(line number, record) for every usable record; every other line is counted in `bad` with
    its reason. Blank lines are neither. A stream is read through bounded_lines; a byte-order
    mark before the first line is not part of it. The log's shape (--format, or its first line)
    says how lines become records: partial CRI lines are joined, pretty-printed JSON objects
    gathered (a record is numbered as its first line). A record is as read, not as the line was
    written: an OTLP line holds many records, the OTel SDK's ids lose their 0x, an envelope
    (Docker, CRI, journald) is opened, and a key given twice in one object has its last value,
    as in Python's json, JavaScript's JSON.parse and jq (SQLite's json_extract would take the
    first: query stores the record as read).
    `naming`: only lines whose bytes hold it are read at all (a search is far cheaper than a
    parse): the others cannot be what the reader wants, and are neither read nor counted.
    `reading`: the command's --map, --tz, --format and --max-line."""
    required = tuple(required)
    source = bounded_lines(lines, reading.max_line) if hasattr(lines, "readline") else lines
    shape = _known_shape(lines, reading)
    if shape in (None, "cri", "pretty", "docker"):    # found from the lines, or joined
        yield from _usable_joined(source, required, bad, naming, reading)
        return
    number = 0
    for number, raw in enumerate(source, 1):          # a record a line: the fast path
        if number == 1 and raw is not TOO_LONG:
            raw = raw.removeprefix(HEAD_BOM if isinstance(raw, bytes) else BOM)
        for record in _line_records(number, raw, required, shape, bad, naming, reading):
            yield number, record
    bad.lines = number


def _line_records(number: int, raw, required: tuple, shape: str, bad: JsonLines,
                  naming: bytes | None, reading: Reading) -> list[dict]:
    """The records of one line (an OTLP request: many); none for a blank line, a line without
    `naming`, or a bad one, which is counted in `bad` with its reason."""
    if raw is TOO_LONG:
        bad.skip(number, "too long")
        return []
    if (naming is not None and naming not in raw) or not raw.strip():
        return []
    records, why = records_in(raw, required, shape, reading)
    if why:
        if why == "not JSON" and shape == "json":
            why = _not_json(raw)
        bad.skip(number, why)
    return records


def _known_shape(lines, reading: Reading) -> str | None:
    """The shape of these lines when it is known before reading them: named by --format, or
    peeked at in a stream, or the first of a list; None when it must be found as they are read."""
    named = LINE_SHAPES.get(reading.format, reading.format)
    if named != "auto":
        return named
    if hasattr(lines, "peek") or isinstance(lines, io.BytesIO):
        return file_shape(lines, reading)
    if isinstance(lines, (list, tuple)):
        first = next((line for line in lines if line is not TOO_LONG and line.strip()), b"")
        return detect_shape(first.encode("utf-8", "surrogatepass") if isinstance(first, str) else first)
    return None


def _usable_joined(source, required: tuple, bad: JsonLines, naming: bytes | None,
                   reading: Reading):
    """usable() on lines whose shape is found from them, or whose records span lines."""
    last = [0]

    def numbered():
        for number, raw in enumerate(source, 1):
            last[0] = number
            if isinstance(raw, str):
                raw = raw.encode("utf-8", "surrogatepass")
            if number == 1 and raw is not TOO_LONG:
                raw = raw.removeprefix(HEAD_BOM)
            yield number, raw

    shape, logical = _shaped(numbered(), reading.format)
    for number, raw in logical:
        for record in _line_records(number, raw, required, shape, bad, naming, reading):
            yield number, record
    bad.lines = last[0]


def _not_json(raw: bytes) -> str:
    """"not JSON", with the --format that would read the line when it looks like another shape."""
    shape = detect_shape(raw)
    if shape in ("cri", "logfmt"):
        return reason("not JSON", f"the line looks like {shape}: --format {shape}")
    return reason("not JSON")


# ── a big log read by several processes, a stretch each ─────────────────────────────────────────

SPLIT_BYTES = 64 << 20          # a plain file this big is split between processes, one a core


def splittable(path: str, stream, reading: Reading = Reading()) -> bool:
    """Is this log worth splitting between processes, and can it be (a big, plain file: not
    gzip'd, not a pipe, not one OTLP request re-cut), on a machine with more than one core?"""
    return (path != "-" and (os.cpu_count() or 1) > 1
            and isinstance(getattr(stream, "raw", None), io.FileIO)     # not a gzip
            and os.path.isfile(path) and os.path.getsize(path) >= SPLIT_BYTES
            and file_shape(stream, reading) in ("json", "logfmt", "docker"))     # a record a line


def for_stretches(stream, reading: Reading) -> Reading:
    """The Reading that each stretch of a split log is read with: with --format auto, the shape
    of the whole log (its first line) named, JSON lines or logfmt, so that a stretch whose first
    line looks like another shape (a `{` alone, `a=1 b=2`, a CRI line) is read as the whole log
    is, that line counted as bad, and not the stretch read otherwise."""
    shape = file_shape(stream, reading)
    if reading.format == "auto" and shape in ("json", "logfmt"):
        return replace(reading, format=shape)
    return reading


def in_stretches(path: str, work, workers: int | None = None) -> list:
    """work(stream) on each stretch of a file, split at line ends, one process a stretch (JSON
    parsing is the cost, and a process uses one core); the results in file order. `work` must be
    a module-level function, or a partial of one (it travels to the other processes): the
    command's Reading goes with it as one of its arguments, so every stretch is read alike."""
    size = os.path.getsize(path)
    workers = workers or min(8, os.cpu_count() or 1)
    cuts = [0]
    with open(path, "rb") as stream:
        for k in range(1, workers):
            stream.seek(max(cuts[-1], size * k // workers))
            cuts.append(min(size, _after_line_end(stream)))
    cuts.append(size)
    # fork on Linux when this process runs no other thread: the workers start in milliseconds,
    # with the modules already imported (a fork server costs two more interpreters, about a
    # quarter of a second of CPU). With threads (a test runner, a server) a forked copy could
    # inherit a lock held by a thread it does not have, and deadlock: then the fork server, which
    # imports the script and the work's module once, before it forks a worker (a worker that
    # imported them afresh would spend a fifth of a second of CPU before its first line).
    methods = multiprocessing.get_all_start_methods()
    if sys.platform.startswith("linux") and "fork" in methods and threading.active_count() == 1:
        context = multiprocessing.get_context("fork")
    else:
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if context.get_start_method() == "forkserver":
        context.set_forkserver_preload(["__main__", getattr(work, "func", work).__module__])
    jobs = [(work, path, a, b) for a, b in zip(cuts, cuts[1:])]
    try:
        with ProcessPoolExecutor(len(jobs), mp_context=context) as pool:
            return list(pool.map(_stretch, jobs))
    except (BrokenProcessPool, OSError) as exc:        # a process killed (out of memory?), or none
        print(f"note: reading {path} in one process ({exc.__class__.__name__})", file=sys.stderr)
        return [_stretch((work, path, 0, size))]


def _after_line_end(stream) -> int:
    """The offset just after the next line end from where the stream stands (or its end),
    found a block at a time: a line of 2 GB is never held whole."""
    while block := stream.read(1 << 16):
        cut = block.find(b"\n")
        if cut != -1:
            return stream.tell() - len(block) + cut + 1
    return stream.tell()


def _stretch(job):
    """One process's share: `work` on the lines between two byte offsets."""
    global HEAD_BOM
    work, path, start, end = job
    delay, Progress.DELAY_S = Progress.DELAY_S, math.inf   # many processes: no progress lines
    head, HEAD_BOM = HEAD_BOM, HEAD_BOM if start == 0 else b""
    try:
        with open(path, "rb") as stream:
            stream.seek(start)
            return work(io.BufferedReader(_Stretch(stream, end - start), 1 << 16))
    finally:
        Progress.DELAY_S, HEAD_BOM = delay, head


class _Stretch(io.RawIOBase):
    """At most `length` bytes of a stream, from where it stands."""

    def __init__(self, stream, length: int):
        self.stream, self.left = stream, length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.left <= 0:
            return 0
        data = self.stream.read(min(len(buffer), self.left))
        buffer[:len(data)] = data
        self.left -= len(data)
        return len(data)


def joined(parts: list[JsonLines]) -> JsonLines:
    """The bad lines of consecutive stretches as one file's: counts added, line numbers shifted
    by the lines of the stretches before."""
    out, offset = JsonLines(), 0
    for part in parts:
        out.bad += part.bad
        for reason, n in part.reasons.items():
            out.reasons[reason] = out.reasons.get(reason, 0) + n
        out.bad_lines += [n + offset for n in part.bad_lines]
        for why, n in part.first.items():
            out.first.setdefault(why, n + offset)
        for why, hint in part.hints.items():
            out.hints.setdefault(why, hint)
        offset += part.lines
    out.bad_lines, out.lines = sorted(out.bad_lines)[:MAX_LISTED], offset
    return out
