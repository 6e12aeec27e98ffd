"""Hidden cases for assignment 07 ("multihead"): splitting and merging heads, multi-head attention."""
from __future__ import annotations

import numpy as np

from autograder.grading.cases import Case, FunctionSpec
from autograder.grading.specs.common import DTYPES, randn as _randn, lead_dims as _lead
from autograder.grading.reference import mha as ref


def _heads_and_width(rng):
    h = int(rng.integers(1, 5))
    return h, h * int(rng.integers(1, 5))


def split_heads_cases(rng):
    for i in range(4):
        h, d_model = _heads_and_width(rng)
        X = _randn(rng, _lead(rng) + (int(rng.integers(1, 7)), d_model), DTYPES[i % 2])
        yield Case(f"random {i}", (X, h))
    yield Case("h = 1", (_randn(rng, (2, 5, 6)), 1))
    yield Case("h = d_model (heads of size 1)", (_randn(rng, (2, 5, 6)), 6))
    yield Case("a single token", (_randn(rng, (1, 8)), 4))
    yield Case("d_model = 512, h = 8", (_randn(rng, (2, 3, 512), np.float32), 8))
    yield Case("three leading dimensions", (_randn(rng, (2, 1, 3, 4, 6)), 3))


def merge_heads_cases(rng):
    for i in range(4):
        h, d_head = (int(v) for v in rng.integers(1, 5, size=2))
        X = _randn(rng, _lead(rng) + (h, int(rng.integers(1, 7)), d_head), DTYPES[i % 2])
        yield Case(f"random {i}", (X,))
    yield Case("one head", (_randn(rng, (2, 1, 5, 6)),))
    yield Case("heads of size 1", (_randn(rng, (2, 6, 5, 1)),))
    yield Case("a single token", (_randn(rng, (4, 1, 2)),))
    yield Case("8 heads of size 64", (_randn(rng, (2, 8, 3, 64), np.float32),))


def _params(rng, d_model, dtype=np.float64, bias=True):
    scale = 1.0 / np.sqrt(d_model)
    params = {f"W_{k}": _randn(rng, (d_model, d_model), dtype, scale) for k in "qkvo"}
    if bias:
        params.update({f"b_{k}": _randn(rng, (d_model,), dtype, 0.1) for k in "qkvo"})
    return params


def multi_head_attention_cases(rng):
    for i in range(6):
        dtype = DTYPES[i % 2]
        h, d_model = _heads_and_width(rng)
        lead = _lead(rng)
        n_q, n_k = (int(v) for v in rng.integers(1, 7, size=2))
        X_q = _randn(rng, lead + (n_q, d_model), dtype)
        X_kv = X_q if i % 3 == 0 else _randn(rng, lead + (n_k, d_model), dtype)
        label = f"random {i}" + (" (self-attention, X_kv is X_q)" if i % 3 == 0 else "")
        yield Case(label, (X_q, X_kv, _params(rng, d_model, dtype, bias=i != 1), h))
    X = _randn(rng, (3, 5, 8))
    P = _params(rng, 8)
    yield Case("no biases in params", (X, X, _params(rng, 8, bias=False), 2))
    yield Case("h = 1", (X, X, P, 1))
    yield Case("h = d_model", (X, X, P, 8))
    yield Case("causal mask (n, n)", (X, X, P, 2), {"mask": ref.causal_mask(5)})
    yield Case("padding mask (B, 1, n) from lengths [5, 3, 1]", (X, X, P, 4), {"mask": ref.padding_mask([5, 3, 1], 5)})
    yield Case("causal and padding masks together", (X, X, P, 2),
               {"mask": ref.causal_mask(5) & ref.padding_mask([4, 5, 2], 5)})
    yield Case("a key mask of shape (n_k,)", (X, X, P, 4), {"mask": np.array([True, False, True, True, False])})
    yield Case("a sequence of length 0 (every key masked)", (X, X, P, 2), {"mask": ref.padding_mask([0, 5, 3], 5)})
    X_q, X_kv = _randn(rng, (2, 3, 8)), _randn(rng, (2, 7, 8))
    yield Case("n_q = 3 queries, n_k = 7 keys", (X_q, X_kv, P, 2))
    yield Case("n_q != n_k with a (B, n_q, n_k) mask", (X_q, X_kv, P, 4), {"mask": rng.random((2, 3, 7)) < 0.6})
    yield Case("a single query against 6 keys", (_randn(rng, (2, 1, 8)), _randn(rng, (2, 6, 8)), P, 2))
    yield Case("a single-token sequence", (_randn(rng, (1, 8)), _randn(rng, (1, 8)), P, 4))
    yield Case("no batch dimension", (_randn(rng, (4, 8)), _randn(rng, (6, 8)), P, 2))
    yield Case("float32, d_model = 64, h = 8", (_randn(rng, (2, 6, 64), np.float32),) * 2
               + (_params(rng, 64, np.float32), 8))


FUNCTIONS = {
    "split_heads": FunctionSpec("split_heads", ref.split_heads, split_heads_cases),
    "merge_heads": FunctionSpec("merge_heads", ref.merge_heads, merge_heads_cases),
    "multi_head_attention": FunctionSpec("multi_head_attention", ref.multi_head_attention, multi_head_attention_cases),
}
