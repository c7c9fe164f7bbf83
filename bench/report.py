"""The printed table: each figure beside its baseline, then the targets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

Row = tuple[str, str, str, str]   # measure, ours, baseline, ratio


def _n(value: float, unit: str = "", digits: int = 3) -> str:
    if value >= 1000:
        text = f"{value:,.0f}"
    else:
        text = f"{value:.{digits}g}"
    return f"{text} {unit}".rstrip()


def _fetch(f: dict[str, Any]) -> Iterator[Row]:
    cold, warm = f["cycle"]["cold"], f["cycle"]["not_modified"]
    seq = f["sequential"]
    yield (f"poll cycle, all 200 ({f['items_per_feed']} items each)",
           f"{_n(cold['wall_s'], 's')}, {_n(cold['cpu_s'])} CPU-s "
           f"(+{_n(cold['tree_cpu_s'] - cold['cpu_s'])} in parsers)",
           f"sequential fetch alone: {_n(seq['200']['wall_scaled_s'], 's')}", "")
    yield ("poll cycle, all 304",
           f"{_n(warm['wall_s'], 's')}, {_n(warm['tree_cpu_s'])} CPU-s",
           f"sequential: {_n(seq['304']['wall_scaled_s'], 's')}",
           f"{f['cycle_304_vs_sequential_304']:.0f}x faster")
    for status in ("200", "304"):
        ours, raw = f["fetcher"][status], f["raw"][status]
        yield (f"Fetcher alone, all {status}",
               f"{_n(ours['wall_s'], 's')}, {_n(ours['cpu_s'])} CPU-s",
               f"raw asyncio: {_n(raw['wall_s'], 's')}, {_n(raw['cpu_s'])} CPU-s",
               f"{f['speedup_vs_sequential'][status]:.0f}x sequential; "
               f"{ours['cpu_s'] / max(raw['cpu_s'], 1e-9):.1f}x raw CPU")
    yield ("(noise during the cold cycle)",
           f"others {_n(cold['others_cpu_s'])} CPU-s, stolen {_n(cold['steal_s'])} s",
           f"watching it cost {_n(cold['sampler_cpu_s'])} CPU-s", "")


def _parse(f: dict[str, Any]) -> Iterator[Row]:
    yield (f"parse_feed, {f['items_per_feed']}-item RSS/Atom, one core",
           _n(f["items_per_s"], "items/s"),
           f"{f['baseline'].split('.fromstring')[0]}: {_n(f['baseline_items_per_s'], 'items/s')}",
           f"{f['ratio_to_baseline']:.3f}x")
    yield ("  of which feedparser alone", _n(f["feedparser_items_per_s"], "items/s"), "", "")


def _match(f: dict[str, Any]) -> Iterator[Row]:
    yield (f"normalise + match, {f['megabytes']:.0f} MB, {f['phrases']} phrases",
           _n(f["mb_per_s"], "MB/s"), f"normalise alone: {_n(f['normalise_mb_per_s'], 'MB/s')}",
           f"{f['ratio_to_normalise']:.2f}x")
    yield (f"  ({f['hits']:,} of {f['articles']:,} articles are hits)", "", "", "")


def _store(f: dict[str, Any]) -> Iterator[Row]:
    yield (f"store {f['articles']:,} articles, {f['batch']} per feed",
           _n(f["articles_per_s"], "articles/s"),
           f"raw, no FTS: {_n(f['raw_articles_per_s'], 'articles/s')}",
           f"{f['ratio_to_raw']:.2f}x")


def _query(f: dict[str, Any]) -> Iterator[Row]:
    for group in ("selective", "broad"):
        p, floor = f[group], f[group + "_floor"]
        yield (f"hits queries, {group}, {f['articles']:,} articles",
               f"p50 {_n(p['p50_ms'], 'ms')}, p95 {_n(p['p95_ms'], 'ms')}",
               f"bare lookup: p95 {_n(floor['p95_ms'], 'ms')}", "")
    fresh = f["selective_just_opened"]
    yield ("  selective, store just opened", f"p95 {_n(fresh['p95_ms'], 'ms')}", "", "")


def _backfill(f: dict[str, Any]) -> Iterator[Row]:
    one, whole, plain = f["one_term"], f["whole_list"], f["plain_matcher"]
    yield (f"one new term, {one['articles']:,} articles",
           f"{_n(one['seconds'], 's')} ({one['candidates']:,} candidates)", "", "")
    yield (f"whole watch list, {whole['articles']:,} articles",
           f"{_n(whole['seconds'], 's')} ({whole['candidates']:,} candidates)",
           f"plain matcher over all: {_n(plain['seconds'], 's')} "
           f"({_n(plain['articles_per_s'], 'articles/s')})",
           f"{plain['seconds'] / max(whole['seconds'], 1e-9):.2f}x")


def _stories(f: dict[str, Any]) -> Iterator[Row]:
    place, alone, whole = f["place"], f["store_only"], f["rebuild"]
    yield (f"place a new hit, {f['articles']:,} hits in {f['window_hours']:.0f} h",
           f"p50 {_n(place['p50_ms'], 'ms')}, p95 {_n(place['p95_ms'], 'ms')}",
           f"storing alone: p50 {_n(alone['p50_ms'], 'ms')}",
           f"+{_n(f['grouping_ms'], 'ms')}")
    yield (f"stories --rebuild, {whole['hits']:,} hits",
           f"{_n(whole['wall_s'], 's')} ({_n(whole['per_s'], 'hits/s')})",
           f"{f['stories']:,} stories, {f['keys']:,} keys", "")


def _memory(f: dict[str, Any]) -> Iterator[Row]:
    m = f["memory"]
    yield ("peak memory, cold cycle",
           f"{_n(m['total_peak_pss_mb'], 'MB')} PSS in all",
           f"main {_n(m['main_peak_rss_mb'], 'MB')} RSS; each parser up to "
           f"{_n(m['worker_peak_rss_mb'], 'MB')} RSS", "")
    yield ("  RSS summed over processes (shared pages counted in each)",
           _n(m["total_peak_rss_mb"], "MB"), "", "")


def _extraction(f: dict[str, Any]) -> Iterator[Row]:
    yield (f"extract main text, {f['pages']} real pages ({f['megabytes']:.1f} MB)",
           f"{_n(f['pages_per_s'], 'pages/s')} ({_n(f['cpu_ms_per_page'], 'CPU-ms/page')})",
           f"lxml.html.fromstring: {_n(f['baseline_pages_per_s'], 'pages/s')}",
           f"{f['ratio_to_baseline']:.3f}x")
    yield (f"  precision {f['precision']:.3f}, recall {f['recall']:.3f}, F1 {f['f1']:.3f}",
           f"import {_n(f['import_s'], 's')}", "", "")


def _pages(f: dict[str, Any]) -> Iterator[Row]:
    yield (f"{f['pages']:,} article pages over {f['hosts']} hosts, {f['delay_s']:g} s apart",
           f"{_n(f['wall_s'], 's')}, {_n(f['cpu_s'])} CPU-s, peak {_n(f['peak_rss_mb'], 'MB')}"
           " RSS", f"politeness floor: {_n(f['floor_s'], 's')}", f"{f['wall_to_floor']:.2f}x")
    yield (f"  ({f['bodies']:,} bodies, {f['hits']:,} hits)", "", "", "")


SECTIONS = (("fetch", "1. Fetch", _fetch), ("parse", "2. Parse", _parse),
            ("match", "3. Match", _match), ("store", "4. Store", _store),
            ("query", "5. Query", _query), ("fetch", "6. Memory", _memory),
            ("backfill", "7. Backfill", _backfill),
            ("extraction", "8. Main-text extraction", _extraction),
            ("pages", "9. Article pages", _pages),
            ("stories", "10. Stories", _stories))


def table(results: dict[str, Any]) -> str:
    figures = results["figures"]
    rows: list[Row] = []
    for key, title, rows_of in SECTIONS:
        rows.append((title, "", "", ""))
        if key not in figures:
            rows.append(("  (not run)", "", "", ""))
        elif "error" in figures[key]:
            rows.append((f"  failed: {figures[key]['error']}", "", "", ""))
        elif "skipped" in figures[key]:
            rows.append((f"  skipped: {figures[key]['skipped']}", "", "", ""))
        else:
            rows.extend((f"  {m}", o, b, r) for m, o, b, r in rows_of(figures[key]))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines += ["", "Targets" + (" (not a full run: size-dependent ones are not checked)"
                               if results["mode"] != "full" else "")]
    for target in results["targets"]:
        mark = {True: "met   ", False: "MISSED", None: "  -   "}[target["met"]]
        value = "not run" if target["value"] is None else _n(target["value"], target["unit"])
        lines.append(f"  {mark}  {target['text']}: {value} "
                     f"(target {target['op']} {_n(target['limit'], target['unit'])})")
    machine = results["machine"]
    lines += ["", f"{machine['cpu']} x{machine['cores']}, {machine['memory_gb']:.0f} GB, "
                  f"Python {machine['python']}, SQLite {machine['sqlite']}; "
                  f"load average {machine['load_before']} before, {machine['load_after']} after; "
                  f"{results['duration_s']:.0f} s in all"]
    return "\n".join(lines)
