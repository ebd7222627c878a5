"""Subcommand modules of the ``cinemaabyss`` CLI (see ``cinemaabyss.cli``)."""
