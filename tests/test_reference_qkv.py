"""The chapter-3 reference agrees with PyTorch's own attention, and with properties checkable by hand."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder.grading.checking import check
from autograder.grading.reference import qkv
from autograder.grading.specs import all_specs


def random_problem(rng, dtype):
    lead = tuple(int(n) for n in rng.integers(1, 4, size=rng.integers(0, 3)))
    n_q, n_k, d, d_v = (int(v) for v in rng.integers(1, 9, size=4))
    Q = rng.standard_normal(lead + (n_q, d)).astype(dtype)
    K = rng.standard_normal(lead + (n_k, d)).astype(dtype)
    V = rng.standard_normal(lead + (n_k, d_v)).astype(dtype)
    return Q, K, V


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_attention_matches_torch_sdpa(seed, dtype):
    rng = np.random.default_rng(seed)
    Q, K, V = random_problem(rng, dtype)
    out, w = qkv.attention(Q, K, V)
    expected = F.scaled_dot_product_attention(torch.from_numpy(Q), torch.from_numpy(K), torch.from_numpy(V))
    tol = 1e-5 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(out, expected.numpy(), rtol=tol, atol=tol)
    assert out.dtype == dtype
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=tol)


@pytest.mark.parametrize("seed", range(40))
def test_masked_attention_matches_torch_sdpa(seed):
    """Boolean masks (True = may attend) mean the same in both; torch gives NaN for fully masked rows, we give 0."""
    rng = np.random.default_rng(1000 + seed)
    Q, K, V = random_problem(rng, np.float64)
    mask = rng.random(Q.shape[:-1] + (K.shape[-2],)) < 0.6
    out, w = qkv.attention(Q, K, V, mask=mask)
    expected = F.scaled_dot_product_attention(
        torch.from_numpy(Q), torch.from_numpy(K), torch.from_numpy(V), attn_mask=torch.from_numpy(mask)
    ).numpy()
    full = ~mask.any(-1)  # rows with no allowed key
    np.testing.assert_allclose(out[~full], expected[~full], rtol=1e-10, atol=1e-10)
    assert np.all(out[full] == 0.0) and np.all(w[full] == 0.0)
    assert np.all(w[~mask] == 0.0)


@pytest.mark.parametrize("seed", range(10))
def test_softmax_matches_torch_and_is_stable(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, 4, 7)) * 500
    for axis in (-1, 0, 1):
        np.testing.assert_allclose(qkv.softmax(x, axis), torch.softmax(torch.from_numpy(x), dim=axis).numpy(), atol=1e-12)
    assert np.all(np.isfinite(qkv.softmax(np.array([1000.0, -1000.0, 999.0]))))


def test_scores_match_torch():
    rng = np.random.default_rng(7)
    Q, K = rng.standard_normal((2, 5, 6)), rng.standard_normal((2, 4, 6))
    tq, tk = torch.from_numpy(Q), torch.from_numpy(K)
    np.testing.assert_allclose(qkv.dot_product_scores(Q, K), (tq @ tk.transpose(-1, -2)).numpy())
    np.testing.assert_allclose(qkv.scaled_dot_product_scores(Q, K), (tq @ tk.transpose(-1, -2) / 6**0.5).numpy())
    cos = F.cosine_similarity(tq[:, :, None, :], tk[:, None, :, :], dim=-1).numpy()
    np.testing.assert_allclose(qkv.cosine_scores(Q, K), cos, atol=1e-12)


def test_hand_worked_examples():
    np.testing.assert_allclose(qkv.softmax(np.array([0.0, np.log(3.0)])), [0.25, 0.75])
    w = qkv.masked_softmax(np.array([[5.0, 1.0, 1.0]]), np.array([[False, True, True]]))
    np.testing.assert_array_equal(w, [[0.0, 0.5, 0.5]])
    np.testing.assert_array_equal(qkv.masked_softmax(np.ones((1, 3)), np.zeros((1, 3), bool)), np.zeros((1, 3)))
    np.testing.assert_array_equal(qkv.cosine_scores(np.zeros((1, 2)), np.ones((1, 2))), [[0.0]])


@pytest.mark.parametrize("name", sorted(all_specs("03-qkv")))
def test_reference_passes_its_own_hidden_cases_and_a_wrong_answer_fails(name):
    """The checker accepts the reference on every case, and rejects an answer that is off by a little."""
    ref = getattr(qkv, name)
    check("03-qkv", name, ref, seed=123)

    def off_by_a_bit(*args, **kwargs):
        out = ref(*args, **kwargs)
        if isinstance(out, tuple):
            return (out[0] * 1.01 + 0.01, out[1])
        return out * 1.01 + 0.01

    with pytest.raises(AssertionError):
        check("03-qkv", name, off_by_a_bit, seed=123)
