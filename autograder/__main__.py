"""Instructor commands: ``python -m autograder release|grade ...`` (``--help`` on each)."""
import sys


def main() -> int:
    usage = (
        "usage: python -m autograder release [ASSIGNMENT ...]\n"
        "       python -m autograder grade ASSIGNMENT SUBMISSIONS [--out DIR] (see --help)\n"
        "       python -m autograder translate update|release|check [ASSIGNMENT ...]  (Chinese release)\n"
    )
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(usage)
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
    print(usage, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
