"""The index of `query --sql` (solution/tools/logs.py) built by its fast path (scan.index_rows):
the same table as the full parse builds, value for value, on lines written to trip it, with the
values a reader expects worked out by hand."""

import json

import pytest

from solution.tools import logread, scan
from solution.tools import logs as lab

TRACE, SPAN = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"


def line(attributes='{"tenant": "acme", "latency_ms": 120.5}', body='"request.completed"',
         **top) -> bytes:
    """A line in lab 1's shape, its attributes and other values given as raw JSON text."""
    fields = {"timestamp": '"2026-11-02T09:00:01.000Z"', "severity_text": '"INFO"',
              "severity_number": "9", "body": body, "trace_id": f'"{TRACE}"',
              "span_id": f'"{SPAN}"',
              "parent_span_id": "null", **top}
    inner = ", ".join(f'"{k}": {v}' for k, v in fields.items())
    return ("{" + inner + f', "attributes": {attributes}}}\n').encode()


# (line, read by the pattern alone?, the attributes column as Python's json.dumps writes the
# record's attributes, with its default separators, worked out by hand; None: the line is bad);
# the n-th case is line USUAL + n of the log
CASES = [
    (line(), True, '{"tenant": "acme", "latency_ms": 120.5}'),
    (line('{"tenant": "first", "latency_ms": 1, "tenant": "last"}'), False,  # given twice: the
     '{"tenant": "last", "latency_ms": 1}'),                               # last value, first place
    (line('{"tenant": "x", "tenant": "x"}'), False, '{"tenant": "x"}'),
    (line('{"a": 1.50, "b": 1E5, "c": -0, "d": 0.00001, "e": 2.50}'), False,   # written otherwise
     '{"a": 1.5, "b": 100000.0, "c": 0, "d": 1e-05, "e": 2.5}'),
    (line('{"a": 0.0001, "b": 10.0, "c": -7, "d": 999999999999999999, "e": 12345678901234.5}'),
     True, '{"a": 0.0001, "b": 10.0, "c": -7, "d": 999999999999999999,'
     ' "e": 12345678901234.5}'),
    (line('{"tenant": "\\u0061cme", "quote": "say \\"hi\\""}'), False,        # escapes
     '{"tenant": "acme", "quote": "say \\"hi\\""}'),
    (line('{"tenant": "ünïcode", "face": "🙂", "del": "\x7f", "sep": "\u2028"}'), True,
     '{"tenant": "ünïcode", "face": "🙂", "del": "\x7f", "sep": "\u2028"}'),
    (line('{"tenant": "acme", "extra": {"k": [1, 2]}}'), False,
     '{"tenant": "acme", "extra": {"k": [1, 2]}}'),
    (line('{"a": ": x", ": k": "y, ", "b, ": true, "c": false, "d": null}'), True,   # separators
     '{"a": ": x", ": k": "y, ", "b, ": true, "c": false, "d": null}'),             # in strings
    (line("{}"), True, "{}"),
    (line('{"tenant": "big", "n": 9223372036854775808}'), False, None),      # beyond 64 bits
    (line('{"tenant": "nul\x00"}'), False, None),                            # not JSON
    (line('{"tenant": "x",}'), False, None),
    (line(body='""'), False, None),                                           # no body
    (line(trace_id=f'"{TRACE.upper()}"'), False, '{"tenant": "acme", "latency_ms": 120.5}'),
    (line(parent_span_id='"0000000000000000"'), False, '{"tenant": "acme", "latency_ms": 120.5}'),
    (line(severity_number="null", severity_text='"ERROR"'), False,
     '{"tenant": "acme", "latency_ms": 120.5}'),
    (line(severity_number="true"), False, '{"tenant": "acme", "latency_ms": 120.5}'),
    (line(timestamp='"2026-11-02T10:00:01+01:00"'), False,
     '{"tenant": "acme", "latency_ms": 120.5}'),
    (line(body="17"), True, '{"tenant": "acme", "latency_ms": 120.5}'),
    (line().replace(b"\n", b"\r\n"), True, '{"tenant": "acme", "latency_ms": 120.5}'),
    (b"\n", True, None),                                                    # blank: not bad either
]


USUAL = 150     # plain lines first (a log mostly of another shape is read line by line at once),
#                 more than logs.ROWS_AT_ONCE


@pytest.fixture
def tricky(tmp_path):
    path = tmp_path / "tricky.jsonl"
    usual = [line(f'{{"tenant": "t{i % 3}", "latency_ms": {i}.5}}') for i in range(USUAL)]
    path.write_bytes(logread.BOM.encode() + b"".join(usual) + b"".join(case for case, _, _ in CASES)
                     + line()[:-1])
    return path


