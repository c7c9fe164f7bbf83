"""The benchmark runs end to end (`python -m bench --tiny`) and writes results.json as documented.

A smoke test: every code path of bench/ on tiny inputs, in seconds. It asserts what was
measured and how the results are laid out, never how fast anything was (that is the benchmark's
job, and a test suite on a shared machine cannot judge it).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
FEEDS, ITEMS, SEQUENTIAL = 4, 3, 2          # bench/sizes.py, TINY
TARGET_KEYS = {"cycle_304_wall", "cycle_304_cpu", "cycle_cold_wall", "fetch_speedup",
               "match_rate", "match_ratio", "store_rate", "query_selective_p95", "peak_memory",
               "backfill_one_term", "backfill_whole_list", "extraction_rate", "extraction_f1",
               "pages_wall_to_floor", "stories_place"}
SIZE_DEPENDENT = {"cycle_304_wall", "cycle_304_cpu", "cycle_cold_wall", "fetch_speedup",
                  "query_selective_p95", "peak_memory", "backfill_one_term", "backfill_whole_list",
                  "pages_wall_to_floor", "stories_place"}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    folder = tmp_path_factory.mktemp("bench")
    output = folder / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--tiny", "--output", str(output),
         "--cache", str(folder / "cache")],
        cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(output.read_text(encoding="utf-8")), done.stdout


def number(value: object) -> float:
    assert isinstance(value, int | float) and not isinstance(value, bool), value
    assert value >= 0, value
    return float(value)


def test_every_figure_is_measured(run: tuple[dict[str, Any], str]) -> None:
    results, _ = run
    assert results["mode"] == "tiny"
    assert set(results["figures"]) == {"fetch", "parse", "match", "store", "query", "backfill",
                                       "extraction", "pages", "stories"}
    for name, figure in results["figures"].items():
        assert "error" not in figure, f"{name}: {figure.get('error')}"
        number(figure["seconds"])


def test_the_machine_is_recorded(run: tuple[dict[str, Any], str]) -> None:
    machine = run[0]["machine"]
    assert machine["cores"] >= 1 and machine["cpu"] and machine["sqlite"]
    assert {"load_before", "load_after", "python", "libraries"} <= set(machine)


def test_fetch_cycles_see_the_server_answer_200_then_304(
        run: tuple[dict[str, Any], str]) -> None:
    fetch = run[0]["figures"]["fetch"]
    assert fetch["feeds"] == FEEDS and fetch["items_per_feed"] == ITEMS
    cold, again = fetch["cycle"]["cold"], fetch["cycle"]["not_modified"]
    assert cold["statuses"] == {"ok": FEEDS} and cold["new_articles"] == FEEDS * ITEMS
    assert again["statuses"] == {"not_modified": FEEDS} and again["new_articles"] == 0
    for phase in (cold, again, fetch["fetcher"]["200"], fetch["raw"]["304"]):
        for key in ("wall_s", "cpu_s", "server_cpu_s", "others_cpu_s", "interrupts_s",
                    "steal_s"):
            number(phase[key])
    number(cold["tree_cpu_s"])  # with the parser processes' share (read in clock ticks)
    number(cold["sampler_cpu_s"]), number(again["sampler_cpu_s"])
    for client in ("fetcher", "raw"):
        assert fetch[client]["200"]["statuses"] == {"200": FEEDS}
        assert fetch[client]["304"]["statuses"] == {"304": FEEDS}
        assert fetch[client]["200"]["bytes"] > 0 and fetch[client]["304"]["bytes"] == 0
    # Our Fetcher and the raw client decode the same bodies.
    assert fetch["fetcher"]["200"]["bytes"] == fetch["raw"]["200"]["bytes"]
    sequential = fetch["sequential"]
    assert sequential["sample"] == SEQUENTIAL
    assert sequential["200"]["statuses"] == {"200": SEQUENTIAL}
    assert sequential["304"]["statuses"] == {"304": SEQUENTIAL}
    number(sequential["200"]["wall_scaled_s"]), number(fetch["speedup_vs_sequential"]["200"])


def test_memory_of_the_cold_cycle_counts_the_parser_processes(
        run: tuple[dict[str, Any], str]) -> None:
    memory = run[0]["figures"]["fetch"]["memory"]
    assert memory["workers_seen"] >= 1
    assert number(memory["worker_peak_rss_mb"]) > 0 and number(memory["main_peak_rss_mb"]) > 0
    # Summed RSS counts shared pages once per process; PSS shares them out.
    assert number(memory["total_peak_rss_mb"]) >= number(memory["total_peak_pss_mb"]) > 0


def test_parse_match_store_and_query_figures(run: tuple[dict[str, Any], str]) -> None:
    figures = run[0]["figures"]
    parse = figures["parse"]
    assert set(parse["feeds"]) == {"rss", "rss_full_content", "atom"}
    assert parse["baseline"] in ("lxml.etree.fromstring", "xml.etree.ElementTree.fromstring")
    number(parse["items_per_s"]), number(parse["ratio_to_baseline"])
    match = figures["match"]
    assert match["phrases"] == 500 and match["articles"] > 0
    number(match["mb_per_s"]), number(match["ratio_to_normalise"])
    store = figures["store"]
    assert store["articles"] == 100 and store["batch"] == 25
    number(store["articles_per_s"]), number(store["raw_articles_per_s"])
    query = figures["query"]
    assert query["articles"] == 300 and query["hits"] > 0
    for group in ("selective", "broad", "selective_floor", "broad_floor"):
        assert number(query[group]["p95_ms"]) >= number(query[group]["p50_ms"])
    assert {kind["group"] for kind in query["kinds"].values()} == {"selective", "broad"}
    backfill = figures["backfill"]
    assert backfill["one_term"]["articles"] == 300 and backfill["whole_list"]["articles"] == 300
    assert backfill["whole_list"]["items"] == 13
    # The index narrows: fewer candidates than articles, and the plain matcher finds hits.
    assert backfill["whole_list"]["candidates"] < 13 * 300 and backfill["plain_matcher"]["matched"]
    number(backfill["one_term"]["seconds"]), number(backfill["plain_matcher"]["articles_per_s"])
    stories = figures["stories"]
    # Every hit regrouped, fewer stories than hits, every hit of the new ones timed.
    assert stories["articles"] == stories["rebuild"]["hits"] == 300
    assert 0 < stories["stories"] <= 300 and stories["methods"]["first"] == stories["stories"]
    assert stories["place"]["new"] + stories["store_only"]["new"] == 10
    number(stories["grouping_ms"]), number(stories["rebuild"]["per_s"])
    pages = figures["pages"]
    # Every page fetched, its text stored and matched; the floor is pages per host x delay.
    assert pages["pages"] == 8 and pages["bodies"] == 8 and pages["hits"] == 8
    assert number(pages["wall_s"]) >= pages["floor_s"] - pages["delay_s"]
    number(pages["cpu_s"]), number(pages["peak_rss_mb"])


def test_extraction_figure(run: tuple[dict[str, Any], str]) -> None:
    extraction = run[0]["figures"]["extraction"]
    if "skipped" in extraction:
        assert "benchmark is absent" in extraction["skipped"]
        pytest.skip(extraction["skipped"])
    assert extraction["pages"] == 5 and extraction["baseline"] == "lxml.html.fromstring"
    for key in ("pages_per_s", "cpu_ms_per_page", "baseline_pages_per_s", "import_s"):
        assert number(extraction[key]) > 0
    for key in ("precision", "recall", "f1"):
        assert 0.5 < number(extraction[key]) <= 1.0   # 5 pages: a sanity check, not the figure


def test_targets_are_all_reported_and_size_dependent_ones_wait_for_a_full_run(
        run: tuple[dict[str, Any], str]) -> None:
    found = {target["key"]: target for target in run[0]["targets"]}
    assert set(found) == TARGET_KEYS
    if "skipped" in run[0]["figures"]["extraction"]:   # no ../shared: nothing to read
        for key in ("extraction_rate", "extraction_f1"):
            assert found.pop(key)["value"] is None
    for key, target in found.items():
        number(target["value"]), number(target["limit"])
        assert target["op"] in ("<=", ">=")
        if key in SIZE_DEPENDENT:
            assert target["met"] is None and "full run" in target["note"]
        else:
            assert isinstance(target["met"], bool)


def test_the_table_is_printed(run: tuple[dict[str, Any], str]) -> None:
    printed = run[1]
    for heading in ("1. Fetch", "2. Parse", "3. Match", "4. Store", "5. Query", "6. Memory",
                    "7. Backfill", "8. Main-text extraction",
                    "9. Article pages", "10. Stories", "Targets"):
        assert heading in printed
    assert "written to" in printed
