"""Lab 2's SLOs as Prometheus rules (solution/tools/slorules.py, dashboard.py --rules): the rule
text against hand-worked thresholds, the YAML read back by a parser of our own, the promtool test's
series and expected alerts against the story counted here, and promtool itself where installed."""

import argparse
import json
import re
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from solution import traffic
from solution.tools import dashboard
from solution.tools import slorules as R

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is not installed (Debian: apt-get install prometheus); "
                             "the stdlib tests above check the same files without it")
WINDOWS = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]           # the SRE Workbook's
ERRORS = 'opslab_gateway_requests_total{outcome=~"upstream_error|upstream_timeout|overload|shed"}'


# ── a parser for the YAML the tool writes: block maps and lists, JSON values, comments ──────────

def parse_yaml(text):
    lines = [(len(raw) - len(raw.lstrip(" ")), raw.strip()) for raw in text.splitlines()
             if raw.strip() and not raw.strip().startswith("#")]
    value, pos = _node(lines, 0, lines[0][0])
    assert pos == len(lines), lines[pos]
    return value


def _node(lines, pos, indent):
    if not lines[pos][1].startswith("- "):
        return _map(lines, pos, indent)
    out = []
    while pos < len(lines) and lines[pos][0] == indent and lines[pos][1].startswith("- "):
        rest = lines[pos][1][2:]
        if re.match(r'([a-z_]+|"[^"]*"):( |$)', rest):          # a map opening on the dash line
            lines[pos] = (indent + 2, rest)
            item, pos = _map(lines, pos, indent + 2)
        else:
            item, pos = json.loads(rest), pos + 1
        out.append(item)
    return out, pos


def _map(lines, pos, indent):
    out = {}
    while pos < len(lines) and lines[pos][0] == indent and not lines[pos][1].startswith("- "):
        m = re.fullmatch(r'([a-z_]+|"[^"]*"):(?: (.*))?', lines[pos][1])
        assert m, lines[pos]
        key = json.loads(m[1]) if m[1].startswith('"') else m[1]
        assert key not in out
        if m[2] is not None:
            out[key], pos = json.loads(m[2]), pos + 1
        else:
            out[key], pos = _node(lines, pos + 1, lines[pos + 1][0])
    return out, pos


def expand(values):
    """promtool's expanding notation back into numbers: `a+bxn` is n + 1 values."""
    out = []
    for token in values.split():
        m = re.fullmatch(r"(\d+)\+(\d+)x(\d+)", token)
        out += [int(m[1]) + i * int(m[2]) for i in range(int(m[3]) + 1)] if m else [int(token)]
    return out


# ── the files, written by the tool's own command line ──────────────────────────────────────────

def write(tmp_path, *flags, log=None):
    """dashboard.py --rules/--rules-test/--scrape-config into tmp_path; the parsed files."""
    argv = ["--rules", str(tmp_path / "slo.rules.yml"), "--rules-test", str(tmp_path / "slo.test.yml"),
            "--scrape-config", str(tmp_path / "prometheus.yml"), *flags]
    if log:
        argv += ["--from", str(log)]
    assert dashboard.main(argv) == 0
    return {name: parse_yaml((tmp_path / name).read_text(encoding="utf-8"))
            for name in ("slo.rules.yml", "slo.test.yml", "prometheus.yml", "slo.rules.sloth.yml")}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """The default files, written once by the command line: (their folder, parsed)."""
    folder = tmp_path_factory.mktemp("default")
    return folder, write(folder)


@pytest.fixture(scope="module")
def default(written):
    return written[1]


@pytest.fixture(scope="module")
def lab(story):
    """Lab 2 on the story: its per-minute counts and its result (verdicts)."""
    from solution import lab2_dashboard as lab2
    measured = lab2.measure(story, window_s=60.0, duration_s=traffic.STORY.duration_s,
                            capacity=traffic.STORY.capacity, latency_limit_s=6.0)
    return measured.per_minute, lab2.run(measured=measured)


def rules_of(slos, sli=R.SLI(), for_s=0.0):
    """The rules for these SLOs, written and parsed back (no story needed)."""
    return parse_yaml(R.yaml_text({"groups": R.rule_groups(sli, slos, for_s)}))


