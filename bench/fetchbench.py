"""Figures 1 and 6: whole poll cycles over many distinct loopback feeds, and their memory.

The feeds are served by another process (bench/feedserver.py), each from its own loopback
address with a latency spread evenly over 0–200 ms. Measured, each in a fresh process
(bench/runner.py):

- our poll cycle (Monitor: fetch, parse in the pool, match, store), cold (every feed 200 with
  new articles) and then again with every feed answering 304;
- our Fetcher alone at the same concurrency, 200 then 304;
- a minimal raw asyncio client (bench/rawclient.py) at the same concurrency: the floor;
- our Fetcher one feed at a time (sequential), on the first ``sequential`` feeds and scaled to
  all of them. Latencies repeat every 20 feeds (bench/feedserver.py), so a sample of whole
  twenties has the mean latency of the lot and the scaling is exact but for noise.

Beside each wall time are the CPU seconds of our process, of its whole tree (the parser workers
included), and of everything else the machine ran meanwhile (``others_cpu_s``: whatever shares
the machine, the server aside: the noise in this run). A full run measures the whole cycle twice,
each time in a fresh process on a fresh database, and reports each phase's faster run (both are
in ``cycle_runs``) and the larger memory peak.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.processes import (
    MachineTimes,
    Runner,
    Served,
    TreeSampler,
    cpu_of,
    feed_server,
    machine_times,
)
from bench.timing import cpu_seconds

MB = 1024 * 1024


def fetch_figure(*, feeds: int, items: int, sequential: int, concurrency: int, seed: int,
                 folder: Path, cycle_runs: int = 1) -> dict[str, Any]:
    with feed_server(feeds, items, seed) as served:
        runs = [_cycle(served, folder / f"cycle-{n}.db", concurrency) for n in range(cycle_runs)]
        cycle = _fastest(runs)
        fetcher = _passes(served, "fetch", served.urls, concurrency)
        raw = _passes(served, "raw", served.urls, concurrency)
        sample = served.urls[:sequential]
        one_by_one = _passes(served, "fetch", sample, 1)
    scale = feeds / len(sample)
    for phase in one_by_one.values():
        phase["wall_scaled_s"] = phase["wall_s"] * scale
        phase["cpu_scaled_s"] = phase["cpu_s"] * scale
    return {
        "feeds": feeds, "items_per_feed": items, "concurrency": concurrency,
        "hosts": feeds, "latency_ms": "0-200, mean 100",
        "cycle": cycle["phases"], "fetcher": fetcher, "raw": raw,
        "sequential": {"sample": len(sample), **one_by_one},
        "speedup_vs_sequential": {
            status: one_by_one[status]["wall_scaled_s"] / fetcher[status]["wall_s"]
            for status in ("200", "304")},
        "cycle_304_vs_sequential_304":
            one_by_one["304"]["wall_scaled_s"] / cycle["phases"]["not_modified"]["wall_s"],
        "memory": cycle["memory"],
        "cycle_runs": [run["phases"] for run in runs],
    }


def _fastest(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each phase from the run where it was fastest; memory from the run that used the most."""
    phases = {name: min((run["phases"][name] for run in runs), key=lambda p: p["wall_s"])
              for name in runs[0]["phases"]}
    memory = max((run["memory"] for run in runs), key=lambda m: m["total_peak_pss_mb"])
    return {"phases": phases, "memory": memory}


def _cycle(served: Served, db: Path, concurrency: int) -> dict[str, Any]:
    phases: dict[str, Any] = {}
    memory: dict[str, Any] = {}
    args = {"mode": "cycle", "urls": served.urls, "db": str(db), "concurrency": concurrency}
    with Runner(args) as runner:
        sampler = TreeSampler(runner.psutil_process())
        sampler.start()
        try:
            for _ in range(2):
                ready = runner.read()
                machine, tree, server = machine_times(), sampler.total_cpu(), cpu_of(served.process)
                watching = cpu_seconds()
                sampler.reset_peaks()
                runner.go()
                done = runner.read()
                tree = sampler.total_cpu() - tree
                watching = cpu_seconds() - watching
                phases[ready["phase"]] = _phase(
                    done, tree_cpu_s=tree, sampler_cpu_s=watching,
                    **_outside(machine_times() - machine, tree + watching,
                               cpu_of(served.process) - server))
                if ready["phase"] == "cold":
                    memory = _memory(sampler, done)
        finally:
            sampler.stop()
    return {"phases": phases, "memory": memory}


def _passes(served: Served, mode: str, urls: list[str], concurrency: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with Runner({"mode": mode, "urls": urls, "concurrency": concurrency}) as runner:
        process = runner.psutil_process()
        for _ in range(2):
            ready = runner.read()
            machine, mine, server = machine_times(), cpu_of(process), cpu_of(served.process)
            runner.go()
            done = runner.read()
            out[ready["phase"]] = _phase(done, **_outside(
                machine_times() - machine, cpu_of(process) - mine,
                cpu_of(served.process) - server))
    return out


def _outside(machine: MachineTimes, ours: float, server: float) -> dict[str, float]:
    """What the machine did besides our processes, the feed server and this one (``ours``
    includes the sampler's own CPU time): ``others_cpu_s`` is kernel work done for us outside
    our processes (loopback packets in interrupts, disk writes in kernel threads) plus any
    other program; ``steal_s`` is time the hypervisor gave to other virtual machines. Large
    values mean a noisy run."""
    return {"server_cpu_s": server,
            "others_cpu_s": max(machine.busy - ours - server, 0.0),
            "interrupts_s": machine.interrupts, "steal_s": machine.steal}


def _phase(done: dict[str, Any], **extra: float) -> dict[str, Any]:
    out = {"wall_s": done["wall"], "cpu_s": done["cpu"], "statuses": done["statuses"]}
    for key in ("new_articles", "new_hits", "errors", "bytes"):
        if key in done:
            out[key] = done[key]
    out.update(extra)
    return out


def _memory(sampler: TreeSampler, done: dict[str, Any]) -> dict[str, Any]:
    return {
        "main_peak_rss_mb": done["peak_rss_mb"],
        "fork_server_peak_rss_mb": sampler.peak_of(1) / MB,
        "worker_peak_rss_mb": sampler.peak_of(2) / MB,
        "workers_seen": sum(1 for d in sampler.depth.values() if d == 2),
        "total_peak_rss_mb": sampler.peak_total_rss / MB,
        "total_peak_pss_mb": sampler.peak_total_pss / MB,
    }
