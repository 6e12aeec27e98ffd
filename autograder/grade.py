"""Grade a folder of submissions for one assignment: autograde -> feedback -> grades CSV -> summary.

    python -m autograder grade 03-qkv SUBMISSIONS [--out grading/03-qkv] [--seed N]

SUBMISSIONS is either nbgrader's layout (``SUBMISSIONS/<student>/<assignment>/<notebook>.ipynb``)
or a flat folder of ``<student>.ipynb`` files. Everything is written under ``--out``:
``gradebook.db`` (nbgrader's), ``feedback/<student>/...html``, ``grades.csv`` and ``summary.md``.
"""
from __future__ import annotations

import argparse
import csv
import shutil
import sys
import time
from pathlib import Path

from autograder.release import REPO, SOLUTIONS, nbgrader_env
from autograder.checking import grading_seed

import subprocess


def collect(submissions: Path, assignment: str, notebook: str, dest: Path) -> list[str]:
    """Copy submissions into nbgrader's ``submitted/<student>/<assignment>/`` layout; return student ids."""
    students = []
    for item in sorted(submissions.iterdir()):
        if item.is_dir():
            found = list((item / assignment).glob("*.ipynb")) or list(item.glob("*.ipynb"))
            student = item.name
        elif item.suffix == ".ipynb":
            found, student = [item], item.stem
        else:
            continue
        if not found:
            continue
        target = dest / student / assignment
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(found[0], target / f"{notebook}.ipynb")
        students.append(student)
    return students


def run_nbgrader(args: list[str], root: Path, db: Path, seed: int) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable, "-m", "nbgrader", *args,
        f"--CourseDirectory.root={root}",
        "--CourseDirectory.source_directory=source",
        "--CourseDirectory.release_directory=release",
        f"--db=sqlite:///{db}",
    ]
    return subprocess.run(cmd, cwd=root, capture_output=True, text=True,
                          env=nbgrader_env(AUTOGRADER_SEED=str(seed), PYTHONPATH=str(REPO)))


def grade(assignment: str, submissions: Path, out: Path, seed: int | None = None) -> list[dict]:
    """Grade every submission in ``submissions``; return the rows of the grades CSV."""
    seed = grading_seed() if seed is None else seed
    source = SOLUTIONS / assignment
    notebooks = sorted(source.glob("*.ipynb"))
    if not notebooks:
        raise SystemExit(f"no assignment {assignment!r} in {SOLUTIONS}")
    notebook = notebooks[0].stem
    out.mkdir(parents=True, exist_ok=True)
    root = out / "course"
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(source, root / "source" / assignment)
    db = out / "gradebook.db"
    log = out / "nbgrader.log"
    steps = [["generate_assignment", assignment, "--force"]]
    students = collect(Path(submissions), assignment, notebook, root / "submitted")
    steps += [["autograde", assignment, "--force"], ["generate_feedback", assignment, "--force"],
              ["export", f"--to={out / 'grades.csv'}", f"--assignment=['{assignment}']"]]
    with log.open("w") as fh:
        for step in steps:
            result = run_nbgrader(step, root, db, seed)
            fh.write(f"$ nbgrader {' '.join(step)}  (exit {result.returncode})\n{result.stdout}{result.stderr}\n")
    feedback = out / "feedback"
    if feedback.exists():
        shutil.rmtree(feedback)
    if (root / "feedback").exists():
        shutil.copytree(root / "feedback", feedback)
    rows = list(csv.DictReader((out / "grades.csv").open())) if (out / "grades.csv").exists() else []
    rows = [r for r in rows if r["student_id"] in students]
    write_summary(out / "summary.md", assignment, rows, seed)
    return rows


def write_summary(path: Path, assignment: str, rows: list[dict], seed: int) -> None:
    lines = [f"# Grades for {assignment}", "", f"hidden-test seed: {seed}", "",
             "| student | score | max |", "| --- | --- | --- |"]
    lines += [f"| {r['student_id']} | {float(r['score']):g} | {float(r['max_score']):g} |" for r in rows]
    path.write_text("\n".join(lines) + "\n")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder grade", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignment", help="assignment id, e.g. 03-qkv (a folder of solutions/)")
    parser.add_argument("submissions", type=Path, help="folder of submissions")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default grading/<assignment>)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the hidden tests (default: fresh)")
    args = parser.parse_args(argv)
    out = args.out or REPO / "grading" / args.assignment
    start = time.perf_counter()
    rows = grade(args.assignment, args.submissions, out, args.seed)
    took = time.perf_counter() - start
    for r in rows:
        print(f"{r['student_id']:>24}  {float(r['score']):5.1f} / {float(r['max_score']):g}")
    print(f"graded {len(rows)} submission(s) in {took:.1f} s; grades: {out / 'grades.csv'}, feedback: {out / 'feedback'}")
    return 0
