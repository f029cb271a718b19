"""Benchmarks that print their figures; run them from the repository root with ``python -m bench.<name>``."""
