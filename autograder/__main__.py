"""Instructor commands: ``python -m autograder COMMAND ...`` (``--help`` on each)."""
import sys

USAGE = (
    "usage: python -m autograder release [ASSIGNMENT ...]\n"
    "       python -m autograder grade ASSIGNMENT SUBMISSIONS [--out DIR] (see --help)\n"
    "       python -m autograder export ASSIGNMENT --format canvas|moodle|nbgrader [--out FILE.csv]\n"
    "       python -m autograder nbgrader COMMAND [ARGS ...]   (nbgrader with the course's configuration)\n"
    "       python -m autograder release-feedback ASSIGNMENT   (the grader's feedback through nbgrader's exchange)\n"
)


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(USAGE)
        return 0
    command, rest = sys.argv[1], sys.argv[2:]
    if command == "release":
        from autograder.release import main as release_main
        return release_main(rest)
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
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
