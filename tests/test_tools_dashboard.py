"""Lab 2's tool (solution/tools/dashboard.py): a lab-1 log as input, the HTML page, the Prometheus
exposition, the command line."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from solution import lab2_dashboard as lesson
from solution.tools import dashboard as lab
from solution.tools import show
from solution.tools.logread import LogReadError
from solution.tools.tally import tally_of

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "solution" / "tools" / "dashboard.py"


@pytest.fixture(scope="module")
def result(default_results):
    return default_results[2]


def run_log(path):
    """The dashboard of a log, as the tool computes it."""
    log = lab.read_log(str(path))
    return lab.dashboard_of(log, str(path), lesson.traffic.STORY.capacity)


def windows(log):
    """Per window that holds requests: (its start, requests, first and last start) on the chart's
    clock, rounded to the millisecond."""
    w = log.tally.window_s
    return [(round(k * w - log.zero, 3), slot.count, round(slot.first - log.zero, 3),
             round(slot.last - log.zero, 3)) for k, slot in log.tally.requests()]


def test_the_html_page_parses_and_holds_one_chart_per_signal(result, html_tags):
    tags, external = html_tags(lab.html_report(result))
    # the Show card's, then one a signal, each drawn twice (wide for a page, narrow for a phone)
    assert tags.count("svg") == 2 * (1 + 4) == 2 * (1 + len(lesson.SIGNALS))
    assert "script" not in tags and not external
    charts = show.lab2_charts(result)
    assert all("stroke-dasharray" in c and "threshold" in c for c in charts)   # the lines drawn
    assert all("<rect" in c for c in charts)                                   # breaches shaded


def exposition_metrics(text):
    helps = set(re.findall(r"^# HELP (\S+) ", text, re.M))
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    samples = re.findall(r"^([a-z_]+)(\{[^}]*\})? (\S+)$", text, re.M)
    return helps, types, samples


def test_the_exposition_has_help_and_type_and_cumulative_buckets_ending_at_inf(story, result):
    text = lab.exposition(tally_of(story), result)
    helps, types, samples = exposition_metrics(text)
    assert helps == set(types) and {"counter", "histogram", "gauge"} == set(types.values())
    for name, _, _ in samples:
        base = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
        assert base in types, name
    for name in (n for n, kind in types.items() if kind == "histogram"):
        series = {}
        for sample, labels, value in samples:
            if sample == f"{name}_bucket":
                key = re.sub(r',?le="[^"]*"', "", labels)
                series.setdefault(key, []).append((re.search(r'le="([^"]*)"', labels).group(1), int(value)))
        assert series
        for key, buckets in series.items():
            values = [v for _, v in buckets]
            assert values == sorted(values) and buckets[-1][0] == "+Inf"
            count = next(int(v) for s, labels, v in samples if s == f"{name}_count" and labels == key)
            assert buckets[-1][1] == count
    assert sum(int(v) for s, _, v in samples if s == "opslab_requests_total") == result.requests


def log_line(timestamp, latency_ms, status=200, priority="interactive", body="request.completed"):
    return json.dumps({"timestamp": timestamp, "severity_text": "INFO", "severity_number": 9,
                       "body": body, "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
                       "span_id": "00f067aa0ba902b7", "parent_span_id": None,
                       "attributes": {"tenant": "acme", "priority": priority, "topic": "billing",
                                      "http.response.status_code": status, "latency_ms": latency_ms,
                                      "ttft_ms": 300.0, "gen_ai.request.model": "opslab-chat-1",
                                      "gen_ai.usage.input_tokens": 400, "gen_ai.usage.output_tokens": 80}})


def test_a_story_log_reads_on_the_story_clock_skipping_and_counting_bad_lines(tmp_path):
    path = tmp_path / "story.jsonl"
    path.write_text("\n".join([
        log_line("2026-11-02T09:00:01.500Z", 1500.0),              # started 9:00:00.000 -> 0:00
        json.dumps({"timestamp": "2026-11-02T09:00:02.000Z", "body": "span.end"}),   # not a request
        log_line("2026-11-02T09:01:05.000Z", 2000.0, status=503),  # started 0:01:03
        '{"timestamp": "2026-11-02T09:01:09.000Z", "body": "request.completed", "attributes": {}}',
        '{"timestamp": "2026-11-02T09:01:09.500Z", "body": "request.completed", "attri',  # cut off
        log_line("2026-11-02T09:01:10.000Z", 4000.0),              # started 0:01:06
        "{not json, and no request either: not even read",
    ]) + "\n")
    log = lab.read_log(str(path))
    assert log.from_story and log.clock_zero == "2026-11-02T09:00:00.000Z"
    assert windows(log) == [(0.0, 1, 0.0, 0.0), (60.0, 2, 63.0, 66.0)]
    assert log.bad == 2 and log.reasons == {"not JSON": 1, "no latency_ms": 1}
    assert "line 5" in log.warnings[0] and "1 request.completed line(s)" in log.warnings[1]
    result = run_log(path)
    assert result.requests == 3 and len(result.windows) == 2 and result.has_truth
    assert result.windows[1].error_ratio == 0.5 and result.windows[1].p50_s == pytest.approx(4.0)
    out = subprocess.run([sys.executable, str(SCRIPT), "--from", str(path)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and "skipped 1 bad line(s): 1 not JSON (first at line 5)" in out.stderr
    assert "skipped 1 request.completed line(s)" in out.stderr and "1 no latency_ms (first at line 4" in out.stderr


def test_a_story_request_that_starts_a_rounding_before_9_00_starts_at_0_00(tmp_path):
    # logged at 09:00:01.000 after 1,000.4 ms: it started 0.4 ms before the story's 0:00, an
    # artefact of the log's milliseconds; the clock stays on 9:00, not a minute earlier
    path = tmp_path / "first.jsonl"
    path.write_text(log_line("2026-11-02T09:00:01.000Z", 1000.4) + "\n" +
                    log_line("2026-11-02T09:00:30.000Z", 1000.0) + "\n")
    log = lab.read_log(str(path))
    assert log.from_story and log.clock_zero == "2026-11-02T09:00:00.000Z"
    assert windows(log) == [(0.0, 2, 0.0, 29.0)]


def test_a_log_of_part_of_the_story_keeps_its_minutes_and_its_truth(tmp_path):
    # two requests during the error burst (2:00-2:20): the clock starts at 2:00, 11:00 UTC
    path = tmp_path / "burst.jsonl"
    path.write_text(log_line("2026-11-02T11:00:40Z", 10.0, status=503) + "\n" +
                    log_line("2026-11-02T11:03:00Z", 1500.0) + "\n")
    log = lab.read_log(str(path))
    assert log.clock_zero == "2026-11-02T11:00:00.000Z"
    assert windows(log) == [(0.0, 1, 39.99, 39.99), (120.0, 1, 178.5, 178.5)]
    # the truth comes along on that clock: the burst from 0:00 to 0:20, and the content drift
    # (from 3:00, an hour after the clock's 0:00) is left out: it begins after the last request
    assert [(i.name, i.start_s, i.end_s) for i in log.incidents] == [("upstream error burst", 0.0, 1200.0)]


def test_a_log_from_elsewhere_starts_its_clock_at_its_first_requests_minute(tmp_path):
    path = tmp_path / "elsewhere.jsonl"
    path.write_text(log_line("2025-03-01T12:00:12Z", 2000.0) + "\n" +
                    log_line("2025-03-01T12:02:30.250Z", 250.0, priority="batch") + "\n")
    log = lab.read_log(str(path))
    assert not log.from_story and log.clock_zero == "2025-03-01T12:00:00.000Z"
    assert windows(log) == [(0.0, 1, 10.0, 10.0), (120.0, 1, 150.0, 150.0)]
    result = run_log(path)
    assert len(result.windows) == 3 and result.incidents == () and not result.has_truth
    # five-minute windows: 0:00 is on the grid of both five minutes and one (lcm(300, 60) s)
    five = lab.read_log(str(path), window_s=300)
    assert five.clock_zero == "2025-03-01T12:00:00.000Z" and windows(five) == [(0.0, 2, 10.0, 150.0)]
    # 45-second windows: 0:00 on the grid of lcm(45, 60) = 180 s from the Unix epoch
    odd = lab.read_log(str(path), window_s=45)
    assert (lab.timestamp(odd.clock_zero) % 180, windows(odd)) == (0, [(0.0, 1, 10.0, 10.0), (135.0, 1, 150.0, 150.0)])
    with pytest.raises(ValueError, match="a whole number of seconds"):
        lab.read_log(str(path), window_s=45.5)


def test_a_log_without_requests_is_a_clear_error(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text(json.dumps({"body": "span.end"}) + "\n")
    with pytest.raises(LogReadError, match="no usable request.completed lines"):
        lab.read_log(str(path))


def test_the_script_writes_html_and_prometheus_files_and_prints_no_colour_to_a_pipe(tmp_path):
    out = subprocess.run([sys.executable, str(SCRIPT), "--html", str(tmp_path / "d.html"), "--prom", str(tmp_path / "m.prom")],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "\033[" not in out.stdout and "wrote" not in out.stdout and "wrote" in out.stderr
    assert (tmp_path / "d.html").read_text().count('class="wide chart-wide"><svg') == 1 + 4
    assert "# TYPE opslab_request_duration_seconds histogram" in (tmp_path / "m.prom").read_text()




def test_a_missing_log_is_a_clear_error(capsys):
    assert lab.main(["--from", "/nonexistent/story.jsonl"]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and "Traceback" not in err and len(err.splitlines()) == 1


def test_a_chart_title_gives_the_datas_highest_value_and_the_legend_names_every_mark():
    from solution.tools.page import svg_chart
    chart = svg_chart([1.0, 5.0, None, 3.0], "waits", threshold=10.0, shade=[1], unit=" s",
                      shaded="the burst")
    assert "(highest 5 s)" in chart and "(highest 10" not in chart       # not the axis top
    assert ">dashed: the threshold, 10 s<" in chart and ">shaded red: the burst<" in chart
    plain = svg_chart([2.0, 4.0], "plain")
    assert "(highest 4)" in plain and "dashed:" not in plain and "shaded:" not in plain


# ── clocks that make no sense ───────────────────────────────────────────────────────────────────

def test_one_line_from_1970_is_left_out_and_counted_not_charted_for_56_years(tmp_path):
    # before: the windows ran from 1970 to 2026, 29 million of them, until memory ran out
    path = tmp_path / "odd.jsonl"
    minutes = [log_line(f"2025-03-01T12:{m:02d}:30Z", 800.0) for m in range(30)]
    path.write_text("\n".join([log_line("1970-01-01T00:00:05Z", 800.0), *minutes]) + "\n")
    log = lab.read_log(str(path))
    assert len(log.tally) == 30 and log.clock_zero == "2025-03-01T12:00:00.000Z"
    assert "left out 1 request line(s) that started far outside the bulk of the log" in log.warnings[-1]
    assert len(run_log(path).windows) == 30


def test_since_and_until_pick_the_span_and_a_span_too_long_is_refused_by_name(tmp_path, capsys):
    path = tmp_path / "two.jsonl"
    path.write_text("\n".join([log_line("2025-03-01T12:00:30Z", 500.0),
                               log_line("2025-03-01T12:10:30Z", 500.0),
                               log_line("2025-06-01T12:00:30Z", 500.0)]) + "\n")
    log = lab.read_log(str(path), since=lab.timestamp("2025-03-01T12:05:00Z"),
                       until=lab.timestamp("2025-03-02T00:00:00Z"))
    assert len(log.tally) == 1 and "left out 2 request line(s) that started outside --since/--until" in log.warnings[-1]
    # three months between the lines: the bulk is all of them, and 92 days is too long to chart
    assert lab.main(["--from", str(path)]) == 2
    assert "span 92.0 days, more than 7; give --since and --until" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        lab.main(["--from", str(path), "--since", "last tuesday"])
    assert exit_.value.code == 2 and "not an RFC 3339 time" in capsys.readouterr().err


def test_a_clock_gone_wild_is_refused_before_it_fills_memory_and_since_until_still_read_it(tmp_path, monkeypatch, capsys):
    # one request a day for 40 days, in one-day windows: 40 windows. Allowed a week of them and 5
    # strays, the reader stops at the 13th window it meets, before the span is known, and says
    # what to do; the part that --since and --until pick (4 windows) still reads
    path = tmp_path / "wild.jsonl"
    path.write_text("\n".join(log_line(f"2025-03-{d:02d}T12:00:30Z", 500.0) for d in range(1, 29)) + "\n" +
                    "\n".join(log_line(f"2025-04-{d:02d}T12:00:30Z", 500.0) for d in range(1, 13)) + "\n")
    monkeypatch.setattr(lab, "STRAY_WINDOWS", 5)
    assert len(lab.read_log(str(path), since=lab.timestamp("2025-03-01T00:00:00Z"),
                            until=lab.timestamp("2025-03-05T00:00:00Z"), window_s=86_400).tally) == 4
    with pytest.raises(LogReadError, match=r"wild.jsonl: the requests' start times fall in more than 12 "
                                           r"windows of 86400 s .*give --since and --until"):
        lab.read_log(str(path), window_s=86_400)
    assert lab.main(["--from", str(path), "--window", "86400"]) == 2
    assert "more than 12 windows" in capsys.readouterr().err


def test_metrics_to_standard_output_pipe_cleanly_and_alone(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert lab.main(["--prom", "-"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# HELP ") and "Golden signals" not in out
    assert not list(tmp_path.iterdir())                      # no file named "-"


def test_epoch_timestamps_in_any_unit_read_as_rfc_3339_does_and_a_zoneless_one_is_refused(tmp_path):
    from solution.tools.logread import parse_time
    at = lab.timestamp("2025-03-01T12:00:02Z")                 # 1740830402
    assert [parse_time(v) for v in (1740830402, 1740830402000, 1740830402000000,
                                    1740830402000000000, "2025-03-01T13:00:02+01:00")] == [at] * 5
    with pytest.raises(ValueError, match="without a time zone"):
        parse_time("2025-03-01T12:00:02")
    rfc, epoch = tmp_path / "rfc.jsonl", tmp_path / "epoch.jsonl"
    rfc.write_text(log_line("2025-03-01T12:00:02Z", 2000.0) + "\n" + log_line("2025-03-01T12:02:30.250Z", 250.0) + "\n")
    lines = [json.loads(line) for line in rfc.read_text().splitlines()]
    for line, ms in zip(lines, (1740830402000, 1740830550250)):
        line["timestamp"] = ms                                  # epoch milliseconds
    epoch.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    assert lab.read_log(str(epoch)).tally == lab.read_log(str(rfc)).tally
    lines[0]["timestamp"] = "2025-03-01T12:00:02"              # whose clock?
    epoch.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    log = lab.read_log(str(epoch))
    assert len(log.tally) == 1 and log.reasons == {"time without a zone": 1}
    assert "1 time without a zone (first at line 1; give --tz UTC" in log.warnings[0]
    from solution.tools.logread import Reading, parse_zone
    utc, ahead = Reading(zone=parse_zone("UTC")), Reading(zone=parse_zone("+01:00"))
    # --tz UTC: read, as UTC; an hour ahead: an hour earlier
    assert lab.read_log(str(epoch), reading=utc).tally == lab.read_log(str(rfc)).tally
    assert lab.read_log(str(epoch), reading=ahead).tally.first() == lab.read_log(str(rfc)).tally.first() - 3600


# ── the page, as a practitioner reads it ────────────────────────────────────────────────────────

class ChartReader:
    """Every <svg> of a page: its <title>, and the texts of its ticks (x axis) and value axis."""

    def __init__(self, page: str):
        from html.parser import HTMLParser
        self.charts: list[dict] = []
        reader = self

        class Parser(HTMLParser):
            def __init__(self):
                super().__init__()
                self.inside, self.anchor = None, None

            def handle_starttag(self, tag, attrs):
                attrs = dict(attrs)
                if tag == "svg":
                    reader.charts.append({"title": "", "texts": [], "viewBox": attrs.get("viewbox")})
                self.inside = tag
                self.anchor = attrs.get("text-anchor")

            def handle_data(self, data):
                if reader.charts and self.inside == "title" and not reader.charts[-1]["title"]:
                    reader.charts[-1]["title"] = data              # the chart's own, not a mark's
                elif reader.charts and self.inside == "text":
                    reader.charts[-1]["texts"].append((self.anchor, data))

        Parser().feed(page)


def test_every_chart_has_a_time_axis_a_value_axis_with_units_and_a_title(result):
    charts = ChartReader(lab.html_report(result)).charts[2:]      # after the Show card's two
    charts = [c for c in charts if c["viewBox"].startswith("0 0 720 ")]      # the wide drawings
    assert len(charts) == 4
    for chart, unit in zip(charts, ("s", "req/s", "%", "%")):
        ticks = [text for anchor, text in chart["texts"] if anchor == "middle"]
        assert ticks == ["0:00", "1:00", "2:00", "3:00", "4:00", "5:00"], ticks      # h:mm, hourly
        values = [text for anchor, text in chart["texts"] if anchor == "end" and text[0].isdigit()]
        assert values[0] == f"0 {unit}" and all(v.endswith(unit) for v in values), values
        assert any(text.startswith("threshold") and text.endswith(unit) for _, text in chart["texts"])
        assert "(highest " in chart["title"] and chart["viewBox"]


def test_the_page_has_a_dark_scheme_scales_to_a_phone_and_names_no_absolute_path(tmp_path):
    log = tmp_path / "deep" / "private" / "app.jsonl"
    log.parent.mkdir(parents=True)
    log.write_text(log_line("2025-03-01T12:00:02Z", 2000.0) + "\n" +
                   log_line("2025-03-01T12:02:30.250Z", 250.0) + "\n")
    page = lab.html_report(run_log(log), str(log))
    assert str(tmp_path) not in page and "app.jsonl" in page
    assert "@media (prefers-color-scheme: dark)" in page and 'name="viewport"' in page
    assert "svg.chart{display:block;margin:0.5em 0;width:100%;height:auto" in page
    assert "@media print{svg.chart,pre,table,.show,.wide{break-inside:avoid}" in page


def test_lab1s_chart_has_no_false_cliff_at_the_end_of_the_window(default_results):
    # the burst's failures counted by the minute each request started: 20 whole minutes, and
    # together every failure (602), so no last, nearly empty minute drawn as a drop to zero
    burst = default_results[1]
    per_minute = show.failed_per_minute(burst.log)
    assert len(per_minute) == 20 and sum(per_minute) == burst.failed and min(per_minute) > 5


def test_a_foreign_log_leaves_saturation_out_until_given_its_capacity(tmp_path, capsys):
    path = tmp_path / "elsewhere.jsonl"
    ends = [f"2025-03-01T12:{(s + 4) // 60:02d}:{(s + 4) % 60:02d}Z" for s in range(0, 60, 2)]
    path.write_text("\n".join(log_line(end, 4000.0) for end in ends) + "\n")
    assert lab.main(["--from", str(path), "--prom", "-"]) == 0
    out, err = capsys.readouterr()
    assert "saturation left out" in err and "opslab_saturation_ratio" not in out   # not guessed
    assert lab.main(["--from", str(path), "--capacity", "20", "--prom", "-"]) == 0
    out, err = capsys.readouterr()
    assert "saturation left out" not in err and "opslab_saturation_ratio 0.0983" in out
    # 30 requests of 4 s, one every 2 s from 0:00: 29 end inside the first minute, the last
    # (from 58 s) spends 2 s in it: 118 busy seconds, 1.97 in flight, 19.7 % of 10 slots
    log = lab.read_log(str(path))
    ten, twenty = (lab.dashboard_of(log, str(path), c).windows[0] for c in (10, 20))
    assert ten.saturation == pytest.approx(118 / 60 / 10) and twenty.saturation == pytest.approx(118 / 60 / 20)


def test_shading_stays_inside_the_plot_and_the_show_card_tells_the_drift():
    import re as re_
    from solution import lab3_online_eval as lab3
    from solution.tools.page import svg_chart
    chart = svg_chart([1.0, 2.0, 3.0], "t", shade=[0, 2])
    for drawn, size in zip(chart.split("</svg>"), (720, 320)):
        for x, width in re_.findall(r'<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', drawn):
            assert 44 <= float(x) and float(x) + float(width) <= size - 30 + 1e-9
    card = show.show_card(lab3.run(), 7)
    text = re_.sub(r"<[^>]+>", " ", card.split("<svg")[0])
    # the handout's numbers (lab 3, What to look for), and the command that reproduces them
    for fact in ("passed 93.8 %", "alarmed at 3:01, 1.0 min after it began at 3:00", "to 69.4 %",
                 "smartsync (27 % of the answers, passing 0.0 %)"):
        assert fact in " ".join(text.split()), fact
    assert "python3 solution/lab3_online_eval.py --seed 7" in card and card.count("<svg") == 2


def test_a_log_read_by_several_processes_gives_the_same_requests_and_bad_lines(
        tmp_path, monkeypatch, default_results):
    # the story's burst with bad lines at the start, the middle and the end, read in stretches
    # (any plain file split, 3 processes) and in one pass: the same requests, counts and lines
    from solution.tools import logread
    lines = default_results[1].log.encode().splitlines(keepends=True)
    salted = [b'{"body": "request.completed", "cut off\n', *lines[:2500],
              b'{"body": "request.completed", "attributes": {}}\n', *lines[2500:], b"\xffrequest.completed\n"]
    path = tmp_path / "split.jsonl"
    path.write_bytes(b"".join(salted))
    one = lab.read_log(str(path))
    monkeypatch.setattr(logread, "SPLIT_BYTES", 0)
    monkeypatch.setattr(logread.os, "cpu_count", lambda: 3)
    calls = []
    monkeypatch.setattr(lab, "in_stretches", lambda *a: calls.append(a) or logread.in_stretches(*a))
    split = lab.read_log(str(path))
    assert len(calls) == 1 and split == one and len(one.tally) == 1193
    assert one.reasons == {"not JSON": 1, "not UTF-8": 1, "missing fields (timestamp)": 1}
    # each reason's first line, numbered in the whole file whichever process read it
    assert all(f"1 {why} (first at line {n})" in one.warnings[0] for why, n in (
        ("not JSON", 1), ("missing fields (timestamp)", 2502), ("not UTF-8", len(lines) + 3))) and one.bad == 3


# ── logs as real programs write them ────────────────────────────────────────────────────────────

def test_the_story_is_known_by_its_mark_never_by_its_dates(tmp_path):
    # a log of your own, from the very hours of the story's error burst: not scored against it
    lines = [log_line("2026-11-02T11:00:40Z", 10.0, status=503), log_line("2026-11-02T11:03:00Z", 1500.0)]
    own = [json.loads(line) for line in lines]
    for record in own:
        record["attributes"]["gen_ai.request.model"] = "my-model-7b"
    path = tmp_path / "mine.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in own) + "\n")
    log = lab.read_log(str(path))
    assert not log.from_story and log.incidents == ()
    # the story's own lines name its model: the same times, and the truth comes along
    path.write_text("\n".join(lines) + "\n")
    assert lab.read_log(str(path)).from_story
    # one line of another model among the story's: the log is not the story's
    path.write_text("\n".join([*lines, json.dumps(own[1])]) + "\n")
    assert not lab.read_log(str(path)).from_story


def request_line(**fields):
    attributes = {"http.response.status_code": 200, "latency_ms": 800.0, **fields.pop("attributes", {})}
    return json.dumps({"timestamp": "2025-03-01T12:00:02Z", "body": "request.completed",
                       "attributes": attributes, **fields})


@pytest.mark.parametrize("line,said", [
    (request_line(timestamp="2025-03-01 12:00:02"), "1 time without a zone (first at line 1; give --tz UTC"),
    (request_line(attributes={"http.response.status_code": "503"}),
     "1 http.response.status_code is text (first at line 1; '503': --map "
     'attributes.http.response.status_code=<your field>:number)'),
    (request_line(attributes={"latency_ms": "1.289s"}),
     "1 latency_ms is text (first at line 1; '1.289s' is a duration: --map "
     'attributes.latency_ms=<your field>:duration)'),
    (request_line(attributes={"latency_ms": None}), "1 latency_ms not a number (first at line 1)"),
    ("request.completed at 12:00:02 in 800 ms", "1 not JSON (first at line 1)"),
])
def test_a_log_without_usable_requests_says_why_and_what_would_fix_it(tmp_path, line, said):
    # before: "no usable request.completed lines" whatever the cause
    path = tmp_path / "bad.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(LogReadError) as error:
        lab.read_log(str(path))
    assert "no usable request.completed lines: " + said in str(error.value)


def test_latencies_that_look_like_seconds_get_a_warning(tmp_path, capsys):
    # nginx's $request_time is in seconds: mapped as milliseconds, p90 would chart as 0.00 s
    path = tmp_path / "nginx.jsonl"
    path.write_text("\n".join(request_line(attributes={"latency_ms": x}) for x in (0.12, 0.3, 0.25, 1.4)) + "\n")
    log = lab.read_log(str(path))
    assert any("under 1 ms" in w and "latency_ms=<your field>:seconds" in w for w in log.warnings)
    path.write_text("\n".join(request_line(attributes={"latency_ms": x}) for x in (120, 300, 250, 0.5)) + "\n")
    assert not any("under 1 ms" in w for w in lab.read_log(str(path)).warnings)


def test_reading_flags_apply_only_with_from(capsys):
    for flag in (["--tz", "UTC"], ["--format", "cri"]):
        with pytest.raises(SystemExit):
            lab.main(flag)
        assert "only applies with --from" in capsys.readouterr().err
