"""An instructor's term, end to end on tiny classes: one gradebook, manual scores, comments and late penalties in
every output, due dates and extensions the nbgrader way, partial runs, one student's time limit, exclusions, a
roster, hanging cells flagged, and every command's --help.

One class of two (``correct``: 12 points, ``wrong-cosine``: 10, its cosine test lost; tests/samples/a03_qkv.py) is
graded once; each test works on a copy of that grading folder, where re-runs reuse the cached results and cost
no notebook runs unless the test asks for them.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from autograder import commands
from autograder.gradebook import edits
from autograder.gradebook.standing import standing
from autograder.gradebook.store import db_url, open_gradebook
from autograder.term import grade
from autograder.grading.sandbox import Limits
from tests.conftest import REPO
from tests.samples import Sample, build, modules

pytestmark = pytest.mark.xdist_group("hostile")  # grading: not in parallel with the sandbox-survivor check

A = "03-qkv"
QKV = modules()[A]
LIMITS = Limits(function_timeout=15, cell_timeout=8, notebook_timeout=300)
CLASS = {"correct": 12.0, "wrong-cosine": 10.0}


def write_class(folder: Path, names=CLASS, layout: str = "flat") -> Path:
    for name in names:
        nb = json.dumps(build(A, QKV.SAMPLES[name]))
        if layout == "flat":
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{name}.ipynb").write_text(nb)
        else:  # nbgrader's course folder: submitted/<student>/<assignment>/
            (folder / "submitted" / name / A).mkdir(parents=True, exist_ok=True)
            (folder / "submitted" / name / A / "qkv.ipynb").write_text(nb)
    return folder


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("term")
    write_class(base / "subs")
    rows = grade(A, base / "subs", base / "grading" / A, limits=LIMITS, progress=False)
    assert {r["student_id"]: float(r["score"]) for r in rows} == CLASS
    return base


@pytest.fixture
def course(graded, tmp_path):
    """A copy of the graded class: ``subs/`` and ``grading/`` (the term's root, gradebook and reports)."""
    shutil.copytree(graded, tmp_path, dirs_exist_ok=True)
    return tmp_path


def cli(course: Path, *argv: str) -> int:
    command, rest = argv[0], list(argv[1:])
    return commands.run(command, rest + ["--out-root", str(course / "grading")])


def regrade(course: Path, **kwargs):
    return grade(A, kwargs.pop("subs", course / "subs"), course / "grading" / A, limits=LIMITS, progress=False,
                 **kwargs)


def csv_rows(path: Path) -> dict:
    with path.open(newline="") as fh:
        return {(r["assignment"], r["student_id"]): r for r in csv.DictReader(fh)}


def student_row(summary: str, student: str) -> list[str]:
    """The cells of ``student``'s row in summary.md's table of students."""
    (line,) = [ln for ln in summary.splitlines() if ln.startswith(f"| {student} |")]
    return [c.strip() for c in line.strip("|").split("|")]


def question_row(summary: str, question: str) -> list[str]:
    (line,) = [ln for ln in summary.splitlines() if ln.startswith(f"| {question} |")]
    return [c.strip() for c in line.strip("|").split("|")]


def feedback(course: Path, student: str) -> str:
    return (course / "grading" / A / "feedback" / student / A / "qkv.html").read_text()


def test_the_gradebook_is_the_terms(graded):
    """One gradebook for the term (grading/gradebook.db), none per assignment; a term-wide grades.csv beside it."""
    assert (graded / "grading" / "gradebook.db").is_file()
    assert not (graded / "grading" / A / "gradebook.db").exists()
    assert set(csv_rows(graded / "grading" / "grades.csv")) == {(A, s) for s in CLASS}


def test_a_manual_score_and_comment_reach_every_output_and_survive_regrading(course):
    assert cli(course, "score", A, "wrong-cosine", "cosine-tests", "1.5", "--comment", "right idea, keys not normalised") == 0
    out = course / "grading" / A

    def check_everywhere():
        for path in (out / "grades.csv", course / "grading" / "grades.csv"):
            row = csv_rows(path)[(A, "wrong-cosine")]
            assert float(row["raw_score"]) == 11.5 and float(row["score"]) == 11.5
        summary = (out / "summary.md").read_text()
        assert student_row(summary, "wrong-cosine")[:4] == ["wrong-cosine", "11.5", "", "cosine-tests 1.5"]
        assert question_row(summary, "cosine-tests")[2] == f"{(2 + 1.5) / 2:.2f}"
        assert "Mean 11.75" in summary  # (12 + 11.5) / 2
        page = feedback(course, "wrong-cosine")
        assert "Score: 11.5 / 12" in page and "right idea, keys not normalised" in page
        assert "Score set by a grader (automatic score: 0)" in page
        assert "Score set by a grader" not in feedback(course, "correct")

    check_everywhere()
    # Grading again, from the cache and then from scratch, keeps the grader's score and comment everywhere.
    regrade(course)
    check_everywhere()
    rows = regrade(course, force=True)
    assert rows.ran == 2 and {r["student_id"]: float(r["score"]) for r in rows} == {"correct": 12.0, "wrong-cosine": 11.5}
    check_everywhere()
    # --clear gives the automatic score back.
    assert cli(course, "score", A, "wrong-cosine", "cosine-tests", "--clear") == 0
    assert float(csv_rows(out / "grades.csv")[(A, "wrong-cosine")]["score"]) == 10.0
    assert "Score: 10 / 12" in feedback(course, "wrong-cosine")


def test_score_refuses_what_does_not_exist(course, capsys):
    assert cli(course, "score", A, "wrong-cosine", "cosine-test", "1") == 2
    assert "cosine-tests (2 points)" in capsys.readouterr().err  # the valid grade_ids are listed
    assert cli(course, "score", A, "nobody", "cosine-tests", "1") == 2
    assert "no graded submission" in capsys.readouterr().err
    assert cli(course, "score", A, "correct", "cosine-tests", "3") == 2
    assert "from 0 to 2" in capsys.readouterr().err
    assert float(csv_rows(course / "grading" / A / "grades.csv")[(A, "correct")]["score"]) == 12.0


PER_DAY = '''
import math
from nbgrader.plugins import LateSubmissionPlugin

class TenPercentPerDay(LateSubmissionPlugin):
    def late_submission_penalty(self, student_id, score, total_seconds_late):
        return round(score * 0.1 * math.ceil(total_seconds_late / 86400), 6)

c = get_config()
c.AssignLatePenalties.plugin_class = TenPercentPerDay
'''


def test_late_penalty_from_the_exchange_timestamp_nbgrader_due_date_and_plugin(course):
    """nbgrader's exchange layout with timestamp.txt, the due date set by `nbgrader db assignment add --duedate`,
    the course's nbgrader_config.py choosing a penalty plugin; then one student's extension."""
    exchange = write_class(course / "exchange-course", layout="nbgrader")
    (exchange / "submitted" / "correct" / A / "timestamp.txt").write_text("2026-11-20 11:59:00.000000 UTC\n")
    # 36 hours late: two started days, 20% of 10 points.
    (exchange / "submitted" / "wrong-cosine" / A / "timestamp.txt").write_text("2026-11-22 00:00:00.000000 UTC\n")
    (course / "grading" / "nbgrader_config.py").write_text(PER_DAY)
    db = f"sqlite:///{course / 'grading' / 'gradebook.db'}"
    subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "db", "assignment", "add", A,
                    "--duedate=2026-11-20 12:00:00 UTC", f"--db={db}"], cwd=course, check=True, capture_output=True)
    rows = regrade(course, subs=exchange)
    assert rows.ran == 0  # the same notebooks: nothing runs again, penalties are recomputed
    got = csv_rows(course / "grading" / A / "grades.csv")
    assert [got[(A, "wrong-cosine")][k] for k in ("raw_score", "late_submission_penalty", "score")] == ["10.0", "2.0", "8.0"]
    assert got[(A, "wrong-cosine")]["timestamp"] == "2026-11-22 00:00:00"
    assert float(got[(A, "correct")]["late_submission_penalty"]) == 0.0
    page = feedback(course, "wrong-cosine")
    assert "Submitted 1 day 12 h after the due date: late penalty &minus;2 points" in page and "Score: 8 / 12" in page
    assert student_row((course / "grading" / A / "summary.md").read_text(), "wrong-cosine")[1:3] == ["8", "-2"]
    # nbgrader keeps the penalty where its own tools read it.
    from nbgrader.api import Gradebook
    with Gradebook(db) as gb:
        assert gb.find_submission_notebook("qkv", A, "wrong-cosine").late_submission_penalty == 2.0
    # A day's extension for that student: 12 hours late, one started day, 10%.
    assert cli(course, "extend", A, "wrong-cosine", "--days", "1") == 0
    got = csv_rows(course / "grading" / A / "grades.csv")
    assert [got[(A, "wrong-cosine")][k] for k in ("late_submission_penalty", "score")] == ["1.0", "9.0"]
    assert "(with your extension)" in feedback(course, "wrong-cosine")
    with Gradebook(db) as gb:
        assert gb.find_submission(A, "wrong-cosine").extension.total_seconds() == 86400  # where nbgrader looks
    # The extension also holds when the class is graded again.
    regrade(course, subs=exchange, force=False)
    assert float(csv_rows(course / "grading" / A / "grades.csv")[(A, "wrong-cosine")]["score"]) == 9.0
    # grades.csv says what `nbgrader export` says of the same gradebook.
    from nbgrader.plugins.export import CsvExportPlugin
    with Gradebook(db) as gb:
        CsvExportPlugin(to=str(course / "nbgrader-export.csv")).export(gb)
    assert csv_rows(course / "nbgrader-export.csv") == csv_rows(course / "grading" / "grades.csv")


