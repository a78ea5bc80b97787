"""Lab 1's tool (solution/tools/logs.py): write, query and story on real files, bad lines and all."""

import contextlib
import gzip
import io
import json
import logging
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from solution import lab1_logs as lesson
from solution.tools import logread
from solution.tools import logs as lab
from test_lab1_logs import failed_at_retrieval, log_lines, make_request


@pytest.fixture(scope="module")
def burst(default_results):
    """The lesson's default run: the story's error burst, logged."""
    return default_results[1]


@pytest.fixture(scope="module")
def burst_file(burst, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("lab1") / "burst.jsonl"
    path.write_text(burst.log, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def burst_table(burst_file):
    """The burst loaded whole, as --sql's table (read only by the tests)."""
    with burst_file.open("rb") as stream:
        db, _ = lab.load_log(stream)
    return db


SHAPES = Path(__file__).resolve().parent / "fixtures" / "log_shapes"


def ask(path, where=(), count_by=(), sums=(), limit=20) -> tuple[list[str], list[tuple]]:
    """query's answer on a file, as the command computes it (streamed)."""
    with open(path, "rb") as stream:
        header, rows, _, _ = lab.stream_query(stream, list(where), list(count_by), list(sums), limit)
    return header, rows


def cli(capsys, *argv) -> tuple[int, str, str]:
    status = lab.main(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


def test_the_story_of_a_failing_request_holds_every_span_in_time_order_and_only_them(story, tmp_path):
    timeout = next(r for r in story if r.error == "timeout")
    neighbours = [r for r in story if abs(r.ts - timeout.ts) < 60]
    path = tmp_path / "around.jsonl"
    path.write_text("\n".join(log_lines(neighbours)) + "\n", encoding="utf-8")
    records, bad = lab.read_trace(str(path), timeout.trace_id)
    assert bad.bad == 0
    assert {rec["trace_id"] for rec in records} == {timeout.trace_id}
    assert {rec["span_id"] for rec in records} == {s.span_id for s in timeout.stages}
    times = [rec["timestamp"] for rec in records]
    assert times == sorted(times) and len(records) == len(timeout.stages) + 1
    rows = lesson.waterfall(records)
    assert [(row.name, row.depth) for row in rows] == [("gateway", 0), ("retrieval", 1), ("llm", 1)]
    assert [row.name for row in rows if row.origin] == [timeout.error_stage] == ["llm"]
    assert rows[0].duration_ms == 30_000.0            # the gateway gives up at 30 s
    assert [row.failed for row in rows] == [True, False, True]



def test_story_on_the_command_line_draws_the_waterfall_and_lists_the_records(burst, burst_file, capsys):
    status, out, err = cli(capsys, "story", str(burst_file), burst.example)
    assert status == 0 and err == ""
    assert f"trace {burst.example}: 3 records, 2 spans, FAILED" in out
    assert re.search(r"retrieval .*\| ERROR <- failed here", out)
    assert out.count("vector_store_unavailable") == 2          # the stage line and the final one
    status, out, _ = cli(capsys, "story", str(burst_file), burst.example.upper(), "--json")
    assert status == 0 and [json.loads(line)["trace_id"] for line in out.splitlines()] == \
        [burst.example] * 3


def test_query_counts_by_key_with_values_bound_as_parameters(burst_file, burst, capsys):
    status, out, _ = cli(capsys, "query", str(burst_file), "--where", "severity_text=ERROR",
                         "--count-by", "body")
    assert status == 0
    counts = {line.split()[0]: int(line.split()[1].replace(",", "")) for line in out.splitlines()[2:]}
    assert counts["request.completed"] == burst.failed
    assert counts["retrieval.failed"] == dict(((s, e), n) for s, e, n in burst.by_stage)[
        ("retrieval", "vector_store_unavailable")]


def test_a_quoted_sql_value_matches_nothing_and_an_invalid_key_is_refused(burst_file, capsys):
    assert ask(burst_file, ["tenant=' OR 1=1 --"])[1] == []
    assert ask(burst_file, ["body=request.completed' OR '1'='1"])[1] == []
    assert len(ask(burst_file, ["tenant=acme", "body=request.completed"], limit=0)[1]) > 100
    assert ask(burst_file, ["http.response.status_code=504"], ["error.type"]) == \
        (["error.type", "lines"], [("timeout", 1)])
    for key in ("tenant') OR 1=1 --=x", "body; DROP TABLE log"):
        status, _, err = cli(capsys, "query", str(burst_file), "--count-by", key)
        assert status == 2 and "invalid key" in err
    status, _, err = cli(capsys, "query", str(burst_file), "--sql", "DELETE FROM log")
    assert status == 2 and "read-only" in err


def test_tokens_by_tenant_are_summed_per_group(tmp_path, capsys):
    # two acme requests of 620 + 80 tokens, one failed at retrieval (620 + 0): 1,860 and 160
    path = tmp_path / "three.jsonl"
    path.write_text("\n".join(log_lines([
        make_request("ab" * 16, 1.0), make_request("cd" * 16, 2.0),
        failed_at_retrieval("ef" * 16, 3.0)])) + "\n", encoding="utf-8")
    status, out, _ = cli(capsys, "query", str(path), "--where", "body=request.completed",
                         "--count-by", "tenant", "--sum", "gen_ai.usage.input_tokens",
                         "--sum", "gen_ai.usage.output_tokens")
    assert status == 0 and out.splitlines()[2].split() == ["acme", "3", "1860", "160"]


def test_numbers_compare_as_numbers(burst_file, burst, story):
    slow = ask(burst_file, ["body=request.completed", "latency_ms>=30000"], limit=0)[1]
    assert [json.loads(line)["attributes"]["error.type"] for (line,) in slow] == ["timeout"]
    # != also keeps the lines that lack the key: all but the two ERROR lines of each request
    # that failed at the vector store (its retrieval.failed and its request.completed)
    start, end = burst.window
    unavailable = sum(r.error == "vector_store_unavailable" for r in story if start <= r.ts < end)
    total = len(burst_file.read_text().splitlines())
    rest = ask(burst_file, ["error.type!=vector_store_unavailable"], limit=0)[1]
    assert len(rest) == total - 2 * unavailable


def test_a_file_salted_with_bad_lines_gives_the_same_answers_and_counts_them(burst_file, burst,
                                                                             tmp_path, capsys):
    good = burst_file.read_bytes().splitlines(keepends=True)
    naming = next(i for i, line in enumerate(good) if burst.example.encode() in line)
    salted = [b"not json at all\n", *good[:3], good[naming][:-30] + b"\n", b"\xff\xfe\x00\x01\n",
              *good[3:], b'["an", "array"]\n', b"\n", b'{"body": "no ids"}\n']
    path = tmp_path / "salted.jsonl"
    path.write_bytes(b"".join(salted))
    for args in (["--count-by", "body"], ["--where", "topic!=none", "--count-by", "topic"]):
        _, clean, _ = cli(capsys, "query", str(burst_file), *args)
        status, out, err = cli(capsys, "query", str(path), *args)
        assert status == 0 and out == clean
        # bad: line 1, the truncated copy (5), the binary line (6); after the G good lines, the
        # array at G + 4 and the object without a time at G + 6 (the blank line is no line):
        # each reason with its count and its first line, the commonest first
        assert err == (f"{path}: skipped 5 bad line(s): 2 not JSON (first at line 1), "
                       f"1 missing fields (timestamp) (first at line {len(good) + 6}), "
                       "1 not UTF-8 (first at line 6), "
                       f"1 not an object (first at line {len(good) + 4})\n")
    # an equality on text kept as written reads only the lines that hold the text: the same
    # answer, and of the bad lines only those that could have matched are read and counted (the
    # truncated copy at line 5 is the one bad line that holds its traceparent)
    traceparent = json.loads(good[naming])["attributes"]["traceparent"]
    assert traceparent.encode() in salted[4]
    args = ["--where", f"traceparent={traceparent}", "--count-by", "body"]
    _, clean, _ = cli(capsys, "query", str(burst_file), *args)
    status, out, err = cli(capsys, "query", str(path), *args)
    assert status == 0 and out == clean and out.count(" 1\n") == 1
    assert err == f"{path}: skipped 1 bad line(s): 1 not JSON (first at line 5)\n"
    # a trace id may be written in capitals or base64 and is read as lowercase hex: every line
    # is read, and every bad line counted
    args = ["--where", f"trace_id={burst.example}", "--count-by", "body"]
    _, clean, _ = cli(capsys, "query", str(burst_file), *args)
    status, out, err = cli(capsys, "query", str(path), *args)
    assert status == 0 and out == clean and out.count(" 1\n") == 3     # its three records
    assert err.startswith(f"{path}: skipped 5 bad line(s)")
    records, bad = lab.read_trace(str(path), burst.example)
    assert len(records) == 3 and bad.bad == 1 and bad.reasons == {"not JSON": 1}


def test_where_and_story_find_a_value_written_otherwise_than_it_is_read(tmp_path, capsys,
                                                                        monkeypatch):
    # the full parse reads this trace id as lowercase hex and this tenant as "acme": --where on
    # either finds the line, whether it is read whole, by the fast path, or a stretch a process;
    # story finds the trace
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    odd = ('{"timestamp": "2026-11-02T09:00:01Z", "body": "b", "trace_id": "%s", '
           '"attributes": {"tenant": "\\u0061cme"}}\n' % trace.upper())
    usual = ('{"timestamp": "2026-11-02T09:00:02.000Z", "severity_text": "INFO", '
             '"severity_number": 9, "body": "b", "trace_id": "%s", "span_id": "00f067aa0ba902b7", '
             '"parent_span_id": null, "attributes": {"tenant": "globex"}}\n' % ("1" * 32))
    path = tmp_path / "odd.jsonl"
    path.write_text(usual * 300 + odd + usual * 300, encoding="utf-8")
    for split in (False, True):
        if split:
            monkeypatch.setattr(logread, "SPLIT_BYTES", 1)
        for where in (f"trace_id={trace}", "tenant=acme"):
            status, out, err = cli(capsys, "query", str(path), "--where", where, "--count-by", "body")
            assert status == 0 and out.split()[-2:] == ["b", "1"], (where, out, err)
    status, out, _ = cli(capsys, "query", str(path), "--sql",
                         f"SELECT count(*) FROM log WHERE trace_id = '{trace}'")
    assert status == 0 and out.split()[-1] == "1"
    status, out, _ = cli(capsys, "story", str(path), trace)              # written in capitals
    assert status == 0 and "1 records" in out and 'tenant="acme"' in out


def test_clear_errors_and_non_zero_exits(tmp_path, capsys, burst_file):
    empty, junk = tmp_path / "empty.jsonl", tmp_path / "junk.jsonl"
    empty.write_bytes(b"")
    junk.write_bytes(b"hello\n[1, 2]\n")
    cases = [
        (["story", str(tmp_path / "missing.jsonl"), "ab" * 16], "no such file"),
        (["query", str(tmp_path / "missing.jsonl")], "no such file"),
        (["story", str(empty), "ab" * 16], "no usable line"),
        (["query", str(junk)], "no usable line"),
        (["story", str(junk), "ab" * 16], "no usable line"),
        (["story", str(burst_file), "ab" * 16], "is not in"),
        (["story", str(burst_file), "not-a-trace"], "not a trace id"),
        (["query", str(burst_file), "--where", "latency_ms>slow"], "needs a number"),
        (["query", str(burst_file), "--where", "tenant"], "invalid condition"),
        (["query", str(burst_file), "--sql", "SELEC"], "SQL:"),
        (["write", "--out", str(tmp_path / "no" / "dir.jsonl"), "--minutes", "1"], "cannot write"),
        (["write", "--out", str(tmp_path / "late.jsonl"), "--from-minute", "400"], "no requests"),
    ]
    for argv, message in cases:
        status, _, err = cli(capsys, *argv)
        assert status == 2 and err.startswith("error: ") and message in err, (argv, err)
    with pytest.raises(SystemExit) as exit_:
        lab.main(["write", "--out", str(tmp_path / "y.jsonl"), "--sample", "1.5"])
    assert exit_.value.code == 2 and "between 0 and 1" in capsys.readouterr().err
    # a write option given before the command is named, never silently ignored
    with pytest.raises(SystemExit) as exit_:
        lab.main(["--sample", "0.01", "write", "--out", str(tmp_path / "y.jsonl")])
    assert exit_.value.code == 2 and "--sample is an option of the write command" in \
        capsys.readouterr().err
    assert not (tmp_path / "y.jsonl").exists()
    # an option of `write` given before the command: said where it goes, not "invalid choice"
    with pytest.raises(SystemExit) as exit_:
        lab.main(["--minutes", "150", "write", "--out", str(tmp_path / "x.jsonl")])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "--minutes is an option of the write command" in err
    assert not (tmp_path / "x.jsonl").exists()


def test_write_then_query_round_trip_on_the_command_line(tmp_path, capsys, story):
    path = tmp_path / "slice.jsonl"
    status, out, err = cli(capsys, "write", "--out", str(path), "--from-minute", "120",
                           "--minutes", "2")
    window = [r for r in story if 7200 <= r.ts < 7320]
    assert status == 0 and out == "" and f"({len(window):,} requests, 2:00-2:02)" in err
    status, out, _ = cli(capsys, "query", str(path), "--sql",
                         "SELECT count(*) AS n FROM log WHERE body = 'request.completed'")
    assert status == 0 and out.split() == ["n", "--", str(len(window))]


def test_the_tools_lean_records_write_the_lessons_bytes_and_leave_logging_as_it_was(story):
    # write skips what a LogRecord gathers and the log never holds (the caller's file and line,
    # the thread, the process): the same lines as the lesson's write_log, sampled or not
    window = [r for r in story if 7200 <= r.ts < 7260]
    switches = {name: getattr(logging, name) for name in lab.UNUSED_RECORD_FIELDS
                if hasattr(logging, name)}
    assert switches["_srcfile"] is not None and len(switches) >= 4
    for rate in (1.0, 0.1):
        tool, lessons = io.StringIO(), io.StringIO()
        lab.checked_write_log(window, tool, rate=rate)
        lesson.write_log(window, lessons, rate=rate)
        assert tool.getvalue() == lessons.getvalue() and tool.getvalue().count("\n") > len(window)
    assert {name: getattr(logging, name) for name in switches} == switches


# ── logs as a practitioner has them: gzip'd, piped, on standard input ──────────────────────────

def run_logs(*argv, stdin: bytes = b"") -> subprocess.CompletedProcess:
    script = Path(__file__).resolve().parents[1] / "solution" / "tools" / "logs.py"
    return subprocess.run([sys.executable, str(script), *argv], input=stdin, capture_output=True,
                          timeout=60)


def test_a_gzipd_log_reads_as_the_plain_one_whatever_its_name(burst_file, burst, tmp_path, capsys):
    plain = cli(capsys, "query", str(burst_file), "--count-by", "body")
    packed = tmp_path / "burst.log"                        # gzip'd, without the .gz to say so
    packed.write_bytes(gzip.compress(burst_file.read_bytes()))
    assert cli(capsys, "query", str(packed), "--count-by", "body") == plain
    status, out, _ = cli(capsys, "story", str(packed), burst.example)
    assert status == 0 and f"trace {burst.example}: 3 records, 2 spans, FAILED" in out


def test_a_log_on_a_pipe_or_standard_input_is_read_like_a_file(burst_file, burst):
    data = burst_file.read_bytes()
    piped = run_logs("story", "-", burst.example, stdin=data)             # mmap cannot map a pipe
    assert piped.returncode == 0 and b"Traceback" not in piped.stderr
    assert f"trace {burst.example}: 3 records".encode() in piped.stdout
    zipped = run_logs("query", "-", "--where", "body=request.completed", "--count-by", "error.type",
                      stdin=gzip.compress(data))
    assert zipped.returncode == 0 and b"vector_store_unavailable    601" in zipped.stdout


def test_a_truncated_or_corrupt_gzip_is_one_clear_error(burst_file, burst, tmp_path, capsys):
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(gzip.compress(burst_file.read_bytes())[:5000])
    junk = tmp_path / "junk.gz"
    junk.write_bytes(b"\x1f\x8bnot a gzip at all")
    for argv in (["query", str(cut), "--count-by", "body"], ["story", str(junk), burst.example]):
        status, _, err = cli(capsys, *argv)
        assert status == 2 and err.count("\n") == 1 and "cannot read" in err


# ── the writer loses nothing and overwrites nothing unasked ─────────────────────────────────────

def test_write_never_overwrites_unasked_and_force_replaces_the_file_whole(tmp_path, capsys):
    path = tmp_path / "mine.jsonl"
    path.write_text("my own log, not to be lost\n")
    status, _, err = cli(capsys, "write", "--out", str(path), "--minutes", "1")
    assert status == 2 and "exists (add --force to overwrite it)" in err and err.count("\n") == 1
    assert path.read_text() == "my own log, not to be lost\n"
    status, _, err = cli(capsys, "write", "--out", str(path), "--minutes", "1", "--force")
    assert status == 0 and len(path.read_text().splitlines()) == int(err.split()[1].replace(",", ""))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.jsonl"]    # no temporary left


def test_a_write_that_fails_midway_leaves_the_old_file_and_no_partial_one(tmp_path):
    from solution.cli import write_file
    path = tmp_path / "out.txt"
    path.write_text("old\n")

    def half_then_fail(stream, error):
        stream.write("half of the new file\n")
        raise error

    for error in (OSError(28, "No space left on device"), KeyboardInterrupt()):
        with pytest.raises(type(error)):
            write_file(str(path), lambda stream: half_then_fail(stream, error), force=True)
        assert path.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["out.txt"]
    with pytest.raises(OSError):
        write_file(str(tmp_path / "new.txt"), lambda stream: half_then_fail(stream, OSError(5, "I/O error")))
    assert not (tmp_path / "new.txt").exists()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="/dev/full is Linux's full disk")
def test_a_full_disk_is_one_clear_line_and_a_failure(capsys):
    status, _, err = cli(capsys, "write", "--out", "/dev/full", "--minutes", "1")
    assert status == 2 and err == "error: cannot write /dev/full: No space left on device\n"


def test_a_byte_order_mark_is_not_a_bad_line(burst_file, tmp_path, capsys):
    marked = tmp_path / "bom.jsonl"
    marked.write_bytes(b"\xef\xbb\xbf" + burst_file.read_bytes())    # as some Windows tools save
    assert cli(capsys, "query", str(marked), "--count-by", "body") == \
        cli(capsys, "query", str(burst_file), "--count-by", "body")


def test_an_endless_line_is_skipped_and_counted_not_held(burst_file, tmp_path, capsys):
    from solution.tools import logread
    huge = tmp_path / "huge.jsonl"
    with huge.open("wb") as out:
        out.write(b'{"body": "' + b"x" * (logread.MAX_LINE_BYTES + 10) + b'"}\n')
        out.write(burst_file.read_bytes())
    status, out, err = cli(capsys, "query", str(huge), "--count-by", "body")
    assert status == 0 and "skipped 1 bad line(s): 1 too long (first at line 1)" in err
    # the line is read away in pieces of at most the bound: never one string of its whole size
    pieces = list(logread.bounded_lines(huge.open("rb"), limit=1000))
    assert pieces[0] is logread.TOO_LONG and len(pieces) == 1 + burst_file.read_bytes().count(b"\n")


def test_a_device_that_never_ends_and_a_fifo_without_a_writer_end_in_a_clear_error(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path, reason in (("/dev/zero", "is a device, not a log file"), (str(fifo), "no usable line")):
        out = run_logs("query", path, "--count-by", "body")
        assert out.returncode == 2 and reason in out.stderr.decode(), out.stderr


def test_write_to_standard_output_is_the_log_alone(capsys):
    status, out, err = cli(capsys, "write", "--out", "-", "--minutes", "1")
    lines = out.splitlines()
    assert status == 0 and all(json.loads(line)["trace_id"] for line in lines)
    assert err.startswith(f"wrote {len(lines):,} lines") and "to standard output" in err


# ── logs in the shapes OpenTelemetry writes ─────────────────────────────────────────────────────

def as_otlp(records: list[dict]) -> dict:
    """An OTLP/JSON logs export request, written by hand from the OpenTelemetry protocol's JSON
    encoding (the fixtures' writer, tests/fixtures/log_shapes/make.py): ids as hex, int64 as
    strings, attributes as key/value lists of AnyValue."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_log_shapes", SHAPES / "make.py")
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    return make.otlp(records)


def test_an_otlp_json_log_answers_as_the_json_lines_it_came_from(burst_file, burst, tmp_path, capsys):
    records = [json.loads(line) for line in burst_file.read_text().splitlines()]
    otlp = tmp_path / "collector.jsonl"                   # the Collector's file exporter: a request a line
    otlp.write_text("\n".join(json.dumps(as_otlp(records[i:i + 100]))
                              for i in range(0, len(records), 100)) + "\n")
    for args in (["--count-by", "body"], ["--where", "tenant=acme", "--count-by", "error.type"],
                 ["--where", "body=request.completed", "--sum", "gen_ai.usage.input_tokens"]):
        assert cli(capsys, "query", str(otlp), *args) == cli(capsys, "query", str(burst_file), *args)
    status, out, _ = cli(capsys, "story", str(otlp), burst.example)
    assert status == 0 and f"trace {burst.example}: 3 records" in out and "vector_store_unavailable" in out
    from solution.tools import dashboard
    assert dashboard.read_log(str(otlp)).tally == dashboard.read_log(str(burst_file)).tally


def test_the_otel_sdks_0x_ids_and_a_missing_field_named(burst_file, burst, tmp_path, capsys):
    lines = burst_file.read_text().splitlines()
    sdk = []
    for line in lines:                                    # the Python SDK's console exporter: 0x ids
        record = json.loads(line)
        record["trace_id"], record["span_id"] = "0x" + record["trace_id"], "0x" + record["span_id"]
        sdk.append(json.dumps(record))
    path = tmp_path / "sdk.jsonl"
    path.write_text("\n".join(sdk) + "\n" + json.dumps({"timestamp": "2026-11-02T11:00:00Z"}) + "\n")
    status, out, err = cli(capsys, "story", str(path), burst.example)
    assert status == 0 and f"trace {burst.example}: 3 records" in out
    status, out, err = cli(capsys, "query", str(path), "--count-by", "body")
    assert "1 missing fields (body) (first at line" in err


# ── questions in one pass, in bounded memory ────────────────────────────────────────────────────

@pytest.mark.parametrize("where,count_by,sums,limit", [
    ([], ["body"], [], 20),
    (["severity_text=ERROR"], ["body", "error.type"], [], 20),
    (["body=request.completed"], ["tenant"], ["gen_ai.usage.input_tokens", "latency_ms"], 20),
    (["body=request.completed"], [], ["latency_ms"], 20),
    (["latency_ms>1000"], [], [], 5),
    (["tenant=acme", "http.response.status_code!=200"], [], [], 0),
    (["tenant=nobody"], ["body"], [], 20),
])
def test_streaming_in_small_batches_answers_as_the_whole_table_does(burst_file, burst_table,
                                                                    monkeypatch, where, count_by,
                                                                    sums, limit):
    # batches of 7 lines: the partial answers of ~680 batches combined must be the answer of
    # SQL over the whole table, as --sql sees it (json_extract on each stored line)
    db = burst_table
    clause, params = lab.where_clause(where)
    paths = [lab.json_path(k) for k in count_by]
    if count_by or sums:
        groups = ", ".join(f"json_extract(line, '{p}')" for p in paths)
        select = ", ".join([*(f"json_extract(line, '{p}')" for p in paths), "count(*)",
                            *(f"sum(json_extract(line, '{lab.json_path(k)}'))" for k in sums)])
        rows = db.execute(f"SELECT {select} FROM log{clause}" + (f" GROUP BY {groups} ORDER BY count(*) DESC, "
                          f"{groups}" if count_by else ""), params).fetchall()
        header = [*count_by, "lines", *(f"sum {k}" for k in sums)]
    else:
        rows = db.execute(f"SELECT line FROM log{clause} ORDER BY timestamp, n" + (f" LIMIT {limit}" if limit else ""),
                          params).fetchall()
        header = ["line"]
    monkeypatch.setattr(lab, "BATCH", 7)
    with burst_file.open("rb") as stream:
        got_header, got_rows, matching, bad = lab.stream_query(stream, where, count_by, sums, limit)
    assert (got_header, bad.bad) == (header, 0)
    if header == ["line"]:          # the same records (the table rebuilds a line from its columns)
        got_rows, rows = ([(json.loads(line),) for line, in r] for r in (got_rows, rows))
    assert [tuple(pytest.approx(v) if isinstance(v, float) else v for v in row) for row in got_rows] == rows
    assert matching == db.execute("SELECT count(*) FROM log" + clause, params).fetchone()[0]


@pytest.mark.parametrize("where,count_by,sums,limit", [
    ([], ["body"], [], 20),
    (["body=request.completed"], ["tenant", "http.response.status_code"], ["latency_ms"], 20),
    (["latency_ms>1000"], [], [], 7),
    ([], [], [], 0),
])
def test_a_log_split_between_processes_answers_as_one_pass_does(burst_file, tmp_path, where, count_by,
                                                               sums, limit):
    # bad lines salted at the start, in the middle and at the end: their numbers are the file's
    lines = burst_file.read_bytes().splitlines(keepends=True)
    salted = [b"{not json\n", *lines[:2000], b"[1]\n", *lines[2000:], b"\xff\n"]
    path = tmp_path / "split.jsonl"
    path.write_bytes(b"".join(salted))
    with path.open("rb") as stream:
        one = lab.stream_query(stream, where, count_by, sums, limit)
    for workers in (2, 7):
        split = lab.parallel_query(str(path), where, count_by, sums, limit, "split", workers=workers)
        approx = [tuple(pytest.approx(v) if isinstance(v, float) else v for v in row) for row in one[1]]
        assert (split[0], split[1], split[2]) == (one[0], approx, one[2]), workers   # sums: any order
        assert (split[3].bad, split[3].reasons, split[3].bad_lines) == (one[3].bad, one[3].reasons, one[3].bad_lines)
    if not lab.needles(where):      # every line read: the three bad ones, by their numbers in the file
        assert (one[3].bad, one[3].reasons, one[3].bad_lines) == \
            (3, {"not JSON": 1, "not an object": 1, "not UTF-8": 1}, [1, 2002, len(salted)])


@pytest.mark.parametrize("value", [True, False, None, 0, -3, 2.5, 10**15, "", "text", "ünï",
                                   [1, "a", None], {"k": [True, {"z": 1}]}, "200"])
def test_a_value_read_in_python_is_the_value_sqlite_extracts(value):
    # the count-by and where keys are read from the parsed record, not by json_extract: the same
    # SQL value for every JSON type, or a group would split or a condition differ
    record = {"body": value, "attributes": {"k": value, "error.type": value}}
    db = sqlite3.connect(":memory:")
    for key in ("body", "k", "attributes.k", "error.type", "missing"):
        expected = db.execute("SELECT json_extract(?, ?)", (json.dumps(record), lab.json_path(key))).fetchone()[0]
        assert lab.sql_value(record, key) == expected and type(lab.sql_value(record, key)) is type(expected), key
    assert lab.sql_value({"attributes": "not an object"}, "k") is None


# ── the log shapes people have: committed fixtures (tests/fixtures/log_shapes/make.py) ──────

LOGFMT = ["body=msg", "timestamp=time", "severity_text=level", "attributes=*"]
# each fixture, and the --map its README recipe gives it; the real libraries wrote the first six
MAPS = {"otel_console.json": [], "otel_sdk.jsonl": [], "otlp_protobuf.jsonl": [],
        "structlog.jsonl": ["body=event", "severity_text=level", "attributes=*"],
        "python_json_logger.jsonl": ["body=message", "severity_text=levelname", "trace_id=otelTraceID",
                                     "span_id=otelSpanID", "attributes=*"],
        "gke_cri.log": [],
        "otlp_lines.jsonl": [], "otlp_request.json": [], "docker.jsonl": [], "cri.log": [],
        "journald.jsonl": [], "logfmt.log": LOGFMT}
BY_LIBRARY = {"otel_console.json", "otel_sdk.jsonl", "otlp_protobuf.jsonl", "structlog.jsonl",
              "python_json_logger.jsonl", "gcp_structured.jsonl", "gke_cri.log"}
FAILED_TRACE = "20b9813df032a136eb29c670a3b0a289"          # the first failing request of the burst


def test_the_fixtures_are_what_their_writer_makes(tmp_path):
    # make.py writes the documented shapes from native.jsonl: run again (here, without the
    # libraries), it writes the same bytes; the libraries' own files are committed as they wrote them
    out = subprocess.run([sys.executable, "-S", str(SHAPES / "make.py"), str(tmp_path)], timeout=60,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    committed = {p.name: p.read_bytes() for p in SHAPES.iterdir() if p.name not in ("make.py", "native.jsonl")}
    assert set(committed) == set(MAPS) | {"gcp_structured.jsonl"}
    spec = set(committed) - BY_LIBRARY
    assert {p.name for p in tmp_path.iterdir()} == spec
    assert all((tmp_path / name).read_bytes() == committed[name] for name in spec)
    # each library's mark: the SDK's version in the resource, the instrumentation's fields, ...
    for name, mark in (("otel_console.json", b'"telemetry.sdk.version": "1.45.2"'),
                       ("otel_sdk.jsonl", b'"telemetry.sdk.version": "1.45.2"'),
                       ("otlp_protobuf.jsonl", b'"severityNumber": "SEVERITY_NUMBER_ERROR"'),
                       ("python_json_logger.jsonl", b'"otelTraceID": "'),
                       ("gcp_structured.jsonl", b'"instrumentation_source": [{"name": "python", "version": "3.17.0"}]')):
        assert mark in committed[name], name


def native_answer(capsys, question: list[str]) -> tuple[int, str, str]:
    return cli(capsys, "query", str(SHAPES / "native.jsonl"), *question)


@pytest.mark.parametrize("shape", sorted(MAPS))
def test_every_log_shape_answers_as_the_native_log_does(shape, capsys, tmp_path):
    native, other = str(SHAPES / "native.jsonl"), str(SHAPES / shape)
    maps = [arg for pair in MAPS[shape] for arg in ("--map", pair)]
    for question in (["--count-by", "body", "--count-by", "severity_number"],   # (its text is as written)
                     ["--where", "tenant=acme", "--count-by", "error.type"],
                     ["--where", "body=request.completed", "--count-by", "http.response.status_code",
                      "--sum", "gen_ai.usage.input_tokens", "--sum", "latency_ms"],
                     ["--where", "severity_number>=17", "--json", "--limit", "0"],
                     ["--where", "severity_number>=17", "--limit", "3"]):
        status, out, err = cli(capsys, "query", other, *question, *maps)
        answer = native_answer(capsys, question)
        if "--json" in question:        # the records themselves: the same fields and values
            assert status == 0 and len(out.splitlines()) == len(answer[1].splitlines()) == 58
            rows = [json.loads(line) for line in out.splitlines()]
            assert {(r["trace_id"], r["span_id"], r["body"], r["attributes"].get("error.type"))
                    for r in rows} == {(r["trace_id"], r["span_id"], r["body"], r["attributes"].get("error.type"))
                                       for r in map(json.loads, answer[1].splitlines())}
        elif "--limit" in question:     # the first three in time order: the same records
            assert status == 0 and [line.split()[2:4] for line in out.splitlines()] == \
                [line.split()[2:4] for line in answer[1].splitlines()], (shape, out)
        else:
            assert (status, out) == answer[:2], (shape, question, err)
        # nothing skipped, but the Google handler's own diagnostic line, named
        assert err == "" or err.endswith("1 missing fields (body) (first at line 1)\n"), (shape, err)
    status, out, _ = cli(capsys, "story", other, FAILED_TRACE, *maps)
    assert status == 0 and f"trace {FAILED_TRACE}: 3 records" in out and "failed here" in out
    assert out.count("vector_store_unavailable") == 2
    from solution.tools import dashboard
    from solution.tools.logread import Reading, parse_field_map
    mapped = Reading(fields=parse_field_map(MAPS[shape]))
    assert dashboard.read_log(other, reading=mapped).tally == dashboard.read_log(native, reading=mapped).tally
    # the dashboard itself, figure for figure (each file under the same name: the report names it)
    for name, source in (("a", other), ("b", native)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "app.log").write_bytes(Path(source).read_bytes())
    status, out, _ = dashboard_cli(capsys, "--from", str(tmp_path / "a" / "app.log"), *maps)
    assert status == 0 and out.replace("/a/", "/b/") == dashboard_cli(capsys, "--from", str(tmp_path / "b" / "app.log"))[1]


def dashboard_cli(capsys, *argv):
    from solution.tools import dashboard
    status = dashboard.main(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


def test_resource_attributes_are_kept_and_asked_as_resource_keys(capsys):
    # the SDK's records and OTLP's carry their resource: a per-service question
    for shape in ("otel_sdk.jsonl", "otlp_protobuf.jsonl", "otlp_lines.jsonl", "otel_console.json"):
        status, out, _ = cli(capsys, "query", str(SHAPES / shape), "--count-by", "resource.service.name")
        assert status == 0 and out.splitlines()[2].split() == ["support-assistant", "87"], shape
        status, out, _ = cli(capsys, "query", str(SHAPES / shape), "--where",
                             "resource.service.name=billing", "--count-by", "body")
        assert status == 0 and out.strip() == "no rows"
    # journald's unit and host become the resource too
    status, out, _ = cli(capsys, "query", str(SHAPES / "journald.jsonl"), "--count-by", "resource.systemd.unit")
    assert out.splitlines()[2].split() == ["support-assistant.service", "87"]


def test_an_otel_event_without_a_body_is_named_by_its_event_and_zero_ids_are_no_ids(tmp_path, capsys):
    # the SDK writes an event's missing body as null (to_json) or {} (OTLP), and ids of all
    # zeros outside a span; OTLP's protobuf JSON mapping writes ids in base64, the severity by name
    from solution.tools.logread import records_in
    sdk = {"body": None, "severity_number": None, "timestamp": None,
           "observed_timestamp": "2026-11-02T09:00:01.000001Z", "trace_id": "0x" + "0" * 32,
           "span_id": "0x" + "0" * 16, "event_name": "cache.miss", "attributes": {"k": 1}}
    [record], why = records_in(json.dumps(sdk), ("timestamp", "body"))
    assert why is None and record["body"] == "cache.miss" and "trace_id" not in record
    assert record["timestamp"] == "2026-11-02T09:00:01.000001Z"
    request = {"resourceLogs": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "api"}}]}, "scopeLogs": [{"logRecords": [
            {"timeUnixNano": "1793610001000000000", "body": {}, "eventName": "cache.miss",
             "severityNumber": "SEVERITY_NUMBER_WARN2",
             "traceId": "W/kvNXezTaajzpKdDg5HNg==", "spanId": "APBnqguqArc="}]}]}]}
    [record], why = records_in(json.dumps(request), ("timestamp", "body"))
    assert why is None and (record["body"], record["severity_number"]) == ("cache.miss", 14)
    # base64 of the bytes 5b f9 2f 35 ..., 00 f0 67 aa 0b aa 02 b7 (decoded by hand from RFC 4648's table)
    assert (record["trace_id"], record["span_id"]) == ("5bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0baa02b7")
    assert record["resource"] == {"service.name": "api"}
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(request) + "\n")
    status, out, _ = cli(capsys, "story", str(path), "5bf92f3577b34da6a3ce929d0e0e4736")
    assert status == 0 and "1 records" in out and "cache.miss" in out      # found by its base64


def test_a_line_without_ids_is_read_by_every_tool(tmp_path, capsys):
    # before: a crash logged outside any span was dropped by query ("missing fields (span_id)")
    lines = [{"event": "service.started", "level": "info", "timestamp": "2026-03-01T08:00:00Z"},
             {"event": "worker.crashed", "level": "error", "timestamp": "2026-03-01T08:00:01Z",
              "exception": "Traceback ..."},
             {"event": "request.completed", "level": "info", "timestamp": "2026-03-01T08:00:02Z",
              "latency_ms": 120.0, "http.response.status_code": 200}]
    path = tmp_path / "plain.jsonl"
    path.write_text("\n".join(map(json.dumps, lines)) + "\n")
    maps = ["--map", "body=event", "--map", "severity_text=level", "--map", "attributes=*"]
    status, out, err = cli(capsys, "query", str(path), "--where", "severity_text=error", *maps)
    assert status == 0 and err == "" and "worker.crashed" in out and "1 matching line(s)" in out
    status, out, err = cli(capsys, "query", str(path), "--count-by", "body", *maps)
    assert status == 0 and err == "" and len(out.splitlines()) == 2 + 3
    from solution.tools import dashboard
    from solution.tools.logread import Reading, parse_field_map
    mapped = Reading(fields=parse_field_map(maps[1::2]))
    assert len(dashboard.read_log(str(path), reading=mapped).tally) == 1


# times as programs write them: (text, seconds since the epoch worked by hand from
# 2026-11-02T09:00:03Z = 1793610003: 20,394 days from 1970-01-01 x 86,400 + 9 h 0 min 3 s)
TIMES = [("2026-11-02T09:00:03Z", 1793610003.0), ("2026-11-02T09:00:03.1Z", 1793610003.1),
         ("2026-11-02T09:00:03.12Z", 1793610003.12), ("2026-11-02T09:00:03.1234Z", 1793610003.1234),
         ("2026-11-02T09:00:03.12345Z", 1793610003.12345),
         ("2026-11-02T09:00:03.123456789Z", 1793610003.123457),      # Go, Docker, CRI: ns
         ("2026-11-02t09:00:03.5z", 1793610003.5), ("2026-11-02 09:00:03.5+00:00", 1793610003.5),
         ("2026-11-02T10:30:03.25+01:30", 1793610003.25), ("2026-11-02T04:00:03-0500", 1793610003.0),
         ("2026-11-02 09:00:03,250 UTC", 1793610003.25),
         (1793610003, 1793610003.0), (1793610003250, 1793610003.25), (1793610003250000, 1793610003.25),
         (1793610003250000000, 1793610003.25), (1793610003.25, 1793610003.25),
         ("1793610003250000", 1793610003.25)]                         # journald: µs as text


@pytest.mark.parametrize("value,expected", TIMES)
def test_time_is_read_as_programs_write_it_on_any_python(value, expected):
    from solution.tools.logread import parse_time
    assert parse_time(value) == expected


def test_a_time_without_a_zone_is_refused_with_its_advice_and_read_with_tz(tmp_path, capsys):
    # Python's default asctime: no zone. Whose clock? Refused, said, and read once --tz says
    lines = [json.dumps({"asctime": f"2026-11-02 09:00:0{k},000", "message": "tick", "levelname": "INFO"})
             for k in range(3)]
    path = tmp_path / "asctime.jsonl"
    path.write_text("\n".join(lines) + "\n")
    maps = ["--map", "timestamp=asctime", "--map", "body=message"]
    status, _, err = cli(capsys, "query", str(path), "--count-by", "body", *maps)
    assert status == 2 and "3 time without a zone (first at line 1; give --tz UTC" in err
    status, out, err = cli(capsys, "query", str(path), "--count-by", "body", *maps, "--tz", "UTC")
    assert status == 0 and err == "" and out.splitlines()[2].split() == ["tick", "3"]
    status, out, _ = cli(capsys, "query", str(path), "--json", *maps, "--tz", "Europe/Paris")
    assert json.loads(out.splitlines()[0])["timestamp"] == "2026-11-02T08:00:00.000000Z"   # CET, UTC+1
    status, out, _ = cli(capsys, "query", str(path), "--json", "--map", "timestamp=asctime:utc",
                         "--map", "body=message")                                        # --map says
    assert json.loads(out.splitlines()[0])["timestamp"] == "2026-11-02T09:00:00.000000Z"
    status, _, err = cli(capsys, "query", str(path), "--tz", "Mars/Olympus")
    assert status == 2 and "--tz Mars/Olympus: give UTC" in err


def test_map_conversions_unwrap_convert_and_reach_keys_with_dots(tmp_path, capsys):
    line = {"time": "2026-11-02T09:00:03Z", "payload": json.dumps({"msg": "request.completed", "rt": "0.25"}),
            "logging.googleapis.com/x": {"a.b": "503"}, "took": "1m2.5s", "prio": "3"}
    path = tmp_path / "wrapped.jsonl"
    path.write_text(json.dumps(line) + "\n")
    maps = ["*=payload:json", "timestamp=time", "body=msg", "attributes.latency_ms=rt:seconds",
            'attributes.http.response.status_code="logging.googleapis.com/x"."a.b":number',
            "attributes.total_ms=took:duration", "severity_number=prio:syslog"]
    argv = [arg for pair in maps for arg in ("--map", pair)]
    status, out, err = cli(capsys, "query", str(path), "--json", *argv)
    record = json.loads(out)
    assert status == 0 and err == "" and record["body"] == "request.completed"
    assert record["attributes"] == {"latency_ms": 250.0, "http.response.status_code": 503,
                                    "total_ms": 62500.0}
    assert record["severity_number"] == 17                  # syslog's 3, error
    # a value a conversion cannot take: the line refused, with the map that failed and why
    path.write_text(json.dumps({**line, "took": "soon"}) + "\n")
    status, _, err = cli(capsys, "query", str(path), *argv)
    assert status == 2 and "1 cannot convert (first at line 1; --map attributes.total_ms=took:duration: " \
                           "'soon' is not a duration)" in err
    status, _, err = cli(capsys, "query", str(path), "--map", "body=msg:inches")
    assert status == 2 and "no conversion 'inches'" in err


def test_shapes_that_are_not_json_are_found_or_named(tmp_path, capsys):
    # CRI partial lines, out of order between streams, joined per stream up to their F
    cri = tmp_path / "pod.log"
    cri.write_text('2026-11-02T09:00:03.123456789Z stdout P {"body": "req\n'
                   '2026-11-02T09:00:03.200000000Z stderr F warming up\n'
                   '2026-11-02T09:00:03.123456789Z stdout F uest.completed", "trace_id": "' + "ab" * 16 + '"}\n')
    status, out, err = cli(capsys, "query", str(cri), "--json")
    records = [json.loads(line) for line in out.splitlines()]
    assert status == 0 and err == "" and [r["body"] for r in records] == ["request.completed", "warming up"]
    assert records[0]["timestamp"] == "2026-11-02T09:00:03.123457Z"      # the envelope's, in ns
    assert records[1]["attributes"] == {"log.iostream": "stderr"}
    # Docker cuts a line over 16 KiB into pieces whose log does not end its line: joined
    line = json.dumps({"timestamp": "2026-11-02T09:00:03Z", "body": "long", "pad": "x" * 40})
    docker = tmp_path / "container-json.log"
    docker.write_text("\n".join(json.dumps({"log": log, "stream": "stdout", "time": "2026-11-02T09:00:03.5Z"})
                                for log in (line[:30], "stderr line\n", line[30:] + "\n")) + "\n")
    docker.write_text(docker.read_text().replace('"stderr line\\n", "stream": "stdout"',
                                                 '"stderr line\\n", "stream": "stderr"'))
    status, out, err = cli(capsys, "query", str(docker), "--json")
    records = [json.loads(line) for line in out.splitlines()]
    assert status == 0 and err == "" and [r["body"] for r in records] == ["long", "stderr line"]
    assert records[0]["attributes"] == {"log.iostream": "stdout"} and records[0]["pad"] == "x" * 40
    # a logfmt file is found; the same file named JSON is refused, and the hint names the format
    fmt = tmp_path / "app.log"
    fmt.write_text('time=2026-11-02T09:00:03Z level=info msg="a b" n=3\n')
    status, out, _ = cli(capsys, "query", str(fmt), "--count-by", "n", "--map", "body=msg",
                         "--map", "timestamp=time", "--map", "attributes=*")
    assert status == 0 and out.splitlines()[2].split() == ["3", "1"]
    status, _, err = cli(capsys, "query", str(fmt), "--format", "json")
    assert status == 2 and "1 not JSON (first at line 1; the line looks like logfmt: --format logfmt)" in err


def test_a_foreign_log_without_its_map_says_which_fields_are_missing(capsys):
    status, _, err = cli(capsys, "query", str(SHAPES / "structlog.jsonl"), "--count-by", "body")
    assert status == 2 and "87 missing fields (body) (first at line 1; try --map body=event)" in err
    status, _, err = cli(capsys, "query", str(SHAPES / "native.jsonl"), "--map", "colour=red")
    assert status == 2 and "--map colour=red: NAME=PATH" in err
    # Google's handler writes no time: every line refused for it, and the fix said
    status, _, err = cli(capsys, "query", str(SHAPES / "gcp_structured.jsonl"), "--count-by", "body")
    assert status == 2 and "87 missing fields (timestamp) (first at line 2; Google's handler" in err


# ── --sql over an index on disk ─────────────────────────────────────────────────────────────────

def test_sql_builds_an_index_beside_the_log_reuses_it_and_rebuilds_when_the_log_changes(
        burst_file, tmp_path, capsys):
    log = tmp_path / "app.jsonl"
    log.write_bytes(burst_file.read_bytes())
    index = tmp_path / "app.jsonl.opslab.sqlite"
    sql = "SELECT body, count(*) AS n FROM log GROUP BY body ORDER BY body"
    status, first, err = cli(capsys, "query", str(log), "--sql", sql)
    assert status == 0 and index.exists() and f"indexed {log} into {index}" in err
    built = index.stat().st_mtime_ns
    status, again, err = cli(capsys, "query", str(log), "--sql", sql)
    assert (status, again, err) == (0, first, "") and index.stat().st_mtime_ns == built   # reused
    # the same answer as the whole log loaded in memory, and the columns people ask about indexed
    db, _ = lab.open_log(str(log))
    assert lab.run_sql(db, sql)[1] == lab.open_index(str(log))[0].execute(sql).fetchall()
    plan = " ".join(str(r) for r in lab.open_index(str(log))[0].execute(
        "EXPLAIN QUERY PLAN SELECT * FROM log WHERE trace_id = 'x'"))
    assert "log_trace_id" in plan
    # the log grows: the index is rebuilt, and says so
    line = burst_file.read_text().splitlines()[0]
    with log.open("a") as stream:
        stream.write(line + "\n")
    status, grown, err = cli(capsys, "query", str(log), "--sql", sql)
    assert status == 0 and "changed since" in err and "rebuilding" in err and grown != first
    assert not list(tmp_path.glob("*.tmp"))                    # built aside, renamed into place


def test_an_index_built_under_one_zone_is_rebuilt_under_another(tmp_path, capsys):
    # two lines whose times name no zone: --tz decides what they mean, and the index must follow
    log = tmp_path / "local.jsonl"
    log.write_text('{"timestamp": "2026-03-01T10:00:00", "body": "a"}\n'
                   '{"timestamp": "2026-03-01T10:30:00", "body": "b"}\n', encoding="utf-8")
    sql = "SELECT timestamp FROM log ORDER BY timestamp LIMIT 1"
    status, paris, err = cli(capsys, "query", str(log), "--sql", sql, "--tz", "+01:00")
    assert status == 0 and "09:00:00" in paris                  # 10:00 at +01:00 is 09:00 UTC
    status, utc, err = cli(capsys, "query", str(log), "--sql", sql, "--tz", "UTC")
    assert status == 0 and "10:00:00" in utc and "09:00:00" not in utc
    assert "other --map/--tz/--format/--max-line settings" in err
    status, again, err = cli(capsys, "query", str(log), "--sql", sql, "--tz", "UTC")
    assert (status, again, err) == (0, utc, "")                 # the same settings: reused


def test_the_index_goes_where_asked_never_over_a_stranger_and_falls_back_to_memory(
        burst_file, tmp_path, capsys):
    elsewhere = tmp_path / "cache" / "idx.sqlite"
    elsewhere.parent.mkdir()
    status, _, err = cli(capsys, "query", str(burst_file), "--sql", "SELECT count(*) FROM log",
                         "--db", str(elsewhere))
    assert status == 0 and elsewhere.exists()
    stranger = tmp_path / "mine.sqlite"
    stranger.write_bytes(b"my own notes, not an index")
    status, _, err = cli(capsys, "query", str(burst_file), "--sql", "SELECT 1", "--db", str(stranger))
    assert status == 2 and "is not an opslab index" in err and stranger.read_bytes() == b"my own notes, not an index"
    # a place no index can be written (a folder that is not there): the log is read into memory
    status, out, err = cli(capsys, "query", str(burst_file), "--sql", "SELECT count(*) AS n FROM log",
                           "--db", str(tmp_path / "no such folder" / "idx.sqlite"))
    assert status == 0 and "read into memory" in err and "4762" in out.replace(",", "")
    assert not (tmp_path / "no such folder").exists()
    with pytest.raises(SystemExit):
        lab.main(["query", str(burst_file), "--db", str(elsewhere), "--count-by", "body"])
    assert "--db only applies with --sql" in capsys.readouterr().err


def test_sql_can_read_and_nothing_else(burst_file, tmp_path, capsys):
    # ATTACH would create a file, VACUUM INTO write a copy of the log anywhere: both refused, as
    # are writes, settings and extensions; reading, json_each, recursion and PRAGMA table_info pass
    log = tmp_path / "app.jsonl"
    log.write_bytes(burst_file.read_bytes())
    for sql in (f"ATTACH DATABASE '{tmp_path / 'x.db'}' AS x", f"VACUUM INTO '{tmp_path / 'copy.db'}'",
                "SELECT load_extension('/tmp/evil.so')", "DELETE FROM log", "DROP TABLE log",
                "CREATE TABLE t (x)", "PRAGMA query_only = OFF", "PRAGMA writable_schema = ON",
                "INSERT INTO log (n) VALUES (1)", "BEGIN", "UPDATE sqlite_master SET name = 'x'"):
        status, _, err = cli(capsys, "query", str(log), "--sql", sql)
        assert status == 2 and ("read-only" in err or "error: SQL:" in err), sql
        assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.jsonl", "app.jsonl.opslab.sqlite"]
    for sql in ("SELECT count(*) FROM log", "PRAGMA table_info(log)",
                "SELECT count(*) FROM log, json_each(log.attributes)",
                "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 3) SELECT * FROM c"):
        assert cli(capsys, "query", str(log), "--sql", sql)[0] == 0, sql
    db, _ = lab.open_log(str(log))                   # standard input's table, in memory: the same
    with pytest.raises(sqlite3.DatabaseError, match="not authorized"):
        lab.run_sql(db, f"ATTACH DATABASE '{tmp_path / 'y.db'}' AS y")
    assert not (tmp_path / "y.db").exists()


def test_an_index_is_trusted_only_for_the_content_it_was_built_from(burst_file, tmp_path, capsys):
    # the log rewritten to the same size and modification time (ERROR lines hidden), or another
    # log's index planted beside it: the fingerprint of the content differs, and it is rebuilt
    log = tmp_path / "app.jsonl"
    text = burst_file.read_text()
    log.write_text(text)
    sql = "SELECT count(*) FROM log WHERE severity_text = 'ERROR'"
    errors = text.count('"severity_text": "ERROR"')
    assert errors > 50 and cli(capsys, "query", str(log), "--sql", sql)[1].split()[-1] == str(errors)
    before = log.stat()
    log.write_text(text.replace('"severity_text": "ERROR"', '"severity_text": "EPROR"'))
    os.utime(log, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert log.stat().st_size == before.st_size and log.stat().st_mtime_ns == before.st_mtime_ns
    status, out, err = cli(capsys, "query", str(log), "--sql", sql)
    assert status == 0 and out.split()[-1] == "0" and "changed since" in err
    # an index built for another log, copied beside this one
    other = tmp_path / "other.jsonl"
    other.write_text(text.replace("ERROR", "INFO!"))
    assert cli(capsys, "query", str(other), "--sql", sql)[0] == 0
    log.write_text(text)
    os.replace(f"{other}.opslab.sqlite", f"{log}.opslab.sqlite")
    status, out, err = cli(capsys, "query", str(log), "--sql", sql)
    assert status == 0 and out.split()[-1] == str(errors) and "rebuilding" in err
    # one that others could have written is not trusted either
    os.chmod(f"{log}.opslab.sqlite", 0o666)
    status, out, err = cli(capsys, "query", str(log), "--sql", sql)
    assert status == 0 and "not built by you" in err and out.split()[-1] == str(errors)


@pytest.mark.parametrize("meta", [
    [("version", None)], [("version", "opslab-index-2"), ("bad", "{not json")],
    [("version", "opslab-index-2"), ("bad", '{"bad": "many", "bad_lines": {}, "reasons": []}')],
    [("version", "opslab-index-2"), ("bad", "[1, 2]")], [("version", 7)],
    [("version", "opslab-index-2"), ("fingerprint", "0" * 32), ("map", "[]"), ("bad", "{}")],
    [(None, None)], [("version", "opslab-index-1" + "x" * 10_000)],
])
def test_crafted_index_metadata_is_rebuilt_or_refused_never_a_traceback(burst_file, tmp_path, capsys, meta):
    index = tmp_path / "crafted.sqlite"
    with contextlib.closing(sqlite3.connect(index)) as db:
        db.execute("CREATE TABLE opslab_index (key, value)")
        db.executemany("INSERT INTO opslab_index VALUES (?, ?)", meta)
        db.execute("CREATE TABLE log (n, body)")
        db.execute("INSERT INTO log VALUES (1, 'planted')")
        db.commit()
    status, out, err = cli(capsys, "query", str(burst_file), "--sql", "SELECT count(*) AS n FROM log",
                           "--db", str(index))
    assert "Traceback" not in err
    if status == 0:             # recognised as an opslab index, but not of this log: rebuilt
        assert "4762" in out.replace(",", "") and "rebuilding" in err
    else:                       # not recognisably one: left alone
        assert status == 2 and "not an opslab index" in err


def test_the_index_is_built_in_a_private_folder_and_a_killed_builds_leftovers_are_removed(
        burst_file, tmp_path, capsys, monkeypatch):
    log = tmp_path / "app.jsonl"
    log.write_bytes(burst_file.read_bytes())
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    leftovers = [tmp_path / f".app.jsonl.opslab.sqlite.build-{dead}-k3x9", tmp_path / f"app.jsonl.opslab.sqlite.{dead}.tmp"]
    leftovers[0].mkdir()
    (leftovers[0] / "index.sqlite").write_bytes(b"half")
    leftovers[1].write_bytes(b"half")
    alive = tmp_path / f".app.jsonl.opslab.sqlite.build-{os.getppid()}-q2w8"     # a build still running
    alive.mkdir()
    seen = []
    real = lab._fill_index

    def fill(path, work, *reading):
        seen.append((work, os.stat(work).st_mode & 0o777, set(os.listdir(tmp_path))))
        return real(path, work, *reading)
    monkeypatch.setattr(lab, "_fill_index", fill)
    assert cli(capsys, "query", str(log), "--sql", "SELECT 1")[0] == 0
    [(work, mode, during)] = seen
    assert Path(work).parent == tmp_path and mode == 0o700
    assert not any(p.exists() for p in leftovers) and alive.exists()
    assert sorted(os.listdir(tmp_path)) == sorted([".app.jsonl.opslab.sqlite.build-" + alive.name.split("-", 1)[1],
                                                   "app.jsonl", "app.jsonl.opslab.sqlite"])
    names = {Path(w).name for w, _, _ in seen}
    assert all(n.startswith(f".app.jsonl.opslab.sqlite.build-{os.getpid()}-") and len(n) > 40 for n in names)


def test_an_index_built_a_stretch_a_process_holds_what_one_pass_holds(burst_file, tmp_path, monkeypatch):
    from solution.tools import logread
    lines = burst_file.read_bytes().splitlines(keepends=True)
    salted = b"".join([b"{not json\n", *lines[:2000], b"[1]\n", *lines[2000:], b"\xff\n"])
    (tmp_path / "one.jsonl").write_bytes(salted)
    (tmp_path / "split.jsonl").write_bytes(salted)
    one, one_bad, _ = lab.open_index(str(tmp_path / "one.jsonl"))
    monkeypatch.setattr(logread, "SPLIT_BYTES", 1)              # every file is big enough to split
    split, split_bad, _ = lab.open_index(str(tmp_path / "split.jsonl"))
    everything = "SELECT n, timestamp, body, trace_id, attributes, raw, line FROM log ORDER BY rowid"
    assert split.execute(everything).fetchall() == one.execute(everything).fetchall()
    assert (split_bad.bad, split_bad.reasons, split_bad.bad_lines) == \
        (3, {"not JSON": 1, "not an object": 1, "not UTF-8": 1}, [1, 2002, len(lines) + 3])
    assert (one_bad.bad, one_bad.bad_lines) == (3, split_bad.bad_lines)
    assert sorted(os.listdir(tmp_path)) == ["one.jsonl", "one.jsonl.opslab.sqlite", "split.jsonl",
                                            "split.jsonl.opslab.sqlite"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_or_a_link_at_the_index_place_is_refused_and_a_fifo_log_does_not_hang(
        burst_file, tmp_path, capsys):
    fifo = tmp_path / "index.fifo"
    os.mkfifo(fifo)
    status, _, err = cli(capsys, "query", str(burst_file), "--sql", "SELECT 1", "--db", str(fifo))
    assert status == 2 and "not a regular file" in err
    link = tmp_path / "index.link"
    target = tmp_path / "elsewhere.sqlite"
    link.symlink_to(target)
    status, _, err = cli(capsys, "query", str(burst_file), "--sql", "SELECT 1", "--db", str(link))
    assert status == 2 and "symbolic link" in err and not target.exists()
    log = tmp_path / "log.fifo"
    os.mkfifo(log)
    status, _, err = cli(capsys, "query", str(log), "--sql", "SELECT 1")
    assert status == 2 and "no usable line" in err


# ── progress on long work ───────────────────────────────────────────────────────────────────────

class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_long_read_shows_its_progress_on_a_terminal_and_wipes_it(tmp_path, monkeypatch):
    from solution.tools import logread
    path = tmp_path / "long.jsonl"
    path.write_bytes(b'{"body": "x"}\n' * 200_000)
    clock = iter(range(1_000_000))                      # a second passes at every glance
    monkeypatch.setattr(logread.time, "monotonic", lambda: float(next(clock)))
    for stderr, shown in ((Terminal(), True), (io.StringIO(), False)):
        monkeypatch.setattr(sys, "stderr", stderr)
        with path.open("rb") as stream:
            assert sum(1 for _ in logread.bounded_lines(stream)) == 200_000
        text = stderr.getvalue()
        if shown:       # 65,536 lines a glance, 1 s apart: 65,536/s; the size known: a share, time left
            assert "\rread 65,536 lines, 65,536/s, 33 %, about 2 s left" in text
            assert "read 196,608 lines" in text and text.endswith("\r" + " " * 70 + "\r")
        else:
            assert text == ""                           # not a terminal: quiet


def test_story_reads_a_chunk_at_a_time_and_a_trace_across_chunks_is_whole(burst_file, burst, tmp_path,
                                                                           monkeypatch):
    # chunks of 1,000 bytes: lines cut at every chunk's end are carried whole into the next; the
    # records, their order and the bad lines (numbered as in the file) are those of one big read
    lines = burst_file.read_bytes().splitlines(keepends=True)
    naming = [i for i, line in enumerate(lines) if burst.example.encode() in line]
    cut = lines[naming[1]].index(burst.example.encode()) + 40             # cut off after the id
    salted = [*lines[:naming[1]], lines[naming[1]][:cut] + b"\n", *lines[naming[1]:]]
    data = b"".join(salted) + lines[naming[0]].rstrip(b"\n")                # no newline at the end
    (tmp_path / "salted.jsonl").write_bytes(data)
    (tmp_path / "salted.jsonl.gz").write_bytes(gzip.compress(data))        # no map: chunks
    whole = lab.read_trace(str(tmp_path / "salted.jsonl"), burst.example)   # the file mapped whole
    monkeypatch.setattr(lab, "CHUNK_BYTES", 1000)
    chunked = lab.read_trace(str(tmp_path / "salted.jsonl.gz"), burst.example)
    assert [r["span_id"] for r in chunked[0]] == [r["span_id"] for r in whole[0]] and len(whole[0]) == 4
    assert (chunked[1].bad, chunked[1].bad_lines) == (whole[1].bad, whole[1].bad_lines) == (1, [naming[1] + 1])


@pytest.mark.parametrize("segment", [1, 7, 50, 1 << 20])
def test_story_searches_a_mapped_file_a_segment_at_a_time_and_misses_no_line(tmp_path, monkeypatch, segment):
    # the trace id straddles segment edges, sits on the first and the last line, twice on a
    # line, and at the very end without a newline: every segment size finds what a plain scan
    # of the lines finds, over bytes and over a memory-mapped file
    import mmap
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    lines = [f'{{"trace_id": "{trace}", "n": 0}}', '{"trace_id": "other", "n": 1}',
             f'{{"a": "{trace}", "b": "{trace}", "n": 2}}', "x" * 45, '{"n": 4}',
             f'{{"trace_id": "{trace}"}}']
    data = "\n".join(lines).encode()
    expected = [(data.index(line.encode()), line.encode()) for line in lines if f'{trace}"' in line]
    monkeypatch.setattr(lab, "SEGMENT_BYTES", segment)
    path = tmp_path / "seg.jsonl"
    path.write_bytes(data)
    with open(path, "rb") as stream, mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        assert lab.lines_naming(mapped, trace) == expected
    assert lab.lines_naming(data, trace) == expected and len(expected) == 3


def readme_recipes() -> list[str]:
    """The README's commands on the fixtures of log shapes, as written."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```sh\n(.*?)^```", text, re.M | re.S)
    return [line for block in blocks for line in block.splitlines() if "log_shapes/" in line]


@pytest.mark.parametrize("command", readme_recipes(), ids=lambda c: c.split("log_shapes/")[1][:40])
def test_the_readmes_recipes_give_the_documented_answers(command, capsys, monkeypatch):
    import shlex
    from solution.tools import dashboard
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    argv = shlex.split(command)[2:]
    tool = dashboard if "dashboard.py" in command else lab
    status = tool.main(argv)
    out, err = capsys.readouterr()
    assert status == 0, err
    assert err == "" or "1 missing fields (body) (first at line 1)" in err   # Google's own line
    if tool is dashboard:               # the minute of the burst: 29 requests, every one a 503
        assert "29 requests, 1 window" in out and "100.0 %" in out
    elif argv[0] == "story":
        assert "3 records, 2 spans, FAILED" in out
    else:                               # 29 of each event, 58 errors: the lines add up
        counts = [int(line.split()[-1]) for line in out.splitlines()[2:]]
        assert sum(counts) in (87, 58) and set(counts) <= {29, 58}, out


def test_a_named_format_reads_a_record_its_fields_alone_would_not_name(tmp_path, capsys):
    # Google's fields without a severity, Docker's without its stream: --format says what they are
    path = tmp_path / "g.jsonl"
    path.write_text(json.dumps({"message": "hello", "time": "2026-11-02T09:00:03Z",
                                "httpRequest": {"status": 503, "latency": "1.289s"}}) + "\n")
    status, out, _ = cli(capsys, "query", str(path), "--format", "gcp", "--json")
    record = json.loads(out)
    assert status == 0 and record["body"] == "hello"
    assert record["attributes"] == {"http.response.status_code": 503, "latency_ms": 1289.0}
    status, _, err = cli(capsys, "query", str(path))
    assert status == 2 and "1 missing fields (body, timestamp) (first at line 1; try --map " \
        "body=message --map timestamp=time)" in err
    path.write_text(json.dumps({"log": "plain text\n", "time": "2026-11-02T09:00:03.123456789Z"}) + "\n")
    status, out, _ = cli(capsys, "query", str(path), "--format", "docker", "--json")
    assert status == 0 and json.loads(out)["body"] == "plain text"
    assert json.loads(out)["timestamp"] == "2026-11-02T09:00:03.123457Z"


def test_story_names_why_a_traces_lines_were_refused(tmp_path, capsys):
    # before: "trace ... is not in the file" when its lines had a time without a zone
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    path = tmp_path / "asctime.jsonl"
    path.write_text("\n".join(json.dumps({"asctime": f"2026-11-02 09:00:0{k},000", "message": "step",
                                          "trace_id": trace, "span_id": "00f067aa0ba902b7"})
                              for k in range(2)) + "\n" + json.dumps({
        "asctime": "2026-11-02T09:00:04Z", "message": "other", "trace_id": "ab" * 16}) + "\n")
    maps = ["--map", "timestamp=asctime", "--map", "body=message"]
    status, _, err = cli(capsys, "story", str(path), trace, *maps)
    assert status == 2 and "no usable line of it" in err and "2 time without a zone (first at line 1" in err
    status, out, _ = cli(capsys, "story", str(path), trace, *maps, "--tz", "UTC")
    assert status == 0 and f"trace {trace}: 2 records" in out


def test_two_reads_with_different_settings_in_one_process_do_not_see_each_others():
    """A command's --map, --tz and --max-line travel as one Reading, a parameter: two reads in
    one process, interleaved or in two threads, each read by its own settings alone."""
    import threading
    from datetime import timezone
    from solution.tools.logread import JsonLines, Reading, parse_field_map, parse_zone, usable
    # a foreign log: the body under "event", the time written without a zone
    lines = [json.dumps({"time": f"2026-11-02 09:00:0{i}", "event": f"e{i}"}).encode() + b"\n"
             for i in range(6)]
    fields = parse_field_map(["body=event", "timestamp=time"])
    paris = Reading(fields=fields, zone=parse_zone("+01:00"))     # an hour ahead of UTC
    utc = Reading(fields=fields, zone=timezone.utc)
    # by hand: 09:00:0i read at +01:00 is 08:00:0i UTC; read as UTC, 09:00:0i
    expected = {paris: [f"2026-11-02T08:00:0{i}.000000Z" for i in range(6)],
                utc: [f"2026-11-02T09:00:0{i}.000000Z" for i in range(6)], Reading(): []}

    def read(reading):
        bad = JsonLines()
        return [r["timestamp"] for _, r in usable(lines, ("timestamp", "body"), bad,
                                                  reading=reading)], bad

    # interleaved in one thread: a record from each reader in turn
    readers = {reading: usable(lines, ("timestamp", "body"), JsonLines(), reading=reading)
               for reading in (paris, utc)}
    got = {reading: [] for reading in readers}
    for _ in lines:
        for reading, records in readers.items():
            got[reading].append(next(records)[1]["timestamp"])
    assert got == {paris: expected[paris], utc: expected[utc]}
    # without the map, every line lacks its fields, whatever the others read meanwhile
    plain, bad = read(Reading())
    assert plain == [] and bad.reasons == {"missing fields (body, timestamp)": 6}
    # in three threads at once, started together, many times over
    start, seen = threading.Barrier(3), {}

    def worker(reading):
        start.wait()
        seen[reading] = [read(reading)[0] for _ in range(200)]
    threads = [threading.Thread(target=worker, args=(reading,)) for reading in expected]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert {reading: set(map(tuple, runs)) for reading, runs in seen.items()} == \
        {reading: {tuple(timestamps)} for reading, timestamps in expected.items()}
    # a whole query, with and without the map, side by side in one process
    ask = (["body=e3"], ["body"], [], 20, "the log")
    mapped = lab.stream_query(io.BytesIO(b"".join(lines)), *ask, reading=utc)
    unmapped = lab.stream_query(io.BytesIO(b"".join(lines)), ["body=e3"], ["body"], [])
    assert mapped[1] == [("e3", 1)] and mapped[3].bad == 0
    assert unmapped[1] == [] and unmapped[3].reasons == {"missing fields (body, timestamp)": 1}
