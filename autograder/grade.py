"""Grade every submission of one assignment, with student code contained in a sandbox.

The command runs a pipeline, one module per stage in ``autograder/stages/``:
collect (``collect.py``) -> prepare cases (``prepare.py``) -> run sandboxed (``run.py``) -> judge
(``judge.py``) -> record (``record.py``) -> report (``report.py``). This module only wires them together
and holds the command line.

    python -m autograder grade 03-qkv SUBMISSIONS [--out grading/03-qkv] [--db URL] [--jobs 2 | --scheduler tcp://host:8786]

SUBMISSIONS is nbgrader's ``submitted/`` folder (``<student>/<assignment>/<notebook>.ipynb``, or
the course folder that contains ``submitted/``), or a flat folder of ``<student>.ipynb`` files
and/or ``<student>.zip`` archives as a learning-management system exports them.

How a grade is decided (docs/grading.md explains it in full): the grader draws every hidden case
from a secret per-run seed and writes the inputs as plain arrays; each student's notebook runs in
a bubblewrap sandbox where ``check(...)`` only runs the student's function on those inputs and
sends the returned arrays back; the grader compares them with the reference, computed here, and
writes ``auto_score`` of every graded cell into nbgrader's gradebook. Nothing a notebook prints or
displays is read as a score, and the sandbox holds neither the reference, nor the expected
values, nor the gradebook.

Written under ``--out``: ``gradebook.db`` (unless ``--db``), ``grades.csv`` (``nbgrader export``
format), ``feedback/<student>/<assignment>/<notebook>.html``, ``summary.md`` and
``histogram.png``, ``logs/<student>.log``, and ``work/`` (the run's secret seed and cached
results; re-running resumes from it). The grading root (the parent of ``--out``) is an nbgrader course root:
``autograded/<student>/<assignment>/`` notebooks and ``source/``, ``release/`` (``autograder.nbgrader_layout``), so
nbgrader's formgrader, ``generate_feedback`` and ``export`` work on the results. ``--scheduler`` runs the notebooks on
a Dask cluster (``autograder.distributed``); judging and every write stay in this process. Exit status 0 if every submission was graded normally,
1 if at least one needs a human look (listed in summary.md), 2 on a usage error.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import queue
import secrets
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path

from autograder import distributed, sandbox
from autograder.nbgrader_layout import course_root, write_autograded, write_course_folders
from autograder.release import REPO
from autograder.stages.collect import Skipped, Submission, collect, student_id  # noqa: F401 - public names
from autograder.stages.judge import StudentResult, failed_result, judge, judge_function  # noqa: F401
from autograder.stages.prepare import Assignment, load_assignment, prepare_inputs
from autograder.stages.record import (_fast_alembic_version, ensure_assignment, export_csv, load_cached, record,
                                      save_cached)
from autograder.stages.report import (console_lines, shared_mathjax, write_feedback, write_log, write_summary)
from autograder.stages.run import execute, judge_ran, merge, parse_notebook, run_submission  # noqa: F401

VERSION = "3"  # cached results are also invalidated by any change of the package's code (_code_digest)
_CODE_DIGEST = ""


class Rows(list):
    """The rows of the grades CSV (graded students only), with what the run did: ``ran``, ``cached``, ``skipped``."""

    ran: int = 0
    cached: int = 0
    skipped: list = []
    held: list = []     # limits that held on this host (sandbox.isolation_report)
    missing: list = []  # and those that did not (e.g. cgroups, which need root)


def run_seed(work: Path, seed: int | None) -> int:
    """The run's secret seed: given, else kept in ``work/seed`` so that re-runs draw the same cases."""
    path = work / "seed"
    if seed is None and path.exists():
        return int(path.read_text())
    seed = secrets.randbits(32) if seed is None else int(seed)
    work.mkdir(parents=True, exist_ok=True)
    path.write_text(str(seed))
    os.chmod(path, 0o600)
    return seed


def _code_digest() -> str:
    """A digest of the course package's code (grader, probe, specs, reference): a change re-grades everyone."""
    h = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        h.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _cache_key(assignment: Assignment, sub: Submission, seed: int, limits: sandbox.Limits, unsafe: bool) -> str:
    h = hashlib.sha256()
    for part in (VERSION, _CODE_DIGEST, assignment.digest, str(seed), json.dumps(asdict(limits), sort_keys=True), str(unsafe),
                 sub.problem or "", hashlib.sha256(sub.data or b"").hexdigest()):
        h.update(part.encode() + b"\0")
    return h.hexdigest()


