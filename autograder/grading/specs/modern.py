"""Hidden cases for assignment 10 ("modern"): blockwise attention, a KV-cache step and RoPE."""
from __future__ import annotations

import numpy as np

from autograder.grading.cases import Case, FunctionSpec
from autograder.grading.reference import modern as ref
from autograder.grading.specs.common import DTYPES, randn as _randn


def _qkv(rng, dtype, lead, h, h_kv, n_q, n_k, d, d_v):
    Q = _randn(rng, lead + (h, n_q, d), dtype)
    K = _randn(rng, lead + (h_kv, n_k, d), dtype)
    V = _randn(rng, lead + (h_kv, n_k, d_v), dtype)
    return Q, K, V


def blockwise_cases(rng):
    for i in range(6):
        dtype = DTYPES[i % 2]
        lead = tuple(int(v) for v in rng.integers(1, 3, size=int(rng.integers(0, 2))))
        n = int(rng.integers(2, 20))
        d, d_v = int(rng.integers(1, 9)), int(rng.integers(1, 6))
        block = int(rng.integers(1, n + 3))
        causal = bool(i % 3 == 1)
        yield Case(f"random {i}" + (" causal" if causal else ""),
                   _qkv(rng, dtype, lead, 2, 2, n, n, d, d_v), {"block_size": block, "causal": causal})
    yield Case("block size that does not divide n (n = 10, block 4)",
               _qkv(rng, np.float64, (), 2, 2, 10, 10, 4, 3), {"block_size": 4})
    yield Case("block size larger than n", _qkv(rng, np.float64, (), 1, 1, 5, 5, 3, 3), {"block_size": 16})
    yield Case("block size 1, causal", _qkv(rng, np.float64, (), 2, 2, 6, 6, 4, 2), {"block_size": 1, "causal": True})
    yield Case("n = 1", _qkv(rng, np.float64, (), 1, 1, 1, 1, 4, 4), {"block_size": 3})
    yield Case("n = 1, causal", _qkv(rng, np.float32, (2,), 2, 2, 1, 1, 3, 2), {"block_size": 2, "causal": True})
    yield Case("float32, n = 33, block 8, causal", _qkv(rng, np.float32, (), 4, 4, 33, 33, 16, 16),
               {"block_size": 8, "causal": True})
    Q, K, V = _qkv(rng, np.float64, (3,), 2, 2, 7, 7, 4, 3)
    pad = np.ones((3, 1, 7), dtype=bool)
    pad[0, 0, 5:] = False
    pad[1, 0, 2:] = False
    yield Case("padding mask of shape (B, 1, n_k)", (Q, K, V), {"block_size": 3, "key_mask": pad})
    yield Case("padding and causal together", (Q, K, V), {"block_size": 4, "causal": True, "key_mask": pad})
    none = pad.copy()
    none[2] = False
    yield Case("a sequence whose keys are all padding (fully masked rows)", (Q, K, V), {"block_size": 3, "key_mask": none})
    first_padded = np.ones(7, dtype=bool)
    first_padded[:2] = False
    yield Case("causal with the first keys padded (the first queries see nothing)", (Q, K, V),
               {"block_size": 2, "causal": True, "key_mask": first_padded})
    yield Case("whole blocks masked (block 2, keys 2-5 padded)", (Q, K, V),
               {"block_size": 2, "key_mask": np.array([True, True, False, False, False, False, True])})
    yield Case("grouped key/value heads (8 query heads, 2 K/V heads)", _qkv(rng, np.float64, (2,), 8, 2, 9, 9, 4, 5),
               {"block_size": 4})
    yield Case("multi-query (4 query heads, 1 K/V head), causal, float32",
               _qkv(rng, np.float32, (), 4, 1, 12, 12, 8, 8), {"block_size": 5, "causal": True})
    yield Case("fewer queries than keys, causal (the queries are the last positions)",
               _qkv(rng, np.float64, (), 2, 2, 3, 10, 4, 4), {"block_size": 4, "causal": True})
    Q, K, V = _qkv(rng, np.float64, (), 2, 2, 8, 8, 4, 4)
    yield Case("large scores (x 100): the running maximum must rescale", (Q * 100, K, V), {"block_size": 3})
    # Fixed case (no draws): queries whose scores are all large and positive next to queries whose scores are all
    # large and negative; a maximum over every query at once underflows the second kind to 0 / 0.
    K = np.zeros((1, 6, 4))
    K[0, :, 0] = np.linspace(0.5, 2.5, 6)
    K[0, :, 1] = np.linspace(1.0, -1.0, 6)
    V = np.arange(18, dtype=np.float64).reshape(1, 6, 3) / 10
    Q = np.zeros((1, 4, 4))
    Q[0, :, 0] = [2.0, -2.0, 3.0, -3.0]
    Q[0, :, 1] = [1.0, 1.0, -1.0, 0.5]
    yield Case("queries with scores of very different sizes (+1000 and -1000)", (Q * 500, K, V), {"block_size": 4})


