"""A term in one gradebook: what every output reads about a student's score, and the instructor's commands.

**One source of truth.** nbgrader's gradebook holds, for each graded cell, the grader's ``auto_score`` and a
grader's ``manual_score`` (which wins); for each submitted notebook the ``late_submission_penalty``; for each
submission its ``timestamp`` and ``extension``, and the assignment's ``duedate``. :func:`standing` reads them
into one :class:`Standing`, and ``grades.csv``, ``summary.md``, the histogram and the feedback pages are all
made from it (:func:`refresh`), so they never disagree.

**Where things are kept** (all in the one gradebook, ``grading/gradebook.db`` unless ``--db``):

* manual scores: ``grade.manual_score`` (nbgrader's column; ``score`` uses it);
* comments: nbgrader's ``comment`` table, ``manual_comment``, on the *test* (grade) cell of the question;
  nbgrader itself attaches comments to solution cells, its table accepts any cell;
* due dates: ``assignment.duedate`` (what ``nbgrader db assignment add --duedate`` writes);
* due-date extensions: ``submitted_assignment.extension`` (what nbgrader's ``grant_extension`` writes and its
  ``total_seconds_late`` reads). nbgrader has no row for a student who has not submitted yet, so the
  extension is also kept in this module's table ``autograder_extension`` and copied onto the submission when it
  is recorded;
* longer time limits for one student: ``autograder_extension.time_factor`` (nbgrader has no such setting);
* excluded students: ``autograder_excluded`` (never graded for that assignment, left out of every output: their
  feedback page and log are removed, the LMS exports and ``release-feedback`` leave them out);
* reviewed submissions: ``autograder_review`` (``python -m autograder review``): a submission flagged for a human
  look that a grader has looked at, with the grader's note and the key of the result that was reviewed (a new
  submission or a re-run that changes the result is flagged again);
* comments from nbgrader's formgrader: nbgrader's ``comment`` table on an *answer* (solution) cell, shown on the
  feedback page under that answer;
* late penalties: ``submitted_notebook.late_submission_penalty``, computed by nbgrader's own
  ``AssignLatePenalties``/``LateSubmissionPlugin`` configured in ``autograder/nbgrader_config.py`` or a
  course's ``nbgrader_config.py`` (``c.LateSubmissionPlugin.penalty_method``, ``c.AssignLatePenalties.plugin_class``).
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from autograder.course import DEFAULT_ROOT, PACKAGE, interpreter_on_path, secure
from autograder.nbgrader_layout import course_root
from autograder.reasons import R
from autograder.stages.submission import Skipped
from autograder.stages.judge import StudentResult
from autograder.stages.prepare import Assignment
from autograder.stages.record import _fast_alembic_version, ensure_assignment
from autograder.stages.report import shared_mathjax, write_feedback, write_log, write_summary
from autograder.stages.submission import student_id

CONFIG = PACKAGE / "nbgrader_config.py"

_TABLES = (
    "CREATE TABLE IF NOT EXISTS autograder_extension (assignment VARCHAR(128) NOT NULL, student VARCHAR(128) NOT NULL, "
    "due_seconds FLOAT, time_factor FLOAT, PRIMARY KEY (assignment, student))",
    "CREATE TABLE IF NOT EXISTS autograder_excluded (assignment VARCHAR(128) NOT NULL, student VARCHAR(128) NOT NULL, "
    "reason TEXT, PRIMARY KEY (assignment, student))",
    "CREATE TABLE IF NOT EXISTS autograder_review (assignment VARCHAR(128) NOT NULL, student VARCHAR(128) NOT NULL, "
    "result_key VARCHAR(128), note TEXT, PRIMARY KEY (assignment, student))",
)


class UsageError(Exception):
    """A command was given something that does not exist or does not fit (printed, exit status 2)."""


# ----------------------------------------------------------------------------------------------- the gradebook

def db_url(root: Path, db: str | None = None) -> str:
    """The term's gradebook: ``--db`` if given, else ``ROOT/gradebook.db`` (one for every assignment)."""
    return db or f"sqlite:///{(Path(root) / 'gradebook.db').resolve()}"


def open_gradebook(url: str):
    """nbgrader's ``Gradebook`` at ``url`` (created or migrated if needed), with this module's two tables."""
    from nbgrader.api import Gradebook
    from sqlalchemy import text

    interpreter_on_path()
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    _fast_alembic_version()
    gb = Gradebook(url)
    for statement in _TABLES:
        gb.db.execute(text(statement))
    gb.db.commit()
    return gb


