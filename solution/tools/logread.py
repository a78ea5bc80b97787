"""Reading JSON-lines logs: every line is read, or counted as bad with the reason. Never fatal.

One classifier, `classify`, decides for every reader (query, story, the dashboard's --from):

    not UTF-8        the bytes are not text
    not JSON         a truncated line, a stray blob, a NUL byte
    not an object    valid JSON, but a list, a string or a number
    number too large beyond a double (1e999, read as infinity) or a 64-bit integer
    missing fields   an object without one of the fields the reader needs

A key given twice in one object has its last value, in every reader (as Python's json,
JavaScript's JSON.parse and jq have it).

    >>> classify(b'{"body": "x"}', ("body",))
    ({'body': 'x'}, None)
    >>> classify(b'[1, 2]', ())
    (None, 'not an object')
"""

from __future__ import annotations

import gzip
import io
import json
import math
import multiprocessing
import os
import re
import stat
import sys
import time
import zlib
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from datetime import datetime, timezone
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from solution.numeric import parse_rfc3339

MAX_LISTED = 5          # bad line numbers remembered, to say where the first ones are
MAX_LINE_BYTES = 1 << 20    # a longer line is read away in pieces and counted, never held whole
TOO_LONG = b"<a line longer than MAX_LINE_BYTES>"
BOM = "\ufeff"


