"""Issue 23, intake: every source a class's work comes in is graded one student per person and file, as the
instructor meant, and what was not graded is said exactly.

Each test reproduces a defect the issue reports (the first assertion fails on the code before the fix).
"""
from __future__ import annotations

import json
import shlex
import subprocess
import zipfile
from datetime import datetime
from pathlib import Path

from autograder.grading.collect import collect
from autograder.reports.feedback import _EN, _ZH, _late
from tests import REPO


def nb(tag: str) -> bytes:
    return json.dumps({"cells": [{"cell_type": "markdown", "metadata": {}, "source": tag}], "metadata": {},
                       "nbformat": 4, "nbformat_minor": 5}).encode()


def by_student(subs):
    return {s.student: s for s in subs}


def test_a_plain_class_zip_is_one_student_per_file(tmp_path):
    """Defect: a zip of kim.ipynb, lee.ipynb and max.ipynb became one student `bulk_export` with kim's work."""
    folder = tmp_path / "subs"
    folder.mkdir()
    with zipfile.ZipFile(folder / "bulk_export.zip", "w") as zf:
        for name in ("kim", "lee", "max"):
            zf.writestr(f"{name}.ipynb", nb(name))
    subs, skipped = collect(folder, "05-variants", "variants")
    by = by_student(subs)
    assert set(by) == {"kim", "lee", "max"} and not skipped
    assert {s: by[s].data for s in by} == {s: nb(s) for s in ("kim", "lee", "max")}
    # Like the flat folder: the zip's file times are not submission times.
    assert all(s.timestamp is None and not s.review for s in subs)


def test_a_students_own_zip_stays_one_submission(tmp_path):
    with zipfile.ZipFile(tmp_path / "alice.zip", "w") as zf:
        zf.writestr("variants.ipynb", nb("alice"))
        zf.writestr("scratch.ipynb", nb("scratch"))
    subs, _ = collect(tmp_path, "05-variants", "variants")
    assert [s.student for s in subs] == ["alice"] and subs[0].data == nb("alice")


def test_the_newest_lms_resubmission_is_graded_with_its_own_time(tmp_path):
    """Defect: `_variants.ipynb` (blank, 09:00) was graded, with `_variants-1.ipynb`'s time (20:00)."""
    export = tmp_path / "submissions.zip"
    with zipfile.ZipFile(export, "w") as zf:
        zf.writestr(zipfile.ZipInfo("doejane_101_9001_variants.ipynb", (2026, 11, 20, 9, 0, 0)), nb("blank"))
        zf.writestr(zipfile.ZipInfo("doejane_101_9001_variants-1.ipynb", (2026, 11, 20, 20, 0, 0)), nb("work"))
        # Bob's numbering says -2 is newer than -1 even when the archive's times are equal.
        for n in ("", "-1", "-2"):
            zf.writestr(zipfile.ZipInfo(f"roebob_102_9002_variants{n}.ipynb", (2026, 11, 21, 8, 0, 0)), nb("bob" + n))
    subs, skipped = collect(export, "05-variants", "variants")
    by = by_student(subs)
    assert by["doejane_101"].data == nb("work")
    assert by["doejane_101"].timestamp == datetime(2026, 11, 20, 20, 0, 0)
    assert by["roebob_102"].data == nb("bob-2")
    # A re-submission is noted, not flagged as "several notebooks submitted".
    assert not by["doejane_101"].review and any(n.code == "resubmitted" for n in by["doejane_101"].notes)
    assert not skipped


def test_an_older_upload_that_is_newer_in_time_wins(tmp_path):
    export = tmp_path / "submissions.zip"
    with zipfile.ZipFile(export, "w") as zf:
        zf.writestr(zipfile.ZipInfo("doejane_101_9001_variants.ipynb", (2026, 11, 22, 9, 0, 0)), nb("late"))
        zf.writestr(zipfile.ZipInfo("doejane_101_9001_variants-1.ipynb", (2026, 11, 20, 20, 0, 0)), nb("early"))
    subs, _ = collect(export, "05-variants", "variants")
    assert subs[0].data == nb("late") and subs[0].timestamp == datetime(2026, 11, 22, 9, 0, 0)


