"""What a command costs as its user meets it: wall time, the CPU of its whole process tree
(worker processes included), and its peak memory summed over that tree. For the benchmarks
(tests/bench.py, tests/bench_day.py); not collected by pytest, nothing here is asserted.

    >>> usage = run_measured([sys.executable, "-c", "pass"])        # doctest: +SKIP
    >>> usage.status, usage.wall_s > 0, usage.cpu_s >= 0
    (0, True, True)

CPU: the larger of two counts that each miss something. getrusage(RUSAGE_CHILDREN) adds up every
descendant that was waited for (a pool's workers, reaped by their parent, are in it; a process
left to init is not); /proc is read every POLL_S for every process of the tree, and each one's
last reading is added (a process that lives less than POLL_S can be missed). Memory: the sum of
the tree's proportional set sizes (PSS, /proc/PID/smaps_rollup: a page shared by n processes
counts 1/n in each, so the sum is what the tree holds), its largest sample; where PSS cannot be
read, the resident set size (RSS) of each process. Linux only for the /proc parts; elsewhere
wall time, CPU from getrusage and the largest child's maxrss.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass

POLL_S = 0.05
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass
class Usage:
    wall_s: float
    cpu_s: float            # user + system, the whole tree
    peak_mb: float          # the tree's memory at its largest sample (PSS summed, MB of 10^6 bytes)
    status: int
    processes: int          # distinct processes seen in the tree


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, user + system seconds) of a live process, from /proc/PID/stat."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stream:
            text = stream.read().decode("ascii", "replace")
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()       # after the command name, which may hold spaces
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


def _memory_mb(pid: int) -> float:
    """A process's PSS (or its RSS, where PSS cannot be read), MB."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as stream:
            for line in stream:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        pass
    try:
        with open(f"/proc/{pid}/statm", "rb") as stream:
            return int(stream.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError):
        return 0.0


def _tree(root: int) -> dict[int, float]:
    """The live processes descended from root (root included): pid -> its CPU seconds so far."""
    parents, cpu = {}, {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            found = _stat(int(entry))
            if found:
                parents[int(entry)], cpu[int(entry)] = found
    tree, frontier = {root}, [root]
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    while frontier:
        for child in children.get(frontier.pop(), ()):
            if child not in tree:
                tree.add(child)
                frontier.append(child)
    return {pid: cpu[pid] for pid in tree if pid in cpu}


def run_measured(command: list[str], **popen) -> Usage:
    """Run a command (its output thrown away unless popen says otherwise) and measure it."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    polled, peak = {}, 0.0
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=popen.pop("stdout", subprocess.DEVNULL),
                             stderr=popen.pop("stderr", subprocess.DEVNULL), **popen)
    proc = os.path.isdir("/proc/self")
    while child.poll() is None:
        if proc:
            tree = _tree(child.pid)
            polled.update(tree)
            peak = max(peak, sum(_memory_mb(pid) for pid in tree))
        time.sleep(POLL_S)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    reaped = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if not proc:
        peak = after.ru_maxrss / 1024 / 1.048576        # the largest child's, KB to MB
    return Usage(wall_s=wall, cpu_s=max(reaped, sum(polled.values())), peak_mb=peak,
                 status=child.returncode, processes=len(polled))


def load() -> str:
    """The machine's load average over the last minute, and its cores: '1.23/2'."""
    try:
        return f"{os.getloadavg()[0]:.2f}/{os.cpu_count()}"
    except OSError:
        return f"?/{os.cpu_count()}"


if __name__ == "__main__":                      # python3 tests/treeusage.py COMMAND ...
    usage = run_measured(sys.argv[1:], stdout=None, stderr=None)
    print(f"wall {usage.wall_s:.2f} s, CPU {usage.cpu_s:.2f} s (tree of {usage.processes} "
          f"processes), peak {usage.peak_mb:.0f} MB (PSS summed), exit {usage.status}, load {load()}",
          file=sys.stderr)
    sys.exit(usage.status)