@dataclass
class JsonLines:
    """What a reader got: the good records, and the bad lines counted by reason."""
    records: list[dict] = field(default_factory=list)
    bad: int = 0                                          # lines skipped
    bad_lines: list[int] = field(default_factory=list)    # their numbers (first few)
    reasons: dict[str, int] = field(default_factory=dict)
    lines: int = 0                                        # lines read, good and bad and blank

    def skip(self, number: int, reason: str) -> None:
        """Count one bad line."""
        self.bad += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1
        if len(self.bad_lines) < MAX_LISTED:
            self.bad_lines.append(number)

    def summary(self, path: str) -> str:
        """One line for stderr: how many lines were skipped, why, and where the first ones are."""
        why = ", ".join(f"{n} {reason}" for reason, n in sorted(self.reasons.items()))
        where = ", ".join(map(str, sorted(self.bad_lines)))
        more = ", ..." if self.bad > len(self.bad_lines) else ""
        return f"{path}: skipped {self.bad} bad line(s) ({why}); first at line {where}{more}"


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
    if any(key not in record for key in required):
        return None, "missing fields"
    return record, None


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
    moment = datetime.fromtimestamp(nanos // 1000 / 1e6, timezone.utc)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def otlp_records(request: dict) -> list[dict]:
    """The log records of one OTLP/JSON export request (resourceLogs / scopeLogs / logRecords, as
    the OpenTelemetry Collector's file exporter writes one per line), in this tool's shape:
    timestamp (from timeUnixNano, else observedTimeUnixNano), severity, body, trace and span ids
    (hex), attributes as a dict. ValueError if the request is not of that shape."""
    records = []
    try:
        for resource in request["resourceLogs"]:
            for scope in resource.get("scopeLogs", []):
                for log in scope.get("logRecords", []):
                    attributes = {kv["key"]: _any_value(kv.get("value")) for kv in log.get("attributes", [])}
                    records.append({
                        "timestamp": _nanos_to_rfc3339(log.get("timeUnixNano"))
                        or _nanos_to_rfc3339(log.get("observedTimeUnixNano")),
                        "severity_text": log.get("severityText"),
                        "severity_number": log.get("severityNumber"),
                        "body": _any_value(log.get("body")) if "body" in log else log.get("eventName"),
                        "trace_id": (log.get("traceId") or "").lower() or None,
                        "span_id": (log.get("spanId") or "").lower() or None,
                        "parent_span_id": None,            # a log record does not carry it
                        "attributes": attributes})
    except (KeyError, TypeError, AttributeError, ValueError, OverflowError) as exc:
        raise ValueError(f"not an OTLP logs export ({exc})") from None
    return [{key: value for key, value in rec.items() if value is not None or key == "parent_span_id"}
            for rec in records]


# `--map NAME=PATH`: where a foreign log keeps a field this tool reads. NAME is one of this tool's
# fields (timestamp, severity_text, severity_number, body, trace_id, span_id, parent_span_id) or
# `attributes.KEY`; PATH names the foreign field, dotted for a nested one (`extra.tenant`), or `*`
# for `attributes=*`: every top-level field not mapped elsewhere becomes an attribute. A reader
# is given the pairs (`fields`, as parse_field_map returns them) and hands them to records_in.
FieldMap = tuple[tuple[str, str], ...]
TARGETS = ("timestamp", "severity_text", "severity_number", "body", "trace_id", "span_id",
           "parent_span_id", "attributes")
# OpenTelemetry's severity numbers for the level names loggers write (logs data model, "Mapping
# of SeverityNumber"); a foreign log often has only the name
SEVERITY_NUMBERS = {"trace": 1, "debug": 5, "info": 9, "notice": 10, "warn": 13, "warning": 13,
                    "error": 17, "exception": 17, "critical": 21, "fatal": 21}


def parse_field_map(pairs: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """The --map pairs, checked: ValueError with the reason for one that cannot be.

    >>> parse_field_map(["body=event", "attributes.tenant=extra.tenant", "attributes=*"])
    (('body', 'event'), ('attributes.tenant', 'extra.tenant'), ('attributes', '*'))
    """
    out = []
    for pair in pairs:
        target, _, source = pair.partition("=")
        target, source = target.strip(), source.strip()
        if not source or target.split(".", 1)[0] not in TARGETS or (target == "attributes") != (source == "*"):
            raise ValueError(f"--map {pair}: NAME=PATH, NAME one of {', '.join(TARGETS[:-1])} or "
                             "attributes.KEY (or attributes=* for every field not mapped)")
        out.append((target, source))
    return tuple(out)


def _lookup(record: dict, path: str):
    """record[path], or the dotted path into nested objects; KeyError if it is not there."""
    if path in record:
        return record[path]
    value = record
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(path)
        value = value[part]
    return value


def _mapped_fields(record: dict, pairs: tuple[tuple[str, str], ...]) -> dict:
    """The record with the field map applied: mapped fields moved to their names."""
    out, used = dict(record), set()
    attributes = dict(record["attributes"]) if isinstance(record.get("attributes"), dict) else {}
    for target, source in pairs:
        if source == "*":
            continue
        try:
            value = _lookup(record, source)
        except KeyError:
            continue
        used.add(source.split(".", 1)[0])
        if target.startswith("attributes."):
            attributes[target.removeprefix("attributes.")] = value
        else:
            out[target] = value
    if ("attributes", "*") in pairs:
        named = {t for t, _ in pairs} | used
        attributes.update({k: v for k, v in record.items()
                           if k not in named and k not in TARGETS})
    for key in used - set(TARGETS):
        out.pop(key, None)
    if attributes or "attributes" in out:
        out["attributes"] = attributes
    return out


def _normal(record: dict, fields: FieldMap = ()) -> dict:
    """A JSON-lines record with the field map applied (--map) and the OTel SDK's habits undone:
    ids written `0x...` (its console exporter), `event_name` standing in for an absent body; a
    level name alone gives its OpenTelemetry severity number."""
    if fields:
        record = _mapped_fields(record, fields)
    for key in ("trace_id", "span_id", "parent_span_id"):
        value = record.get(key)
        if isinstance(value, str) and value[:2] in ("0x", "0X"):
            record[key] = value[2:].lower()
    if "body" not in record and "event_name" in record:
        record["body"] = record["event_name"]
    if "severity_number" not in record and isinstance(record.get("severity_text"), str):
        number = SEVERITY_NUMBERS.get(record["severity_text"].lower())
        if number:
            record["severity_number"] = number
    return record


def records_in(raw: bytes | str, required: Iterable[str] = (),
               fields: FieldMap = ()) -> tuple[list[dict], str | None]:
    """The records one line holds, or ([], reason): a line of this tool's JSON lines (or the OTel
    SDK's), one record, read through the --map `fields`; an OTLP/JSON export request, all of its
    log records. A missing field is named in the reason."""
    record, reason = classify(raw)
    if reason:
        return [], reason
    if "resourceLogs" in record:
        try:
            records = otlp_records(record)
        except ValueError:
            return [], "not an OTLP logs export"
    else:
        records = [_normal(record, fields)]
    missing = sorted({key for rec in records for key in required if key not in rec})
    if missing:
        return [], f"missing fields ({', '.join(missing)})"
    if any(not isinstance(rec.get(key, ""), str) for rec in records for key in ("trace_id", "span_id")) \
            or any(not isinstance(rec.get("parent_span_id"), (str, type(None))) for rec in records):
        return [], "ids not text"
    return records, None


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


def parse_time(value) -> float:
    """A log's timestamp as seconds since the Unix epoch: RFC 3339 text with a zone (a time
    without one is refused: whose clock?), or a number of seconds, milliseconds, microseconds or
    nanoseconds since the epoch, told apart by size (OpenTelemetry's timeUnixNano is the last).

    >>> parse_time("2026-11-02T09:00:03.123Z"), parse_time(1793610003123), parse_time(1793610003.5)
    (1793610003.123, 1793610003.123, 1793610003.5)
    """
    if isinstance(value, bool):
        raise ValueError("a timestamp, not true or false")
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"timestamp {value!r} is not a time")
        for scale in (1, 1e3, 1e6, 1e9):              # seconds until the year 5138, and so on
            if value < 1e11 * scale:
                return round(value / scale, 6)
        raise ValueError(f"timestamp {value!r} is too large")
    text = str(value)
    # the common shape, 2026-11-02T09:00:03.123Z: its whole second parsed once, the fraction added
    # (a log's lines come in time order, so a few seconds' worth of cache serves thousands)
    if len(text) <= 30 and text[-1:] == "Z" and (len(text) == 20 or _FRACTION.fullmatch(text, 19, len(text) - 1)):
        base = _SECONDS.get(text[:19])
        if base is None:
            if len(_SECONDS) > 4096:
                _SECONDS.clear()
            base = _SECONDS[text[:19]] = parse_rfc3339(text[:19] + "Z")
        return round(base + (float(text[19:-1]) if len(text) > 20 else 0.0), 6)
    return parse_rfc3339(text)


_SECONDS: dict[str, float] = {}
_FRACTION = re.compile(r"\.[0-9]{1,6}")        # beyond microseconds: datetime decides


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
            with gzip.GzipFile(fileobj=stream) as unzipped:
                yield _one_request(unzipped, path) or unzipped
        else:
            yield _one_request(stream, path) or stream
    except (OSError, EOFError, zlib.error) as exc:       # a corrupt or truncated gzip, a read error
        reason = exc.strerror or str(exc) if isinstance(exc, OSError) else str(exc) or "truncated"
        raise LogReadError(f"{path}: cannot read ({reason})") from None
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


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


def bounded_lines(stream, limit: int = MAX_LINE_BYTES) -> Iterator[bytes]:
    """A binary stream's lines, none held longer than `limit` bytes: a longer one is read away
    in pieces and stands as TOO_LONG (a log of one endless line cannot fill the memory). A long
    read shows its progress on a terminal (Progress)."""
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


def usable(lines: Iterable[bytes | str], required: Iterable[str], bad: JsonLines,
           naming: bytes | None = None, fields: FieldMap = ()) -> Iterator[tuple[int, dict]]:
    """(line number, record) for every usable record; every other line is counted in `bad` with
    its reason. Blank lines are neither. A stream is read through bounded_lines; a byte-order
    mark before the first line is not part of it. A record is as read, not as the line was
    written: an OTLP line holds many records, the OTel SDK's ids lose their 0x, and a key given
    twice in one object has its last value, as in Python's json, JavaScript's JSON.parse and jq
    (SQLite's json_extract would take the first: query stores the record as read).
    `naming`: only lines whose bytes hold it are read at all (a search is far cheaper than a
    parse): the others cannot be what the reader wants, and are neither read nor counted."""
    required, number = tuple(required), 0
    for number, raw in enumerate(bounded_lines(lines) if hasattr(lines, "readline") else lines, 1):
        if raw is TOO_LONG:
            bad.skip(number, "too long")
            continue
        if number == 1:
            raw = raw.removeprefix(BOM.encode() if isinstance(raw, bytes) else BOM)
        if naming is not None and naming not in raw:
            continue
        if raw.strip():
            records, reason = records_in(raw, required, fields)
            if reason:
                bad.skip(number, reason)
            for record in records:                 # an OTLP request: one line, many records
                yield number, record
    bad.lines = number


# ── a big log read by several processes, a stretch each ─────────────────────────────────────────

SPLIT_BYTES = 64 << 20          # a plain file this big is split between processes, one a core


def splittable(path: str, stream) -> bool:
    """Is this log worth splitting between processes, and can it be (a big, plain file: not
    gzip'd, not a pipe, not one OTLP request re-cut), on a machine with more than one core?"""
    return (path != "-" and (os.cpu_count() or 1) > 1 and isinstance(stream, io.BufferedReader)
            and os.path.isfile(path) and os.path.getsize(path) >= SPLIT_BYTES)


def in_stretches(path: str, work, workers: int | None = None) -> list:
    """work(stream) on each stretch of a file, split at line ends, one process a stretch (JSON
    parsing is the cost, and a process uses one core); the results in file order. `work` must
    be a module-level function, or a partial or bound method of one (it travels to the other
    processes), and carries its own --map."""
    size = os.path.getsize(path)
    workers = workers or min(8, os.cpu_count() or 1)
    cuts = [0]
    with open(path, "rb") as stream:
        for k in range(1, workers):
            stream.seek(max(cuts[-1], size * k // workers))
            stream.readline()
            cuts.append(min(size, stream.tell()))
    cuts.append(size)
    # not fork: a process with threads (a test runner, a server) can deadlock its forked copies
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    jobs = [(work, path, a, b) for a, b in zip(cuts, cuts[1:])]
    try:
        with ProcessPoolExecutor(len(jobs), mp_context=context) as pool:
            return list(pool.map(_stretch, jobs))
    except (BrokenProcessPool, OSError) as exc:        # a process killed (out of memory?), or none
        print(f"note: reading {path} in one process ({exc.__class__.__name__})", file=sys.stderr)
        return [_stretch((work, path, 0, size))]


def _stretch(job):
    """One process's share: `work` on the lines between two byte offsets."""
    work, path, start, end = job
    delay, Progress.DELAY_S = Progress.DELAY_S, math.inf   # many processes: no progress lines
    try:
        with open(path, "rb") as stream:
            stream.seek(start)
            return work(io.BufferedReader(_Stretch(stream, end - start), 1 << 16))
    finally:
        Progress.DELAY_S = delay


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
        offset += part.lines
    out.bad_lines, out.lines = sorted(out.bad_lines)[:MAX_LISTED], offset
    return out