def alerts(rules):
    return [r for g in rules["groups"] for r in g["rules"] if "alert" in r]


THRESHOLD = re.compile(r'opslab:slo_errors_per_request:ratio_rate(\w+)\{slo="(\w+)"\} > '
                       r'\(([\d.]+) \* ([\d.]+)\)')


def thresholds(rules):
    """(slo, severity, long, short) -> (burn factor, budget) read back from each alert's expr."""
    out = {}
    for a in alerts(rules):
        assert len(a["expr"].split(" and ")) == 2
        (w1, s1, f1, b1), (w2, s2, f2, b2) = THRESHOLD.findall(a["expr"])
        assert (s1, f1, b1) == (s2, f2, b2) == (a["labels"]["slo"], f1, b1)
        out[(s1, a["labels"]["severity"], w1, w2)] = (float(f1), float(b1))
    return out


def test_the_alerts_carry_the_workbooks_thresholds_worked_by_hand(default):
    got = thresholds(default["slo.rules.yml"])
    # SRE Workbook, 30 days: 2 % in 1 h = 0.02 x 720 / 1 = 14.4; 5 % in 6 h = 6; 10 % in 1 d = 3;
    # 10 % in 3 d = 1. Budgets: 1 - 0.995 and 1 - 0.99.
    for slo, budget in (("availability", 0.005), ("latency", 0.01)):
        assert got[(slo, "page", "1h", "5m")] == (14.4, budget)
        assert got[(slo, "page", "6h", "30m")] == (6.0, budget)
        assert got[(slo, "ticket", "1d", "2h")] == (3.0, budget)
        assert got[(slo, "ticket", "3d", "6h")] == (1.0, budget)
    assert len(got) == 8


def test_a_28_day_period_and_a_999_slo_give_the_workbooks_other_numbers(tmp_path):
    got = thresholds(rules_of(R.objectives(0.999, 0.99, 28)))
    factor, budget = got[("availability", "page", "1h", "5m")]
    assert (factor, budget) == (13.44, 0.001)                         # 0.02 x 672 / 1
    assert got[("availability", "page", "6h", "30m")][0] == 5.6       # 0.05 x 672 / 6
    assert got[("availability", "ticket", "3d", "6h")][0] == pytest.approx(0.9333333, abs=1e-6)
    assert R.Objective("availability", 0.999).threshold(R.PAIRS[0]) * 0.001 == pytest.approx(0.0144)


def test_every_workbook_window_is_recorded_as_errors_over_requests(default):
    groups = default["slo.rules.yml"]["groups"]
    assert [g["name"] for g in groups] == ["opslab-slo-availability", "opslab-slo-latency"]
    for group in groups:
        records = [r for r in group["rules"] if "record" in r]
        assert [r["record"].rsplit("rate", 1)[1] for r in records] == WINDOWS
        assert group["rules"].index(records[-1]) < group["rules"].index(alerts({"groups": [group]})[0])
    avail = [r for r in groups[0]["rules"] if "record" in r]
    for rule, window in zip(avail, WINDOWS):
        assert rule["expr"] == (f"sum(rate({ERRORS}[{window}])) / "
                                f"sum(rate(opslab_gateway_requests_total[{window}]))")
        assert rule["labels"] == {"slo": "availability"}
    latency = [r for r in groups[1]["rules"] if "record" in r][2]
    count = 'opslab_gateway_request_duration_seconds_count{outcome="ok"}[1h]'
    bucket = 'opslab_gateway_request_duration_seconds_bucket{outcome="ok",le="6.0"}[1h]'
    assert latency["expr"] == f"(sum(rate({count})) - sum(rate({bucket}))) / sum(rate({count}))"


def test_each_pair_is_a_page_or_a_ticket_that_says_what_burned(default):
    for a in alerts(default["slo.rules.yml"]):
        assert a["alert"] == "SLOErrorBudgetBurn" and "for" not in a
        labels, text = a["labels"], a["annotations"]["summary"]
        assert labels["severity"] == ("page" if labels["long_window"] in ("1h", "6h") else "ticket")
        share = {"1h": "2 %", "6h": "5 %", "1d": "10 %", "3d": "10 %"}[labels["long_window"]]
        assert f"{share} of the 30-day error budget burned in {labels['long_window']}" in text
    page = alerts(default["slo.rules.yml"])[0]
    assert "gone in 50 hours" in page["annotations"]["description"]      # 720 h / 14.4


