"""`python -m autograder export`: the gradebook's scores as the CSV that Canvas's and Moodle's gradebooks import.

The gradebook is built here with nbgrader's API; every expected value is worked out by hand from the cells' scores.
"""
from __future__ import annotations

import csv
import subprocess
import sys
from datetime import datetime

import pytest

from autograder.commands.export import main
from tests.conftest import REPO


@pytest.fixture()
def gradebook(tmp_path):
    """03-qkv with two test cells (4 + 8 points) and five students of three origins."""
    from nbgrader.api import Gradebook

    from autograder.gradebook.store import _fast_alembic_version

    _fast_alembic_version()  # nbgrader would ask `alembic` on PATH for the schema version of a new gradebook
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url) as gb:
        gb.add_assignment("03-qkv")
        gb.add_notebook("qkv", "03-qkv")
        gb.add_grade_cell("softmax", "qkv", "03-qkv", max_score=4, cell_type="code")
        gb.add_grade_cell("attention", "qkv", "03-qkv", max_score=8, cell_type="code")
        # The LMS's own ids, as `grade` records them from a download's file names (issue 23: never from the shape
        # of a student id). jdoe_2 came from a flat folder: no LMS id at all.
        lms = {"doejane_101": "canvas:101", "roebob_102": "canvas:102", "Jane_Doe_501": "moodle:501"}
        scores = {  # student: (softmax, attention, manual attention or None, late penalty)
            "doejane_101": (4, 8, None, 0),       # Canvas export id
            "roebob_102": (4, 0, 6, 1),           # Canvas; a grader gave 6 by hand; 1 point late penalty
            "Jane_Doe_501": (0, 8, None, 0),      # Moodle export id
            "attnstudent": (4, 8, None, 0),       # an nbgrader exchange user name: no LMS id in it
            "jdoe_2": (4, 4, None, 0),            # a flat jdoe_2.ipynb: "2" is not an LMS id
        }
        gb.add_student("absent_999")  # in the gradebook, no submission of 03-qkv
        for student, (a, b, manual, late) in scores.items():
            gb.add_student(student, first_name="", last_name="", lms_user_id=lms.get(student))
            with gb.db.no_autoflush:  # as the record stage does (no SQLAlchemy "not in session" warnings)
                gb.add_submission("03-qkv", student, timestamp=datetime(2026, 11, 20, 9, 0, 0))
            gb.find_grade("softmax", "qkv", "03-qkv", student).auto_score = a
            grade = gb.find_grade("attention", "qkv", "03-qkv", student)
            grade.auto_score = b
            grade.manual_score = manual
            gb.find_submission_notebook("qkv", "03-qkv", student).late_submission_penalty = late
        gb.db.commit()
    return url


def read(path):
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return reader.fieldnames, list(reader)


def test_canvas_export(gradebook, tmp_path, capsys):
    out = tmp_path / "canvas.csv"
    status = main(["03-qkv", "--format", "canvas", "--db", gradebook, "--out", str(out),
                   "--canvas-column", "Queries, keys and values (4567)"])
    header, rows = read(out)
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Queries, keys and values (4567)"]
    got = {r["ID"]: (r["Student"], r["Queries, keys and values (4567)"]) for r in rows}
    # Jane 4 + 8; Bob 4 + 6 (manual wins over auto 0) - 1 late. Only ids a Canvas download gave.
    assert got == {"101": ("doejane_101", "12"), "102": ("roebob_102", "9")}
    # The exchange user, the flat jdoe_2 and the Moodle participant have no Canvas id: left out, named on stderr
    # and in the export's report, exit 1 (issue 23: jdoe_2 was exported as ID 2, Jane_Doe_501 as 501).
    err = capsys.readouterr().err
    report = (tmp_path / "canvas.csv.report.txt").read_text()
    for student in ("attnstudent", "jdoe_2", "Jane_Doe_501"):
        assert student in err and student in report
    assert status == 1 and "2 student(s) written" in report


