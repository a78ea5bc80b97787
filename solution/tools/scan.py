"""The fast path of `query --count-by/--sum/--where`: the values of a few keys out of a block of
lines at once, counted as they are found, and a full parse only for the lines that need one.

Lab 1's writer (and Python's json.dumps with its default separators) writes every line in one
shape: the top-level fields in one order, then `attributes`, one level deep. One regular
expression over a block of thousands of lines (the loop over bytes is the `re` module's, in C,
not Python's) both checks that a line is of that shape and picks out the values the question
asks for. It accepts only a line the full parse would read as it is written:

    timestamp    RFC 3339 in UTC with at most six decimals (the form readers keep unchanged)
    body         a string, not empty
    ids          strings (trace_id, span_id; parent_span_id also null); when a question asks for
                 one, its text goes through logread.hex_id as the full parse's does
    numbers      at most 18 digits before the point and an exponent of at most 2 digits (a
                 double holds every one, and an integer fits in 64 bits: never "too large")
    attributes   an object of strings, numbers, true, false and null

The speed comes from four things. (1) A line that holds no backslash and no control byte has
strings whose quotes are their ends, so a string is `"[^"]*+"`, which `re` skips over in a tight
loop; the few lines that hold one (an escaped quote, a tab) are found with one bytes.translate
over the block (which also counts its lines) and bytes.find, and go to the full parse. (2) The
pattern's quantifiers are possessive: `re` keeps no place to come back to. (3) A first, quick
pattern matches only lines of the shape, capturing only the values asked for; when it matched
every line but the blank ones and those set aside, the block is done (a match starts a line and
ends one with "}", so a match over two lines would have left one short); else a second pattern
that matches every line tells which ones are of another shape. (4) The values are counted as the
pattern returns them, as bytes, with one collections.Counter call a block; each distinct value
is converted once (and 1 and 1.0 stay apart, so a sum keeps int and float as SQLite would).
With `--where KEY=TEXT`, only the lines holding the text (or a backslash: an escape may write
it otherwise) are matched at all: they are found with bytes.find, the rest counted as passed
over. Workers of a split read are forked
(logread.in_stretches). Together they take a worker's CPU from about 4 µs a line of lab 1's log
to about 2 (tests/bench_day.py times the whole command).

A key asked of the attributes is captured where the pattern meets `"KEY": ` inside them; given
twice, the last value is kept, as in the full parse (Python's json, jq). Every other line (an
escape, a nested object, a missing field, a line that is not JSON at all) goes through logread's
one rule for a line, and is read or counted as bad exactly as before. On a log of another shape
the first block shows it, and the rest is read line by line as before.
"""

from __future__ import annotations

import collections
import itertools
import operator
import re
import sys
from collections.abc import Callable, Iterable, Iterator

from solution.logschema import REQUIRED
from solution.tools import logread

BLOCK_BYTES = 1 << 18          # lines read and matched at a time (whole lines: a quarter MB stays
                               # in the caches; at half a MB and more each copy costs 4x more)
FLUSH_ROWS = 20_000            # distinct rows held before they are handed on (memory: bounded)

# Python 3.10's `re` has no possessive quantifiers nor atomic groups (3.11 added them): there the
# patterns are compiled without them, to the same matches (nothing after them could start with
# what they would give back), only with more bookkeeping.
_POSSESSIVE = sys.version_info >= (3, 11)
_GIVE_BACK = re.compile(r"(?<=[*+?}])(?<!\\[*+?}])\+")      # the + of *+, ++, ?+, {m,n}+


def _compile(pattern: bytes | str, flags: int = 0) -> re.Pattern:
    """re.compile, on Python 3.10 with possessive quantifiers made greedy and atomic groups
    plain ones."""
    if not _POSSESSIVE:
        text = pattern if isinstance(pattern, str) else pattern.decode("latin-1")
        text = _GIVE_BACK.sub("", text.replace("(?>", "(?:"))
        pattern = text if isinstance(pattern, str) else text.encode("latin-1")
    return re.compile(pattern, flags)


