"""The authoring commands: ``release`` and ``translate`` (the student releases), ``nbgrader`` (nbgrader with the
course's configuration) and ``release-feedback`` (the grader's pages back through nbgrader's exchange)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder.authoring import exchange, translate as zh
from autograder.authoring.release import generate
from autograder.course import DEFAULT_ROOT, REPO, assignments, course_dir


def release(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m autograder release",
        description="Generate the student release exercises/<assignment>/ from solutions/<assignment>/ with "
                    "nbgrader (every assignment when none is named), and its Chinese release exercises/zh/<assignment>/ "
                    "from the catalog locales/zh_CN/LC_MESSAGES/exercises/<assignment>.po. Commit the result.")
    parser.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                        help="assignment id, e.g. 03-qkv (a folder of solutions/); default: all of them")
    args = parser.parse_args(argv)
    known = assignments()
    unknown = [name for name in args.assignments if name not in known]
    if unknown:
        parser.error(f"no such assignment: {', '.join(unknown)} (assignments: {', '.join(known)})")
    status = 0
    for name in args.assignments or known:
        print(f"released {name} -> {generate(name).relative_to(REPO)}")
        # The Chinese release follows from the English one and the assignment's catalog (CONTRIBUTING.md, 7).
        zh.update(name)
        problems = zh.problems(name)
        if problems:
            status = 1
            print(f"  Chinese release of {name} NOT updated: {len(problems)} message(s) of "
                  f"{zh.catalog_path(name).relative_to(REPO)} to translate (first: {problems[0]}); then run "
                  f"`python -m autograder translate release {name}`", file=sys.stderr)
        else:
            print(f"released {name} (zh) -> {zh.release_zh(name).relative_to(REPO)}")
    return status


def translate(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder translate",
                                     description="The Chinese release of the assignments (gettext catalogs).")
    parser.add_argument("action", choices=["update", "release", "check"])
    parser.add_argument("assignments", nargs="*", help="assignment ids (default: all)")
    args = parser.parse_args(argv)
    names = args.assignments or assignments()
    if args.action == "update":
        for name in names:
            print(f"updated {zh.update(name).relative_to(REPO)}")
        return 0
    if args.action == "check":
        found = [p for name in names for p in zh.problems(name)]
        for p in found:
            print(p)
        print(f"{len(found)} problem(s)" if found else "every exercise catalog complete and consistent")
        return 1 if found else 0
    status = 0
    for name in names:
        try:
            print(f"released {name} (zh) -> {zh.release_zh(name).relative_to(REPO)}")
        except RuntimeError as err:
            print(f"{name}: {err}", file=sys.stderr)
            status = 1
    return status


def nbgrader(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m autograder nbgrader COMMAND [ARGS ...]\n\n"
              "Runs `nbgrader COMMAND ARGS` with the course's nbgrader_config.py (course folder $ATTN_COURSE_DIR, "
              "default ~/attention-course; course id $ATTN_COURSE_ID, default 'attention'; exchange $ATTN_EXCHANGE, "
              "default /srv/nbgrader/exchange) and this virtualenv's bin/ on PATH.\n"
              "e.g. python -m autograder nbgrader release_assignment 03-qkv\n"
              "     python -m autograder nbgrader collect --update 03-qkv\n"
              "`python -m autograder nbgrader --help-all` shows nbgrader's own help.")
        return 0
    if not any(a in ("-h", "--help", "--help-all", "--version") for a in argv):
        exchange.ensure_course_dir()
    return exchange.run_nbgrader(argv).returncode


def release_feedback(argv: list[str]) -> int:
    from autograder.reports.handback import stage_feedback

    parser = argparse.ArgumentParser(
        prog="python -m autograder release-feedback",
        description="Hand the grader's feedback pages back through nbgrader's exchange: copy "
                    "GRADING/feedback/<student>/<assignment>/*.html into <course>/feedback/<student>/<assignment>/ "
                    "and run `nbgrader release_feedback`. Students then run `nbgrader fetch_feedback ASSIGNMENT`.")
    parser.add_argument("assignment", help="assignment id, e.g. 03-qkv")
    parser.add_argument("--grading", type=Path, default=None,
                        help="the grading output folder (default grading/<assignment> in the checkout, as `grade` writes it)")
    parser.add_argument("--course-dir", type=Path, default=None,
                        help="the nbgrader course folder (default $ATTN_COURSE_DIR, else ~/attention-course)")
    parser.add_argument("--student", action="append", default=None, help="only this student (repeatable)")
    args = parser.parse_args(argv)
    grading = args.grading or DEFAULT_ROOT / args.assignment
    course = (args.course_dir or course_dir()).resolve()
    staged, problems = stage_feedback(args.assignment, grading, course, args.student)
    for line in problems:
        print(f"warning: {line}", file=sys.stderr)
    if not staged:
        print(f"no feedback to release for {args.assignment}", file=sys.stderr)
        return 1
    nb_args = ["release_feedback", args.assignment]
    for student in args.student or []:
        nb_args.append(f"--student={student}")
    result = exchange.run_nbgrader(nb_args, ATTN_COURSE_DIR=str(course))
    if result.returncode != 0:
        return result.returncode
    print(f"released feedback of {args.assignment} to {len(staged)} student(s)")
    return 1 if problems else 0
