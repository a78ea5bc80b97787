"""The Show pages as a reader meets them, parsed with the standard library's HTML parser: the
demo's page of all five labs, and lab 2's dashboard on the story and on a log from elsewhere.
Every chart has both axes with ticks, a title, a legend and a <title>; every table has header
cells; no <pre> but the waterfall; no absolute path; the Show card names a finding of the run;
the colours read at WCAG's 4.5:1 in light and dark."""

import re
from html.parser import HTMLParser

import pytest

from solution import demo, lab2_dashboard, lab3_online_eval
from solution.tools import dashboard, page


class Page(HTMLParser):
    """Charts (their first <title>, and their texts by class), tables (header and row cells),
    the <pre> blocks and the Show card's text."""

    def __init__(self, text: str):
        super().__init__()
        self.charts, self.tables, self.pres, self.card = [], [], 0, ""
        self._stack, self._in_card = [], 0
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._stack.append((tag, attrs.get("class") or ""))
        if tag == "svg":
            self.charts.append({"title": None, "texts": [], "viewBox": attrs.get("viewbox")})
        elif tag == "table":
            self.tables.append({"header": [], "rows": []})
        elif tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
        elif tag in ("th", "td") and self.tables:
            self.tables[-1]["rows"][-1].append(tag)
            if tag == "th":
                self.tables[-1]["header"].append(tag)
        elif tag == "pre":
            self.pres += 1
        if tag == "section" and "show" in (attrs.get("class") or ""):
            self._in_card = 1
        elif self._in_card:
            self._in_card += 1

    def handle_endtag(self, tag):
        if self._stack:
            self._stack.pop()
        if self._in_card:
            self._in_card -= 1

    def handle_data(self, data):
        if not self._stack:
            return
        tag, css = self._stack[-1]
        if self._in_card and "svg" not in [t for t, _ in self._stack]:
            self.card += data
        if self.charts and tag == "title" and self.charts[-1]["title"] is None:
            self.charts[-1]["title"] = data
        elif self.charts and tag == "text":
            self.charts[-1]["texts"].append((css, data))


@pytest.fixture(scope="module")
def demo_page(demo_outcome):
    return demo.render_html(demo_outcome)


@pytest.fixture(scope="module")
def story_dashboard(story):
    from solution.extend import composite_alert
    result = lab2_dashboard.run(story, composite=composite_alert)
    return result, dashboard.html_report(result, command="python3 solution/tools/dashboard.py --seed 7")


@pytest.fixture(scope="module")
def foreign_dashboard(tmp_path_factory):
    from test_tools_dashboard import log_line
    folder = tmp_path_factory.mktemp("deep") / "private"
    folder.mkdir()
    log = folder / "app.jsonl"
    # half an hour of quiet traffic, but 12:10-12:14 slow (9 s) with half of it failing: a breach
    # of latency and errors at once, which the composite alert pages on
    log.write_text("".join(
        log_line(f"2025-03-01T12:{m:02d}:{s:02d}Z", 9000.0 if 10 <= m < 15 else 900.0 + 40 * s,
                 status=503 if 10 <= m < 15 and s % 2 else 200) + "\n"
        for m in range(30) for s in range(0, 60, 3)))
    assert dashboard.main(["--from", str(log), "--html", str(folder / "page.html")]) == 0
    return str(folder.parent), (folder / "page.html").read_text(encoding="utf-8")


def pages(demo_page, story_dashboard, foreign_dashboard):
    return {"demo": demo_page, "dashboard": story_dashboard[1], "foreign": foreign_dashboard[1]}


def test_every_chart_has_both_axes_with_ticks_a_title_a_legend_and_an_svg_title(
        demo_page, story_dashboard, foreign_dashboard):
    for name, text in pages(demo_page, story_dashboard, foreign_dashboard).items():
        charts = Page(text).charts
        assert len(charts) >= (10 if name == "demo" else 4), name
        for chart in charts:
            classes = [css for css, _ in chart["texts"]]
            what = (name, chart["title"])
            assert chart["title"] and chart["viewBox"], what                       # for screen readers
            assert classes.count("ink value") >= 2, what                           # the value axis
            assert classes.count("ink tick") >= 2, what                            # the time (or x) axis
            assert "ink legend" in classes, what                                   # what the marks mean
            heading = chart["texts"][0][1]
            assert heading == chart["title"] or heading.startswith("Lab ") or heading, what


