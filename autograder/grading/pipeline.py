"""The grading pipeline as named stages: collect -> plan -> prepare -> run -> judge. Each returns data; none
writes the gradebook or a report (``autograder.term.grade`` stores and reports what they return).

* :func:`collect_submissions`: every submission of the folder an instructor is handed (``collect.py``), only
  those of ``--student`` if given, with their submission times (``--timestamps``);
* :func:`plan`: which submissions need running, and which kept results still hold (the cache key covers the
  submission's bytes, the assignment, the seed, the student's limits and the code of this folder);
* :func:`prepare`: the hidden cases drawn from the run's secret seed, the reference's outputs computed here (they
  never leave this process), only the inputs written, with the probe, into a staged folder (``staging.py``);
* :func:`run`: each notebook rebuilt and run in the sandbox, in a local pool of ``jobs`` sandboxes or on the
  workers of a Dask cluster (``distributed.py``);
* :func:`judge`: every test cell's points, from the values the sandbox returned (``judge.py``).

:func:`grade_submissions` runs the last three for the submissions :func:`plan` left to run.

How a grade is decided (docs/grading.md explains it in full): the grader draws every hidden case from a secret
per-run seed and writes the inputs as plain arrays; each student's notebook runs in a bubblewrap sandbox where
``check(...)`` only runs the student's function on those inputs and sends the returned arrays back; the grader
compares them with the reference, computed here. Nothing a notebook prints or displays is read as a score, and the
sandbox holds neither the reference, nor the expected values, nor the gradebook.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from autograder import catalogs
from autograder.errors import SetupError, UsageError
from autograder.grading import distributed, sandbox, staging, warm
from autograder.grading.collect import collect
from autograder.grading.judge import StudentResult, failed_result
from autograder.grading.prepare import Assignment, prepare_inputs
from autograder.grading.run import execute, judge_ran
from autograder.grading.submission import Skipped, Submission, parse_timestamp, read_student_table, student_id

VERSION = "3"  # cached results are also invalidated by any change of this folder's code (staging.code_digest)


def require_sandbox(unsafe: bool) -> None:
    """Refuse to run student code without bubblewrap, unless ``--unsafe-no-sandbox``."""
    if not unsafe:
        ok, why = sandbox.available()
        if not ok:
            raise SetupError(f"cannot sandbox student code: {why}.\nInstall bubblewrap, or pass --unsafe-no-sandbox "
                             "to run student code with resource limits only (see docs/grading.md).")


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


def student_limits(limits: sandbox.Limits, factor: float | None) -> sandbox.Limits:
    """One student's limits: the class's, with every time limit multiplied by the student's ``time_factor``."""
    if not factor or factor == 1:
        return limits
    return replace(limits, function_timeout=limits.function_timeout * factor, cell_timeout=limits.cell_timeout * factor,
                   notebook_timeout=limits.notebook_timeout * factor, cpu_seconds=int(limits.cpu_seconds * factor))


# ------------------------------------------------------------------------------------------ stage 1: collect

def collect_submissions(submissions: Path, spec: Assignment, students: list[str] | None = None,
                        timestamps: str | Path | None = None, resolve=None) -> tuple[list[Submission], list[Skipped]]:
    """Every submission in ``submissions`` (or only those of ``students``), with its time, and what was not graded.

    ``resolve(subs) -> (subs, skipped)``: each submission under the id the roster gives it (the gradebook's
    ``autograder.gradebook.identity.resolve``), before ``students`` is applied."""
    subs, skipped = collect(Path(submissions), spec.name, spec.notebook)
    if resolve is not None:
        subs, unknown = resolve(subs)
        skipped = skipped + unknown
    if students:
        wanted = [student_id(s) for s in students]
        unknown = sorted(set(wanted) - {s.student for s in subs})
        if unknown:
            raise UsageError(f"no submission of {', '.join(unknown)} in {submissions} (found: "
                             f"{', '.join(sorted(s.student for s in subs)[:20]) or 'none'})")
        subs = [s for s in subs if s.student in wanted]
    if timestamps == "mtime":
        for sub in subs:
            sub.timestamp = sub.timestamp or _mtime(sub)
    elif timestamps:
        given = read_timestamps(Path(timestamps))
        for sub in subs:
            sub.timestamp = given.get(sub.student, sub.timestamp)
    return subs, skipped


def read_timestamps(path: Path) -> dict[str, datetime]:
    """``--timestamps FILE.csv``: columns ``student_id`` (or ``id``) and ``timestamp``; times without a zone are UTC."""
    found = {}
    for n, student, row in read_student_table(path, ("student_id", "id"), "timestamps file", required=("timestamp",)):
        when = parse_timestamp(row["timestamp"])
        if when is None:
            raise UsageError(f"{path}, line {n}: {row['timestamp']!r} is not a date and time")
        found[student] = when
    return found


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


# ---------------------------------------------------------------------------------------------- stage: plan

def cache_key(spec: Assignment, sub: Submission, seed: int, limits: sandbox.Limits, unsafe: bool, code: str) -> str:
    """What a result depends on: this code, the assignment (and its Chinese release's catalog), the seed, the
    student's limits and the submission."""
    h = hashlib.sha256()
    for part in (VERSION, code, spec.digest, catalogs.digest(spec.name), str(seed), json.dumps(asdict(limits), sort_keys=True), str(unsafe),
                 str(sub.problem or ""), hashlib.sha256(sub.data or b"").hexdigest()):
        h.update(part.encode() + b"\0")
    return h.hexdigest()


