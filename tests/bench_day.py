"""A day of logs on a laptop: the log tools timed on 100k, 1M and 3M lines, beside jq.

    python3 tests/bench_day.py                       100k, 1M and 3M lines (about 10 minutes)
    python3 tests/bench_day.py --sizes 100k 1M --keep /tmp/opslab-days   keep the logs for next time

The logs are a day of the story's six hours told again and again: seed after seed (lab 1's
logger, its clock moved by the scenario's epoch), their starts spread over the first 18 hours, so
that every log spans one day: a million lines is about nine stories at once, three million
twenty-six (a busier service, not a longer log), and the log is in time order only story by
story. Every command runs in a fresh process, as a practitioner runs it; its wall time and peak
memory (the process's maximum resident set) are printed, with jq on the same
question when jq is installed, as a ratio. Not collected by pytest; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import dataclasses
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

from solution import lab1_logs, traffic  # noqa: E402

SIZES = {"100k": 100_000, "1M": 1_000_000, "3M": 3_000_000}
STORY_LINES = 115_000       # about, in one story's log
LOGS = ROOT / "solution" / "tools" / "logs.py"
DASHBOARD = ROOT / "solution" / "tools" / "dashboard.py"


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


def measure(command: list[str]) -> tuple[float, float, int]:
    """(seconds, peak MB, exit status) of one command in a fresh process."""
    probe = ("import resource, subprocess, sys, time\n"
             "start = time.perf_counter()\n"
             "status = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode\n"
             "took = time.perf_counter() - start\n"
             "print(took, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, status)")
    out = subprocess.run([sys.executable, "-c", probe, *command], capture_output=True, text=True,
                         check=True).stdout.split()
    return float(out[0]), int(out[1]) / 1024, int(out[2])


def jq(program: str, path: Path, slurp: bool = False) -> list[str] | None:
    if not shutil.which("jq"):
        return None
    return ["jq", "-c", *(["-n"] if slurp else []), program, str(path)]


def questions(path: Path, trace: str) -> list[tuple[str, list[str], list[str] | None]]:
    py = sys.executable
    index = Path(f"{path}.opslab.sqlite")
    sql = "SELECT body, count(*) FROM log GROUP BY body"
    return [
        ("story, one trace", [py, str(LOGS), "story", str(path), trace],
         jq(f'select(.trace_id == "{trace}")', path)),
        ("query --count-by body", [py, str(LOGS), "query", str(path), "--count-by", "body"],
         jq("reduce inputs as $r ({}; .[$r.body] += 1)", path, slurp=True)),
        ("query --where body=... --count-by tenant",
         [py, str(LOGS), "query", str(path), "--where", "body=request.completed", "--count-by", "tenant"],
         jq('reduce (inputs | select(.body == "request.completed")) as $r ({}; '
            '.[$r.attributes.tenant] += 1)', path, slurp=True)),
        ("query --sql GROUP BY, first (builds)", ["sh", "-c", f'rm -f "{index}" && exec "$@"', "-",
                                                   py, str(LOGS), "query", str(path), "--sql", sql], None),
        ("query --sql GROUP BY, repeated", [py, str(LOGS), "query", str(path), "--sql", sql], None),
        ("lab 2 dashboard --from", [py, str(DASHBOARD), "--from", str(path)], None),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description="Time the log tools on a day of logs, beside jq.")
    parser.add_argument("--sizes", nargs="+", choices=tuple(SIZES), default=list(SIZES))
    parser.add_argument("--keep", metavar="DIR", help="keep the logs here, and reuse them next time")
    args = parser.parse_args()
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="opslab-day-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"# Python {sys.version.split()[0]}, {os.cpu_count()} cores; jq: "
          f"{shutil.which('jq') or 'not installed'}; logs in {folder}", flush=True)
    print(f"{'lines':>6}  {'question':<40} {'seconds':>8} {'peak MB':>8}  {'jq s':>6} {'jq MB':>6} {'x jq':>5}")
    try:
        for size in args.sizes:
            path = folder / f"day-{size}.jsonl"
            trace_file = folder / f"day-{size}.trace"
            if not (path.exists() and trace_file.exists()):
                started = time.perf_counter()
                trace_file.write_text(make_log(path, SIZES[size]))
                print(f"# wrote {path.name}: {path.stat().st_size / 1e6:,.0f} MB in "
                      f"{time.perf_counter() - started:.0f} s", flush=True)
            for name, command, peer in questions(path, trace_file.read_text()):
                seconds, mb, status = measure(command)
                row = f"{size:>6}  {name:<40} {seconds:8.2f} {mb:8.0f}"
                if status:
                    row += f"  (exit {status})"
                if peer:
                    peer_s, peer_mb, _ = measure(peer)
                    row += f"  {peer_s:6.2f} {peer_mb:6.0f} {seconds / peer_s:5.2f}"
                print(row, flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print("# goals (issue: a day of logs): at 1M lines, query no slower than jq, the dashboard "
          "<= 3 s, a repeated --sql < 1 s, every peak <= 200 MB; at 3M, about 3x the times, "
          "the same memory")
    return 0


if __name__ == "__main__":
    sys.exit(main())
