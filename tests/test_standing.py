"""The record of each student's standing (``autograder.gradebook.standing.Standing``) is what every output reads: the defects of
issue 22, each before/after.

- an excluded student is left out of every output: the Canvas, Moodle and nbgrader exports, ``release-feedback``,
  and their old page and log are removed; the summary's *Not graded* says they were not graded;
- logs are rendered from the record: a grader's score, its removal, an extension and a due date reach them;
- a comment nbgrader's formgrader saves on an answer cell appears on the feedback page and in the log;
- ``review`` clears a flag with a note, and ``grade`` no longer exits 1 for it;
- the grading folder is private (mode 700, files 600);
- without MathJax the feedback pages say nothing, but the command warns.
"""
from __future__ import annotations

import csv
import json
import logging
import stat
from pathlib import Path

import pytest

from autograder.gradebook.store import db_url, open_gradebook
from autograder.reports.export import export
from autograder.reports.handback import stage_feedback
from autograder.reports import report
from autograder.reports.refresh import refresh
from autograder.grading.prepare import load_assignment
from tests.test_term import A, CLASS, cli, course, graded, regrade  # noqa: F401 - fixtures

pytestmark = pytest.mark.xdist_group("hostile")


def rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_an_exclusion_reaches_every_output(course, tmp_path):
    out = course / "grading" / A
    db = f"sqlite:///{course / 'grading' / 'gradebook.db'}"
    roster = {"correct": {"ID": "101", "Identifier": "Participant 101"},
              "wrong-cosine": {"ID": "102", "Identifier": "Participant 102"}}
    assert (out / "feedback" / "wrong-cosine").is_dir() and (out / "logs" / "wrong-cosine.log").is_file()
    assert cli(course, "exclude", A, "wrong-cosine", "--reason", "withdrew") == 0
    # Before: the exports still wrote frank with a score; his page and log stayed; release-feedback released it.
    for fmt, column in (("canvas", "ID"), ("moodle", "Identifier")):
        target = tmp_path / f"{fmt}.csv"
        assert export(A, fmt, target, db, roster=roster) == []
        assert [r[column] for r in rows(target)] == [roster["correct"][column]]
    export(A, "nbgrader", tmp_path / "nbgrader.csv", db)
    assert [r["student_id"] for r in rows(tmp_path / "nbgrader.csv")] == ["correct"]
    assert not (out / "feedback" / "wrong-cosine").exists() and not (out / "logs" / "wrong-cosine.log").exists()
    summary = (out / "summary.md").read_text()
    not_graded = summary.split("## Not graded")[1].split("##")[0]
    assert "wrong-cosine: excluded from 03-qkv (withdrew)" in not_graded
    assert "Every entry of the submissions folder was graded" not in not_graded
    exchange = tmp_path / "course"
    for student in CLASS:
        folder = exchange / "submitted" / student / A
        folder.mkdir(parents=True)
        (folder / "submission_secret.txt").write_text("secret")
    (out / "feedback" / "wrong-cosine" / A).mkdir(parents=True)  # a page left by an older version
    (out / "feedback" / "wrong-cosine" / A / "qkv.html").write_text("old page")
    staged, problems = stage_feedback(A, out, exchange)
    assert staged == ["correct"] and not problems
    assert not (exchange / "feedback" / "wrong-cosine").exists()


def test_logs_render_from_the_record(course):
    log = course / "grading" / A / "logs" / "wrong-cosine.log"
    assert "score: 10" in log.read_text()
    assert cli(course, "score", A, "wrong-cosine", "cosine-tests", "1.5", "--comment", "keys not normalised") == 0
    text = log.read_text()
    assert "set by a grader: cosine-tests 1.5 (keys not normalised)" in text and "score: 11.5" in text
    assert cli(course, "score", A, "wrong-cosine", "cosine-tests", "--clear") == 0
    assert "score: 10" in log.read_text() and "set by a grader: cosine-tests" not in log.read_text()
    regrade(course, timestamps="mtime")  # the submissions get a time (their files'), from the kept results
    assert cli(course, "duedate", A, "2020-01-01 00:00") == 0  # submitted long after: late (no penalty configured)
    assert "after the due date 2020-01-01 00:00:00 UTC" in log.read_text()
    assert cli(course, "extend", A, "wrong-cosine", "--weeks", "1000") == 0
    assert "after the due date" not in log.read_text()


