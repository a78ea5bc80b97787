"""Lab 1 as a practitioner's tool: write the story's log, query any JSON-lines log, and pull one
request's whole story out of a big file.

    python3 solution/tools/logs.py write --out story.jsonl          the story as a JSON-lines log
    python3 solution/tools/logs.py query story.jsonl --where severity_text=ERROR --count-by body
    python3 solution/tools/logs.py query story.jsonl --sql "SELECT body, count(*) FROM log GROUP BY body"
    python3 solution/tools/logs.py story story.jsonl TRACE_ID      one request, as a waterfall

It calls lab 1's building blocks (solution/lab1_logs.py: the logger, the span waterfall); what it
adds is what a real file needs: every line read or counted as bad with its reason
(tools/logread.py), values bound as SQL parameters, a byte search before any parse for `story`.
"""

from __future__ import annotations

import argparse
import base64
import collections
import contextlib
import dataclasses
import functools
import hashlib
import io
import itertools
import json
import logging
import math
import mmap
import os
import re
import shutil
import sqlite3
import stat
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

if __package__ in (None, ""):          # run as a script: make the `solution` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from solution import logschema as F
from solution import traffic
from solution.cli import (cannot_write, fail, fraction, non_negative_int, parse_command_line,
                          positive_float, positive_int, refuse_ignored, run_cli, seed_value,
                          write_file)
from solution.lab1_logs import SLOW_MS, keep_trace, write_log
from solution.numeric import trace_fraction
from solution.redaction import neutralize
from solution.spans import draw_waterfall, waterfall
from solution.terminal import table
from solution.tools import scan
from solution.tools.logread import (MAX_LINE_BYTES, TOO_LONG, JsonLines, LogReadError, Reading,
                                    add_reading_flags, bounded_lines, explain, file_shape,
                                    for_stretches, in_stretches, joined, open_log_file, parse_time,
                                    reading_from, records_in, splittable, usable)

TOP_LEVEL, REQUIRED = F.TOP_LEVEL, F.REQUIRED


# ── query: SQLite over the usable lines ─────────────────────────────────────────────────────────

INSERT = "INSERT INTO log (n, line) VALUES (?, ?)"
# the top-level fields are columns computed from the line when a query reads them (virtual
# generated columns, SQLite 3.31+): a row is stored once, as its line, and nothing is extracted
# that no question asks for
COLUMNS = ", ".join(f"""{key} AS (json_extract(line, '$."{key}"')) VIRTUAL""" for key in TOP_LEVEL)


def _empty_log(where: str = ":memory:") -> sqlite3.Connection:
    db = _functions(sqlite3.connect(where))
    db.execute(f"CREATE TABLE log (n INTEGER, {COLUMNS}, line TEXT)")
    return db


def _functions(db: sqlite3.Connection) -> sqlite3.Connection:
    """The lesson's sampling functions, for --sql: keep_trace(...), trace_fraction(trace_id)."""
    db.create_function("keep_trace", 5, keep_trace, deterministic=True)
    db.create_function("trace_fraction", 1, trace_fraction, deterministic=True)
    return db


def _rows(raw_lines, bad: JsonLines, reading: Reading = Reading()):
    """The table rows of the usable records; the other lines counted in `bad`."""
    for number, record in usable(raw_lines, REQUIRED, bad, reading=reading):
        yield number, json.dumps(record)


def _timed_rows(raw_lines, bad: JsonLines, reading: Reading):
    """(line number, instant, record as JSON) of the usable records: lines are put in time order
    by their instant (a log may write its times in several zones or precisions)."""
    for number, record in usable(raw_lines, REQUIRED, bad, reading=reading):
        yield number, parse_time(record["timestamp"]), json.dumps(record)


BATCH = 20_000          # records in memory at once when a question streams over a log


