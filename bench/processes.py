"""Starting the feed server and the measured runner as separate processes, and watching them.

The runner's parser workers are forked by a fork server, so they are not its children for
``RUSAGE_CHILDREN`` purposes; ``TreeSampler`` reads CPU time and RSS of the whole process tree
from outside (psutil) every few milliseconds. A worker that exits between two samples loses at
most one interval of CPU time from the count.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_EVERY = 0.02  # seconds


@contextmanager
def feed_server(feeds: int, items: int, seed: int) -> Iterator[list[str]]:
    """Serve ``feeds`` feeds from another process; yields their URLs."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.feedserver", str(feeds), str(items), str(seed)],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("the benchmark feed server did not start")
        yield list(json.loads(line)["urls"])
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
    """CPU seconds and RSS of a process and all its descendants, sampled from a thread."""

    root: psutil.Process
    cpu: dict[int, float] = field(default_factory=dict)       # last CPU seen, per pid
    peak_rss: dict[int, int] = field(default_factory=dict)    # largest RSS seen, per pid
    peak_total_rss: int = 0
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
        self.peak_total_rss = 0

    def sample(self) -> None:
        try:
            processes = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return
        total = 0
        for process in processes:
            try:
                with process.oneshot():
                    times = process.cpu_times()
                    rss = process.memory_info().rss
            except psutil.Error:
                continue
            self.cpu[process.pid] = times.user + times.system
            self.peak_rss[process.pid] = max(self.peak_rss.get(process.pid, 0), rss)
            total += rss
        self.peak_total_rss = max(self.peak_total_rss, total)

    def _loop(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY):
            self.sample()


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
