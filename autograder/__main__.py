"""Instructor commands: ``python -m autograder COMMAND ...`` (``--help`` on each)."""
import logging
import sys

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
  roster FILE.csv                                import the class list (id, first_name, last_name, email)
  export ASSIGNMENT --format canvas|moodle|nbgrader [--out FILE.csv]
                                                 grades in the format an LMS gradebook imports
  nbgrader COMMAND [ARGS ...]                    nbgrader with the course's configuration (exchange)
  release-feedback ASSIGNMENT                    the grader's feedback pages through nbgrader's exchange
  translate update|release|check [ASSIGNMENT ...]
                                                 the Chinese release (exercises/zh/) from gettext catalogs
"""


def _logging() -> None:
    """The library logs through ``logging``; the command prints its warnings on stderr as ``warning: ...``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    root = logging.getLogger("autograder")
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.addLevelName(logging.WARNING, "warning")
    logging.addLevelName(logging.ERROR, "error")


def main() -> int:
    _logging()
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(USAGE)
        return 0
    command, rest = sys.argv[1], sys.argv[2:]
    if command == "release":
        from autograder.release import main as release_main
        return release_main(rest)
    if command == "translate":
        from autograder.translate import main as translate_main
        return translate_main(rest)
    if command == "grade":
        from autograder.grade import main as grade_main
        return grade_main(rest)
    if command == "export":
        from autograder.export import main as export_main
        return export_main(rest)
    if command == "nbgrader":
        from autograder.exchange import nbgrader_main
        return nbgrader_main(rest)
    if command == "release-feedback":
        from autograder.exchange import release_feedback_main
        return release_feedback_main(rest)
    from autograder.commands import COMMANDS, run
    if command in COMMANDS:
        return run(command, rest)
    print(f"unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