class Question:
    """--where, --count-by and --sum, answered over any stretch of lines (`partial`), and the
    partial answers of several stretches combined into one (`combine`): counts and sums add up,
    and the first lines in time order stay the first. A question with --count-by or --sum is
    asked of the keys' values alone, extracted from each record as json_extract would (no line
    stored); one without keeps the matching lines."""

    def __init__(self, where: list[str], count_by: list[str], sums: list[str], limit: int):
        self.where, self.count_by, self.sums, self.limit = list(where), list(count_by), list(sums), limit
        self.aggregate = bool(count_by or sums)
        matches = [CONDITION.fullmatch(c) for c in self.where]
        self.keys = list(dict.fromkeys([*count_by, *sums, *(m.group(1) for m in matches if m)]))
        for key in self.keys:
            json_path(key)                              # an invalid key is refused here
        column = {key: f"k{i}" for i, key in enumerate(self.keys)}
        self.groups = [column[k] for k in count_by]
        self.totals = [column[k] for k in sums]
        # the conditions (an invalid one refused), on the keys' columns when only they are kept
        self.clause, self.params = where_clause(self.where, column.get if self.aggregate else None)
        self.needles = needles(self.where)

    def _values(self, record: dict) -> list:
        """A record's row: the SQL values of the question's keys."""
        return [sql_value(record, key) for key in self.keys]

    def _weighed(self, batch: list) -> list[tuple]:
        """The batch's rows, each distinct one once with the number of times it came (w): SQLite
        then counts and sums a few rows instead of thousands. Unless a value summed is text or a
        whole float (SQLite sums those to a float, and 1 and 1.0 would count as one row): then
        each row as it came, with w = 1."""
        counted = collections.Counter(map(tuple, batch))
        at = [self.keys.index(key) for key in self.sums]
        for row in counted:
            for i in at:
                if isinstance(row[i], str) or (isinstance(row[i], float) and row[i].is_integer()):
                    return [(*row, 1) for row in batch]
        return [(*row, n) for row, n in counted.items()]

    def _tables(self, db: sqlite3.Connection) -> None:
        if self.aggregate:
            db.execute(f"CREATE TABLE q ({', '.join(f'k{i}' for i in range(len(self.keys)))}, w)")
            db.execute(f"CREATE TABLE part ({', '.join([*self.groups, 'lines', *self.totals])})")
        else:
            db.execute("CREATE TABLE rows (n, at, line)")
            db.execute("CREATE TABLE part (n, timestamp, line)")

    def partial(self, raw_lines, reading: Reading = Reading()) -> dict:
        """The answer over these lines, before combining: the part rows, the matching count, the
        lines read and passed over, the bad ones, and how many lines there were."""
        db, bad = _empty_log(), JsonLines()
        self._tables(db)
        passed = [0]
        shape = _shape_of(raw_lines, reading)
        lines = raw_lines
        if self.needles and shape in ("json", "logfmt"):    # (a record over lines: read them all)
            lines = _naming_all(raw_lines, self.needles, passed, reading.max_line)
        # lab 1's shape read by scan's pattern: JSON lines from a stream, no --map, no --format
        fast = self.aggregate and shape == "json" and reading.format in ("auto", "json") \
            and hasattr(raw_lines, "read") and not reading.fields and scan.supported(self.keys)
        reading = dataclasses.replace(reading, format=shape)
        return self._partial(db, raw_lines if fast else lines, bad, passed, fast, reading)

    def _partial(self, db, lines, bad: JsonLines, passed: list[int], fast: bool,
                 reading: Reading) -> dict:
        if self.aggregate:
            keys = self.keys
            if fast:                                    # rows weighed as they are found
                batches = scan.fast_rows(lines, keys, bad, passed, self.needles, self._values,
                                         reading, self.sums)
            else:
                rows = (self._values(record)
                        for _, record in usable(lines, REQUIRED, bad, reading=reading))
                batches = map(self._weighed, iter(lambda: list(itertools.islice(rows, BATCH)), []))
            table, insert = "q", f"INSERT INTO q VALUES ({', '.join('?' * (len(keys) + 1))})"
            group = f" GROUP BY {', '.join(self.groups)}" if self.groups else ""
            step = (f"INSERT INTO part SELECT {', '.join([*self.groups, 'sum(w)', *(f'sum({t} * w)' for t in self.totals)])} "
                    f"FROM q{self.clause}{group}", self.params)
        else:
            rows, table, insert = _timed_rows(lines, bad, reading), "rows", "INSERT INTO rows VALUES (?, ?, ?)"
            step = (f"INSERT INTO part SELECT n, at, line FROM rows{self.clause}", self.params)
            batches = iter(lambda: list(itertools.islice(rows, BATCH)), [])
        seen = matching = 0
        count = "coalesce(sum(w), 0)" if self.aggregate else "count(*)"
        for batch in batches:
            seen += sum(row[-1] for row in batch) if self.aggregate else len(batch)
            db.executemany(insert, batch)
            matching += db.execute(f"SELECT {count} FROM {table}{self.clause}", self.params).fetchone()[0]
            db.execute(*step)
            db.execute(f"DELETE FROM {table}")
            if not self.aggregate and self.limit:       # keep only the first `limit` in time order
                db.execute("DELETE FROM part WHERE rowid NOT IN (SELECT rowid FROM part "
                           "ORDER BY timestamp, n LIMIT ?)", (self.limit,))
        return {"part": db.execute("SELECT * FROM part").fetchall(), "matching": matching,
                "seen": seen, "passed": passed[0], "bad": bad}

    def combine(self, parts: list[dict], name: str) -> tuple[list[str], list[tuple], int, JsonLines]:
        """One answer from the partial answers of consecutive stretches of the log."""
        db, offset = _empty_log(), 0
        self._tables(db)
        width = len(self.groups) + 1 + len(self.totals) if self.aggregate else 3
        for part in parts:                              # a line's number: after the stretches before it
            rows = part["part"] if self.aggregate else [(n + offset, t, line) for n, t, line in part["part"]]
            db.executemany(f"INSERT INTO part VALUES ({', '.join('?' * width)})", rows)
            offset += part["bad"].lines
        bad = joined([part["bad"] for part in parts])
        if not any(p["seen"] or p["passed"] for p in parts):      # (lines passed over cannot match)
            raise LogReadError(f"{name}: no usable line" + (f" ({bad.summary(name)})" if bad.bad else ""))
        matching = sum(p["matching"] for p in parts)
        if self.aggregate:
            groups, totals = self.groups, self.totals
            combined = [*groups, "coalesce(sum(lines), 0)" if not groups else "sum(lines) AS total",
                        *(f"sum({t})" for t in totals)]
            order = f" GROUP BY {', '.join(groups)} ORDER BY total DESC, {', '.join(groups)}" if groups else ""
            answer = db.execute(f"SELECT {', '.join(combined)} FROM part{order}").fetchall()
            return [*self.count_by, "lines", *(f"sum {key}" for key in self.sums)], answer, matching, bad
        order = " ORDER BY timestamp, n" + (" LIMIT ?" if self.limit else "")
        answer = db.execute(f"SELECT line FROM part{order}", (self.limit,) if self.limit else ()).fetchall()
        return ["line"], answer, matching, bad


def stream_query(raw_lines, where: list[str] = (), count_by: list[str] = (), sums: list[str] = (),
                 limit: int = 20, name: str = "the log",
                 reading: Reading = Reading()) -> tuple[list[str], list[tuple], int, JsonLines]:
    """The answer to --where, --count-by and --sum: the lines and sums per value of the count-by
    keys (the busiest first), or else the matching lines in time order (the first `limit`).
    In one pass over the lines, with memory bounded by a batch and the answer, never the whole
    log: each batch of lines is loaded, asked the same SQL, and dropped; the partial answers are
    then combined (counts and sums add up). Returns (header, rows, matching lines, bad lines)."""
    question = Question(where, count_by, sums, limit)
    return question.combine([question.partial(raw_lines, reading)], name)


def parallel_query(path: str, where, count_by, sums, limit, name: str, workers: int | None = None,
                   reading: Reading = Reading()):
    """stream_query on a big, plain file, a stretch a process (logread.in_stretches), the partial
    answers combined as stream_query combines its batches."""
    question = Question(where, count_by, sums, limit)
    with open_log_file(path) as stream:
        reading = for_stretches(stream, reading)
    work = functools.partial(question.partial, reading=reading)
    return question.combine(in_stretches(path, work, workers), name)


def open_log(path: str, reading: Reading = Reading()) -> tuple[sqlite3.Connection, JsonLines]:
    """load_log on a file; LogReadError if it is missing or holds no usable line."""
    with open_log_file(path) as stream:
        db, bad = load_log(stream, reading)
    _has_rows(db, path, bad)
    return db, bad


def _has_rows(db: sqlite3.Connection, path: str, bad: JsonLines) -> None:
    if db.execute("SELECT count(*) FROM log").fetchone()[0] == 0:
        why = f" ({bad.summary(path)})" if bad.bad else ""
        raise LogReadError(f"{path}: no usable line{why}")


# ── --sql over an index on disk, built once and reused while the log is unchanged ──────────────

INDEX_VERSION = "opslab-index-3"
# what people filter and sort on, where an index picks a few rows out of many (a column of a
# few values gains little: the whole table is read in about 0.1 µs a row, and each index costs
# about 0.4 µs a row to build)
INDEXED = ("trace_id", "body", "timestamp")
# the index's table: the top-level fields as columns (their SQL values, as json_extract gives
# them; `attributes` as JSON text, as json.dumps writes it), stored once; `line` is the record
# rebuilt from them when a query asks for it (a virtual column), or kept whole (`raw`) for a
# record the columns cannot rebuild (a field missing, a key of its own, a boolean or an object
# at the top level)
STORED = ", ".join(TOP_LEVEL)
REBUILT = ", ".join(f"'{key}', {'json(attributes)' if key == 'attributes' else key}" for key in TOP_LEVEL)
ROWS_TABLE = f"CREATE TABLE log (n INTEGER, {STORED}, raw TEXT)"
LINE = f"line AS (coalesce(raw, json_object({REBUILT}))) VIRTUAL"
INDEX_TABLE = f"{ROWS_TABLE[:-1]}, {LINE})"
INDEX_INSERT = f"INSERT INTO log (n, {STORED}, raw) VALUES ({', '.join('?' * (len(TOP_LEVEL) + 2))})"
SAMPLES, SAMPLE_BYTES = 62, 4096        # the fingerprint: head, tail and 62 blocks between