def test_the_gateway_exports_the_series_the_rules_read():
    from solution.tools import gateway
    assert 6.0 in gateway.DURATION_BUCKETS and R.le_text(6.0) == "6.0"
    source = Path(gateway.__file__).read_text(encoding="utf-8")
    for name in (R.GATEWAY_TOTAL, R.GATEWAY_DURATION):
        assert f'"{name}"' in source
    for outcome in ("upstream_error", "upstream_timeout"):
        assert f'"{outcome}"' in source
    assert {"overload", "shed"} <= {r for r, status in __import__(
        "solution.lab4_limits", fromlist=["STATUS"]).STATUS.items() if status == 503}
    assert R.missing_bucket(R.SLI(latency_limit_s=7.0), gateway.DURATION_BUCKETS)
    assert R.missing_bucket(R.SLI(), gateway.DURATION_BUCKETS) is None


# ── the proof on the story ──────────────────────────────────────────────────────────────────────

def story_counts(story, limit_ms=6000.0):
    """Per minute, counted here: 5xx, all, slow interactive successes, interactive successes."""
    n = 360
    failed, total, slow, served = ([0] * n for _ in range(4))
    for r in story:
        m = int(r.ts // 60)
        total[m] += 1
        failed[m] += r.status >= 500
        if r.status < 500 and r.priority == "interactive":
            served[m] += 1
            slow[m] += r.latency_ms > limit_ms
    return failed, total, slow, served


def running(xs):
    out = [0]
    for x in xs:
        out.append(out[-1] + x)
    return out


def test_the_input_series_are_the_storys_counters_minute_by_minute(default, story):
    failed, total, slow, served = story_counts(story)
    test = default["slo.test.yml"]["tests"][0]
    series = {s["series"]: expand(s["values"]) for s in test["input_series"]}
    assert series == {
        'opslab_gateway_requests_total{outcome="upstream_error"}': running(failed),
        'opslab_gateway_requests_total{outcome="ok"}': running([t - f for t, f in zip(total, failed)]),
        'opslab_gateway_request_duration_seconds_count{outcome="ok"}': running(served),
        'opslab_gateway_request_duration_seconds_bucket{outcome="ok",le="6.0"}':
            running([s - k for s, k in zip(served, slow)])}
    assert test["interval"] == default["slo.test.yml"]["evaluation_interval"] == "1m"
    assert default["slo.test.yml"]["rule_files"] == ["slo.rules.yml"]


def fired(test):
    """eval minute -> {(slo, long window)} the test expects to fire."""
    return {int(t["eval_time"][:-1]): {(a["exp_labels"]["slo"], a["exp_labels"]["long_window"])
                                       for a in t["exp_alerts"]}
            for t in test["tests"][0]["alert_rule_test"]}


def workbook(bad, events, end, long_m, short_m, factor, budget):
    """The Workbook's rule by hand: both windows' error ratio over factor x budget; a window
    reaches back at most to the data's start (what Prometheus reads)."""
    def ratio(minutes):
        start = max(0, end - minutes)
        n = events[end] - events[start]
        return (bad[end] - bad[start]) / n if n else None
    return all(r is not None and r > factor * budget for r in (ratio(long_m), ratio(short_m)))


def test_the_expected_alerts_are_the_workbooks_rules_on_the_storys_counts(default, story):
    failed, total, slow, served = (running(c) for c in story_counts(story))
    got = fired(default["slo.test.yml"])
    assert sorted(got) == list(range(1, 361))                  # every minute asserted
    pairs = [("1h", 60, 5, 14.4), ("6h", 360, 30, 6.0), ("1d", 1440, 120, 3.0), ("3d", 4320, 360, 1.0)]
    for slo, bad, events, budget in (("availability", failed, total, 0.005),
                                     ("latency", slow, served, 0.01)):
        for name, long_m, short_m, factor in pairs:
            want = {m for m in got if workbook(bad, events, m, long_m, short_m, factor, budget)}
            assert {m for m, f in got.items() if (slo, name) in f} == want, (slo, name)


def test_prometheus_pages_where_lab_2_pages_once_its_hour_is_full(default, story):
    """From minute 60 the 1h & 5m page has a full window: the test expects exactly lab 2's pages
    on that rule, and they fall in the story's incidents (the upstream error burst for errors)."""
    from solution import lab2_dashboard as lab2
    result = lab2.run(story)
    got = fired(default["slo.test.yml"])
    for verdict in result.verdicts:
        if verdict.rule == "page 1h & 5m":
            lab = {m + 1 for m, f in enumerate(verdict.firing) if f}
            assert lab == {m for m, f in got.items() if (verdict.slo_name, "1h") in f}
            assert lab
    burst = next(i for i in traffic.STORY.incidents if i.kind == "errors" and i.page)
    first = min(m for m, f in got.items() if ("availability", "1h") in f)
    assert burst.start_s < first * 60 <= burst.end_s


def test_before_a_window_fills_prometheus_judges_the_data_there_is(default, story):
    """Lab 2 never judges the 3d & 6h ticket on six hours; Prometheus does, on what it has:
    within the story both its windows hold everything since 0:00, so it fires wherever the
    error ratio so far is over the 0.5 % budget."""
    from solution import lab2_dashboard as lab2
    lab = next(v for v in lab2.run(story).verdicts if v.rule == "ticket 3d & 6h")
    assert set(lab.firing) == {None}
    got = fired(default["slo.test.yml"])
    failed, total = (running(c) for c in story_counts(story)[:2])
    ticket = {m for m, f in got.items() if ("availability", "3d") in f}
    assert ticket == {m for m in range(1, 361) if failed[m] / total[m] > 0.005} and ticket


def test_for_holds_each_alert_pending_before_it_fires(lab):
    counts, result = lab
    slos = R.objectives(0.995, 0.99, 30)
    rule = alerts(rules_of(slos, for_s=120))[0]
    assert rule["for"] == "2m"
    now = R.expected_alerts(counts, result.verdicts, slos).tracks
    held = R.expected_alerts(counts, result.verdicts, slos, for_s=120).tracks
    assert any(any(prom) for _, prom in now.values())
    for key, (_, prom) in now.items():
        ours = {m for m, f in enumerate(prom) if f}
        late = {m for m, f in enumerate(held[key][1]) if f}
        # fires at m once the rule held at m - 2, m - 1 and m (evaluated every minute)
        assert late == {m for m in ours if {m - 2, m - 1} <= ours}, key


def test_a_burn_exactly_at_its_threshold_does_not_fire_and_is_not_asserted():
    """The Workbook's rules fire on >: 72 errors in 1,000 is 14.4x a 0.5 % budget, no page."""
    minutes = 70
    counts = ([72] * minutes, [1000] * minutes, [0] * minutes, [10] * minutes)
    slos = R.objectives(0.995, 0.99, 30)
    expected = R.expected_alerts(counts, [], slos)
    lab, prom = expected.tracks[("availability", "page 1h & 5m")]
    assert lab[59] is False and not any(prom)
    assert expected.skipped == list(range(minutes))          # 14.4x everywhere: all edges
    counts = ([73] * minutes, *counts[1:])                   # one more: over it
    assert all(R.expected_alerts(counts, [], slos).tracks[("availability", "page 1h & 5m")][1])


# ── custom metrics, selectors, the YAML itself ──────────────────────────────────────────────────

def test_other_metrics_and_a_label_selector_reach_every_series(lab):
    args = argparse.Namespace(
        metric_total="http_requests_total", metric_errors='http_requests_total{code=~"5.."}',
        metric_duration='http_request_duration_seconds{code="200"}', selector='job="api"',
        latency_limit=5.0)
    sli = dashboard.rule_sli(args)
    records = [r for g in rules_of(R.objectives(0.995, 0.99, 30), sli)["groups"]
               for r in g["rules"] if "record" in r]
    for r in records:
        selectors = re.findall(r"rate\(([^\[]+)\[", r["expr"])
        assert selectors and all(s.endswith('job="api"}') for s in selectors), r["expr"]
    bucket = 'http_request_duration_seconds_bucket{code="200",le="5.0",job="api"}'
    assert bucket in records[-1]["expr"]
    series = {s["series"] for s in R.input_series(sli, lab[0])}
    assert series == {'http_requests_total{code="500",job="api"}',
                      'http_requests_total{code="200",job="api"}',
                      'http_request_duration_seconds_count{code="200",job="api"}',
                      'http_request_duration_seconds_bucket{code="200",job="api",le="5.0"}'}


def test_a_selector_that_cannot_be_read_is_a_one_line_error(tmp_path, capsys):
    for flag, value in (("--metric-errors", 'x{code=~"5.."'), ("--selector", "job=api"),
                        ("--metric-total", "9lives"), ("--selector", 'a=~"("')):
        code = dashboard.main(["--rules", str(tmp_path / "r.yml"), flag, value])
        err = capsys.readouterr().err
        assert code != 0 and err.count("\n") == 1 and flag in err and "Traceback" not in err
    assert not list(tmp_path.iterdir())
    assert dashboard.main(["--rules", "-", "--rules-test", str(tmp_path / "t.yml")]) != 0
    assert "--rules FILE" in capsys.readouterr().err
    same = str(tmp_path / "same.yml")
    assert dashboard.main(["--rules", same, "--scrape-config", same]) != 0
    assert "same file" in capsys.readouterr().err and not list(tmp_path.iterdir())


def test_the_pages_command_leaves_the_rules_flags_out():
    argv = ["--slo", "0.999", "--rules", "r.yml", "--metric-total", "x_total", "--for=2m",
            "--scrape-config", "p.yml", "--scrape-target", "h:1", "--force", "--html", "d.html"]
    assert dashboard.reproduce(argv) == "python3 solution/tools/dashboard.py --slo 0.999"


def test_selectors_read_back_as_written():
    s = R.parse_selector('m_total{a="x\\"y",b!="",c=~"5..|4.."}')
    assert s.matchers == (("a", "=", 'x"y'), ("b", "!=", ""), ("c", "=~", "5..|4.."))
    assert R.parse_selector(s.text()) == s
    assert s.matches("m_total", {"a": 'x"y', "b": "1", "c": "503"})
    assert not s.matches("m_total", {"a": 'x"y', "b": "1", "c": "200"})


def test_the_yaml_is_plain_json_values_that_read_back_whatever_the_text():
    document = {"a": ["x", {"b": 'quote " back \\ slash\nnew line \u2028 é', "c": [1, 2.5, True]}],
                "d": {"#": "a comment\nthat stays one line", "e": "#not a comment", "f": None}}
    text = R.yaml_text(document, ["header\nline"])
    comments = [line.strip() for line in text.splitlines() if line.lstrip().startswith("#")]
    assert comments == ["# header?line", "# a comment?that stays one line"]
    assert text.count("\n") == len(text.splitlines())
    back = parse_yaml(text)
    assert back == {"a": document["a"], "d": {"e": "#not a comment", "f": None}}
    assert text.isascii() or "é" not in text                  # escaped, \u00e9


def test_the_scrape_config_and_the_sloth_spec_describe_the_same_slos(default):
    config = default["prometheus.yml"]
    assert config["rule_files"] == ["slo.rules.yml"]
    job = config["scrape_configs"][0]
    assert job["metrics_path"] == "/metrics" and job["static_configs"][0]["targets"] == ["127.0.0.1:8000"]
    assert config["global"]["evaluation_interval"] == "1m"
    sloth = default["slo.rules.sloth.yml"]
    assert sloth["version"] == "prometheus/v1"
    slos = {s["name"]: s for s in sloth["slos"]}
    assert slos["availability"]["objective"] == 99.5 and slos["latency"]["objective"] == 99
    events = slos["availability"]["sli"]["events"]
    assert events["error_query"] == f"sum(rate({ERRORS}[{{{{.window}}}}]))"
    assert 'le="6.0"' in slos["latency"]["sli"]["events"]["error_query"]


def test_nothing_is_overwritten_unasked(tmp_path, capsys):
    (tmp_path / "slo.rules.sloth.yml").write_text("mine")
    log = ["--from", str(own_log(tmp_path / "own.jsonl"))]
    code = dashboard.main(["--rules", str(tmp_path / "slo.rules.yml"), *log])
    assert code != 0 and "--force" in capsys.readouterr().err
    assert (tmp_path / "slo.rules.sloth.yml").read_text() == "mine"
    assert not (tmp_path / "slo.rules.yml").exists()           # all or nothing
    assert dashboard.main(["--rules", str(tmp_path / "slo.rules.yml"), "--force", *log]) == 0
    assert parse_yaml((tmp_path / "slo.rules.sloth.yml").read_text())["version"] == "prometheus/v1"


# ── a log of one's own ──────────────────────────────────────────────────────────────────────────

def own_log(path):
    """70 minutes of 10 requests a minute, all failing (502) from minute 60 on."""
    lines = []
    for m in range(70):
        for k in range(10):
            done = 1_699_999_980 + m * 60 + k * 6 + 2               # 2023-11-14 22:13, +1 s
            when = datetime.fromtimestamp(done, timezone.utc).isoformat().replace("+00:00", "Z")
            lines.append(json.dumps({"timestamp": when, "body": "request.completed", "attributes": {
                "priority": "interactive", "http.response.status_code": 502 if m >= 60 else 200,
                "latency_ms": 1000.0}}))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_logs_counters_make_the_test_and_its_pages_are_worked_by_hand(tmp_path):
    files = write(tmp_path, log=own_log(tmp_path / "own.jsonl"))
    got = fired(files["slo.test.yml"])
    assert sorted(got) == list(range(1, 71))
    # 1h & 5m at 14.4 x 0.5 %: at the end of minute m > 60, (m - 60) x 10 errors in 600
    # requests, a burn of (m - 60) x 3.33: over 14.4 from m = 65
    assert {m for m, f in got.items() if ("availability", "1h") in f} == set(range(65, 71))
    # 6h & 30m, 6x, on the data there is: (m - 60) / m / 0.005 > 6 from m = 62
    assert {m for m, f in got.items() if ("availability", "6h") in f} == set(range(62, 71))
    assert not any(slo == "latency" for f in got.values() for slo, _ in f)


# ── promtool itself ─────────────────────────────────────────────────────────────────────────────

def promtool(*args):
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=120)


