"""Issue 23, item 1: one person, one id. The roster maps every source's identity (nbgrader's id, Canvas's user id
and sortable name, Moodle's participant id and full name, an e-mail, a file name) to one student id; an identity
not on the roster is listed as "not on the roster" with what it was matched against and never made a student;
``link`` merges two ids keeping every score, comment, extension and penalty; without a roster nothing changes.
"""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from autograder import commands
from autograder.gradebook import edits, identity
from autograder.gradebook.store import extension, open_gradebook
from autograder.reports import export
from autograder.grading.collect import collect
from autograder.grading.sandbox import Limits
from autograder.term import grade
from tests.samples import build, modules

pytestmark = pytest.mark.xdist_group("hostile")

A = "03-qkv"
QKV = modules()[A]
LIMITS = Limits(function_timeout=15, cell_timeout=8, notebook_timeout=300)
ROSTER = ("id,first_name,last_name,email,lms_user_id,login_id,moodle_id\n"
          "alice,Alice,Liddell,alice@uni.example,1001,aliddell,\n"
          "bob,Bob,Marley,bob@uni.example,1002,,\n"
          "carol,Carol,White,carol@uni.example,1003,,\n"
          "dan,Dan,Smith,dan@uni.example,,dsmith,\n"
          "erin,Erin,Ng,erin@uni.example,,,505\n"
          "frank,Frank,Ocean,frank@uni.example,,,\n"
          "lilei,雷,李,lilei@uni.example,,,\n")
NB = json.dumps(build(A, QKV.SAMPLES["correct"]))


def mixed(folder: Path) -> Path:
    """Seven people from six kinds of source, and one stranger."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "alice").mkdir()                                                       # nbgrader's id
    (folder / "alice" / "qkv.ipynb").write_text(NB)
    (folder / "bob@uni.example.ipynb").write_text(NB)                                # an e-mail
    (folder / "whitecarol_1003_501_qkv.ipynb").write_text(NB)                        # Canvas user id
    (folder / "smithdan_9999_502_qkv.ipynb").write_text(NB)                          # Canvas sortable name only
    (folder / "Erin Ng_505_assignsubmission_file_").mkdir()                           # Moodle participant id
    (folder / "Erin Ng_505_assignsubmission_file_" / "qkv.ipynb").write_text(NB)
    (folder / "Frank Ocean_777_assignsubmission_file_").mkdir()                       # Moodle full name only
    (folder / "Frank Ocean_777_assignsubmission_file_" / "qkv.ipynb").write_text(NB)
    (folder / "李雷.ipynb").write_text(NB)                                             # a file name: the full name
    (folder / "mallory.ipynb").write_text(NB)                                        # nobody on the roster
    return folder


@pytest.fixture
def gb(tmp_path):
    (tmp_path / "roster.csv").write_text(ROSTER)
    with open_gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as book:
        yield book


def test_without_a_roster_every_source_keeps_its_own_id(gb, tmp_path):
    subs, _ = collect(mixed(tmp_path / "subs"), A, "qkv")
    same, skipped = identity.resolve(gb, subs)
    assert skipped == [] and sorted(s.student for s in same) == sorted(
        ["alice", "bob@uni.example", "whitecarol_1003", "smithdan_9999", "Erin_Ng_505", "Frank_Ocean_777", "李雷",
         "mallory"])


def test_the_roster_maps_every_source_to_one_id_and_lists_a_stranger(gb, tmp_path):
    edits.import_roster(gb, tmp_path / "roster.csv")
    subs, _ = collect(mixed(tmp_path / "subs"), A, "qkv")
    got, skipped = identity.resolve(gb, subs)
    assert sorted(s.student for s in got) == ["alice", "bob", "carol", "dan", "erin", "frank", "lilei"]
    (stranger,) = skipped
    assert stranger.name.endswith("mallory.ipynb")
    assert "not on the roster" in str(stranger.reason) and "'mallory'" in str(stranger.reason)
    assert "id, email, login_id, full_name or sortable_name" in str(stranger.reason)
    # A Canvas user id that is not on the roster, and a name that is nobody's: matched against both, said so.
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "doejohn_4242_9_qkv.ipynb").write_text(NB)
    _, skipped = identity.resolve(gb, collect(tmp_path / "more", A, "qkv")[0])
    assert "canvas_user_id='4242'" in str(skipped[0].reason) and "sortable_name='doejohn'" in str(skipped[0].reason)


def test_one_person_from_two_sources_is_graded_once_the_newer(gb, tmp_path):
    edits.import_roster(gb, tmp_path / "roster.csv")
    folder = tmp_path / "two"
    (folder / "alice").mkdir(parents=True)
    (folder / "alice" / "qkv.ipynb").write_text(NB)
    (folder / "alice" / "timestamp.txt").write_text("2026-11-20 09:00:00 UTC\n")
    (folder / "aliddell.zip").write_bytes(b"")  # not read: a login id names alice too (an unreadable zip)
    got, skipped = identity.resolve(gb, collect(folder, A, "qkv")[0])
    assert [s.student for s in got] == ["alice"] and len(skipped) == 1
    assert "another submission of alice" in str(skipped[0].reason)


def test_the_not_on_roster_reason_has_both_wordings():
    from autograder.reasons import R, render

    r = R("not_on_roster", claims="canvas_user_id='4242'")
    assert "not on the roster" in render(r) and "不在名册上" in render(r, "zh") and "4242" in render(r, "zh")


# ----------------------------------------------------------------------- grading and link, end to end

def cli(root: Path, *argv: str) -> int:
    return commands.run(argv[0], list(argv[1:]) + ["--out-root", str(root / "grading")])


def rows_of(path: Path) -> dict:
    with path.open(newline="") as fh:
        return {(r["assignment"], r["student_id"]): r for r in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def two_ids(tmp_path_factory):
    """The issue's defect: before the roster, a Canvas download made ``liddellalice_1001`` beside ``alice``."""
    base = tmp_path_factory.mktemp("ids")
    (base / "exchange" / "alice").mkdir(parents=True)
    (base / "exchange" / "alice" / "qkv.ipynb").write_text(json.dumps(build(A, QKV.SAMPLES["wrong-cosine"])))
    grade(A, base / "exchange", base / "grading" / A, limits=LIMITS, progress=False)
    return base


