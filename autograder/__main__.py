"""``python -m autograder COMMAND ...``: the instructor's commands (``autograder.commands``)."""
import sys

from autograder.commands import main

if __name__ == "__main__":
    sys.exit(main())
