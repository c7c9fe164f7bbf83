"""Imported by the parser pool's fork server, and only there (monitor/feeds/parse.py, ParserPool).

Loading the language model takes a second of CPU and some 70 MB. Loaded once in the fork
server, it is inherited by every worker forked from it, shared copy-on-write, instead of being
loaded again by each worker and again each time a worker is replaced after ``max_tasks``.
"""

from __future__ import annotations

from monitor.feeds.entries import warm_language_model

warm_language_model()
