"""The chapter 6-7 reference (NumPy and torch) agrees with PyTorch's own attention modules given the same weights."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from autograder.grading.checking import check
from autograder.grading.reference import mha
from attn.mha import MultiHeadAttention, torch_masks
from tests.torch_params import load_mha_numpy_params, mha_numpy_params
from autograder.grading.specs import all_specs

torch.set_num_threads(1)


def torch_mha(rng, d_model, h, bias=True, batch_first=True):
    """An nn.MultiheadAttention with random (non-zero) weights and biases, in float64."""
    torch.manual_seed(int(rng.integers(1 << 31)))
    m = nn.MultiheadAttention(d_model, h, bias=bias, batch_first=batch_first, dtype=torch.float64)
    if bias:  # torch initialises the biases to 0: randomise them so that a wrong bias would show
        with torch.no_grad():
            m.in_proj_bias.normal_()
            m.out_proj.bias.normal_()
    return m


def params_of(m: nn.MultiheadAttention) -> dict:
    """The NumPy params dict from nn.MultiheadAttention's packed weights, written out independently."""
    W_q, W_k, W_v = (w.detach().numpy().T for w in m.in_proj_weight.chunk(3))
    params = {"W_q": W_q, "W_k": W_k, "W_v": W_v, "W_o": m.out_proj.weight.detach().numpy().T}
    if m.in_proj_bias is not None:
        b_q, b_k, b_v = (b.detach().numpy() for b in m.in_proj_bias.chunk(3))
        params.update(b_q=b_q, b_k=b_k, b_v=b_v, b_o=m.out_proj.bias.detach().numpy())
    return params


def run_torch(m, X_q, X_kv, batch_first, **masks):
    """nn.MultiheadAttention on (B, n, d) arrays, whatever its batch_first; returns (B, n_q, d), (B, h, n_q, n_k)."""
    q, kv = torch.from_numpy(X_q), torch.from_numpy(X_kv)
    if not batch_first:
        q, kv = q.transpose(0, 1), kv.transpose(0, 1)  # (n, B, d)
    out, w = m(q, kv, kv, need_weights=True, average_attn_weights=False, **masks)
    if not batch_first:
        out = out.transpose(0, 1)
    return out.detach().numpy(), w.detach().numpy()