# A string of a clean line (no backslash, no control character): its quotes are its ends.
# Every quantifier is possessive (*+, ?+) or atomic ((?>...)): what follows a string, a number or a
# word can never start with what it would give back, so backtracking could never find another
# match, and telling `re` so saves it the bookkeeping (about a fifth of its time here).
_TEXT = rb'"[^"]*+"'
_NUMBER = rb"-?+(?>0|[1-9][0-9]{0,17}+)(?:\.[0-9]++)?+(?:[eE][-+]?+[0-9]{1,2}+)?+"
_SCALAR = rb"(?>%s|%s|true|false|null)" % (_TEXT, _NUMBER)
# RFC 3339 in UTC as readers keep it (logread._RFC3339_Z; in ASCII digits: any other, parsed)
_TIME = rb'"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6}+)?+Z"'
# each top-level field of the shape, in the order lab 1 writes them, with what its value may be
_SHAPE = (("timestamp", _TIME), ("severity_text", _SCALAR), ("severity_number", _NUMBER),
          ("body", rb'"[^"]++"'), ("trace_id", _TEXT), ("span_id", _TEXT),
          ("parent_span_id", rb"(?>null|%s)" % _TEXT))
TOP_LEVEL = (*(name for name, _ in _SHAPE), "attributes")
_IDS = {"trace_id": 16, "span_id": 8, "parent_span_id": 8}    # bytes, as logread.hex_id reads them

# the bytes a clean line never holds: control characters (but the newline ending it) and the
# backslash; translate() with the others deleted leaves only these, in one pass over a block
_SPECIAL = bytes([*range(0x0A), *range(0x0B, 0x20), 0x5C])
_ORDINARY = bytes(sorted(set(range(256)) - set(_SPECIAL)))
# the same but the newline and "{": what is left of a block then tells its lines (newlines), whether
# it holds a special byte, and where a blank line may be (between two newlines, no "{" and no
# byte but white space: a line of spaces leaves nothing)
_MARKS = bytes(sorted(set(_ORDINARY) - set(b"\n{")))
_MAYBE_BLANK = _compile(rb"\n[\t\r\x0b\x0c]*+\n")


def supported(keys: list[str]) -> bool:
    """Can the fast path answer a question on these keys (the field map aside)?"""
    return all(key != "attributes" for key in keys)


def _named(key: str) -> str | None:
    """The attribute a key names, as logs.sql_value reads it; None for a top-level field and
    for `resource.X` (the shape has no resource: always NULL)."""
    if key in TOP_LEVEL or (key.startswith("resource.") and len(key) > 9):
        return None
    return key.removeprefix("attributes.")


def shape_pattern(top: Iterable[str], named: Iterable[str], whole: bool = True) -> re.Pattern:
    """The regular expression of one line of the shape (bytes, a clean line). Its groups: the
    values of the `top` fields in _SHAPE's order, then of the `named` attributes in their order.
    `whole`: it also matches every other line, and then has two more groups, first `{` (the
    mark of a line of the shape), last the whole line when it is of any other shape (a blank
    line: neither). Without `whole` and without a value to capture, the mark is the one group."""
    top, named = set(top), list(named)
    fields = [b'"%s": %s' % (name.encode(), b"(%s)" % value if name in top else value)
              for name, value in _SHAPE]
    pair = b"|".join([*(b'"%s": (%s)' % (re.escape(name.encode()), _SCALAR) for name in named),
                      b"%s: %s" % (_TEXT, _SCALAR)])
    # {}, or pairs each followed by ", " and another pair, or by the closing brace
    attributes = rb'\{(?:(?:%s)(?:, (?=")|(?=\})))*+\}' % pair
    mark = rb"^(\{)" if whole or not (top or named) else rb"^\{"
    line = mark + b", ".join(fields) + rb', "attributes": ' + attributes + rb"\} *+$"
    return _compile(line + rb"|^([^\n]*+)$" if whole else line, re.M)


class _Values(dict):
    """Scalar bytes as the shape writes them -> SQL value (json_extract's: true is 1), each
    distinct one converted once; an id asked for goes through hex_id as the full parse's does."""

    def __init__(self, id_size: int | None = None):
        super().__init__()
        self.id_size = id_size

    def __missing__(self, raw: bytes):
        if len(self) > 100_000:
            self.clear()
        if raw[:1] == b'"':
            value = raw[1:-1].decode("utf-8")
            if self.id_size:
                value = logread.hex_id(value, self.id_size)
        elif raw in _WORDS:
            value = _WORDS[raw]
        elif b"." in raw or b"e" in raw or b"E" in raw:
            value = float(raw)
        else:
            value = int(raw)
        self[raw] = value
        return value


