"""The fast path of `query --count-by/--sum/--where`: the values of a few keys out of a block of
lines at once, a full parse only for the lines that need one.

Lab 1's writer (and Python's json.dumps with its default separators) writes every line in one
shape: the top-level fields in one order, then `attributes`, one level deep. One regular
expression, run over a block of thousands of lines at a time (so the loop over characters is the
`re` module's, in C, not Python's), both checks that a line is of that shape and picks out the
values the question asks for. It accepts only what is certainly a usable record, read exactly as
the full parse reads it:

    strings      without a backslash or a control character (then their text is their value)
    numbers      at most 18 digits before the point and an exponent of at most 2 digits (a
                 double holds every one, and an integer fits in 64 bits: never "too large")
    ids          text, not written 0x... (trace_id, span_id, and parent_span_id or null)
    attributes   an object of such strings, numbers, true, false and null

Every other line (an escaped quote, a nested object, a key given twice, a missing field, a line
that is not JSON at all) goes through logread.records_in, the one rule every reader follows, and
is read or counted as bad exactly as before. A key asked of the attributes is found by its text
`"KEY": ` inside them; a line whose attributes name it twice is parsed whole (the last value wins,
as in jq). On a log of another shape, the first block shows it, and the rest is read line by line
as before.
"""

from __future__ import annotations

import itertools
import operator
import re
from collections.abc import Callable, Iterable, Iterator
from operator import methodcaller

from solution.logschema import REQUIRED
from solution.tools import logread

BLOCK_BYTES = 1 << 20          # lines read and matched at a time (whole lines; memory: a block)

# text without escapes, control characters or bytes that are not UTF-8 (read as surrogates)
_TEXT = r'"[^"\\\x00-\x1f\udc80-\udcff]*"'
_ID = r'"(?![0][xX])[^"\\\x00-\x1f\udc80-\udcff]*"'
_NUMBER = r"-?(?:0|[1-9][0-9]{0,17})(?:\.[0-9]+)?(?:[eE][-+]?[0-9]{1,2})?"
_SCALAR = rf"(?:{_TEXT}|{_NUMBER}|true|false|null)"
_ATTRIBUTES = rf"\{{(?:{_TEXT}: {_SCALAR}(?:, (?=\")|(?=\}})))*\}}"
# each top-level field of the shape, in the order lab 1 writes them, with what its value may be
_SHAPE = (("timestamp", _SCALAR), ("severity_text", _SCALAR), ("severity_number", _SCALAR),
          ("body", _SCALAR), ("trace_id", _ID), ("span_id", _ID),
          ("parent_span_id", rf"(?:null|{_ID})"), ("attributes", _ATTRIBUTES))
TOP_LEVEL = tuple(name for name, _ in _SHAPE)


def shape_pattern(top: Iterable[str], attributes: bool) -> re.Pattern:
    """The regular expression of one line of the shape, capturing the values of the `top`
    fields (in _SHAPE's order) and, when asked, the attributes' text; any other line is captured
    whole by its last group (and a blank line by none)."""
    top = set(top)
    parts = []
    for name, value in _SHAPE:
        if name in top or (name == "attributes" and attributes):
            value = f"({value})"
        parts.append(f'"{name}": {value}')
    return re.compile(r"^\{" + ", ".join(parts) + r"\}[ \t\r]*$|^([^\n]*)$", re.M)


def _scalar(text: str):
    """The SQL value of a scalar as the shape writes it (json_extract's: true is 1)."""
    if text[0] == '"':
        return text[1:-1]
    if text in _WORDS:
        return _WORDS[text]
    if "." in text or "e" in text or "E" in text:
        return float(text)
    return int(text)


_WORDS = {"true": 1, "false": 0, "null": None}
_BLANK = " \t\n\r\x0b\x0c"          # what bytes.strip() takes away: a line of only these is blank


class _Values(dict):
    """Scalar text -> SQL value, each distinct text converted once (a block repeats its values)."""

    def __missing__(self, text: str):
        if len(self) > 100_000:
            self.clear()
        value = self[text] = _scalar(text)
        return value


def supported(keys: list[str]) -> bool:
    """Can the fast path answer a question on these keys (the field map aside)?"""
    return all(key != "attributes" for key in keys)


