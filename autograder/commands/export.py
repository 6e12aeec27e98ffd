"""``python -m autograder export ASSIGNMENT --format canvas|moodle|nbgrader``: grades in the CSV an LMS imports
(``autograder.reports.export`` says what each format holds)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder.errors import UsageError
from autograder.course import DEFAULT_ROOT
from autograder.reports import export as lms


def default_db(assignment: str) -> str:
    """The term-wide gradebook ``grading/gradebook.db`` if it exists, else the assignment's own."""
    for path in (DEFAULT_ROOT / "gradebook.db", DEFAULT_ROOT / assignment / "gradebook.db"):
        if path.is_file():
            return f"sqlite:///{path}"
    raise UsageError(f"no gradebook found (looked for grading/gradebook.db and grading/{assignment}/gradebook.db); "
                     "grade first, or pass --db URL")


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
    args = parser.parse_args(argv)
    if args.out_of is not None and args.out_of <= 0:
        parser.error("--out-of takes a positive number of points")
    if args.canvas_column is not None and args.fmt != "canvas":
        parser.error("--canvas-column is for --format canvas")
    if args.fmt == "nbgrader" and (args.roster or args.out_of):
        parser.error("--roster and --out-of are for the canvas and moodle formats")
    out = args.out or DEFAULT_ROOT / args.assignment / f"grades-{args.fmt}.csv"
    unmatched = lms.export(args.assignment, args.fmt, out, args.db or default_db(args.assignment),
                           roster=lms.read_roster(args.roster), column=args.canvas_column, out_of=args.out_of)
    print(f"wrote {out}")
    if unmatched:
        print(f"left out {len(unmatched)} student(s) the LMS cannot match (no {args.fmt} id in the student id and none "
              f"in --roster): {', '.join(unmatched)}", file=sys.stderr)
        return 1
    return 0