_WORDS = {b"true": 1, b"false": 0, b"null": None, b"": None}      # b"": an attribute not there


class _Question:
    """What the patterns capture for a question's keys, and how each key's value is read. The
    values of a usual line are counted as a key: the tuple of the captured values, or the one
    value when there is one (findall then gives values, not tuples: cheaper to make and count)."""

    def __init__(self, keys: list[str], sums: Iterable[str]):
        top = [key for key in TOP_LEVEL if key in keys]
        named = list(dict.fromkeys(name for key in keys if (name := _named(key)) is not None))
        self.quick = shape_pattern(top, named, whole=False)     # the lines of the shape only
        self.whole = shape_pattern(top, named)                  # every line
        self.width = len(top) + len(named)
        at_top = {key: i for i, key in enumerate(top)}
        at_named = {name: len(top) + i for i, name in enumerate(named)}
        # per key: its place in a counted key (None: always NULL), and its converter
        self.places = [at_top[key] if key in at_top else at_named.get(_named(key)) for key in keys]
        self.values = [_Values(_IDS.get(key)) for key in keys]
        self.summed = [i for i, key in enumerate(keys) if key in sums]

    def key(self, row: tuple):
        """A usual line's counted key from its row of the whole pattern (mark, values, line)."""
        return row[1:-1] if self.width > 1 else row[1] if self.width else row[0]

    def rows(self, counted: dict) -> list[tuple]:
        """The SQL rows (*values, w) of counted keys. A text summed is handed on a row per line
        (w = 1): SQLite sums text to a float, and text * w would not."""
        out = []
        for key, n in counted.items():
            raw = key if self.width > 1 else (key,)
            row = tuple(None if at is None else values[raw[at]]
                        for at, values in zip(self.places, self.values))
            if any(raw[self.places[i]][:1] == b'"' for i in self.summed
                   if self.places[i] is not None):
                out += [(*row, 1)] * n
            else:
                out.append((*row, n))
        return out


def fast_rows(stream, keys: list[str], bad: logread.JsonLines, passed: list[int],
              needles: list[bytes], slow: Callable[[dict], list],
              reading: logread.Reading = logread.Reading(),
              sums: Iterable[str] = ()) -> Iterator[list[tuple]]:
    """The rows of the usual records of a binary stream, weighed: (*the keys' SQL values, w),
    each distinct row once with the number w of records that have it, a list at a time, as
    logs.Question reads them. Bad lines are counted in `bad` by reason and line number, lines
    without the --where needles in passed[0] when they would have been parsed, as logread.usable
    and logs._naming_all count them. `slow(record)` gives a parsed record's values; `reading`
    the command's --tz and --max-line (the fast path is taken without --map); `sums` the keys
    summed (their text values are never weighed)."""
    question = _Question(keys, sums)
    counted: collections.Counter = collections.Counter()
    parsed: list[tuple] = []                          # rows of lines parsed whole, w = 1
    number, shaped, progress = 0, None, logread.Progress(stream)
    try:
        for block in _blocks(stream, reading.max_line):
            if (block := _opened(block, number, bad)) is None:
                number += 1
                continue
            if b"\r" in block:                        # CRLF: the \r is white space after a record
                block = block.replace(b"\r\n", b"\n")
            marks = block.translate(None, _MARKS)     # its newlines, "{" and special bytes
            lines = marks.count(b"\n") + (not block.endswith(b"\n"))
            if shaped is False:                       # line by line, as before
                for i, raw in enumerate(block.split(b"\n")[:lines]):
                    parsed += _slowly(raw, number + i + 1, bad, passed, needles, slow, reading)
            else:
                text, starts, maybe_blank = block, None, _MAYBE_BLANK.search(
                    b"\n" + marks + (b"" if block.endswith(b"\n") else b"\n"))
                if needles:                           # only the lines that hold the needles
                    text, starts, maybe_blank = _holding(block, lines, needles, passed,
                                                         maybe_blank)
                special = set(marks) - {10, 123}     # (other than newlines and "{")
                usual, others = _scan(text, lines if starts is None else len(starts),
                                      bool(maybe_blank), special, question, counted)
                at = [i for i, _ in others]
                if starts is not None:                # line i of the text: which of the block
                    at = _indices(block, [starts[i] for i in at])
                for i, (_, raw) in zip(at, others):
                    parsed += _slowly(raw, number + i + 1, bad, passed, needles, slow, reading)
                if shaped is None:                    # the first block: is the log of this shape?
                    shaped = usual * 2 >= (lines if starts is None else len(starts))
            number += lines
            progress.show(number)
            if len(counted) + len(parsed) >= FLUSH_ROWS:
                yield question.rows(counted) + parsed
                counted.clear()
                parsed = []
    finally:
        progress.clear()
    yield question.rows(counted) + parsed
    bad.lines = number


