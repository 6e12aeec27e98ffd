"""Hostile and faulty submissions get their exact scores and reasons; nothing they do reaches the grader.

The whole suite is graded in one batch (module fixture) with short time limits, then each case is
checked: its score, a phrase of the reason for every question it loses, its review flag, and the
unusual events in its log. Other tests check re-runs, manual grades and the refusal without a sandbox.
"""
from __future__ import annotations

import csv
import json
import os
import subprocess

import pytest

from autograder.errors import SetupError
from autograder.grading import sandbox
from autograder.reasons import render  # a stored reason is data: its English wording
from autograder.term import grade
from tests import hostile_samples as hs

pytestmark = pytest.mark.xdist_group("hostile")

needs_bwrap = pytest.mark.skipif(not sandbox.available()[0], reason="bubblewrap cannot run here")


#: A subset of the cases to grade (comma-separated names), e.g. for the run as an ordinary user
#: (tests/test_ordinary_user.py); unset: every case.
SUBSET = [n for n in os.environ.get("AUTOGRADER_HOSTILE_CASES", "").split(",") if n]


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    cases = hs.write_all(root / "submissions", SUBSET or None)
    rows = grade(hs.ASSIGNMENT, root / "submissions", root / "out", limits=hs.limits(), progress=False)
    results = {p.stem: json.loads(p.read_text()) for p in (root / "out" / "work" / "results").glob("*.json")}
    return root, cases, {r["student_id"]: r for r in rows}, results


@needs_bwrap
@pytest.mark.parametrize("name", sorted(hs.CASES))
def test_hostile_submission_gets_its_score_and_reason(batch, name):
    root, cases, rows, results = batch
    if name not in cases:
        pytest.skip(f"not in this run's subset (AUTOGRADER_HOSTILE_CASES)")
    case = cases[name]
    if case.cgroups and not sandbox.cgroups_available():
        pytest.skip("this host cannot make memory cgroups")
    assert name in rows, f"{name} has no row in grades.csv"
    result = results[name]
    assert float(rows[name]["score"]) == case.score, result["reasons"]
    for question, points in hs.POINTS.items():
        if question in case.lost:
            assert result["scores"][question] == 0
            assert case.lost[question] in render(result["reasons"][question]), result["reasons"][question]
        else:
            assert result["scores"][question] == points, result["reasons"].get(question)
    assert rows[name]["needs_review"] == case.review, result["notes"]
    log = (root / "out" / "logs" / f"{name}.log").read_text()
    if case.note:
        assert case.note in log
    # The feedback shows every lost point's reason and neither hidden tests nor the reference.
    (page,) = (root / "out" / "feedback" / name / hs.ASSIGNMENT).glob("*.html")
    text = page.read_text()
    assert "BEGIN HIDDEN TESTS" not in text and "from autograder" not in text and "check(" not in text
    assert "x" * 20_000 not in text and len(text) < 5_000_000  # outputs truncated (MathJax may be embedded)
    for question in case.lost:
        assert question in text


@needs_bwrap
def test_nothing_to_steal_and_nothing_to_break(batch):
    root, cases, rows, results = batch
    if not {"steal-reference", "write-gradebook"} <= set(cases):
        pytest.skip("steal-reference and write-gradebook are not in this run's subset")
    stolen = (root / "out" / "feedback" / "steal-reference" / hs.ASSIGNMENT / "qkv.html").read_text()
    assert "STOLEN=[]" in stolen, "the sandbox exposed the reference, the notebooks or a gradebook"
    wrote = (root / "out" / "feedback" / "write-gradebook" / hs.ASSIGNMENT / "qkv.html").read_text()
    assert "WROTE=[]" in wrote
    # The gradebook holds exactly the scores the grader decided.
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for name, case in cases.items():
            if not case.cgroups or sandbox.cgroups_available():
                assert gb.find_submission(hs.ASSIGNMENT, name).score == case.score


@needs_bwrap
def test_figures_show_in_the_feedback(batch):
    root = batch[0]
    if "plots-inline" not in batch[1]:
        pytest.skip("plots-inline is not in this run's subset")
    page = (root / "out" / "feedback" / "plots-inline" / hs.ASSIGNMENT / "qkv.html").read_text()
    assert page.count("data:image/png;base64,") == 1


@needs_bwrap
def test_no_sandbox_process_survives(batch):
    """After the batch, none of its sandboxed processes is alive, and no sandboxed process is orphaned.

    Sandboxes of another grading run going on in parallel (another xdist worker) are not this batch's.
    """
    import time

    root = str(batch[0])
    as_root = os.geteuid() == 0

    def ancestry(pid):
        """Command lines of the process's ancestors, nearest first."""
        lines = []
        while pid > 1:
            try:
                with open(f"/proc/{pid}/stat") as fh:
                    pid = int(fh.read().rsplit(")", 1)[1].split()[1])  # field 4: the parent's pid
                with open(f"/proc/{pid}/cmdline", "rb") as fh:
                    lines.append(fh.read().replace(b"\0", b" ").decode(errors="replace"))
            except OSError:
                break
        return lines

    def sandboxed():
        """Sandboxed processes of this batch, or of no grader at all (orphans); not other tests' graders."""
        ps = subprocess.run(["ps", "-o", "uid=,pid=,stat=,etimes=,args=", "-e"], capture_output=True, text=True).stdout
        found = []
        for line in ps.splitlines():
            uid, pid = int(line.split()[0]), int(line.split()[1])
            if as_root and uid < sandbox.SANDBOX_UID_BASE or not as_root and uid != os.geteuid():
                continue
            chain = ancestry(pid)
            wrappers = [c for c in chain if "bwrap" in c.split(" ", 1)[0]]
            if any(root in c for c in wrappers) or as_root and not wrappers:
                # As an ordinary user, sandboxed processes have the user's own uid: only those below one of this
                # batch's bubblewraps are this batch's (an orphan would have lost that ancestor, but then the
                # PID namespace it lived in is gone with it).
                found.append(line)
        return found

    # The kernel tears a sandbox's pid namespace down asynchronously once its init dies: allow a few
    # seconds for that, but nothing may live on.
    deadline = time.monotonic() + 20
    left = sandboxed()
    while left and time.monotonic() < deadline:
        time.sleep(0.5)
        left = sandboxed()
    assert not left, left


