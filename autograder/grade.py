"""Grade every submission of one assignment, with student code contained in a sandbox.

The command runs a pipeline, one module per stage in ``autograder/stages/``:
collect (``collect.py``) -> prepare cases (``prepare.py``) -> run sandboxed (``run.py``) -> judge
(``judge.py``) -> record (``record.py``) -> report (``report.py``). This module only wires them together
and holds the command line.

    python -m autograder grade 03-qkv SUBMISSIONS [--out grading/03-qkv] [--db URL] [--jobs 2]

SUBMISSIONS is nbgrader's ``submitted/`` folder (``<student>/<assignment>/<notebook>.ipynb``, or
the course folder that contains ``submitted/``), or a flat folder of ``<student>.ipynb`` files
and/or ``<student>.zip`` archives as a learning-management system exports them, or Canvas's or Moodle's
bulk export, unpacked or as the one zip it downloads (``stages/lms.py``).

How a grade is decided (docs/grading.md explains it in full): the grader draws every hidden case
from a secret per-run seed and writes the inputs as plain arrays; each student's notebook runs in
a bubblewrap sandbox where ``check(...)`` only runs the student's function on those inputs and
sends the returned arrays back; the grader compares them with the reference, computed here, and
writes ``auto_score`` of every graded cell into nbgrader's gradebook. Nothing a notebook prints or
displays is read as a score, and the sandbox holds neither the reference, nor the expected
values, nor the gradebook.

The gradebook is the term's, one for every assignment: ``OUT_ROOT/gradebook.db`` (default
``grading/gradebook.db``; ``--db`` for any SQLAlchemy URL), with ``OUT_ROOT/grades.csv`` for the whole term.
Written under ``--out`` (default ``OUT_ROOT/<assignment>``): ``grades.csv`` (``nbgrader export`` format),
``feedback/<student>/<assignment>/<notebook>.html``, ``summary.md`` and ``histogram.png`` (every graded
student of the assignment, with a grader's scores and late penalties from the gradebook: ``autograder/term.py``),
``logs/<student>.log``, and ``work/`` (the run's secret seed and cached results; re-running resumes from it).
``--student ID`` grades only some students. The grading root (the parent of ``--out``) is an nbgrader course root:
``autograded/<student>/<assignment>/`` notebooks and ``source/``, ``release/`` (``autograder.nbgrader_layout``), so
nbgrader's formgrader, ``generate_feedback`` and ``export`` work on the results. ``--scheduler`` runs the notebooks
on a Dask cluster (``autograder.distributed``); judging and every write stay in this process.
Exit status 0 if every submission was graded normally,
1 if at least one needs a human look (listed in summary.md), 2 on a usage error.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, replace
from datetime import datetime, timezone
from pathlib import Path

from autograder import distributed, sandbox, term, warm
from autograder.course import REPO, private_dir, secure
from autograder.nbgrader_layout import course_root, write_autograded, write_course_folders
from autograder.stages import staging
from autograder.stages.collect import collect
from autograder.stages.judge import StudentResult, failed_result
from autograder.stages.prepare import Assignment, load_assignment, prepare_inputs
from autograder.stages.record import ensure_assignment, load_cached, record, save_cached
from autograder.stages.report import console_lines, shared_mathjax, write_feedback, write_log
from autograder.stages.run import execute, judge_ran
from autograder.stages.submission import Submission, parse_timestamp, student_id

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


def _cache_key(assignment: Assignment, sub: Submission, seed: int, limits: sandbox.Limits, unsafe: bool) -> str:
    h = hashlib.sha256()
    for part in (VERSION, _CODE_DIGEST, assignment.digest, str(seed), json.dumps(asdict(limits), sort_keys=True), str(unsafe),
                 str(sub.problem or ""), hashlib.sha256(sub.data or b"").hexdigest()):
        h.update(part.encode() + b"\0")
    return h.hexdigest()


def student_limits(limits: sandbox.Limits, factor: float | None) -> sandbox.Limits:
    """One student's limits: the class's, with every time limit multiplied by the student's ``time_factor``."""
    if not factor or factor == 1:
        return limits
    return replace(limits, function_timeout=limits.function_timeout * factor, cell_timeout=limits.cell_timeout * factor,
                   notebook_timeout=limits.notebook_timeout * factor, cpu_seconds=int(limits.cpu_seconds * factor))


