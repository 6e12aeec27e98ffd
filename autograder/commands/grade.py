"""``python -m autograder grade ASSIGNMENT SUBMISSIONS [options]``: grade a class, or only some students.

SUBMISSIONS is nbgrader's ``submitted/`` folder (``<student>/<assignment>/<notebook>.ipynb``, or the course folder
that contains ``submitted/``), or a flat folder of ``<student>.ipynb`` files and/or ``<student>.zip`` archives as a
learning-management system exports them, or Canvas's or Moodle's bulk export, unpacked or as the one zip it
downloads.

The gradebook is the term's, one for every assignment: ``OUT_ROOT/gradebook.db`` (default ``grading/gradebook.db``;
``--db`` for any SQLAlchemy URL), with ``OUT_ROOT/grades.csv`` for the whole term. Written under ``--out`` (default
``OUT_ROOT/<assignment>``): ``grades.csv`` (``nbgrader export`` format), ``feedback/<student>/<assignment>/
<notebook>.html``, ``summary.md`` and ``histogram.png`` (every graded student of the assignment, with a grader's
scores and late penalties from the gradebook), ``logs/<student>.log``, and ``work/`` (the run's secret seed and
cached results; re-running resumes from it). ``--student ID`` grades only some students. The grading root (the
parent of ``--out``) is an nbgrader course root: ``autograded/<student>/<assignment>/`` notebooks and ``source/``,
``release/``, so nbgrader's formgrader, ``generate_feedback`` and ``export`` work on the results. ``--scheduler``
runs the notebooks on a Dask cluster; judging and every write stay in this process.

Exit status 0 if every submission was graded normally (or a grader reviewed it), 1 if at least one needs a human
look (listed in summary.md), 2 on a usage error (docs/grading.md).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from autograder.course import DEFAULT_ROOT
from autograder.grading import sandbox
from autograder.reports.report import console_lines
from autograder.term import grade


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m autograder grade", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("assignment", help="assignment id, e.g. 03-qkv (a folder of solutions/)")
    p.add_argument("submissions", type=Path, help="folder of submissions, or a Canvas/Moodle bulk-export zip")
    p.add_argument("--out-root", type=Path, default=None,
                   help="the term's grading folder: OUT is OUT_ROOT/<assignment>, the gradebook OUT_ROOT/gradebook.db "
                        "(default grading/)")
    p.add_argument("--out", type=Path, default=None,
                   help="this assignment's output folder (default OUT_ROOT/<assignment>; the term's gradebook is in "
                        "its parent folder)")
    p.add_argument("--db", default=None,
                   help="gradebook SQLAlchemy URL (default: the term's, sqlite:///OUT_ROOT/gradebook.db)")
    p.add_argument("--student", action="append", default=None, metavar="ID",
                   help="grade only this student (repeat for several); the summary still shows the whole class")
    p.add_argument("--timestamps", default=None, metavar="FILE.csv|mtime",
                   help="submission times for late penalties: a CSV with columns student_id,timestamp, or 'mtime' "
                        "(the file's modification time, for submissions whose layout gives none)")
    p.add_argument("--seed", type=int, default=None, help="seed of the hidden cases (default: secret, kept in OUT/work/seed)")
    p.add_argument("--jobs", type=int, default=2, help="notebooks graded in parallel (default 2)")
    p.add_argument("--force", action="store_true", help="grade again even submissions whose results are cached")
    p.add_argument("--function-timeout", type=float, default=sandbox.Limits.function_timeout,
                   help="seconds for all hidden cases of one function (default %(default)s)")
    p.add_argument("--cell-timeout", type=float, default=sandbox.Limits.cell_timeout,
                   help="seconds for one cell, hidden cases not counted (default %(default)s)")
    p.add_argument("--notebook-timeout", type=float, default=sandbox.Limits.notebook_timeout,
                   help="wall-clock seconds for a whole notebook; also its CPU-time limit (default %(default)s)")
    p.add_argument("--memory-mb", type=int, default=sandbox.Limits.memory_mb,
                   help="address-space limit of each sandbox process in MB (default %(default)s)")
    p.add_argument("--total-memory-mb", type=int, default=sandbox.Limits.total_memory_mb,
                   help="memory of a whole sandbox in MB, where cgroups can be made (default %(default)s)")
    p.add_argument("--processes", type=int, default=sandbox.Limits.processes,
                   help="process limit of a sandbox (default %(default)s)")
    p.add_argument("--mathjax", default=None,
                   help="MathJax 3 for the feedback pages: a URL or path of tex-*.js, or 'none' "
                        "(default: one shared copy of the course's MathJax in feedback/.mathjax/; 'embed' puts it in every page; "
                        "never a CDN)")
    p.add_argument("--unsafe-no-sandbox", action="store_true",
                   help="run student code without bubblewrap (resource limits only; no file-system or network isolation)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run the notebooks on a Dask cluster: its scheduler's address (tcp://host:8786) or "
                        "scheduler file (*.json); default: a local pool of --jobs sandboxes on this machine. "
                        "Judging and the gradebook stay in this process (docs/grading.md)")
    p.add_argument("--cold-start", action="store_true",
                   help="start every notebook's sandbox cold (a new interpreter that imports everything) instead of "
                        "forking it from a warm template; same isolation and grades, slower (docs/grading.md)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: list[str]) -> int:
    p = parser()
    args = p.parse_args(argv)
    out = args.out or (args.out_root or DEFAULT_ROOT) / args.assignment
    limits = sandbox.Limits(function_timeout=args.function_timeout, cell_timeout=args.cell_timeout,
                            notebook_timeout=args.notebook_timeout, memory_mb=args.memory_mb,
                            total_memory_mb=args.total_memory_mb,
                            processes=args.processes, cpu_seconds=int(max(args.notebook_timeout, 1)))
    if args.scheduler and not (args.scheduler.endswith(".json") or "://" in args.scheduler):
        p.error("--scheduler takes a Dask scheduler address such as tcp://host:8786, or a scheduler file *.json")
    start = time.perf_counter()
    rows = grade(args.assignment, args.submissions, out, args.seed, db=args.db, jobs=args.jobs, limits=limits,
                 unsafe_no_sandbox=args.unsafe_no_sandbox, force=args.force, progress=not args.quiet,
                 mathjax=args.mathjax, students=args.student, timestamps=args.timestamps, scheduler=args.scheduler,
                 warm_start=not args.cold_start)
    took = time.perf_counter() - start
    for line in console_lines(rows, out, took, rows.ran, rows.cached):
        print(line)
    for line in rows.missing:
        print(f"limit not applied here: {line}")
    if rows.skipped:
        print(f"not graded: {len(rows.skipped)} entr{'y' if len(rows.skipped) == 1 else 'ies'} of the submissions folder "
              f"(listed with the reason in {out / 'summary.md'})")
    return 1 if any(r["needs_review"] for r in rows) else 0
