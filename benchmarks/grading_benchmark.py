"""Benchmark: stock ``nbgrader autograde`` against ``python -m autograder grade`` on the same batch.

    PYTHONPATH=. python benchmarks/grading_benchmark.py [--n 30] [--jobs 2] [--keep DIR]

The batch is N copies of assignment 03's "different" sample (tests/samples/a03_qkv.py: correct,
with loops, float32 and ``import torch`` inside ``attention``), so every notebook imports torch.
Stock nbgrader runs in its usual single process, kernel after kernel, with the course's config
and hidden tests calling ``autograder.grading.checking.check`` in the student's kernel (no sandbox).
The command runs with every defence on (bubblewrap, limits, forked tests) and ``--jobs`` notebooks
in parallel. Printed: seconds per submission for both, and their ratio (command / stock).
This is a benchmark, not a test: timings depend on the machine and its load.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder.term import grade  # noqa: E402
from autograder.course import SOLUTIONS, nbgrader_env  # noqa: E402
from tests.samples import build  # noqa: E402
from tests.samples.a03_qkv import SAMPLES  # noqa: E402

ASSIGNMENT = "03-qkv"


def stock(root: Path, notebook: dict, n: int) -> float:
    """Seconds taken by ``nbgrader autograde`` (after generate_assignment) for ``n`` submissions."""
    shutil.copytree(SOLUTIONS / ASSIGNMENT, root / "source" / ASSIGNMENT)
    for i in range(n):
        folder = root / "submitted" / f"student{i:03d}" / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / "qkv.ipynb").write_text(json.dumps(notebook))
    base = [sys.executable, "-m", "nbgrader"]
    opts = [f"--CourseDirectory.root={root}", "--CourseDirectory.source_directory=source",
            "--CourseDirectory.release_directory=release", f"--db=sqlite:///{root / 'gradebook.db'}"]
    env = nbgrader_env(PYTHONPATH=str(REPO))
    subprocess.run(base + ["generate_assignment", ASSIGNMENT, "--force"] + opts, cwd=root, env=env,
                   check=True, capture_output=True)
    start = time.perf_counter()
    result = subprocess.run(base + ["autograde", ASSIGNMENT, "--force"] + opts, cwd=root, env=env,
                            capture_output=True, text=True)
    took = time.perf_counter() - start
    graded = len(list((root / "autograded").glob(f"*/{ASSIGNMENT}/qkv.ipynb")))
    if graded != n:
        print(result.stdout[-2000:], result.stderr[-2000:])
        raise SystemExit(f"stock nbgrader graded {graded} of {n}")
    return took


def ours(root: Path, notebook: dict, n: int, jobs: int) -> float:
    subs = root / "submissions"
    subs.mkdir(parents=True)
    for i in range(n):
        (subs / f"student{i:03d}.ipynb").write_text(json.dumps(notebook))
    start = time.perf_counter()
    rows = grade(ASSIGNMENT, subs, root / "out", jobs=jobs, progress=True)
    took = time.perf_counter() - start
    scores = {float(r["score"]) for r in rows}
    if len(rows) != n or scores != {12.0}:
        raise SystemExit(f"the command graded {len(rows)} of {n}, scores {scores}")
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=30, help="number of submissions (default 30)")
    parser.add_argument("--jobs", type=int, default=2, help="parallel notebooks for the command (default 2)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the work folders here")
    args = parser.parse_args()
    notebook = build(ASSIGNMENT, SAMPLES["different"])
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        t_stock = stock(work / "stock", notebook, args.n)
        print(f"stock nbgrader autograde: {t_stock:.1f} s for {args.n} -> {t_stock / args.n:.2f} s/submission")
        t_ours = ours(work / "ours", notebook, args.n, args.jobs)
        print(f"python -m autograder grade (--jobs {args.jobs}): {t_ours:.1f} s for {args.n} -> "
              f"{t_ours / args.n:.2f} s/submission")
        print(f"ratio (command / stock): {t_ours / t_stock:.2f}  (target <= 1.3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
