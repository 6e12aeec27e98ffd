"""A term: grade an assignment, and change the record, each time rewriting every output from it.

The orchestration of the rooms below (``grading`` decides scores, ``gradebook`` keeps them, ``reports`` renders
them); the commands (``autograder.commands``) only parse arguments and print what these functions return.

* :func:`grade`: ``python -m autograder grade``: the grading pipeline's stages
  (``autograder.grading.pipeline``), each result recorded in the gradebook and rendered (feedback page, log,
  nbgrader's ``autograded/`` notebook), then the class view (summary, histogram, ``grades.csv``) from the gradebook;
* :func:`score`, :func:`extend`, :func:`exclude`, :func:`review`, :func:`duedate`, :func:`roster`: one change of the
  record each (``autograder.gradebook.edits``), after which the outputs that depend on it are rewritten.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from autograder.course import Course, interpreter_on_path, private_dir, secure
from autograder.errors import UsageError
from autograder.gradebook import cache, edits, identity
from autograder.gradebook.nbgrader_layout import course_root, write_autograded, write_course_folders
from autograder.gradebook.standing import Standing, export_rows, standing
from autograder.gradebook.store import (db_url, ensure_assignment, excluded, fast_commits, graded_students,
                                        late_penalties, open_gradebook, record, settle, time_factors)
from autograder.gradebook.term_total import CONFIG_NAME, load_config
from autograder.grading import pipeline, sandbox
from autograder.grading.judge import StudentResult
from autograder.grading.prepare import Assignment, load_assignment
from autograder.grading.submission import Submission, student_id
from autograder.reasons import R
from autograder.reports.refresh import refresh
from autograder.reports.report import append_isolation, write_csv
from autograder.reports.term_grades import write_term_grades

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------------------ grading

@dataclass
class GradeOptions:
    """Everything ``python -m autograder grade`` can be told (docs/grading.md lists each option)."""

    assignment: str
    submissions: Path
    out: Path                                     # this assignment's reports; the term's root is its parent
    seed: int | None = None
    db: str | None = None                         # gradebook URL (default: OUT/../gradebook.db)
    jobs: int = 2
    limits: sandbox.Limits = field(default_factory=sandbox.Limits)
    unsafe_no_sandbox: bool = False
    force: bool = False
    progress: bool = True
    mathjax: str | None = None
    students: list[str] | None = None
    timestamps: str | Path | None = None
    scheduler: object = None                      # a Dask scheduler (address, file, cluster or client), or None
    warm_start: bool = True                       # sandboxes forked from a warm template (else each started cold)

    def __post_init__(self):
        self.submissions, self.out = Path(self.submissions), Path(self.out)
        self.limits = self.limits or sandbox.Limits()


class Rows(list):
    """The rows of the grades CSV (graded students only), with what the run did: ``ran``, ``cached``, ``skipped``."""

    ran: int = 0
    cached: int = 0
    skipped: list = []
    held: list = []     # limits that held on this host (sandbox.isolation_report)
    missing: list = []  # and those that did not (e.g. cgroups, which need root)


def grade(assignment: str, submissions: Path, out: Path, seed: int | None = None, **options) -> Rows:
    """Grade every submission in ``submissions`` (or only those of ``students``); return the rows of the grades
    CSV of the students graded in this run. The gradebook is the term's (``OUT/../gradebook.db`` unless ``db``);
    ``summary.md``, the histogram and ``grades.csv`` describe every graded student of the assignment. The options
    are :class:`GradeOptions`'s."""
    return grade_with(GradeOptions(assignment, submissions, out, seed, **options))


