"""The instructor's grading command gives every sample submission its exact expected score."""
from __future__ import annotations

import pytest

from autograder.term import grade
from autograder.grading.sandbox import Limits
from tests.conftest import ASSIGNMENTS
from tests.samples import modules, write_all

SAMPLED = sorted(modules())

# Graded in the same xdist worker as the hostile suite, which checks that no sandboxed process outlives
# a batch: with both in one group, no other grading runs in parallel with that check.
pytestmark = pytest.mark.xdist_group("hostile")


def test_every_assignment_has_samples():
    assert SAMPLED == ASSIGNMENTS, "each assignment needs tests/samples/a<NN>_<slug>.py"


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("assignment", SAMPLED)
def test_sample_submissions_get_their_exact_scores(assignment, language, tmp_path):
    """Every sample gets its exact score, built from the English release and from the Chinese one (whose docstrings,
    comments and test messages are translated): a Chinese notebook grades exactly like an English one."""
    from autograder.authoring.translate import ZH_EXERCISES

    expected = write_all(assignment, tmp_path / "submissions", ZH_EXERCISES if language == "zh" else None)
    # Short cell limit: a sample that loops forever costs its cell 8 s, not the default minute.
    limits = Limits(function_timeout=15, cell_timeout=8, notebook_timeout=300)
    rows = grade(assignment, tmp_path / "submissions", tmp_path / "out", limits=limits, progress=False)
    got = {r["student_id"]: float(r["score"]) for r in rows}
    assert got == {k: float(v) for k, v in expected.items()}
    max_scores = {float(r["max_score"]) for r in rows}
    assert max_scores == {float(modules()[assignment].MAX_SCORE)}
    # Feedback exists for everyone and reveals neither hidden tests nor the reference.
    for student in expected:
        (html,) = (tmp_path / "out" / "feedback" / student / assignment).glob("*.html")
        text = html.read_text(encoding="utf-8")
        assert "BEGIN HIDDEN TESTS" not in text and "autograder" not in text
        assert ("<html lang='zh-CN'>" if language == "zh" else "<html lang='en'>") in text