def test_late_penalty_from_a_timestamps_file_or_mtime_and_our_duedate_command(course, capsys):
    (course / "grading" / "nbgrader_config.py").write_text(
        'c = get_config()\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    assert cli(course, "duedate", A, "2026-11-20 13:00:00+01:00") == 0  # 12:00 UTC
    assert "due 2026-11-20 12:00:00 UTC" in capsys.readouterr().out
    untimed = (course / "grading" / A / "summary.md").read_text().split("## No submission time")[1].split("##")[0]
    assert "not checked for lateness" in untimed and "correct, wrong-cosine" in untimed
    stamps = course / "stamps.csv"
    stamps.write_text("student_id,timestamp\nwrong-cosine,2026-11-20T12:00:01Z\ncorrect,2026-11-20 12:00:00\n")
    regrade(course, timestamps=stamps)
    got = csv_rows(course / "grading" / A / "grades.csv")
    assert (float(got[(A, "wrong-cosine")]["score"]), float(got[(A, "correct")]["score"])) == (0.0, 12.0)
    assert "## No submission time" not in (course / "grading" / A / "summary.md").read_text()
    # 'mtime': the file's modification time, for a submission whose layout gives no time.
    later = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc).timestamp()
    os.utime(course / "subs" / "correct.ipynb", (later, later))
    regrade(course, timestamps="mtime")
    got = csv_rows(course / "grading" / A / "grades.csv")
    assert got[(A, "correct")]["timestamp"] == "2026-11-25 12:00:00" and float(got[(A, "correct")]["score"]) == 0.0
    # Moving the due date recomputes every penalty at once; removing it removes them.
    assert cli(course, "duedate", A, "--clear") == 0
    got = csv_rows(course / "grading" / A / "grades.csv")
    assert {s: float(got[(A, s)]["score"]) for s in CLASS} == CLASS
    with pytest.raises(SystemExit, match="not a date"):
        bad = course / "bad.csv"
        bad.write_text("student_id,timestamp\ncorrect,yesterday-ish\n")
        regrade(course, timestamps=bad)


