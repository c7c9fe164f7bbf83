"""Scoring main-text extraction the way the Article Extraction Benchmark does.

The benchmark (scrapinghub/article-extraction-benchmark, ``evaluate.py``) compares an
extractor's text with the hand-checked ``articleBody`` of each page as bags of word shingles
(runs of 4 ``\\w+`` tokens): true positives are the shingles both hold (with multiplicity),
false positives the extra ones extracted, false negatives the ones missed. Each page's counts
are normalised to sum to 1, so a long article weighs no more than a short one; precision and
recall are the means over pages, and F1 is their harmonic mean. Same scoring, so our figure
reads beside the published ones (trafilatura near 0.95). Pure, no dependencies: used by
``tests/test_extraction.py`` and ``bench/extractionbench.py``.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARK = ROOT.parent / "shared" / "pages" / "article-extraction-benchmark"
SHINGLE = 4

_TOKEN = re.compile(r"\w+")


@dataclass(frozen=True)
class Page:
    key: str           # the page's sha256, its name in the benchmark
    url: str
    html: bytes
    body: str          # the hand-checked article body


@dataclass(frozen=True)
class Counts:
    """One page's shingle counts, normalised to sum to 1 (all 0 when both texts are empty)."""

    tp: float
    fp: float
    fn: float


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    f1: float
    pages: int


def load_pages(folder: Path = BENCHMARK, limit: int | None = None) -> list[Page]:
    """The benchmark's pages in a stable order (by key), the first ``limit`` of them."""
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for key in sorted(truth)[:limit]:
        html = gzip.decompress((folder / "html" / f"{key}.html.gz").read_bytes())
        pages.append(Page(key, truth[key].get("url", ""), html,
                          truth[key].get("articleBody", "")))
    return pages


def _shingles(text: str) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN.findall(text)
    # A text shorter than one shingle is one (short) shingle, as in the benchmark.
    return Counter(tuple(tokens[i:i + SHINGLE])
                   for i in range(max(1, len(tokens) - SHINGLE + 1)) if tokens[i:i + SHINGLE])


def compare(truth: str, extracted: str) -> Counts:
    want, got = _shingles(truth), _shingles(extracted)
    tp = sum((want & got).values())
    fp = sum((got - want).values())
    fn = sum((want - got).values())
    total = tp + fp + fn
    return Counts(tp / total, fp / total, fn / total) if total else Counts(0.0, 0.0, 0.0)


def _precision(c: Counts) -> float:
    if c.fp == c.fn == 0:
        return 1.0
    return c.tp / (c.tp + c.fp) if c.tp + c.fp else 0.0


def _recall(c: Counts) -> float:
    if c.fp == c.fn == 0:
        return 1.0
    return c.tp / (c.tp + c.fn) if c.tp + c.fn else 0.0


def _mean(values: Iterable[float]) -> float:
    found = list(values)
    return sum(found) / len(found) if found else 0.0


def score(counts: list[Counts]) -> Score:
    """Mean precision over pages where something was extracted, mean recall over pages with a
    body (the benchmark's rule), and their harmonic mean."""
    precision = _mean(_precision(c) for c in counts if c.tp + c.fp > 0)
    recall = _mean(_recall(c) for c in counts if c.tp + c.fn > 0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Score(precision, recall, f1, len(counts))


def worst(pages: list[Page], counts: list[Counts], n: int = 5) -> Iterator[str]:
    """The ``n`` pages with the lowest F1, for a failure message."""
    def f1(c: Counts) -> float:
        p, r = _precision(c), _recall(c)
        return 2 * p * r / (p + r) if p + r else 0.0
    ranked = sorted(zip(pages, counts, strict=True), key=lambda pc: f1(pc[1]))[:n]
    for page, c in ranked:
        yield f"{page.key[:12]} {page.url} F1 {f1(c):.2f}"
