"""Bulk exports of Canvas and Moodle (one zip holding every student's files) become one submission per student,
with the student ids, submission times and LATE marks the archive carries; hostile archives are read safely.

The zips are built here, entry by entry, the way each system names them (autograder/grading/lms.py).
"""
from __future__ import annotations

import io
import json
import struct
import zipfile
from datetime import datetime, timezone

import pytest
from nbgrader.utils import parse_utc

from autograder.grading import submission as submission_mod
from autograder.grading import lms
from autograder.grading.collect import collect


def nb(tag: str) -> bytes:
    """A distinct tiny notebook, so that the test can tell whose bytes were read."""
    return json.dumps({"cells": [{"cell_type": "markdown", "metadata": {}, "source": tag}], "metadata": {},
                       "nbformat": 4, "nbformat_minor": 5}).encode()


def entry(zf: zipfile.ZipFile, name: str, data: bytes, when: tuple, *, utc: datetime | None = None,
          mode: int = 0o644, utf8: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=when)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = mode << 16
    if utc is not None:  # Info-ZIP's extended timestamp: flags (mtime present), mtime as Unix seconds
        info.extra = struct.pack("<HHBi", 0x5455, 5, 1, int(utc.replace(tzinfo=timezone.utc).timestamp()))
    if utf8:
        info.flag_bits |= 0x800
    zf.writestr(info, data)


