"""Hostile lines (issue 26): every line a record or a counted bad line in every reader and tool,
memory bounded by constants whatever a line's length, and nothing hostile on the screen."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from solution.cli import fail
from solution.tools import dashboard, gateway, logread
from solution.tools import logs as lab

ROOT = Path(__file__).resolve().parents[1]
TRACE = "ab" * 16


def record(at: str, span: str, parent, body: str, severity: int = 9, **attributes) -> dict:
    return {"timestamp": at, "severity_text": "ERROR" if severity >= 17 else "INFO",
            "severity_number": severity, "body": body, "trace_id": TRACE, "span_id": span,
            "parent_span_id": parent, "attributes": attributes}


def completed(second: int, latency_ms=5.0, status=200, priority="interactive", **more) -> dict:
    return record(f"2026-11-02T09:00:{second:02d}.000Z", f"{second:016x}", None,
                  "request.completed", 9, **{"http.response.status_code": status,
                                             "latency_ms": latency_ms, "priority": priority, **more})


def write(path: Path, records, raw_lines=()) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + "".join(raw_lines))
    return path


def cli(capsys, main, *argv) -> tuple[int, str, str]:
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


SURROGATES = ('{"timestamp": "2026-11-02T09:00:01.500Z", "severity_text": "ERROR", '
              '"severity_number": 17, "body": "x\\ud800y", "trace_id": "' + TRACE + '", '
              '"span_id": "2222222222222222", "parent_span_id": null, '
              '"attributes": {"error.type": "\\udfff", "\\udc00key": ["\\ud83d\\ude00"]}}\n')


@pytest.fixture
def hostile(tmp_path) -> Path:
    """A trace with a lone surrogate in a failing record's body, keys and values, and request
    lines whose numbers and times are absurd."""
    records = [record("2026-11-02T09:00:00.000Z", "1" * 16, None, "gateway.received"),
               completed(3), completed(4, priority="\ud800"),
               completed(5, latency_ms=1.7e308), completed(6, **{"gen_ai.usage.input_tokens": 1.7e308}),
               completed(7, ttft_ms=-1.0), completed(8, status=10 ** 18)]
    late = completed(9)
    late["timestamp"] = "9999-12-31T23:59:59.999Z"
    return write(tmp_path / "hostile.jsonl", [*records, late], [SURROGATES])


def test_a_lone_surrogate_becomes_the_replacement_character_as_the_line_is_read():
    record_, reason = logread.classify(SURROGATES.encode())
    assert reason is None and record_["body"] == "x\ufffdy"
    assert record_["attributes"] == {"error.type": "\ufffd", "\ufffdkey": ["\U0001f600"]}


def test_every_tool_reads_surrogates_and_absurd_numbers_without_a_traceback(hostile, tmp_path, capsys):
    for argv in (("query", hostile), ("query", hostile, "--json"), ("query", hostile, "--count-by", "priority"),
                 ("query", hostile, "--where", "severity_number>=17", "--count-by", "body"),
                 ("query", hostile, "--sql", "SELECT body, count(*) FROM log GROUP BY body",
                  "--db", tmp_path / "index.sqlite"),
                 ("story", hostile, TRACE), ("story", hostile, TRACE, "--json")):
        status, out, err = cli(capsys, lab.main, *argv)
        assert status == 0, (argv, err)
        assert "\ud800" not in out and "\ufffd" in out or "x\\ufffdy" in out, (argv, out)
    status, out, err = cli(capsys, dashboard.main, "--from", hostile, "--prom", tmp_path / "m.prom")
    assert status == 0, err
    # 1.7e308 ms, 1.7e308 tokens, a negative time to first token, a status of 10^18 and a start
    # in the year 9999: five request lines counted as bad, the two plain ones summed
    assert "skipped 5 request.completed line(s)" in err
    assert {why: n for why, n in dashboard.read_log(str(hostile)).reasons.items()} == {
        "latency_ms out of range": 1, "gen_ai.usage.input_tokens out of range": 1,
        "ttft_ms out of range": 1, "http.response.status_code not an HTTP status": 1,
        "start out of range": 1}
    metrics = (tmp_path / "m.prom").read_text()
    assert 'priority="\ufffd"' in metrics
    assert sum(int(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
               if line.startswith("opslab_requests_total{")) == 2


def test_spans_of_plus_or_minus_1_7e308_ms_are_drawn_by_their_records_times():
    rows = lab.waterfall([
        {**record("2026-11-02T09:00:00.000Z", "1" * 16, None, "root.start"), "_at": 100.0},
        {**record("2026-11-02T09:00:01.000Z", "1" * 16, None, "root.end", duration_ms=1.7e308),
         "_at": 101.0},
        {**record("2026-11-02T09:00:00.500Z", "2" * 16, "1" * 16, "child.x", duration_ms=-1.7e308),
         "_at": 100.5}])
    # the root lasts from its first record to its last (1 s); the child, one record, 0 ms
    assert [(r.name, r.depth, r.start_ms, r.duration_ms) for r in rows] == \
        [("root", 0, 0.0, 1000.0), ("child", 1, 500.0, 0.0)]
    assert all(line.isprintable() for line in lab.draw_waterfall(rows))


def chain(n: int, cyclic: bool = False) -> list[dict]:
    records = []
    for i in range(n):
        parent = f"{(i - 1) % n + 1:016x}" if (i or cyclic) else None
        records.append({**record("2026-11-02T09:00:00.000Z", f"{i + 1:016x}", parent, f"s{i}.x"),
                        "_at": 100.0 + i / 1000})
    return records


def test_a_parent_chain_3000_deep_is_drawn_without_recursion():
    rows = lab.waterfall(chain(3000))
    assert [r.depth for r in rows] == list(range(3000))


def test_spans_caught_in_a_cycle_of_parents_are_each_drawn_once():
    rows = lab.waterfall(chain(3, cyclic=True))
    assert sorted(r.name for r in rows) == ["s0", "s1", "s2"] and len(rows) == 3


def test_story_on_a_deep_and_a_cyclic_chain_ends_well(tmp_path, capsys):
    for n, cyclic in ((3000, False), (3, True)):
        path = write(tmp_path / f"chain{n}.jsonl",
                     [{k: v for k, v in r.items() if k != "_at"} for r in chain(n, cyclic)])
        status, out, err = cli(capsys, lab.main, "story", path, TRACE)
        assert status == 0 and f"{n} spans" in out, err


@pytest.mark.parametrize("condition,reason", [
    ("latency_ms>99999999999999999999999", "beyond a 64-bit integer"),
    ("latency_ms=-99999999999999999999999", "beyond a 64-bit integer"),
    ("latency_ms>nan", "needs a number"), ("latency_ms<inf", "needs a number"),
    ("latency_ms>=-inf", "needs a number")])
def test_where_values_are_checked_like_flags(hostile, capsys, condition, reason):
    status, out, err = cli(capsys, lab.main, "query", hostile, "--where", condition)
    assert status == 2 and reason in err and "Traceback" not in err and not out


def test_timestamps_at_the_ends_of_the_calendar_are_read_and_printed(tmp_path, capsys):
    # the last millisecond of year 9999, and a time that is year 0 in UTC (no datetime holds it)
    path = write(tmp_path / "late.jsonl", [
        record("2026-11-02T09:00:00.000Z", "2" * 16, None, "a.x"),
        record("9999-12-31T23:59:59.999Z", "1" * 16, None, "late.x"),
        record("0001-01-01T00:00:00+01:00", "3" * 16, None, "early.x")])
    for argv in (("story", path, TRACE), ("query", path)):
        status, out, err = cli(capsys, lab.main, *argv)
        assert status == 0 and "late.x" in out, err
        assert "early.x" in out or "1 bad timestamp" in err, err
    status, out, err = cli(capsys, lab.main, "query", path, "--json")
    assert status == 0 and '"9999-12-31T23:59:59.999Z"' in out


# ── memory: a line too long, on every path ──────────────────────────────────────────────────────

@pytest.fixture
def long_lines(tmp_path) -> Path:
    """Four requests of one trace, between two 5,000-byte lines: one naming the trace, one not."""
    named = record("2026-11-02T09:00:00.500Z", "9" * 16, None, "x" * 5000)
    plain = {"body": "y" * 5000}
    path = tmp_path / "long.jsonl"
    write(path, [named, plain, *(completed(s) for s in (1, 2, 3, 4)), plain, named])
    return path


def test_a_line_too_long_is_skipped_and_counted_on_every_reading_path(long_lines, tmp_path, capsys,
                                                                    monkeypatch):
    zipped = tmp_path / "long.jsonl.gz"
    zipped.write_bytes(gzip.compress(long_lines.read_bytes()))
    for path in (long_lines, zipped):
        status, out, err = cli(capsys, lab.main, "query", path, "--count-by", "body",
                               "--max-line", 1000)
        assert status == 0 and "4 too long (first at line 1)" in err, err
        status, out, err = cli(capsys, dashboard.main, "--from", path, "--max-line", 1000)
        assert status == 0 and "4 too long" in err, err
        # story reads only the lines that name the trace: the two long ones are counted
        monkeypatch.setattr(lab, "CHUNK_BYTES", 4096)     # a gzip read in chunks smaller than a line
        status, out, err = cli(capsys, lab.main, "story", path, TRACE, "--max-line", 1000)
        assert status == 0 and "2 too long (first at line 1)" in err, err
        assert "4 records" in out
    # standard input, and a big file split between processes
    for argv in (["query", "-", "--count-by", "body"], ["story", "-", TRACE]):
        out = subprocess.run([sys.executable, "solution/tools/logs.py", *argv, "--max-line", "1000"],
                             cwd=ROOT, input=long_lines.read_bytes(), capture_output=True, timeout=60)
        assert out.returncode == 0 and b" too long" in out.stderr, out.stderr
    header, rows, total, bad = lab.parallel_query(str(long_lines), [], ["body"], [], 20,
                                                  str(long_lines), workers=3,
                                                  reading=logread.Reading(max_line=1000))
    assert bad.reasons == {"too long": 4} and total == 4


def test_a_split_point_inside_a_long_line_is_found_without_holding_the_line(tmp_path):
    path = tmp_path / "one.jsonl"
    path.write_bytes(b"a" * 300_000 + b"\nb\n")
    with path.open("rb") as stream:
        stream.seek(10)
        assert logread._after_line_end(stream) == 300_001


def test_a_gzip_bomb_is_stopped_with_a_clear_error(tmp_path, capsys):
    bomb = tmp_path / "bomb.gz"
    bomb.write_bytes(gzip.compress((b" " * 1023 + b"\n") * 4096))    # 4 MB of blanks in 4 KB
    for main, argv in ((lab.main, ("query", bomb, "--count-by", "body")),
                       (lab.main, ("story", bomb, TRACE)), (dashboard.main, ("--from", bomb))):
        status, out, err = cli(capsys, main, *argv)
        assert status == 2 and "gzip bomb" in err, err


def test_prometheus_label_values_are_bounded_to_the_most_frequent(tmp_path, capsys):
    # 150 distinct priorities (one request each) beside 30 interactive requests: the exposition
    # labels the 20 most frequent (interactive, p000 ... p018), sums the rest as "other", and
    # still counts every request
    requests = [completed(s % 60, priority="interactive") for s in range(30)]
    requests += [completed(s % 60, priority=f"p{s:03d}") for s in range(150)]
    path = write(tmp_path / "labels.jsonl", requests)
    status, out, err = cli(capsys, dashboard.main, "--from", path, "--prom", tmp_path / "m.prom")
    metrics = (tmp_path / "m.prom").read_text()
    counts = {line.split('priority="')[1].split('"')[0]: int(line.rsplit(" ", 1)[1])
              for line in metrics.splitlines() if line.startswith("opslab_requests_total{")}
    assert status == 0 and 'priority="other"' in err and "# opslab: more than 100" in metrics
    assert len(counts) == 21 and counts["interactive"] == 30 and sum(counts.values()) == 180
    assert counts["other"] == 150 - 19 and "p018" in counts and "p019" not in counts


# ── nothing hostile on the screen ───────────────────────────────────────────────────────────────

def test_a_file_name_with_escapes_is_shown_never_obeyed(long_lines, tmp_path, capsys):
    evil = tmp_path / "ev\x1b[31m\u202eil.jsonl"
    evil.write_bytes(long_lines.read_bytes())
    status, out, err = cli(capsys, dashboard.main, "--from", evil, "--max-line", 1000)
    assert status == 0 and "\x1b" not in out + err and "\u202e" not in out + err
    assert "ev\\x1b[31m\\u202eil.jsonl" in out
    status, out, err = cli(capsys, lab.main, "query", tmp_path / "no\x1b]0;x\x07such")
    assert status == 2 and err == f"error: {tmp_path}/no\\x1b]0;x\\x07such: no such file\n"


def test_an_error_message_goes_through_the_neutralizer(capsys):
    assert fail("bad \u202evalue\x1b[2J") == 2
    assert capsys.readouterr().err == "error: bad \\u202evalue\\x1b[2J\n"


def test_a_keys_file_that_never_ends_is_refused_quickly():
    with pytest.raises(ValueError, match="not a file of keys"):
        gateway.read_keys([], "/dev/zero")
