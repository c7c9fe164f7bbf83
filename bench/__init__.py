"""Benchmarks of the pipeline against its limits: ``python -m bench`` (see docs/performance.md)."""
