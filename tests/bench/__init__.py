"""Tests of the benchmark laboratory's pure parts (no nginx, wrk or Go needed)."""