def fast_commits(gb) -> None:
    """A SQLite gradebook in WAL mode, synchronised at checkpoints only, for this connection (``grade``: a commit per
    student, each waiting about 30 ms for the disk otherwise). The database stays consistent; a power cut may undo
    the last commits, which the next ``grade`` makes again from the results kept in ``work/results``."""
    from sqlalchemy import event, text

    if gb.engine.dialect.name != "sqlite":
        return
    event.listen(gb.engine, "connect", lambda conn, _record: conn.execute("PRAGMA synchronous=NORMAL"))
    gb.db.execute(text("PRAGMA journal_mode=WAL"))
    gb.db.execute(text("PRAGMA synchronous=NORMAL"))
    gb.db.commit()


def _rows(gb, sql: str, **params) -> list:
    from sqlalchemy import text

    return list(gb.db.execute(text(sql), params))


def extension(gb, assignment: str, student: str) -> tuple[float | None, float | None]:
    """(due-date extension in seconds, time-limit factor) of one student, each None if not given."""
    rows = _rows(gb, "SELECT due_seconds, time_factor FROM autograder_extension WHERE assignment=:a AND student=:s",
                 a=assignment, s=student)
    return (rows[0][0], rows[0][1]) if rows else (None, None)


def time_factors(gb, assignment: str) -> dict[str, float]:
    """Students of ``assignment`` whose time limits are multiplied, and by how much."""
    return {s: f for s, f in _rows(gb, "SELECT student, time_factor FROM autograder_extension WHERE assignment=:a "
                                       "AND time_factor IS NOT NULL", a=assignment)}


def reviewed(gb, assignment: str) -> dict[str, tuple[str, str]]:
    """Students of ``assignment`` whose flagged result a grader reviewed: student -> (result key, note)."""
    return {s: (k or "", n or "") for s, k, n in _rows(gb, "SELECT student, result_key, note FROM autograder_review "
                                                          "WHERE assignment=:a", a=assignment)}


def excluded(gb, assignment: str) -> dict[str, str]:
    """Students excluded from ``assignment``, with the reason given."""
    return {s: r or "" for s, r in _rows(gb, "SELECT student, reason FROM autograder_excluded WHERE assignment=:a",
                                         a=assignment)}


# -------------------------------------------------------------------------------------------- late penalties

def late_penalties(*config_files: Path):
    """nbgrader's ``AssignLatePenalties`` with its plugin, configured as nbgrader would be.

    Reads ``autograder/nbgrader_config.py`` and then each existing file of ``config_files`` (a course's
    ``nbgrader_config.py``; later files win), so ``c.LateSubmissionPlugin.penalty_method = "zero"`` or
    ``c.AssignLatePenalties.plugin_class = "mycourse.MyPenalty"`` apply exactly as in ``nbgrader autograde``.
    """
    from nbgrader.preprocessors import AssignLatePenalties
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = Config()
    for path in (CONFIG, *config_files):
        path = Path(path)
        if path.is_file():
            config.merge(PyFileConfigLoader(path.name, path=str(path.parent)).load_config())
    owner = AssignLatePenalties(config=config)
    owner.init_plugin()
    return owner


def settle(gb, spec: Assignment, student: str, penalties) -> None:
    """Bring one submission's derived fields up to date: its extension (from ``autograder_extension``) and the
    late penalty of its notebook, computed the way nbgrader's ``AssignLatePenalties`` does (the plugin's
    ``late_submission_penalty(student_id, score, total_seconds_late)``, clipped to [0, score])."""
    submission = gb.find_submission(spec.name, student)
    due_seconds, _ = extension(gb, spec.name, student)
    submission.extension = dt.timedelta(seconds=due_seconds) if due_seconds else None
    gb.db.flush()
    notebook = gb.find_submission_notebook(spec.notebook, spec.name, student)
    notebook.late_submission_penalty = None
    late = submission.total_seconds_late
    if late > 0:
        penalty = penalties.plugin_inst.late_submission_penalty(student, notebook.score, late)
        if penalty is not None:
            notebook.late_submission_penalty = penalties._check_late_penalty(notebook, penalty)
    gb.db.commit()


# --------------------------------------------------------------------------------------------- the standing