def test_roster_supplies_ids_and_sections(gradebook, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,ID,SIS Login ID,Section\nattnstudent,777,astudent,Lab B\nroebob_102,,,Lab A\n")
    out = tmp_path / "canvas.csv"
    roster.write_text(roster.read_text() + "Jane_Doe_501,5501,,\njdoe_2,9002,,\n")
    assert main(["03-qkv", "--format", "canvas", "--db", gradebook, "--out", str(out), "--roster", str(roster),
                 "--out-of", "100"]) == 0
    header, rows = read(out)
    assert header[-1] == "03-qkv"
    got = {r["ID"]: (r["SIS Login ID"], r["Section"], r["03-qkv"]) for r in rows}
    # Rescaled to 100 points: 12/12, 9/12, 8/12, 12/12, 8/12.
    assert got == {"101": ("", "", "100"), "102": ("", "Lab A", "75"), "5501": ("", "", "66.67"),
                   "777": ("astudent", "Lab B", "100"), "9002": ("", "", "66.67")}


def test_moodle_grading_worksheet(gradebook, tmp_path, capsys):
    out = tmp_path / "moodle.csv"
    status = main(["03-qkv", "--format", "moodle", "--db", gradebook, "--out", str(out)])
    header, rows = read(out)
    assert header == ["Identifier", "Full name", "Grade", "Maximum grade", "Last modified (grade)"]
    got = {r["Identifier"]: (r["Full name"], r["Grade"], r["Maximum grade"]) for r in rows}
    # Only the participant a Moodle download named: Canvas's user ids 101 and 102 are not Moodle participants
    # (issue 23: they were exported as "Participant 101"/"102", so a grade could reach the wrong person).
    assert got == {"Participant 501": ("Jane_Doe_501", "8", "12")}
    assert all(r["Last modified (grade)"].endswith(" UTC") for r in rows)
    err = capsys.readouterr().err
    assert status == 1 and all(s in err for s in ("attnstudent", "jdoe_2", "doejane_101", "roebob_102"))


def test_a_roster_lms_user_id_is_the_canvas_id(gradebook, tmp_path):
    """The roster's lms_user_id (stored by `roster`, issue 23: never used) is what the Canvas export matches."""
    from nbgrader.api import Gradebook

    with Gradebook(gradebook) as gb:
        gb.update_or_create_student("attnstudent", lms_user_id="4242")
    out = tmp_path / "canvas.csv"
    main(["03-qkv", "--format", "canvas", "--db", gradebook, "--out", str(out)])
    assert "4242" in {r["ID"] for r in read(out)[1]}
    main(["03-qkv", "--format", "moodle", "--db", gradebook, "--out", str(tmp_path / "m.csv")])
    assert {r["Identifier"] for r in read(tmp_path / "m.csv")[1]} == {"Participant 501"}


def test_per_question_csv_beside_nbgraders_totals(gradebook, tmp_path):
    out = tmp_path / "nb.csv"
    assert main(["03-qkv", "--format", "nbgrader", "--db", gradebook, "--out", str(out)]) == 0
    header, rows = read(tmp_path / "nb-questions.csv")
    assert header == ["student_id", "softmax", "attention", "late_submission_penalty", "score", "max_score"]
    got = {r["student_id"]: (r["softmax"], r["attention"], r["late_submission_penalty"], r["score"]) for r in rows}
    assert got["roebob_102"] == ("4", "6", "1", "9")  # the grader's 6 wins over the automatic 0
    assert got["absent_999"] == ("0", "0", "0", "0") and got["jdoe_2"] == ("4", "4", "0", "8")
    assert len(rows) == 6


def test_nbgrader_format_is_nbgraders_own(gradebook, tmp_path):
    out = tmp_path / "nb.csv"
    assert main(["03-qkv", "--format", "nbgrader", "--db", gradebook, "--out", str(out)]) == 0
    header, rows = read(out)
    assert header[:4] == ["assignment", "duedate", "timestamp", "student_id"]
    got = {r["student_id"]: (float(r["raw_score"]), float(r["late_submission_penalty"]), float(r["score"]))
           for r in rows}
    assert got == {"doejane_101": (12, 0, 12), "roebob_102": (10, 1, 9), "Jane_Doe_501": (8, 0, 8),
                   "attnstudent": (12, 0, 12), "absent_999": (0, 0, 0), "jdoe_2": (8, 0, 8)}


def test_unknown_assignment_or_gradebook_is_a_clear_error(gradebook, tmp_path):
    with pytest.raises(SystemExit, match="no assignment '09-gpt-bert'"):
        main(["09-gpt-bert", "--format", "canvas", "--db", gradebook, "--out", str(tmp_path / "x.csv")])
    missing = tmp_path / "nowhere" / "gradebook.db"
    with pytest.raises(SystemExit, match="no such gradebook"):
        main(["03-qkv", "--format", "moodle", "--db", f"sqlite:///{missing}", "--out", str(tmp_path / "y.csv")])
    assert not missing.exists() and not (tmp_path / "y.csv").exists()  # nothing made up, nothing written


@pytest.mark.parametrize("command", [["export", "--help"], ["release", "--help"], ["nbgrader", "--help"],
                                     ["release-feedback", "--help"], ["grade", "--help"], ["term", "--help"],
                                     ["--help"]])
def test_every_command_has_help(command):
    result = subprocess.run([sys.executable, "-m", "autograder", *command], capture_output=True, text=True,
                            cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "usage: python -m autograder" in result.stdout
    assert "Traceback" not in result.stderr


def test_release_rejects_an_unknown_assignment_before_running_nbgrader():
    result = subprocess.run([sys.executable, "-m", "autograder", "release", "99-nope"], capture_output=True,
                            text=True, cwd=REPO, timeout=120)
    assert result.returncode == 2 and "no such assignment: 99-nope" in result.stderr


def test_make_release_passes_one_assignment():
    dry = subprocess.run(["make", "--no-print-directory", "-n", "release", "ASSIGNMENT=03-qkv"], capture_output=True, text=True, cwd=REPO)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.strip().splitlines()[-1].endswith("-m autograder release 03-qkv")
    every = subprocess.run(["make", "--no-print-directory", "-n", "release"], capture_output=True, text=True, cwd=REPO)
    assert every.stdout.strip().splitlines()[-1].rstrip().endswith("-m autograder release")