def fast_rows(stream, keys: list[str], bad: logread.JsonLines, passed: list[int],
              needles: list[bytes], slow: Callable[[dict], list],
              reading: logread.Reading = logread.Reading()) -> Iterator[list[tuple]]:
    """The rows (the keys' SQL values) of the usable records of a binary stream, a list at a
    time, as logs.Question reads them: bad lines counted in `bad` by reason and line number, lines
    without the --where needles counted in passed[0] when they would have been parsed, as
    logread.usable and logs._naming_all count them. `slow(record)` gives a parsed record's row;
    `reading` the command's --tz and --max-line (the fast path is taken without --map).
    The rows of a block come in no particular order (they are counted and summed)."""
    top = [key for key in keys if key in TOP_LEVEL]
    named = [key.removeprefix("attributes.") for key in keys if key not in TOP_LEVEL]
    pattern = shape_pattern(top, bool(named))
    ours = {key: i for i, key in enumerate(k for k in TOP_LEVEL if k in top)}
    at = len(ours)                                    # the attributes' group, when captured
    finders = {name: (re.compile(rf'"{re.escape(name)}": ({_SCALAR})'), f'"{name}":')
               for name in named}
    values, number, shaped = _Values(), 0, None
    wanted = [needle.decode("utf-8", "surrogateescape") for needle in needles]
    for block in _blocks(stream, reading.max_line):
        if block is logread.TOO_LONG:
            number += 1
            bad.skip(number, "too long")
            continue
        if number == 0:
            block = block.removeprefix(logread.BOM.encode())
        if shaped is False:                           # line by line, as before
            for raw in block.splitlines(keepends=True):
                number += 1
                yield list(_slowly(raw, number, bad, passed, needles, slow, reading))
            continue
        text = block.decode("utf-8", "surrogateescape")     # (a bad byte: no line of the shape)
        kept = None
        if wanted:                                    # --where TEXT: only the lines that hold it
            lines = text.split("\n")
            if text.endswith("\n"):
                lines.pop()
            kept = [i for i, one in enumerate(lines) if all(w in one for w in wanted)]
            passed[0] += sum(1 for one in lines if one.strip(_BLANK)) \
                - sum(1 for i in kept if lines[i].strip(_BLANK))
            text = "".join(lines[i] + "\n" for i in kept)
        found = pattern.findall(text)
        if text.endswith("\n") or not text:
            found.pop()                               # (the empty match after the last newline)
        usual = [bool(row[0]) and not row[-1] for row in found]    # (a blank line: no group)
        if shaped is None:                            # the first block: is the log of this shape?
            shaped = sum(usual) * 2 >= len(found)
        columns = list(zip(*found)) if found else [()] * (at + 2)
        named_columns = {}
        for name in dict.fromkeys(named):
            finder, needle = finders[name]
            counts = list(map(methodcaller("count", needle), columns[at]))
            for i, count in enumerate(counts):
                if count > 1:                         # given twice: the whole parse says which
                    usual[i] = counts[i] = 0
            got = iter(finder.findall("\n".join(t for t, c in zip(columns[at], counts) if c == 1)))
            named_columns[name] = [next(got) if c == 1 else "null" for c in counts]
        picked = [columns[ours[key]] if key in ours
                  else named_columns[key.removeprefix("attributes.")] for key in keys]
        yield list(zip(*(map(values.__getitem__, [t for t, u in zip(column, usual) if u])
                         for column in picked)))
        read = None
        for i, row in enumerate(found):               # the other lines, parsed whole, in order
            if not usual[i]:
                if row[-1] or not row[0]:
                    raw = row[-1]
                else:                                 # of the shape, but a key given twice
                    read = read or text.split("\n")
                    raw = read[i]
                place = number + (kept[i] if kept is not None else i) + 1
                raw = raw.encode("utf-8", "surrogateescape")
                yield list(_slowly(raw, place, bad, passed, needles, slow, reading))
        number += len(found) if kept is None else len(lines)
    bad.lines = number


def _slowly(raw: bytes, number: int, bad: logread.JsonLines, passed: list[int],
            needles: list[bytes], slow: Callable[[dict], list],
            reading: logread.Reading) -> Iterator[tuple]:
    """One line the whole way: the --where needles, blank lines, logread's rule."""
    if needles and not all(needle in raw for needle in needles):
        passed[0] += bool(raw.strip())
        return
    if raw.strip():
        records, reason = logread.records_in(raw, REQUIRED, "json", reading)
        if reason:
            bad.skip(number, reason)
        for record in records:
            yield tuple(slow(record))