@dataclass
class Standing:
    """A student's score on one assignment as the gradebook has it; every output shows this."""

    student: str
    auto: dict                      # grade_id -> auto_score
    manual: dict                    # grade_id -> manual_score (only where a grader set one)
    comments: dict                  # grade_id -> the grader's comment
    penalty: float = 0.0            # late_submission_penalty of the submission
    seconds_late: float = 0.0
    timestamp: dt.datetime | None = None
    duedate: dt.datetime | None = None  # including the student's extension
    extended: bool = False
    scores: dict = field(default_factory=dict)  # grade_id -> final points of the question
    answer_comments: dict = field(default_factory=dict)  # answer cell's grade_id -> comment (nbgrader's formgrader)
    excluded: str | None = None     # the reason, when the student is excluded from the assignment
    flagged: bool = False           # the grader's result asks for a human look
    review_note: str | None = None  # a grader reviewed the flagged result (``review``), with this note

    @property
    def needs_review(self) -> bool:
        return self.flagged and self.review_note is None

    @property
    def raw(self) -> float:
        return float(sum(self.scores.values()))

    @property
    def total(self) -> float:
        return max(0.0, self.raw - self.penalty)


def standing(gb, spec: Assignment, student: str, result: StudentResult | None = None) -> Standing:
    """The record of ``student`` on ``spec``: the gradebook's scores, comments, penalty and dates, the exclusion and
    review state, and (from ``result``, the grader's kept result) whether it asks for a human look."""
    from nbgrader.api import Comment, GradeCell, MissingEntry, Notebook, SolutionCell

    submission = gb.find_submission(spec.name, student)
    notebook = gb.find_submission_notebook(spec.notebook, spec.name, student)
    auto, manual, scores = {}, {}, {}
    for cell in spec.tests:
        try:
            grade = gb.find_grade(cell.grade_id, spec.notebook, spec.name, student)
        except MissingEntry:  # a question added after this student was graded: 0 until graded again
            auto[cell.grade_id] = scores[cell.grade_id] = 0.0
            continue
        auto[cell.grade_id] = float(grade.auto_score or 0.0)
        if grade.manual_score is not None:
            manual[cell.grade_id] = float(grade.manual_score)
        scores[cell.grade_id] = manual.get(cell.grade_id, auto[cell.grade_id])
    comments = {}
    found = (gb.db.query(GradeCell.name, Comment.manual_comment)
             .join(Comment, Comment.cell_id == GradeCell.id)
             .join(Notebook, Notebook.id == GradeCell.notebook_id)
             .filter(Comment.notebook_id == notebook.id, Notebook.name == spec.notebook))
    for name, text in found:
        if text:
            comments[name] = text
    answer_comments = {}
    found = (gb.db.query(SolutionCell.name, Comment.manual_comment)
             .join(Comment, Comment.cell_id == SolutionCell.id)
             .join(Notebook, Notebook.id == SolutionCell.notebook_id)
             .filter(Comment.notebook_id == notebook.id, Notebook.name == spec.notebook))
    for name, text in found:
        if text and name not in comments:
            answer_comments[name] = text
    gone = excluded(gb, spec.name).get(student)
    flagged = bool(result is not None and result.review)
    key, note = reviewed(gb, spec.name).get(student, (None, None))
    review_note = note if flagged and key == result.key else None
    return Standing(student, auto, manual, comments, float(notebook.late_submission_penalty or 0.0),
                    float(submission.total_seconds_late), submission.timestamp, submission.duedate,
                    submission.extension is not None, scores, answer_comments, gone, flagged, review_note)


def graded_students(gb, assignment: str) -> list[str]:
    """Every student with a submission of ``assignment`` in the gradebook who is not excluded."""
    from nbgrader.api import Assignment as A, Student, SubmittedAssignment

    gone = excluded(gb, assignment)
    ids = (gb.db.query(Student.id).join(SubmittedAssignment, SubmittedAssignment.student_id == Student.id)
           .join(A, A.id == SubmittedAssignment.assignment_id).filter(A.name == assignment))
    return sorted(s for (s,) in ids if s not in gone)


# ---------------------------------------------------------------------------------------------- the outputs

EXPORT_COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
                  "raw_score", "late_submission_penalty", "score", "max_score"]


def export_rows(gb, assignments: list[str] | None = None) -> list[dict]:
    """``nbgrader export``'s rows (same columns, same values: a student without a submission gets 0), for every
    student of the gradebook, without the students excluded from an assignment."""
    from nbgrader.api import MissingEntry

    rows = []
    for assignment in gb.assignments:
        if assignments is not None and assignment.name not in assignments:
            continue
        gone = excluded(gb, assignment.name)
        for student in gb.students:
            if student.id in gone:
                continue
            row = {"assignment": assignment.name, "duedate": assignment.duedate, "student_id": student.id,
                   "last_name": student.last_name, "first_name": student.first_name, "email": student.email,
                   "max_score": assignment.max_score}
            try:
                sub = gb.find_submission(assignment.name, student.id)
            except MissingEntry:
                row.update(timestamp="", raw_score=0.0, late_submission_penalty=0.0, score=0.0)
            else:
                penalty = sub.late_submission_penalty
                row.update(timestamp=sub.timestamp, raw_score=sub.score, late_submission_penalty=penalty,
                           score=max(0.0, sub.score - penalty))
            rows.append({k: "" if row[k] is None else str(row[k]) for k in EXPORT_COLUMNS})
    return rows


