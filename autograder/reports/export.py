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
  matches a row by ``ID``, its numeric user id: read from the student id of a Canvas export
  (``doejane_12345`` -> ``12345``), or given by ``--roster``.
* ``moodle``: the "Upload grading worksheet" of a Moodle assignment (feedback type "Offline grading worksheet"):
  ``Identifier, Full name, Grade, Maximum grade, Last modified (grade)``. Moodle matches ``Identifier``,
  ``Participant <n>``, where ``<n>`` is the number in the export's folder names (``Jane_Doe_501`` -> 501), or given
  by ``--roster``.
* ``nbgrader``: ``nbgrader export``'s columns.

``--roster FILE`` is a CSV with a ``student_id`` column (the grader's ids) and any of the format's columns
(``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section``, ``Student`` for Canvas; ``Identifier``, ``Full name`` for
Moodle): its values fill or replace what the student id gives. A student the LMS cannot match (no id from either) is
left out, named on stderr, and the exit status is 1.
"""
from __future__ import annotations

import csv
import re
from datetime import datetime, timezone
from pathlib import Path

from autograder.errors import UsageError
from autograder.gradebook.standing import export_rows, submission_scores
from autograder.gradebook.store import open_gradebook
from autograder.grading.submission import read_student_table
from autograder.reports.report import write_csv

CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_COLUMNS = ["Identifier", "Full name", "Grade", "Maximum grade", "Last modified (grade)"]
_LMS_ID = re.compile(r"^(?P<name>.+)_(?P<id>\d+)$")


#: The roster columns each format takes, as its CSV names them.
ROSTER_COLUMNS = {c.lower(): c for c in CANVAS_COLUMNS + MOODLE_COLUMNS}


def read_roster(path: Path | None) -> dict[str, dict[str, str]]:
    """``--roster FILE``: the LMS's columns of each student (``student_id``, the grader's ids)."""
    if path is None:
        return {}
    return {sid: {ROSTER_COLUMNS.get(c, c): v for c, v in row.items() if c != "student_id" and v}
            for _, sid, row in read_student_table(path, ("student_id",), "roster")}


def _points(score: float, max_score: float, out_of: float | None) -> str:
    value = score if out_of is None or max_score == 0 else score * out_of / max_score
    return f"{round(value, 2):g}"


def canvas_rows(rows, max_score, roster, column, out_of):
    header = CANVAS_COLUMNS + [column]
    out, unmatched = [], []
    for r in rows:
        m = _LMS_ID.match(r["student"])
        line = {"Student": r["name"] or (m["name"] if m else r["student"]), "ID": m["id"] if m else "",
                "SIS User ID": "", "SIS Login ID": "", "Section": ""}
        line.update({k: v for k, v in roster.get(r["student"], {}).items() if k in CANVAS_COLUMNS})
        if not (line["ID"] or line["SIS User ID"] or line["SIS Login ID"]):
            unmatched.append(r["student"])
            continue
        line[column] = _points(r["score"], max_score, out_of)
        out.append(line)
    return header, out, unmatched


def moodle_rows(rows, max_score, roster, out_of, now):
    out, unmatched = [], []
    for r in rows:
        m = _LMS_ID.match(r["student"])
        line = {"Identifier": f"Participant {m['id']}" if m else "",
                "Full name": r["name"] or (m["name"].replace("_", " ") if m else r["student"])}
        line.update({k: v for k, v in roster.get(r["student"], {}).items() if k in ("Identifier", "Full name")})
        if not line["Identifier"]:
            unmatched.append(r["student"])
            continue
        line.update({"Grade": _points(r["score"], max_score, out_of),
                     "Maximum grade": _points(max_score, max_score, out_of), "Last modified (grade)": now})
        out.append(line)
    return MOODLE_COLUMNS, out, unmatched


def export(assignment: str, fmt: str, out: Path, db_url: str, *, roster: dict | None = None,
           column: str | None = None, out_of: float | None = None) -> list[str]:
    """Write the CSV; return the students left out because the LMS could not match them."""
    if db_url.startswith("sqlite:///") and not Path(db_url.removeprefix("sqlite:///")).is_file():
        # nbgrader would create an empty gradebook there and report no assignment: say what is wrong instead.
        raise UsageError(f"no such gradebook: {db_url.removeprefix('sqlite:///')}")
    out.parent.mkdir(parents=True, exist_ok=True)
    with open_gradebook(db_url) as gb:
        rows, max_score = submission_scores(gb, assignment)
        if fmt == "nbgrader":  # nbgrader export's rows, without excluded students
            write_csv(out, export_rows(gb, [assignment]))
            return []
    roster = roster or {}
    if fmt == "canvas":
        header, lines, unmatched = canvas_rows(rows, max_score, roster, column or assignment, out_of)
    else:
        now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        header, lines, unmatched = moodle_rows(rows, max_score, roster, out_of, now)
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(lines)
    return unmatched