def index_path(log: str) -> str:
    """Where a log's index lives by default: beside it."""
    return f"{log}.opslab.sqlite"


def _index_rows(raw_lines, bad: JsonLines, reading: Reading):
    """The index's rows for the usable records of these lines; the other lines counted in `bad`."""
    for number, record in usable(raw_lines, REQUIRED, bad, reading=reading):
        yield _index_row(number, record)


def _index_row(number: int, record: dict) -> tuple:
    """A record's row in the index: its line number, the top-level fields' SQL values, and the
    record whole (`raw`) when the columns cannot rebuild it."""
    plain = len(record) == len(TOP_LEVEL) and all(key in record for key in TOP_LEVEL) \
        and isinstance(record["attributes"], dict) \
        and all(type(record[key]) in (str, int, float, type(None)) for key in TOP_LEVEL[:-1])
    attributes = record.get("attributes")       # (JSON text whatever it holds: a string too,
    #                                               so that json_extract(attributes, ...) reads
    #                                               every row, NULL where there is no object)
    return (number, *(sql_value(record, key) for key in TOP_LEVEL[:-1]),
            None if attributes is None else json.dumps(attributes, ensure_ascii=False),
            None if plain else json.dumps(record, ensure_ascii=False))


# rows read by scan.index_rows: the attributes' text stored as written (json.dumps's: a json()
# to make it compact would cost 0.9 µs a row); ROWS_AT_ONCE of them a statement (SQLite's work
# a statement, and Python's, paid once for them: a row is stored in 1.6 µs of CPU, one a
# statement in 2.2)
FAST_ROW = f"({'?, ' * len(TOP_LEVEL)}?)"
FAST_INSERT = f"INSERT INTO log (n, {STORED}) VALUES {FAST_ROW}"
ROWS_AT_ONCE = 100          # (900 parameters: under the 999 of an older SQLite)
FAST_INSERTS = f"INSERT INTO log (n, {STORED}) VALUES {', '.join([FAST_ROW] * ROWS_AT_ONCE)}"


def _insert_rows(db: sqlite3.Connection, stream, bad: JsonLines, reading: Reading) -> None:
    """The index's rows of a binary stream into `log`: JSON lines without --map by
    scan.index_rows (each line's fields by their text where the full parse would keep it as
    written), anything else by the full parse."""
    if reading.format not in ("auto", "json") or reading.fields \
            or file_shape(stream, reading) != "json":
        db.executemany(INDEX_INSERT, _index_rows(stream, bad, reading))
        return
    for fast, rows in scan.index_rows(stream, bad, _index_row, reading):
        if not fast:
            db.executemany(INDEX_INSERT, rows)
            continue
        whole = len(rows) - len(rows) % ROWS_AT_ONCE
        db.executemany(FAST_INSERTS, (tuple(itertools.chain.from_iterable(rows[i:i + ROWS_AT_ONCE]))
                                      for i in range(0, whole, ROWS_AT_ONCE)))
        db.executemany(FAST_INSERT, rows[whole:])


def load_log(raw_lines, reading: Reading = Reading()) -> tuple[sqlite3.Connection, JsonLines]:
    """Load JSON lines (bytes or str) into an in-memory SQLite table `log`, one row per usable
    record (tools/logread.records_in decides), the rest counted by reason: the index's table
    (INDEX_TABLE), with `n` the line number (the records of one OTLP/JSON line share it)."""
    db, bad = _functions(sqlite3.connect(":memory:")), JsonLines()
    db.execute(INDEX_TABLE)
    db.executemany(INDEX_INSERT, _index_rows(raw_lines, bad, reading))
    return db, bad