def grade_with(o: GradeOptions) -> Rows:
    """:func:`grade`, given its options."""
    from tqdm.auto import tqdm

    interpreter_on_path()  # nbgrader creates or migrates the gradebook by running `alembic` from PATH
    pipeline.require_sandbox(o.unsafe_no_sandbox)
    spec = load_assignment(o.assignment)
    for warning in spec.warnings:
        log.warning("%s: %s", spec.name, warning)
    out, work = o.out, o.out / "work"
    private_dir(out)
    secure(course_root(out))
    seed = pipeline.run_seed(work, o.seed)
    for folder in ("logs", "feedback"):
        (out / folder).mkdir(exist_ok=True)
    gb = _term_gradebook(o)
    try:  # with a roster, every source's identity becomes the roster's id (autograder.gradebook.identity)
        subs, skipped = pipeline.collect_submissions(o.submissions, spec, o.students, o.timestamps,
                                                     resolve=lambda found: identity.resolve(gb, found))
    except BaseException:
        gb.close()
        raise
    subs, limits_of = _admitted(gb, spec, subs, o)
    penalties = late_penalties(out.parent / "nbgrader_config.py")  # the course's configuration wins
    plan = pipeline.plan(spec, subs, seed, limits_of, o.unsafe_no_sandbox, o.force,
                         lambda student, key: cache.kept_result(out, student, key))
    shutil.rmtree(work / "run", ignore_errors=True)  # where earlier versions staged runs
    by_student = {s.student: s for s in subs}
    workers: dict[str, list[str]] = {}  # Dask worker -> limits it could not apply
    starts: dict[str, int] = {}         # "warm" / "cold" -> notebooks whose sandbox started so
    with gb:  # recording and reporting: here only, by the process that owns the gradebook
        write_course_folders(course_root(out), spec)
        for result in plan.kept.values():
            _store(gb, spec, result, by_student[result.student], out, penalties)
        bar = tqdm(total=len(subs), initial=len(plan.kept), desc=f"grading {spec.name}", unit="student",
                   disable=not o.progress)
        for result in pipeline.grade_submissions(spec, plan, seed, limits_of, o.unsafe_no_sandbox, o.jobs,
                                                 o.scheduler, workers, o.warm_start, starts):
            cache.save_result(out, result)
            _store(gb, spec, result, by_student[result.student], out, penalties)
            bar.update(1)
        bar.close()
        # Every output (pages, logs, summary, histogram, grades.csv) of every graded student, from the gradebook.
        standings = refresh(gb, spec, out, mathjax=o.mathjax, skipped=skipped, cached=len(plan.kept),
                            seed_note=f"Hidden-case seed kept in {work / 'seed'} (secret).")
        rows = _rows(export_rows(gb, [spec.name]), subs, standings)
    rows.ran, rows.cached, rows.skipped = len(plan.todo), len(plan.kept), skipped
    rows.held, rows.missing = _isolation(out / "summary.md", o.unsafe_no_sandbox,
                                         workers if o.scheduler is not None else None, starts)
    secure(course_root(out), out)
    return rows


def _term_gradebook(o: GradeOptions):
    legacy = o.out / "gradebook.db"
    if o.db is None and legacy.exists():
        log.warning("%s is a gradebook of an earlier version (one per assignment); this run uses the term's "
                    "gradebook %s (see docs/grading.md, 'A term')", legacy, o.out.parent / "gradebook.db")
    gb = open_gradebook(db_url(o.out.parent, o.db))
    fast_commits(gb)
    return gb


def _admitted(gb, spec: Assignment, subs: list[Submission], o: GradeOptions) -> tuple[list[Submission], dict]:
    """The submissions of students not excluded from the assignment, and each one's limits (an extension's longer
    time limits)."""
    ensure_assignment(gb, spec)
    gone = excluded(gb, spec.name)
    wanted = {student_id(s) for s in o.students or []}
    if wanted & set(gone):
        gb.close()
        raise UsageError(f"{', '.join(sorted(wanted & set(gone)))}: excluded from {spec.name} "
                         f"(python -m autograder exclude {spec.name} ID --undo to grade them)")
    subs = [s for s in subs if s.student not in gone]
    factors = time_factors(gb, spec.name)
    gb.db.commit()  # no transaction stays open while the notebooks run (a shared database server)
    return subs, {s.student: pipeline.student_limits(o.limits, factors.get(s.student)) for s in subs}


