"""Matching: text folding and the watch list (Aho-Corasick), pure: no I/O, no clock; and the
backfill over stored articles, which reads and writes only through the store it is given."""

from monitor.matching.backfill import BackfillRun, ItemPlan, backfill, fingerprint, plan
from monitor.matching.normalise import normalise
from monitor.matching.watchlist import Explanation, WatchList

__all__ = ["BackfillRun", "Explanation", "ItemPlan", "WatchList", "backfill", "fingerprint",
           "normalise", "plan"]
