"""Starting the feed server and the measured runner as separate processes, and watching them.

The runner's parser workers are forked by a fork server, so they are not its children for
``RUSAGE_CHILDREN`` purposes; ``TreeSampler`` reads CPU time and memory of the whole process
tree from outside (psutil), every 100 ms (PSS, which costs more to read, every 200 ms). A worker
that exits between two samples loses at most one interval of CPU time from the count (workers
are replaced after ``max_tasks`` parses). What the sampling itself costs is reported beside.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_EVERY = 0.1  # seconds: often enough for peaks, cheap enough not to slow what it watches
PSS_EVERY = 2         # samples


@dataclass(frozen=True)
class Served:
    urls: list[str]
    process: psutil.Process


@contextmanager
def feed_server(feeds: int, items: int, seed: int) -> Iterator[Served]:
    """Serve ``feeds`` feeds from another process; yields their URLs and the process."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.feedserver", str(feeds), str(items), str(seed)],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("the benchmark feed server did not start")
        yield Served(list(json.loads(line)["urls"]), psutil.Process(process.pid))
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class TreeSampler:
    """CPU seconds and memory of a process and all its descendants, sampled from a thread.

    RSS counts pages shared between processes (the fork server's, inherited copy-on-write by
    every worker) once per process; PSS divides each shared page among the processes sharing
    it, so the PSS of a tree adds up to the memory it really takes.
    """

    root: psutil.Process
    cpu: dict[int, float] = field(default_factory=dict)       # last CPU seen, per pid
    peak_rss: dict[int, int] = field(default_factory=dict)    # largest RSS seen, per pid
    depth: dict[int, int] = field(default_factory=dict)       # 0 root, 1 child, 2 grandchild
    peak_total_rss: int = 0
    peak_total_pss: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def total_cpu(self) -> float:
        self.sample()
        return sum(self.cpu.values())

    def reset_peaks(self) -> None:
        self.peak_rss.clear()
        self.peak_total_rss = self.peak_total_pss = 0

    def peak_of(self, depth: int) -> int:
        """The largest RSS seen of any process at this depth (1: fork server, 2: workers)."""
        return max((rss for pid, rss in self.peak_rss.items() if self.depth.get(pid) == depth),
                   default=0)

    def sample(self, *, pss: bool = True) -> None:
        try:
            processes = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return
        total_rss = total_pss = 0
        for process in processes:
            try:
                with process.oneshot():
                    times = process.cpu_times()
                    # PSS walks the page tables (smaps_rollup); RSS is one counter.
                    memory = process.memory_full_info() if pss else process.memory_info()
                    if process.pid not in self.depth:
                        self.depth[process.pid] = self._depth(process)
            except psutil.Error:
                continue
            self.cpu[process.pid] = times.user + times.system
            self.peak_rss[process.pid] = max(self.peak_rss.get(process.pid, 0), memory.rss)
            total_rss += memory.rss
            total_pss += getattr(memory, "pss", 0)
        self.peak_total_rss = max(self.peak_total_rss, total_rss)
        if pss:
            self.peak_total_pss = max(self.peak_total_pss, total_pss)

    def _depth(self, process: psutil.Process) -> int:
        depth, current = 0, process
        while current.pid != self.root.pid and depth < 8:
            parent = current.parent()
            if parent is None:
                break
            depth, current = depth + 1, parent
        return depth

    def _loop(self) -> None:
        count = 0
        while not self._stop.wait(SAMPLE_EVERY):
            count += 1
            self.sample(pss=count % PSS_EVERY == 0)


@dataclass
class Runner:
    """``python -m bench.runner`` in a subprocess, spoken to line by line."""

    args: dict[str, Any]
    process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Runner:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.runner", json.dumps(self.args)], cwd=ROOT,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def read(self) -> dict[str, Any]:
        assert self.process is not None and self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"benchmark runner ({self.args['mode']}) ended early, "
                               f"exit code {self.process.wait()}")
        record: dict[str, Any] = json.loads(line)
        return record

    def go(self) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def records(self, count: int) -> list[dict[str, Any]]:
        return [self.read() for _ in range(count)]

    def psutil_process(self) -> psutil.Process:
        assert self.process is not None
        return psutil.Process(self.process.pid)


@dataclass(frozen=True)
class MachineTimes:
    """CPU seconds all cores have spent since boot: busy (anyone's work, the kernel's
    included), in interrupts (network packets on loopback are handled there), and stolen by the
    hypervisor for other virtual machines."""

    busy: float
    interrupts: float
    steal: float

    def __sub__(self, other: MachineTimes) -> MachineTimes:
        return MachineTimes(self.busy - other.busy, self.interrupts - other.interrupts,
                            self.steal - other.steal)


def machine_times() -> MachineTimes:
    times = psutil.cpu_times()
    idle = times.idle + getattr(times, "iowait", 0.0)
    guest = getattr(times, "guest", 0.0) + getattr(times, "guest_nice", 0.0)  # inside "user"
    return MachineTimes(busy=float(sum(times) - idle - guest),
                        interrupts=float(getattr(times, "irq", 0.0)
                                         + getattr(times, "softirq", 0.0)),
                        steal=float(getattr(times, "steal", 0.0)))


def cpu_of(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)
