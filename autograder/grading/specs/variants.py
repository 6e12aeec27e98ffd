"""Hidden cases for assignment 05 ("variants"): randomised inputs plus the edge cases of each variant."""
from __future__ import annotations

import numpy as np

from autograder.grading.cases import Case, FunctionSpec, as_plain_array, compare
from autograder.reasons import R, Reason
from autograder.grading.reference import variants as ref
from autograder.grading.reference.qkv import masked_softmax, softmax
from autograder.grading.specs.common import DTYPES, randn as _randn, lead_dims as _lead


def _int(rng, lo, hi):
    return int(rng.integers(lo, hi))


# ---------------------------------------------------------------- location_scores
def location_scores_cases(rng):
    for i in range(5):
        d, n_q, n_max = _int(rng, 1, 7), _int(rng, 1, 5), _int(rng, 1, 9)
        yield Case(f"random {i}", (_randn(rng, _lead(rng) + (n_q, d), DTYPES[i % 2]), _randn(rng, (d, n_max), DTYPES[i % 2])))
    yield Case("a single query", (_randn(rng, (1, 4)), _randn(rng, (4, 6))))
    yield Case("d = 1", (_randn(rng, (3, 1)), _randn(rng, (1, 5))))
    yield Case("two batch dimensions", (_randn(rng, (2, 3, 4, 5)), _randn(rng, (5, 7))))
    yield Case("large magnitudes", (_randn(rng, (3, 4), scale=1000.0), _randn(rng, (4, 6), scale=1000.0)))


# ---------------------------------------------------------------- local_window
def local_window_cases(rng):
    for i in range(5):
        n = _int(rng, 1, 12)
        p = rng.uniform(0, n - 1, size=_lead(rng))
        yield Case(f"random real centres {i}", (p, n, _int(rng, 1, 5)))
    yield Case("window at the start of the sequence", (np.array(0.0), 8, 3))
    yield Case("window at the end of the sequence", (np.array(7.0), 8, 3))
    yield Case("window near the end, real centre", (np.array([6.4, 0.6]), 8, 2))
    yield Case("D larger than the sequence", (np.array([0.0, 2.0, 4.0]), 5, 20))
    yield Case("integer centres p_t = t (local-m)", (np.arange(9).astype(float), 9, 2))
    yield Case("centre half-way between two positions", (np.array([2.5, 3.5]), 8, 1))
    yield Case("positions exactly D away are inside", (np.array(3.0), 8, 2))
    yield Case("D = 0 (a single position)", (np.array([0.0, 3.0, 5.0]), 6, 0))
    yield Case("a sequence of length 1", (np.array([0.0]), 1, 2))


# ---------------------------------------------------------------- local_p_attention
def _local_p_args(rng, lead, n, d, d_p, D, dtype=np.float64):
    return (_randn(rng, lead + (d,), dtype), _randn(rng, lead + (n, d), dtype),
            _randn(rng, (d, d_p), dtype), _randn(rng, (d_p,), dtype), D)


def local_p_cases(rng):
    for i in range(6):
        n, d, d_p = _int(rng, 2, 12), _int(rng, 1, 6), _int(rng, 1, 5)
        yield Case(f"random {i}", _local_p_args(rng, _lead(rng), n, d, d_p, _int(rng, 1, 5), DTYPES[i % 2]))
    # Centres pushed to an end: v_p aligned with tanh(W_p^T h_t), times +-50, saturates the sigmoid.
    for label, sign in (("predicted centre at the start of the sequence", -1.0), ("predicted centre at the end of the sequence", 1.0)):
        h_t, H, W_p, v_p, D = _local_p_args(rng, (), 9, 4, 3, 2)
        v_p = sign * 50.0 * np.sign(np.tanh(h_t @ W_p))
        yield Case(label, (h_t, H, W_p, v_p, D))
    yield Case("D larger than the sequence", _local_p_args(rng, (2,), 4, 3, 3, 10))
    yield Case("a single source position", _local_p_args(rng, (), 1, 3, 2, 1))
    yield Case("large source states (scores of +-1000)", tuple(
        a * 30.0 if i in (0, 1) else a for i, a in enumerate(_local_p_args(rng, (3,), 7, 4, 3, 2))))
    yield Case("D = 1, a narrow window", _local_p_args(rng, (2,), 10, 4, 3, 1))