def _scan(text: bytes, lines: int, maybe_blank: bool, special: set[int], question: _Question,
          counted: collections.Counter) -> tuple[int, list[tuple[int, bytes]]]:
    """Count the usual lines of `text` (that many whole lines) in `counted` by their captured
    values; (how many they were, [(i, raw line)] of the others, to be parsed whole, in order).
    `maybe_blank`: it may hold blank lines; `special`: the special bytes it may hold (those seen
    in its block). First the quick pattern, which matches only lines of the shape: when it
    matched as many as there are lines but the blank ones and those set aside, every other
    line is of the shape (a match starts a line and ends one with "}", so one that ran over a
    line end would have taken the place of two). Else the whole pattern tells which lines."""
    odd, at = [], []
    if special or not text.isascii():
        text, odd, at = _cleaned(text, special)
    blank = 0
    if maybe_blank:                                   # (rare: counted after lines set aside)
        blank = sum(1 for line in text.split(b"\n")[:lines] if not line.strip(b" "))
    found = question.quick.findall(text)
    if len(found) == lines - blank - len(odd):        # the usual case
        counted.update(found)
        return len(found), list(zip(at, odd))
    found = question.whole.findall(text)
    if text.endswith(b"\n") or not text:
        found.pop()                                   # (the empty match after the last newline)
    if len(found) != lines:
        # a match ran over a line end (an unterminated string): every line the whole way
        every = text.split(b"\n")[:lines]
        return 0, [(i, odd[int(raw[1:])] if raw[:1] == b"\0" else raw)
                   for i, raw in enumerate(every)]
    usual, other = 0, []
    for row, n in collections.Counter(found).items():
        if row[0] and not row[-1]:
            counted[question.key(row)] += n
            usual += n
        elif row[-1]:                                 # a line of another shape, or set aside
            other.append(row)
    if lines - usual > 32:                            # many: one pass over the rows
        places = [i for i, row in enumerate(found) if row[-1]]
    else:                                             # a few: found by the list's own search
        places = []
        for row in other:
            at = -1
            while (at := _index(found, row, at + 1)) != -1:
                places.append(at)
        places.sort()
    return usual, [(i, odd[int(raw[1:])] if raw[:1] == b"\0" else raw)
                   for i in places for raw in (found[i][-1],)]


def _index(rows: list, row, start: int) -> int:
    """rows.index(row, start), or -1."""
    try:
        return rows.index(row, start)
    except ValueError:
        return -1


def _cleaned(text: bytes, special: set[int]) -> tuple[bytes, list[bytes], list[int]]:
    """The text with every line that holds one of the `special` bytes (control characters, the
    backslash) or bytes that are not UTF-8 put aside: in its place a line of a zero byte and K
    (never a line of the shape, and read back by the whole pattern's last group), K its place in
    the list of the lines set aside; and the line (from 0) of each."""
    spans = set()
    for byte in special:
        special = bytes([byte])
        at = text.find(special)
        while at != -1:
            start = text.rfind(b"\n", 0, at) + 1
            end = text.find(b"\n", at)
            end = len(text) if end == -1 else end
            spans.add((start, end))
            at = text.find(special, end)
    if not text.isascii():
        try:
            text.decode("utf-8")
        except UnicodeDecodeError:                    # which lines: one at a time (rare)
            start = 0
            for line in text.split(b"\n"):
                if not line.isascii():
                    try:
                        line.decode("utf-8")
                    except UnicodeDecodeError:
                        spans.add((start, start + len(line)))
                start += len(line) + 1
    odd, at, pieces, index, last = [], [], [], 0, 0
    for start, end in sorted(spans):
        index += text.count(b"\n", last, start)
        at.append(index)
        pieces += [text[last:start], b"\0%d" % len(odd)]
        odd.append(text[start:end])
        last = end
    return b"".join([*pieces, text[last:]]), odd, at


