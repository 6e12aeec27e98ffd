"""``python -m autograder export ASSIGNMENT --format canvas|moodle|nbgrader``: grades in the CSV an LMS imports
(``autograder.reports.export`` says what each format holds)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder.course import DEFAULT_ROOT
from autograder.errors import UsageError
from autograder.gradebook.term_total import CONFIG_NAME
from autograder.reports import export as lms


def default_db(assignment: str) -> str:
    """The term-wide gradebook ``grading/gradebook.db`` if it exists, else the assignment's own."""
    for path in (DEFAULT_ROOT / "gradebook.db", DEFAULT_ROOT / assignment / "gradebook.db"):
        if path.is_file():
            return f"sqlite:///{path}"
    raise SystemExit(f"no gradebook found (looked for grading/gradebook.db and grading/{assignment}/gradebook.db); "
                     "grade first, or pass --db URL")


def default_term(db: str) -> Path | None:
    """``term.toml`` in the folder of a SQLite gradebook (the term's grading folder), else ``grading/term.toml``."""
    if db.startswith("sqlite:///"):
        return Path(db.removeprefix("sqlite:///")).parent / CONFIG_NAME
    return DEFAULT_ROOT / CONFIG_NAME


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder export", description=lms.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignment", help="assignment id, e.g. 03-qkv")
    parser.add_argument("--format", required=True, choices=("canvas", "moodle", "nbgrader"), dest="fmt")
    parser.add_argument("--out", type=Path, default=None,
                        help="CSV file to write (default grading/<assignment>/grades-<format>.csv)")
    parser.add_argument("--db", default=None,
                        help="gradebook URL (default grading/gradebook.db, else grading/<assignment>/gradebook.db)")
    parser.add_argument("--roster", type=Path, default=None,
                        help="CSV mapping student_id to the LMS's columns (ID, SIS Login ID, Identifier, ...)")
    parser.add_argument("--canvas-column", default=None,
                        help="Canvas: the assignment's column header as Canvas's own export spells it, "
                             "e.g. 'Queries, keys and values (4567)' (default: the assignment id; Canvas then offers "
                             "to create a new assignment)")
    parser.add_argument("--out-of", type=float, default=None,
                        help="rescale scores to this many points (the LMS assignment's maximum; default: as graded)")
    parser.add_argument("--term", type=Path, default=None,
                        help="the term's configuration (default: term.toml beside the gradebook); if it exists, "
                             "Canvas and Moodle get the term total (and letter) as columns")
    args = parser.parse_args(argv)
    if args.out_of is not None and args.out_of <= 0:
        parser.error("--out-of takes a positive number of points")
    if args.canvas_column is not None and args.fmt != "canvas":
        parser.error("--canvas-column is for --format canvas")
    if args.fmt == "nbgrader" and (args.roster or args.out_of):
        parser.error("--roster and --out-of are for the canvas and moodle formats")
    out = args.out or DEFAULT_ROOT / args.assignment / f"grades-{args.fmt}.csv"
    db = args.db or default_db(args.assignment)
    term = args.term or default_term(db)
    try:
        unmatched = lms.export(args.assignment, args.fmt, out, db, roster=lms.read_roster(args.roster),
                               column=args.canvas_column, out_of=args.out_of, term=term)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out}" + (f" and {lms.questions_path(out)}" if args.fmt == "nbgrader" else "")
          + f" (report: {lms.report_path(out)})")
    if unmatched:
        for reason in lms.left_out(unmatched, args.fmt):
            print(f"left out: {reason}", file=sys.stderr)
        return 1
    return 0
