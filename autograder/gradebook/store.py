"""The term's gradebook: nbgrader's database, opened one way, with the course's own three tables.

**Where things are kept** (all in the one gradebook, ``grading/gradebook.db`` unless ``--db``):

* the grader's scores: ``grade.auto_score`` of every graded (test) cell, written by :func:`record` only;
* manual scores: ``grade.manual_score`` (nbgrader's column; it wins over the automatic one);
* comments: nbgrader's ``comment`` table, ``manual_comment``, on the *test* (grade) cell of the question;
  nbgrader itself attaches comments to solution cells, its table accepts any cell;
* comments from nbgrader's formgrader: nbgrader's ``comment`` table on an *answer* (solution) cell;
* due dates: ``assignment.duedate`` (what ``nbgrader db assignment add --duedate`` writes);
* due-date extensions: ``submitted_assignment.extension`` (what nbgrader's ``grant_extension`` writes and its
  ``total_seconds_late`` reads). nbgrader has no row for a student who has not submitted yet, so the
  extension is also kept in the table ``autograder_extension`` and copied onto the submission by :func:`settle`;
* longer time limits for one student: ``autograder_extension.time_factor`` (nbgrader has no such setting);
* excluded students: ``autograder_excluded`` (never graded for that assignment, left out of every output);
* reviewed submissions: ``autograder_review``: a submission flagged for a human look that a grader has looked at,
  with the grader's note and the key of the result that was reviewed (a new submission or a re-run that changes
  the result is flagged again);
* late penalties: ``submitted_notebook.late_submission_penalty``, computed by nbgrader's own
  ``AssignLatePenalties``/``LateSubmissionPlugin`` configured in ``autograder/nbgrader_config.py`` or a
  course's ``nbgrader_config.py`` (``c.LateSubmissionPlugin.penalty_method``, ``c.AssignLatePenalties.plugin_class``).

``autograder.gradebook.standing`` reads all of it into one record per student; the instructor's changes are in
``autograder.gradebook.edits``.
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from autograder.errors import SetupError
from autograder.course import CONFIG, interpreter_on_path, private_dir
from autograder.grading.judge import StudentResult
from autograder.grading.prepare import Assignment

_TABLES = (
    "CREATE TABLE IF NOT EXISTS autograder_extension (assignment VARCHAR(128) NOT NULL, student VARCHAR(128) NOT NULL, "
    "due_seconds FLOAT, time_factor FLOAT, PRIMARY KEY (assignment, student))",
    "CREATE TABLE IF NOT EXISTS autograder_excluded (assignment VARCHAR(128) NOT NULL, student VARCHAR(128) NOT NULL, "
    "reason TEXT, PRIMARY KEY (assignment, student))",
    "CREATE TABLE IF NOT EXISTS autograder_review (assignment VARCHAR(128) NOT NULL, student VARCHAR(128) NOT NULL, "
    "result_key VARCHAR(128), note TEXT, PRIMARY KEY (assignment, student))",
)


# ------------------------------------------------------------------------------------------ opening it

def add_course_tables(gb) -> None:
    """The course's three tables (extensions, exclusions, review) in nbgrader's gradebook ``gb``, if missing."""
    from sqlalchemy import text

    for statement in _TABLES:
        gb.db.execute(text(statement))
    gb.db.commit()


def db_url(root: Path, db: str | None = None) -> str:
    """The term's gradebook: ``--db`` if given, else ``ROOT/gradebook.db`` (one for every assignment)."""
    return db or f"sqlite:///{(Path(root) / 'gradebook.db').resolve()}"


def gradebook_url(db: str) -> str:
    """``postgresql://...`` means the psycopg 3 driver the course installs (SQLAlchemy's default is psycopg2)."""
    if db.startswith(("postgresql://", "postgres://")):
        try:
            import psycopg2  # noqa: F401 - SQLAlchemy's default driver, if someone installed it
        except ImportError:
            return "postgresql+psycopg://" + db.split("://", 1)[1]
    return db


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


