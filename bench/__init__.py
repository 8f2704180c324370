"""Benchmarks run as scripts (``python bench/bench_train.py``); a package so tests can import the
benchmark-only reference model as ``bench.reference_model``."""