def write_csv(path: Path, rows: list[dict]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, EXPORT_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)


def cached_result(out: Path, student: str):
    """The last result the grader kept for ``student`` in ``out/work/results/`` (whatever its key), or None."""
    path = Path(out) / "work" / "results" / f"{student}.json"
    try:
        return StudentResult(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def placeholder(spec: Assignment, st: Standing):
    """A result for a student graded elsewhere (another output folder or machine): scores only."""
    return StudentResult(st.student, dict(st.auto), {}, [R("graded_elsewhere")],
                         False, [], 0.0, "")


def refresh(gb, spec: Assignment, out: Path, feedback_for: list[str] | tuple = (), *, mathjax: str | None = None,
            seed_note: str = "", skipped: list | None = None, cached: int = 0) -> dict[str, Standing]:
    """Rewrite every output of ``spec`` in ``out`` from the gradebook: ``grades.csv``, the term-wide
    ``ROOT/grades.csv`` (``ROOT`` = the parent of ``out``), ``summary.md`` and ``histogram.png`` for every graded
    student of the assignment (not only those of the last run), and the feedback pages of ``feedback_for``."""
    out = Path(out)
    students = graded_students(gb, spec.name)
    results = {s: cached_result(out, s) for s in students}
    standings = {s: standing(gb, spec, s, results[s]) for s in students}
    results = {s: results[s] or placeholder(spec, standings[s]) for s in students}
    gone = excluded(gb, spec.name)
    for s in gone:  # an excluded student's page and log are not left behind (nor released: nothing to copy)
        shutil.rmtree(out / "feedback" / s, ignore_errors=True)
        (out / "logs" / f"{s}.log").unlink(missing_ok=True)
    (out / "logs").mkdir(parents=True, exist_ok=True)
    for s in students:  # every log shows the record as it is now (a grader's score, an extension, a review)
        write_log(out / "logs" / f"{s}.log", results[s], standings[s])
    if feedback_for:
        mathjax = shared_mathjax(out, mathjax)
        for s in feedback_for:
            if s in standings:
                write_feedback(out, spec, results[s], mathjax, standings[s])
    write_csv(out / "grades.csv", export_rows(gb, [spec.name]))
    write_csv(out.parent / "grades.csv", export_rows(gb))
    skipped_file = out / "work" / "skipped.json"
    if skipped is None:
        try:
            skipped = [Skipped(**s) for s in json.loads(skipped_file.read_text())]
        except (OSError, ValueError, TypeError):
            skipped = []
    else:
        skipped_file.parent.mkdir(parents=True, exist_ok=True)
        skipped_file.write_text(json.dumps([{"name": s.name, "reason": s.reason} for s in skipped]))
    if not seed_note and (out / "work" / "seed").exists():
        seed_note = f"Hidden-case seed kept in {out / 'work' / 'seed'} (secret)."
    write_summary(out, spec, [results[s] for s in students], seed_note, skipped, cached,
                  standings=standings, excluded=gone)
    secure(course_root(out), out)
    return standings


# ------------------------------------------------------------------------------------- instructor's commands

def _question(spec: Assignment, question: str):
    for cell in spec.tests:
        if cell.grade_id == question:
            return cell
    raise UsageError(f"{spec.name} has no question {question!r}; its questions (grade_id of the test cells) are: "
                     + ", ".join(f"{c.grade_id} ({c.points:g} points)" for c in spec.tests))


def graded_submission(gb, spec: Assignment, student: str):
    from nbgrader.api import MissingEntry

    try:
        return gb.find_submission(spec.name, student)
    except MissingEntry:
        known = graded_students(gb, spec.name)
        raise UsageError(f"no graded submission of {spec.name} by {student!r} in the gradebook (graded: "
                         f"{', '.join(known[:20]) or 'nobody yet'}{', ...' if len(known) > 20 else ''})") from None


def set_score(gb, spec: Assignment, student: str, question: str, points: float | None = None,
              comment: str | None = None, clear: bool = False) -> None:
    """A grader's score (``manual_score``, which wins over the automatic one) and/or comment on one question;
    ``clear`` goes back to the automatic score."""
    from nbgrader.api import Comment

    cell = _question(spec, question)
    graded_submission(gb, spec, student)
    grade = gb.find_grade(question, spec.notebook, spec.name, student)
    if clear:
        grade.manual_score = None
    elif points is not None:
        if not 0 <= points <= cell.points:
            raise UsageError(f"{question} is worth {cell.points:g} points: give a score from 0 to {cell.points:g}")
        grade.manual_score = float(points)
        grade.needs_manual_grade = False
    if comment is not None:
        notebook = gb.find_submission_notebook(spec.notebook, spec.name, student)
        gcell = gb.find_grade_cell(question, spec.notebook, spec.name)
        row = gb.db.query(Comment).filter(Comment.cell_id == gcell.id, Comment.notebook_id == notebook.id).one_or_none()
        if row is None:
            row = Comment(cell_id=gcell.id, notebook_id=notebook.id)
            gb.db.add(row)
        row.manual_comment = comment or None
    gb.db.commit()


def set_extension(gb, assignment: str, student: str, due_seconds: float | None, time_factor: float | None) -> None:
    """Replace one student's extension (nbgrader's ``grant_extension`` does not stack either); both None clears it."""
    from sqlalchemy import text

    gb.db.execute(text("DELETE FROM autograder_extension WHERE assignment=:a AND student=:s"),
                  {"a": assignment, "s": student})
    if due_seconds or time_factor:
        gb.db.execute(text("INSERT INTO autograder_extension (assignment, student, due_seconds, time_factor) "
                           "VALUES (:a, :s, :d, :f)"),
                      {"a": assignment, "s": student, "d": due_seconds or None, "f": time_factor or None})
    gb.db.commit()


def set_excluded(gb, assignment: str, student: str, reason: str | None, undo: bool = False) -> None:
    from sqlalchemy import text

    gb.db.execute(text("DELETE FROM autograder_excluded WHERE assignment=:a AND student=:s"),
                  {"a": assignment, "s": student})
    if not undo:
        gb.db.execute(text("INSERT INTO autograder_excluded (assignment, student, reason) VALUES (:a, :s, :r)"),
                      {"a": assignment, "s": student, "r": reason or ""})
    gb.db.commit()


def set_reviewed(gb, spec: Assignment, student: str, result: StudentResult, note: str | None, undo: bool = False) -> None:
    """A grader looked at ``student``'s flagged result (``result``, the one kept) and says so with ``note``: the
    submission no longer needs a look, and nbgrader's formgrader no longer lists it (``needs_manual_grade``)."""
    from sqlalchemy import text

    gb.db.execute(text("DELETE FROM autograder_review WHERE assignment=:a AND student=:s"),
                  {"a": spec.name, "s": student})
    if not undo:
        gb.db.execute(text("INSERT INTO autograder_review (assignment, student, result_key, note) VALUES (:a, :s, :k, :n)"),
                      {"a": spec.name, "s": student, "k": result.key, "n": note or "reviewed"})
    for cell in spec.tests:
        grade = gb.find_grade(cell.grade_id, spec.notebook, spec.name, student)
        grade.needs_manual_grade = bool(undo and result.review and grade.manual_score is None)
    gb.db.commit()


def set_duedate(gb, spec: Assignment, duedate: dt.datetime | None) -> None:
    """The assignment's due date (``assignment.duedate``, as ``nbgrader db assignment add --duedate`` sets it)."""
    ensure_assignment(gb, spec)
    gb.update_or_create_assignment(spec.name, duedate=duedate)


def import_roster(gb, path: Path) -> int:
    """Students from a CSV file (``nbgrader db student import``'s format: ``id,first_name,last_name,email``;
    ``student_id`` is accepted for ``id``, and ``lms_user_id`` is kept). Returns how many rows were read."""
    try:
        with Path(path).open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            columns = {c.strip().lower(): c for c in (reader.fieldnames or [])}
            key = columns.get("id") or columns.get("student_id")
            if key is None:
                raise UsageError(f"{path}: the roster needs a column 'id' (or 'student_id'); it has "
                                 f"{', '.join(reader.fieldnames or []) or 'no header'}")
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"cannot read the roster {path}: {exc}") from None
    count = 0
    for n, row in enumerate(rows, start=2):
        raw = (row.get(key) or "").strip()
        if not raw:
            raise UsageError(f"{path}, line {n}: no student id")
        sid = student_id(raw)
        fields = {f: (row.get(columns[f]) or "").strip() or None
                  for f in ("first_name", "last_name", "email", "lms_user_id") if f in columns}
        gb.update_or_create_student(sid, **fields)
        count += 1
    return count
