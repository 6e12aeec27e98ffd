"""The errors a command reports to the instructor, as opposed to a bug (which keeps its traceback).

Library code raises these and never ``SystemExit``; the command layer (``autograder.commands.run``) prints the
message as ``error: ...`` and exits with the error's ``status``, 2: nothing was done, put it right and run again.
"""
from __future__ import annotations


class CourseError(Exception):
    """Something the instructor can put right; the command prints the message, without a traceback."""

    status = 2


class UsageError(CourseError):
    """A command was given something that does not exist or does not fit: an option, a student, an assignment, a
    file (a roster, the submissions folder), a gradebook without that assignment."""


class SetupError(CourseError):
    """This machine or a service cannot do what was asked: no sandbox (bubblewrap), a gradebook or a Dask scheduler
    out of reach, a Dask worker with other code."""