def test_a_formgrader_comment_on_an_answer_cell_reaches_the_page(course):
    """nbgrader's formgrader saves a comment on the answer (solution) cell; our own commands on the test cell."""
    from nbgrader.api import Comment

    spec = load_assignment(A)
    answer = next(c.grade_id for c in spec.cells if c.role == "answer")
    with open_gradebook(db_url(course / "grading")) as gb:
        notebook = gb.find_submission_notebook(spec.notebook, A, "wrong-cosine")
        cell = gb.find_solution_cell(answer, spec.notebook, A)
        row = gb.db.query(Comment).filter(Comment.cell_id == cell.id, Comment.notebook_id == notebook.id).one()
        row.manual_comment = "nice use of einsum"  # what the formgrader's API does on save
        gb.db.commit()
        st = refresh(gb, spec, course / "grading" / A, feedback_for=["wrong-cosine"])["wrong-cosine"]
    assert st.answer_comments == {answer: "nice use of einsum"}
    page = (course / "grading" / A / "feedback" / "wrong-cosine" / A / "qkv.html").read_text()
    assert "nice use of einsum" in page
    assert "nice use of einsum" in (course / "grading" / A / "logs" / "wrong-cosine.log").read_text()


def test_review_clears_a_flag_with_a_note(tmp_path, capsys):
    """A submission that needs a human look stays flagged (exit 1 on every grade) until ``review`` says it was seen."""
    from autograder.commands.grade import main

    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "broken.ipynb").write_text("{ not a notebook")
    out = tmp_path / "grading" / A
    argv = [A, str(subs), "--out", str(out), "--quiet"]
    assert main(argv) == 1
    root = ["--out-root", str(tmp_path / "grading")]
    from autograder import commands

    with pytest.raises(SystemExit) as usage:  # a note is required (argparse's usage error)
        commands.run("review", [A, "broken"] + root)
    assert usage.value.code == 2
    assert commands.run("review", [A, "broken", "--note", "asked for the file again"] + root) == 0
    summary = (out / "summary.md").read_text()
    assert "broken" not in summary.split("## Needs a human look")[1].split("##")[0]
    assert "- broken: asked for the file again" in summary.split("## Reviewed")[1]
    assert "needs review: no (reviewed: asked for the file again)" in (out / "logs" / "broken.log").read_text()
    assert main(argv) == 0  # the same result, reviewed: nothing needs a look
    assert main(argv + ["--force"]) == 0
    with open_gradebook(db_url(tmp_path / "grading")) as gb:
        assert not any(g.needs_manual_grade for g in gb.find_submission(A, "broken").notebooks[0].grades)
    (subs / "broken.ipynb").write_text("{ still not a notebook")  # a new submission is flagged again
    assert main(argv) == 1
    assert commands.run("review", [A, "broken", "--undo"] + root) == 0
    capsys.readouterr()


def test_the_grading_folder_is_private(graded):
    root = graded / "grading"
    for path in [root, root / "gradebook.db", root / "grades.csv", root / A, root / A / "work" / "seed",
                 root / A / "feedback" / "correct" / A / "qkv.html", root / A / "logs" / "correct.log",
                 root / "autograded" / "correct" / A / "qkv.ipynb"]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))


def test_without_mathjax_the_command_warns(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(report, "MATHJAX_DIR", tmp_path / "nowhere")
    with caplog.at_level(logging.WARNING, logger="autograder"):
        assert report.shared_mathjax(tmp_path, None) == "none"
    assert "MathJax is not installed" in caplog.text and "npm ci" in caplog.text
    json.dumps(caplog.text)