def read_timestamps(path: Path) -> dict[str, datetime]:
    """``--timestamps FILE.csv``: columns ``student_id`` (or ``id``) and ``timestamp``; times without a zone are UTC."""
    try:
        with Path(path).open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            columns = {c.strip().lower(): c for c in (reader.fieldnames or [])}
            sid, ts = columns.get("student_id") or columns.get("id"), columns.get("timestamp")
            if not sid or not ts:
                raise SystemExit(f"{path}: the timestamps file needs the columns student_id and timestamp")
            found = {}
            for n, row in enumerate(reader, start=2):
                when = parse_timestamp((row.get(ts) or "").strip())
                if when is None:
                    raise SystemExit(f"{path}, line {n}: {row.get(ts)!r} is not a date and time")
                found[student_id((row.get(sid) or "").strip())] = when
            return found
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SystemExit(f"cannot read the timestamps file {path}: {exc}") from None


def _mtime(sub: Submission) -> datetime | None:
    """The modification time (UTC) of a submission's file, or of the newest notebook in its folder."""
    path = Path(sub.origin)
    try:
        if path.is_symlink():
            return None
        if path.is_file():
            stamp = path.stat().st_mtime
        elif path.is_dir():
            notebooks = [p for p in path.rglob("*.ipynb") if not p.is_symlink()]
            if not notebooks:
                return None
            stamp = max(p.stat().st_mtime for p in notebooks)
        else:
            return None
    except OSError:
        return None
    return datetime.fromtimestamp(stamp, timezone.utc).replace(tzinfo=None)


