"""Operational tooling: the ``cinemaabyss`` command and the no-Docker local stack.

This package is a composition root: it may import every other package; nothing imports it.
"""