def test_link_merges_two_ids_keeping_every_score_comment_extension_and_penalty(two_ids, tmp_path):
    root = tmp_path
    shutil.copytree(two_ids, root, dirs_exist_ok=True)
    # A second id for alice, graded under it: a score, a comment, an extension (and so a different penalty).
    with open_gradebook(f"sqlite:///{root / 'grading' / 'gradebook.db'}") as gb:
        gb.update_or_create_student("liddellalice_1001", lms_user_id="canvas:1001")
        gb.db.commit()
    assert cli(root, "score", A, "alice", "cosine-tests", "1.5", "--comment", 'use "axis=-1", costs $5') == 0
    assert cli(root, "duedate", A, "2026-11-20 13:00:00 Europe/Paris") == 0
    assert cli(root, "extend", A, "alice", "--days", "2") == 0
    assert cli(root, "exclude", A, "liddellalice_1001", "--reason", "duplicate") == 0
    before = rows_of(root / "grading" / "grades.csv")[(A, "alice")]
    assert cli(root, "link", "alice", "liddellalice_1001") == 0
    after = rows_of(root / "grading" / "grades.csv")
    assert (A, "alice") not in after
    # The exclusion was the target's own on the same assignment: kept (it wins), and nothing else was lost.
    assert cli(root, "exclude", A, "liddellalice_1001", "--undo") == 0
    after = rows_of(root / "grading" / "grades.csv")
    moved = after[(A, "liddellalice_1001")]
    assert float(moved["score"]) == float(before["score"]) == 11.5
    with open_gradebook(f"sqlite:///{root / 'grading' / 'gradebook.db'}") as gb:
        assert extension(gb, A, "liddellalice_1001") == (2 * 86400, None)
        assert "alice" not in {s.id for s in gb.students}
        student = gb.find_student("liddellalice_1001")
        assert student.lms_user_id == "canvas:1001"
    page = (root / "grading" / A / "feedback" / "liddellalice_1001" / A / "qkv.html").read_text()
    assert "axis=-1" in page and "$5" in page
    assert not (root / "grading" / A / "feedback" / "alice").exists()
    # Linking again, or to someone unknown, is refused with nothing changed.
    assert cli(root, "link", "alice", "liddellalice_1001") == 2