def test_an_extension_given_before_the_due_date_applies_once_it_is_set(course):
    """``extend --days`` on an assignment with no due date yet is kept, and counts once ``duedate`` sets one."""
    (course / "grading" / "nbgrader_config.py").write_text(
        'c = get_config()\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    assert cli(course, "extend", A, "correct", "--days", "2") == 0
    stamps = course / "stamps.csv"
    stamps.write_text("student_id,timestamp\ncorrect,2026-11-21T12:00:00Z\nwrong-cosine,2026-11-21T12:00:00Z\n")
    regrade(course, timestamps=stamps)
    assert cli(course, "duedate", A, "2026-11-20 12:00:00+00:00") == 0
    got = csv_rows(course / "grading" / A / "grades.csv")
    assert float(got[(A, "correct")]["score"]) == CLASS["correct"]  # a day late, within its two-day extension
    assert float(got[(A, "wrong-cosine")]["score"]) == 0.0  # a day late, no extension: penalty "zero"


def test_partial_runs_keep_the_class_view(course):
    """Regrading one student (--student), or a folder holding only one resubmission, never shrinks the summary."""
    rows = regrade(course, students=["wrong-cosine"], force=True)
    assert rows.ran == 1 and [r["student_id"] for r in rows] == ["wrong-cosine"]
    summary = (course / "grading" / A / "summary.md").read_text()
    assert "2 submission(s)" in summary and "Mean 11.00" in summary
    assert student_row(summary, "correct")[1] == "12"
    resubmitted = write_class(course / "late-folder", names=["wrong-cosine"])
    regrade(course, subs=resubmitted)
    summary = (course / "grading" / A / "summary.md").read_text()
    assert "2 submission(s)" in summary and "| correct | 12 |" in summary
    assert set(csv_rows(course / "grading" / A / "grades.csv")) == {(A, s) for s in CLASS}
    with pytest.raises(SystemExit, match="no submission of nobody"):
        regrade(course, students=["nobody"])


def test_a_longer_time_limit_for_one_student_regrades_only_that_student(course):
    cache = course / "grading" / A / "work" / "results"
    keys = {s: json.loads((cache / f"{s}.json").read_text())["key"] for s in CLASS}
    assert cli(course, "extend", A, "correct", "--time-factor", "2") == 0
    rows = regrade(course)
    assert (rows.ran, rows.cached) == (1, 1)
    after = {s: json.loads((cache / f"{s}.json").read_text())["key"] for s in CLASS}
    assert after["wrong-cosine"] == keys["wrong-cosine"] and after["correct"] != keys["correct"]
    assert {r["student_id"]: float(r["score"]) for r in rows} == CLASS


def test_roster_and_exclusion(course):
    roster = course / "roster.csv"
    roster.write_text("id,first_name,last_name,email\ncorrect,Ada,Lovelace,ada@example.org\n"
                      "wrong-cosine,Alan,Turing,alan@example.org\ndave,Dave,Null,dave@example.org\n")
    assert cli(course, "roster", str(roster)) == 0
    assert cli(course, "exclude", A, "wrong-cosine", "--reason", "withdrew") == 0
    got = csv_rows(course / "grading" / A / "grades.csv")
    assert set(got) == {(A, "correct"), (A, "dave")}  # dave is on the roster and submitted nothing: 0
    assert (got[(A, "correct")]["first_name"], got[(A, "correct")]["email"]) == ("Ada", "ada@example.org")
    assert float(got[(A, "dave")]["score"]) == 0.0
    summary = (course / "grading" / A / "summary.md").read_text()
    assert "1 submission(s)" in summary and "- wrong-cosine: withdrew" in summary
    rows = regrade(course, force=True)
    assert [r["student_id"] for r in rows] == ["correct"] and rows.ran == 1
    with pytest.raises(SystemExit, match="excluded from 03-qkv"):
        regrade(course, students=["wrong-cosine"])
    assert cli(course, "exclude", A, "wrong-cosine", "--undo") == 0
    assert (A, "wrong-cosine") in csv_rows(course / "grading" / A / "grades.csv")
    bad = course / "bad.csv"
    bad.write_text("name,email\nx,y\n")
    assert cli(course, "roster", str(bad)) == 2


def test_a_hanging_test_cell_is_flagged_with_its_grade_id(tmp_path, capsys):
    """softmax loops on the visible test's input only: the cell's time limit stops it, and a human is asked to look."""
    hang = Sample(score=12 - 2, override={"softmax-answer": '''
def softmax(x, axis=-1):
    x = np.asarray(x, dtype=float)
    if x.shape == (2,) and np.all(x == 1000.0):
        while True:
            pass
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)
'''})
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "hangs.ipynb").write_text(json.dumps(build(A, hang)))
    from autograder.commands.grade import main

    status = main([A, str(tmp_path / "subs"), "--out", str(tmp_path / "grading" / A), "--quiet",
                   "--cell-timeout", "2", "--function-timeout", "10"])
    assert status == 1
    summary = (tmp_path / "grading" / A / "summary.md").read_text()
    look = summary.split("## Needs a human look")[1].split("##")[0]
    assert "hangs:" in look and "(test softmax-tests) ran longer than its time limit (2 s)" in look
    assert float(csv_rows(tmp_path / "grading" / A / "grades.csv")[(A, "hangs")]["score"]) == 10.0