@needs_bwrap
def test_csv_is_nbgrader_export_format_and_summary_exists(batch):
    root, cases, rows, results = batch
    with (root / "out" / "grades.csv").open() as fh:
        header = next(csv.reader(fh))
    assert header == ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
                      "raw_score", "late_submission_penalty", "score", "max_score"]
    summary = (root / "out" / "summary.md").read_text()
    assert "| cosine-tests | 2 |" in summary and "Needs a human look" in summary
    # Which limits held is stated, whether the grader is root (cgroups where the host allows) or not.
    assert "## Limits that held" in summary
    if sandbox.cgroups_available():
        assert "- held: memory and process count of each whole sandbox (cgroups)" in summary
    else:
        assert "- **not applied**: memory and process-count cgroups" in summary
    assert ("- held: separate unprivileged uid per sandbox" in summary) == (os.geteuid() == 0)
    # Every sandbox was forked from the warm template (the default), none fell back to a cold start.
    assert "Sandboxes forked from a warm template: " in summary and "; started cold: 0 " in summary
    assert (root / "out" / "histogram.png").read_bytes().startswith(b"\x89PNG")


@needs_bwrap
def test_rerun_is_idempotent_and_keeps_manual_grades(batch):
    from nbgrader.api import Gradebook

    root, cases, rows, results = batch
    if "allclose-patched" not in cases:
        pytest.skip("allclose-patched is not in this run's subset")
    db = f"sqlite:///{root / 'gradebook.db'}"
    with Gradebook(db) as gb:
        grade_row = gb.find_grade("cosine-tests", "qkv", hs.ASSIGNMENT, "allclose-patched")
        grade_row.manual_score = 1.5
        gb.db.commit()
    again = grade(hs.ASSIGNMENT, root / "submissions", root / "out", limits=hs.limits(), progress=False)
    again = {r["student_id"]: r for r in again}
    for name, case in cases.items():
        if case.cgroups and not sandbox.cgroups_available():
            continue
        expected = case.score + (1.5 if name == "allclose-patched" else 0.0)
        assert float(again[name]["score"]) == expected
    with Gradebook(db) as gb:
        assert gb.find_grade("cosine-tests", "qkv", hs.ASSIGNMENT, "allclose-patched").manual_score == 1.5


@needs_bwrap
def test_forced_rerun_gives_identical_scores(tmp_path):
    names = ["correct", "allclose-patched", "loop-in-one-function", "os-exit-in-function"]
    folder = tmp_path / "subs"
    folder.mkdir()
    for name in names:
        (folder / f"{name}.ipynb").write_bytes(hs.CASES[name].build())
    first = grade(hs.ASSIGNMENT, folder, tmp_path / "out", limits=hs.limits(), progress=False)
    second = grade(hs.ASSIGNMENT, folder, tmp_path / "out", limits=hs.limits(), progress=False, force=True)
    scores = lambda rows: {r["student_id"]: float(r["score"]) for r in rows}  # noqa: E731
    assert scores(first) == scores(second) == {n: hs.CASES[n].score for n in names}


def test_refuses_to_run_without_a_sandbox(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "available", lambda: (False, "bubblewrap (bwrap) is not installed"))
    (tmp_path / "subs").mkdir()
    with pytest.raises(SetupError, match="--unsafe-no-sandbox"):
        grade(hs.ASSIGNMENT, tmp_path / "subs", tmp_path / "out", progress=False)


def test_unsafe_mode_still_grades_from_the_grader_results(tmp_path):
    """Without bubblewrap (--unsafe-no-sandbox) the grading logic is the same; only isolation is lost."""
    folder = tmp_path / "subs"
    folder.mkdir()
    for name in ("correct", "allclose-patched"):
        (folder / f"{name}.ipynb").write_bytes(hs.CASES[name].build())
    rows = grade(hs.ASSIGNMENT, folder, tmp_path / "out", limits=hs.limits(), progress=False, unsafe_no_sandbox=True)
    assert {r["student_id"]: float(r["score"]) for r in rows} == {"correct": 12.0, "allclose-patched": 10.0}


@needs_bwrap
def test_command_exit_status_says_whether_a_human_must_look(tmp_path, capsys):
    from autograder.commands.grade import main

    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "fine.ipynb").write_bytes(hs.CASES["correct"].build())
    common = [hs.ASSIGNMENT, str(folder), "--out", str(tmp_path / "out"), "--quiet", "--function-timeout", "5"]
    assert main(common) == 0
    (folder / "broken.ipynb").write_bytes(hs.CASES["invalid-json"].build())
    assert main(common) == 1
    assert "needs review" in capsys.readouterr().out
