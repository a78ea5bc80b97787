"""A day of logs on a laptop: the log tools timed on 100k, 1M and 3M lines, beside jq and DuckDB.

    python3 tests/bench_day.py                       100k, 1M and 3M lines (about 10 minutes)
    python3 tests/bench_day.py --sizes 100k 1M --keep /tmp/opslab-days   keep the logs for next time
    python3 tests/bench_day.py --sizes 1M --keep /tmp/days --before /work/main --duckdb /tmp/venv/bin/python

The logs are a day of the story's six hours told again and again: seed after seed (lab 1's
logger, its clock moved by the scenario's epoch), their starts spread over the first 18 hours, so
that every log spans one day: a million lines is about nine stories at once, three million
twenty-six (a busier service, not a longer log), and the log is in time order only story by
story. Every command runs in a fresh process, as a practitioner runs it (with Python's bytecode
cache, as Python keeps it by default: in a folder of the bench's own, each checkout compiled
before the first command, so no row pays for compiling), and is measured as its user meets it
(tests/treeusage.py): wall time, the CPU of its whole process tree (the worker
processes of a split read included) and the tree's peak memory (PSS summed), each the best of
two runs, with the machine's load when it ran. Beside it, the same question to jq (when jq is
installed), to DuckDB (--duckdb: an interpreter with its package; a benchmark only, never a
dependency) and to another checkout (--before), in the same run. Not collected by pytest; nothing
here is asserted.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from solution import lab1_logs, traffic  # noqa: E402
from treeusage import Usage, load, run_measured  # noqa: E402

SIZES = {"100k": 100_000, "1M": 1_000_000, "3M": 3_000_000}
STORY_LINES = 115_000       # about, in one story's log
LOGS = ROOT / "solution" / "tools" / "logs.py"


def make_log(path: Path, lines: int) -> str:
    """Write a log of about `lines` lines; returns a trace id near its end (no early luck)."""
    start = datetime.fromisoformat(traffic.STORY.epoch.replace("Z", "+00:00"))
    stories = max(1, round(lines / STORY_LINES))
    written, seed, last_trace = 0, 1, ""
    with path.open("w", encoding="utf-8") as stream:
        while written < lines:
            step = timedelta(hours=18) * ((seed - 1) % stories) / max(1, stories - 1)
            epoch = (start + step).astimezone(timezone.utc)
            scenario = dataclasses.replace(traffic.STORY, epoch=epoch.strftime("%Y-%m-%dT%H:%M:%SZ"))
            requests = traffic.generate(seed=seed)
            handler = lab1_logs.write_log(requests, stream, scenario)
            written += handler.lines
            last_trace = next(r.trace_id for r in reversed(requests) if r.status >= 500)
            seed += 1
    return last_trace


def jq(program: str, path: Path, slurp: bool = False) -> list[str] | None:
    if not shutil.which("jq"):
        return None
    return ["jq", "-c", *(["-n"] if slurp else []), program, str(path)]


def duckdb(sql: str, path: Path, python: str | None) -> list[str] | None:
    """The same question to DuckDB (its Python package, in an interpreter that has it: --duckdb),
    reading the JSON lines itself; `LOG` in the SQL stands for the file."""
    if not python:
        return None
    table = f"read_ndjson_auto('{path}', union_by_name = true)"
    return [python, "-c", "import duckdb, sys; duckdb.sql(sys.argv[1]).fetchall()",
            sql.replace("LOG", table)]


def questions(path: Path, trace: str, logs: Path, duck: str | None, index: Path | None = None):
    """(question, our command, [(peer, its command), ...]) on one log; --sql's index at `index`
    (a checkout of its own keeps its own), or beside the log."""
    py = sys.executable
    placed = ["--db", str(index)] if index else []
    index = index or Path(f"{path}.opslab.sqlite")
    sql = "SELECT body, count(*) FROM log GROUP BY body"
    on_attributes = ("SELECT json_extract(attributes, '$.tenant') AS tenant, count(*) FROM log "
                     "WHERE body = 'request.completed' GROUP BY tenant")
    tool = [py, str(logs), "query", str(path)]
    return [
        ("story, one trace", [py, str(logs), "story", str(path), trace],
         [("jq", jq(f'select(.trace_id == "{trace}")', path)),
          ("duckdb", duckdb(f"SELECT * FROM LOG WHERE trace_id = '{trace}'", path, duck))]),
        ("query --count-by body", [*tool, "--count-by", "body"],
         [("jq", jq("reduce inputs as $r ({}; .[$r.body] += 1)", path, slurp=True)),
          ("duckdb", duckdb("SELECT body, count(*) FROM LOG GROUP BY body", path, duck))]),
        ("query --where body=... --count-by tenant --sum tokens",
         [*tool, "--where", "body=request.completed", "--count-by", "tenant",
          "--sum", "gen_ai.usage.input_tokens"],
         [("jq", jq('reduce (inputs | select(.body == "request.completed")) as $r ({}; '
                    '.[$r.attributes.tenant] += [1, $r.attributes["gen_ai.usage.input_tokens"]] '
                    '| .[$r.attributes.tenant] |= [.[0] + .[2], .[1] + .[3]])', path, slurp=True)),
          ("duckdb", duckdb('SELECT attributes.tenant, count(*), sum(attributes."gen_ai.usage.input_tokens") '
                            "FROM LOG WHERE body = 'request.completed' GROUP BY 1", path, duck))]),
        ("query --sql GROUP BY body, first (builds)",
         ["sh", "-c", f'rm -f "{index}" && exec "$@"', "-", *tool, "--sql", sql, *placed], []),
        ("query --sql GROUP BY body, repeated", [*tool, "--sql", sql, *placed], []),
        ("query --sql on attributes, repeated", [*tool, "--sql", on_attributes, *placed],
         [("duckdb", duckdb("SELECT attributes.tenant, count(*) FROM LOG "
                            "WHERE body = 'request.completed' GROUP BY 1", path, duck))]),
        ("lab 2 dashboard --from", [py, str(logs.parent / "dashboard.py"), "--from", str(path)], []),
    ]


def best(command: list[str], repeat: int) -> Usage:
    """The run with the least wall time of `repeat`: the least disturbed by the rest of the machine."""
    return min((run_measured(command) for _ in range(repeat)), key=lambda usage: usage.wall_s)


def main() -> int:
    parser = argparse.ArgumentParser(description="Time the log tools on a day of logs, beside jq "
                                                 "and DuckDB, as their users meet them.")
    parser.add_argument("--sizes", nargs="+", choices=tuple(SIZES), default=list(SIZES))
    parser.add_argument("--keep", metavar="DIR", help="keep the logs here, and reuse them next time")
    parser.add_argument("--before", metavar="CHECKOUT",
                        help="another checkout of opslab (e.g. main's) to time beside this one")
    parser.add_argument("--duckdb", metavar="PYTHON",
                        help="a Python interpreter with DuckDB's package (e.g. a venv outside the repo)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each command; the best is shown")
    args = parser.parse_args()
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="opslab-day-"))
    folder.mkdir(parents=True, exist_ok=True)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)          # (as a practitioner's Python runs)
    os.environ["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")
    for checkout in [ROOT, *([Path(args.before)] if args.before else [])]:
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(checkout / "solution")],
                       check=True)
    print(f"# Python {sys.version.split()[0]}, {os.cpu_count()} cores, load {load()} at the start; "
          f"jq: {shutil.which('jq') or 'not installed'}; DuckDB: {args.duckdb or 'not given'}; "
          f"logs in {folder}", flush=True)
    print("# wall: seconds as the user waits; CPU: user + system seconds of the whole process tree "
          "(workers included);\n# peak: the tree's memory at its largest (PSS summed); load: the "
          f"1-minute load average / cores when the row started; best of {args.repeat} runs", flush=True)
    print(f"{'lines':>5}  {'question':<52} {'who':<7} {'wall s':>7} {'CPU s':>7} {'CPU µs/line':>11} "
          f"{'peak MB':>7}  {'load':>7}")
    try:
        for size in args.sizes:
            path = folder / f"day-{size}.jsonl"
            trace_file = folder / f"day-{size}.trace"
            if not (path.exists() and trace_file.exists()):
                started = time.perf_counter()
                trace_file.write_text(make_log(path, SIZES[size]))
                print(f"# wrote {path.name}: {path.stat().st_size / 1e6:,.0f} MB in "
                      f"{time.perf_counter() - started:.0f} s", flush=True)
            lines = sum(block.count(b"\n") for block in iter(functools.partial(path.open("rb").read, 1 << 24), b""))
            ours = questions(path, trace_file.read_text(), LOGS, args.duckdb)
            theirs = questions(path, trace_file.read_text(), Path(args.before) / LOGS.relative_to(ROOT),
                               args.duckdb, folder / f"day-{size}.before.sqlite") \
                if args.before else [None] * len(ours)
            for (name, command, peers), before in zip(ours, theirs):
                runs = [("opslab", command)] + ([("before", before[1])] if before else []) \
                    + [(peer, cmd) for peer, cmd in peers if cmd]
                for who, cmd in runs:
                    started_load = load()
                    usage = best(cmd, args.repeat)
                    row = (f"{size:>5}  {name:<52} {who:<7} {usage.wall_s:7.2f} {usage.cpu_s:7.2f} "
                           f"{usage.cpu_s / lines * 1e6:11.2f} {usage.peak_mb:7.0f}  {started_load:>7}")
                    print(row + (f"  (exit {usage.status})" if usage.status else ""), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"# load {load()} at the end. Goals (issue 25): --count-by and --sum at most 3 µs of CPU "
          "a line; the first --sql at most three plain scans; a repeated --sql on attributes under "
          "1 s at 3M lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
