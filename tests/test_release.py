"""The student release in exercises/ is generated from solutions/, in sync, and leaks nothing."""
from __future__ import annotations

import json
import re

import pytest

from autograder.authoring.release import generate
from autograder.course import EXERCISES, SOLUTIONS
from tests.conftest import ASSIGNMENTS

LEAKS = re.compile(r"BEGIN SOLUTION|END SOLUTION|BEGIN HIDDEN TESTS|END HIDDEN TESTS|autograder|checking import check")


def test_every_assignment_is_released():
    assert ASSIGNMENTS, "no assignment found in solutions/"
    released = sorted(p.name for p in EXERCISES.iterdir() if p.is_dir() and p.name != "zh")
    assert released == ASSIGNMENTS, "exercises/ and solutions/ hold different assignments"
    chinese = sorted(p.name for p in (EXERCISES / "zh").iterdir() if p.is_dir())
    assert chinese == ASSIGNMENTS, "exercises/zh/ (the Chinese release) and solutions/ hold different assignments"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_is_in_sync(assignment, tmp_path):
    """Regenerating the release from the solutions reproduces the committed exercises/ exactly."""
    fresh = generate(assignment, release_dir=tmp_path)
    committed = EXERCISES / assignment
    names = sorted(p.name for p in fresh.iterdir())
    assert names == sorted(p.name for p in committed.iterdir()), "different files; run `make release`"
    for name in names:
        assert (fresh / name).read_bytes() == (committed / name).read_bytes(), (
            f"exercises/{assignment}/{name} is out of date; run `python -m autograder release {assignment}`"
        )


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
@pytest.mark.parametrize("language", ["en", "zh"])
def test_release_has_no_solutions_or_hidden_tests(assignment, language):
    released = EXERCISES / assignment if language == "en" else EXERCISES / "zh" / assignment
    for path in released.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            found = LEAKS.findall(text)
            assert not found, f"{path} leaks {set(found)}"
    for nb_path in released.glob("*.ipynb"):
        nb = json.loads(nb_path.read_text())
        answers = [c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("solution")]
        assert answers, "the release has no answer cells"
        for cell in answers:
            if cell["cell_type"] == "code":
                assert "raise NotImplementedError()" in "".join(cell["source"]), "an answer cell keeps code"
        for cell in nb["cells"]:
            assert not cell.get("outputs"), "the release carries outputs"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_notebooks_have_hidden_tests_calling_the_checker(assignment):
    """Every graded test cell of a source notebook runs the shared comparison helper in hidden tests."""
    for nb_path in (SOLUTIONS / assignment).glob("*.ipynb"):
        nb = json.loads(nb_path.read_text())
        graded = [c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade") and c["cell_type"] == "code"]
        assert graded, "no graded test cells"
        for cell in graded:
            src = "".join(cell["source"])
            gid = cell["metadata"]["nbgrader"]["grade_id"]
            assert src.lstrip().startswith('"""'), f"{gid}: a test cell starts with a docstring saying what it checks"
            assert "### BEGIN HIDDEN TESTS" in src and f'check("{assignment}"' in src, f"{gid}: no hidden check"
            assert not cell.get("outputs"), f"{gid}: committed outputs"
