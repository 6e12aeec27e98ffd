"""Hidden cases for assignment 09 ("gpt-bert"): the 80/10/10 masking rule and sampling the next token.

Both functions use their generator in the documented order (see ``autograder.grading.reference.lm``), so a correct
answer reproduces the reference's output exactly from the same generator state.
"""
from __future__ import annotations

import numpy as np

from autograder.grading.cases import Case, FunctionSpec
from autograder.grading.reference import lm as ref


def _gen(rng):
    return np.random.default_rng(int(rng.integers(2**32)))


def mlm_mask_cases(rng):
    for i in range(5):
        V = int(rng.integers(2, 40))
        shape = tuple(int(n) for n in rng.integers(1, 30, size=int(rng.integers(1, 3))))
        p = float(rng.choice([0.15, 0.3, 0.5]))
        yield Case(f"random {i}", (rng.integers(0, V, size=shape), p, _gen(rng), V, V))
    tokens = rng.integers(0, 10, size=(8, 50))
    yield Case("p = 0 (nothing selected)", (tokens, 0.0, _gen(rng), 10, 10))
    yield Case("p = 1 (everything selected)", (tokens, 1.0, _gen(rng), 10, 10))
    yield Case("mask id inside the vocabulary (0)", (tokens, 0.4, _gen(rng), 0, 10))
    yield Case("a single token", (np.array([3]), 0.9, _gen(rng), 5, 5))
    yield Case("int32 tokens", (tokens.astype(np.int32), 0.25, _gen(rng), 10, 10))
    yield Case("a long sequence (2000 tokens)", (rng.integers(0, 30, size=2000), 0.15, _gen(rng), 30, 30))


def sample_next_cases(rng):
    for i in range(6):
        V = int(rng.integers(2, 30))
        lead = () if i < 3 else (int(rng.integers(1, 6)),)
        T = float(rng.choice([0.5, 1.0, 1.7]))
        k = None if i % 2 else int(rng.integers(1, V + 1))
        yield Case(f"random {i}", (3 * rng.standard_normal(lead + (V,)), T, k, _gen(rng)))
    logits = np.array([1.0, 2.0, 3.0, 3.0, 0.5])
    yield Case("temperature 0 (greedy)", (rng.standard_normal((4, 7)), 0.0, None, _gen(rng)))
    yield Case("temperature 0 with top_k", (logits, 0.0, 2, _gen(rng)))
    yield Case("top_k = 1", (rng.standard_normal((6, 9)), 1.0, 1, _gen(rng)))
    yield Case("top_k equal to the vocabulary size", (rng.standard_normal((3, 5)), 1.0, 5, _gen(rng)))
    yield Case("top_k larger than the vocabulary", (rng.standard_normal(5), 1.0, 12, _gen(rng)))
    yield Case("ties at the k-th largest logit", (np.tile(logits, (20, 1)), 1.0, 3, _gen(rng)))
    # "ties with the k-th largest are kept": the k-th largest value is shared by several tokens, so a top-k that
    # keeps exactly k tokens never draws some of them; with 60 rows, the reference draws each of them.
    yield Case("top_k = 1 with two equal largest logits (both kept)", (np.tile([1.0, 3.0, 3.0, 0.5], (60, 1)), 1.0, 1, _gen(rng)))
    yield Case("top_k = 2 with the 2nd largest shared by three tokens", (np.tile([2.0, 4.0, 2.0, 2.0, 0.0], (60, 1)), 1.0, 2, _gen(rng)))
    yield Case("some logits are -inf", (np.array([[-np.inf, 0.0, 1.0, -np.inf]] * 10), 1.0, None, _gen(rng)))
    yield Case("very low temperature (0.01)", (rng.standard_normal((5, 6)), 0.01, None, _gen(rng)))
    yield Case("very high temperature (100)", (rng.standard_normal((30, 6)), 100.0, 4, _gen(rng)))
    yield Case("large logits (+-1000)", (np.array([[1000.0, 999.0, -1000.0]] * 8), 1.0, None, _gen(rng)))
    # One softmax per row: shifting all rows by one maximum underflows the low rows to 0 / 0.
    yield Case("rows of very different sizes (+1000 and -1000)",
               (np.array([[1000.0, 999.0, 998.0], [-1000.0, -999.0, -1001.0]] * 5), 1.0, None, _gen(rng)))
    yield Case("many draws from one distribution", (np.tile(rng.standard_normal(10), (500, 1)), 1.0, 6, _gen(rng)))


FUNCTIONS = {
    "mlm_mask": FunctionSpec("mlm_mask", ref.mlm_mask, mlm_mask_cases),
    "sample_next": FunctionSpec("sample_next", ref.sample_next, sample_next_cases),
}