def _blocks(stream, limit: int) -> Iterator[bytes]:
    """A binary stream as blocks of whole lines, none longer than `limit` (--max-line):
    a longer line is read away in pieces and stands as logread.TOO_LONG, as in logread.bounded_lines. A
    long read shows its progress on a terminal."""
    size = max(4096, min(BLOCK_BYTES, limit // 2))
    longest = re.compile(rb"^[^\n]{%d}" % (limit + 1), re.M)
    progress, count, rest = logread.Progress(stream), 0, b""
    try:
        while block := stream.read(size):
            block = rest + block
            cut = block.rfind(b"\n") + 1
            rest = block[cut:]
            if cut:
                count += block.count(b"\n", 0, cut)
                yield from _bounded(block[:cut], limit, longest)
                progress.show(count)
            if len(rest) > limit:                     # a line longer than the limit: read it away
                while (piece := stream.read(size)) and b"\n" not in piece:
                    pass
                yield logread.TOO_LONG
                count += 1
                rest = piece[piece.find(b"\n") + 1:]
        if rest:
            yield from _bounded(rest, limit, longest)
    finally:
        progress.clear()


def _bounded(block: bytes, limit: int, longest: re.Pattern) -> Iterator[bytes]:
    """A block of lines, each line longer than the limit standing as TOO_LONG (looked for only
    when the block itself is longer than that)."""
    start = 0
    while len(block) - start > limit + 1 and (long := longest.search(block, start)):
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
# functions the first). Their text then only loses its spaces as it is stored (SQLite's json(),
# faster than Python's str.replace), and is json.dumps's.
# Every other line is read by logread's rule, exactly as before.
_STAMP = r'"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?Z)"'
_ID32, _ID16 = r'"((?!0{32})[0-9a-f]{32})"', r'"((?!0{16})[0-9a-f]{16})"'
_TOP = rf"{_TEXT}|{_NUMBER}"
_ROW = re.compile(
    rf'^\{{"timestamp": {_STAMP}, "severity_text": ({_TOP}|null), "severity_number": ({_TOP}), '
    rf'"body": ("[^"\\\x00-\x1f\udc80-\udcff]+"|{_NUMBER}), "trace_id": {_ID32}, '
    rf'"span_id": {_ID16}, "parent_span_id": (?:null|{_ID16}), "attributes": (\{{[^\n]*\}})'
    r'\}[ \t\r]*$|^([^\n]*)$', re.M)
# the attributes, checked in two steps: every plain value is taken out, a NUL put in its place
# (no line that is JSON holds one); what is left must then be keys alone, `{"a": NUL, "b": NUL}`,
# each named once: the text was an object of plain values, one level deep, and nothing else
_PLAIN_NUMBER = (r"(?:0|-?[1-9][0-9]{0,17}"
                 r"|-?(?!0\.0000)(?=[0-9.]{3,16}[,}])(?:0|[1-9][0-9]*)\.(?:0|[0-9]*[1-9]))(?=[,}])")
_ATTRIBUTE_VALUE = re.compile(rf'": (?:{_TEXT}|{_PLAIN_NUMBER}|true|false|null)')
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
        value = self[text] = _scalar(text) if text else None
        return value


def index_rows(stream, bad: logread.JsonLines, slow: Callable[[int, dict], tuple],
               reading: logread.Reading = logread.Reading()) -> Iterator[tuple[bool, list[tuple]]]:
    """The index's rows of the usable records of a binary stream of JSON lines (no --map), in
    line order, as batches (fast, rows): a fast batch's rows are (line number, the seven other
    top-level fields' SQL values, the attributes' text as written, to be made compact as it is
    stored: logs.FAST_INSERT); a slow batch's are slow(line number, record) of the records
    logread's rule reads.
    Bad lines are counted in `bad` by reason and line number, as logread.usable counts them."""
    cells, plain, number, shaped = _Cells(), _Plain(), 0, None
    for block in _blocks(stream, reading.max_line):
        if block is logread.TOO_LONG:
            number += 1
            bad.skip(number, "too long")
            continue
        if number == 0:
            block = block.removeprefix(logread.BOM.encode())
        if shaped is False:                           # line by line, as before
            rows = []
            for raw in block.splitlines(keepends=True):
                number += 1
                rows += _slow_rows(raw, number, bad, slow, reading)
            yield False, rows
            continue
        text = block.decode("utf-8", "surrogateescape")     # (a bad byte: no line of the shape)
        found = _ROW.findall(text)
        if text.endswith("\n") or not text:
            found.pop()                               # (the empty match after the last newline)
        if not found:
            continue
        columns = list(zip(*found))
        attributes = columns[7]
        joined = "\n".join(attributes)
        left = _ATTRIBUTE_VALUE.sub('": \x00', joined).split("\n")
        if "\x00" in joined:                          # (not JSON: read whole, counted as bad)
            left = ["" if "\x00" in given else kept for kept, given in zip(left, attributes)]
        usual = list(map(operator.and_, map(bool, columns[0]), map(plain.__getitem__, left)))
        if shaped is None:                            # the first block: is the log of this shape?
            shaped = sum(usual) * 2 >= len(found)
        rows = list(zip(range(number + 1, number + 1 + len(found)), columns[0],
                        map(cells.__getitem__, columns[1]), map(cells.__getitem__, columns[2]),
                        map(cells.__getitem__, columns[3]), columns[4], columns[5],
                        [parent or None for parent in columns[6]], attributes))
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


def _slow_rows(raw: bytes, number: int, bad: logread.JsonLines, slow: Callable[[int, dict], tuple],
               reading: logread.Reading) -> list[tuple]:
    """The rows of one line read whole by logread's rule (a blank line: none; a bad one counted)."""
    return [slow(number, record)
            for record in logread._line_records(number, raw, REQUIRED, "json", bad, None, reading)]