def test_another_assignments_folders_are_listed_not_graded(tmp_path):
    """Defect: grading one assignment added students whose folders hold only another one as 0-point students
    ("no notebook was found in the submission"), or skipped them silently."""
    sub = tmp_path / "course" / "submitted"
    (sub / "alice" / "05-variants").mkdir(parents=True)
    (sub / "alice" / "05-variants" / "variants.ipynb").write_bytes(nb("alice-05"))
    (sub / "alice" / "01-glimpse").mkdir()
    (sub / "alice" / "01-glimpse" / "glimpse.ipynb").write_bytes(nb("alice-01"))
    (sub / "bob" / "01-glimpse").mkdir(parents=True)
    (sub / "bob" / "01-glimpse" / "glimpse.ipynb").write_bytes(nb("bob-01"))
    (sub / "carol" / "05-variants").mkdir(parents=True)  # this assignment's folder, empty: missing, as before
    subs, skipped = collect(tmp_path / "course", "05-variants", "variants")
    by = by_student(subs)
    assert set(by) == {"alice", "carol"}
    assert by["alice"].data == nb("alice-05") and not by["alice"].review
    assert by["carol"].problem is not None and by["carol"].problem.code == "no_notebook"
    reasons = {k.name: k.reason for k in skipped}
    assert set(reasons) == {"alice/01-glimpse", "bob"}
    assert all("another assignment's work" in r for r in reasons.values())
    assert "01-glimpse" in reasons["bob"]


def test_late_times_under_a_minute_are_stated_to_the_second():
    """Defect: 40 s late read "Submitted 0 min after the due date"."""
    assert _late(40) == "40 s" and _late(40, _ZH) == "40 秒"
    assert _late(0.4) == "0 s"
    assert _late(90) == "1 min" and _late(3 * 86400 + 7200, _EN) == "3 days 2 h"


def make_argv(target: str, **variables: str) -> list[str]:
    """The arguments `make TARGET VAR=...` hands the command (make -n only: the recipe is printed, its
    interpreter replaced by one that prints its argv, then run by the shell as make would run it)."""
    printer = "python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))'"
    cmd = ["make", "-n", "-s", "-o", ".venv/.installed", "-o", "node_modules/mathjax/es5/tex-chtml.js", target,
           f"PY={printer}"] + [f"{k}={v}" for k, v in variables.items()]
    recipe = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=True).stdout
    out = subprocess.run(["sh", "-c", recipe], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_make_keeps_every_character_of_a_comment_and_options():
    """Defect: `make score ... COMMENT='use "axis=-1", costs $5'` stored `use axis=-1, costs `."""
    comment = 'use "axis=-1", costs $5; it\'s `date` $(HOME) \\n 100%'
    argv = make_argv("score", ASSIGNMENT="05-variants", STUDENT="o'brien $x", QUESTION="q-1", POINTS="1.5",
                     COMMENT=comment)
    assert argv == ["-m", "autograder", "score", "05-variants", "o'brien $x", "q-1", "1.5", "--comment", comment]
    assert make_argv("duedate", ASSIGNMENT="05-variants", WHEN="2026-12-01 23:59 $TZ")[-1] == "2026-12-01 23:59 $TZ"
    assert make_argv("grade", ASSIGNMENT="05-variants", SUBMISSIONS="my subs/$1",
                     ARGS="--student alice")[3:] == ["05-variants", "my subs/$1", "--student", "alice"]
    assert shlex.split("x")  # ARGS stays shell words, as the Makefile documents


def test_the_lms_id_comes_from_the_download_only(tmp_path):
    """A Canvas or Moodle download names the LMS's own id; a flat jdoe_2.ipynb names none (issue 23, exports)."""
    (tmp_path / "doejane_101_9001_variants.ipynb").write_bytes(nb("jane"))
    (tmp_path / "Bob Roe_503_assignsubmission_file_").mkdir()
    (tmp_path / "Bob Roe_503_assignsubmission_file_" / "variants.ipynb").write_bytes(nb("bob"))
    (tmp_path / "jdoe_2.ipynb").write_bytes(nb("jdoe"))
    by = by_student(collect(tmp_path, "05-variants", "variants")[0])
    assert {s: by[s].lms for s in by} == {"doejane_101": ("canvas", "101"), "Bob_Roe_503": ("moodle", "503"),
                                           "jdoe_2": None}