LAST = USUAL + len(CASES) + 1   # (its line number: it has no newline)


@pytest.mark.parametrize("block", [scan.BLOCK_BYTES, 4096])
def test_the_fast_path_reads_the_plain_lines_alone_and_hands_the_others_to_the_full_parse(
        tricky, monkeypatch, block):
    monkeypatch.setattr(scan, "BLOCK_BYTES", block)
    whole, bad = [], logread.JsonLines()
    with tricky.open("rb") as stream:
        batches = list(scan.index_rows(stream, bad, lambda n, record: whole.append(n) or (n,)))
    fast = [row[0] for is_fast, rows in batches if is_fast for row in rows]
    by_pattern = [n for n, (case, alone, _) in enumerate(CASES, USUAL + 1)
                  if alone and case.strip()]
    assert fast == [*range(1, USUAL + 1), *by_pattern, LAST]
    assert sorted(whole + fast) == sorted(set(whole + fast))  # each line once
    bad_lines = [n for n, (case, _, attributes) in enumerate(CASES, USUAL + 1)
                 if attributes is None and case.strip()]
    assert bad.bad_lines == bad_lines and bad.lines == LAST
    assert bad.reasons == {"number too large": 1, "not JSON": 2, "missing fields (body)": 1}


@pytest.mark.parametrize("block", [scan.BLOCK_BYTES, 4096])
def test_the_index_holds_what_the_full_parse_holds_value_for_value(tricky, tmp_path, monkeypatch,
                                                                    block):
    # in blocks of 4 KB the tricky lines come after the first block, when the key orders of the
    # plain lines are known and one pattern checks a line whole (scan._Orders)
    monkeypatch.setattr(scan, "BLOCK_BYTES", block)
    everything = "SELECT n, timestamp, severity_text, severity_number, body, trace_id, span_id, " \
                 "parent_span_id, attributes, raw, line FROM log ORDER BY rowid"
    index, bad, _ = lab.open_index(str(tricky), str(tmp_path / "one.sqlite"))
    rows = index.execute(everything).fetchall()
    with tricky.open("rb") as stream:
        memory, memory_bad = lab.load_log(stream)            # every line parsed whole
    assert rows == memory.execute(everything).fetchall()
    assert (bad.bad, bad.reasons, bad.bad_lines) == \
        (memory_bad.bad, memory_bad.reasons, memory_bad.bad_lines)
    # by hand: each good line's attributes as json.dumps writes them, and what SQLite reads there
    expected = {n: attributes for n, (_, _, attributes) in enumerate(CASES, USUAL + 1)
                if attributes}
    got = dict(index.execute("SELECT n, attributes FROM log WHERE n > ? AND n < ?", (USUAL, LAST)))
    assert got == expected
    ask = "SELECT json_extract(attributes, ?) FROM log WHERE n = ?"
    assert index.execute(ask, ("$.tenant", USUAL + 2)).fetchone() == ("last",)
    assert index.execute(ask, ("$.b", USUAL + 4)).fetchone() == (100000.0,)
    assert index.execute(ask, ("$.extra.k[1]", USUAL + 8)).fetchone() == (2,)
    assert index.execute(ask, ("$.tenant", USUAL + 6)).fetchone() == ("acme",)
    top = "SELECT trace_id, parent_span_id, severity_number, body, raw IS NULL FROM log WHERE n = ?"
    assert index.execute(top, (USUAL + 15,)).fetchone() == (TRACE, None, 9, "request.completed", 1)
    assert index.execute(top, (USUAL + 16,)).fetchone()[1:] == (None, 9, "request.completed", 0)
    assert index.execute(top, (USUAL + 17,)).fetchone()[2] == 17                       # ERROR
    assert index.execute(top, (USUAL + 20,)).fetchone()[3:] == (17, 1)                 # a number
    assert json.loads(index.execute("SELECT line FROM log WHERE n = ?", (LAST,)).fetchone()[0]) == \
        json.loads(line())
    # the same, a stretch a process
    monkeypatch.setattr(logread, "SPLIT_BYTES", 1)
    split, split_bad, _ = lab.open_index(str(tricky), str(tmp_path / "split.sqlite"))
    assert split.execute(everything).fetchall() == rows
    assert (split_bad.bad, split_bad.bad_lines) == (bad.bad, bad.bad_lines)


