"""nbgrader's own tools work on the grading root this command writes (an nbgrader course root):
``generate_feedback``, ``release_feedback`` and ``export`` as commands, and the formgrader through the
classes its web handlers use (``NbGraderAPI``, the gradebook, and its ``formgrade`` HTML template)."""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys

import pytest

from autograder.grading import sandbox
from autograder.term import grade
from tests import hostile_samples as hs

pytestmark = [pytest.mark.xdist_group("scale"),
              pytest.mark.skipif(not sandbox.available()[0], reason="bubblewrap cannot run here")]

NAMES = ["correct", "allclose-patched", "invalid-json", "os-exit-in-function"]


def nbgrader(root, *args, cwd=None):
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={root}"],
                          capture_output=True, text=True, cwd=cwd or root, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("course")
    subs = base / "subs"
    subs.mkdir()
    for name in NAMES:
        (subs / f"{name}.ipynb").write_bytes(hs.CASES[name].build())
    root = base / "grading"
    # A timestamp from nbgrader's collect travels to autograded/ (the nbgrader layout of the submissions).
    (subs / "stamped" / hs.ASSIGNMENT).mkdir(parents=True)
    (subs / "stamped" / hs.ASSIGNMENT / "qkv.ipynb").write_bytes(hs.CASES["correct"].build())
    (subs / "stamped" / hs.ASSIGNMENT / "timestamp.txt").write_text("2026-11-20 10:00:00.000000 UTC")
    (subs / "stamped" / hs.ASSIGNMENT / "submission_secret.txt").write_text("f00d" * 32)
    db = f"sqlite:///{root / 'gradebook.db'}"
    grade(hs.ASSIGNMENT, subs, root / hs.ASSIGNMENT, db=db, limits=hs.limits(), progress=False)
    return base, root, db


def test_autograded_notebooks_are_in_nbgrader_layout(graded):
    import nbformat

    base, root, db = graded
    for name in NAMES + ["stamped"]:
        path = root / "autograded" / name / hs.ASSIGNMENT / "qkv.ipynb"
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
        assert set(hs.POINTS) <= set(ids), f"{name}: test cells missing"
        text = path.read_text()
        assert "BEGIN HIDDEN TESTS" not in text and "from autograder" not in text
    assert (root / "autograded" / "stamped" / hs.ASSIGNMENT / "timestamp.txt").read_text().startswith("2026-11-20")
    assert not (root / "autograded" / "correct" / hs.ASSIGNMENT / "timestamp.txt").exists()
    # The unreadable submission still has a notebook for a reviewer, saying why it got nothing.
    first = nbformat.read(root / "autograded" / "invalid-json" / hs.ASSIGNMENT / "qkv.ipynb", as_version=4).cells[0]
    assert "not valid notebook JSON" in first.source
    # The student's own answer is what was graded; its output is kept.
    nb = json.loads((root / "autograded" / "allclose-patched" / hs.ASSIGNMENT / "qkv.ipynb").read_text())
    answers = ["".join(c["source"]) for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("solution")]
    assert any("allclose" in a for a in answers)
    assert (root / "source" / hs.ASSIGNMENT / "qkv.ipynb").exists()


def test_generate_and_release_feedback(graded, tmp_path):
    base, root, db = graded
    nbgrader(root, "generate_feedback", hs.ASSIGNMENT)
    for name in NAMES:
        page = (root / "feedback" / name / hs.ASSIGNMENT / "qkv.html").read_text()
        score = hs.CASES[name].score
        # nbgrader's feedback template prints the notebook's score from the gradebook.
        assert f"Score: {float(score)} / {float(hs.MAX)}" in page, name
        assert "BEGIN HIDDEN TESTS" not in page
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    exchange.chmod(0o777)
    # release_feedback files each page under a hash of the submission's timestamp.txt, which nbgrader's exchange
    # gives every submission (here: "stamped"); the student's `nbgrader fetch_feedback` finds it by that hash.
    nbgrader(root, "release_feedback", hs.ASSIGNMENT, "--student=stamped", f"--Exchange.root={exchange}",
             "--CourseDirectory.course_id=course")
    from nbgrader.utils import notebook_hash

    released = list((exchange / "course" / "feedback").glob("*.html"))
    assert [p.stem for p in released] == [notebook_hash(secret="f00d" * 32, notebook_id="qkv")]
    assert "Score: 12.0 / 12.0" in released[0].read_text()