def _store(gb, spec: Assignment, result: StudentResult, sub: Submission, out: Path, penalties) -> None:
    """One student's result into the gradebook (its scores, the late penalty) and nbgrader's autograded notebook;
    the feedback page and the log are rendered from the record with every other output (``refresh``)."""
    record(gb, spec, result, sub.timestamp)
    if sub.lms:  # the LMS's own id, from its download: what its export matches (never made up from a name)
        student = gb.find_student(result.student)
        if not student.lms_user_id:
            student.lms_user_id = ":".join(sub.lms)
            gb.db.commit()
    settle(gb, spec, result.student, penalties)
    write_autograded(course_root(out), spec, result, sub)


def _isolation(summary: Path, unsafe: bool, workers: dict | None, starts: dict | None = None) -> tuple[list[str], list[str]]:
    """Which limits held for this run (here, or as each Dask worker that ran a notebook reported), in summary.md."""
    if workers is None:
        held, missing = sandbox.isolation_report(unsafe)
    else:
        held, missing = [], [f"{m} (on {host})" for host, gaps in sorted(workers.items()) for m in gaps]
    append_isolation(summary, held, missing, workers, os.geteuid() == 0, starts)
    return held, missing


def _rows(table: list[dict], subs: list[Submission], standings: dict[str, Standing]) -> Rows:
    """The assignment's rows of ``grades.csv`` (from the gradebook, as written) of the students graded in this run."""
    graded = {s.student for s in subs}
    rows = Rows(r for r in table if r["student_id"] in graded)
    for row in rows:
        row["needs_review"] = standings[row["student_id"]].needs_review if row["student_id"] in standings else False
    return rows


# ---------------------------------------------------------------------------------- the instructor's changes

def _existing(course: Course):
    """The term's gradebook, which the commands other than ``grade``, ``roster`` and ``duedate`` need to exist."""
    if not course.has_gradebook:
        raise UsageError(f"no gradebook at {course.root / 'gradebook.db'}: grade the assignment first "
                         "(python -m autograder grade ...), or give --out-root / --db")
    return open_gradebook(course.db_url)


def _penalties(course: Course):
    return late_penalties(*course.config_files)


def _refresh(gb, spec: Assignment, course: Course) -> None:
    refresh(gb, spec, course.out(spec.name))


def score(course: Course, assignment: str, student: str, question: str, points: float | None = None,
          comment: str | None = None, clear: bool = False) -> tuple[Assignment, Standing]:
    """A grader's score and/or comment on one question (``clear``: back to the automatic score)."""
    spec = load_assignment(assignment)
    with _existing(course) as gb:
        edits.set_score(gb, spec, student, question, points, comment, clear)
        settle(gb, spec, student, _penalties(course))
        st = standing(gb, spec, student)
        _refresh(gb, spec, course)
    return spec, st


@dataclass
class Extended:
    """What ``extend`` did: the student, whether they were in the gradebook, and their standing if graded."""

    student: str
    known: bool
    standing: Standing | None


def extend(course: Course, assignment: str, student: str, due_seconds: float | None, time_factor: float | None,
           clear: bool = False) -> Extended:
    """Replace one student's extension: a later due date and/or a time-limit factor (``clear`` removes it)."""
    spec = load_assignment(assignment)
    with _existing(course) as gb:
        sid = student_id(student)
        ensure_assignment(gb, spec)
        known = sid in {st.id for st in gb.students}
        edits.set_extension(gb, spec.name, sid, None if clear else due_seconds, None if clear else time_factor)
        st = None
        if sid in graded_students(gb, spec.name):
            settle(gb, spec, sid, _penalties(course))
            _refresh(gb, spec, course)
            st = standing(gb, spec, sid)
    return Extended(sid, known, st)


def exclude(course: Course, assignment: str, student: str, reason: str | None, undo: bool = False) -> str:
    """Leave a student out of an assignment (``undo``: bring them back); returns the student id."""
    spec = load_assignment(assignment)
    with _existing(course) as gb:
        sid = student_id(student)
        edits.set_excluded(gb, spec.name, sid, reason, undo)
        if course.out(spec.name).is_dir():
            _refresh(gb, spec, course)
    return sid