def grade(assignment: str, submissions: Path, out: Path, seed: int | None = None, *, db: str | None = None,
          jobs: int = 2, limits: sandbox.Limits | None = None, unsafe_no_sandbox: bool = False,
          force: bool = False, progress: bool = True, mathjax: str | None = None,
          students: list[str] | None = None, timestamps: str | Path | None = None, scheduler=None,
          warm_start: bool = True) -> Rows:
    """Grade every submission in ``submissions`` (or only those of ``students``); return the rows of the grades
    CSV of the students graded in this run. The gradebook is the term's (``OUT/../gradebook.db`` unless ``db``);
    ``summary.md``, the histogram and ``grades.csv`` describe every graded student of the assignment.

    ``scheduler``: None runs the notebooks in a local pool of ``jobs`` sandboxes; a Dask scheduler's address
    (``tcp://host:8786``), scheduler file, cluster or client runs them on that cluster's workers
    (``autograder.distributed``). Either way, judging and every write happen here.

    ``warm_start``: fork each notebook's sandbox from a warm template (``autograder.warm``) instead of starting a
    cold one; the isolation and the grades are the same, and a template that cannot start falls back to cold.
    """
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
    private_dir(out)
    secure(course_root(out))
    seed = run_seed(work, seed)
    cache = work / "results"
    cache.mkdir(parents=True, exist_ok=True)
    for folder in ("logs", "feedback"):
        (out / folder).mkdir(exist_ok=True)
    mathjax = shared_mathjax(out, mathjax)

    # Stage 1: collect.
    global _CODE_DIGEST
    _CODE_DIGEST = staging.code_digest()
    subs, skipped = collect(Path(submissions), assignment, spec.notebook)
    if students:
        wanted = [student_id(s) for s in students]
        unknown = sorted(set(wanted) - {s.student for s in subs})
        if unknown:
            raise SystemExit(f"no submission of {', '.join(unknown)} in {submissions} (found: "
                             f"{', '.join(sorted(s.student for s in subs)[:20]) or 'none'})")
        subs = [s for s in subs if s.student in wanted]
    if timestamps == "mtime":
        for sub in subs:
            sub.timestamp = sub.timestamp or _mtime(sub)
    elif timestamps:
        given = read_timestamps(Path(timestamps))
        for sub in subs:
            sub.timestamp = given.get(sub.student, sub.timestamp)
    legacy = out / "gradebook.db"
    if db is None and legacy.exists():
        print(f"warning: {legacy} is a gradebook of an earlier version (one per assignment); this run uses the term's "
              f"gradebook {out.parent / 'gradebook.db'} (see docs/grading.md, 'A term')", file=sys.stderr)
    gb = open_gradebook(term.open_gradebook, term.db_url(out.parent, gradebook_url(db)))
    term.fast_commits(gb)
    ensure_assignment(gb, spec)
    gone = term.excluded(gb, spec.name)
    if students and set(wanted) & set(gone):
        gb.close()
        raise SystemExit(f"{', '.join(sorted(set(wanted) & set(gone)))}: excluded from {spec.name} "
                         f"(python -m autograder exclude {spec.name} ID --undo to grade them)")
    subs = [s for s in subs if s.student not in gone]
    factors = term.time_factors(gb, spec.name)
    gb.db.commit()  # no transaction stays open while the notebooks run (a shared database server)
    own_limits = {s.student: student_limits(limits, factors.get(s.student)) for s in subs}
    penalties = term.late_penalties(out.parent / "nbgrader_config.py")  # the course's configuration wins
    results: dict[str, StudentResult] = {}
    todo = []
    for sub in subs:
        key = _cache_key(spec, sub, seed, own_limits[sub.student], unsafe_no_sandbox)
        hit = None if force else load_cached(cache, sub.student, key)
        if hit is not None:
            results[sub.student] = hit
        else:
            todo.append((sub, key))
    cached = len(results)

    # Stage 2: prepare the cases (only when something is to be run).
    functions: dict = {}
    run_dir = None
    shutil.rmtree(work / "run", ignore_errors=True)  # where earlier versions staged runs
    if todo:
        # The inputs and probe live in a fresh folder readable by the sandbox user, outside the grading folder
        # (which is private, mode 700); the expected values stay in this process.
        run_dir = Path(tempfile.mkdtemp(prefix="autograder-run-"))
        functions = prepare_inputs(spec, seed, run_dir / "inputs")
        staged = staging.stage(run_dir)
    by_student = {s.student: s for s in subs}
    pool = staging.UidPool(jobs)
    template = warm.Template() if todo and warm_start and not unsafe_no_sandbox and scheduler is None else None
    start_sandbox = template.run if template is not None else sandbox.run

    def run_one(item):
        # Stage 3 on this machine (the local pool).
        sub, key = item
        with pool.uid() as uid:
            return execute(spec, sub, own_limits[sub.student], staged.lib, staged.inputs, staged.jobs, uid,
                           unsafe_no_sandbox, run=start_sandbox)

    keys = dict((sub.student, key) for sub, key in todo)
    workers: dict[str, list[str]] = {}  # Dask worker -> limits it could not apply
    starts: dict[str, int] = {}         # "warm" / "cold" -> notebooks whose sandbox started so
    if scheduler is None or not todo:
        finished = ((sub, ran) for (sub, _), ran in distributed.run_local(todo, run_one, jobs))
    else:
        finished = distributed.run_dask(scheduler, staged.inputs, spec, [sub for sub, _ in todo],
                                        lambda s: own_limits[s.student], unsafe_no_sandbox, _CODE_DIGEST, warm_start)
    if template is not None:
        finished = warm.closing(finished, template)

    # Stages 4 to 6 (judge, record, report): here only, by the process that owns the gradebook.
    with gb:
        write_course_folders(course_root(out), spec)
        for r in results.values():
            _finish(gb, spec, r, by_student[r.student], out, mathjax, penalties)
        bar = tqdm(total=len(subs), initial=len(results), desc=f"grading {assignment}", unit="student",
                   disable=not progress)
        for sub, ran in finished:
            key = keys[sub.student]
            if getattr(ran, "missing", None) is not None:
                workers[ran.host] = ran.missing
            if getattr(ran, "run", None) is not None:
                starts[ran.run.start] = starts.get(ran.run.start, 0) + 1
            try:
                if isinstance(ran, BaseException):
                    raise ran
                r = judge_ran(spec, sub, ran, functions, own_limits[sub.student], key)
            except Exception as exc:  # noqa: BLE001 - a grader bug must not stop the batch
                r = failed_result(spec, sub, distributed.failure_reason(exc), key)
            results[r.student] = r
            save_cached(cache, r)
            _finish(gb, spec, r, by_student[r.student], out, mathjax, penalties)
            bar.update(1)
        bar.close()
        # The class view (summary, histogram, grades.csv) is every graded student's, read from the gradebook.
        standings = term.refresh(gb, spec, out, seed_note=f"Hidden-case seed kept in {work / 'seed'} (secret).",
                     skipped=skipped, cached=cached)
    if run_dir is not None:
        shutil.rmtree(run_dir, ignore_errors=True)
    held, missing = _isolation(out / "summary.md", unsafe_no_sandbox, workers if scheduler is not None else None,
                               starts)
    secure(course_root(out), out)
    with (out / "grades.csv").open(newline="") as fh:
        rows = Rows(csv.DictReader(fh))
    graded = {s.student for s in subs}
    rows[:] = [r for r in rows if r["student_id"] in graded]
    needs = {s for s, st in standings.items() if st.needs_review}
    for row in rows:
        row["needs_review"] = row["student_id"] in needs
    rows.ran, rows.cached, rows.skipped = len(todo), cached, skipped
    rows.held, rows.missing = held, missing
    return rows


