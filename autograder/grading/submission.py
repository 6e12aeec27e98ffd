"""What the collect stage hands on: a submission, an entry not graded, and how names become student ids.

Shared by ``collect.py`` and ``lms.py`` (which sits below collect: collect reads an export through it).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from autograder.reasons import Reason

MAX_NOTEBOOK_BYTES = 100 << 20
#: Kept in a student id besides Unicode letters and digits; everything else (path separators, spaces,
#: control characters, quotes, ...) becomes "_".
SAFE_PUNCTUATION = "_.@+-"
CANVAS_RE = re.compile(r"^(?P<name>[^_]+)_(?P<late>LATE_)?(?P<user>\d+)_(?P<submission>\d+)_(?P<file>.+)$")
#: What an nbgrader course folder holds besides submitted/ (not submissions, so not listed as skipped).
NBGRADER_COURSE = {"source", "release", "autograded", "feedback", "gradebook.db", "nbgrader_config.py", "exchange"}
MOODLE_RE = re.compile(r"^(?P<name>.+)_(?P<user>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<file>.*)$")


@dataclass
class Submission:
    student: str
    origin: str
    data: bytes | None = None
    problem: Reason | None = None                 # why there is nothing to run (autograder.reasons)
    notes: list[Reason] = field(default_factory=list)
    review: bool = False
    #: When the student submitted (naive UTC, as nbgrader's gradebook keeps it), or None if the layout does not
    #: say: nbgrader's ``timestamp.txt``, an LMS export's date, or ``grade --timestamps``. Late penalties use it.
    timestamp: datetime | None = None
    #: Of an LMS submission of several files, the one graded (its time is the submission's).
    graded_file: str | None = None
    #: The LMS's own id of the student, from its download's names: ("canvas", user id) or ("moodle", participant).
    lms: tuple[str, str] | None = None
    #: Who the source says it is from, in its own terms, strongest first: ("name", a folder or file name),
    #: ("canvas_user_id", n), ("sortable_name", "lovelaceada"), ("moodle_id", n), ("full_name", "Ada Lovelace").
    #: The roster maps them to one student id (``autograder.gradebook.identity``).
    claims: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Skipped:
    """An entry of the submissions folder that was not graded, and why (listed in summary.md)."""

    name: str
    reason: str


def parse_timestamp(text: str | datetime | None) -> datetime | None:
    """A submission time as nbgrader keeps it (naive UTC; nbgrader's ``parse_utc``), or None if unreadable.

    Reads what nbgrader's exchange writes in ``timestamp.txt`` (``2026-11-20 10:00:00.123456 UTC``), ISO 8601 with
    or without an offset, and datetimes. A time without a zone is taken as UTC, as nbgrader does.
    """
    if text is None or text == "":
        return None
    from nbgrader.utils import parse_utc  # nbgrader is slow to import; only where a time is read

    try:
        return parse_utc(text)
    except (ValueError, OverflowError, TypeError):
        return None


def student_id(name: str) -> str:
    """A student id from a file or folder name: Unicode letters and digits stay (NFC), path-unsafe characters
    become "_". ``李雷`` stays ``李雷`` and ``José`` stays ``José`` (also when a Mac wrote it decomposed)."""
    name = unicodedata.normalize("NFC", name)
    out = "".join(ch if ch.isalnum() or ch in SAFE_PUNCTUATION else "_" for ch in name).strip(".")
    return out or "_"
