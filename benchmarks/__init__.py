"""Benchmarks: gcfetch against the official gcapi and against the loopback limit.

Run `python -m benchmarks` (or `make bench`); see `benchmarks/__main__.py` for the options.
"""
