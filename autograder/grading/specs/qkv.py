"""Hidden cases for assignment 03 ("qkv"): randomised shapes and dtypes plus edge cases."""
from __future__ import annotations

import numpy as np

from autograder.grading.cases import Case, FunctionSpec
from autograder.grading.specs.common import DTYPES, randn as _randn, lead_dims as _lead
from autograder.grading.reference import qkv as ref


def softmax_cases(rng):
    for i in range(6):
        dtype = DTYPES[i % 2]
        shape = _lead(rng) + (int(rng.integers(1, 6)), int(rng.integers(1, 8)))
        yield Case(f"random {i}", (_randn(rng, shape, dtype, scale=3.0),))
    yield Case("large magnitudes (+-1000)", (np.array([[1000.0, 999.0, -1000.0], [-1000.0, -1000.0, -999.0]]),))
    yield Case("large magnitudes float32", (np.array([1000.0, 1000.0, 990.0], dtype=np.float32),))
    yield Case("a single element", (np.array([[3.7]]),))
    yield Case("equal entries (ties)", (np.full((2, 5), 4.2),))
    x = _randn(rng, (3, 4, 5))
    yield Case("axis=0", (x,), {"axis": 0})
    yield Case("axis=1 of a 3-d array", (x,), {"axis": 1})
    yield Case("integer input", (np.array([[1, 2, 3], [0, 0, 0]]),))


def _mask(rng, shape, p=0.6):
    return rng.random(shape) < p


def masked_softmax_cases(rng):
    for i in range(5):
        dtype = DTYPES[i % 2]
        shape = _lead(rng) + (int(rng.integers(1, 5)), int(rng.integers(1, 7)))
        yield Case(f"random {i}", (_randn(rng, shape, dtype, 3.0), _mask(rng, shape)))
    s = _randn(rng, (3, 4))
    m = np.ones((3, 4), dtype=bool)
    m[1] = False
    yield Case("one row entirely masked", (s, m))
    yield Case("every row masked", (s, np.zeros((3, 4), dtype=bool)))
    yield Case("nothing masked", (s, np.ones((3, 4), dtype=bool)))
    yield Case("mask broadcast over rows (shape (n_k,))", (_randn(rng, (2, 3, 5)), np.array([True, True, False, True, False])))
    yield Case("mask broadcast over the batch", (_randn(rng, (4, 2, 3)), _mask(rng, (1, 2, 3))))
    big = np.array([[1000.0, -1000.0, 999.0, 5.0]])
    yield Case("large magnitudes (+-1000)", (big, np.array([[True, True, False, True]])))
    yield Case("masked position holds the largest score", (np.array([[1.0, 50.0, 2.0]]), np.array([[True, False, True]])))
    yield Case("a single allowed key", (_randn(rng, (2, 1)), np.array([[True], [False]])))
    # Each row is shifted by its own maximum: one shift for the whole array underflows the low rows to 0 / 0.
    yield Case("rows of very different sizes (+1000 and -1000)",
               (np.array([[1000.0, 999.0, 998.0], [-1000.0, -999.0, -1001.0]]), np.ones((2, 3), dtype=bool)))


def _qk(rng, dtype, same_lead=True):
    d = int(rng.integers(1, 9))
    lead_q = _lead(rng)
    lead_k = lead_q if same_lead else tuple(1 for _ in lead_q)
    Q = _randn(rng, lead_q + (int(rng.integers(1, 6)), d), dtype)
    K = _randn(rng, lead_k + (int(rng.integers(1, 7)), d), dtype)
    return Q, K


def score_cases(rng, zero_vectors=False):
    for i in range(6):
        yield Case(f"random {i}", _qk(rng, DTYPES[i % 2], same_lead=i < 4))
    yield Case("a single key", (_randn(rng, (3, 4)), _randn(rng, (1, 4))))
    yield Case("d = 1", (_randn(rng, (2, 1)), _randn(rng, (3, 1))))
    yield Case("broadcast leading dimensions (2,1,...) with (1,3,...)", (_randn(rng, (2, 1, 4, 5)), _randn(rng, (1, 3, 6, 5))))
    yield Case("large magnitudes", (_randn(rng, (3, 4), scale=1000.0), _randn(rng, (5, 4), scale=1000.0)))
    yield Case("float32 with d = 64", (_randn(rng, (4, 64), np.float32), _randn(rng, (6, 64), np.float32)))
    if zero_vectors:
        Q = _randn(rng, (3, 4))
        Q[1] = 0.0
        K = _randn(rng, (5, 4))
        K[2] = 0.0
        yield Case("zero query and zero key vectors", (Q, K))
        yield Case("parallel vectors of different lengths", (np.array([[1.0, 2.0]]), np.array([[2.0, 4.0], [-3.0, -6.0]])))


def attention_cases(rng):
    for i in range(6):
        dtype = DTYPES[i % 2]
        lead = _lead(rng)
        n_q, n_k, d, d_v = (int(v) for v in rng.integers(1, 7, size=4))
        Q = _randn(rng, lead + (n_q, d), dtype)
        K = _randn(rng, lead + (n_k, d), dtype)
        V = _randn(rng, lead + (n_k, d_v), dtype)
        mask = None if i < 3 else _mask(rng, lead + (n_q, n_k))
        yield Case(f"random {i}" + (" with a mask" if mask is not None else ""), (Q, K, V), {"mask": mask})
    Q, K, V = _randn(rng, (3, 4)), _randn(rng, (5, 4)), _randn(rng, (5, 2))
    m = np.ones((3, 5), dtype=bool)
    m[0] = False
    yield Case("a row entirely masked", (Q, K, V), {"mask": m})
    yield Case("padding mask of shape (n_k,)", (Q, K, V), {"mask": np.array([True, True, True, False, False])})
    yield Case("a single key", (_randn(rng, (2, 3)), _randn(rng, (1, 3)), _randn(rng, (1, 4))))
    yield Case("keys equal values (K = V)", (Q, K, K.copy()))
    yield Case("large magnitudes", (_randn(rng, (2, 3), scale=300.0), _randn(rng, (4, 3), scale=300.0), _randn(rng, (4, 2))))
    yield Case(
        "broadcast leading dimensions",
        (_randn(rng, (2, 1, 3, 4)), _randn(rng, (1, 3, 5, 4)), _randn(rng, (1, 3, 5, 2))),
    )


FUNCTIONS = {
    "softmax": FunctionSpec("softmax", ref.softmax, softmax_cases),
    "masked_softmax": FunctionSpec("masked_softmax", ref.masked_softmax, masked_softmax_cases),
    "dot_product_scores": FunctionSpec("dot_product_scores", ref.dot_product_scores, score_cases),
    "scaled_dot_product_scores": FunctionSpec("scaled_dot_product_scores", ref.scaled_dot_product_scores, score_cases),
    "cosine_scores": FunctionSpec("cosine_scores", ref.cosine_scores, lambda rng: score_cases(rng, zero_vectors=True)),
    "attention": FunctionSpec("attention", ref.attention, attention_cases),
}
