"""Matching: text folding and the watch list (Aho-Corasick). Pure: no I/O, no clock."""

from monitor.matching.normalise import normalise
from monitor.matching.watchlist import Explanation, WatchList

__all__ = ["Explanation", "WatchList", "normalise"]
