"""Every solution notebook passes its tests; every released exercise fails them (nbgrader validate)."""
from __future__ import annotations

import json
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


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_chinese_release_passes_its_tests_with_the_solutions(assignment, tmp_path):
    """The Chinese release with the instructor's answers in its answer cells passes every visible test: the
    translated docstrings, comments and messages changed no test, and its locked cells' checksums are nbgrader's
    own (``validate`` reports a locked cell whose checksum does not match as changed)."""
    from autograder.authoring.translate import ZH_EXERCISES
    from tests.samples import Sample, build

    (released,) = sorted((ZH_EXERCISES / assignment).glob("*.ipynb"))
    path = tmp_path / released.name
    path.write_text(json.dumps(build(assignment, Sample(score=0), ZH_EXERCISES)), encoding="utf-8")
    result = validate(path)
    assert result.returncode == 0 and "Success! Your notebook passes all the tests." in result.stdout, (
        result.stdout[-3000:] + result.stderr[-3000:]
    )


NAN_ROW = '''
def masked_softmax(scores, mask):
    s = np.where(mask, scores, -np.inf)
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
'''


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_failing_visible_test_speaks_the_language_of_its_release(language, tmp_path):
    """A masked_softmax that gives nan on a fully masked row fails the same visible assert in both releases; the
    student reads its message in the release's language (issue 25's example)."""
    from autograder.authoring.translate import ZH_EXERCISES
    from tests.samples import Sample, build

    release = ZH_EXERCISES if language == "zh" else None
    nb = build("03-qkv", Sample(score=0, override={"masked-softmax-answer": NAN_ROW}), release)
    path = tmp_path / "qkv.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    result = validate(path)
    said = {"en": "a fully masked row must be all zeros (no nan)", "zh": "整行都被遮住时必须全为零（不能有 nan）"}
    assert "VALIDATION FAILED ON 1 CELL(S)" in result.stdout, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"AssertionError: {said[language]}" in result.stdout, result.stdout[-3000:]
    other = said["zh" if language == "en" else "en"]
    assert other not in result.stdout
