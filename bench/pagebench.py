"""Figure 7: article pages end to end (design §12): N article pages over H loopback hosts, fetched
politely by the page worker (robots.txt, per-host pacing, HTML only), their text extracted,
stored and matched. The floor is the politeness itself: pages per host × delay (the hosts are
worked side by side), and the figure is how close the wall time comes to it, with the CPU
seconds and peak memory that cost.

Three processes, so no one's CPU counts as another's: this one (the parent), the publisher
(``python -m bench.pagebench serve HOSTS PAGES``: one asyncio server per host on 127.0.0.2,
127.0.0.3, …, answering robots.txt with 404 and each page with a ~3 KB news page wrapped in
furniture), and the measured worker (``python -m bench.pagebench work '<json>'``), which prints
one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

_PARAGRAPH = ("Customs officers said on {day} that inspections under Mission Firewall found "
              "{n} rifles hidden in southbound vehicles at the crossing, and that agents traced "
              "the weapons through eTrace to dealers in Arizona and Texas. ")
_FURNITURE = ("Merida Initiative", "Operation Southbound", "Fast and Furious", "NIBIN")


def page_html(host: int, page: int) -> bytes:
    """A news page: the article (five paragraphs) and, around it, furniture naming others."""
    body = "".join(f"<p>{escape(_PARAGRAPH.format(day='Tuesday', n=host * 100 + page + k))}"
                   f"{escape(_PARAGRAPH.format(day='Monday', n=k))}</p>" for k in range(5))
    items = "".join(f"<li><a href='/x/{k}'>{name} under review</a></li>"
                    for k, name in enumerate(_FURNITURE))
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Story {page}"
            f"</title></head><body><header><nav class='menu'><ul>{items}</ul></nav></header>"
            f"<main><article><h1>Rifles found at crossing ({host}-{page})</h1>{body}</article>"
            f"<aside class='most-read'><ol>{items}</ol></aside>"
            f"<div class='newsletter'><p>News on the {', '.join(_FURNITURE)}</p></div></main>"
            f"<footer><p>{', '.join(_FURNITURE)}</p></footer></body></html>").encode()


# -- the publisher ------------------------------------------------------------------------------

async def _serve(hosts: int, pages: int) -> None:
    bodies = {(h, p): page_html(h, p) for h in range(hosts) for p in range(pages)}

    def handler(host: int) -> Any:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while True:
                    request = await reader.readuntil(b"\r\n\r\n")
                    path = request.split(b" ", 2)[1].decode()
                    if path.startswith("/a/"):
                        body = bodies[(host, int(path[3:]))]
                        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                    else:
                        body, head = b"none", b"HTTP/1.1 404 Not Found\r\n"
                    writer.write(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()
        return answer

    servers = [await asyncio.start_server(handler(h), f"127.0.0.{h + 2}", 0)
               for h in range(hosts)]
    ports = [s.sockets[0].getsockname()[1] for s in servers]
    print(json.dumps({"ports": ports}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


# -- the measured worker ------------------------------------------------------------------------

async def _work(args: dict[str, Any]) -> dict[str, Any]:
    from bench.runner import peak_rss_mb
    from monitor.feeds import Fetcher
    from monitor.matching import WatchList
    from monitor.pages import PAGE_ACCEPT, HostPacer, PageWorker, RobotsCache
    from monitor.settings import ArticlesConfig, FeedConfig, load_watchlist
    from storage.pages import PageRequest
    from storage.records import Article
    from storage.store import Store

    now = datetime.now(UTC)
    feed = FeedConfig(name="bench", url="http://127.0.0.1/feed.xml",
                      interval=timedelta(minutes=15))
    urls = [(f"127.0.0.{h + 2}", f"http://127.0.0.{h + 2}:{port}/a/{p}")
            for p in range(args["pages"]) for h, port in enumerate(args["ports"])]
    settings = ArticlesConfig(concurrency=args["concurrency"])
    watchlist = WatchList(load_watchlist(ROOT / "config" / "watchlist.toml"))
    with Store.open(Path(args["db"])) as store:
        articles = [Article(id=f"a{i}", feed=feed.name, guid=str(i), url=url,
                            canonical_url=url, title="Rifles found at crossing", summary="",
                            content="", published=now, first_seen=now, language="en")
                    for i, (_, url) in enumerate(urls)]
        store.articles.insert_new(articles)
        store.pages.enqueue([PageRequest(a.id, feed.name, url, host=host)
                             for a, (host, url) in zip(articles, urls, strict=True)], now)
        async with Fetcher(concurrency=settings.concurrency, per_host=2, timeout=20,
                           accept=PAGE_ACCEPT) as fetcher:
            worker = PageWorker(store=store, fetcher=fetcher, watchlist=watchlist,
                                feeds={feed.name: feed}, settings=settings,
                                pacer=HostPacer(per_host=2, delay=args["delay"]),
                                robots=RobotsCache(lambda: datetime.now(UTC)),
                                clock=lambda: datetime.now(UTC))
            tasks = store.pages.due(datetime.now(UTC))
            usage = resource.getrusage(resource.RUSAGE_SELF)
            cpu = usage.ru_utime + usage.ru_stime
            wall = time.perf_counter()
            report = await worker.work(tasks)
            wall = time.perf_counter() - wall
            usage = resource.getrusage(resource.RUSAGE_SELF)
            cpu = usage.ru_utime + usage.ru_stime - cpu
        hits = store.hits.count()
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": peak_rss_mb(),
            "bodies": report.bodies, "without_body": report.without_body, "hits": hits}


# -- the figure ---------------------------------------------------------------------------------

def page_figure(*, pages: int, hosts: int, delay: float, concurrency: int = 32
                ) -> dict[str, Any]:
    per_host = pages // hosts
    server = subprocess.Popen([sys.executable, "-m", "bench.pagebench", "serve", str(hosts),
                               str(per_host)], cwd=ROOT, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        ports = json.loads(server.stdout.readline())["ports"]
        with tempfile.TemporaryDirectory(prefix="armswatch-pages-") as folder:
            args = {"ports": ports, "pages": per_host, "delay": delay,
                    "concurrency": concurrency, "db": str(Path(folder) / "pages.db")}
            done = subprocess.run([sys.executable, "-m", "bench.pagebench", "work",
                                   json.dumps(args)], cwd=ROOT, capture_output=True, text=True,
                                  timeout=600, check=True)
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=10)
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    # The starts of one host's requests are ``delay`` apart: robots.txt and its pages make
    # per_host gaps, and the hosts are worked side by side.
    floor = per_host * delay
    return {"pages": per_host * hosts, "hosts": hosts, "delay_s": delay,
            "concurrency": concurrency, "floor_s": floor,
            "wall_to_floor": measured["wall_s"] / floor, **measured}


def main() -> None:
    if sys.argv[1] == "serve":
        asyncio.run(_serve(int(sys.argv[2]), int(sys.argv[3])))
    else:
        print(json.dumps(asyncio.run(_work(json.loads(sys.argv[2])))), flush=True)


if __name__ == "__main__":
    main()