def _holding(block: bytes, lines: int, needles: list[bytes], passed: list[int],
             maybe_blank) -> tuple[bytes, list[int], bool]:
    """The lines of a block (of that many lines) that hold every needle, or a backslash (a
    value may be written with escapes there: such a line is read whole), found with bytes.find,
    never a line at a time; where each starts in the block; whether they may be blank (a needle
    of white space). The other lines that are not blank are counted in passed[0], as
    logs._naming_all counts them (`maybe_blank`: the block may hold blank lines)."""
    first, rest = needles[0], needles[1:]
    spans = _spans(block, first)
    if b"\\" in block:
        spans = sorted({*spans, *_spans(block, b"\\")})
    pieces = [block[start:end] for start, end in spans]
    starts = [start for start, _ in spans]
    if rest:
        kept = [i for i, line in enumerate(pieces) if may_hold(line, rest)]
        pieces, starts = [pieces[i] for i in kept], [starts[i] for i in kept]
    spaces = not all(needle.strip() for needle in needles)
    held = sum(1 for line in pieces if line.strip()) if spaces else len(pieces)
    blank = 0
    if maybe_blank:                                   # (rare: a blank line, perhaps)
        blank = sum(1 for line in block.split(b"\n")[:lines] if not line.strip())
    passed[0] += lines - blank - held
    return b"".join(pieces), starts, spaces


def _spans(block: bytes, needle: bytes) -> list[tuple[int, int]]:
    """(start, end) of each line of a block that holds the needle, in order."""
    find, rfind, size = block.find, block.rfind, len(block)
    spans = []
    at = find(needle)
    while at != -1:                                   # (a tight loop: three calls a line kept)
        end = find(b"\n", at) + 1 or size
        spans.append((rfind(b"\n", 0, at) + 1, end))
        at = find(needle, end)
    return spans


def may_hold(line: bytes, needles: list[bytes]) -> bool:
    """Can this line meet --where conditions whose values are these needles (logs.needles)? Only
    if it holds every one as written, or holds a backslash (an escape, such as \\u0061 for a,
    may write a value otherwise: that line is read whole)."""
    return all(needle in line for needle in needles) or b"\\" in line


def _indices(block: bytes, offsets: list[int]) -> list[int]:
    """The line (from 0) of each offset of a block, the offsets in order: one count over it."""
    out, index, last = [], 0, 0
    for offset in offsets:
        index += block.count(b"\n", last, offset)
        out.append(index)
        last = offset
    return out


def _slowly(raw: bytes, number: int, bad: logread.JsonLines, passed: list[int],
            needles: list[bytes], slow: Callable[[dict], list],
            reading: logread.Reading) -> list[tuple]:
    """One line the whole way: the --where needles, then logread's rule for a line (a blank
    one skipped, a bad one counted by reason); the rows of its records, w = 1."""
    if needles and not may_hold(raw, needles):
        passed[0] += bool(raw.strip())
        return []
    records = logread._line_records(number, raw, REQUIRED, "json", bad, None, reading)
    return [(*slow(record), 1) for record in records]