def test_link_refuses_two_submissions_of_one_assignment(two_ids, tmp_path):
    shutil.copytree(two_ids, tmp_path, dirs_exist_ok=True)
    (tmp_path / "canvas").mkdir()
    (tmp_path / "canvas" / "liddellalice_1001_7_qkv.ipynb").write_text(NB)
    grade(A, tmp_path / "canvas", tmp_path / "grading" / A, limits=LIMITS, progress=False)
    assert set(rows_of(tmp_path / "grading" / "grades.csv")) == {(A, "alice"), (A, "liddellalice_1001")}
    assert cli(tmp_path, "link", "liddellalice_1001", "alice") == 2
    assert set(rows_of(tmp_path / "grading" / "grades.csv")) == {(A, "alice"), (A, "liddellalice_1001")}


def test_with_a_roster_grading_mixed_sources_gives_one_id_per_person(two_ids, tmp_path):
    """The issue's walkthrough in small: alice from the exchange is graded; her Canvas upload and a stranger's
    file, after the roster, are not new students."""
    shutil.copytree(two_ids, tmp_path, dirs_exist_ok=True)
    (tmp_path / "roster.csv").write_text(ROSTER)
    assert cli(tmp_path, "roster", str(tmp_path / "roster.csv")) == 0
    subs = tmp_path / "canvas"
    subs.mkdir()
    (subs / "liddellalice_1001_7_qkv.ipynb").write_text(NB)
    (subs / "mallory.ipynb").write_text(NB)
    rows = grade(A, subs, tmp_path / "grading" / A, limits=LIMITS, progress=False)
    assert [r["student_id"] for r in rows] == ["alice"] and float(rows[0]["score"]) == 12.0
    ids = {sid for (_, sid) in rows_of(tmp_path / "grading" / "grades.csv")}
    assert ids == {"alice", "bob", "carol", "dan", "erin", "frank", "lilei"}
    summary = (tmp_path / "grading" / A / "summary.md").read_text()
    (line,) = [ln for ln in summary.splitlines() if "mallory" in ln]
    assert "not on the roster" in line and "'mallory'" in line


def test_the_exports_take_canvas_and_moodle_ids_from_the_term_roster(two_ids, tmp_path):
    """alice was graded from the exchange, which carries no LMS id; the term roster gives her Canvas user id and
    Moodle participant id, and each export uses its own (never the other's). bob's roster row has no Moodle id:
    the Moodle export leaves him out and says so."""
    shutil.copytree(two_ids, tmp_path, dirs_exist_ok=True)
    roster = ROSTER.replace("alice,Alice,Liddell,alice@uni.example,1001,aliddell,",
                            "alice,Alice,Liddell,alice@uni.example,1001,aliddell,701")
    (tmp_path / "roster.csv").write_text(roster)
    assert cli(tmp_path, "roster", str(tmp_path / "roster.csv")) == 0
    (tmp_path / "exchange2" / "bob").mkdir(parents=True)
    (tmp_path / "exchange2" / "bob" / "qkv.ipynb").write_text(NB)
    grade(A, tmp_path / "exchange2", tmp_path / "grading" / A, limits=LIMITS, progress=False)
    db = f"sqlite:///{tmp_path / 'grading' / 'gradebook.db'}"
    got = {}
    for fmt in ("canvas", "moodle"):
        out = tmp_path / f"{fmt}.csv"
        status = commands.run("export", [A, "--format", fmt, "--db", db, "--out", str(out)])
        with out.open(newline="") as fh:
            got[fmt] = list(csv.DictReader(fh))
        got[fmt + "-status"] = status
        got[fmt + "-report"] = export.report_path(out).read_text()
    assert sorted((r["Student"], r["ID"]) for r in got["canvas"]) == [("Alice Liddell", "1001"), ("Bob Marley", "1002")]
    assert got["canvas-status"] == 0
    assert [(r["Full name"], r["Identifier"]) for r in got["moodle"]] == [("Alice Liddell", "Participant 701")]
    assert got["moodle-status"] == 1 and "bob" in got["moodle-report"]
