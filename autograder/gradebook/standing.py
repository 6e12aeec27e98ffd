"""A student's standing on one assignment: the one record every output reads.

nbgrader's gradebook holds, for each graded cell, the grader's ``auto_score`` and a grader's ``manual_score``
(which wins); for each submitted notebook the ``late_submission_penalty``; for each submission its ``timestamp``
and ``extension``, and the assignment's ``duedate``; the course's tables hold exclusions and reviews
(``autograder.gradebook.store``). :func:`standing` reads them into one :class:`Standing`, and ``grades.csv``, the
LMS exports, ``summary.md``, the histogram, the logs and the feedback pages are all made from it, so they never
disagree.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from autograder.gradebook.store import excluded, reviewed
from autograder.grading.judge import StudentResult
from autograder.grading.prepare import Assignment
from autograder.reasons import R


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


def placeholder(spec: Assignment, st: Standing) -> StudentResult:
    """A result for a student graded elsewhere (another output folder or machine): scores only."""
    return StudentResult(st.student, dict(st.auto), {}, [R("graded_elsewhere")], False, [], 0.0, "")


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


def submission_scores(gb, assignment: str) -> tuple[list[dict], float]:
    """(one row per submission of ``assignment``: student, name, final score, timestamp; the assignment's maximum),
    as ``nbgrader export`` computes the score. Students excluded from the assignment are left out."""
    from nbgrader.api import MissingEntry

    try:
        found = gb.find_assignment(assignment)
    except MissingEntry:
        raise SystemExit(f"the gradebook {gb.engine.url.render_as_string(hide_password=True)} has no assignment "
                         f"{assignment!r}") from None
    gone = excluded(gb, assignment)
    rows = []
    for sub in found.submissions:
        student = sub.student
        if student.id in gone:
            continue
        name = " ".join(p for p in (student.first_name, student.last_name) if p)
        rows.append({"student": student.id, "name": name, "lms_user_id": student.lms_user_id or "",
                     "score": max(0.0, float(sub.score) - float(sub.late_submission_penalty or 0.0)),
                     "timestamp": sub.timestamp})
    rows.sort(key=lambda r: r["student"])
    return rows, float(found.max_score)
