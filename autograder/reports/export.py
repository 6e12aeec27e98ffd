"""Grades of one assignment as a CSV file a learning-management system's gradebook imports.

    python -m autograder export 03-qkv --format canvas [--out grades-canvas.csv] [--db URL]
    python -m autograder export 03-qkv --format moodle  [--out-of 100]
    python -m autograder export 03-qkv --format nbgrader

Scores come from the gradebook, the way ``nbgrader export`` computes them: the sum of each graded cell's score (a
manual score, where a grader set one, wins over the automatic one) minus nbgrader's late-submission penalty, never
below 0. Only students with a submission of the assignment are written for Canvas and Moodle (an LMS keeps what
it has for the others); ``nbgrader`` is nbgrader's own CSV, every student of the gradebook, 0 without a submission.

Formats (docs/grading.md, "Grades back into the LMS"):

* ``canvas``: Canvas's gradebook import, ``Student, ID, SIS User ID, SIS Login ID, Section, <name> (<id>)``. Canvas
  matches a row by ``ID``, its numeric user id, which comes only from the LMS or the instructor: ``--roster``, else
  the term roster's Canvas user id (``roster``'s ``canvas_user_id``/``lms_user_id`` column), else the user id a
  Canvas download's file names gave (``canvas:12345`` in the gradebook). Never from the shape of a student id
  (``jdoe_2`` is not user 2).
* ``moodle``: the "Upload grading worksheet" of a Moodle assignment (feedback type "Offline grading worksheet"):
  ``Identifier, Full name, Grade, Maximum grade, Last modified (grade)``. Moodle matches ``Identifier``,
  ``Participant <n>``: from ``--roster``, else the term roster's ``moodle_id``, else the participant number a Moodle
  download named (``moodle:501`` in the gradebook). A Canvas id is never used as a Moodle participant number.
* ``nbgrader``: ``nbgrader export``'s columns; beside it, ``<out>-questions.csv``: one row per student, one column
  per graded cell (its final points: a grader's score wins), then the late penalty, the score and the maximum, as
  Otter-Grader's per-question grades.

With a term configuration (``term.toml`` in the gradebook's folder, or ``--term FILE``; docs/grading.md, "A term
total"), the Canvas and Moodle files also hold each student's ``Term total (%)`` (and ``Term letter`` with
cut-offs), the value of the term's ``term-grades.csv``.

Every export writes a report beside it (``<out>.report.txt``): how many students were written, and each student
left out with the reason.

``--roster FILE`` is a CSV with a ``student_id`` column (the grader's ids) and any of the format's columns
(``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section``, ``Student`` for Canvas; ``Identifier``, ``Full name`` for
Moodle): its values fill or replace what the student id gives. A student the LMS cannot match (no id from either) is
left out, named on stderr and in the report, and the exit status is 1.
"""
from __future__ import annotations

import csv
import re
from datetime import datetime, timezone
from pathlib import Path

from autograder.errors import UsageError
from autograder.gradebook import identity
from autograder.gradebook.standing import export_rows, submission_scores
from autograder.gradebook.store import excluded, open_gradebook
from autograder.gradebook.term_total import load_config, term_totals
from autograder.grading.submission import read_student_table
from autograder.reasons import R, Reason
from autograder.reports.report import write_csv
from autograder.reports.term_grades import LETTER_COLUMN, TOTAL_COLUMN

CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_COLUMNS = ["Identifier", "Full name", "Grade", "Maximum grade", "Last modified (grade)"]
_LMS_ID = re.compile(r"^(?P<lms>canvas|moodle):(?P<id>.+)$")


def lms_id(stored: str, lms: str) -> str:
    """The id ``lms`` knows the student by, from the gradebook's ``lms_user_id`` (``canvas:N``/``moodle:N`` from a
    download; a plain value from the roster is the Canvas user id), or ""."""
    m = _LMS_ID.match(stored or "")
    if m:
        return m["id"] if m["lms"] == lms else ""
    return stored if lms == "canvas" and stored else ""


#: The roster columns each format takes, as its CSV names them.
ROSTER_COLUMNS = {c.lower(): c for c in CANVAS_COLUMNS + MOODLE_COLUMNS}


def read_roster(path: Path | None) -> dict[str, dict[str, str]]:
    """``--roster FILE``: the LMS's columns of each student (``student_id``, the grader's ids)."""
    if path is None:
        return {}
    return {sid: {ROSTER_COLUMNS.get(c, c): v for c, v in row.items() if c != "student_id" and v}
            for _, sid, row in read_student_table(path, ("student_id",), "roster")}


class TermColumns:
    """The term total (and letter) of each student, as the export's extra columns; none without a term.toml."""

    def __init__(self, totals=(), letters: bool = False):
        self.by_student = {t.student: t for t in totals}
        self.header = ([TOTAL_COLUMN] + ([LETTER_COLUMN] if letters else [])) if self.by_student else []

    def of(self, student: str) -> dict:
        t = self.by_student.get(student)
        if not self.header:
            return {}
        got = {TOTAL_COLUMN: "" if t is None or t.total is None else f"{t.total:g}"}
        if LETTER_COLUMN in self.header:
            got[LETTER_COLUMN] = t.letter if t else ""
        return got


def _points(score: float, max_score: float, out_of: float | None) -> str:
    value = score if out_of is None or max_score == 0 else score * out_of / max_score
    return f"{round(value, 2):g}"