def kv_step_cases(rng):
    for i in range(5):
        dtype = DTYPES[i % 2]
        lead = tuple(int(v) for v in rng.integers(1, 3, size=int(rng.integers(0, 2))))
        h_kv = int(rng.choice([1, 2]))
        h = h_kv * int(rng.choice([1, 2]))
        t, d, d_v = int(rng.integers(1, 12)), int(rng.integers(1, 9)), int(rng.integers(1, 6))
        yield Case(f"random {i}", (_randn(rng, lead + (h, 1, d), dtype), _randn(rng, lead + (h_kv, 1, d), dtype),
                                   _randn(rng, lead + (h_kv, 1, d_v), dtype), _randn(rng, lead + (h_kv, t, d), dtype),
                                   _randn(rng, lead + (h_kv, t, d_v), dtype)))
    yield Case("an empty cache (the first token, n = 1)",
               (_randn(rng, (2, 1, 4)), _randn(rng, (2, 1, 4)), _randn(rng, (2, 1, 3)), np.zeros((2, 0, 4)), np.zeros((2, 0, 3))))
    yield Case("float32 cache of 50 positions",
               tuple(_randn(rng, s, np.float32) for s in [(4, 1, 16), (4, 1, 16), (4, 1, 16), (4, 50, 16), (4, 50, 16)]))
    yield Case("grouped key/value heads (6 query heads, 2 K/V heads)",
               tuple(_randn(rng, s) for s in [(3, 6, 1, 4), (3, 2, 1, 4), (3, 2, 1, 5), (3, 2, 7, 4), (3, 2, 7, 5)]))
    yield Case("multi-query (4 query heads, 1 K/V head)",
               tuple(_randn(rng, s) for s in [(4, 1, 8), (1, 1, 8), (1, 1, 8), (1, 9, 8), (1, 9, 8)]))
    q = _randn(rng, (2, 1, 4), scale=30.0)
    yield Case("large scores", (q, _randn(rng, (2, 1, 4), scale=30.0), _randn(rng, (2, 1, 2)),
                                _randn(rng, (2, 5, 4), scale=30.0), _randn(rng, (2, 5, 2))))


def rope_cases(rng):
    for i in range(5):
        dtype = DTYPES[i % 2]
        lead = tuple(int(v) for v in rng.integers(1, 4, size=int(rng.integers(0, 3))))
        n, d = int(rng.integers(1, 10)), 2 * int(rng.integers(1, 9))
        yield Case(f"random {i}", (_randn(rng, lead + (n, d), dtype), np.arange(n)))
    yield Case("n = 1 at position 0 (no rotation)", (_randn(rng, (3, 1, 8)), np.array([0])))
    yield Case("d = 2 (one pair)", (_randn(rng, (5, 2)), np.arange(5)))
    yield Case("positions that do not start at 0 (decoding at positions 100-103)", (_randn(rng, (2, 4, 6)), np.arange(100, 104)))
    yield Case("float32, d = 64, positions up to 2047", (_randn(rng, (1, 2048, 64), np.float32), np.arange(2048)))
    yield Case("another base (500)", (_randn(rng, (4, 8)), np.arange(4)), {"base": 500.0})
    yield Case("positions in any order", (_randn(rng, (5, 4)), np.array([7, 0, 3, 3, 1])))


FUNCTIONS = {
    "blockwise_attention": FunctionSpec("blockwise_attention", ref.blockwise_attention, blockwise_cases),
    "kv_cache_step": FunctionSpec("kv_cache_step", ref.kv_cache_step, kv_step_cases),
    "apply_rope": FunctionSpec("apply_rope", ref.apply_rope, rope_cases),
}
