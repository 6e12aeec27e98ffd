"""Hidden cases for assignment 06 ("self-attention"): masks, self-attention with random shapes and edge cases."""
from __future__ import annotations

import numpy as np

from autograder.grading.cases import Case, FunctionSpec, as_plain_array, compare
from autograder.reasons import R, Reason
from autograder.grading.specs.common import DTYPES, randn as _randn, lead_dims as _lead
from autograder.grading.reference import mha as ref


def causal_mask_cases(rng):
    yield Case("n = 1", (1,))
    yield Case("n = 2", (2,))
    for i, n in enumerate(rng.integers(3, 40, size=3)):
        yield Case(f"random n {i}", (int(n),))


def padding_mask_cases(rng):
    for i in range(4):
        n = int(rng.integers(1, 10))
        B = int(rng.integers(1, 6))
        yield Case(f"random {i}", (rng.integers(0, n + 1, size=B), n))
    yield Case("lengths given as a Python list", ([3, 1, 4], 5))
    yield Case("a sequence of length 0 (every key masked)", (np.array([0, 2]), 3))
    yield Case("every sequence full length", (np.array([4, 4, 4]), 4))
    yield Case("a single sequence with a single token", (np.array([1]), 1))


def _weights(rng, d_model, d_k, d_v, dtype):
    scale = 1.0 / np.sqrt(d_model)
    return (_randn(rng, (d_model, d_k), dtype, scale), _randn(rng, (d_model, d_k), dtype, scale),
            _randn(rng, (d_model, d_v), dtype, scale))


def self_attention_cases(rng):
    for i in range(6):
        dtype = DTYPES[i % 2]
        lead = _lead(rng)
        n, d_model, d_k, d_v = (int(v) for v in rng.integers(1, 8, size=4))
        X = _randn(rng, lead + (n, d_model), dtype)
        yield Case(f"random {i}", (X, *_weights(rng, d_model, d_k, d_v, dtype)))
    X = _randn(rng, (4, 6))
    W = _weights(rng, 6, 3, 5, np.float64)
    yield Case("causal mask", (X, *W), {"mask": ref.causal_mask(4)})
    Xb = _randn(rng, (3, 5, 6))
    yield Case("padding mask from lengths [5, 2, 1]", (Xb, *W), {"mask": ref.padding_mask([5, 2, 1], 5)})
    yield Case("causal and padding masks together", (Xb, *W),
               {"mask": ref.causal_mask(5) & ref.padding_mask([5, 3, 4], 5)})
    yield Case("a sequence of length 0 (every key masked)", (Xb, *W), {"mask": ref.padding_mask([0, 5, 2], 5)})
    yield Case("a single token", (_randn(rng, (1, 6)), *W))
    yield Case("a batch of single-token sequences with a causal mask", (_randn(rng, (4, 1, 6)), *W),
               {"mask": ref.causal_mask(1)})
    yield Case("d_k = d_v = d_model = 1", (_randn(rng, (2, 5, 1)), *_weights(rng, 1, 1, 1, np.float64)))
    yield Case("large magnitudes", (_randn(rng, (5, 6), scale=30.0), *W))
    yield Case("integer input X", (rng.integers(-3, 4, size=(4, 6)), *W))
    yield Case("float32 with d_model = 64", (_randn(rng, (2, 9, 64), np.float32), *_weights(rng, 64, 16, 16, np.float32)))


def compare_boolean_mask(student, case: Case, expected) -> Reason | None:
    """The text says "return a boolean array": 0/1 numbers in another dtype are not a mask."""
    arr = as_plain_array(student)
    if arr is not None and arr.dtype != bool:
        return R("bool_dtype", dtype=str(arr.dtype))
    return compare(student, np.asarray(expected, dtype=bool))


FUNCTIONS = {
    "causal_mask": FunctionSpec("causal_mask", ref.causal_mask, causal_mask_cases, compare=compare_boolean_mask),
    "padding_mask": FunctionSpec("padding_mask", ref.padding_mask, padding_mask_cases, compare=compare_boolean_mask),
    "self_attention": FunctionSpec("self_attention", ref.self_attention, self_attention_cases),
}