def fingerprint(path: str, stat_: os.stat_result) -> str:
    """What the index remembers of its log: size, modification time and a hash of the content's
    head, tail and blocks spread between (a log rewritten to the same size and time, or another
    log's index copied beside this one, does not match), read in well under a second."""
    digest = hashlib.blake2b(f"{stat_.st_size}:{stat_.st_mtime_ns}".encode(), digest_size=16)
    size = stat_.st_size
    offsets = sorted({0, max(0, size - 16 * SAMPLE_BYTES),
                      *(size * k // (SAMPLES + 1) for k in range(1, SAMPLES + 1))})
    with open(path, "rb") as stream:
        for offset in offsets:
            stream.seek(offset)
            digest.update(stream.read(16 * SAMPLE_BYTES if offset in (0, offsets[-1]) else SAMPLE_BYTES))
    return digest.hexdigest()


def open_index(path: str, db_path: str | None = None,
               reading: Reading = Reading()) -> tuple[sqlite3.Connection, JsonLines, str | None]:
    """The log as the table `log` in an SQLite file (db_path, or beside the log), with the
    columns people ask about indexed: built on first use, reused while the log keeps its
    fingerprint and is read with the same settings (--map, --tz, --format,
    --max-line), rebuilt when either changed. Returns (read-only connection,
    the bad lines met when it was built, a note for stderr or None). Standard input and a pipe
    have no file to index, and a place that cannot be written is read into memory instead.
    A file at the index's place that is not this tool's index (a stranger's database, a link,
    a FIFO) is refused, never opened for writing nor overwritten."""
    if path == "-":
        return (*open_log(path, reading), None)
    target = db_path or index_path(path)
    try:
        stat_ = os.stat(path)
    except OSError:
        with open_log_file(path):                     # the reader's own clear error
            pass
        raise
    if not stat.S_ISREG(stat_.st_mode):                 # a pipe, <(...): nothing to reuse
        return (*open_log(path, reading), None)
    try:
        source = {"version": INDEX_VERSION, "fingerprint": fingerprint(path, stat_),
                  "reading": json.dumps([reading.fields, str(reading.zone), reading.format,
                                         reading.max_line])}
    except OSError as exc:
        raise LogReadError(f"{path}: cannot read ({exc.strerror or exc})") from None
    note = None
    try:
        found = os.lstat(target)
    except FileNotFoundError:
        found = None
    except OSError as exc:
        raise LogReadError(f"{target}: cannot read ({exc.strerror or exc})") from None
    if found is not None:
        if stat.S_ISLNK(found.st_mode) or not stat.S_ISREG(found.st_mode):
            what = "a symbolic link" if stat.S_ISLNK(found.st_mode) else "not a regular file"
            raise LogReadError(f"{target} is {what}, not an opslab index: give --db PATH")
        meta = _index_meta(target)
        if meta is None:
            raise LogReadError(f"{target} exists and is not an opslab index: give --db PATH")
        bad = _bad_from(meta)
        if _ours(found) and bad is not None and all(meta.get(k) == v for k, v in source.items()):
            return _read_only(target), bad, None
        note = f"{path} changed since {target} was built: rebuilding it" if _ours(found) \
            else f"{target} was not built by you: rebuilding it"
        if _ours(found) and meta.get("fingerprint") == source["fingerprint"]:
            note = (f"{target} was built with other --map/--tz/--format/--max-line settings: "
                    "rebuilding it")
    try:
        bad = _build_index(path, target, source, reading)
    except (OSError, sqlite3.Error) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        db, bad = open_log(path, reading)
        return db, bad, f"cannot write an index at {target} ({reason}): read into memory; --db PATH puts it elsewhere"
    return _read_only(target), bad, note or f"indexed {path} into {target} (reused while the log is unchanged)"


def _ours(found: os.stat_result) -> bool:
    """Written by this user and by nobody else (an index another user could have planted or
    altered is not trusted)."""
    owner = not hasattr(os, "getuid") or found.st_uid == os.getuid()
    return owner and not found.st_mode & 0o022


def _build_index(path: str, target: str, source: dict, reading: Reading) -> JsonLines:
    """Build the index in a private folder beside the target (made exclusively, with an
    unpredictable name, readable by this user alone: nothing there can be a planted link), a
    stretch of the log a process as query reads it, then rename it into place whole. Leftovers
    of a run that was killed are removed first."""
    folder = os.path.dirname(os.path.abspath(target))
    prefix = f".{os.path.basename(target)}.build-"
    _clean_leftovers(folder, prefix, os.path.basename(target))
    work = tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=folder)
    try:
        built, db, bad = _fill_index(path, work, reading)
        try:
            db.execute(f"ALTER TABLE log ADD COLUMN {LINE}")   # (after the rows: a row is
            #                                                      stored faster without it)
            if db.execute("SELECT 1 FROM log LIMIT 1").fetchone() is None:     # (no count: no scan)
                why = f" ({bad.summary(path)})" if bad.bad else ""
                raise LogReadError(f"{path}: no usable line{why}")
            for column in INDEXED:
                db.execute(f"CREATE INDEX log_{column} ON log({column})")
            db.execute("CREATE TABLE opslab_index (key TEXT PRIMARY KEY, value TEXT)")
            saved = {"bad": bad.bad, "bad_lines": bad.bad_lines, "reasons": bad.reasons}
            db.executemany("INSERT INTO opslab_index VALUES (?, ?)",
                           {**source, "bad": json.dumps(saved)}.items())
            db.commit()
        finally:
            db.close()
        os.chmod(built, 0o644)
        os.replace(built, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return bad


def _fill_index(path: str, work: str,
                reading: Reading) -> tuple[str, sqlite3.Connection, JsonLines]:
    """The rows of the log in the table `log` of a new database file in `work`: (its path, a
    connection to it, the bad lines). A big plain file is read a stretch a process, each
    writing a database of its own in `work`: the first stretch's becomes the index's file as it
    is, the others' rows are appended to it in order. Anything else is read in this process."""
    with open_log_file(path) as stream:
        if not splittable(path, stream, reading):
            built, bad = _index_part(work, stream, reading)
            return built, _writing(built), bad
        reading = for_stretches(stream, reading)
    parts = in_stretches(path, functools.partial(_index_part, work, reading=reading))
    built, offset = parts[0][0], parts[0][1].lines
    db = _writing(built)
    try:
        for part, bad in parts[1:]:
            db.execute("ATTACH DATABASE ? AS part", (part,))
            db.execute(f"INSERT INTO log (n, {STORED}, raw) SELECT n + ?, {STORED}, raw "
                       "FROM part.log ORDER BY rowid", (offset,))
            db.commit()
            db.execute("DETACH DATABASE part")
            os.remove(part)
            offset += bad.lines
    except BaseException:
        db.close()
        raise
    return built, db, joined([bad for _, bad in parts])


def _writing(built: str) -> sqlite3.Connection:
    """A connection that goes on building a database file of this build."""
    db = sqlite3.connect(built)
    _build_pragmas(db)
    return db


def _index_part(work: str, stream, reading: Reading) -> tuple[str, JsonLines]:
    """One process's stretch of the log, as rows of a database of its own in `work`."""
    handle, part = tempfile.mkstemp(suffix=".sqlite", dir=work)
    os.close(handle)
    db, bad = _writing(part), JsonLines()
    try:
        db.execute(ROWS_TABLE)
        _insert_rows(db, stream, bad, reading)
        db.commit()
    finally:
        db.close()
    return part, bad


def _build_pragmas(db: sqlite3.Connection) -> None:
    """A new file, renamed into place when whole: no journal, no waiting for the disk."""
    db.execute(f"PRAGMA page_size = {PAGE_BYTES}")
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")


PAGE_BYTES = 16384      # (4 KiB: 1.4x the time to index a log, and to read it by an index)


def _clean_leftovers(folder: str, prefix: str, name: str) -> None:
    """Remove what a killed build left in `folder`: its private folder (named with its process
    id), or an older version's `NAME.PID.tmp` file, when that process is gone. Only this user's
    own folders and files, never through a link."""
    try:
        entries = os.listdir(folder)
    except OSError:
        return
    for entry in entries:
        if entry.startswith(prefix):
            pid = entry[len(prefix):].split("-", 1)[0]
        elif entry.startswith(f"{name}.") and entry.endswith(".tmp"):
            pid = entry[len(name) + 1:-4]
        else:
            continue
        where = os.path.join(folder, entry)
        try:
            found = os.lstat(where)
        except OSError:
            continue
        if not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)) \
                or (hasattr(os, "getuid") and found.st_uid != os.getuid()):
            continue
        if stat.S_ISDIR(found.st_mode) and entry.startswith(prefix):
            shutil.rmtree(where, ignore_errors=True)
        elif stat.S_ISREG(found.st_mode):
            with contextlib.suppress(OSError):
                os.remove(where)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True                                   # someone else's: leave it
    return True


def _index_meta(target: str) -> dict | None:
    """An index's own record of what it was built from; None if the file is no opslab index.
    Whatever the file holds, the answer is a dict of text or None, never an exception."""
    try:
        with contextlib.closing(_read_only(target)) as db:
            rows = db.execute("SELECT key, value FROM opslab_index LIMIT 100").fetchall()
    except (sqlite3.Error, OSError, ValueError):
        return None
    meta = {key: value for key, value in rows if isinstance(key, str) and isinstance(value, str)}
    return meta if meta.get("version", "").startswith("opslab-index") else None


def _read_only(target: str) -> sqlite3.Connection:
    """The index opened for reading only: the file cannot be written through this connection,
    and a link at its place is not followed."""
    uri = Path(target).resolve().as_uri() + "?mode=ro&nofollow=1"
    return _functions(sqlite3.connect(uri, uri=True))


def _bad_from(meta: dict) -> JsonLines | None:
    """The bad lines the index's build met, as it saved them; None if what is saved is not that
    (a damaged or crafted index, to be rebuilt)."""
    try:
        saved = json.loads(meta.get("bad", "{}"))
        bad = JsonLines(bad=saved.get("bad", 0), bad_lines=saved.get("bad_lines", []),
                        reasons=saved.get("reasons", {}))
    except (ValueError, AttributeError, TypeError, RecursionError):
        return None
    good = isinstance(bad.bad, int) and isinstance(bad.bad_lines, list) and isinstance(bad.reasons, dict) \
        and all(isinstance(n, int) for n in bad.bad_lines) \
        and all(isinstance(k, str) and isinstance(v, int) for k, v in bad.reasons.items())
    return bad if good else None


KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
CONDITION = re.compile(r"(.*?)(!=|>=|<=|=|>|<)(.*)", re.S)


def json_path(key: str) -> str:
    """The SQLite JSON path of a --where/--count-by key: a top-level field (`body`), or an
    attribute, by its own name (`tenant`, `gen_ai.request.model`) or as `attributes.NAME`.
    Dotted attribute names need the quotes: `$.attributes."error.type"`. `resource.NAME` is an
    attribute of the record's resource (OTLP's, the OTel SDK's): `resource.service.name`.

    >>> json_path("body"), json_path("error.type"), json_path("resource.service.name")
    ('$.body', '$.attributes."error.type"', '$.resource."service.name"')
    """
    if not KEY.fullmatch(key):
        raise ValueError(f"invalid key {key!r}: use letters, digits, '_' and '.', "
                         "e.g. body, tenant, error.type")
    if key in TOP_LEVEL:
        return f"$.{key}"
    if key.startswith("resource.") and len(key) > 9:
        return f'$.resource."{key.removeprefix("resource.")}"'
    return f'$.attributes."{key.removeprefix("attributes.")}"'


def _number(text: str) -> int | float | None:
    """The number a --where value spells, or None: `nan` and `inf` are no numbers to compare
    with (a reader refuses them in a line), so they are text here."""
    try:
        return int(text)
    except ValueError:
        try:
            value = float(text)
        except ValueError:
            return None
        return value if math.isfinite(value) else None


def where_clause(conditions: list[str], column=None) -> tuple[str, list]:
    """SQL for --where conditions (KEY=VALUE, KEY!=VALUE, KEY>NUMBER, ...), AND-ed, with every
    key and value bound as a parameter: nothing a user types becomes SQL. A value that reads as
    a number matches the number or the text ("200" finds 200; true and false find JSON's
    booleans); != also matches lines without the key. ValueError for an invalid condition.
    A key's value is json_extract(line, its path), or `column(key)`, a column that holds it."""
    sql, params = [], []
    for condition in conditions:
        match = CONDITION.fullmatch(condition)
        if not match:
            raise ValueError(f"invalid condition {condition!r}: write KEY=VALUE, KEY!=VALUE, "
                             "KEY>NUMBER, ...")
        key, op, value = match.groups()
        path, number = json_path(key), _number(value)
        if isinstance(number, int) and not -2 ** 63 <= number < 2 ** 63:
            raise ValueError(f"invalid condition {condition!r}: {value} is beyond a 64-bit "
                             "integer (a line holding such a number is counted as bad)")
        field, bound = (column(key), []) if column else ("json_extract(line, ?)", [path])
        if op == "=":
            sql.append(f"{field} IN (?, ?)")
        elif op == "!=":
            sql.append(f"coalesce({field} NOT IN (?, ?), 1)")
        elif number is None:
            raise ValueError(f"invalid condition {condition!r}: {op} needs a number")
        else:
            sql.append(f"{field} {op} ?")
            params += [*bound, number]
            continue
        typed = {"true": 1, "false": 0}.get(value, value if number is None else number)
        params += [*bound, typed, value]
    return (" WHERE " + " AND ".join(sql)) if sql else "", params


def sql_value(record: dict, key: str):
    """The value of a --where/--count-by/--sum key in a record, as json_extract(line, json_path(
    key)) gives it: a top-level field or an attribute; true and false as 1 and 0; an object or a
    list as its JSON text; absent, NULL.

    >>> sql_value({"body": "x", "attributes": {"error.type": "timeout", "ok": True}}, "error.type")
    'timeout'
    >>> sql_value({"attributes": {"ok": True, "tags": ["a", 1]}}, "ok"), sql_value({"attributes": {"tags": ["a", 1]}}, "tags")
    (1, '["a",1]')
    """
    if key in TOP_LEVEL:
        value = record.get(key)
    elif key.startswith("resource.") and len(key) > 9:
        resource = record.get("resource")
        value = resource.get(key[9:]) if isinstance(resource, dict) else None
    else:
        attributes = record.get("attributes")
        value = attributes.get(key.removeprefix("attributes.")) if isinstance(attributes, dict) else None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return value


# the fields the full parse may store otherwise than they are written (a time in another form
# or zone, an id in capitals or base64, a severity from a level's name or number)
REWRITTEN = ("timestamp", "trace_id", "span_id", "parent_span_id", "severity_text", "severity_number")


def needles(conditions: list[str]) -> list[bytes]:
    """What a line's bytes must hold to meet the --where conditions, for a search before any
    parse (as story does with the trace id): the text of every KEY=VALUE whose VALUE is plain
    text, not a number or a boolean (a number may be written 503.0; text with a quote or a
    backslash may be escaped), of a key the full parse keeps as written (not REWRITTEN). A line
    without them cannot match unless it holds an escape (scan.may_hold), and is not parsed.

    >>> needles(["body=request.completed", "http.response.status_code=503", "tenant!=acme",
    ...          "trace_id=4bf92f3577b34da6a3ce929d0e0e4736"])
    [b'request.completed']
    """
    out = []
    for condition in conditions:
        match = CONDITION.fullmatch(condition)
        if match and match.group(2) == "=" and match.group(1) not in REWRITTEN:
            value = match.group(3)
            if value and value.isascii() and value.isprintable() and not set(value) & set('"\\') \
                    and _number(value) is None and value not in ("true", "false", "null"):
                out.append(value.encode())
    return out


def _shape_of(lines, reading: Reading) -> str:
    """The shape of a log (logread.file_shape), or "auto" when it is found as it is read. A
    record a line ("json", "logfmt") lets a line be passed over by its bytes alone."""
    if reading.format != "auto":
        return reading.format
    if hasattr(lines, "peek") or isinstance(lines, io.BytesIO):
        return file_shape(lines, reading)
    return "auto"


def _naming_all(lines, wanted: list[bytes], passed: list[int], limit: int):
    """The lines (from a stream or a list) that hold every one of `wanted`, the others blank (so
    that line numbers stay), counted in passed[0]; a line too long to hold stays, to be counted."""
    for line in bounded_lines(lines, limit) if hasattr(lines, "readline") else lines:
        if line is TOO_LONG or scan.may_hold(line, wanted):
            yield line
        else:
            passed[0] += bool(line.strip())
            yield b""


def run_sql(db: sqlite3.Connection, sql: str) -> tuple[list[str], list[tuple]]:
    """(header, rows) of the user's own SELECT on the table `log`, on a connection that can
    read and nothing else: `query_only`, and an authorizer that refuses every action but reading
    (no ATTACH, so no VACUUM INTO either; no write, no PRAGMA that sets, no load_extension)."""
    db.execute("PRAGMA query_only = ON")
    db.set_authorizer(_reading_only)
    cursor = db.execute(sql)
    return [d[0] for d in cursor.description or ()], cursor.fetchall()


# PRAGMAs that only tell (a query may ask what the table holds)
READ_PRAGMAS = frozenset({"table_info", "table_xinfo", "index_list", "index_info", "index_xinfo",
                          "function_list", "collation_list", "pragma_list", "compile_options"})


def _reading_only(action: int, first, second, database, trigger) -> int:
    """SQLite's authorizer for --sql: reading, functions (but load_extension) and recursive
    queries pass; everything else is refused ("not authorized")."""
    if action in (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE):
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_FUNCTION and str(second).lower() != "load_extension":
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA and str(first).lower() in READ_PRAGMAS:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_UPDATE and first == "sqlite_master" and trigger is None \
            and second in ("type", "name", "tbl_name", "rootpage", "sql"):
        return sqlite3.SQLITE_OK       # asked when json_each is first used; query_only still holds
    return sqlite3.SQLITE_DENY



# ── story: one trace, found by its id in the raw bytes ──────────────────────────────────────────

def lines_naming(buffer, trace_id: str, limit: int = MAX_LINE_BYTES) -> list[tuple[int, bytes]]:
    """The (offset, line) of every line that holds the text of the trace id (as written: hex, or
    base64 when given so), found with bytes.find over the raw buffer, never parsing the lines
    that do not. Most lines of a big log are skipped at the speed of a memory search: that is
    the whole trick. (The id's text is searched for alone, not with a quote: inside Docker's or
    journald's envelope it is followed by an escaped one, in logfmt by a space.) A line longer
    than --max-line is neither copied out nor searched whole for its start: it stands as
    TOO_LONG, at the offset of the id it holds (on the same line number)."""
    needle = trace_id.encode()
    found, at, size, dropped = [], 0, len(buffer), 0
    while at < size:                          # a segment at a time, so that a mapped file's
        stop = min(size, at + SEGMENT_BYTES)  # pages can be let go behind the search
        reach = min(size, stop + len(needle) - 1)     # a needle that starts before the stop
        hit = buffer.find(needle, at, reach)
        while hit != -1:
            start = buffer.rfind(b"\n", max(0, hit - limit - 1), hit) + 1
            long = start == 0 and hit > limit
            end = _line_end(buffer, hit)
            found.append((hit, TOO_LONG) if long or end - start > limit
                         else (start, buffer[start:end]))
            at = end
            hit = buffer.find(needle, end, reach) if end < stop else -1
        at = max(at, stop)
        dropped = _let_go(buffer, dropped, at)
    return found


def _line_end(buffer, at: int) -> int:
    """Where the line through `at` ends (its newline, or the end of the buffer), searched a
    segment at a time: the pages of a 2 GB line are let go as the search passes them."""
    size = len(buffer)
    while at < size:
        end = buffer.find(b"\n", at, min(size, at + SEGMENT_BYTES))
        if end != -1:
            return end
        _let_go(buffer, at - at % mmap.PAGESIZE, min(size, at + SEGMENT_BYTES))
        at += SEGMENT_BYTES
    return size


def _let_go(buffer, start: int, end: int) -> int:
    """A mapped file's pages from start to end, searched: the kernel's to drop (they are the
    file's pages, and no longer counted as ours). Returns how far pages are let go."""
    done = end - end % mmap.PAGESIZE
    if isinstance(buffer, mmap.mmap) and hasattr(buffer, "madvise") and done > start:
        buffer.madvise(mmap.MADV_DONTNEED, start, done - start)
    return max(start, done)


def id_texts(trace_id: str) -> list[str]:
    """The other ways a log may write a trace id that the full parse reads as it: in capitals,
    and in base64, standard and URL-safe (protobuf's JSON mapping of bytes).

    >>> id_texts("5bf92f3577b34da6a3ce929d0e0e4736")
    ['5BF92F3577B34DA6A3CE929D0E0E4736', 'W/kvNXezTaajzpKdDg5HNg', 'W_kvNXezTaajzpKdDg5HNg']
    """
    text = base64.b64encode(bytes.fromhex(trace_id)).decode().rstrip("=")
    return list(dict.fromkeys([trace_id.upper(), text, text.replace("+", "-").replace("/", "_")]))


def trace_records(buffer, trace_id: str, shape: str = "json",
                  reading: Reading = Reading()) -> tuple[list[dict], JsonLines]:
    """Every usable record of one trace (in a chunk of the log's bytes), in time order (file order
    among equal times), each with its time in seconds added as `_at`; and the bad lines among
    those that name the trace, counted by reason."""
    bad, records = JsonLines(), []
    hits = lines_naming(buffer, trace_id, reading.max_line)
    if not hits:            # written in capitals, or in base64 (protobuf's JSON mapping)
        hits = sorted({hit for text in id_texts(trace_id)
                       for hit in lines_naming(buffer, text, reading.max_line)})
    for offset, raw in hits:
        if raw is TOO_LONG:
            bad.skip(_line_number(buffer, offset), "too long")
            continue
        found, reason = records_in(raw, REQUIRED, shape, reading)
        for record in (r for r in found if r.get("trace_id") == trace_id):
            try:
                record["_at"] = parse_time(record["timestamp"])
                records.append(record)
            except ValueError:
                reason = "bad timestamp"
        if reason:                      # rare: only now count the lines before it
            bad.skip(_line_number(buffer, offset), reason)
    records.sort(key=lambda rec: rec["_at"])
    return records, bad


def _line_number(buffer, offset: int) -> int:
    """The number of the line at `offset`, counted a few megabytes at a time (a mapped file is
    never copied whole, and its pages are let go behind the count)."""
    lines, step = 1, 4 << 20
    for at in range(0, offset, step):
        lines += buffer[at:min(offset, at + step)].count(b"\n")
        _let_go(buffer, at, min(offset, at + step))
    return lines


CHUNK_BYTES = 16 << 20      # story reads a log this much at a time: its memory, whatever the log
SEGMENT_BYTES = 64 << 20    # and searches a mapped file this much at a time


def _chunks(stream, needle: bytes, limit: int):
    """A stream's bytes in chunks of whole lines (a file, a pipe, a gzip alike), the last partial
    line of each carried into the next: memory for two chunks, never the whole log. A line
    longer than --max-line is read away a block at a time and stands as TOO_LONG when it names
    the trace (`needle`), as LONG_LINE when it does not."""
    rest = b""
    while block := stream.read(CHUNK_BYTES):
        block = rest + block
        cut = block.rfind(b"\n") + 1
        rest = block[cut:]
        if cut:
            yield block[:cut]
        if len(rest) > limit:
            named, rest = _read_away(stream, rest, needle)
            yield TOO_LONG if named else LONG_LINE
    if rest:
        yield rest


LONG_LINE = b"<a line longer than MAX_LINE_BYTES, not naming the trace>"


def _read_away(stream, head: bytes, needle: bytes) -> tuple[bool, bytes]:
    """Read the rest of a line that began with `head`: (did it hold `needle`, what follows it)."""
    named, keep = needle in head, len(needle) - 1
    tail = head[-keep:]
    while block := stream.read(CHUNK_BYTES):
        cut = block.find(b"\n")
        piece = block if cut == -1 else block[:cut]
        named = named or needle in tail + piece[:keep] or needle in piece
        if cut != -1:
            return named, block[cut + 1:]
        tail = piece[-keep:]
    return named, b""


def _pieces(stream, needle: bytes, limit: int):
    """A plain file memory-mapped whole (the search runs over the page cache: no copy, and
    lines_naming hands the pages it has searched back to the kernel, so that a 1.2 GB log costs
    the 64 MB searched at a time, not 1.2 GB of resident memory), anything else (a pipe, a gzip)
    in chunks of whole lines."""
    try:
        if not isinstance(getattr(stream, "raw", None), io.FileIO):   # a gzip, a request re-cut
            raise ValueError("not a plain file")
        mapped = mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):                       # and a pipe, an empty file
        yield from _chunks(stream, needle, limit)
        return
    with mapped:
        yield mapped


