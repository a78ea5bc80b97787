"""Benchmarks: one line per building block, operations per second. Not collected by pytest.

    python3 tests/bench.py

Timings are the best of a few repeats on this machine; compare lines with each other, and with
the reference figures the issues quote for peer tools, not with another machine.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from solution import traffic  # noqa: E402


def best_of(fn, repeat: int = 5) -> float:
    """The fastest of `repeat` runs, in seconds: the least disturbed by the rest of the machine."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def line(name: str, count: int, seconds: float, unit: str, note: str = "") -> str:
    return f"{name:<44} {count / seconds:>12,.0f} {unit}/s  ({seconds * 1000:7.1f} ms){note}"


def bench_traffic() -> list[str]:
    n = len(traffic.generate())
    seconds = best_of(traffic.generate)
    return [line("traffic.generate (the default story)", n, seconds, "requests",
                 f"  target < 200 ms: {'met' if seconds < 0.2 else 'MISSED'}")]


BENCHES = [bench_traffic]

# ── lab 1 ──

# ── lab 2 ──

# ── lab 3 ──

# ── lab 4 ──

# ── lab 5 ──

# ── the demo ──

def bench_demo() -> list[str]:
    """The whole demo as a learner runs it: a fresh interpreter, the story, five labs."""
    import subprocess
    demo = [sys.executable, str(Path(__file__).resolve().parents[1] / "solution" / "demo.py")]
    seconds = best_of(lambda: subprocess.run(demo, capture_output=True, check=True), repeat=3)
    return [line("python3 solution/demo.py (whole, end to end)", 1, seconds, "demos",
                 f"  target about 1 s: {'met' if seconds < 1.2 else 'MISSED'}")]


BENCHES.append(bench_demo)


def main() -> int:
    for bench in BENCHES:
        for text in bench():
            print(text, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