def student_zip(tag: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("work/qkv.ipynb", nb(tag))
    return buf.getvalue()


def found(subs):
    return {s.student: s for s in subs}


def canvas_export(path):
    with zipfile.ZipFile(path, "w") as zf:
        entry(zf, "doejane_101_9001_qkv.ipynb", nb("jane"), (2026, 11, 20, 9, 30, 0))
        # Bob re-submitted (Canvas appends -1) and uploaded a second notebook: one submission, flagged.
        entry(zf, "roebob_LATE_102_9002_qkv-1.ipynb", nb("bob-2"), (2026, 11, 22, 23, 59, 58))
        entry(zf, "roebob_LATE_102_9002_scratch.ipynb", nb("bob-scratch"), (2026, 11, 22, 23, 50, 0))
        # Ann's own zip, as she uploaded it.
        entry(zf, "leeann_103_9003_qkv.zip", student_zip("ann"), (2026, 11, 21, 12, 0, 0))
        entry(zf, "leeann_103_9003_notes.pdf", b"%PDF-1.4", (2026, 11, 21, 12, 0, 0))


def test_canvas_bulk_export_in_a_folder_is_one_submission_per_student(tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    canvas_export(folder / "submissions.zip")
    (folder / "walkin.ipynb").write_bytes(nb("walkin"))  # a layout mixed in beside the export
    subs, skipped = collect(folder, "03-qkv", "qkv")
    by = found(subs)
    assert set(by) == {"doejane_101", "roebob_102", "leeann_103", "walkin"}
    assert by["doejane_101"].data == nb("jane")
    assert by["leeann_103"].data == nb("ann")  # read from inside her zip inside the export
    assert by["roebob_102"].data == nb("bob-2") and by["roebob_102"].review  # several notebooks
    assert any("LATE" in str(n) for n in by["roebob_102"].notes)
    assert not any("LATE" in str(n) for s in ("doejane_101", "leeann_103") for n in by[s].notes)
    # Times of the archive's entries (ZIP's basic time, read as UTC); Bob's is his latest file's.
    assert by["doejane_101"].timestamp == datetime(2026, 11, 20, 9, 30, 0)
    assert by["roebob_102"].timestamp == datetime(2026, 11, 22, 23, 59, 58)
    assert by["leeann_103"].timestamp == datetime(2026, 11, 21, 12, 0, 0)
    assert by["walkin"].timestamp is None
    assert by["doejane_101"].origin == "submissions.zip: doejane_101_9001_qkv.ipynb"
    reasons = {k.name: k.reason for k in skipped}
    assert "not a notebook" in reasons["submissions.zip/leeann_103_9003_notes.pdf"]


def test_moodle_bulk_export_given_as_the_zip_itself(tmp_path):
    export = tmp_path / "ATT-Assignment 3-1234.zip"
    with zipfile.ZipFile(export, "w") as zf:
        # Extended timestamps (UTC) win over ZIP's basic local time.
        entry(zf, "Jane Doe_501_assignsubmission_file_/qkv.ipynb", nb("jane"), (2026, 11, 20, 10, 30, 0),
              utc=datetime(2026, 11, 20, 9, 30, 5))
        entry(zf, "李雷_502_assignsubmission_file_/qkv.ipynb", nb("lilei"), (2026, 11, 21, 8, 0, 0), utf8=True)
        entry(zf, "李雷_502_assignsubmission_onlinetext_/onlinetext.html", b"<p>hi</p>", (2026, 11, 21, 8, 0, 0),
              utf8=True)
        # Flat file layout ("download submissions in folders" off).
        entry(zf, "Bob Roe_503_assignsubmission_file_qkv.ipynb", nb("bob"), (2026, 11, 23, 1, 2, 4))
    subs, skipped = collect(export, "03-qkv", "qkv")
    by = found(subs)
    assert set(by) == {"Jane_Doe_501", "李雷_502", "Bob_Roe_503"}
    assert {k: v.data for k, v in by.items()} == {"Jane_Doe_501": nb("jane"), "李雷_502": nb("lilei"),
                                                  "Bob_Roe_503": nb("bob")}
    assert by["Jane_Doe_501"].timestamp == datetime(2026, 11, 20, 9, 30, 5)
    assert by["李雷_502"].timestamp == datetime(2026, 11, 21, 8, 0, 0)
    assert by["Bob_Roe_503"].timestamp == datetime(2026, 11, 23, 1, 2, 4)
    assert not any(s.review for s in subs)
    reasons = {k.name: k.reason for k in skipped}
    assert "onlinetext" in reasons[f"{export.name}/李雷_502_assignsubmission_onlinetext_"]


def test_a_zipped_nbgrader_course_folder_keeps_each_students_own_time(tmp_path):
    export = tmp_path / "course.zip"
    with zipfile.ZipFile(export, "w") as zf:
        entry(zf, "submitted/alice/03-qkv/qkv.ipynb", nb("alice"), (2026, 11, 20, 9, 0, 0))
        entry(zf, "submitted/alice/03-qkv/timestamp.txt", b"2026-11-19 08:00:00.000000 UTC", (2026, 11, 20, 9, 0, 0))
        entry(zf, "submitted/bob/03-qkv/qkv.ipynb", nb("bob"), (2026, 11, 21, 10, 0, 0))
        entry(zf, "submitted/carol/03-qkv/qkv.ipynb", nb("carol"), (2026, 11, 22, 11, 0, 0))
    subs, skipped = collect(export, "03-qkv", "qkv")
    by = found(subs)
    assert {k: v.data for k, v in by.items()} == {"alice": nb("alice"), "bob": nb("bob"), "carol": nb("carol")}
    assert parse_utc(by["alice"].timestamp) == datetime(2026, 11, 19, 8, 0, 0)  # nbgrader's own record wins
    assert by["bob"].timestamp == datetime(2026, 11, 21, 10, 0, 0)  # his own entry's time, not the latest of all
    assert by["carol"].timestamp == datetime(2026, 11, 22, 11, 0, 0)
    assert not skipped


def test_utf8_names_without_the_utf8_flag_are_decoded(tmp_path):
    export = tmp_path / "export.zip"
    real = "José Díaz_7_assignsubmission_file_/qkv.ipynb".encode()
    stand_in = b"x" * (len(real) - len(b"/qkv.ipynb")) + b"/qkv.ipynb"
    with zipfile.ZipFile(export, "w") as zf:
        entry(zf, stand_in.decode(), nb("jose"), (2026, 1, 2, 3, 4, 6))
    # Put the UTF-8 bytes in without ZIP's UTF-8 flag, as some writers do (Python would set the flag).
    export.write_bytes(export.read_bytes().replace(stand_in, real))
    assert not zipfile.ZipFile(export).infolist()[0].flag_bits & 0x800
    subs, _ = collect(export, "03-qkv", "qkv")
    assert [s.student for s in subs] == ["José_Díaz_7"]


def test_a_students_own_zip_is_still_one_student(tmp_path):
    (tmp_path / "alice.zip").write_bytes(student_zip("alice"))
    subs, skipped = collect(tmp_path, "03-qkv", "qkv")
    assert [(s.student, s.data) for s in subs] == [("alice", nb("alice"))] and not skipped
    assert not lms.is_bulk_export(tmp_path / "alice.zip")


def test_hostile_export_is_read_safely_and_spares_the_other_students(tmp_path, monkeypatch):
    monkeypatch.setattr(lms, "MIN_BUDGET", 4 << 20)
    monkeypatch.setattr(lms, "MAX_RATIO", 1)
    monkeypatch.setattr(submission_mod, "MAX_NOTEBOOK_BYTES", 1 << 20)  # the one cap, read by collect and lms
    export = tmp_path / "inner" / "submissions.zip"
    export.parent.mkdir()
    with zipfile.ZipFile(export, "w") as zf:
        entry(zf, "doejane_101_9001_qkv.ipynb", nb("jane"), (2026, 11, 20, 9, 30, 0))
        entry(zf, "../../escaped_1_2_qkv.ipynb", nb("evil"), (2026, 11, 20, 9, 30, 0))
        entry(zf, "/abs_1_2_qkv.ipynb", nb("evil"), (2026, 11, 20, 9, 30, 0))
        entry(zf, "linky_104_9004_qkv.ipynb", b"/etc/passwd", (2026, 11, 20, 9, 30, 0), mode=0o120777)
        # 3 MB of zeros compress to a few kB: over the (here 1 MB) notebook cap; read no further than that.
        entry(zf, "bomb_105_9005_qkv.ipynb", b"\0" * (3 << 20), (2026, 11, 20, 9, 30, 0))
        entry(zf, "roebob_102_9002_qkv.ipynb", nb("bob"), (2026, 11, 21, 9, 30, 0))
    subs, skipped = collect(export.parent, "03-qkv", "qkv")
    by = found(subs)
    assert {k: v.data for k, v in by.items()} == {"doejane_101": nb("jane"), "roebob_102": nb("bob")}
    assert not (tmp_path / "escaped_1_2_qkv.ipynb").exists() and not list(tmp_path.rglob("escaped*"))
    reasons = {k.name: k.reason for k in skipped}
    assert "unsafe path" in reasons["submissions.zip/../../escaped_1_2_qkv.ipynb"]
    assert "unsafe path" in reasons["submissions.zip//abs_1_2_qkv.ipynb"]
    assert "symbolic link" in reasons["submissions.zip/linky_104_9004_qkv.ipynb"]
    assert "uncompressed size passes 1 MB" in reasons["submissions.zip/bomb_105_9005_qkv.ipynb"]


def test_an_export_that_expands_past_its_budget_stops_there(tmp_path, monkeypatch):
    monkeypatch.setattr(lms, "MIN_BUDGET", 1 << 20)
    monkeypatch.setattr(lms, "MAX_RATIO", 1)
    export = tmp_path / "submissions.zip"
    with zipfile.ZipFile(export, "w") as zf:
        for i in range(4):  # 4 x 600 kB of zeros: each under the notebook cap, together over the 1 MB budget
            entry(zf, f"s{i}_10{i}_900{i}_qkv.ipynb", b"\0" * (600 << 10), (2026, 11, 20, 9, 30, i))
    times, refused = lms.unpack(export, (tmp_path / "out"))
    assert sorted(times) == ["s0_100_9000_qkv.ipynb"]
    assert len(refused) == 3 and all("zip bomb" in why for _, why in refused)
    assert sum(p.stat().st_size for p in (tmp_path / "out").rglob("*") if p.is_file()) == 600 << 10


def test_an_unreadable_export_is_reported_not_fatal(tmp_path):
    (tmp_path / "alice.ipynb").write_bytes(nb("alice"))
    bad = tmp_path / "submissions.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        entry(zf, "doejane_101_9001_qkv.ipynb", nb("jane"), (2026, 11, 20, 9, 30, 0))
    data = bytearray(bad.read_bytes())
    data[40:60] = b"\xff" * 20  # corrupt the entry's compressed data
    bad.write_bytes(bytes(data))
    subs, skipped = collect(tmp_path, "03-qkv", "qkv")
    assert "alice" in found(subs)
    assert "doejane_101" not in found(subs) or found(subs)["doejane_101"].problem


@pytest.mark.xdist_group("hostile")
def test_grading_a_canvas_export_records_scores_and_submission_times(tmp_path):
    from autograder.term import grade
    from autograder.grading.sandbox import Limits
    from tests.samples import build, modules

    samples = modules()["03-qkv"].SAMPLES
    export = tmp_path / "submissions.zip"
    with zipfile.ZipFile(export, "w") as zf:
        entry(zf, "doejane_101_9001_qkv.ipynb", json.dumps(build("03-qkv", samples["correct"])).encode(),
              (2026, 11, 20, 9, 30, 0))
        entry(zf, "roebob_LATE_102_9002_qkv.ipynb", json.dumps(build("03-qkv", samples["wrong-cosine"])).encode(),
              (2026, 11, 22, 23, 59, 58))
    rows = grade("03-qkv", export, tmp_path / "out", progress=False,
                 limits=Limits(function_timeout=15, cell_timeout=8, notebook_timeout=300))
    got = {r["student_id"]: (float(r["score"]), r["timestamp"]) for r in rows}
    assert got == {"doejane_101": (samples["correct"].score, "2026-11-20 09:30:00"),
                   "roebob_102": (samples["wrong-cosine"].score, "2026-11-22 23:59:58")}
    assert "LATE" in (tmp_path / "out" / "logs" / "roebob_102.log").read_text()
    # The LMS's own ids, from the download's names, are kept in the gradebook for the Canvas export (issue 23).
    import sqlite3

    dbs = [p for p in (tmp_path / "gradebook.db", tmp_path / "out" / "gradebook.db") if p.is_file()]
    with sqlite3.connect(dbs[0]) as db:
        ids = dict(db.execute("select id, lms_user_id from student"))
    assert ids == {"doejane_101": "canvas:101", "roebob_102": "canvas:102"}
