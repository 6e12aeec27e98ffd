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

from autograder import translate
from autograder.course import CONFIG, EXERCISES, REPO, SOLUTIONS, assignments, nbgrader_env  # noqa: F401

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


def main(argv: list[str]) -> int:
    import argparse

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
        translate.update(name)
        problems = translate.problems(name)
        if problems:
            status = 1
            print(f"  Chinese release of {name} NOT updated: {len(problems)} message(s) of "
                  f"{translate.catalog_path(name).relative_to(REPO)} to translate (first: {problems[0]}); then run "
                  f"`python -m autograder translate release {name}`", file=sys.stderr)
        else:
            print(f"released {name} (zh) -> {translate.release_zh(name).relative_to(REPO)}")
    return status