@pytest.mark.parametrize("command", sorted(commands.COMMANDS))
def test_every_command_has_help(command):
    done = subprocess.run([sys.executable, "-m", "autograder", command, "--help"], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: python -m autograder {command}")


def test_make_targets_pass_options():
    def dry(*args):
        return subprocess.run(["make", "-n", "STAMP=", *args], capture_output=True, text=True, cwd=REPO).stdout

    assert "-m autograder grade '03-qkv' 'subs' --student alice --student bob" in dry(
        "grade", "ASSIGNMENT=03-qkv", "SUBMISSIONS=subs", "ARGS=--student alice --student bob")
    assert "-m autograder score '03-qkv' 'alice' 'cosine-tests' 1.5" in dry(
        "score", "ASSIGNMENT=03-qkv", "STUDENT=alice", "QUESTION=cosine-tests", "POINTS=1.5", "COMMENT=see notes")
    assert "--comment 'see notes'" in dry("score", "ASSIGNMENT=03-qkv", "STUDENT=alice", "QUESTION=cosine-tests",
                                          "COMMENT=see notes")
    assert "-m autograder extend '03-qkv' 'alice' --days 2" in dry("extend", "ASSIGNMENT=03-qkv", "STUDENT=alice",
                                                                    "ARGS=--days 2")
    missing = subprocess.run(["make", "-n", "STAMP=", "score", "ASSIGNMENT=03-qkv"], capture_output=True, text=True,
                             cwd=REPO)
    assert missing.returncode != 0 and "give STUDENT=" in missing.stderr


def test_standing_reads_the_gradebook(course):
    """The one reader every output uses: auto, manual, comment, penalty, total."""
    from autograder.grading.prepare import load_assignment

    spec = load_assignment(A)
    with open_gradebook(db_url(course / "grading")) as gb:
        edits.set_score(gb, spec, "correct", "attention-tests", 2.0, "shape comment missing")
        st = standing(gb, spec, "correct")
    assert st.auto["attention-tests"] == 3.0 and st.manual == {"attention-tests": 2.0}
    assert st.comments == {"attention-tests": "shape comment missing"} and (st.raw, st.penalty, st.total) == (11.0, 0.0, 11.0)


def test_configuration_and_report_code_do_not_regrade_the_class(tmp_path, monkeypatch):
    """The cache key's code digest covers exactly the grading room (autograder/grading/): changing the late-penalty
    configuration, the feedback page, the gradebook's code or the term commands runs no notebook again."""
    from autograder.grading.staging import GRADING, code_digest

    assert GRADING == REPO / "autograder" / "grading"
    package = tmp_path / "autograder"
    shutil.copytree(REPO / "autograder", package, ignore=shutil.ignore_patterns("__pycache__"))
    before = code_digest(package / "grading")
    with (package / "nbgrader_config.py").open("a") as fh:
        fh.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    for outside in ("reports/feedback.py", "gradebook/store.py", "term.py", "commands/instructor.py"):
        with (package / outside).open("a") as fh:
            fh.write("\n# another look\n")
    assert code_digest(package / "grading") == before
    with (package / "grading" / "specs" / "qkv.py").open("a") as fh:
        fh.write("\n# a new hidden case would go here\n")
    assert code_digest(package / "grading") != before
