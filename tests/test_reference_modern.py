"""The chapter-10 reference agrees with PyTorch's own attention (incl. enable_gqa) and with properties of RoPE."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder.grading.checking import check
from autograder.grading.reference import modern
from autograder.grading.specs import all_specs


def _problem(rng, dtype, h, h_kv, n_q, n_k, lead=(2,)):
    d, d_v = (int(v) for v in rng.integers(1, 9, size=2))
    Q = rng.standard_normal(lead + (h, n_q, d)).astype(dtype)
    K = rng.standard_normal(lead + (h_kv, n_k, d)).astype(dtype)
    V = rng.standard_normal(lead + (h_kv, n_k, d_v)).astype(dtype)
    return Q, K, V


def _sdpa(Q, K, V, mask=None):
    t = [torch.from_numpy(np.ascontiguousarray(a)) for a in (Q, K, V)]
    m = None if mask is None else torch.from_numpy(np.ascontiguousarray(mask))
    return F.scaled_dot_product_attention(*t, attn_mask=m, enable_gqa=Q.shape[-3] != K.shape[-3]).numpy()


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blockwise_matches_sdpa(seed, dtype):
    rng = np.random.default_rng(seed)
    h_kv = int(rng.choice([1, 2]))
    h = h_kv * int(rng.choice([1, 2, 3]))
    n = int(rng.integers(1, 40))
    Q, K, V = _problem(rng, dtype, h, h_kv, n, n)
    block = int(rng.integers(1, n + 5))
    causal = bool(seed % 2)
    out = modern.blockwise_attention(Q, K, V, block, causal=causal)
    mask = np.tril(np.ones((n, n), dtype=bool)) if causal else None
    tol = 2e-5 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(out, _sdpa(Q, K, V, mask), rtol=tol, atol=tol)
    assert out.dtype == dtype


@pytest.mark.parametrize("seed", range(30))
def test_blockwise_with_padding_and_causal_matches_sdpa(seed):
    """Fewer queries than keys (bottom-right causal), padding; rows with no visible key are 0 here."""
    rng = np.random.default_rng(500 + seed)
    n_k = int(rng.integers(1, 30))
    n_q = int(rng.integers(1, n_k + 1))
    Q, K, V = _problem(rng, np.float64, 4, 2, n_q, n_k, lead=(3,))
    pad = rng.random((3, 1, n_k)) < 0.7
    causal = np.arange(n_k)[None, :] <= (np.arange(n_q)[:, None] + n_k - n_q)  # (n_q, n_k)
    mask = pad[..., None, :] & causal  # (3, 1, n_q, n_k)
    out = modern.blockwise_attention(Q, K, V, int(rng.integers(1, 8)), causal=True, key_mask=pad)
    expected = _sdpa(Q, K, V, mask)
    none = ~np.broadcast_to(mask, out.shape[:-1] + (n_k,)).any(-1)
    np.testing.assert_allclose(out[~none], expected[~none], rtol=1e-10, atol=1e-10)
    assert np.all(out[none] == 0.0)


@pytest.mark.parametrize("seed", range(20))
def test_kv_cache_step_equals_causal_attention_over_the_whole_sequence(seed):
    """Decoding token by token through the cache gives the last rows of full causal attention (torch, enable_gqa)."""
    rng = np.random.default_rng(900 + seed)
    h_kv = int(rng.choice([1, 2, 4]))
    h, n = 4, int(rng.integers(1, 12))
    Q, K, V = _problem(rng, np.float64, h, h_kv, n, n)
    expected = _sdpa(Q, K, V, np.tril(np.ones((n, n), dtype=bool)))
    ck, cv = K[..., :0, :], V[..., :0, :]
    for t in range(n):
        out, ck, cv = modern.kv_cache_step(Q[..., t:t + 1, :], K[..., t:t + 1, :], V[..., t:t + 1, :], ck, cv)
        np.testing.assert_allclose(out[..., 0, :], expected[..., t, :], rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(ck, K)
    np.testing.assert_array_equal(cv, V)


def _rope_torch(x, positions, base=10000.0):
    """RoPE as complex multiplication: pair (x_2i, x_2i+1) is the complex number x_2i + i x_2i+1."""
    x = torch.from_numpy(x).double()
    d = x.shape[-1]
    theta = base ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    rot = torch.polar(torch.ones(len(positions), d // 2, dtype=torch.float64),
                      torch.as_tensor(positions, dtype=torch.float64)[:, None] * theta)
    z = torch.view_as_complex(x.reshape(*x.shape[:-1], d // 2, 2).contiguous()) * rot
    return torch.view_as_real(z).reshape(x.shape).numpy()


@pytest.mark.parametrize("seed", range(20))
def test_rope_matches_complex_rotation_and_keeps_relative_scores(seed):
    rng = np.random.default_rng(seed)
    n, d = int(rng.integers(1, 20)), 2 * int(rng.integers(1, 16))
    x = rng.standard_normal((3, n, d))
    pos = rng.integers(0, 5000, size=n)
    np.testing.assert_allclose(modern.apply_rope(x, pos), _rope_torch(x, pos), atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(modern.apply_rope(x, pos), axis=-1), np.linalg.norm(x, axis=-1))
    q, k = rng.standard_normal((1, d)), rng.standard_normal((1, d))
    a = modern.apply_rope(q, [7]) @ modern.apply_rope(k, [3]).T
    b = modern.apply_rope(q, [1007]) @ modern.apply_rope(k, [1003]).T
    np.testing.assert_allclose(a, b, atol=1e-9)


@pytest.mark.parametrize("name", sorted(all_specs("10-modern")))
def test_reference_passes_its_own_hidden_cases_and_a_wrong_answer_fails(name):
    ref = getattr(modern, name)
    check("10-modern", name, ref, seed=123)

    def off_by_a_bit(*args, **kwargs):
        out = ref(*args, **kwargs)
        if isinstance(out, tuple):
            return (out[0] * 1.01 + 0.01,) + out[1:]
        return out * 1.01 + 0.01

    with pytest.raises(AssertionError):
        check("10-modern", name, off_by_a_bit, seed=123)


def test_hidden_cases_catch_typical_mistakes():
    """A blockwise attention without rescaling, one that ignores padding, and RoPE with halves instead of pairs fail."""
    def no_rescale(Q, K, V, block_size, causal=False, key_mask=None):
        return modern.blockwise_attention(Q, K, V, max(1, np.shape(K)[-2]), causal, key_mask) if block_size >= np.shape(K)[-2] else modern.blockwise_attention(Q * 0, K, V, block_size, causal, key_mask)

    def ignore_padding(Q, K, V, block_size, causal=False, key_mask=None):
        return modern.blockwise_attention(Q, K, V, block_size, causal)

    def rope_halves(x, positions, base=10000.0):
        x = np.asarray(x, float)
        d = x.shape[-1]
        perm = np.concatenate([np.arange(0, d, 2), np.arange(1, d, 2)])
        y = modern.apply_rope(x[..., perm], positions, base)
        return y

    for name, fn in [("blockwise_attention", no_rescale), ("blockwise_attention", ignore_padding), ("apply_rope", rope_halves)]:
        with pytest.raises(AssertionError):
            check("10-modern", name, fn, seed=7)