def _lines_of(buffer, limit: int):
    """A buffer's lines (a map or bytes), found with find, a line longer than --max-line as
    TOO_LONG: never copied out whole."""
    at, size = 0, len(buffer)
    while at < size:
        end = buffer.find(b"\n", at)
        end = size if end == -1 else end + 1
        yield buffer[at:end] if end - at <= limit + 1 else TOO_LONG
        at = end


def read_trace(path: str, trace_id: str,
               reading: Reading = Reading()) -> tuple[list[dict], JsonLines]:
    """trace_records on a file (`-`, a pipe or a gzip too): memory-mapped, or a chunk at a time.
    LogReadError if the file cannot be read, or if the trace is not in it because no line of it
    is usable."""
    records, parts, usable_seen, scan = [], [], False, JsonLines()
    with open_log_file(path) as stream:
        shape = file_shape(stream, reading)
        if shape in ("cri", "pretty"):      # a record over several lines: read them all
            return _whole_trace(stream, trace_id, path, reading)
        for chunk in _pieces(stream, trace_id.encode(), reading.max_line):
            if chunk is TOO_LONG or chunk is LONG_LINE:         # one line, read away
                parts.append(JsonLines(lines=1))
                if chunk is TOO_LONG:
                    parts[-1].skip(1, "too long")
                continue
            found, bad = trace_records(chunk, trace_id, shape, reading)
            if isinstance(chunk, bytes):                # (a map is the whole file: nothing after it)
                bad.lines = chunk.count(b"\n") + (not chunk.endswith(b"\n"))
            records += found
            parts.append(bad)
            if not usable_seen:                         # (the first usable line ends the scan)
                lines = _lines_of(chunk, reading.max_line)
                shaped = dataclasses.replace(reading, format=shape)
                usable_seen = next(usable(lines, REQUIRED, scan, reading=shaped), None) is not None
    if not records and not usable_seen:
        why = f" ({scan.summary(path)})" if scan.bad else ("" if parts else " (the file is empty)")
        raise LogReadError(f"{path}: no usable line{why}")
    records.sort(key=lambda rec: rec["_at"])
    return records, joined(parts)


