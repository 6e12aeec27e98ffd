"""The instructor's term commands: ``python -m autograder score|extend|exclude|duedate|roster ...`` (``--help`` on each).

Each one changes the term's gradebook (``grading/gradebook.db`` unless ``--out-root`` or ``--db``) and rewrites
what depends on it at once: the student's feedback page, the assignment's ``summary.md``, histogram and
``grades.csv``, and the term-wide ``grading/grades.csv``. What is kept where: ``autograder/gradebook/store.py``;
what each command does: ``autograder/term.py``.
"""
from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from autograder import term
from autograder.course import Course
from autograder.errors import UsageError
from autograder.grading.submission import parse_timestamp


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out-root", type=Path, default=None,
                        help="the term's grading folder (default grading/): reports in OUT_ROOT/<assignment>/")
    parser.add_argument("--db", default=None, help="gradebook SQLAlchemy URL (default sqlite:///OUT_ROOT/gradebook.db)")


def _parser(prog: str, description: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(prog=f"python -m autograder {prog}", description=description,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def _course(args) -> Course:
    return Course.from_options(args.out_root, args.db)


def _parse_when(text: str) -> dt.datetime:
    when = parse_timestamp(text)
    if when is None:
        raise UsageError(f"{text!r} is not a date and time (e.g. '2026-12-01 23:59:00 Europe/Paris' or "
                         "'2026-12-01T23:59:00+01:00'; without a zone it is UTC)")
    return when


def score(argv: list[str]) -> int:
    parser = _parser("score", "Set a grader's score and/or comment on one question of one student's submission.\n\n"
                     "The score replaces the automatic one (nbgrader's manual_score) in every output and survives\n"
                     "re-grading (also with --force). The comment is shown on the student's feedback page.\n\n"
                     "  python -m autograder score 03-qkv alice cosine-tests 1.5 --comment 'right idea, keys not normalised'\n"
                     "  python -m autograder score 03-qkv alice cosine-tests --comment 'see the lecture notes'\n"
                     "  python -m autograder score 03-qkv alice cosine-tests --clear    # back to the automatic score")
    parser.add_argument("assignment", help="assignment id, e.g. 03-qkv")
    parser.add_argument("student", help="student id, as in grades.csv")
    parser.add_argument("question", help="the question's grade_id (the test cell's, as in summary.md)")
    parser.add_argument("points", nargs="?", type=float, default=None, help="the score, from 0 to the question's points")
    parser.add_argument("--comment", default=None, help="a comment for the student ('' removes it)")
    parser.add_argument("--clear", action="store_true", help="remove the grader's score: the automatic one counts again")
    _common(parser)
    args = parser.parse_args(argv)
    if args.points is None and args.comment is None and not args.clear:
        parser.error("give POINTS, --comment or --clear")
    if args.clear and args.points is not None:
        parser.error("--clear takes no POINTS")
    spec, st = term.score(_course(args), args.assignment, args.student, args.question, args.points, args.comment,
                          args.clear)
    print(f"{args.student}: {args.question} {st.scores[args.question]:g}"
          f"{' (set by a grader)' if args.question in st.manual else ' (automatic)'}; "
          f"{spec.name} score {st.total:g} / {spec.max_score:g}"
          + (f" after a late penalty of {st.penalty:g}" if st.penalty else ""))
    return 0


def extend(argv: list[str]) -> int:
    parser = _parser("extend", "Give one student more time: a later due date (no late penalty until then) and/or\n"
                     "longer time limits when their notebook is graded. Replaces any earlier extension of that\n"
                     "student for that assignment (like nbgrader's grant_extension). A longer time limit makes\n"
                     "the next `grade` run grade that student again, and nobody else.\n\n"
                     "  python -m autograder extend 03-qkv alice --days 2\n"
                     "  python -m autograder extend 03-qkv bob --time-factor 2       # every time limit doubled\n"
                     "  python -m autograder extend 03-qkv alice --clear")
    parser.add_argument("assignment", help="assignment id, e.g. 03-qkv")
    parser.add_argument("student", help="student id")
    for unit in ("minutes", "hours", "days", "weeks"):
        parser.add_argument(f"--{unit}", type=float, default=0.0, help=f"due-date extension in {unit}")
    parser.add_argument("--time-factor", type=float, default=None,
                        help="multiply this student's time limits (function, cell, notebook, CPU) by this factor (> 1)")
    parser.add_argument("--clear", action="store_true", help="remove the student's extension")
    _common(parser)
    args = parser.parse_args(argv)
    seconds = dt.timedelta(minutes=args.minutes, hours=args.hours, days=args.days, weeks=args.weeks).total_seconds()
    if seconds < 0:
        parser.error("an extension cannot be negative")
    if args.time_factor is not None and not 1 <= args.time_factor <= 100:
        parser.error("--time-factor takes a number from 1 to 100")
    if not args.clear and not seconds and args.time_factor is None:
        parser.error("give --minutes/--hours/--days/--weeks, --time-factor, or --clear")
    done = term.extend(_course(args), args.assignment, args.student, seconds or None, args.time_factor, args.clear)
    sid, st = done.student, done.standing
    if not done.known:
        print(f"note: {sid} is not in the gradebook yet (no roster entry, nothing graded); the extension "
              "applies when they are graded")
    if st is not None:
        print(f"{sid}: due {st.duedate} UTC; late penalty {st.penalty:g}; {args.assignment} score {st.total:g}")
    due, factor = None, None
    if not args.clear:
        due, factor = seconds or None, args.time_factor
    print(f"{sid}: {args.assignment} extension " + ("removed" if args.clear else
          ", ".join(filter(None, [f"due date +{dt.timedelta(seconds=due)}" if due else "",
                                  f"time limits x{factor:g}" if factor else ""]))))
    if factor or args.clear:
        print("the next `grade` run grades this student again (and only this student) with the new time limits")
    return 0


def exclude(argv: list[str]) -> int:
    parser = _parser("exclude", "Exclude a student from an assignment (withdrawn, exempted, duplicate account): they\n"
                     "are not graded, and left out of summary.md, the histogram and grades.csv, which list them\n"
                     "under 'Excluded'. Their gradebook rows are kept; --undo brings them back.\n\n"
                     "  python -m autograder exclude 03-qkv carol --reason 'withdrew on 2026-11-02'")
    parser.add_argument("assignment", help="assignment id, e.g. 03-qkv")
    parser.add_argument("student", help="student id")
    parser.add_argument("--reason", default=None, help="why (shown in summary.md)")
    parser.add_argument("--undo", action="store_true", help="include the student again")
    _common(parser)
    args = parser.parse_args(argv)
    sid = term.exclude(_course(args), args.assignment, args.student, args.reason, args.undo)
    print(f"{sid}: {'included in' if args.undo else 'excluded from'} {args.assignment}")
    return 0


def duedate(argv: list[str]) -> int:
    parser = _parser("duedate", "Set an assignment's due date in the gradebook (the field `nbgrader db assignment add\n"
                     "--duedate` writes) and recompute every late penalty of it. Penalties follow nbgrader's\n"
                     "LateSubmissionPlugin as configured (c.LateSubmissionPlugin.penalty_method = 'zero' in\n"
                     "autograder/nbgrader_config.py or OUT_ROOT/nbgrader_config.py; default: no penalty).\n\n"
                     "  python -m autograder duedate 03-qkv '2026-12-01 23:59:00 Europe/Paris'\n"
                     "  python -m autograder duedate 03-qkv --clear")
    parser.add_argument("assignment", help="assignment id, e.g. 03-qkv")
    parser.add_argument("when", nargs="?", default=None,
                        help="date and time, with a zone name or offset (without one it is UTC)")
    parser.add_argument("--clear", action="store_true", help="remove the due date")
    _common(parser)
    args = parser.parse_args(argv)
    if (args.when is None) != args.clear:
        parser.error("give a date and time, or --clear")
    when = None if args.clear else _parse_when(args.when)
    students, late = term.duedate(_course(args), args.assignment, when)
    print(f"{args.assignment}: due {when or 'never'}{' UTC' if when else ''}; {len(late)} of {len(students)} graded "
          f"submission(s) late{': ' + ', '.join(late) if late else ''}")
    return 0


def roster(argv: list[str]) -> int:
    parser = _parser("roster", "Import the class list into the term's gradebook (like `nbgrader db student import`):\n"
                     "a CSV file with a header and the columns id (or student_id), first_name, last_name, email\n"
                     "(optional: lms_user_id). Students are added or updated; a student on the roster who submits\n"
                     "nothing gets 0 in grades.csv, as in `nbgrader export`. Once a roster exists, every submission\n"
                     "is matched to a roster id by what its source says (exchange or file name = id, e-mail,\n"
                     "login_id or name; Canvas user id lms_user_id/canvas_user_id and sortable_name; Moodle\n"
                     "moodle_id and full_name); one that matches nobody is not graded and summary.md lists it as\n"
                     "'not on the roster'. Optional columns: email, lms_user_id (or canvas_user_id), login_id,\n"
                     "sortable_name, moodle_id, full_name.\n"
                     "\n  python -m autograder roster students.csv")
    parser.add_argument("csv", type=Path, help="the roster, a CSV file")
    _common(parser)
    args = parser.parse_args(argv)
    count, total = term.roster(_course(args), args.csv)
    print(f"{count} student(s) read from {args.csv}; the gradebook has {total} student(s)")
    return 0


def link(argv: list[str]) -> int:
    parser = _parser("link", "One person under two ids (e.g. 'alice' from the exchange and 'liddellalice_1001' from a\n"
                     "Canvas download before the roster said who that is): merge SOURCE into TARGET. Every\n"
                     "submission of SOURCE, with its scores, comments and late penalty, and every extension,\n"
                     "exclusion and review becomes TARGET's; SOURCE's id and identities name TARGET from now on;\n"
                     "every output (grades.csv, summaries, feedback, the term's totals) is rewritten. Refused, with\n"
                     "nothing changed, if both have a submission of one assignment.\n\n"
                     "  python -m autograder link liddellalice_1001 alice")
    parser.add_argument("source", help="the id to merge (it disappears)")
    parser.add_argument("target", help="the id to keep (the roster's)")
    _common(parser)
    args = parser.parse_args(argv)
    from autograder.reasons import R

    done = term.link(_course(args), args.source, args.target)
    print(R("linked", source=done.source, target=done.target, assignments=", ".join(done.assignments) or "-"))
    return 0


def review(argv: list[str]) -> int:
    parser = _parser("review", "Mark a submission that needs a human look as reviewed, with a note: it leaves\n"
                     "'Needs a human look' in summary.md (listed under 'Reviewed' with the note), its log says so,\n"
                     "nbgrader's formgrader no longer lists it, and `grade` no longer exits 1 because of it. Give a\n"
                     "score first if the automatic one is wrong (`score`). A new submission, or a re-run that changes\n"
                     "its result, is flagged again.\n\n"
                     "  python -m autograder review 03-qkv alice --note 'the hang was the sandbox; scores checked'\n"
                     "  python -m autograder review 03-qkv alice --undo")
    parser.add_argument("assignment", help="assignment id, e.g. 03-qkv")
    parser.add_argument("student", help="student id")
    parser.add_argument("--note", default=None, help="what was checked (shown in summary.md and the log)")
    parser.add_argument("--undo", action="store_true", help="flag the submission again")
    _common(parser)
    args = parser.parse_args(argv)
    if not args.undo and not (args.note or "").strip():
        parser.error("give --note (what you checked), or --undo")
    sid = term.review(_course(args), args.assignment, args.student, args.note, args.undo)
    print(f"{sid}: {args.assignment} " + ("flagged again for a human look" if args.undo else f"reviewed ({args.note})"))
    return 0


def term_total(argv: list[str]) -> int:
    parser = _parser("term", "The term's totals, from one configuration file (default OUT_ROOT/term.toml; the keys\n"
                     "are documented in docs/grading.md, 'A term total'): weights per assignment, each student's\n"
                     "lowest k dropped, letters from cut-offs, exclusions not counted or counted as 0. Writes\n"
                     "OUT_ROOT/term-grades.csv and term-grades.report.txt (every command that changes the record\n"
                     "rewrites them too), and prints one line per student.\n\n"
                     "  python -m autograder term\n"
                     "  python -m autograder term --config other-weights.toml")
    parser.add_argument("--config", type=Path, default=None, help="the configuration (default OUT_ROOT/term.toml)")
    _common(parser)
    args = parser.parse_args(argv)
    from autograder.reasons import R
    from autograder.reports.term_grades import CSV_NAME

    course = _course(args)
    totals, cfg = term.term_grades(course, args.config)
    for t in totals:
        shown = "" if t.total is None else f"{t.total:g}"
        print(f"{t.student}\t{shown}\t{t.letter}" + (f"\t({R('term_dropped', assignments=', '.join(t.dropped))})" if t.dropped else ""))
    print(R("term_written", n=len(totals), path=str(course.root / CSV_NAME)))
    return 0
