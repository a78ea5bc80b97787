"""The fast path of query (solution/tools/scan.py) against the full parse: the same answers, the
same bad lines by reason and number, on lines written to trip a byte-level reader."""

import json
import sys

import pytest

from solution.tools import logread, scan
from solution.tools import logs as lab

TRACE, SPAN = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"


def line(body="request.completed", attributes='{"tenant": "acme", "latency_ms": 120.5}', **top) -> bytes:
    """A line in lab 1's shape, its attributes given as raw JSON text."""
    fields = {"timestamp": '"2026-11-02T09:00:01.000Z"', "severity_text": '"INFO"', "severity_number": "9",
              "body": json.dumps(body), "trace_id": f'"{TRACE}"', "span_id": f'"{SPAN}"',
              "parent_span_id": "null", **top}
    inner = ", ".join(f'"{k}": {v}' for k, v in fields.items())
    return ("{" + inner + f', "attributes": {attributes}}}\n').encode()


TRICKY = [
    line(),
    line("a \"quoted\" word"),                                               # escaped quotes
    line(attributes='{"prompt": "the \\"tenant\\": \\"evil\\"", "tenant": "globex"}'),  # key in a value
    line(attributes='{"prompt": "tenant: evil", "topic": "tenant"}'),       # the key's text as a value
    line(attributes='{"tenant": "first", "latency_ms": 1, "tenant": "last"}'),   # given twice
    line(attributes='{"tenant": "acme", "extra": {"tenant": "nested"}}'),  # nested objects
    line(attributes='{"tenant": {"name": "acme"}, "latency_ms": [1, 2]}'),
    line(attributes='{"tenant": "\\u0061cme", "t\\u0065nant": "escaped key"}'),  # unicode escapes
    line("\\u00e9v\\u00e9nement"),
    line(attributes='{"tenant": "ünïcode", "latency_ms": -0}'),
    line(attributes='{"tenant": null, "latency_ms": 1E5}'),
    line(attributes='{"tenant": true, "latency_ms": 0.5e-3}'),
    line(attributes='{"tenant": 7, "latency_ms": 999999999999999999}'),
    line(attributes='{"tenant": "big", "latency_ms": 1000000000000000000}'),
    line(attributes='{"tenant": "bigger", "latency_ms": 9223372036854775808}'),   # too large
    line(attributes='{"tenant": "inf", "latency_ms": 1e999}'),
    line(attributes='{"tenant": "nan", "latency_ms": NaN}'),
    line(attributes='{}'),
    line(attributes='{"tenant": "x",}'),                                     # not JSON
    line(severity_number="true"),
    line(trace_id="5"),                                                      # ids not text
    line(trace_id=f'"0x{TRACE.upper()}"'),                                    # the OTel SDK's
    line(extra='"a key of its own"'), line(body="x", severity_text='"WARN"', severity_number="13"),
    b'{"timestamp": "2026-11-02T09:00:02Z", "body": "missing", "trace_id": "' + TRACE.encode() + b'"}\n',
    line()[:-20] + b"\n",                                                     # truncated
    b"[1, 2]\n", b"Traceback (most recent call last):\n", b"\xff\xfe not utf-8\n",
    b'{"body": "nul\x00byte"}\n', b"\n", b"   \n", b"\t\n",
    line().replace(b"\n", b"\r\n"),                                          # CRLF
    line().replace(b", ", b",\t"),                                           # other whitespace
    line().replace(b", ", b","),                                             # compact separators
    b'{"resourceLogs": []}\n',
    b'{"body": "' + b"long " * (logread.MAX_LINE_BYTES // 5) + b'", "timestamp": 1}\n',   # too long
    line(attributes='{"tenant": "' + "y" * logread.MAX_LINE_BYTES + '"}'),
    line(body="request.completed", attributes='{"tenant": "acme", "latency_ms": 120.5}'),
]


@pytest.fixture
def tricky(tmp_path):
    usual = [line(attributes=f'{{"tenant": "t{i % 3}", "latency_ms": {i}.5}}') for i in range(300)]
    path = tmp_path / "tricky.jsonl"
    path.write_bytes(logread.BOM.encode() + b"".join(usual[:100] + TRICKY + usual[100:] + TRICKY)
                     + b'{"no newline": 1}')
    return path


def answer(path, where, count_by, sums):
    with path.open("rb") as stream:
        header, rows, matching, bad = lab.stream_query(stream, where, count_by, sums, 20)
    return header, rows, matching, (bad.bad, bad.reasons, bad.bad_lines, bad.lines)


@pytest.mark.parametrize("where,count_by,sums", [
    ([], ["body"], []),
    ([], ["tenant"], ["latency_ms"]),
    (["body=request.completed"], ["tenant", "severity_number"], ["attributes.latency_ms"]),
    ([], ["trace_id", "parent_span_id", "severity_text"], []),
    (["tenant=acme"], [], ["latency_ms"]),
    ([], ["timestamp", "span_id"], ["severity_number"]),
])
def test_the_fast_path_answers_and_counts_as_the_full_parse(tricky, monkeypatch, where, count_by, sums):
    fast = answer(tricky, where, count_by, sums)
    parsed = []
    real = logread.records_in

    def counted(raw, *rest):
        parsed.append(raw)
        return real(raw, *rest)
    monkeypatch.setattr(logread, "records_in", counted)
    fast_again = answer(tricky, where, count_by, sums)
    fast_parsed = len(parsed)
    monkeypatch.setattr(scan, "supported", lambda keys: False)      # the whole parse, line by line
    full = answer(tricky, where, count_by, sums)
    assert fast == fast_again
    approx = [tuple(pytest.approx(v) if isinstance(v, float) else v for v in row) for row in full[1]]
    assert (fast[0], fast[1], fast[2]) == (full[0], approx, full[2])
    assert fast[3] == full[3]
    if not where:                                                  # (--where: only lines naming it)
        assert full[3][0] >= 2 * 12 and len(full[3][2]) == 5      # bad lines, the first five listed
        # only unusual lines parsed whole: not the 300 usual ones (nor the tricky ones of the shape)
        assert 0 < fast_parsed < 2 * len(TRICKY) - 10 and len(parsed) - fast_parsed > 300


def test_a_log_of_another_shape_is_read_line_by_line_with_the_same_answer(tmp_path, monkeypatch):
    path = tmp_path / "compact.jsonl"
    path.write_bytes(b"".join(line(attributes=f'{{"tenant": "t{i % 4}"}}').replace(b", ", b",")
                              for i in range(500)))
    fast = answer(path, [], ["tenant"], [])
    monkeypatch.setattr(scan, "supported", lambda keys: False)
    assert fast == answer(path, [], ["tenant"], []) and dict(fast[1]) == {f"t{i}": 125 for i in range(4)}


def test_a_shape_line_is_read_by_the_pattern_alone(tmp_path, monkeypatch):
    path = tmp_path / "plain.jsonl"
    path.write_bytes(b"".join(line(attributes=f'{{"tenant": "t{i % 2}", "n": {i}}}') for i in range(1000)))
    monkeypatch.setattr(logread, "records_in", lambda raw, *rest: pytest.fail("parsed"))
    header, rows, matching, bad = answer(path, ["body=request.completed"], ["tenant"], ["n"])
    assert rows == [("t0", 500, sum(range(0, 1000, 2))), ("t1", 500, sum(range(1, 1000, 2)))]
    assert (matching, bad) == (1000, (0, {}, [], 1000))


# Lines in lab 1's shape whose fields the full parse converts or refuses: the pattern must leave
# every one of them to it (each was answered wrongly by an earlier fast path).
CONVERTED = [
    line(timestamp='"garbage"'), line(timestamp='""'), line(timestamp="null"),
    line(timestamp="1700000000"),                                        # epoch seconds
    line(timestamp='"2026-11-02T10:00:01+01:00"'),                       # a zone of its own
    line(timestamp='"2026-11-02T10:00:01"'),                             # no zone at all
    line(timestamp='"2026-11-02T09:00:01.0000001Z"'),                    # seven decimals
    line(body=""), line(body=None), line(body=5),
    line(trace_id='"' + "0" * 32 + '"'), line(trace_id=f'"{TRACE.upper()}"'),
    line(trace_id='"W/kvNXezTaajzpKdDg5HNg=="'), line(trace_id='""'), line(trace_id="null"),
    line(span_id="null"), line(parent_span_id='"' + "0" * 16 + '"'), line(parent_span_id=f'"{SPAN}"'),
    line(severity_number="null", severity_text='"ERROR"'), line(severity_text="null"),
    line(attributes='{"tenant": "tab\tinside"}'),                        # a raw control byte
    line(attributes='{"tenant": "bell\x07"}'), line(body="cr\rinside"),
    line(attributes='{"tenant": "caf\u00e9", "latency_ms": 2}'),         # UTF-8, read as it is
    line(attributes='{"tenant": "bad \xff byte"}').replace("bad \u00ff".encode(), b"bad \xff"),
    line(attributes='{"tenant": "t0", "body": "an attribute named body"}'),
    line(attributes='{"tenant": "t1", "resource.service.name": "not a resource"}'),
    line(attributes='{"tenant": "t2", "latency_ms": "12"}'),             # text, summed
    line(attributes='{"tenant": "t2", "latency_ms": 1.0}'), line(attributes='{"tenant": "t2", "latency_ms": 1}'),
    line(attributes='{"tenant": "t2", "latency_ms": 1e2}'), line(attributes='{"tenant": "t2", "latency_ms": true}'),
    line(attributes='{"tenant": "big", "latency_ms": 1234567890123456789}'),    # 19 digits
    line(attributes='{"tenant": "big", "latency_ms": 1e100}'),           # 3-digit exponent
    line(attributes='{"tenant": "t3", "latency_ms": 01}'), line(attributes='{"tenant": "t3", "latency_ms": 1.}'),
    line(attributes='{"tenant": "t3" "latency_ms": 1}'), line(attributes='{"tenant": "t3", }'),
    line(attributes='{"tenant": "t3", "latency_ms": tru}'),
    line(attributes='{"tenant": "acme", "tenant": null}'),               # given twice: the last
    line(body="unterminated")[:60] + b"\n",                              # a string left open...
    b'then", "closed": 1}\n',                                             # ...closed on the next line
    b"   \n", b"\t\n", b"\n",
]

QUESTIONS = [
    ([], ["timestamp"], []), ([], ["trace_id", "span_id", "parent_span_id"], []),
    ([], ["severity_number", "severity_text"], []), ([], ["body", "attributes.body"], []),
    ([], ["resource.service.name", "tenant"], ["latency_ms"]), ([], ["tenant"], ["latency_ms"]),
    (["body=request.completed"], ["tenant", "attributes.tenant"], ["latency_ms"]),
    (["tenant=t2"], ["body"], ["latency_ms"]), (["latency_ms>1"], ["tenant"], []),
]


def partial(path, where, count_by, sums):
    """Question.partial's whole answer over a file, as a worker returns it."""
    question = lab.Question(where, count_by, sums, 20)
    with path.open("rb") as stream:
        part = question.partial(stream)
    bad = part["bad"]
    rows = sorted(part["part"], key=repr)
    return (rows, part["matching"], part["seen"], part["passed"],
            (bad.bad, bad.reasons, bad.bad_lines, bad.first, bad.lines))


def slow_and_fast(path, monkeypatch, question):
    fast = partial(path, *question)
    with monkeypatch.context() as patched:
        patched.setattr(scan, "supported", lambda keys: False)     # the whole parse, line by line
        full = partial(path, *question)
    return fast, full


@pytest.mark.parametrize("question", QUESTIONS)
def test_lines_the_full_parse_converts_or_refuses_are_left_to_it(tmp_path, monkeypatch, question):
    usual = [line(attributes=f'{{"tenant": "t{i % 3}", "latency_ms": {i}}}') for i in range(60)]
    path = tmp_path / "converted.jsonl"
    path.write_bytes(b"".join(usual[:30] + CONVERTED + usual[30:]).replace(b"\n", b"\r\n", 7))
    fast, full = slow_and_fast(path, monkeypatch, question)
    assert fast[1:] == full[1:]
    assert fast[0] == [tuple(pytest.approx(v) if isinstance(v, float) else v for v in row)
                       for row in full[0]]


def test_the_answers_worked_by_hand(tmp_path):
    """Independent of the full parse: a log written here, its answer counted by hand."""
    path = tmp_path / "hand.jsonl"
    path.write_bytes(logread.BOM.encode() + b"".join([
        line(attributes='{"tenant": "acme", "latency_ms": 10}'),             # 1
        line(attributes='{"tenant": "acme", "latency_ms": 2.5}'),            # 2
        b"\n",                                                               # 3 blank
        line(attributes='{"tenant": "globex", "latency_ms": 7, "tenant": "initech"}'),   # 4
        line(timestamp='"2026-11-02T09:00:01"'),                             # 5 no zone: bad
        line(body=""),                                                       # 6 no body: bad
        line("gateway.received", attributes='{"tenant": "acme"}'),          # 7
        line(attributes='{"tenant": "acme", "latency_ms": 1}').replace(b"\n", b"\r\n"),   # 8
        b"not json\n",                                                       # 9 bad
    ]))
    header, rows, matching, bad = answer(path, [], ["tenant"], ["latency_ms"])
    assert rows == [("acme", 4, 13.5), ("initech", 1, 7)] and isinstance(rows[1][2], int)
    assert (matching, bad[0], bad[2], bad[3]) == (5, 3, [5, 6, 9], 9)
    assert bad[1] == {"time without a zone": 1, "missing fields (body)": 1, "not JSON": 1}
    header, rows, matching, bad = answer(path, ["body=request.completed"], ["body"], [])
    assert rows == [("request.completed", 4)] and bad[2] == [5]      # 6, 9: no needle, not read


def test_many_unusual_lines_in_a_block_keep_their_numbers(tmp_path, monkeypatch):
    """More than a few lines of other shapes in one block (found by one pass, not a search each),
    and lines that hold a backslash or control byte (set aside before the pattern)."""
    lines = []
    for i in range(300):
        lines.append(line(attributes=f'{{"tenant": "t{i % 5}", "latency_ms": {i}}}'))
        if i % 3 == 0:
            lines.append(b"plain text %d\n" % i if i % 2 else line(f"esc\\\"aped {i % 4}"))
        if i % 7 == 0:
            lines.append(line(attributes='{"tenant": "t9", "latency_ms": 1}').replace(b", ", b",", 1))
    path = tmp_path / "many.jsonl"
    path.write_bytes(b"".join(lines))
    for question in ([], ["body"], []), (["tenant=t9"], ["tenant"], ["latency_ms"]), ([], ["tenant"], []):
        fast, full = slow_and_fast(path, monkeypatch, question)
        assert fast == full
    assert fast[4][0] == 50 and fast[4][1] == {"not JSON": 50}           # the plain text lines


def test_where_counts_the_lines_passed_over_as_the_full_parse(tmp_path, monkeypatch):
    path = tmp_path / "where.jsonl"
    path.write_bytes(b"".join([line(), b"  \n", line("other.event"), b"\n", b"\t \n",
                               line("other.event")[:-3] + b"\n", line(), b"x request.completed y\n"]))
    for question in (["body=request.completed"], ["body"], []), (["body=other.event"], [], ["severity_number"]):
        fast, full = slow_and_fast(path, monkeypatch, question)
        assert fast == full
    assert partial(path, ["body=request.completed"], ["body"], [])[3] == 2      # passed: 2 lines


def test_a_split_read_forks_only_without_other_threads(tmp_path, monkeypatch):
    """Workers are forked (cheap) from a process with one thread, never from one with more: a
    forked copy could inherit a lock another thread holds."""
    path = tmp_path / "split.jsonl"
    path.write_bytes(b"".join(line(attributes=f'{{"tenant": "t{i % 2}"}}') for i in range(200)))
    methods, real = [], logread.multiprocessing.get_context

    def recorded(method=None):
        methods.append(method)
        return real(method)
    monkeypatch.setattr(logread.multiprocessing, "get_context", recorded)
    one = lab.parallel_query(str(path), [], ["tenant"], [], 20, "split", workers=2)
    assert one[1] == [("t0", 100), ("t1", 100)]
    stop = logread.threading.Event()
    thread = logread.threading.Thread(target=stop.wait)
    thread.start()
    try:
        two = lab.parallel_query(str(path), [], ["tenant"], [], 20, "split", workers=2)
    finally:
        stop.set()
        thread.join()
    assert two[1] == one[1]
    expected = "fork" if sys.platform.startswith("linux") else methods[0]
    assert methods[0] == expected and methods[1] != "fork"


@pytest.mark.parametrize("top,named", [(["body"], []), (["timestamp", "trace_id"], ["tenant"]),
                                       ([], ["latency_ms", "tenant"]), ([], [])])
def test_the_patterns_without_possessive_quantifiers_match_as_with_them(monkeypatch, top, named):
    # Python 3.10 has no possessive quantifiers nor atomic groups: there the same patterns are
    # compiled without them, and must capture the same values from the same lines
    block = b"".join(TRICKY[:-4] + CONVERTED + [line()] * 3)
    possessive = scan.shape_pattern(top, named)
    monkeypatch.setattr(scan, "_POSSESSIVE", False)
    plain = scan.shape_pattern(top, named)
    assert b"(?>" not in plain.pattern and b"*+" not in plain.pattern and b"}+" not in plain.pattern
    if sys.version_info >= (3, 11):
        assert b"*+" in possessive.pattern
        assert possessive.findall(block) == plain.findall(block)