@pytest.mark.parametrize("text,plain", [
    ("1", True), ("-7", True), ("0", True), ("-0", False), ("108.4", True), ("1.50", False),
    ("10.0", True), ("-0.0", True), ("0.0001", True), ("0.00001", False), ("1e5", False),
    ("12345678901234.5", True), ("123456789012345.6", False), ("999999999999999999", True),
    ("1000000000000000000", False), ("0.1234567890123456", False), ("1.", False), ("01", False),
    ("1.05", True), ("2.500", False), ("0.5", True), ("3.00", False), ("-12.25", True),
])
def test_a_number_is_kept_as_written_only_where_python_writes_it_back_the_same(text, plain):
    left = scan._ATTRIBUTE_VALUE.sub('": \x00', f'{{"k": {text}}}')
    assert scan._plain_keys(left) == plain
    if plain:                                           # (and then it is so)
        assert json.dumps(json.loads(text)) == text


def test_the_attribute_check_without_possessive_quantifiers_takes_out_the_same_values(monkeypatch):
    # Python 3.10 has no possessive quantifiers: there the pattern is compiled without them, and
    # must take out the same values (the numbers' last digits checked looking back, not given back)
    attributes = "\n".join([case.decode("utf-8", "replace").partition('"attributes": ')[2][:-2]
                             for case, _, _ in CASES if case.strip()]
                            + ['{"k": 1.05, "j": 2.500, "i": 0.5, "h": -0, "g": 10.0}'])
    possessive = scan._ATTRIBUTE_VALUE
    monkeypatch.setattr(scan, "_POSSESSIVE", False)
    plain = scan._compile(possessive.pattern)
    assert "*+" not in plain.pattern and "?+" not in plain.pattern and "}+" not in plain.pattern
    assert plain.sub('": \x00', attributes) == possessive.sub('": \x00', attributes)
    assert possessive.sub('": \x00', '{"k": 1.05, "j": 2.500}') == '{"k": \x00, "j": 2.500}'


def test_a_log_of_another_shape_is_numbered_by_its_newlines_alone(tmp_path, monkeypatch):
    # read line by line after its first block, a log of another shape keeps its numbering: a
    # line holding a lone carriage return (not JSON) is one bad line, and the next is the next
    monkeypatch.setattr(scan, "BLOCK_BYTES", 4096)
    lines = [json.dumps({"timestamp": f"2026-11-02T09:00:{i % 60:02d}Z", "body": f"b{i}",
                         "pad": "p" * 60}, separators=(",", ":")) for i in range(200)]
    lines[150] = lines[150][:20] + "\r" + lines[150][20:]
    path = tmp_path / "compact.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    index, bad, _ = lab.open_index(str(path), str(tmp_path / "compact.sqlite"))
    numbers = [n for n, in index.execute("SELECT n FROM log ORDER BY rowid")]
    assert numbers == [n for n in range(1, 201) if n != 151]
    assert (bad.bad_lines, bad.lines) == ([151], 200)


def test_a_last_line_one_byte_too_long_after_a_line_read_away_is_too_long_too(tmp_path):
    # --max-line 300: a line of 5,000 bytes is read away in pieces; the last line, 301 bytes and
    # no newline, is one byte too long as well (the full parse skips both, and stores no row)
    last = line().rstrip(b"\n")
    last = last[:-2] + b" " * (301 - len(last)) + last[-2:]
    path = tmp_path / "long.jsonl"
    path.write_bytes(line() + b"x" * 5000 + b"\n" + last)
    reading = logread.Reading(max_line=300)
    index, bad, _ = lab.open_index(str(path), str(tmp_path / "long.sqlite"), reading)
    assert [n for n, in index.execute("SELECT n FROM log")] == [1]
    assert (bad.reasons, bad.lines) == ({"too long": 2}, 3)
    counted = lab.stream_query(path.open("rb"), count_by=["tenant"], reading=reading)
    assert counted[1] == [("acme", 1)] and counted[3].reasons == {"too long": 2}


def _split_at(path, middle: bytes, monkeypatch):
    """A log of ten lines, `middle`, ten more, read in two stretches, the second starting at
    `middle` (line 11)."""
    monkeypatch.setattr(logread, "SPLIT_BYTES", 1)
    monkeypatch.setattr(logread.os, "cpu_count", lambda: 2)
    head = b"".join(line(f'{{"tenant": "t{i}"}}') for i in range(10))
    tail = b"".join(line(f'{{"tenant": "u{i}"}}') for i in range(10))
    pad = b" " * (len(middle) + len(tail) - len(head) + 8)    # the cut falls in head's last line
    path.write_bytes(head[:-1] + pad + b"\n" + middle + tail)
    return path


@pytest.mark.parametrize("middle", [b"a=1 b=2 c=3\n", b"{\n",
                                    b"2026-11-02T09:00:00.1Z stdout F hi\n"])