def _isolation(summary: Path, unsafe: bool, workers: dict | None, starts: dict | None = None) -> tuple[list[str], list[str]]:
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
    if starts:
        lines += ["", f"Sandboxes forked from a warm template: {starts.get('warm', 0)}; started cold: "
                      f"{starts.get('cold', 0)} (the same isolation and limits either way: docs/grading.md)."]
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


def _finish(gb, spec: Assignment, result: StudentResult, sub: Submission, out: Path, mathjax: str | None,
            penalties) -> None:
    key, _ = term.reviewed(gb, spec.name).get(result.student, (None, None))
    record(gb, spec, result, sub.timestamp, reviewed=key == result.key)
    term.settle(gb, spec, result.student, penalties)
    standing = term.standing(gb, spec, result.student, result)
    write_autograded(course_root(out), spec, result, sub)
    write_feedback(out, spec, result, mathjax, standing)
    write_log(out / "logs" / f"{result.student}.log", result, standing)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder grade", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignment", help="assignment id, e.g. 03-qkv (a folder of solutions/)")
    parser.add_argument("submissions", type=Path, help="folder of submissions, or a Canvas/Moodle bulk-export zip")
    parser.add_argument("--out-root", type=Path, default=None,
                        help="the term's grading folder: OUT is OUT_ROOT/<assignment>, the gradebook OUT_ROOT/gradebook.db "
                             "(default grading/)")
    parser.add_argument("--out", type=Path, default=None,
                        help="this assignment's output folder (default OUT_ROOT/<assignment>; the term's gradebook is in "
                             "its parent folder)")
    parser.add_argument("--db", default=None,
                        help="gradebook SQLAlchemy URL (default: the term's, sqlite:///OUT_ROOT/gradebook.db)")
    parser.add_argument("--student", action="append", default=None, metavar="ID",
                        help="grade only this student (repeat for several); the summary still shows the whole class")
    parser.add_argument("--timestamps", default=None, metavar="FILE.csv|mtime",
                        help="submission times for late penalties: a CSV with columns student_id,timestamp, or 'mtime' "
                             "(the file's modification time, for submissions whose layout gives none)")
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
    parser.add_argument("--cold-start", action="store_true",
                        help="start every notebook's sandbox cold (a new interpreter that imports everything) instead of "
                             "forking it from a warm template; same isolation and grades, slower (docs/grading.md)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    out = args.out or (args.out_root or REPO / "grading") / args.assignment
    limits = sandbox.Limits(function_timeout=args.function_timeout, cell_timeout=args.cell_timeout,
                            notebook_timeout=args.notebook_timeout, memory_mb=args.memory_mb,
                            total_memory_mb=args.total_memory_mb,
                            processes=args.processes, cpu_seconds=int(max(args.notebook_timeout, 1)))
    if args.scheduler and not (args.scheduler.endswith(".json") or "://" in args.scheduler):
        parser.error("--scheduler takes a Dask scheduler address such as tcp://host:8786, or a scheduler file *.json")
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