def _whole_trace(stream, trace_id: str, path: str, reading: Reading) -> tuple[list[dict], JsonLines]:
    """read_trace on a log whose records span lines (CRI's partial lines, pretty-printed JSON):
    every record read, those of the trace kept."""
    bad, records, seen = JsonLines(), [], False
    for _, record in usable(stream, REQUIRED, bad, reading=reading):
        seen = True
        if record.get("trace_id") == trace_id:
            record["_at"] = parse_time(record["timestamp"])
            records.append(record)
    if not seen:
        raise LogReadError(f"{path}: no usable line" + (f" ({bad.summary(path)})" if bad.bad else ""))
    records.sort(key=lambda rec: rec["_at"])
    return records, bad


_FIRST_SECOND, _PAST_LAST_SECOND = -62_135_596_800.0, 253_402_300_800.0    # 0001-01-01, 10000-01-01


def describe_record(record: dict, label: str, full_time: bool = False) -> str:
    """One record as a line for a person: time, severity, event, a label (the span's name or the
    trace id), attributes. Control characters from the file are shown, never obeyed."""
    attrs = record.get("attributes") if isinstance(record.get("attributes"), dict) else {}
    pairs = " ".join(f"{k}={json.dumps(v)}" for k, v in attrs.items())
    at, stamp = record.get("_at"), str(record["timestamp"])
    if isinstance(at, float) and _FIRST_SECOND <= at < _PAST_LAST_SECOND:   # in UTC's years 1-9999
        stamp = datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="milliseconds")[:-6] + "Z"
    stamp = stamp if full_time else stamp[11:23]
    return neutralize(f"{stamp}  {str(record.get('severity_text', '')):<5}  "
                      f"{str(record['body']):<20} {label:<10} {pairs}")



