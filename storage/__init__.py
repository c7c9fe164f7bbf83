"""Storage: the records that cross stages (``records``), the one exception hierarchy (``errors``)
and the SQLite store (``store.Store``). Imports nothing else of ours."""
