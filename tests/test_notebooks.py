"""Every solution notebook passes its tests; every released exercise fails them (nbgrader validate)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from autograder.course import EXERCISES, SOLUTIONS, nbgrader_env
from tests.conftest import ASSIGNMENTS


def validate(path, invert=False) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "nbgrader", "validate", str(path)] + (["--invert"] if invert else [])
    return subprocess.run(cmd, cwd=path.parent, capture_output=True, text=True, env=nbgrader_env(), timeout=600)


def notebooks(folder):
    return [pytest.param(p, id=f"{p.relative_to(folder.parent)}") for a in ASSIGNMENTS for p in sorted((folder / a).glob("*.ipynb"))]


@pytest.mark.parametrize("path", notebooks(SOLUTIONS))
def test_solution_passes_its_tests(path):
    result = validate(path)
    assert result.returncode == 0 and "Success! Your notebook passes all the tests." in result.stdout, (
        result.stdout[-3000:] + result.stderr[-3000:]
    )


@pytest.mark.parametrize("path", notebooks(EXERCISES) + notebooks(EXERCISES / "zh"))
def test_release_fails_its_tests(path):
    """`validate --invert` succeeds only if every graded test cell of the blank release fails."""
    result = validate(path, invert=True)
    assert result.returncode == 0 and "Success! The notebook does not pass any tests." in result.stdout, (
        result.stdout[-3000:] + result.stderr[-3000:]
    )