def _blocks(stream, limit: int) -> Iterator[bytes]:
    """A binary stream as blocks of whole lines, none longer than `limit` (--max-line): a longer
    line is read away in pieces and stands as logread.TOO_LONG, as in logread.bounded_lines."""
    size = max(4096, min(BLOCK_BYTES, limit // 2))
    longest = re.compile(rb"^[^\n]{%d}" % (limit + 1), re.M)
    rest = b""
    while block := stream.read(size):
        block = rest + block
        cut = block.rfind(b"\n") + 1
        rest = block[cut:]
        if cut:
            yield from _bounded(block[:cut], limit, longest)
        if len(rest) > limit:                         # a line longer than the limit: read it away
            while (piece := stream.read(size)) and b"\n" not in piece:
                pass
            yield logread.TOO_LONG
            rest = piece[piece.find(b"\n") + 1:]
    if rest:
        yield from _bounded(rest, limit, longest)


def _opened(block: bytes, number: int, bad: logread.JsonLines) -> bytes | None:
    """A block of _blocks as a reader that has read `number` lines meets it: None for a line too
    long (counted in `bad` as the next line), the byte-order mark dropped before the log's first
    line."""
    if block is logread.TOO_LONG:
        bad.skip(number + 1, "too long")
        return None
    return block.removeprefix(logread.HEAD_BOM) if number == 0 else block


def _bounded(block: bytes, limit: int, longest: re.Pattern) -> Iterator[bytes]:
    """A block of lines, each line longer than the limit standing as TOO_LONG (looked for only
    when the block itself is longer than that: the last line of a log may end without a
    newline, and then limit + 1 bytes are one too many)."""
    start = 0
    while len(block) - start > limit and (long := longest.search(block, start)):
        if long.start() > start:
            yield block[start:long.start()]
        end = block.find(b"\n", long.start())
        start = len(block) if end == -1 else end + 1
        yield logread.TOO_LONG
    if start < len(block):
        yield block[start:]


# ── the index's fast path (logs._fill_index): every field of a line, its attributes' text ──
#
# The index keeps a record's top-level fields as columns and its attributes as compact JSON text
# (logs.INDEX_TABLE), as the full parse and json.dumps would give them. A line of lab 1's shape
# whose values that parse keeps exactly as they are written gives its columns by its text alone:
# a time as this tool writes it (logread._checked_time reads it as it is), ids in lowercase hex
# that are not all zeros (logread.hex_id keeps them), a severity number, a body that is there, no
# boolean at the top level (the index keeps such a record whole), and plain attributes: strings
# without escapes, true, false, null, and numbers Python writes back the same (an integer, not
# -0; a decimal of at most 15 digits, no trailing zero, at or above 0.0001: repr() writes the
# shortest text that reads back, and such a text is already the shortest), one level deep, each
# key named once (Python's parse keeps the last value of a key given twice, SQLite's json
# functions the first). Their text is then json.dumps's, and is stored as it is written.
# Every other line is read by logread's rule, exactly as before.
# (a block is read as text, its bytes that are not UTF-8 as lone surrogates: no line of the shape)
_CLEAN_TEXT = r'"[^"\\\x00-\x1f\udc80-\udcff]*"'
_TEXT_NUMBER = r"-?(?:0|[1-9][0-9]{0,17})(?:\.[0-9]+)?(?:[eE][-+]?[0-9]{1,2})?"
_STAMP = r'"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?Z)"'
_ID32, _ID16 = r'"((?!0{32})[0-9a-f]{32})"', r'"((?!0{16})[0-9a-f]{16})"'
_TOP = rf"{_CLEAN_TEXT}|{_TEXT_NUMBER}"
_ANY_ATTRIBUTES = r"(\{[^\n]*\})"          # (in _ROW; spelled out once key orders are known)
_ROW = re.compile(
    rf'^\{{"timestamp": {_STAMP}, "severity_text": ({_TOP}|null), "severity_number": ({_TOP}), '
    rf'"body": ("[^"\\\x00-\x1f\udc80-\udcff]+"|{_TEXT_NUMBER}), "trace_id": {_ID32}, '
    rf'"span_id": {_ID16}, "parent_span_id": (?:null|{_ID16}), "attributes": {_ANY_ATTRIBUTES}'
    r'\}[ \t\r]*$|^([^\n]*)$', re.M)
# the attributes, checked in two steps: every plain value is taken out, a NUL put in its place
# (no line that is JSON holds one); what is left must then be keys alone, `{"a": NUL, "b": NUL}`,
# each named once: the text was an object of plain values, one level deep, and nothing else
# (possessive, as the scan's: a decimal's last digit is checked looking back, not given back)
_PLAIN_NUMBER = (r"(?:0|-?+[1-9][0-9]{0,17}+"
                 r"|-?+(?!0\.0000)(?=[0-9.]{3,16}[,}])(?:0|[1-9][0-9]*+)\.(?:0|[0-9]*+(?<=[1-9])))"
                 r"(?=[,}])")
_PLAIN_VALUE = rf'(?:"[^"\\\x00-\x1f\udc80-\udcff]*+"|{_PLAIN_NUMBER}|true|false|null)'
_ATTRIBUTE_VALUE = _compile(rf'": {_PLAIN_VALUE}')
_KEYS = re.compile(r'\{(?:"[^"\\\x00-\x1f\udc80-\udcff]*": \x00(?:, (?=")|(?=\})))*\}')


def _plain_keys(left: str) -> bool:
    """Is this what is left of an object of plain values, each key named once?"""
    if not _KEYS.fullmatch(left):
        return False
    names = left[2:-5].split('": \x00, "') if left != "{}" else []
    return len(set(names)) == len(names)


class _Plain(dict):
    """What is left of attributes -> were they plain?, each distinct text looked at once."""

    def __missing__(self, left: str) -> bool:
        if len(self) > 10_000:
            self.clear()
        plain = self[left] = _plain_keys(left)
        return plain


class _Cells(dict):
    """A top-level field's text -> its SQL value (the empty capture of a line not of the shape:
    None), each distinct text converted once."""

    def __missing__(self, text: str):
        if len(self) > 100_000:
            self.clear()
        value = self[text] = _cell(text) if text else None
        return value


def _cell(text: str):
    """The SQL value of a top-level scalar as the shape writes it (json_extract's)."""
    if text[0] == '"':
        return text[1:-1]
    if text == "null":
        return None
    if "." in text or "e" in text or "E" in text:
        return float(text)
    return int(text)


def index_rows(stream, bad: logread.JsonLines, slow: Callable[[int, dict], tuple],
               reading: logread.Reading = logread.Reading()) -> Iterator[tuple[bool, list[tuple]]]:
    """The index's rows of the usable records of a binary stream of JSON lines (no --map), in
    line order, as batches (fast, rows): a fast batch's rows are (line number, the seven other
    top-level fields' SQL values, the attributes' text as written: logs.FAST_INSERT); a slow
    batch's are slow(line number, record) of the records logread's rule reads.
    Bad lines are counted in `bad` by reason and line number, as logread.usable counts them.
    The attributes' key orders met in plain lines are learned (_Orders): once known, one pattern
    checks a line whole, its attributes' values included, and the check in two steps is left to
    the lines of an order not met yet."""
    cells, plain, orders, number, shaped = _Cells(), _Plain(), _Orders(), 0, None
    for block in _blocks(stream, reading.max_line):
        if (block := _opened(block, number, bad)) is None:
            number += 1
            continue
        if shaped is False:                           # line by line, as before
            pieces = block.split(b"\n")               # (a line ends at a newline only: a lone
            if block.endswith(b"\n"):                 # \r is inside its line, as logread reads it)
                pieces.pop()
            rows = []
            for raw in pieces:
                number += 1
                rows += _slow_rows(raw, number, bad, slow, reading)
            yield False, rows
            continue
        text = block.decode("utf-8", "surrogateescape")     # (a bad byte: no line of the shape)
        found = orders.pattern.findall(text)
        if text.endswith("\n") or not text:
            found.pop()                               # (the empty match after the last newline)
        if not found:
            continue
        if orders.pattern is _ROW:
            columns = list(zip(*found))
            usual = _plain_lines(columns[0], columns[7], plain, orders)
        else:
            usual = list(map(bool, map(operator.itemgetter(0), found)))
            for i in itertools.compress(range(len(found)), map(operator.not_, usual)):
                usual[i] = _learned_line(found, i, plain, orders)
            columns = list(zip(*found))
        orders.update(len(found))
        if shaped is None:                            # the first block: is the log of this shape?
            shaped = sum(usual) * 2 >= len(found)
        rows = list(zip(range(number + 1, number + 1 + len(found)), columns[0],
                        map(cells.__getitem__, columns[1]), map(cells.__getitem__, columns[2]),
                        map(cells.__getitem__, columns[3]), columns[4], columns[5],
                        [parent or None for parent in columns[6]], columns[7]))
        start, lines = 0, None
        for i in itertools.compress(range(len(found)), map(operator.not_, usual)):
            if start < i:
                yield True, rows[start:i]
            raw = found[i][-1]
            if found[i][0]:                           # of the shape, but its attributes not plain
                lines = lines or text.split("\n")
                raw = lines[i]
            yield False, _slow_rows(raw.encode("utf-8", "surrogateescape"), number + i + 1, bad,
                                    slow, reading)
            start = i + 1
        if start < len(found):
            yield True, rows[start:] if start else rows
        number += len(found)
    bad.lines = number


def _plain_lines(times: tuple[str, ...], attributes: tuple[str, ...], plain: _Plain,
                 orders: _Orders) -> list[bool]:
    """Which of the lines the general pattern found (their times and attributes: a time is
    empty where a line is not of the shape) are of the shape with plain attributes (the check
    in two steps, over the block at once); their key orders learned."""
    joined = "\n".join(attributes)
    left = _ATTRIBUTE_VALUE.sub('": \x00', joined).split("\n")
    if "\x00" in joined:                              # (not JSON: read whole, counted as bad)
        left = ["" if "\x00" in given else kept for kept, given in zip(left, attributes)]
    usual = list(map(operator.and_, map(bool, times), map(plain.__getitem__, left)))
    if not orders.stopped:
        for kept in set(itertools.compress(left, usual)):
            orders.learn(kept)
    return usual


def _learned_line(found: list[tuple], i: int, plain: _Plain, orders: _Orders) -> bool:
    """A line the learned pattern did not take (found[i] holds it whole): of the shape with plain
    attributes in an order not met yet? Then found[i] becomes its values, and the order is
    learned."""
    line = found[i][-1]
    match = _ROW.match(line) if line else None
    if match is None or not match[1]:
        return False
    left = _ATTRIBUTE_VALUE.sub('": \x00', match[8])
    if "\x00" in match[8] or not plain[left]:
        return False
    found[i] = match.groups()
    orders.learn(left)
    return True


class _Orders:
    """The key orders of plain attributes met so far, and the pattern of a line that knows them:
    _ROW with its attributes spelled out, order by order, their values as the check in two
    steps takes them (_PLAIN_VALUE). A key order is an object's keys in the order written, each
    named once (_plain_keys), so the pattern never takes a key given twice. A pattern costs
    about 25 ms to compile, the check of a line of an order not met yet about 4 µs: it is made
    after the first block, and again when AGAIN lines of new orders have been met. At most MOST
    orders; a log with more, or whose lines are often of new orders, keeps the general pattern."""

    MOST, AGAIN = 32, 5_000

    def __init__(self):
        self.pattern, self.known, self.spelled, self.stopped = _ROW, set(), set(), False
        self.new, self.since = 0, 0     # lines of orders not spelled out, lines, since the pattern

    def learn(self, left: str) -> None:
        """Remember the key order of what is left of plain attributes (`{"a": NUL, ...}`)."""
        if self.stopped:
            return
        keys = tuple(left[2:-5].split('": \x00, "')) if left != "{}" else ()
        self.known.add(keys)
        if self.pattern is not _ROW and keys not in self.spelled:
            self.new += 1

    def update(self, lines: int) -> None:
        """After a block of that many lines: the pattern with the orders learned so far."""
        self.since += lines
        if self.stopped:
            return
        varied = self.since >= 10 * self.AGAIN and self.new * 4 > self.since
        if len(self.known) > self.MOST or varied:
            self.pattern, self.stopped = _ROW, True
        elif (self.pattern is _ROW and self.known) or self.new >= self.AGAIN:
            attributes = "(\\{" + _spelled(sorted(self.known), first=True) + ")"
            self.pattern = _compile(_ROW.pattern.replace(_ANY_ATTRIBUTES, attributes, 1), re.M)
            self.spelled, self.new, self.since = set(self.known), 0, 0


def _spelled(orders: list[tuple[str, ...]], first: bool) -> str:
    """The pattern of what follows an object's "{" (first) or one of its values: the orders'
    next keys with their values, or the closing brace where an order ends; a tree of their
    common beginnings, so that `re` tries each key once."""
    branches = [r"\}"] if () in orders else []
    following: dict[str, list[tuple[str, ...]]] = {}
    for order in orders:
        if order:
            following.setdefault(order[0], []).append(order[1:])
    for key in sorted(following):
        branches.append(("" if first else ", ") + f'"{re.escape(key)}": {_PLAIN_VALUE}'
                        + _spelled(following[key], first=False))
    return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"


def _slow_rows(raw: bytes, number: int, bad: logread.JsonLines, slow: Callable[[int, dict], tuple],
               reading: logread.Reading) -> list[tuple]:
    """The rows of one line read whole by logread's rule (a blank line: none; a bad one counted)."""
    return [slow(number, record)
            for record in logread._line_records(number, raw, REQUIRED, "json", bad, None, reading)]
