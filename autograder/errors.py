"""The errors a command reports to the instructor, as opposed to a bug (which keeps its traceback)."""
from __future__ import annotations


class UsageError(Exception):
    """A command was given something that does not exist or does not fit (printed, exit status 2)."""