def grade(assignment: str, submissions: Path, out: Path, seed: int | None = None, *, db: str | None = None,
          jobs: int = 2, limits: sandbox.Limits | None = None, unsafe_no_sandbox: bool = False,
          force: bool = False, progress: bool = True, mathjax: str | None = None,
          scheduler=None) -> Rows:
    """Grade every submission in ``submissions``; return the rows of the grades CSV (graded students only).

    ``scheduler``: None runs the notebooks in a local pool of ``jobs`` sandboxes; a Dask scheduler's address
    (``tcp://host:8786``), scheduler file, cluster or client runs them on that cluster's workers
    (``autograder.distributed``). Either way, judging and every write happen here.
    """
    from nbgrader.api import Gradebook
    from tqdm.auto import tqdm

    limits = limits or sandbox.Limits()
    # nbgrader creates or migrates the gradebook by running `alembic` from PATH: this interpreter's.
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bindir, os.environ.get("PATH", "")])
    if not unsafe_no_sandbox:
        ok, why = sandbox.available()
        if not ok:
            raise SystemExit(f"cannot sandbox student code: {why}.\nInstall bubblewrap, or pass --unsafe-no-sandbox "
                             "to run student code with resource limits only (see docs/grading.md).")
    spec = load_assignment(assignment)
    for warning in spec.warnings:
        print(f"warning: {spec.name}: {warning}", file=sys.stderr)
    out = Path(out)
    work = out / "work"
    out.mkdir(parents=True, exist_ok=True)
    seed = run_seed(work, seed)
    cache = work / "results"
    cache.mkdir(parents=True, exist_ok=True)
    for folder in ("logs", "feedback"):
        (out / folder).mkdir(exist_ok=True)
    mathjax = shared_mathjax(out, mathjax)

    # Stage 1: collect.
    global _CODE_DIGEST
    _CODE_DIGEST = _code_digest()
    subs, skipped = collect(Path(submissions), assignment, spec.notebook)
    results: dict[str, StudentResult] = {}
    todo = []
    for sub in subs:
        key = _cache_key(spec, sub, seed, limits, unsafe_no_sandbox)
        hit = None if force else load_cached(cache, sub.student, key)
        if hit is not None:
            results[sub.student] = hit
        else:
            todo.append((sub, key))
    cached = len(results)

    # Stage 2: prepare the cases (only when something is to be run).
    run_dir = work / "run"
    functions: dict = {}
    if todo:
        # The inputs and probe live in a fresh folder readable by the sandbox user; the expected values stay here.
        if run_dir.exists():
            shutil.rmtree(run_dir)
        run_dir.mkdir(parents=True)
        lib = sandbox.stage_probe(run_dir / "probe")
        inputs = run_dir / "inputs"
        functions = prepare_inputs(spec, seed, inputs)
        sandbox._world_readable(inputs)
        jobs_dir = run_dir / "jobs"
        jobs_dir.mkdir()
        os.chmod(run_dir, 0o755)
        os.chmod(work, 0o755)
    by_student = {s.student: s for s in subs}
    slots: queue.Queue = queue.Queue()
    base = sandbox.SANDBOX_UID_BASE + (os.getpid() % 100_000) * 64  # distinct per grader process
    for i in range(max(1, jobs)):
        slots.put(base + i)

    def run_one(item):
        # Stage 3 on this machine (the local pool).
        sub, key = item
        uid = slots.get()
        try:
            return execute(spec, sub, limits, lib, inputs, jobs_dir, uid, unsafe_no_sandbox)
        finally:
            slots.put(uid)

    keys = dict((sub.student, key) for sub, key in todo)
    workers: dict[str, list[str]] = {}  # Dask worker -> limits it could not apply
    if scheduler is None or not todo:
        finished = ((sub, ran) for (sub, _), ran in distributed.run_local(todo, run_one, jobs))
    else:
        finished = distributed.run_dask(scheduler, inputs, spec, [sub for sub, _ in todo], limits,
                                        unsafe_no_sandbox, _CODE_DIGEST)

    # Stages 4 to 6 (judge, record, report): here only, by the process that owns the gradebook.
    db_url = gradebook_url(db) or f"sqlite:///{(out / 'gradebook.db').resolve()}"
    _fast_alembic_version()
    with open_gradebook(Gradebook, db_url) as gb:
        ensure_assignment(gb, spec)
        write_course_folders(course_root(out), spec)
        for r in results.values():
            _finish(gb, spec, r, by_student[r.student], out, mathjax)
        bar = tqdm(total=len(subs), initial=len(results), desc=f"grading {assignment}", unit="student",
                   disable=not progress)
        for sub, ran in finished:
            key = keys[sub.student]
            if getattr(ran, "missing", None) is not None:
                workers[ran.host] = ran.missing
            try:
                if isinstance(ran, BaseException):
                    raise ran
                r = judge_ran(spec, sub, ran, functions, limits, key)
            except Exception as exc:  # noqa: BLE001 - a grader bug must not stop the batch
                r = failed_result(spec, sub, distributed.failure_reason(exc), key)
            sub = by_student[r.student]
            results[r.student] = r
            save_cached(cache, r)
            _finish(gb, spec, r, sub, out, mathjax)
            bar.update(1)
        bar.close()
        export_csv(gb, spec, out / "grades.csv")
    shutil.rmtree(run_dir, ignore_errors=True)
    ordered = [results[s.student] for s in subs]
    write_summary(out, spec, ordered, f"Hidden-case seed kept in {work / 'seed'} (secret).", skipped, cached)
    held, missing = _isolation(out / "summary.md", unsafe_no_sandbox, workers if scheduler is not None else None)
    with (out / "grades.csv").open(newline="") as fh:
        rows = Rows(csv.DictReader(fh))
    students = {s.student for s in subs}
    rows[:] = [r for r in rows if r["student_id"] in students]
    needs = {r.student for r in ordered if r.review}
    for row in rows:
        row["needs_review"] = row["student_id"] in needs
    rows.ran, rows.cached, rows.skipped = len(todo), cached, skipped
    rows.held, rows.missing = held, missing
    return rows


