"""No correct implementation of a graded function is within the student's reach while it is graded (issue 26).

For every assignment with stand-ins, ``tests/hostile_steal.py`` builds one submission per route a student might
steal by (the garbage collector and the call stack; the file system; importing the grader's packages), each
replacing every function that has a stand-in by a thief, and the honest solution. Graded with the real command:
every stolen function's test cell gets 0, every other one its points, the honest solution full marks, and no
thief's output says it stole anything. For 03, a submission also tries to carry a stand-in from one test's
process to another's (files in /tmp, ~, /dev/shm and the working folder, a lingering process, System V shared
memory, a POSIX message queue, the user's keyring).
"""
from __future__ import annotations

import json
import re

import pytest

from autograder.grading import sandbox
from autograder.term import grade
from autograder.reasons import render  # a stored reason is data: its English wording
from tests import hostile_steal as hst
from tests.samples import Sample, build

pytestmark = [pytest.mark.xdist_group("hostile"),
              pytest.mark.skipif(not sandbox.available()[0], reason="bubblewrap cannot run here")]


def limits():
    # Generous: the file-system thief walks the sandbox, and other jobs may share the machine.
    return sandbox.Limits(function_timeout=15, cell_timeout=20, notebook_timeout=150, cpu_seconds=300)


@pytest.mark.parametrize("assignment", hst.ASSIGNMENTS)
def test_thieves_find_nothing_and_the_honest_solution_keeps_full_marks(assignment, tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "honest.ipynb").write_text(json.dumps(build(assignment, Sample(score=0))))
    for route in hst.ROUTES:
        (folder / f"steal-{route}.ipynb").write_bytes(hst.notebook(assignment, route))
    if assignment == "03-qkv":
        (folder / "stash.ipynb").write_bytes(hst.stash_notebook())
    rows = grade(assignment, folder, tmp_path / "out", limits=limits(), progress=False)
    results = {p.stem: json.loads(p.read_text()) for p in (tmp_path / "out" / "work" / "results").glob("*.json")}
    points, lost = hst.expected(assignment)
    assert lost, f"{assignment}: no test cell grades a function with a stand-in"
    wrong = []
    honest = results["honest"]
    if honest["scores"] != points:
        wrong.append(f"honest: {honest['scores']} {honest['reasons']}")
    cases = {f"steal-{r}": lost for r in hst.ROUTES}
    if assignment == "03-qkv":
        cases["stash"] = {"cosine-tests"}
    for name, zero in cases.items():
        result = results[name]
        for question, full in points.items():
            want = 0.0 if question in zero else full
            if result["scores"][question] != want:
                wrong.append(f"{name}: {question} got {result['scores'][question]} (want {want}): "
                             f"{result['reasons'].get(question)}")
        (page,) = (tmp_path / "out" / "feedback" / name / assignment).glob("*.html")
        if re.search(r"STOLE [a-z_]+ (by|from)", page.read_text()):  # what a thief prints when it finds something
            wrong.append(f"{name}: its feedback shows it stole something")
    assert not wrong, "\n".join(wrong)
    assert {r["student_id"] for r in rows} == {"honest", *cases}


def test_a_stand_in_of_the_graded_function_in_reach_is_caught(tmp_path, monkeypatch):
    """The guard fails loudly if a change to the grader ever gives a test cell a stand-in of the function it grades:
    here every test cell of 03 gets the stand-ins of all five functions that have one, its own included. The cells
    of those five get 0 with the reason and the submission is flagged; ``attention`` (no stand-in) is graded."""
    from autograder.grading import standins
    from autograder.grading import run as run_stage

    monkeypatch.setattr(run_stage, "given_source",
                        lambda spec, checks: standins.source_for(spec.name, sorted(standins.STANDINS[spec.name])))
    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "honest.ipynb").write_text(json.dumps(build("03-qkv", Sample(score=0))))
    (row,) = grade("03-qkv", folder, tmp_path / "out", limits=limits(), progress=False)
    result = json.loads((tmp_path / "out" / "work" / "results" / "honest.json").read_text())
    points, lost = hst.expected("03-qkv")
    for question, full in points.items():
        if question in lost:
            assert result["scores"][question] == 0
            reason = render(result["reasons"][question])  # stored as data: its English wording
            assert "not graded automatically: a correct implementation of" in reason
            assert "stand-in of" in reason
        else:
            assert result["scores"][question] == full, result["reasons"].get(question)
    assert row["needs_review"] is True, row