def edited_first_firing(test: Path) -> None:
    """Move the first minute an alert is expected one minute earlier: the test is then wrong."""
    text = test.read_text()
    first = re.search(r'- eval_time: "(\d+)m"\n', text)          # the first minute that fires
    edited = text.replace(first.group(0), f'- eval_time: "{int(first.group(1)) - 1}m"\n', 1)
    assert edited != text
    test.write_text(edited)


@needs_promtool
def test_promtool_passes_the_rules_config_and_the_story_test(tmp_path, written):
    for name in ("slo.rules.yml", "slo.test.yml", "prometheus.yml"):
        shutil.copy(written[0] / name, tmp_path / name)
    rules, test = tmp_path / "slo.rules.yml", tmp_path / "slo.test.yml"
    assert promtool("check", "rules", str(rules)).returncode == 0
    assert promtool("check", "config", str(tmp_path / "prometheus.yml")).returncode == 0
    out = promtool("test", "rules", str(test))
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]


@needs_promtool
def test_promtool_passes_a_test_at_999_and_five_minute_windows(tmp_path, default_results):
    # the story's error burst (lab 1's log of its 20 minutes): pages at 99.9 %, 5-minute windows
    log = tmp_path / "burst.jsonl"
    log.write_text(default_results[1].log, encoding="utf-8")
    files = write(tmp_path, "--slo", "0.999", "--window", "300", "--from", str(log))
    assert any(fired(files["slo.test.yml"]).values()), "the burst pages nowhere: a weak test"
    out = promtool("test", "rules", str(tmp_path / "slo.test.yml"))
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]


@needs_promtool
def test_promtool_passes_a_logs_test_and_fails_it_with_an_edited_minute(tmp_path):
    # the same test, an expected alert moved a minute early: promtool must say FAILED (the
    # story's test would too, at four times the cost)
    write(tmp_path, "--for", "90s", log=own_log(tmp_path / "own.jsonl"))
    test = tmp_path / "slo.test.yml"
    out = promtool("test", "rules", str(test))
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    edited_first_firing(test)
    out = promtool("test", "rules", str(test))
    assert out.returncode != 0 and "FAILED" in out.stdout + out.stderr