# ── the command line ────────────────────────────────────────────────────────────────────────────

def _print_table(header: list[str], rows: list[tuple]) -> None:
    cells = [[neutralize("null" if v is None else str(round(v, 3) if isinstance(v, float) else v))
              for v in row] for row in rows]
    if cells:
        print(table(cells, header))


class _Remembering:
    """A stream that remembers the first error writing to it: logging's handlers swallow errors
    (a log must never crash the service), but a file that is the whole point must not be short."""

    def __init__(self, stream):
        self.stream, self.error = stream, None

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except OSError as exc:
            self.error = self.error or exc
            raise

    def flush(self) -> None:
        try:
            self.stream.flush()
        except OSError as exc:
            self.error = self.error or exc
            raise


# What a LogRecord gathers that lab 1's JsonFormatter never writes: the caller's file and line
# (`_srcfile = None` skips the stack walk) and the thread's and process's names. The logging
# HOWTO's "Optimization" table names each switch; turned off while the log is written, a line
# costs a third less and reads the same.
UNUSED_RECORD_FIELDS = {"_srcfile": None, "logThreads": False, "logProcesses": False,
                        "logMultiprocessing": False, "logAsyncioTasks": False}


@contextlib.contextmanager
def _lean_records():
    """logging's module switches set for the block, as they were after it."""
    switches = {name: value for name, value in UNUSED_RECORD_FIELDS.items()
                if hasattr(logging, name)}             # logAsyncioTasks: Python 3.12 and later
    saved = {name: getattr(logging, name) for name in switches}
    for name, value in switches.items():
        setattr(logging, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(logging, name, value)


def checked_write_log(requests, stream, **settings):
    """lab 1's write_log, raising the first error writing the stream (a full disk) instead of
    letting logging print a traceback per line and carry on; records skip what the log never
    holds (see UNUSED_RECORD_FIELDS)."""
    remembering, raising = _Remembering(stream), logging.raiseExceptions
    logging.raiseExceptions = False             # logging's own tracebacks: not one per line
    try:
        with _lean_records():
            written = write_log(requests, remembering, **settings)
    finally:
        logging.raiseExceptions = raising
    if remembering.error:
        raise remembering.error
    return written


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
        written = write_file(args.out, lambda stream: checked_write_log(
            window, stream, rate=args.sample, slow_ms=args.slow_ms), args.force)
    except OSError as exc:
        return cannot_write(args.out, exc)
    until = traffic.clock(min(end, traffic.STORY.duration_s))
    print(f"wrote {written.lines_kept:,} lines ({len(window):,} requests, "
          f"{traffic.clock(start)}-{until}) to "
          f"{'standard output' if args.out == '-' else neutralize(args.out)}",
          file=sys.stderr)
    if args.sample < 1:
        print(f"tail sampling at {args.sample * 100:g} %: kept {written.lines_kept:,} of "
              f"{written.lines:,} lines ({written.traces_kept:,} of {len(window):,} traces), "
              f"{written.failed_kept} of {written.failed} failing traces", file=sys.stderr)
    return 0


def _report_bad(path: str, bad: JsonLines) -> None:
    if bad.bad:
        print(neutralize(bad.summary(path)), file=sys.stderr)


def _cmd_story(args, reading: Reading) -> int:
    trace_id = args.trace_id.lower()
    if not re.fullmatch(r"[0-9a-f]{32}", trace_id):
        return fail(f"{args.trace_id!r} is not a trace id: expected 32 hexadecimal characters")
    try:
        records, bad = read_trace(args.file, trace_id, reading)
    except LogReadError as exc:
        return fail(str(exc))
    if not records and bad.bad:         # the trace's lines are there, and every one refused
        return fail(f"trace {trace_id}: no usable line of it in {args.file}: "
                    f"{explain(bad.reasons, bad.first, bad.hints)}")
    _report_bad(args.file, bad)
    if not records:
        return fail(f"trace {trace_id} is not in {args.file}")
    if args.json:
        for record in records:
            record.pop("_at")
            print(json.dumps(record))
        return 0
    rows = waterfall([{**record, "span_id": record.get("span_id") or "-"} for record in records])
    names = {row.span_id: row.name for row in rows}
    failed = any(row.failed for row in rows)
    print(f"trace {trace_id}: {len(records)} records, {len(rows)} spans, "
          f"{'FAILED' if failed else 'ok'}")
    print("\n".join(draw_waterfall(rows)))
    print("\nrecords in time order:")
    for record in records:
        print("  " + describe_record(record, names.get(record.get("span_id") or "-", "?")))
    return 0


def _cmd_query(args, reading: Reading) -> int:
    if args.sql and (args.where or args.count_by or args.sum):
        return fail("--sql stands alone: put the conditions in its WHERE clause")
    try:
        for key in args.count_by + args.sum:
            json_path(key)
        where_clause(args.where)
    except ValueError as exc:
        return fail(str(exc))
    try:
        if args.sql:
            db, bad, note = open_index(args.file, args.db, reading)
            if note:
                print(neutralize(note), file=sys.stderr)
            header, rows = run_sql(db, args.sql)
        else:
            with open_log_file(args.file) as stream:
                ask = (args.where, args.count_by, args.sum, args.limit, args.file)
                if splittable(args.file, stream, reading):
                    header, rows, total, bad = parallel_query(args.file, *ask, reading=reading)
                else:
                    header, rows, total, bad = stream_query(stream, *ask, reading=reading)
    except LogReadError as exc:
        return fail(str(exc))
    except sqlite3.Error as exc:
        if "not authorized" in str(exc):
            return fail("SQL: not authorized: --sql is read-only (SELECT, and PRAGMAs that only tell)")
        return fail(f"SQL: {exc}")
    _report_bad(args.file, bad)
    if header == ["line"]:
        for (line,) in rows:
            record = json.loads(line)
            print(json.dumps(record) if args.json
                  else describe_record(record, str(record.get("trace_id", "-")), full_time=True))
        if not args.json:
            shown = f", first {len(rows)} shown" if len(rows) < total else ""
            print(f"{total:,} matching line(s){shown}")
        return 0
    if args.json:                                  # one object per row: jq reads it
        for row in rows:
            print(json.dumps(dict(zip(header, row))))
        return 0
    _print_table(header, rows)
    if not rows:
        print("no rows")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="logs.py",
        description="Structured, correlated JSON logs as a tool: write the story's log, query any "
                    "JSON-lines log with SQLite, and pull one request's whole story. The lesson "
                    "behind it: solution/lab1_logs.py.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    write = commands.add_parser("write", help="write the story's logs as JSON lines",
                                description="Replay the story through the logger into a "
                                            "JSON-lines file.")
    write.add_argument("--out", required=True, metavar="FILE",
                       help="the file to write; - for standard output (the counts go to stderr)")
    write.add_argument("--seed", type=seed_value, default=traffic.DEFAULT_SEED,
                       help=f"seed of the story (default {traffic.DEFAULT_SEED})")
    write.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
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
    story.add_argument("file", metavar="FILE", help="a log: JSON lines (this lab's, OTLP/JSON, the OTel SDK's, Docker's, journald's, "
                            "Google Cloud's), CRI lines or logfmt (see --format), "
                            "gzip'd or not; - for standard input")
    story.add_argument("trace_id", metavar="TRACE_ID", help="32 hexadecimal characters")
    story.add_argument("--json", action="store_true", help="print the records as JSON lines")
    add_reading_flags(story)

    ask = commands.add_parser("query", help="ask a JSON-lines log with SQLite",
                              description="Query a JSON-lines log. KEY is a top-level field "
                                          "(body, severity_text, trace_id, ...) or an attribute "
                                          "(tenant, error.type, gen_ai.request.model, ...). "
                                          "--sql runs your own SELECT on the table "
                                          "log(n, timestamp, severity_text, severity_number, "
                                          "body, trace_id, span_id, parent_span_id, attributes, "
                                          "line), e.g. "
                                          "json_extract(attributes, '$.\"error.type\"').")
    ask.add_argument("file", metavar="FILE", help="a log: JSON lines (this lab's, OTLP/JSON, the OTel SDK's, Docker's, journald's, "
                            "Google Cloud's), CRI lines or logfmt (see --format), "
                            "gzip'd or not; - for standard input")
    ask.add_argument("--where", action="append", default=[], metavar="KEY=VALUE",
                     help="keep lines where KEY=VALUE (also !=, >, >=, <, <=); repeat to AND")
    ask.add_argument("--count-by", action="append", default=[], metavar="KEY",
                     help="count the matching lines per value of KEY (repeat for several keys)")
    ask.add_argument("--sum", action="append", default=[], metavar="KEY",
                     help="also sum the numbers of KEY per group, e.g. gen_ai.usage.input_tokens")
    ask.add_argument("--sql", metavar="SELECT", help="your own SQL on the table log, on a "
                     "connection that can only read (no ATTACH, writes or extensions); the first "
                     "--sql on a log indexes it into FILE.opslab.sqlite beside it, and the next "
                     "ones reuse that while the log's content is unchanged")
    ask.add_argument("--db", metavar="PATH", help="with --sql: keep the index here instead")
    ask.add_argument("--limit", type=non_negative_int, default=20,
                     help="lines to print without --count-by (default 20; 0 = all)")
    add_reading_flags(ask)
    ask.add_argument("--json", action="store_true",
                     help="print JSON lines: the matching records, or one object per row")

    args = parse_command_line(parser, commands, argv)
    refuse_ignored(parser, argv, [
        ("--slow-ms", args.command != "write" or args.sample < 1, "only matters when --sample is below 1"),
        ("--db", args.command == "query" and bool(args.sql), "only applies with --sql"),
        ("--limit", args.command != "query" or not (args.count_by or args.sum or args.sql),
         "limits the lines printed; --count-by, --sum and --sql print every row")])
    if args.command == "write":
        return _cmd_write(args)
    try:
        reading = reading_from(args)
    except ValueError as exc:                   # a --map or --tz that cannot be
        return fail(str(exc))
    return _cmd_story(args, reading) if args.command == "story" else _cmd_query(args, reading)


if __name__ == "__main__":
    run_cli(main)
