"""Hostile lines for every log reader (query, story, the dashboard's --from): whatever a line holds,
no reader raises; a bad line is counted with its reason; the answers about the good lines do not
change. The lines are the ones a security review threw at the readers, and a few more."""

from collections import Counter

import pytest

from solution import lab1_logs as lesson
from solution.tools import dashboard, logs

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
HOSTILE = [
    b'{"timestamp": 1793610003, "body": "request.completed", "trace_id": "%s"}' % TRACE.encode(),
    b'[' * 100_000 + b']' * 100_000,                                     # nesting past recursion
    b'{"body": "' + b'\\ud800' + b'", "trace_id": "%s"}' % TRACE.encode(),  # a lone surrogate
    b'{"timestamp": "2026-11-02T11:00:01Z", "severity_number": 9, "body": "x", '
    b'"trace_id": "%s", "span_id": ["a", "list"]}' % TRACE.encode(),
    b'{"timestamp": "2026-11-02T11:00:01Z", "severity_number": "nine", "body": {"an": "object"}, '
    b'"trace_id": "%s", "span_id": 7}' % TRACE.encode(),
    b'{"timestamp": "not a time", "severity_number": 9, "body": "request.completed", '
    b'"trace_id": "%s", "span_id": "00f067aa0ba902b7", "attributes": {"latency_ms": 1e999}}' % TRACE.encode(),
    b'{"timestamp": "2026-11-02T11:00:01", "severity_number": 9, "body": "request.completed", '
    b'"trace_id": "x", "span_id": "y", "attributes": {"latency_ms": NaN, "http.response.status_code": true}}',
    b'{"body": "a", "body": "b"}',                                      # a duplicate key
    b'{"timestamp": "2026-11-02T11:00:01Z", "severity_number": 100000000000000000000000, '
    b'"body": "request.completed", "trace_id": "%s", "span_id": "00f067aa0ba902b7"}' % TRACE.encode(),
    b'\x00\x01\x02 binary',
    b'\xff\xfe not UTF-8',
    b'{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"traceId": 5}]}]}]}',   # OTLP, wrong types
    b'{"resourceLogs": "not a list"}',
    b'"just a string"',
    b'12345',
    b'{"timestamp": "2026-11-02T11:00:01Z", "severity_number": 9, "body": "request.completed", '
    b'"trace_id": "%s", "span_id": "00f067aa0ba902b7", "attributes": "not a dict"}' % TRACE.encode(),
]


