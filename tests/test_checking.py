"""The comparison helper: what it accepts (correct code written differently) and what it rejects."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from autograder.grading.cases import as_plain_array, compare
from autograder.grading.checking import check
from autograder.grading.reference import qkv


def test_compare_accepts_float32_results_of_float64_problems():
    e = np.linspace(0, 1, 10)
    assert compare(e.astype(np.float32), e) is None


@pytest.mark.parametrize(
    "student, expected, words",
    [
        (np.zeros(3), np.zeros(4), "shape"),
        (np.array([np.nan, 1.0]), np.array([0.0, 1.0]), "NaN"),
        (np.array([1.0, 2.0]), np.array([1.0, 2.1]), "wrong in 1 of 2"),
        ("text", np.zeros(1), "numeric numpy array"),
        ((np.zeros(2),), (np.zeros(2), np.zeros(2)), "tuple of 2"),
        (np.array([np.inf]), np.array([1.0]), "infinite"),
    ],
)
def test_compare_rejects_with_a_reason(student, expected, words):
    problem = compare(student, expected)
    assert problem is not None and words in str(problem)  # a Reason: its English wording


def test_compare_accepts_torch_tensors_and_lists():
    assert compare(torch.ones(2, 2), np.ones((2, 2))) is None
    assert compare([[1.0, 2.0]], np.array([[1.0, 2.0]])) is None


def test_an_object_equal_to_everything_is_not_an_array():
    class Liar:
        def __eq__(self, other):
            return True

    assert as_plain_array(Liar()) is None


def test_modifying_inputs_in_place_is_rejected():
    def softmax_in_place(x, axis=-1):
        x -= x.max(axis=axis, keepdims=True)
        np.exp(x, out=x)
        x /= x.sum(axis=axis, keepdims=True)
        return x

    with pytest.raises(AssertionError, match="in place"):
        check("03-qkv", "softmax", softmax_in_place, seed=1)


def test_exceptions_become_reasons_not_crashes():
    def broken(Q, K):
        raise ValueError("shapes do not align")

    with pytest.raises(AssertionError, match="raised ValueError: shapes do not align"):
        check("03-qkv", "dot_product_scores", broken, seed=1)


def test_reason_names_the_case_but_not_the_expected_values():
    def uniform(scores, mask):
        return np.full(np.shape(scores), 1.0 / np.shape(scores)[-1])

    with pytest.raises(AssertionError) as info:
        check("03-qkv", "masked_softmax", uniform, seed=1)
    assert "hidden case" in str(info.value)


def test_fresh_seed_changes_the_random_cases(monkeypatch):
    from autograder.grading.cases import rng_for

    a = rng_for("03-qkv/softmax", 1).standard_normal(3)
    b = rng_for("03-qkv/softmax", 2).standard_normal(3)
    assert not np.allclose(a, b)
    monkeypatch.setenv("AUTOGRADER_SEED", "5")
    np.testing.assert_array_equal(rng_for("x").standard_normal(3), rng_for("x", 5).standard_normal(3))


def test_reference_outputs_preserve_float32():
    x = np.ones((2, 3), dtype=np.float32)
    assert qkv.softmax(x).dtype == np.float32