@dataclass
class Plan:
    """Results kept from an earlier run that still hold, and the submissions to run, with their cache keys."""

    kept: dict[str, StudentResult]
    todo: list[tuple[Submission, str]]
    code: str                      # the digest of this folder's code (a Dask worker is checked against it)


def plan(spec: Assignment, subs: list[Submission], seed: int, limits_of: dict, unsafe: bool, force: bool,
         kept: Callable[[str, str], StudentResult | None]) -> Plan:
    """Which submissions to run: those without a kept result made with the same key (all of them with ``force``).
    ``kept(student, key)`` is the store's lookup of a kept result."""
    code = staging.code_digest()
    found, todo = {}, []
    for sub in subs:
        key = cache_key(spec, sub, seed, limits_of[sub.student], unsafe, code)
        hit = None if force else kept(sub.student, key)
        if hit is not None:
            found[sub.student] = hit
        else:
            todo.append((sub, key))
    return Plan(found, todo, code)


# ------------------------------------------------------------------------------------------- stage 2: prepare

@dataclass
class Prepared:
    """A run's hidden cases: their expected values (here only) and the staged folder the sandboxes read."""

    functions: dict              # (assignment, function) -> FunctionCases, with the reference's outputs
    staged: staging.Staged       # the probe, the inputs and the jobs folder, readable by the sandbox user


@contextmanager
def prepare(spec: Assignment, seed: int) -> Iterator[Prepared]:
    """Draw the cases and stage them, in a fresh folder readable by the sandbox user outside the grading folder
    (which is private, mode 700); removed when the run ends. The expected values stay in this process."""
    run_dir = Path(tempfile.mkdtemp(prefix="autograder-run-"))
    try:
        functions = prepare_inputs(spec, seed, run_dir / "inputs")
        yield Prepared(functions, staging.stage(run_dir))
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


# ----------------------------------------------------------------------------------------------- stage 3: run

def run(spec: Assignment, prepared: Prepared, todo: list[tuple[Submission, str]], limits_of: dict, unsafe: bool,
        jobs: int, scheduler=None, code: str = "", warm_start: bool = True) -> Iterator[tuple[Submission, object]]:
    """Run every notebook of ``todo`` in a sandbox; yield ``(submission, Ran or the exception)`` as they finish.

    ``scheduler``: None runs them in a local pool of ``jobs`` sandboxes; a Dask scheduler's address
    (``tcp://host:8786``), scheduler file, cluster or client runs them on that cluster's workers.
    ``warm_start``: each sandbox forked from a warm template (``warm.py``; one per run here, one per worker on a
    cluster), else started cold; a template that cannot start falls back to cold sandboxes."""
    if scheduler is not None:
        yield from distributed.run_dask(scheduler, prepared.staged.inputs, spec, [sub for sub, _ in todo],
                                        lambda s: limits_of[s.student], unsafe, code, warm_start)
        return
    uids = staging.UidPool(jobs)
    with warm.Template() if warm_start and not unsafe else nullcontext() as template:
        start = template.run if template is not None else sandbox.run

        def run_one(item):
            sub, _ = item
            return execute(spec, sub, limits_of[sub.student], prepared.staged, uids, unsafe, run=start)

        for (sub, _), ran in distributed.run_local(todo, run_one, jobs):
            yield sub, ran


# --------------------------------------------------------------------------------------------- stage 4: judge

def judge(spec: Assignment, sub: Submission, ran, prepared: Prepared, limits: sandbox.Limits, key: str) -> StudentResult:
    """The result of one run: every test cell's points and reasons (a failure of the grader itself, or of the worker
    that ran it, gives every cell 0 with that reason and asks for a human look)."""
    try:
        if isinstance(ran, BaseException):
            raise ran
        return judge_ran(spec, sub, ran, prepared.functions, limits, key)
    except Exception as exc:  # noqa: BLE001 - a grader bug must not stop the batch
        return failed_result(spec, sub, distributed.failure_reason(exc), key)


def grade_submissions(spec: Assignment, plan: Plan, seed: int, limits_of: dict, unsafe: bool, jobs: int,
                      scheduler=None, workers: dict | None = None, warm_start: bool = True,
                      starts: dict | None = None) -> Iterator[StudentResult]:
    """Prepare, run and judge every submission the plan left to run; yield each result as it is judged.
    ``workers`` collects, for a Dask run, each worker that ran a notebook and the limits it could not apply;
    ``starts``, how many sandboxes were forked from a warm template ("warm") and how many started cold."""
    if not plan.todo:
        return
    keys = {sub.student: key for sub, key in plan.todo}
    with prepare(spec, seed) as prepared:
        for sub, ran in run(spec, prepared, plan.todo, limits_of, unsafe, jobs, scheduler, plan.code, warm_start):
            if workers is not None and getattr(ran, "missing", None) is not None:
                workers[ran.host] = ran.missing
            if starts is not None and getattr(ran, "run", None) is not None:
                starts[ran.run.start] = starts.get(ran.run.start, 0) + 1
            yield judge(spec, sub, ran, prepared, limits_of[sub.student], keys[sub.student])
