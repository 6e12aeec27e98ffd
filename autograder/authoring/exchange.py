"""nbgrader with the course's configuration: the exchange (release, collect) and nbgrader's own commands.

    python -m autograder nbgrader release_assignment 03-qkv       # any nbgrader command, course config and PATH set
    python -m autograder nbgrader collect --update 03-qkv
    python -m autograder release-feedback 03-qkv [--grading DIR]  # our feedback pages -> students' fetch_feedback

``nbgrader`` is run with ``JUPYTER_CONFIG_PATH`` holding ``autograder/`` (so it reads the course's
``nbgrader_config.py``: the course folder outside the checkout, ``exercises/`` as the release) and with this
interpreter's ``bin/`` first on ``PATH`` (nbgrader creates a gradebook by running ``alembic`` from PATH).
``release-feedback`` first puts the grader's pages where nbgrader looks for them (``autograder.reports.handback``),
then runs ``nbgrader release_feedback`` through :func:`run_nbgrader`.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from autograder.course import course_dir, nbgrader_env, private_dir


def run_nbgrader(args: list[str], *, check: bool = False, capture: bool = False, **env: str) -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGS`` with the course's configuration (its course folder is absolute: any cwd will do)."""
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], env=nbgrader_env(**env), check=check,
                          capture_output=capture, text=True)


def ensure_course_dir(env: dict[str, str] | None = None) -> Path:
    """Create the course folder if it is missing (mode 700: it holds student work); nbgrader's collect cannot open
    its gradebook in a folder that does not exist."""
    root = course_dir(env)
    if not root.exists():
        private_dir(root)
    return root