def test_every_legend_names_every_kind_of_mark_its_chart_draws(demo_page, story_dashboard):
    for text in (demo_page, story_dashboard[1]):
        for svg in re.findall(r"<svg.*?</svg>", text, re.S):
            legend = " ".join(re.findall(r'class="ink legend">([^<]*)<', svg))
            assert ("stroke-dasharray" in svg) == ("dashed: the threshold" in legend)
            assert ('class="shade"' in svg) == ("shaded red:" in legend)
            assert ('class="band"' in svg) == ("grey bands:" in legend)
            assert ('class="mark"' in svg) == ("triangles:" in legend)
            assert ("polyline" not in svg) or "line: " in legend
            assert ('class="dot"' not in svg) or "dots:" in legend


def test_every_table_has_header_cells_and_rows_of_the_same_width(demo_page, story_dashboard, foreign_dashboard):
    for name, text in pages(demo_page, story_dashboard, foreign_dashboard).items():
        tables = Page(text).tables
        assert len(tables) >= (15 if name == "demo" else 4), name
        for table in tables:
            width = len(table["header"])
            assert width >= 2 and table["rows"][0] == ["th"] * width, (name, table)
            assert all(len(row) == width and "th" not in row for row in table["rows"][1:]), (name, table)


def test_no_terminal_dump_but_the_waterfall_and_numbers_right_aligned(demo_page, story_dashboard):
    assert Page(demo_page).pres == 1 and "failed here" in re.search(r"<pre>(.*?)</pre>", demo_page, re.S)[1]
    assert Page(story_dashboard[1]).pres == 0
    cells = re.findall(r"<td( class=num)?>([^<]*)</td>", demo_page)
    numbers = [text for css, text in cells if re.fullmatch(r"[\d,.]+( %| s| min)?", text)]
    assert numbers and all(css for css, text in cells if text in numbers)
    assert page.html_table(["a", "b"], [("acme", 1039), ("x", "12.7 s")]).count("class=num") == 2


def test_no_page_names_an_absolute_path(demo_page, story_dashboard, foreign_dashboard):
    folder, foreign = foreign_dashboard
    assert folder not in foreign and "app.jsonl" in foreign
    for text in (demo_page, story_dashboard[1], foreign):
        assert not re.search(r"(/home/|/tmp/|/root/|/Users/|[A-Z]:\\)", text)


def test_the_demo_card_names_the_drift_lab_3_caught_and_its_command(demo_page, story):
    result = lab3_online_eval.run(story)
    chosen, _ = result.chosen
    card = " ".join(Page(demo_page).card.split())
    from solution import traffic
    assert f"alarmed at {traffic.clock(chosen.first_alarm_s)}" in card
    assert f"slice behind it is {result.slices[0].topic}" in card
    assert "python3 solution/lab3_online_eval.py --seed 7" in card


def test_the_dashboard_card_names_a_page_that_caught_a_real_incident(story_dashboard):
    from solution import traffic
    from solution.paging import caught
    result, text = story_dashboard
    card = " ".join(Page(text).card.split())
    composite = next(s for s in result.scores if s.policy == "composite")
    first = min(composite.pages, key=lambda p: p.fired_s)
    assert f"The composite alert paged at {traffic.clock(first.fired_s)}" in card
    assert caught(first, result.incidents) == "provider slowdown" and "provider slowdown" in card and "precision 100 %" in card
    assert "python3 solution/tools/dashboard.py --seed 7" in card


def test_the_foreign_card_is_the_composite_alerts_breach_without_a_verdict(foreign_dashboard):
    _, text = foreign_dashboard
    card = " ".join(Page(text).card.split())
    assert "a breach" in card and "precision" not in card
    assert "python3 solution/tools/dashboard.py --from app.jsonl" in card


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_text_reads_at_4_5_to_1_in_light_and_dark(mode):
    colours = page.COLOURS[mode]
    for ink in ("text", "limit", "link"):
        for ground in ("background", "panel"):
            assert page.contrast(colours[ink], colours[ground]) >= 4.5, (mode, ink, ground)
    style = page.STYLE
    dark = style[style.index("prefers-color-scheme: dark"):]
    for colour in colours.values():
        assert colour in (dark if mode == "dark" else style[:style.index("prefers-color-scheme")])


def test_contrast_agrees_with_wcags_own_examples():
    # WCAG 2.1: black on white is 21:1; #767676 on white is the lightest grey that passes 4.5:1
    assert page.contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert page.contrast("#767676", "#ffffff") >= 4.5 > page.contrast("#777777", "#ffffff")
