"""What the instructor's commands change in the gradebook: a grader's score and comment, a due date, an
extension, an exclusion, a review, the class list. Each writes nbgrader's own fields where nbgrader has one
(``autograder.gradebook.store`` says where everything is kept)."""
from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from autograder.errors import UsageError
from autograder.gradebook.store import ensure_assignment, graded_students
from autograder.grading.judge import StudentResult
from autograder.grading.prepare import Assignment
from autograder.grading.submission import student_id


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
    ``student_id`` is accepted for ``id``, and ``lms_user_id`` is kept), with every identity the roster gives
    (``autograder.gradebook.identity.COLUMNS``). Returns how many rows were read."""
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
    from autograder.gradebook import identity

    count = 0
    for n, row in enumerate(rows, start=2):
        raw = (row.get(key) or "").strip()
        if not raw:
            raise UsageError(f"{path}, line {n}: no student id")
        sid = student_id(raw)
        fields = {f: (row.get(columns[f]) or "").strip() or None
                  for f in ("first_name", "last_name", "email", "lms_user_id") if f in columns}
        gb.update_or_create_student(sid, **fields)
        # Every source's identity of this student (autograder.gradebook.identity): e-mail, Canvas and Moodle ids
        # and names, so that each maps to this one id.
        lower = {c: (row.get(orig) or "") for c, orig in columns.items()}
        identity.set_identities(gb, sid, lower, fields.get("first_name") or "", fields.get("last_name") or "")
        count += 1
    gb.db.commit()
    return count