def random_case(rng):
    h = int(rng.integers(1, 5))
    d_model = h * int(rng.integers(1, 5))
    B, n_q, n_k = (int(v) for v in rng.integers(1, 6, size=3))
    return h, d_model, B, n_q, n_k


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("seed", range(20))
def test_multi_head_attention_matches_torch(seed, batch_first):
    rng = np.random.default_rng(seed)
    h, d_model, B, n_q, n_k = random_case(rng)
    bias = seed % 4 != 3
    m = torch_mha(rng, d_model, h, bias, batch_first)
    X_q, X_kv = rng.standard_normal((B, n_q, d_model)), rng.standard_normal((B, n_k, d_model))
    if seed % 2:
        X_kv = X_q  # self-attention
    out, w = mha.multi_head_attention(X_q, X_kv, params_of(m), h)
    t_out, t_w = run_torch(m, X_q, X_kv, batch_first)
    np.testing.assert_allclose(out, t_out, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(w, t_w, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("seed", range(20))
def test_masks_match_torch_attn_mask_and_key_padding_mask(seed, batch_first):
    """Our one mask (True = may attend) = NOT torch's attn_mask AND NOT its key_padding_mask (True = excluded)."""
    rng = np.random.default_rng(100 + seed)
    h, d_model, B, _, n = random_case(rng)
    n += 1
    m = torch_mha(rng, d_model, h, True, batch_first)
    X = rng.standard_normal((B, n, d_model))
    lengths = rng.integers(1, n + 1, size=B)  # at least one key per row, else torch gives NaN
    ours = mha.causal_mask(n) & mha.padding_mask(lengths, n)
    causal_torch = torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1)  # True above the diagonal = excluded
    kpm_torch = torch.arange(n)[None, :] >= torch.from_numpy(lengths)[:, None]  # (B, n), True = padding
    out, w = mha.multi_head_attention(X, X, params_of(m), h, mask=ours)
    t_out, t_w = run_torch(m, X, X, batch_first, attn_mask=causal_torch, key_padding_mask=kpm_torch)
    np.testing.assert_allclose(out, t_out, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(w, t_w, rtol=1e-10, atol=1e-10)
    # The same masks through the helper that converts ours to torch's convention:
    t_out2, _ = run_torch(m, X, X, batch_first, **torch_masks(mha.causal_mask(n), lengths, n))
    np.testing.assert_allclose(out, t_out2, rtol=1e-10, atol=1e-10)
    # A 3-d float mask in torch (per batch, -inf = excluded) matches our per-batch boolean mask.
    rand = rng.random((B, n, n)) < 0.7
    rand[..., 0] = True
    float_mask = torch.zeros(B * h, n, n, dtype=torch.float64).masked_fill(~torch.from_numpy(rand).repeat_interleave(h, 0), float("-inf"))
    out3, _ = mha.multi_head_attention(X, X, params_of(m), h, mask=rand)
    t_out3, _ = run_torch(m, X, X, batch_first, attn_mask=float_mask)
    np.testing.assert_allclose(out3, t_out3, rtol=1e-10, atol=1e-10)


def test_fully_masked_rows_are_zero_where_torch_gives_nan():
    rng = np.random.default_rng(5)
    m = torch_mha(rng, 4, 2)
    X = rng.standard_normal((2, 3, 4))
    out, w = mha.multi_head_attention(X, X, params_of(m), 2, mask=mha.padding_mask([0, 3], 3))
    t_out, _ = run_torch(m, X, X, True, key_padding_mask=torch.tensor([[True] * 3, [False] * 3]))
    assert np.all(np.isnan(t_out[0]))
    np.testing.assert_array_equal(w[0], 0.0)
    np.testing.assert_allclose(out[0], np.broadcast_to(params_of(m)["b_o"], out[0].shape))  # zero read-out, then W_o, b_o
    np.testing.assert_allclose(out[1], t_out[1], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_self_attention_matches_sdpa(seed, dtype):
    rng = np.random.default_rng(200 + seed)
    lead = tuple(int(v) for v in rng.integers(1, 4, size=rng.integers(0, 3)))
    n, d_model, d_k, d_v = (int(v) for v in rng.integers(1, 9, size=4))
    X = rng.standard_normal(lead + (n, d_model)).astype(dtype)
    W_q, W_k, W_v = ((rng.standard_normal((d_model, d)) / np.sqrt(d_model)).astype(dtype) for d in (d_k, d_k, d_v))
    causal = seed % 2 == 1
    out, w = mha.self_attention(X, W_q, W_k, W_v, mask=mha.causal_mask(n) if causal else None)
    t = torch.from_numpy(X)
    expected = F.scaled_dot_product_attention(t @ torch.from_numpy(W_q), t @ torch.from_numpy(W_k),
                                              t @ torch.from_numpy(W_v), is_causal=causal).numpy()
    tol = 2e-5 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(out, expected, rtol=tol, atol=tol)
    assert out.dtype == dtype and w.shape == lead + (n, n)


def test_masks_by_hand():
    np.testing.assert_array_equal(mha.causal_mask(3), [[1, 0, 0], [1, 1, 0], [1, 1, 1]])
    np.testing.assert_array_equal(mha.padding_mask([2, 0], 3), [[[1, 1, 0]], [[0, 0, 0]]])
    assert mha.causal_mask(1).dtype == bool and mha.padding_mask([1], 4).shape == (1, 1, 4)


def test_causal_self_attention_ignores_the_future():
    """Changing token j changes no output before j under a causal mask, and changes some before j without it."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((6, 4))
    W = [rng.standard_normal((4, 4)) for _ in range(3)]
    X2 = X.copy()
    X2[4] += 1.0
    a, _ = mha.self_attention(X, *W, mask=mha.causal_mask(6))
    b, _ = mha.self_attention(X2, *W, mask=mha.causal_mask(6))
    np.testing.assert_array_equal(a[:4], b[:4])
    assert not np.allclose(a[4:], b[4:])
    c, _ = mha.self_attention(X, *W)
    d, _ = mha.self_attention(X2, *W)
    assert not np.allclose(c[:4], d[:4])


@pytest.mark.parametrize("seed", range(5))
def test_permutation_equivariance(seed):
    """Self-attention without positions: permuting the tokens permutes the outputs and the weights."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((2, 7, 8))
    params = {f"W_{k}": rng.standard_normal((8, 8)) for k in "qkvo"}
    perm = rng.permutation(7)
    out, w = mha.multi_head_attention(X, X, params, 2)
    out_p, w_p = mha.multi_head_attention(X[:, perm], X[:, perm], params, 2)
    np.testing.assert_allclose(out_p, out[:, perm], atol=1e-12)
    np.testing.assert_allclose(w_p, w[:, :, perm][..., perm], atol=1e-12)
    o1, _ = mha.self_attention(X, params["W_q"], params["W_k"], params["W_v"])
    o2, _ = mha.self_attention(X[:, perm], params["W_q"], params["W_k"], params["W_v"])
    np.testing.assert_allclose(o2, o1[:, perm], atol=1e-12)


def test_split_merge_shapes_and_inverse():
    X = np.arange(2 * 3 * 12.0).reshape(2, 3, 12)
    S = mha.split_heads(X, 4)
    assert S.shape == (2, 4, 3, 3)
    np.testing.assert_array_equal(S[1, 2, 0], X[1, 0, 6:9])  # head 2 of token 0 = features 6..8
    np.testing.assert_array_equal(mha.merge_heads(S), X)
    with pytest.raises(ValueError):
        mha.split_heads(X, 5)


def test_one_head_is_self_attention_and_heads_are_independent():
    rng = np.random.default_rng(9)
    X = rng.standard_normal((5, 6))
    P = {f"W_{k}": rng.standard_normal((6, 6)) for k in "qkvo"}
    out, w = mha.multi_head_attention(X, X, P, 1)
    o, w1 = mha.self_attention(X, P["W_q"], P["W_k"], P["W_v"])
    np.testing.assert_allclose(out, o @ P["W_o"], atol=1e-12)
    np.testing.assert_allclose(w[0], w1, atol=1e-12)
    # h = 3: head i is self-attention with the i-th column block of each projection.
    out, w = mha.multi_head_attention(X, X, P, 3)
    blocks = [mha.self_attention(X, *(P[f"W_{k}"][:, 2 * i:2 * i + 2] for k in "qkv"))[0] for i in range(3)]
    np.testing.assert_allclose(out, np.concatenate(blocks, -1) @ P["W_o"], atol=1e-12)


# ---- the torch nn.Module version ------------------------------------------------------------------------------


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("seed", range(8))
def test_module_matches_torch_forward_and_gradients(seed, batch_first):
    """Same weights -> same outputs, same weights, and the same gradients for inputs and every parameter."""
    rng = np.random.default_rng(300 + seed)
    h, d_model, B, n_q, n_k = random_case(rng)
    bias = seed % 3 != 2
    ref = torch_mha(rng, d_model, h, bias, batch_first)
    ours = MultiHeadAttention(d_model, h, bias=bias).double().load_from_torch(ref)
    X_q = torch.from_numpy(rng.standard_normal((B, n_q, d_model))).requires_grad_()
    X_kv = torch.from_numpy(rng.standard_normal((B, n_k, d_model))).requires_grad_()
    lengths = rng.integers(1, n_k + 1, size=B)
    use_mask = seed % 2 == 0
    mask = mha.padding_mask(lengths, n_k) if use_mask else None
    R = torch.from_numpy(rng.standard_normal((B, n_q, d_model)))
    Rw = torch.from_numpy(rng.standard_normal((B, h, n_q, n_k)))

    out, w = ours(X_q, X_kv, mask=mask)
    ((out * R).sum() + (w * Rw).sum()).backward()
    ours_grads = [X_q.grad.clone(), X_kv.grad.clone()]
    X_q.grad = X_kv.grad = None

    q, kv = (X_q, X_kv) if batch_first else (X_q.transpose(0, 1), X_kv.transpose(0, 1))
    t_out, t_w = ref(q, kv, kv, average_attn_weights=False, **(torch_masks(None, lengths, n_k) if use_mask else {}))
    if not batch_first:
        t_out = t_out.transpose(0, 1)
    ((t_out * R).sum() + (t_w * Rw).sum()).backward()
    torch.testing.assert_close(out, t_out, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(w, t_w, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(ours_grads[0], X_q.grad, rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(ours_grads[1], X_kv.grad, rtol=1e-9, atol=1e-10)
    g_in = torch.cat([ours.q_proj.weight.grad, ours.k_proj.weight.grad, ours.v_proj.weight.grad])
    torch.testing.assert_close(g_in, ref.in_proj_weight.grad, rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(ours.out_proj.weight.grad, ref.out_proj.weight.grad, rtol=1e-9, atol=1e-10)
    if bias:
        b_in = torch.cat([ours.q_proj.bias.grad, ours.k_proj.bias.grad, ours.v_proj.bias.grad])
        torch.testing.assert_close(b_in, ref.in_proj_bias.grad, rtol=1e-9, atol=1e-10)
        torch.testing.assert_close(ours.out_proj.bias.grad, ref.out_proj.bias.grad, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("masked", [False, True])
def test_module_gradcheck(masked):
    """Analytic gradients (inputs and parameters) equal finite differences in float64, masks and a fully masked row included."""
    torch.manual_seed(0)
    module = MultiHeadAttention(6, 3).double()
    names = [n for n, _ in module.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_() for p in module.parameters())
    X_q = torch.randn(2, 3, 6, dtype=torch.float64, requires_grad=True)
    X_kv = torch.randn(2, 4, 6, dtype=torch.float64, requires_grad=True)
    mask = None
    if masked:
        mask = torch.rand(2, 3, 4) < 0.6
        mask[0, 1] = False  # a query with no allowed key: zero output, finite (zero) gradients
        mask[1, :, 0] = True

    def f(X_q, X_kv, *ps):
        out, w = torch.func.functional_call(module, dict(zip(names, ps)), (X_q, X_kv), {"mask": mask})
        return out, w

    assert torch.autograd.gradcheck(f, (X_q, X_kv, *params), eps=1e-6, atol=1e-7)
    if masked:
        out, w = f(X_q, X_kv, *params)
        out.sum().backward()
        assert torch.isfinite(X_q.grad).all() and torch.all(w[0, :, 1] == 0)


@pytest.mark.parametrize("seed", range(6))
def test_module_matches_numpy_reference_and_round_trips(seed):
    rng = np.random.default_rng(400 + seed)
    h, d_model, B, n_q, n_k = random_case(rng)
    torch.manual_seed(seed)
    module = MultiHeadAttention(d_model, h, bias=seed % 2 == 0).double()
    X_q, X_kv = rng.standard_normal((B, n_q, d_model)), rng.standard_normal((B, n_k, d_model))
    mask = rng.random((B, n_q, n_k)) < 0.5  # fully masked rows included: both give zeros
    out, w = module(torch.from_numpy(X_q), torch.from_numpy(X_kv), mask=mask)
    n_out, n_w = mha.multi_head_attention(X_q, X_kv, mha_numpy_params(module), h, mask=mask)
    np.testing.assert_allclose(out.detach().numpy(), n_out, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(w.detach().numpy(), n_w, rtol=1e-10, atol=1e-10)
    other = load_mha_numpy_params(MultiHeadAttention(d_model, h, bias=seed % 2 == 0).double(), mha_numpy_params(module))
    back = MultiHeadAttention(d_model, h, bias=seed % 2 == 0).double().load_from_torch(other.to_torch(batch_first=False))
    for a, b in zip(module.parameters(), back.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_module_learns_to_copy():
    """The module trains: 200 Adam steps make single-head attention copy the value at a fixed offset."""
    torch.manual_seed(0)
    n, d = 6, 8
    pos = torch.eye(n, d)
    module = MultiHeadAttention(d, 1)
    opt = torch.optim.Adam(module.parameters(), lr=0.03)
    for _ in range(200):
        x = torch.randn(32, n, d) * 0.1 + pos
        out, w = module(x)
        loss = -torch.log(w[:, 0, :, 3] + 1e-9).mean()  # every query should look at position 3
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert w[:, 0, :, 3].mean() > 0.9


# ---- the hidden cases ---------------------------------------------------------------------------------------------

SPEC_FUNCTIONS = [("06-self-attention", n) for n in sorted(all_specs("06-self-attention"))] + [
    ("07-multihead", n) for n in sorted(all_specs("07-multihead"))
]


@pytest.mark.parametrize("assignment,name", SPEC_FUNCTIONS)
def test_reference_passes_its_own_hidden_cases_and_a_wrong_answer_fails(assignment, name):
    ref = getattr(mha, name)
    check(assignment, name, ref, seed=123)

    def off_by_a_bit(*args, **kwargs):
        out = ref(*args, **kwargs)
        if isinstance(out, tuple):
            return (out[0] * 1.01 + 0.01, out[1])
        if out.dtype == bool:
            return ~out
        return out * 1.01 + 0.01

    with pytest.raises(AssertionError):
        check(assignment, name, off_by_a_bit, seed=123)


def test_hidden_cases_cover_the_edge_cases_the_issue_asks_for():
    rng = np.random.default_rng(0)
    labels = " | ".join(c.label for c in all_specs("07-multihead")["multi_head_attention"].cases(rng))
    for needle in ("h = 1", "h = d_model", "n_q = 3 queries, n_k = 7 keys", "single-token", "causal", "padding", "every key masked"):
        assert needle in labels
    labels6 = " | ".join(c.label for c in all_specs("06-self-attention")["self_attention"].cases(rng))
    for needle in ("causal", "padding", "single token", "every key masked"):
        assert needle in labels6


def test_common_mistakes_fail_the_hidden_cases():
    """Mistakes a student could make: forgetting the biases, reshaping straight to (h, n, d_head), no 1/sqrt(d_k)."""
    def no_bias(X_q, X_kv, params, h, mask=None):
        return mha.multi_head_attention(X_q, X_kv, {k: v for k, v in params.items() if k.startswith("W")}, h, mask)

    def split_wrong_order(X, h):  # (..., n, d) -> reshape to (h, n, d_head) directly, mixing tokens and heads
        *lead, n, d = np.shape(X)
        return np.reshape(X, (*lead, h, n, d // h))

    def unscaled(X, W_q, W_k, W_v, mask=None):
        X = np.asarray(X, dtype=float)
        return mha.attention(X @ W_q * np.sqrt(W_q.shape[1]), X @ W_k, X @ W_v, mask=mask)

    for assignment, name, fn in [("07-multihead", "multi_head_attention", no_bias),
                                 ("07-multihead", "split_heads", split_wrong_order),
                                 ("06-self-attention", "self_attention", unscaled)]:
        with pytest.raises(AssertionError):
            check(assignment, name, fn, seed=7)
