"""Benchmark: one batch of mixed assignments graded on one process, on the local pool, and on a Dask cluster.

    PYTHONPATH=.:lib python benchmarks/distributed_benchmark.py [--submissions 200] [--assignments 01-glimpse,03-qkv]
                                                              [--workers 2] [--jobs 2] [--keep DIR]

The batch: ``--submissions`` notebooks spread evenly over the assignments (default: every assignment of
``solutions/``), cycling through each assignment's samples of tests/samples (right, wrong, failing and looping
answers, with their known scores). Each assignment is graded with ``autograder.term.grade`` (every defence on,
the test suite's short time limits, one seed for all three runs) in three ways:

* one process: the local pool with ``--jobs 1`` (one sandbox at a time);
* the local pool: ``--jobs`` sandboxes at a time on this machine (the default of the command);
* a Dask cluster: a scheduler and ``--workers`` workers (one thread each), started here as separate processes
  talking over TCP, as on several machines.

Printed: submissions per second of each, their ratio to one process, and whether the three gave identical
scores (and the samples' expected ones). A benchmark, not a test: timings depend on the machine and its load.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder.term import grade  # noqa: E402
from autograder.course import assignments  # noqa: E402
from autograder.grading.sandbox import Limits  # noqa: E402
from tests.samples import write_all  # noqa: E402
from tests.servers import DaskCluster  # noqa: E402

LIMITS = Limits(function_timeout=15, cell_timeout=8, notebook_timeout=300)
SEED = 12345


def make_batch(root: Path, total: int, which: list[str]) -> dict[str, dict[str, float]]:
    """``total`` submissions over the assignments ``which``; returns assignment -> student -> expected score."""
    expected: dict[str, dict[str, float]] = {}
    per = [total // len(which) + (1 if i < total % len(which) else 0) for i in range(len(which))]
    for assignment, n in zip(which, per):
        if n == 0:
            continue
        samples = root / "samples" / assignment
        scores = write_all(assignment, samples)
        names = sorted(scores)
        folder = root / "batch" / assignment
        folder.mkdir(parents=True)
        expected[assignment] = {}
        for i in range(n):
            name = names[i % len(names)]
            student = f"s{i:03d}-{name}"
            shutil.copy(samples / f"{name}.ipynb", folder / f"{student}.ipynb")
            expected[assignment][student] = float(scores[name])
    return expected


def run(root: Path, label: str, expected: dict, **kwargs) -> tuple[float, dict]:
    start = time.perf_counter()
    got = {}
    for assignment in expected:
        rows = grade(assignment, root / "batch" / assignment, root / label / assignment, seed=SEED, limits=LIMITS,
                     progress=False, force=True, **kwargs)
        got[assignment] = {r["student_id"]: float(r["score"]) for r in rows}
    return time.perf_counter() - start, got


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--submissions", type=int, default=200, help="notebooks in the batch (default 200)")
    parser.add_argument("--assignments", default=None, help="comma-separated assignment ids (default: all)")
    parser.add_argument("--workers", type=int, default=2, help="Dask workers (default 2)")
    parser.add_argument("--jobs", type=int, default=2, help="sandboxes at a time in the local pool (default 2)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the batch and outputs in this folder")
    args = parser.parse_args(argv)
    if args.submissions < 1:
        parser.error("--submissions must be at least 1")
    which = args.assignments.split(",") if args.assignments else assignments()
    unknown = sorted(set(which) - set(assignments()))
    if unknown:
        parser.error(f"unknown assignment(s): {', '.join(unknown)}")
    root = args.keep or Path(tempfile.mkdtemp(prefix="distributed-benchmark-"))
    root.mkdir(parents=True, exist_ok=True)
    expected = make_batch(root, args.submissions, which)
    n = sum(len(v) for v in expected.values())
    print(f"batch: {n} submissions of {len(expected)} assignment(s) ({', '.join(expected)})", flush=True)
    results = {}
    results["one process (--jobs 1)"] = run(root, "one", expected, jobs=1)
    print(f"one process: {results['one process (--jobs 1)'][0]:.1f} s", flush=True)
    results[f"local pool (--jobs {args.jobs})"] = run(root, "pool", expected, jobs=args.jobs)
    print(f"local pool: {results[f'local pool (--jobs {args.jobs})'][0]:.1f} s", flush=True)
    with DaskCluster(root / "dask", workers=args.workers, nthreads=1) as cluster:
        label = f"Dask cluster over TCP ({args.workers} workers x 1 thread)"
        results[label] = run(root, "dask", expected, scheduler=cluster.address)
    base = n / results["one process (--jobs 1)"][0]
    print(f"\n{'how':<48} {'seconds':>8} {'subm./s':>8} {'ratio':>6}")
    for label, (seconds, _) in results.items():
        rate = n / seconds
        print(f"{label:<48} {seconds:8.1f} {rate:8.3f} {rate / base:6.2f}")
    scores = [got for _, got in results.values()]
    same = all(s == scores[0] for s in scores)
    right = scores[0] == expected
    print(f"\nscores identical in the three runs: {'yes' if same else 'NO'}; equal to the samples' expected scores: "
          f"{'yes' if right else 'NO'}")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0 if same and right else 1


if __name__ == "__main__":
    sys.exit(main())