def test_a_stretch_is_read_in_the_shape_of_the_whole_log(tmp_path, monkeypatch, middle):
    # the second of two stretches starts with a line that looks like logfmt, pretty JSON or CRI:
    # in a log of JSON lines it is one bad line, and every line after it is read as JSON
    path = _split_at(tmp_path / "mixed.jsonl", middle, monkeypatch)
    index, bad, _ = lab.open_index(str(path), str(tmp_path / "mixed.sqlite"))
    assert [n for n, in index.execute("SELECT n FROM log ORDER BY rowid")] == \
        [*range(1, 11), *range(12, 22)]
    assert (bad.bad, bad.bad_lines, bad.lines) == (1, [11], 21)
    header, rows, _, counted_bad = lab.parallel_query(str(path), [], ["tenant"], [], 0, "mixed")
    assert sum(n for _, n in rows) == 20 and counted_bad.bad_lines == [11]


def test_a_byte_order_mark_inside_a_split_log_is_no_byte_order_mark(tmp_path, monkeypatch):
    # only the log's first line may start with one; a line inside it that does is not JSON,
    # also when it is the first line of the second stretch of a split read
    path = _split_at(tmp_path / "bom.jsonl", logread.BOM.encode() + line('{"tenant": "bom"}'),
                     monkeypatch)
    index, bad, _ = lab.open_index(str(path), str(tmp_path / "bom.sqlite"))
    assert [n for n, in index.execute("SELECT n FROM log ORDER BY rowid")] == \
        [*range(1, 11), *range(12, 22)]
    assert (bad.reasons, bad.bad_lines) == ({"not JSON": 1}, [11])
    header, rows, _, counted_bad = lab.parallel_query(str(path), [], ["tenant"], [], 0, "bom")
    assert ("bom", 1) not in rows and counted_bad.bad_lines == [11]


@pytest.mark.parametrize("most", [2, scan._Orders.MOST])
def test_lines_of_many_key_orders_are_read_as_the_full_parse_reads_them(tmp_path, monkeypatch,
                                                                         most):
    # key orders learned block by block, a key given twice among them, and (most=2) more orders
    # than are spelled out: the general pattern again, with the same table
    monkeypatch.setattr(scan, "BLOCK_BYTES", 4096)
    monkeypatch.setattr(scan._Orders, "MOST", most)
    monkeypatch.setattr(scan._Orders, "AGAIN", 3)
    keys = ["tenant", "a", "b", "c", "d"]
    lines = []
    for i in range(400):
        order = keys[:1 + i % 5] if i < 200 else list(reversed(keys[:1 + i % 5]))
        pairs = [f'"{key}": {i % 7}.5' for key in order]
        if i % 50 == 49:
            pairs.append(f'"{order[0]}": "again"')          # given twice: read whole
        lines.append(line("{" + ", ".join(pairs) + "}"))
    path = tmp_path / "orders.jsonl"
    path.write_bytes(b"".join(lines))
    everything = "SELECT n, timestamp, severity_number, body, attributes, raw FROM log " \
                 "ORDER BY rowid"
    index, bad, _ = lab.open_index(str(path), str(tmp_path / "orders.sqlite"))
    with path.open("rb") as stream:
        memory, memory_bad = lab.load_log(stream)
    rows = index.execute(everything).fetchall()
    assert rows == memory.execute(everything).fetchall() and len(rows) == 400
    # line 50 (i = 49): five keys, 49 % 7 = 0, tenant given again last; line 202: two, reversed
    assert rows[49][4] == '{"tenant": "again", "a": 0.5, "b": 0.5, "c": 0.5, "d": 0.5}'
    assert rows[201][4] == '{"a": 5.5, "tenant": 5.5}' and rows[49][5] is None
    assert (bad.bad, bad.lines) == (memory_bad.bad, 400) == (0, 400)


def test_attributes_that_are_no_object_leave_json_extract_working_on_every_row(tmp_path):
    # a line whose attributes are a string or a number: its column is still JSON text ("plain
    # text" with its quotes, 5), so json_extract(attributes, ...) gives NULL there instead of
    # failing the whole query with "malformed JSON"
    path = tmp_path / "odd.jsonl"
    start = '{"timestamp": "2026-11-02T09:00:0%dZ", "body": "b"'
    ends = [', "attributes": "plain text"}', ', "attributes": 5}',
            ', "attributes": {"tenant": "acme"}}', "}"]
    path.write_text("".join(start % k + end + "\n" for k, end in enumerate(ends, 1)),
                    encoding="utf-8")
    index, _, _ = lab.open_index(str(path), str(tmp_path / "odd.sqlite"))
    rows = index.execute("SELECT n, attributes, json_extract(attributes, '$.tenant') FROM log "
                         "ORDER BY n").fetchall()
    assert rows == [(1, '"plain text"', None), (2, "5", None), (3, '{"tenant": "acme"}', "acme"),
                    (4, None, None)]
