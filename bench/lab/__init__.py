"""Benchmark laboratory: shared harness, server launcher, gateway variants, profiler, experiments.

Not run by ``make bench`` (only ``bench/*.py`` are); each module says how to run it.
"""