# ---------------------------------------------------------------- hard_attention
def _weights(rng, shape, dtype=np.float64):
    return softmax(_randn(rng, shape, scale=2.0)).astype(dtype)


def hard_attention_cases(rng):
    for i in range(4):
        lead, n_q, n_k, d_v = _lead(rng), _int(rng, 1, 5), _int(rng, 1, 8), _int(rng, 1, 5)
        yield Case(f"random {i}", (_weights(rng, lead + (n_q, n_k), DTYPES[i % 2]), _randn(rng, lead + (n_k, d_v), DTYPES[i % 2])))
    V = _randn(rng, (5, 3))
    ties = np.array([[0.1, 0.35, 0.1, 0.35, 0.1], [0.2, 0.2, 0.2, 0.2, 0.2], [0.0, 0.0, 0.5, 0.0, 0.5]])
    yield Case("ties: several equal maxima in a row", (ties, V))
    masked = masked_softmax(_randn(rng, (3, 5)), np.array([[1, 0, 1, 1, 0], [0, 0, 0, 0, 0], [0, 1, 0, 0, 0]], dtype=bool))
    yield Case("masked positions and a row entirely masked", (masked, V))
    yield Case("weights that do not sum to 1 (local-p style)", (0.3 * _weights(rng, (4, 5)), V))
    yield Case("values shared by a batch of weights", (_weights(rng, (2, 3, 5)), V))
    for i in range(3):
        lead, n_q, n_k = _lead(rng), _int(rng, 1, 5), _int(rng, 2, 8)
        yield Case(f"sampled, random {i}", (_weights(rng, lead + (n_q, n_k), DTYPES[i % 2]), _randn(rng, lead + (n_k, 2))),
                   {"sample": True, "rng": np.random.default_rng(int(rng.integers(2**32)))})
    yield Case("sampled, with a row entirely masked", (masked, V), {"sample": True, "rng": np.random.default_rng(int(rng.integers(2**32)))})
    yield Case("sampled, weights that do not sum to 1", (0.3 * _weights(rng, (20, 5)), V),
               {"sample": True, "rng": np.random.default_rng(int(rng.integers(2**32)))})
    yield Case("sampled from one-hot rows", (np.eye(5)[[4, 0, 2]], V), {"sample": True, "rng": np.random.default_rng(int(rng.integers(2**32)))})
    yield Case("sample=False ignores rng", (ties, V), {"sample": False, "rng": np.random.default_rng(0)})
    # "In sampling mode it draws nothing" for an all-zero row: every second row is all zeros, so one extra draw
    # shifts every later draw and the rows sampled after it differ.
    spread = _weights(rng, (40, 5))
    spread[::2] = 0.0
    yield Case("sampled, every second row entirely masked (no draw for them)", (spread, V),
               {"sample": True, "rng": np.random.default_rng(int(rng.integers(2**32)))})


def compare_hard_attention(student, case: Case, expected) -> Reason | None:
    """Shapes and types first; then each read-out must be one of the value rows (zeros for a masked row);
    sampled cases must also reproduce the reference's draws from the same seeded generator."""
    if not isinstance(student, (tuple, list)) or len(student) != 2:
        return R("hard_not_tuple", got=type(student).__name__)
    out, one_hot = (as_plain_array(x) for x in student)
    exp_out, exp_hot = expected
    if out is None or one_hot is None:
        return R("hard_not_numeric")
    if out.shape != exp_out.shape or one_hot.shape != exp_hot.shape:
        return R("hard_shapes", out=str(out.shape), hot=str(one_hot.shape), exp_out=str(exp_out.shape),
                 exp_hot=str(exp_hot.shape))
    if not np.isin(one_hot, (0, 1)).all() or np.any(one_hot.sum(-1) > 1):
        return R("hard_one_hot")
    weights = np.asarray(case.args[0])
    if np.any(one_hot.astype(bool) & (weights == 0)):
        return R("hard_zero_weight")
    if np.any((one_hot.sum(-1) == 0) != np.all(weights == 0, axis=-1)):
        return R("hard_masked_rows")
    picked = one_hot.astype(np.float64) @ np.asarray(case.args[1], dtype=np.float64)
    if compare(out, picked, what=R("output")):
        return R("hard_output")
    if case.kwargs.get("sample"):
        if not np.array_equal(one_hot.astype(bool), exp_hot.astype(bool)):
            return R("hard_sampled", call="rng.choice(n_k, p=row / row.sum())")
        return None
    return compare(student, expected)