def _isolation(summary: Path, unsafe: bool, workers: dict | None) -> tuple[list[str], list[str]]:
    """Add to summary.md which limits held for this run (some need root: docs/grading.md); on a cluster, as each
    worker that ran a notebook reported them."""
    if workers is None:
        held, missing = sandbox.isolation_report(unsafe)
        lines = ["", "## Limits that held", "",
                 f"Notebooks ran on this machine as {'root' if os.geteuid() == 0 else 'an ordinary user'}.", ""]
        lines += [f"- held: {h}" for h in held] + [f"- **not applied**: {m}" for m in missing]
    else:
        held, missing = [], []
        lines = ["", "## Limits that held", "", "Notebooks ran on Dask workers; each reported what it could not apply.", ""]
        for host, gaps in sorted(workers.items()):
            lines.append(f"- {host}: " + ("every limit applied" if not gaps else "**not applied**: " + "; ".join(gaps)))
            missing += [f"{m} (on {host})" for m in gaps]
        if not workers:
            lines.append("- no notebook ran in this run (every result was reused)")
    with summary.open("a") as fh:
        fh.write("\n".join(lines) + "\n")
    return held, missing


def gradebook_url(db: str | None) -> str | None:
    """``postgresql://...`` means the psycopg 3 driver the course installs (SQLAlchemy's default is psycopg2)."""
    if db and db.startswith(("postgresql://", "postgres://")):
        try:
            import psycopg2  # noqa: F401 - SQLAlchemy's default driver, if someone installed it
        except ImportError:
            return "postgresql+psycopg://" + db.split("://", 1)[1]
    return db


def open_gradebook(gradebook_class, url: str):
    """nbgrader's gradebook at ``url``, or a clear error (the URL's password hidden) instead of a traceback."""
    try:
        return gradebook_class(url)
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy's errors for a bad URL, a missing driver, a server down
        from sqlalchemy.engine import make_url

        try:
            shown = make_url(url).render_as_string(hide_password=True)
        except Exception:  # noqa: BLE001
            shown = "(the --db URL)"
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        raise SystemExit(f"cannot open the gradebook {shown}: {type(exc).__name__}: {first}") from None