def canvas_rows(rows, max_score, roster, column, out_of, term=None):
    term = term or TermColumns()
    header = CANVAS_COLUMNS + [column] + term.header
    out, unmatched = [], []
    for r in rows:
        line = {"Student": r["name"] or r["student"],
                "ID": r.get("roster_lms", {}).get("canvas") or lms_id(r.get("lms_user_id", ""), "canvas"),
                "SIS User ID": "", "SIS Login ID": "", "Section": ""}
        line.update({k: v for k, v in roster.get(r["student"], {}).items() if k in CANVAS_COLUMNS})
        if not (line["ID"] or line["SIS User ID"] or line["SIS Login ID"]):
            unmatched.append(r["student"])
            continue
        line[column] = _points(r["score"], max_score, out_of)
        line.update(term.of(r["student"]))
        out.append(line)
    return header, out, unmatched


def moodle_rows(rows, max_score, roster, out_of, now, term=None):
    term = term or TermColumns()
    out, unmatched = [], []
    for r in rows:
        number = r.get("roster_lms", {}).get("moodle") or lms_id(r.get("lms_user_id", ""), "moodle")
        line = {"Identifier": f"Participant {number}" if number else "", "Full name": r["name"] or r["student"]}
        line.update({k: v for k, v in roster.get(r["student"], {}).items() if k in ("Identifier", "Full name")})
        if not line["Identifier"]:
            unmatched.append(r["student"])
            continue
        line.update({"Grade": _points(r["score"], max_score, out_of),
                     "Maximum grade": _points(max_score, max_score, out_of), "Last modified (grade)": now})
        line.update(term.of(r["student"]))
        out.append(line)
    return MOODLE_COLUMNS + term.header, out, unmatched


def export(assignment: str, fmt: str, out: Path, db_url: str, *, roster: dict | None = None,
           column: str | None = None, out_of: float | None = None, term: Path | None = None) -> list[str]:
    """Write the CSV; return the students left out because the LMS could not match them. ``term``: the term's
    configuration (``term.toml``); if it exists, Canvas and Moodle get the term total (and letter) as columns."""
    if db_url.startswith("sqlite:///") and not Path(db_url.removeprefix("sqlite:///")).is_file():
        # nbgrader would create an empty gradebook there and report no assignment: say what is wrong instead.
        raise UsageError(f"no such gradebook: {db_url.removeprefix('sqlite:///')}")
    out.parent.mkdir(parents=True, exist_ok=True)
    with open_gradebook(db_url) as gb:
        rows, max_score = submission_scores(gb, assignment)
        roster_lms = identity.lms_ids(gb)  # the term roster's Canvas and Moodle ids come before a download's
        for r in rows:
            r["roster_lms"] = roster_lms.get(r["student"], {})
        cfg = load_config(term) if term is not None and fmt != "nbgrader" else None
        totals = TermColumns(term_totals(gb, cfg)[0], bool(cfg.letters)) if cfg else TermColumns()
        if fmt == "nbgrader":  # nbgrader export's rows, without excluded students; the per-question grades beside
            rows = export_rows(gb, [assignment])
            write_csv(out, rows)
            write_questions(gb, assignment, questions_path(out))
            write_report(out, len(rows), [], fmt)
            return []
    roster = roster or {}
    if fmt == "canvas":
        header, lines, unmatched = canvas_rows(rows, max_score, roster, column or assignment, out_of, totals)
    else:
        now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        header, lines, unmatched = moodle_rows(rows, max_score, roster, out_of, now, totals)
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(lines)
    write_report(out, len(lines), unmatched, fmt)
    return unmatched


def questions_path(out: Path) -> Path:
    return out.with_name(f"{out.stem}-questions.csv")


def report_path(out: Path) -> Path:
    return out.with_name(f"{out.name}.report.txt")


def left_out(unmatched: list[str], fmt: str) -> list[Reason]:
    return [R("no_lms_id", student=s, lms=fmt.capitalize()) for s in unmatched]


def write_report(out: Path, written: int, unmatched: list[str], fmt: str) -> None:
    lines = [str(R("export_written", n=written, path=out.name))] + [f"- {r}" for r in left_out(unmatched, fmt)]
    report_path(out).write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_questions(gb, assignment: str, path: Path) -> None:
    """One row per student of the gradebook (excluded students left out), one column per graded cell with its
    final points (a grader's score wins over the automatic one), then penalty, score and maximum."""
    from nbgrader.api import MissingEntry

    found = gb.find_assignment(assignment)
    cells = [(nb.name, cell.name) for nb in found.notebooks for cell in nb.grade_cells]
    several = len({n for n, _ in cells}) > 1
    names = [f"{n}/{c}" if several else c for n, c in cells]
    gone = excluded(gb, assignment)
    rows = []
    for student in sorted(gb.students, key=lambda s: s.id):
        if student.id in gone:
            continue
        row = {"student_id": student.id}
        try:
            sub = gb.find_submission(assignment, student.id)
        except MissingEntry:
            sub = None
        for (nb, cell), name in zip(cells, names):
            try:
                grade = gb.find_grade(cell, nb, assignment, student.id) if sub else None
            except MissingEntry:
                grade = None
            row[name] = f"{float(grade.score or 0.0):g}" if grade is not None else "0"
        penalty = float(sub.late_submission_penalty or 0.0) if sub else 0.0
        row.update(late_submission_penalty=f"{penalty:g}",
                   score=f"{max(0.0, float(sub.score) - penalty) if sub else 0.0:g}",
                   max_score=f"{float(found.max_score):g}")
        rows.append(row)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["student_id", *names, "late_submission_penalty", "score", "max_score"])
        writer.writeheader()
        writer.writerows(rows)