def review(course: Course, assignment: str, student: str, note: str | None, undo: bool = False) -> str:
    """A flagged submission was looked at, with a note (``undo``: flag it again); returns the student id."""
    spec = load_assignment(assignment)
    with _existing(course) as gb:
        sid = student_id(student)
        edits.graded_submission(gb, spec, sid)
        result = cache.kept_result(course.out(spec.name), sid)
        if result is None or not result.review:
            raise UsageError(f"{sid}'s submission of {spec.name} does not need a human look: nothing to review")
        edits.set_reviewed(gb, spec, sid, result, note, undo)
        _refresh(gb, spec, course)
    return sid


def duedate(course: Course, assignment: str, when: dt.datetime | None) -> tuple[list[str], list[str]]:
    """Set (or, with None, remove) the assignment's due date and recompute every late penalty of it; returns
    (graded students, those late)."""
    spec = load_assignment(assignment)
    with open_gradebook(course.db_url) as gb:
        edits.set_duedate(gb, spec, when)
        students = graded_students(gb, spec.name)
        penalties = _penalties(course)
        for s in students:
            settle(gb, spec, s, penalties)
        if course.out(spec.name).is_dir():
            _refresh(gb, spec, course)
        late = [s for s in students if standing(gb, spec, s).seconds_late > 0]
    return students, late


def roster(course: Course, path: Path) -> tuple[int, int]:
    """Import the class list; returns (rows read, students in the gradebook)."""
    with open_gradebook(course.db_url) as gb:
        count = edits.import_roster(gb, path)
        return count, len(gb.students)


def link(course: Course, source: str, target: str) -> identity.Linked:
    """Merge the student ``source`` into ``target`` (``autograder.gradebook.identity.link``), then move their kept
    results and nbgrader's autograded notebooks and rewrite every output of each assignment that moved (and the
    term's totals)."""
    with _existing(course) as gb:
        done = identity.link(gb, source, target)
        penalties = _penalties(course)
        for name in done.assignments:
            spec = load_assignment(name)
            out = course.out(name)
            _move_files(out, spec, done.source, done.target)
            settle(gb, spec, done.target, penalties)  # the late penalty under the target's extension
            if out.is_dir():
                _refresh(gb, spec, course)
        if not done.assignments and (course.root / "grades.csv").exists():  # only the term-wide rows change
            write_csv(course.root / "grades.csv", export_rows(gb))
            try:
                write_term_grades(gb, course.root)
            except UsageError as exc:
                log.warning("%s", exc)
    return done


def _move_files(out: Path, spec: Assignment, source: str, target: str) -> None:
    """The kept result and nbgrader's autograded notebook of ``source`` become ``target``'s; the old feedback page
    and log go (``refresh`` writes the target's)."""
    kept = cache.results_dir(out) / f"{source}.json"
    if kept.is_file():
        data = json.loads(kept.read_text())
        data["student"] = target
        (cache.results_dir(out) / f"{target}.json").write_text(json.dumps(data))
        kept.unlink()
    old = course_root(out) / "autograded" / source / spec.name
    if old.is_dir():
        new = course_root(out) / "autograded" / target / spec.name
        new.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(new, ignore_errors=True)
        old.rename(new)
        if not any(old.parent.iterdir()):
            old.parent.rmdir()
    shutil.rmtree(out / "feedback" / source, ignore_errors=True)
    (out / "logs" / f"{source}.log").unlink(missing_ok=True)


def term_grades(course: Course, config: Path | None = None):
    """The term's totals (``autograder.gradebook.term_total``) written to ``ROOT/term-grades.csv`` from
    ``config`` (default ``ROOT/term.toml``); returns (totals, the configuration)."""
    path = Path(config) if config else course.root / CONFIG_NAME
    cfg = load_config(path)
    if cfg is None:
        raise UsageError(str(R("term_config_bad", path=str(path), problem="no such file (docs/grading.md, "
                                                                          "'A term total', shows one)")))
    with _existing(course) as gb:
        return write_term_grades(gb, course.root, cfg), cfg