def _finish(gb, spec: Assignment, result: StudentResult, sub: Submission, out: Path, mathjax: str | None) -> None:
    record(gb, spec, result, sub.timestamp)
    write_autograded(course_root(out), spec, result, sub)
    write_feedback(out, spec, result, mathjax)
    write_log(out / "logs" / f"{result.student}.log", result, sub)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder grade", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignment", help="assignment id, e.g. 03-qkv (a folder of solutions/)")
    parser.add_argument("submissions", type=Path, help="folder of submissions")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default grading/<assignment>)")
    parser.add_argument("--db", default=None, help="gradebook SQLAlchemy URL (default sqlite:///OUT/gradebook.db)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the hidden cases (default: secret, kept in OUT/work/seed)")
    parser.add_argument("--jobs", type=int, default=2, help="notebooks graded in parallel (default 2)")
    parser.add_argument("--force", action="store_true", help="grade again even submissions whose results are cached")
    parser.add_argument("--function-timeout", type=float, default=sandbox.Limits.function_timeout,
                        help="seconds for all hidden cases of one function (default %(default)s)")
    parser.add_argument("--cell-timeout", type=float, default=sandbox.Limits.cell_timeout,
                        help="seconds for one cell, hidden cases not counted (default %(default)s)")
    parser.add_argument("--notebook-timeout", type=float, default=sandbox.Limits.notebook_timeout,
                        help="wall-clock seconds for a whole notebook; also its CPU-time limit (default %(default)s)")
    parser.add_argument("--memory-mb", type=int, default=sandbox.Limits.memory_mb,
                        help="address-space limit of each sandbox process in MB (default %(default)s)")
    parser.add_argument("--total-memory-mb", type=int, default=sandbox.Limits.total_memory_mb,
                        help="memory of a whole sandbox in MB, where cgroups can be made (default %(default)s)")
    parser.add_argument("--processes", type=int, default=sandbox.Limits.processes,
                        help="process limit of a sandbox (default %(default)s)")
    parser.add_argument("--mathjax", default=None,
                        help="MathJax 3 for the feedback pages: a URL or path of tex-*.js, or 'none' "
                             "(default: one shared copy of the course's MathJax in feedback/.mathjax/; 'embed' puts it in every page; "
                             "never a CDN)")
    parser.add_argument("--unsafe-no-sandbox", action="store_true",
                        help="run student code without bubblewrap (resource limits only; no file-system or network isolation)")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="run the notebooks on a Dask cluster: its scheduler's address (tcp://host:8786) or "
                             "scheduler file (*.json); default: a local pool of --jobs sandboxes on this machine. "
                             "Judging and the gradebook stay in this process (docs/grading.md)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    out = args.out or REPO / "grading" / args.assignment
    limits = sandbox.Limits(function_timeout=args.function_timeout, cell_timeout=args.cell_timeout,
                            notebook_timeout=args.notebook_timeout, memory_mb=args.memory_mb,
                            total_memory_mb=args.total_memory_mb,
                            processes=args.processes, cpu_seconds=int(max(args.notebook_timeout, 1)))
    if args.scheduler and not (args.scheduler.endswith(".json") or "://" in args.scheduler):
        parser.error("--scheduler takes a Dask scheduler address such as tcp://host:8786, or a scheduler file *.json")
    start = time.perf_counter()
    rows = grade(args.assignment, args.submissions, out, args.seed, db=args.db, jobs=args.jobs, limits=limits,
                 unsafe_no_sandbox=args.unsafe_no_sandbox, force=args.force, progress=not args.quiet,
                 mathjax=args.mathjax, scheduler=args.scheduler)
    took = time.perf_counter() - start
    for line in console_lines(rows, out, took, rows.ran, rows.cached):
        print(line)
    for line in rows.missing:
        print(f"limit not applied here: {line}")
    if rows.skipped:
        print(f"not graded: {len(rows.skipped)} entr{'y' if len(rows.skipped) == 1 else 'ies'} of the submissions folder "
              f"(listed with the reason in {out / 'summary.md'})")
    return 1 if any(r["needs_review"] for r in rows) else 0