def open_gradebook(url: str):
    """nbgrader's ``Gradebook`` at ``url`` (created or migrated if needed), with the course's three tables; a clear
    error (the URL's password hidden) instead of a traceback when it cannot be opened. A gradebook file made here,
    and its folder, are private (600, 700) whichever command makes them first: they hold every student's scores."""
    from nbgrader.api import Gradebook

    interpreter_on_path()
    url = gradebook_url(url)
    made = None
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        private_dir(path.parent)
        made = None if path.exists() else path
    _fast_alembic_version()
    try:
        gb = Gradebook(url)
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy's errors for a bad URL, a missing driver, a server down
        raise SetupError(f"cannot open the gradebook {_shown(url)}: {type(exc).__name__}: {_first_line(exc)}") from None
    add_course_tables(gb)
    if made is not None and made.exists():
        os.chmod(made, 0o600)
    return gb


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return "(the --db URL)"


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""


def _fast_alembic_version() -> None:
    """nbgrader asks a subprocess (`alembic heads`) for the schema version of a new gradebook; ask alembic here."""
    try:
        import nbgrader.api
        from alembic.config import Config
        from alembic.script import ScriptDirectory
        from nbgrader.dbutil import ALEMBIC_DIR

        config = Config()
        config.set_main_option("script_location", ALEMBIC_DIR)
        head = ScriptDirectory.from_config(config).get_current_head()
        if head:
            nbgrader.api.get_alembic_version = lambda: head
    except Exception:  # noqa: BLE001 - keep nbgrader's own way
        pass


# ------------------------------------------------------------------------------------ the course's tables

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


def graded_students(gb, assignment: str) -> list[str]:
    """Every student with a submission of ``assignment`` in the gradebook who is not excluded."""
    from nbgrader.api import Assignment as A, Student, SubmittedAssignment

    gone = excluded(gb, assignment)
    ids = (gb.db.query(Student.id).join(SubmittedAssignment, SubmittedAssignment.student_id == Student.id)
           .join(A, A.id == SubmittedAssignment.assignment_id).filter(A.name == assignment))
    return sorted(s for (s,) in ids if s not in gone)


# ------------------------------------------------------------------------------------- the grader's scores

def ensure_assignment(gb, assignment: Assignment) -> None:
    gb.update_or_create_assignment(assignment.name)
    gb.update_or_create_notebook(assignment.notebook, assignment.name)
    for cell in assignment.cells:
        if cell.role == "test":
            gb.update_or_create_grade_cell(cell.grade_id, assignment.notebook, assignment.name,
                                           max_score=cell.points, cell_type="code")
        elif cell.role == "answer":
            gb.update_or_create_solution_cell(cell.grade_id, assignment.notebook, assignment.name)


def record(gb, assignment: Assignment, result: StudentResult, timestamp=None) -> None:
    """Write ``auto_score`` of every graded cell; a manual score, if a grader set one, stays and wins. A flagged
    result asks nbgrader's formgrader for a human (``needs_manual_grade``) unless a grader reviewed that result."""
    key, _ = reviewed(gb, assignment.name).get(result.student, (None, None))
    gb.update_or_create_student(result.student)
    kwargs = {"timestamp": timestamp} if timestamp else {}
    # nbgrader builds the new submission's rows from objects already in the session; with SQLAlchemy 2 (no
    # backref cascade) each lazy load in between autoflushes a half-built row and warns (SAWarning "not in
    # session"). Building it without autoflush adds the whole tree at once: nothing to warn about.
    with gb.db.no_autoflush:
        gb.update_or_create_submission(assignment.name, result.student, **kwargs)
    for cell in assignment.tests:
        grade = gb.find_grade(cell.grade_id, assignment.notebook, assignment.name, result.student)
        grade.auto_score = float(result.scores.get(cell.grade_id, 0.0))
        # A flagged submission waits for a human in nbgrader's formgrader until someone gives a manual score.
        grade.needs_manual_grade = bool(result.review) and key != result.key and grade.manual_score is None
    gb.db.commit()


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
    # nbgrader computes a submission's due date as the assignment's plus the extension, so an extension of an
    # assignment with no due date yet stays only in our table until ``duedate`` gives one (then settle runs again).
    has_due = submission.assignment.duedate is not None
    submission.extension = dt.timedelta(seconds=due_seconds) if due_seconds and has_due else None
    gb.db.flush()
    notebook = gb.find_submission_notebook(spec.notebook, spec.name, student)
    notebook.late_submission_penalty = None
    late = submission.total_seconds_late
    if late > 0:
        penalty = penalties.plugin_inst.late_submission_penalty(student, notebook.score, late)
        if penalty is not None:
            notebook.late_submission_penalty = penalties._check_late_penalty(notebook, penalty)
    gb.db.commit()