@pytest.fixture(scope="module")
def logs_(default_results, tmp_path_factory):
    burst = default_results[1]
    folder = tmp_path_factory.mktemp("fuzz")
    clean, salted, alone = folder / "clean.jsonl", folder / "salted.jsonl", folder / "alone.jsonl"
    clean.write_text(burst.log, encoding="utf-8")
    good = clean.read_bytes().splitlines(keepends=True)
    mixed, hostile = [], []
    for i, line in enumerate(good):                  # a hostile line after every 300 good ones
        mixed.append(line)
        if i % 300 == 0:
            hostile.append(HOSTILE[(i // 300) % len(HOSTILE)] + b"\n")
            mixed.append(hostile[-1])
    hostile += [line + b"\n" for line in HOSTILE]
    mixed += [line + b"\n" for line in HOSTILE]
    salted.write_bytes(b"".join(mixed))
    alone.write_bytes(b"".join(hostile))             # the same hostile lines, and nothing else
    return burst, clean, salted, alone


def counts(path) -> tuple[Counter, object]:
    # (a condition that is no equality on text: every line is read, none passed over unread)
    with open(path, "rb") as stream:
        _, rows, _, bad = logs.stream_query(stream, ["severity_number>0"], ["body", "error.type"])
    return Counter({(body, error): n for body, error, n in rows}), bad


def test_query_reads_every_hostile_line_or_counts_it_and_the_good_answers_stand(logs_):
    # the salted log's answer is the clean log's plus what the hostile lines say on their own:
    # a hostile line is either a record like any other, or a bad line counted by its reason
    burst, clean, salted, alone = logs_
    (plain, _), (mixed, bad), (extra, _) = counts(clean), counts(salted), counts(alone)
    assert mixed == plain + extra and plain[("request.completed", None)] == burst.requests - burst.failed
    assert bad.bad > 0 and sum(bad.reasons.values()) == bad.bad
    assert {"not JSON", "not UTF-8", "not an object", "ids not text", "number too large"} <= set(bad.reasons)


def test_story_reads_every_hostile_line_or_counts_it_and_the_trace_stands(logs_):
    burst, clean, salted, _ = logs_
    records, _ = logs.read_trace(str(clean), burst.example)
    salted_records, bad = logs.read_trace(str(salted), burst.example)
    assert [r["span_id"] for r in salted_records] == [r["span_id"] for r in records]
    # a trace the hostile lines name: read or counted, never a crash, and drawn if it has spans
    hostile_records, hostile_bad = logs.read_trace(str(salted), TRACE)
    lesson.waterfall([r for r in hostile_records if isinstance(r.get("span_id"), str)])
    assert hostile_bad.bad + len(hostile_records) > 0


def test_the_dashboard_reads_every_hostile_line_or_counts_it_and_the_requests_stand(logs_):
    burst, clean, salted, _ = logs_
    plain, hostile = dashboard.read_log(str(clean)), dashboard.read_log(str(salted))
    assert hostile.clock_zero == plain.clock_zero and hostile.bad > 0
    # every good request still there, in its window, and at most one more a hostile line
    kept, every = plain.tally.requests(), dict(hostile.tally.requests())
    assert all(every[k].count >= slot.count for k, slot in kept)
    assert 0 <= len(hostile.tally) - len(plain.tally) <= len(HOSTILE)


@pytest.mark.parametrize("line", HOSTILE, ids=range(len(HOSTILE)))
def test_every_reader_takes_each_hostile_line_alone_without_raising(line, tmp_path, capsys):
    path = tmp_path / "one.jsonl"
    path.write_bytes(line + b"\n")
    for argv in (["query", str(path), "--count-by", "body"], ["story", str(path), TRACE]):
        status = logs.main(argv)
        assert status in (0, 1, 2), argv
        err = capsys.readouterr().err
        assert "Traceback" not in err
    assert dashboard.main(["--from", str(path)]) in (0, 2)
    assert "Traceback" not in capsys.readouterr().err


def test_a_key_given_twice_has_its_last_value_in_every_reader(tmp_path):
    """One rule for duplicate keys (RFC 8259 leaves it open): the last value, as Python's json,
    JavaScript's JSON.parse and jq read it; SQLite's json_extract alone would take the first."""
    line = ('{"timestamp": "2026-11-02T11:00:01Z", "severity_number": 9, "severity_text": "INFO", '
            '"body": "decoy", "body": "request.completed", "trace_id": "%s", "trace_id": "%s", '
            '"span_id": "00f067aa0ba902b7", "attributes": {"tenant": "first", "tenant": "last", '
            '"latency_ms": 9000, "latency_ms": 250, "http.response.status_code": 200}}\n')
    path = tmp_path / "twice.jsonl"
    path.write_text(line % ("0" * 32, TRACE), encoding="utf-8")
    assert ask_sql(path, "SELECT body, trace_id, json_extract(line, '$.body'), "
                         "json_extract(line, '$.attributes.tenant') FROM log") == \
        [("request.completed", TRACE, "request.completed", "last")]
    assert counts(path)[0] == Counter({("request.completed", None): 1})
    with open(path, "rb") as stream:
        assert dict(logs.stream_query(stream, ["tenant=last"], ["body"])[1]) == {"request.completed": 1}
    assert [r["attributes"]["tenant"] for r in logs.read_trace(str(path), TRACE)[0]] == ["last"]
    assert logs.read_trace(str(path), "0" * 32)[0] == []
    [(_, slot)] = dashboard.read_log(str(path)).tally.requests()
    assert list(slot.ok.exact) == [250]


def ask_sql(path, sql):
    db, _ = logs.open_log(str(path))
    return logs.run_sql(db, sql)[1]
