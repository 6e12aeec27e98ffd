"""Hidden cases for assignment 04 ("alignment"): score functions with different query and key sizes,
contexts with padding masks, and whole attention-decoder steps."""
from __future__ import annotations

import numpy as np

from autograder.grading.cases import Case, FunctionSpec
from autograder.grading.specs.common import DTYPES, randn as _randn, lead_dims as _lead
from autograder.grading.reference import alignment as ref


def _dims(rng, k=3):
    return tuple(int(v) for v in rng.integers(1, 8, size=k))


def additive_cases(rng):
    for i in range(6):
        dtype = DTYPES[i % 2]
        lead = _lead(rng)
        n_q, n_k = _dims(rng, 2)
        d_q, d_k, d_a = _dims(rng)
        yield Case(f"random {i} (d_q={d_q}, d_k={d_k})", (
            _randn(rng, lead + (n_q, d_q), dtype), _randn(rng, lead + (n_k, d_k), dtype),
            _randn(rng, (d_q, d_a), dtype), _randn(rng, (d_k, d_a), dtype), _randn(rng, (d_a,), dtype)))
    W_q, W_k, v = _randn(rng, (3, 4)), _randn(rng, (5, 4)), _randn(rng, (4,))
    yield Case("one query and one key", (_randn(rng, (1, 3)), _randn(rng, (1, 5)), W_q, W_k, v))
    yield Case("saturated tanh (large inputs)", (_randn(rng, (2, 3), scale=100.0), _randn(rng, (4, 5), scale=100.0), W_q, W_k, v))
    yield Case("broadcast leading dimensions (2,1,...) with (1,3,...)",
               (_randn(rng, (2, 1, 2, 3)), _randn(rng, (1, 3, 4, 5)), W_q, W_k, v))
    yield Case("attention size d_a = 1", (_randn(rng, (2, 3)), _randn(rng, (3, 5)), _randn(rng, (3, 1)), _randn(rng, (5, 1)), _randn(rng, (1,))))


def general_cases(rng):
    for i in range(6):
        dtype = DTYPES[i % 2]
        lead = _lead(rng)
        n_q, n_k = _dims(rng, 2)
        d_q, d_k = _dims(rng, 2)
        yield Case(f"random {i} (d_q={d_q}, d_k={d_k})", (
            _randn(rng, lead + (n_q, d_q), dtype), _randn(rng, lead + (n_k, d_k), dtype), _randn(rng, (d_q, d_k), dtype)))
    yield Case("W = identity (the dot score)", (_randn(rng, (3, 4)), _randn(rng, (5, 4)), np.eye(4)))
    yield Case("a single key", (_randn(rng, (3, 2)), _randn(rng, (1, 6)), _randn(rng, (2, 6))))
    yield Case("broadcast leading dimensions", (_randn(rng, (2, 1, 3, 2)), _randn(rng, (1, 4, 5, 3)), _randn(rng, (2, 3))))


def context_cases(rng):
    for i in range(6):
        dtype = DTYPES[i % 2]
        lead = _lead(rng)
        n_q, n_k, d = _dims(rng)
        mask = None if i < 3 else rng.random(lead + (n_q, n_k)) < 0.7
        yield Case(f"random {i}" + (" with a mask" if mask is not None else ""),
                   (_randn(rng, lead + (n_q, n_k), dtype, 2.0), _randn(rng, lead + (n_k, d), dtype)), {"mask": mask})
    s, H = _randn(rng, (3, 5)), _randn(rng, (5, 2))
    yield Case("padding mask of shape (n_k,)", (s, H), {"mask": np.array([True, True, True, False, False])})
    m = np.ones((3, 5), dtype=bool)
    m[1] = False
    yield Case("a row entirely masked", (s, H), {"mask": m})
    yield Case("large scores (+-1000)", (_randn(rng, (2, 4), scale=1000.0), _randn(rng, (4, 3))), {"mask": None})
    yield Case("a single source position", (_randn(rng, (4, 1)), _randn(rng, (1, 3))), {"mask": None})


def _step_args(rng, dtype, lead_s, lead_h, n, d_s, d_h, d_out=None):
    s = _randn(rng, lead_s + (d_s,), dtype)
    H = _randn(rng, lead_h + (n, d_h), dtype)
    return s, H


def bahdanau_cases(rng):
    for i in range(5):
        dtype = DTYPES[i % 2]
        lead = _lead(rng)
        n, d_s, d_h, d_a = (int(v) for v in rng.integers(1, 7, size=4))
        s, H = _step_args(rng, dtype, lead, lead, n, d_s, d_h)
        mask = None if i < 2 else rng.random(lead + (n,)) < 0.7
        yield Case(f"random {i}" + (" with a mask" if mask is not None else ""),
                   (s, H, _randn(rng, (d_s, d_a), dtype), _randn(rng, (d_h, d_a), dtype), _randn(rng, (d_a,), dtype)), {"mask": mask})
    W = (_randn(rng, (3, 4)), _randn(rng, (2, 4)), _randn(rng, (4,)))
    yield Case("padding at the end of the source", (_randn(rng, (2, 3)), _randn(rng, (2, 5, 2))) + W,
               {"mask": np.array([[True, True, True, True, False], [True, True, False, False, False]])})
    yield Case("a single source position", (_randn(rng, (3,)), _randn(rng, (1, 2))) + W, {"mask": None})
    yield Case("one decoder state against a batch of sources", (_randn(rng, (3,)), _randn(rng, (4, 6, 2))) + W, {"mask": None})


def decoder_step_cases(rng):
    for i in range(5):
        dtype = DTYPES[i % 2]
        lead = _lead(rng)
        n, d_s, d_h, d_out = (int(v) for v in rng.integers(1, 7, size=4))
        s, H = _step_args(rng, dtype, lead, lead, n, d_s, d_h)
        mask = None if i < 2 else rng.random(lead + (n,)) < 0.7
        yield Case(f"random {i}" + (" with a mask" if mask is not None else ""),
                   (s, H, _randn(rng, (d_s, d_h), dtype), _randn(rng, (d_h + d_s, d_out), dtype)), {"mask": mask})
    W_a, W_c = _randn(rng, (3, 2)), _randn(rng, (5, 4))
    yield Case("padding at the end of the source", (_randn(rng, (2, 3)), _randn(rng, (2, 5, 2)), W_a, W_c),
               {"mask": np.array([[True, True, True, True, False], [True, True, False, False, False]])})
    yield Case("a single source position", (_randn(rng, (3,)), _randn(rng, (1, 2)), W_a, W_c), {"mask": None})
    yield Case("one decoder state against a batch of sources", (_randn(rng, (3,)), _randn(rng, (4, 6, 2)), W_a, W_c), {"mask": None})
    yield Case("large states (saturated tanh)", (_randn(rng, (2, 3), scale=50.0), _randn(rng, (2, 4, 2), scale=50.0), W_a, W_c), {"mask": None})


FUNCTIONS = {
    "additive_scores": FunctionSpec("additive_scores", ref.additive_scores, additive_cases),
    "general_scores": FunctionSpec("general_scores", ref.general_scores, general_cases),
    "attention_context": FunctionSpec("attention_context", ref.attention_context, context_cases),
    "bahdanau_context": FunctionSpec("bahdanau_context", ref.bahdanau_context, bahdanau_cases),
    "attention_decoder_step": FunctionSpec("attention_decoder_step", ref.attention_decoder_step, decoder_step_cases),
}