# ---------------------------------------------------------------- monotonic_mask
def monotonic_mask_cases(rng):
    for i in range(5):
        n_k = _int(rng, 1, 10)
        prev = rng.integers(0, n_k, size=_lead(rng))
        step = None if i < 2 else _int(rng, 0, 4)
        yield Case(f"random {i}" + ("" if step is None else " with max_step"), (prev, n_k), {"max_step": step})
    yield Case("previous position at the start", (np.array([0]), 6), {"max_step": 2})
    yield Case("previous position at the last source position", (np.array([5, 4]), 6), {"max_step": 3})
    yield Case("max_step = 0 (stay where you are)", (np.array([0, 2, 5]), 6), {"max_step": 0})
    yield Case("max_step larger than the sequence", (np.array([1, 3]), 5), {"max_step": 50})
    yield Case("no max_step (any later position)", (np.array([[0, 1], [3, 4]]), 5))
    yield Case("prev given as a plain int", (3, 7), {"max_step": 2})


# ---------------------------------------------------------------- key_value_split
def key_value_split_cases(rng):
    for i in range(5):
        d = _int(rng, 2, 10)
        yield Case(f"random {i}", (_randn(rng, _lead(rng) + (_int(rng, 1, 6), d), DTYPES[i % 2]), _int(rng, 1, d)))
    yield Case("d_k = 1", (_randn(rng, (4, 6)), 1))
    yield Case("d_k = d - 1", (_randn(rng, (4, 6)), 5))
    yield Case("two batch dimensions", (_randn(rng, (2, 3, 4, 8)), 3))


# ---------------------------------------------------------------- attention_entropy
def attention_entropy_cases(rng):
    for i in range(5):
        shape = _lead(rng) + (_int(rng, 1, 5), _int(rng, 1, 9))
        yield Case(f"random {i}", (_weights(rng, shape, DTYPES[i % 2]),))
    yield Case("one-hot rows", (np.eye(4)[[2, 0, 3]],))
    yield Case("uniform rows", (np.full((2, 6), 1 / 6),))
    yield Case("rows with zero weights (0 log 0 = 0)", (masked_softmax(_randn(rng, (3, 6)), rng.random((3, 6)) < 0.5),))
    m = np.ones((3, 5), dtype=bool)
    m[1] = False
    yield Case("a row entirely masked (all zeros)", (masked_softmax(_randn(rng, (3, 5)), m),))
    yield Case("a single position", (np.ones((4, 1)),))
    yield Case("tiny weights (1e-300)", (np.array([[1.0 - 2e-300, 1e-300, 1e-300]]),))
    yield Case("a 1-d vector of weights", (_weights(rng, (7,)),))
    yield Case("float32 rows with zeros (no warning allowed)", (masked_softmax(_randn(rng, (4, 6)), rng.random((4, 6)) < 0.5).astype(np.float32),))


FUNCTIONS = {
    "location_scores": FunctionSpec("location_scores", ref.location_scores, location_scores_cases),
    "local_window": FunctionSpec("local_window", ref.local_window, local_window_cases),
    "local_p_attention": FunctionSpec("local_p_attention", ref.local_p_attention, local_p_cases),
    "hard_attention": FunctionSpec("hard_attention", ref.hard_attention, hard_attention_cases, compare=compare_hard_attention),
    "monotonic_mask": FunctionSpec("monotonic_mask", ref.monotonic_mask, monotonic_mask_cases),
    "key_value_split": FunctionSpec("key_value_split", ref.key_value_split, key_value_split_cases),
    # "no nan and no warning": a warning raised on any case is an error (FunctionSpec.no_warnings).
    "attention_entropy": FunctionSpec("attention_entropy", ref.attention_entropy, attention_entropy_cases, no_warnings=True),
}
