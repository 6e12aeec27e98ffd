"""Instructor commands: ``python -m autograder COMMAND ...`` (``--help`` on each).

Argument parsing only: each command reads its options, calls the library (``autograder.term`` for a term's
grading and record, ``autograder.reports`` for exports, ``autograder.authoring`` for releases and nbgrader), and
prints what it returns. Library code raises exceptions; :func:`run` turns a :class:`autograder.errors.UsageError`
into an error line and exit status 2, and the library's warnings reach stderr through ``logging``.
"""
from __future__ import annotations

import importlib
import logging
import sys

from autograder.errors import UsageError

USAGE = """usage: python -m autograder COMMAND [options]   (python -m autograder COMMAND --help for each)

  release [ASSIGNMENT ...]                       regenerate the student release (exercises/)
  grade ASSIGNMENT SUBMISSIONS [--student ID]    grade a class, or only some students
  score ASSIGNMENT STUDENT QUESTION [POINTS] [--comment TEXT]
                                                 a grader's score and/or comment on one question
  extend ASSIGNMENT STUDENT [--days N] [--time-factor F]
                                                 a later due date and/or longer time limits for one student
  exclude ASSIGNMENT STUDENT [--reason TEXT]     leave a student out of an assignment
  review ASSIGNMENT STUDENT --note TEXT          a flagged submission was looked at: it no longer needs a look
  duedate ASSIGNMENT WHEN                        the assignment's due date (late penalties)
  roster FILE.csv                                import the class list (id, first_name, last_name, email, LMS ids)
  link SOURCE TARGET                             one person under two ids: merge SOURCE into TARGET
  term [--config term.toml]                      the term's totals (weights, lowest dropped, letters)
  export ASSIGNMENT --format canvas|moodle|nbgrader [--out FILE.csv]
                                                 grades in the format an LMS gradebook imports
  nbgrader COMMAND [ARGS ...]                    nbgrader with the course's configuration (exchange)
  release-feedback ASSIGNMENT                    the grader's feedback pages through nbgrader's exchange
  translate update|release|check [ASSIGNMENT ...]
                                                 the Chinese release (exercises/zh/) from gettext catalogs
"""


def _logging() -> None:
    """The library logs through ``logging``; the command prints its warnings on stderr as ``warning: ...``."""
    root = logging.getLogger("autograder")
    if any(getattr(h, "_autograder", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    handler._autograder = True
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.addLevelName(logging.WARNING, "warning")
    logging.addLevelName(logging.ERROR, "error")


#: command -> (module of ``autograder.commands``, function). A command imports only its own module: start-up
#: matters (nbgrader alone takes seconds to import), and ``release`` needs nothing of grading.
COMMANDS = {"grade": ("grade", "main"), "score": ("instructor", "score"), "extend": ("instructor", "extend"),
            "exclude": ("instructor", "exclude"), "review": ("instructor", "review"),
            "duedate": ("instructor", "duedate"), "roster": ("instructor", "roster"), "link": ("instructor", "link"), "term": ("instructor", "term_total"),
            "export": ("export", "main"),
            "release": ("authoring", "release"), "translate": ("authoring", "translate"),
            "nbgrader": ("authoring", "nbgrader"), "release-feedback": ("authoring", "release_feedback")}


def run(command: str, argv: list[str]) -> int:
    """Run one command with its arguments; a usage error is printed and gives exit status 2."""
    module, function = COMMANDS[command]
    try:
        return getattr(importlib.import_module(f"autograder.commands.{module}"), function)(argv)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    _logging()
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    if argv[0] not in COMMANDS:
        print(f"unknown command {argv[0]!r}\n\n{USAGE}", file=sys.stderr)
        return 2
    return run(argv[0], argv[1:])
