"""Generate the student release ``exercises/<assignment>/`` from ``solutions/<assignment>/`` with nbgrader.

    python -m autograder release            # every assignment
    python -m autograder release 03-qkv     # one assignment

The release is committed; ``tests/test_release.py`` proves it is in sync with the solutions and
carries no solution code and no hidden tests. A throwaway gradebook is used, so releasing never
touches an instructor's real one.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from autograder.course import EXERCISES, REPO, nbgrader_env

def nbgrader(*args: str, cwd: Path, db: Path, extra: list[str] | None = None) -> subprocess.CompletedProcess:
    """Run an nbgrader command with the course's config and a given gradebook."""
    cmd = [sys.executable, "-m", "nbgrader", *args, f"--db=sqlite:///{db}", *(extra or [])]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=nbgrader_env())


def normalise(path: Path) -> None:
    """Write a released notebook in one canonical form (sorted keys, 1-space indent, final newline)."""
    nb = json.loads(path.read_text())
    path.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


def generate(assignment: str, release_dir: Path = EXERCISES) -> Path:
    """Generate the release of ``assignment`` into ``release_dir/<assignment>`` and return that folder."""
    release_dir = Path(release_dir).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "gradebook.db"
        out = Path(tmp) / "release"
        result = nbgrader(
            "generate_assignment", assignment, "--force",
            cwd=REPO, db=db,
            extra=[f"--CourseDirectory.root={REPO}", "--CourseDirectory.source_directory=solutions",
                   f"--CourseDirectory.release_directory={out}"],
        )
        if result.returncode != 0:
            raise RuntimeError(f"nbgrader generate_assignment {assignment} failed:\n{result.stdout}\n{result.stderr}")
        target = release_dir / assignment
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(out / assignment, target)
    for nb in target.glob("*.ipynb"):
        normalise(nb)
    return target
