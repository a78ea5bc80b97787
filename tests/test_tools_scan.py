"""The fast path of query (solution/tools/scan.py) against the full parse: the same answers, the
same bad lines by reason and number, on lines written to trip a byte-level reader."""

import json

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