def test_export_matches_the_command_grades_csv(graded, tmp_path):
    base, root, db = graded
    nbgrader(root, "export", f"--to={tmp_path / 'export.csv'}")
    read = lambda p: {r["student_id"]: r["score"] for r in csv.DictReader(p.open())}  # noqa: E731
    exported = read(tmp_path / "export.csv")
    assert exported == read(root / hs.ASSIGNMENT / "grades.csv")
    assert {k: float(v) for k, v in exported.items()} == {**{n: hs.CASES[n].score for n in NAMES}, "stamped": hs.MAX}


def test_nbgrader_export_leaves_out_excluded_students(graded, tmp_path):
    """Through the course's configuration, `nbgrader export` leaves out a student excluded from the assignment, as
    every other output does (nbgrader's own exporter lists them), and writes every other row as nbgrader's own
    exporter does; its --student option still applies."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins.export import CsvExportPlugin

    base, root, db = graded
    term = tmp_path / "term"
    term.mkdir()
    shutil.copy(root / "gradebook.db", term / "gradebook.db")  # the module's gradebook stays as graded
    env = dict(os.environ, ATTN_COURSE_DIR=str(tmp_path / "course"))
    env.pop("ATTN_GRADEBOOK", None)

    def autograder(*args):
        done = subprocess.run([sys.executable, "-m", "autograder", *args], capture_output=True, text=True, env=env,
                              timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]

    def rows(path):
        with path.open(newline="") as fh:
            return [dict(r) for r in csv.DictReader(fh)]

    autograder("exclude", hs.ASSIGNMENT, "allclose-patched", "--reason", "withdrew", "--out-root", str(term))
    autograder("nbgrader", "--out-root", str(term), "export", f"--to={tmp_path / 'ours.csv'}")
    with Gradebook(f"sqlite:///{term / 'gradebook.db'}") as gb:
        CsvExportPlugin(to=str(tmp_path / "stock.csv")).export(gb)
    stock = rows(tmp_path / "stock.csv")
    assert "allclose-patched" in [r["student_id"] for r in stock]
    assert rows(tmp_path / "ours.csv") == [r for r in stock if r["student_id"] != "allclose-patched"]
    autograder("nbgrader", "--out-root", str(term), "export", f"--to={tmp_path / 'one.csv'}", "--student=correct")
    assert rows(tmp_path / "one.csv") == [r for r in stock if r["student_id"] == "correct"]


def test_the_wrapper_runs_nbgrader_on_the_terms_gradebook(graded, tmp_path):
    """`python -m autograder nbgrader export` and `... db student list` read the gradebook the grader wrote (the
    term's, named as for every command), not an empty one in the course folder. Before: an empty CSV, exit 0."""
    base, root, db = graded
    env = dict(os.environ, ATTN_COURSE_DIR=str(tmp_path / "course"))
    env.pop("ATTN_GRADEBOOK", None)
    exported = tmp_path / "export.csv"
    for options in (["--out-root", str(root)], [f"--db={db}"]):
        exported.unlink(missing_ok=True)
        done = subprocess.run([sys.executable, "-m", "autograder", "nbgrader", *options, "export", f"--to={exported}"],
                              capture_output=True, text=True, env=env, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        with exported.open(newline="") as fh:
            scores = {r["student_id"]: float(r["score"]) for r in csv.DictReader(fh)}
        assert scores == {**{n: hs.CASES[n].score for n in NAMES}, "stamped": hs.MAX}, options
    listed = subprocess.run([sys.executable, "-m", "autograder", "nbgrader", "--out-root", str(root), "db", "student",
                             "list"], capture_output=True, text=True, env=env, timeout=300)
    assert listed.returncode == 0, listed.stderr[-3000:]
    assert all(name in listed.stdout for name in NAMES)
    assert not (tmp_path / "course" / "gradebook.db").exists()


def test_the_course_configuration_names_the_terms_gradebook(monkeypatch):
    """nbgrader run with JUPYTER_CONFIG_PATH=autograder/ (or through the wrapper) uses the grader's gradebook."""
    from traitlets.config.loader import PyFileConfigLoader

    from autograder.course import CONFIG, Course

    def load():
        return PyFileConfigLoader(CONFIG.name, path=str(CONFIG.parent)).load_config().CourseDirectory

    monkeypatch.delenv("ATTN_GRADEBOOK", raising=False)
    assert load().db_url == Course().db_url == f"sqlite:///{(Course().root / 'gradebook.db').resolve()}"
    monkeypatch.setenv("ATTN_GRADEBOOK", "sqlite:////elsewhere/gradebook.db")
    assert load().db_url == "sqlite:////elsewhere/gradebook.db"


def test_formgrader_review_of_a_flagged_submission_and_its_manual_score_survives(graded):
    """What the formgrader does for a teaching assistant: list the submissions (the flagged one needs a manual
    grade), render the flagged one with its ``formgrade`` template, save a manual score; a re-run keeps it."""
    from nbconvert.exporters import HTMLExporter
    from nbgrader.api import Gradebook
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.server_extensions.formgrader import handlers
    from traitlets.config import Config

    base, root, db = graded
    coursedir = CourseDirectory(root=str(root))
    coursedir.db_url = db
    api = NbGraderAPI(coursedir=coursedir)
    listed = {s["student"]: s for s in api.get_notebook_submissions(hs.ASSIGNMENT, "qkv")}
    assert set(listed) == set(NAMES) | {"stamped"}
    assert listed["invalid-json"]["needs_manual_grade"] and not listed["correct"]["needs_manual_grade"]
    assert listed["invalid-json"]["index"] is not None  # its autograded notebook exists, so the formgrader opens it
    config = Config()
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    flagged = root / "autograded" / "invalid-json" / hs.ASSIGNMENT / "qkv.ipynb"
    resources = {"assignment_id": hs.ASSIGNMENT, "notebook_id": "qkv", "submission_id": listed["invalid-json"]["id"],
                 "index": 0, "total": len(listed), "base_url": "", "student": "invalid-json", "last_name": None,
                 "first_name": None, "notebook_path": str(flagged)}
    page, _ = HTMLExporter(config=config).from_filename(str(flagged), resources=resources)
    assert "not valid notebook JSON" in page and "cosine-tests" in page
    # The formgrader's "save" of a manual score (its API handler sets manual_score on the grade row).
    with Gradebook(db) as gb:
        row = gb.find_grade("cosine-tests", "qkv", hs.ASSIGNMENT, "invalid-json")
        row.manual_score = 2.0
        gb.db.commit()
    grade(hs.ASSIGNMENT, base / "subs", root / hs.ASSIGNMENT, db=db, limits=hs.limits(), progress=False, force=True)
    with Gradebook(db) as gb:
        assert gb.find_submission(hs.ASSIGNMENT, "invalid-json").score == 2.0
        assert not gb.find_grade("cosine-tests", "qkv", hs.ASSIGNMENT, "invalid-json").needs_manual_grade
        assert gb.find_grade("softmax-tests", "qkv", hs.ASSIGNMENT, "invalid-json").needs_manual_grade


def test_course_root_is_the_parent_of_the_output_folder_but_never_the_repository(tmp_path):
    from autograder.gradebook.nbgrader_layout import course_root
    from autograder.course import REPO

    assert course_root(tmp_path / "grading" / "03-qkv") == (tmp_path / "grading").resolve()
    assert course_root(REPO / "grading" / "03-qkv") == (REPO / "grading").resolve()
    assert course_root(REPO / "results") == (REPO / "results").resolve()
