"""The one exception type of the stack: its message is the single line the user sees."""

from __future__ import annotations


class StackError(Exception):
    """A failure with a one-line, actionable message (the CLI prints it without a traceback)."""
